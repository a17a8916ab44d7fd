import TandemBase

/// Where an object lives, parsed from what a user typed or a catalog href.
public enum SourceLocation: Sendable, Equatable, CustomStringConvertible {
  /// A local file path.
  case file(path: String)
  /// An `http://` or `https://` URL.
  case http(url: String)

  /// Parses a path, `file://` URL or `http(s)://` URL.
  public init(_ text: String) throws(RangeIOError) {
    let lower = text.lowercased()
    if lower.hasPrefix("http://") || lower.hasPrefix("https://") {
      self = .http(url: text)
    } else if lower.hasPrefix("file://") {
      var path = String(text.dropFirst("file://".count))
      // file://localhost/path and file:///path
      if path.hasPrefix("localhost/") { path = String(path.dropFirst("localhost".count)) }
      guard path.hasPrefix("/") else {
        throw RangeIOError(
          .unsupportedLocation, location: text, message: "file URLs must be absolute (file:///path)"
        )
      }
      self = .file(path: PercentDecoding.decoded(path))
    } else if let colon = text.firstIndex(of: ":"), text[..<colon].count > 1,
      text[..<colon].allSatisfy({
        $0.isLetter || $0.isNumber || $0 == "+" || $0 == "-" || $0 == "."
      }),
      text[text.index(after: colon)...].hasPrefix("//")
    {
      throw RangeIOError(
        .unsupportedLocation, location: text,
        message: "unsupported scheme '\(text[..<colon])' (use a path, file://, http:// or https://)"
      )
    } else {
      guard !text.isEmpty else {
        throw RangeIOError(.unsupportedLocation, location: text, message: "empty location")
      }
      self = .file(path: text)
    }
  }

  public var description: String {
    switch self {
    case .file(let path): path
    case .http(let url): url
    }
  }
}
