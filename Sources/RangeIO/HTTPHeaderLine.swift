/// One line of a response head as libcurl hands it to the header callback: a status line
/// (`HTTP/1.1 206 Partial Content`, also after each redirect or `100 Continue`), a field
/// (`Content-Range: bytes 0-9/100`), or anything else (the blank line ending the head, junk).
enum HTTPHeaderLine: Equatable, Sendable {
  /// A status line; the code when it parses as 100…999.
  case status(Int?)
  /// A header field: the name lower-cased, the value without surrounding blanks.
  case field(name: String, value: String)
  case other

  init(_ line: String) {
    if line.hasPrefix("HTTP/") {
      let parts = line.split(separator: " ", maxSplits: 2)
      let code = parts.count >= 2 ? Int(trimmedHeaderText(parts[1])) : nil
      self = .status(code.flatMap { (100...999).contains($0) ? $0 : nil })
      return
    }
    guard let colon = line.firstIndex(of: ":"), colon != line.startIndex else {
      self = .other
      return
    }
    self = .field(
      name: line[..<colon].lowercased(), value: trimmedHeaderText(line[line.index(after: colon)...])
    )
  }
}
