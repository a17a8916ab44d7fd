import TandemBase

#if canImport(Glibc)
  import Glibc
#endif

/// A parsed `Content-Range: bytes first-last/total` (or `bytes */total`).
struct ContentRange: Equatable, Sendable {
  /// The bytes carried, `nil` for the unsatisfied form `bytes */total`.
  var range: ByteRange?
  /// The object's full size, `nil` when the server sent `*`.
  var total: UInt64?

  init(range: ByteRange?, total: UInt64?) {
    self.range = range
    self.total = total
  }

  /// Parses the header value; `nil` when malformed.
  init?(_ text: String) {
    let t = text.trimmingPrefix("bytes").drop(while: { $0 == " " })
    guard t.count < text.count, let slash = t.firstIndex(of: "/") else { return nil }
    let spec = t[..<slash]
    let totalText = t[t.index(after: slash)...]
    if totalText == "*" {
      total = nil
    } else {
      guard let value = UInt64(totalText) else { return nil }
      total = value
    }
    if spec == "*" {
      range = nil
    } else {
      let parts = spec.split(separator: "-", omittingEmptySubsequences: false)
      guard parts.count == 2, let first = UInt64(parts[0]), let last = UInt64(parts[1]),
        last >= first
      else { return nil }
      if let total, last >= total { return nil }
      // `bytes 0-18446744073709551615/*` spans 2^64 bytes, one more than a length can hold.
      let (length, overflow) = (last - first).addingReportingOverflow(1)
      guard !overflow else { return nil }
      range = ByteRange(offset: first, length: length)
    }
  }
}

/// `Retry-After` in seconds from now: delta-seconds or an HTTP-date; `nil` when malformed.
func parseRetryAfter(_ text: String, now: Double) -> Double? {
  let value = text.trimmingPrefix(" ")
  if let seconds = Double(value), seconds >= 0 { return seconds }
  // IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT".
  let fields = value.split(separator: " ")
  let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
  guard fields.count == 6, fields[5] == "GMT", let day = Int32(fields[1]),
    let month = months.firstIndex(of: String(fields[2])), let year = Int32(fields[3])
  else { return nil }
  let clock = fields[4].split(separator: ":").compactMap { Int32($0) }
  // Only plausible dates: a server-chosen year such as -2147483648 would overflow
  // `year - 1900`, and nonsense fields are malformed rather than normalised by timegm.
  guard clock.count == 3, (1900...9999).contains(year), (1...31).contains(day),
    (0...23).contains(clock[0]), (0...59).contains(clock[1]), (0...60).contains(clock[2])
  else { return nil }
  var parts = tm()
  parts.tm_year = year - 1900
  parts.tm_mon = Int32(month)
  parts.tm_mday = day
  parts.tm_hour = clock[0]
  parts.tm_min = clock[1]
  parts.tm_sec = clock[2]
  let when = Double(timegm(&parts))
  return max(0, when - now)
}

/// The current wall-clock time in seconds since 1970.
func wallClockSeconds() -> Double {
  var ts = timespec()
  clock_gettime(CLOCK_REALTIME, &ts)
  return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

/// A URL for messages and cache keys: no user:password and no volatile or secret query
/// parameters (presigned-URL signatures, tokens, expiry stamps).
public enum URLRedaction {
  /// Query parameter names (lowercased) dropped from messages and cache keys (see
  /// ``TandemBase/Redaction/isSecretParameter(_:)`` for the full rule).
  public static var volatileParameters: Set<String> { Redaction.secretParameters }

  /// `url` without credentials and volatile query parameters (``TandemBase/Redaction/url(_:)``).
  public static func redact(_ url: String) -> String { Redaction.url(url) }
}

/// Parser for `multipart/byteranges` bodies (RFC 9110 §14.6).
public enum MultipartByteranges {
  /// One part: the range it claims and its bytes.
  public struct Part: Sendable, Equatable {
    public var range: ByteRange
    public var total: UInt64?
    public var bytes: [UInt8]
  }

  /// The boundary from a `Content-Type: multipart/byteranges; boundary=…` value.
  public static func boundary(contentType: String) -> String? {
    guard contentType.lowercased().hasPrefix("multipart/byteranges") else { return nil }
    for parameter in contentType.split(separator: ";").dropFirst() {
      let kv = parameter.split(separator: "=", maxSplits: 1)
      guard kv.count == 2, trimmedHeaderText(kv[0]).lowercased() == "boundary" else { continue }
      var value = trimmedHeaderText(kv[1])
      if value.hasPrefix("\""), value.hasSuffix("\""), value.count >= 2 {
        value = String(value.dropFirst().dropLast())
      }
      return value.isEmpty ? nil : value
    }
    return nil
  }

  /// Splits `body` into parts; `nil` when the framing or a part's Content-Range is malformed or
  /// a part's length differs from its Content-Range.
  public static func parse(_ body: [UInt8], boundary: String) -> [Part]? {
    let delimiter = Array("--\(boundary)".utf8)
    var parts: [Part] = []
    guard var cursor = find(delimiter, in: body, from: 0) else { return nil }
    while true {
      cursor += delimiter.count
      // "--" after the delimiter closes the body.
      if cursor + 1 < body.count, body[cursor] == 0x2D, body[cursor + 1] == 0x2D { return parts }
      // Skip transport padding and CRLF after the delimiter.
      guard let lineEnd = find([0x0D, 0x0A], in: body, from: cursor) else { return nil }
      cursor = lineEnd + 2
      guard let headerEnd = find([0x0D, 0x0A, 0x0D, 0x0A], in: body, from: cursor - 2) else {
        return nil
      }
      let headerText = String(decoding: body[cursor..<max(cursor, headerEnd)], as: UTF8.self)
      var contentRange: ContentRange?
      for line in headerText.split(separator: "\r\n") {
        guard let colon = line.firstIndex(of: ":") else { continue }
        if line[..<colon].lowercased() == "content-range" {
          contentRange = ContentRange(trimmedHeaderText(line[line.index(after: colon)...]))
        }
      }
      guard let contentRange, let range = contentRange.range else { return nil }
      let dataStart = headerEnd + 4
      // A part claiming more bytes than the body holds (up to 2^64) is malformed; checked
      // before converting to Int so it cannot overflow.
      guard range.length <= UInt64(body.count - dataStart) else { return nil }
      let dataEnd = dataStart + Int(range.length)
      guard dataEnd + 2 <= body.count, body[dataEnd] == 0x0D, body[dataEnd + 1] == 0x0A else {
        return nil
      }
      parts.append(
        Part(range: range, total: contentRange.total, bytes: Array(body[dataStart..<dataEnd])))
      guard let next = find(delimiter, in: body, from: dataEnd), next == dataEnd + 2 else {
        return nil
      }
      cursor = next
    }
  }

  private static func find(_ needle: [UInt8], in haystack: [UInt8], from start: Int) -> Int? {
    guard needle.count <= haystack.count, start <= haystack.count - needle.count else {
      return nil
    }
    var i = start
    while i <= haystack.count - needle.count {
      if haystack[i] == needle[0] {
        var j = 1
        while j < needle.count && haystack[i + j] == needle[j] { j += 1 }
        if j == needle.count { return i }
      }
      i += 1
    }
    return nil
  }
}
