import Foundation
import STAC
import Testing

@Suite struct JSONParserTests {
  func parse(_ s: String) throws(JSONParser.SyntaxError) -> JSONValue {
    try JSONParser.parse(Array(s.utf8))
  }

  @Test func scalars() throws {
    #expect(try parse("null") == .null)
    #expect(try parse(" true ") == .bool(true))
    #expect(try parse("-12") == .int(-12))
    #expect(try parse("0.1") == .double(0.1))
    #expect(try parse("1e3") == .double(1000))
    #expect(try parse("-2.5E-3") == .double(-0.0025))
    #expect(try parse("399960.123456789012") == .double(399960.123456789012))
    #expect(try parse("123456789012345678901234") == .double(123456789012345678901234.0))
    #expect(try parse("0.30000000000000004") == .double(0.30000000000000004))
  }

  @Test(arguments: [
    "0.1", "3.14159", "1e-7", "6.02214076e23", "-0.0019849837207482185", "4500000.5",
  ])
  func numbersRoundToNearest(_ text: String) throws {
    #expect(try parse(text).doubleValue == Double(text))
  }

  @Test func stringsAndEscapes() throws {
    #expect(try parse(#""a\"b\\c\/\n\u00e9\ud83d\ude00""#) == .string("a\"b\\c/\né😀"))
    #expect(try parse(#""plain""#) == .string("plain"))
  }

  @Test func objectsKeepOrderAndDuplicatesResolveToLast() throws {
    let v = try parse(#"{"b":1,"a":[1,2,{}],"b":2}"#)
    #expect(v.objectValue?.keys == ["b", "a", "b"])
    #expect(v["b"] == .int(2))
    #expect(v.serialized() == #"{"b":1,"a":[1,2,{}],"b":2}"#)
    #expect(v.serialized(sortedKeys: true) == #"{"a":[1,2,{}],"b":1,"b":2}"#)
  }

  static let malformed: [(String, Int, Int)] = [
    ("{\"a\":}", 1, 6), ("[1,2", 1, 5), ("{\"a\" 1}", 1, 6), ("\"abc", 1, 1), ("[01]", 1, 2),
    ("{\n  \"a\": tru\n}", 2, 8), ("[1,]", 1, 4), ("{} x", 1, 4), ("\"\u{01}\"", 1, 2), ("", 1, 1),
  ]

  @Test(arguments: malformed)
  func syntaxErrorsNameLineAndColumn(_ text: String, _ line: Int, _ column: Int) {
    do throws(JSONParser.SyntaxError) {
      _ = try parse(text)
      Issue.record("parsed \(text)")
    } catch {
      #expect(error.line == line)
      #expect(error.column == column)
    }
  }

  @Test func deepNestingIsRejectedNotCrashing() {
    let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
    #expect(throws: JSONParser.SyntaxError.self) { try parse(deep) }
    let ok = String(repeating: "[", count: 500) + String(repeating: "]", count: 500)
    #expect((try? parse(ok)) != nil)
  }

  @Test func agreesWithFoundationOnRealFiles() throws {
    for file in Fixture.files(under: "realdata/s2").prefix(6) {
      let bytes = try Fixture.bytes(file)
      let mine = try JSONParser.parse(bytes)
      let reference = try JSONSerialization.jsonObject(with: Data(mine.serialized().utf8))
      let original = try JSONSerialization.jsonObject(with: Data(bytes))
      #expect((reference as? NSDictionary) == (original as? NSDictionary), "\(file)")
    }
  }
}

@Suite struct RFC3339Tests {
  static let valid: [(String, Double, Bool)] = [
    ("1970-01-01T00:00:00Z", 0, false),
    ("2024-03-25T09:47:33.662473Z", 1_711_360_053.662473, false),
    ("2024-03-25t09:47:33z", 1_711_360_053, false),
    ("2024-03-25T11:47:33+02:00", 1_711_360_053, false),
    ("2024-03-25T04:17:33-05:30", 1_711_360_053, false),
    ("2024-03-25 09:47:33Z", 1_711_360_053, false),
    ("2024-03-25T09:47:33", 1_711_360_053, true),
    ("2024-02-29T00:00:00Z", 1_709_164_800, false),
    ("1969-12-31T23:59:59Z", -1, false),
    ("2024-03-25", 1_711_324_800, true),
  ]

  @Test(arguments: valid)
  func parses(_ text: String, _ seconds: Double, _ missingZone: Bool) throws {
    let p = try #require(RFC3339.parse(text))
    #expect(abs(p.date.timeIntervalSince1970 - seconds) < 1e-6)
    #expect(p.missingTimeZone == missingZone)
  }

  @Test(arguments: [
    "2023-02-29T00:00:00Z", "2024-13-01T00:00:00Z", "2024-01-01T24:00:00Z", "2024-01-01T00:00:00+2",
    "2024-01-01T00:00:00.Z", "20240101T000000Z", "yesterday", "2024-01-01T00:00:00Zjunk",
  ])
  func rejects(_ text: String) {
    #expect(RFC3339.parse(text) == nil)
  }

  @Test func formatRoundTrips() throws {
    for s in ["2024-03-25T09:47:33.662473Z", "1970-01-01T00:00:00Z", "1965-06-30T12:00:00.5Z"] {
      let d = try #require(RFC3339.parse(s)).date
      #expect(RFC3339.parse(RFC3339.format(d))?.date == d)
    }
    #expect(RFC3339.format(Date(timeIntervalSince1970: 0)) == "1970-01-01T00:00:00Z")
  }
}
