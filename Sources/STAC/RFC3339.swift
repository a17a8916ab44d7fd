import Foundation

/// RFC 3339 timestamps as used by STAC (`2024-03-25T09:47:33.662473Z`, `…+02:00`).
public enum RFC3339 {
  /// The outcome of a parse: the instant, and whether the text lacked a time zone (read as UTC,
  /// which RFC 3339 does not allow but real catalogs contain).
  public struct Parsed: Sendable, Equatable {
    /// The instant.
    public var date: Date
    /// The text had no zone and was read as UTC.
    public var missingTimeZone: Bool
  }

  /// Parses `YYYY-MM-DD[T ]HH:MM:SS[.frac](Z|±HH:MM)`; `t`/`z` may be lower case. A missing zone
  /// is accepted and flagged. A bare date (`YYYY-MM-DD`) is read as midnight UTC and flagged.
  /// Returns `nil` for anything else, including out-of-range fields.
  public static func parse(_ text: String) -> Parsed? {
    var copy = text
    return copy.withUTF8 { parse(bytes: $0) }
  }

  static func parse(bytes b: UnsafeBufferPointer<UInt8>) -> Parsed? {
    func digits(_ at: Int, _ n: Int) -> Int? {
      guard at + n <= b.count else { return nil }
      var v = 0
      for i in at..<(at + n) {
        let d = b[i] &- 48
        guard d < 10 else { return nil }
        v = v * 10 + Int(d)
      }
      return v
    }
    guard let year = digits(0, 4), b.count >= 10, b[4] == 45, let month = digits(5, 2), b[7] == 45,
      let day = digits(8, 2)
    else { return nil }
    guard (1...12).contains(month), day >= 1, day <= daysIn(month: month, year: year) else {
      return nil
    }
    let dayNumber = daysFromCivil(year: year, month: month, day: day)
    if b.count == 10 {
      return Parsed(
        date: Date(timeIntervalSince1970: Double(dayNumber) * 86400), missingTimeZone: true)
    }
    guard b.count >= 19, b[10] == UInt8(ascii: "T") || b[10] == UInt8(ascii: "t") || b[10] == 0x20,
      let hour = digits(11, 2), b[13] == 58, let minute = digits(14, 2), b[16] == 58,
      let second = digits(17, 2), hour < 24, minute < 60, second <= 60
    else { return nil }
    var i = 19
    var fraction = 0.0
    if i < b.count, b[i] == UInt8(ascii: ".") {
      i += 1
      var scale = 0.1
      let start = i
      while i < b.count, b[i] &- 48 < 10 {
        fraction += Double(b[i] - 48) * scale
        scale /= 10
        i += 1
      }
      guard i > start else { return nil }
    }
    var offsetSeconds = 0
    var missingZone = false
    if i == b.count {
      missingZone = true
    } else if b[i] == UInt8(ascii: "Z") || b[i] == UInt8(ascii: "z") {
      i += 1
    } else if b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-") {
      let sign = b[i] == UInt8(ascii: "-") ? -1 : 1
      guard let oh = digits(i + 1, 2), i + 3 < b.count, b[i + 3] == 58, let om = digits(i + 4, 2),
        oh < 24, om < 60
      else { return nil }
      offsetSeconds = sign * (oh * 3600 + om * 60)
      i += 6
    } else {
      return nil
    }
    guard i == b.count else { return nil }
    let seconds =
      Double(dayNumber * 86400 + hour * 3600 + minute * 60 + second - offsetSeconds) + fraction
    return Parsed(date: Date(timeIntervalSince1970: seconds), missingTimeZone: missingZone)
  }

  /// Formats as `YYYY-MM-DDTHH:MM:SS[.ffffff]Z` (microseconds only when non-zero).
  public static func format(_ date: Date) -> String {
    let t = date.timeIntervalSince1970
    var whole = t.rounded(.down)
    var micros = Int(((t - whole) * 1_000_000).rounded())
    if micros == 1_000_000 {
      whole += 1
      micros = 0
    }
    let secs = Int(whole)
    let days = secs >= 0 ? secs / 86400 : (secs - 86399) / 86400
    let rem = secs - days * 86400
    let (y, m, d) = civilFromDays(days)
    func pad(_ v: Int, _ n: Int) -> String {
      let s = String(v)
      return String(repeating: "0", count: max(0, n - s.count)) + s
    }
    var text =
      "\(pad(y, 4))-\(pad(m, 2))-\(pad(d, 2))T\(pad(rem / 3600, 2)):\(pad(rem % 3600 / 60, 2)):\(pad(rem % 60, 2))"
    if micros != 0 { text += "." + pad(micros, 6) }
    return text + "Z"
  }

  static func daysIn(month: Int, year: Int) -> Int {
    switch month {
    case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
    case 4, 6, 9, 11: 30
    default: 31
    }
  }

  /// Days since 1970-01-01 (Howard Hinnant's algorithm).
  static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
    let y = month <= 2 ? year - 1 : year
    let era = (y >= 0 ? y : y - 399) / 400
    let yoe = y - era * 400
    let mp = (month + 9) % 12
    let doy = (153 * mp + 2) / 5 + day - 1
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
    return era * 146097 + doe - 719468
  }

  static func civilFromDays(_ z0: Int) -> (Int, Int, Int) {
    let z = z0 + 719468
    let era = (z >= 0 ? z : z - 146096) / 146097
    let doe = z - era * 146097
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
    let mp = (5 * doy + 2) / 153
    let d = doy - (153 * mp + 2) / 5 + 1
    let m = mp < 10 ? mp + 3 : mp - 9
    return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
  }
}
