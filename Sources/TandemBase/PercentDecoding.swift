/// Percent-decoding (RFC 3986 §2.1) shared by file URLs, query strings and redaction, so one
/// rule holds everywhere: `%` followed by two hex digits is that byte; anything else, including
/// a `%` near the end of the text or before non-hex characters, stays as written.
public enum PercentDecoding {
  /// `text` with every `%XX` replaced by its byte; with `plusIsSpace` (HTML form encoding, as
  /// servers read query strings) `+` becomes a space first. Decoded bytes that are not UTF-8
  /// become U+FFFD.
  public static func decoded(_ text: String, plusIsSpace: Bool = false) -> String {
    guard
      text.utf8.contains(where: {
        $0 == UInt8(ascii: "%") || (plusIsSpace && $0 == UInt8(ascii: "+"))
      })
    else { return text }
    let input = Array(text.utf8)
    var bytes: [UInt8] = []
    bytes.reserveCapacity(input.count)
    var i = 0
    while i < input.count {
      let b = input[i]
      if b == UInt8(ascii: "%"), i + 2 < input.count, let h = hexValue(input[i + 1]),
        let l = hexValue(input[i + 2])
      {
        bytes.append(h << 4 | l)
        i += 3
        continue
      }
      bytes.append(plusIsSpace && b == UInt8(ascii: "+") ? UInt8(ascii: " ") : b)
      i += 1
    }
    return String(decoding: bytes, as: UTF8.self)
  }

  private static func hexValue(_ c: UInt8) -> UInt8? {
    switch c {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
    case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
    case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
    default: nil
    }
  }
}
