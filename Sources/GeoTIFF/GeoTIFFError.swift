import RangeIO
import TandemBase

/// A failure to read a GeoTIFF: names the object, and where known the IFD, tile/strip and byte
/// range involved, and the cause.
public struct GeoTIFFError: Error, CustomStringConvertible, Sendable {
  /// What kind of failure; extensible like swift-nio's error codes.
  public struct Code: Hashable, Sendable, CustomStringConvertible {
    /// Short name, e.g. `truncated`.
    public let name: String
    public init(_ name: String) { self.name = name }
    public var description: String { name }

    /// The bytes do not start with a TIFF or BigTIFF signature.
    public static let notTIFF = Code("not a TIFF")
    /// The object ends before a structure it declares.
    public static let truncated = Code("truncated")
    /// A structure is inconsistent (bad offsets, counts, types, IFD loop).
    public static let malformed = Code("malformed TIFF")
    /// A valid TIFF feature this reader does not handle (codec, sample layout).
    public static let unsupported = Code("unsupported")
    /// libtiff could not decode a tile or strip.
    public static let decodeFailed = Code("decode failed")
    /// A safety limit was exceeded (IFD count, entries, dimensions, header size).
    public static let limitExceeded = Code("limit exceeded")
    /// The caller asked for something that does not exist (band, overview, window).
    public static let invalidRequest = Code("invalid request")
    /// Reading bytes from the source failed; see ``underlying``.
    public static let io = Code("I/O error")
  }

  /// What kind of failure.
  public var code: Code
  /// Path or URL of the object.
  public var location: String
  /// Index of the IFD (image) in the order they were parsed, when relevant.
  public var ifd: Int?
  /// Tile or strip index within the IFD, when relevant.
  public var strile: Int?
  /// Byte range involved, when relevant.
  public var range: ByteRange?
  /// What was expected and what was found.
  public var message: String
  /// The I/O error behind an `.io` failure.
  public var underlying: RangeIOError?

  public init(
    _ code: Code, location: String, ifd: Int? = nil, strile: Int? = nil, range: ByteRange? = nil,
    message: String, underlying: RangeIOError? = nil
  ) {
    self.code = code
    self.location = location
    self.ifd = ifd
    self.strile = strile
    self.range = range
    self.message = message
    self.underlying = underlying
  }

  /// Wraps an I/O failure.
  init(_ error: RangeIOError, ifd: Int? = nil, strile: Int? = nil) {
    self.init(
      .io, location: error.location, ifd: ifd, strile: strile, range: error.range,
      message: error.description, underlying: error)
  }

  /// The description before ``TandemBase/Redaction/text(_:)``.
  var unredactedDescription: String {
    var text = location
    var context: [String] = []
    if let ifd { context.append("IFD \(ifd)") }
    if let strile { context.append("tile/strip \(strile)") }
    if let range { context.append("\(range)") }
    if !context.isEmpty { text += " (" + context.joined(separator: ", ") + ")" }
    text += ": \(code)"
    if let underlying, code == .io {
      text += ": \(underlying.code)"
      if !underlying.message.isEmpty { text += ": \(underlying.message)" }
    } else if !message.isEmpty {
      text += ": \(message)"
    }
    return text
  }
}

extension GeoTIFFError {
  /// Human-readable, with URL secrets, tokens and registered credentials removed.
  public var description: String { Redaction.text(unredactedDescription) }
}
