// libFuzzer target: HTTP response parsing as HTTPSource meets it — response-head lines (status
// lines and fields, as libcurl's header callback passes them), Content-Range, Retry-After and
// multipart/byteranges bodies. Beyond not trapping, each parse must be self-consistent: a
// Content-Range describes a non-empty range inside its total, and every multipart part holds
// exactly the bytes its Content-Range claims, taken from the body.
@testable import RangeIO

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHTTP(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
  let bytes = input(data, size)
  let text = String(decoding: bytes, as: UTF8.self)
  // A response head, line by line.
  for line in text.split(separator: "\r\n", omittingEmptySubsequences: false).prefix(256) {
    switch HTTPHeaderLine(String(line)) {
    case .status(let code?): precondition((100...999).contains(code))
    case .field(let name, _): precondition(!name.isEmpty && name == name.lowercased())
    default: break
    }
    if let value = line.split(separator: ":", maxSplits: 1).dropFirst().first {
      check(contentRange: String(value))
      _ = parseRetryAfter(String(value), now: 1_700_000_000)
      _ = MultipartByteranges.boundary(contentType: String(value))
    }
  }
  check(contentRange: text)
  if let seconds = parseRetryAfter(text, now: 1_700_000_000) { precondition(!seconds.isNaN) }
  // A multipart body whose boundary is the input's first line (or a fixed one).
  let firstLine = text.split(separator: "\r\n", maxSplits: 1).first.map(String.init) ?? ""
  for boundary in [firstLine, "TANDEMBOUNDARY"] where !boundary.isEmpty && boundary.count < 70 {
    guard let parts = MultipartByteranges.parse(bytes, boundary: boundary) else { continue }
    for part in parts {
      precondition(
        UInt64(part.bytes.count) == part.range.length, "part length differs from its range")
      if let total = part.total { precondition(part.range.end <= total) }
    }
  }
  return 0
}

func check(contentRange text: String) {
  guard let cr = ContentRange(text) else { return }
  if let range = cr.range {
    precondition(range.length > 0, "empty Content-Range")
    if let total = cr.total { precondition(range.end <= total, "Content-Range past its total") }
  }
}
