import TandemBase

/// An I/O failure, naming the object, the byte range (when there is one) and the cause.
public struct RangeIOError: Error, CustomStringConvertible, Sendable {
  /// What kind of failure; extensible like swift-nio's error codes.
  public struct Code: Hashable, Sendable, CustomStringConvertible {
    public let name: String
    public init(_ name: String) { self.name = name }
    public var description: String { name }

    /// The object does not exist (ENOENT, HTTP 404/410).
    public static let notFound = Code("not found")
    /// Access was refused (EACCES, HTTP 401/403).
    public static let forbidden = Code("access denied")
    /// The server does not honour byte ranges.
    public static let rangeNotSupported = Code("range requests not supported")
    /// The server answered with an unexpected HTTP status.
    public static let httpStatus = Code("unexpected HTTP status")
    /// The response was inconsistent (wrong Content-Range, short body, malformed multipart).
    public static let badResponse = Code("bad response")
    /// Connection-level failure (DNS, refused, reset, TLS).
    public static let network = Code("network error")
    /// A transfer exceeded its time limit.
    public static let timeout = Code("timed out")
    /// The requested range lies (partly) past the end of the object.
    public static let outOfBounds = Code("range past end of object")
    /// A local read failed.
    public static let io = Code("I/O error")
    /// The object changed while it was being read (ETag / Last-Modified / size differ).
    public static let objectChanged = Code("object changed during the run")
    /// `--offline` is set and the bytes are not in the cache.
    public static let offlineMiss = Code("not in cache (offline)")
    /// The location's scheme or form is not supported.
    public static let unsupportedLocation = Code("unsupported location")
    /// A configured limit was exceeded (response size, retries, redirects).
    public static let limitExceeded = Code("limit exceeded")
    /// The ``RemotePolicy`` forbids this location (a remote document pointing at a local file,
    /// or a host outside `--allowed-hosts`).
    public static let refused = Code("refused by the remote-catalog policy")
    /// The reading task was cancelled; the transfer was aborted.
    public static let cancelled = Code("cancelled")
    /// A read finished without bytes for one of its ranges: an internal inconsistency, reported
    /// instead of trapping.
    public static let incomplete = Code("incomplete read")
    /// A whole-document response was larger than the caller's limit.
    public static let tooLarge = Code("response too large")
  }

  public var code: Code
  /// Path or URL (without credentials or signatures).
  public var location: String
  /// The byte range involved, when the failure concerns one.
  public var range: ByteRange?
  /// Human-readable detail: what was expected and what happened.
  public var message: String
  /// HTTP status, when there was a response.
  public var httpStatus: Int?
  /// Where the error was raised, for debugging.
  public var file: String
  public var line: Int

  public init(
    _ code: Code, location: String, range: ByteRange? = nil, message: String,
    httpStatus: Int? = nil, file: String = #fileID, line: Int = #line
  ) {
    self.code = code
    self.location = location
    self.range = range
    self.message = message
    self.httpStatus = httpStatus
    self.file = file
    self.line = line
  }

  /// The description before ``TandemBase/Redaction/text(_:)``.
  var unredactedDescription: String {
    var text = "\(location)"
    if let range { text += " (\(range))" }
    text += ": \(code)"
    if !message.isEmpty { text += ": \(message)" }
    return text
  }
}

extension RangeIOError {
  /// Human-readable, with URL secrets, tokens and registered credentials removed.
  public var description: String { Redaction.text(unredactedDescription) }
}
