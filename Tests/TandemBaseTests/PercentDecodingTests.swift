import TandemBase
import Testing

@Suite struct PercentDecodingTests {
  @Test(arguments: [
    ("a%20b", "a b"),
    ("%C3%A9t%C3%A9", "été"),
    ("%2f%2F", "//"),
    ("plain", "plain"),
    ("", ""),
    // Not an escape: the `%` and what follows stay as written (an older copy dropped the two
    // characters after a `%` that no hex digits followed, turning `a%zzb` into `a%b`).
    ("a%zzb", "a%zzb"),
    ("50%", "50%"),
    ("x%4", "x%4"),
    ("%4g1", "%4g1"),
    ("%+5x", "%+5x"),  // `+5` parses as a number with a sign; it is not hex
    ("%%41", "%A"),
    ("a+b", "a+b"),
  ])
  func path(text: String, expected: String) {
    #expect(PercentDecoding.decoded(text) == expected)
  }

  @Test(arguments: [
    ("a+b", "a b"),
    ("a%2Bb", "a+b"),
    ("datetime=2024-01-01T00:00:00Z%2F..", "datetime=2024-01-01T00:00:00Z/.."),
    ("q%zz+1", "q%zz 1"),
  ])
  func form(text: String, expected: String) {
    #expect(PercentDecoding.decoded(text, plusIsSpace: true) == expected)
  }

  @Test func bytesThatAreNotUTF8BecomeReplacementCharacters() {
    #expect(PercentDecoding.decoded("a%FFb") == "a\u{FFFD}b")
  }
}
