import RangeIO
import TandemBase

/// A location inside a JSON document, rendered like `features[3].properties.datetime`.
public struct JSONPath: Sendable, Hashable, CustomStringConvertible {
  /// One step: an object key or an array index.
  public enum Component: Sendable, Hashable {
    case key(String)
    case index(Int)
  }

  /// The steps from the root.
  public var components: [Component]

  /// Creates a value from its parts.
  public init(_ components: [Component] = []) { self.components = components }

  /// The document root.
  public static let root = JSONPath()

  /// This path followed by an object key.
  public func key(_ key: String) -> JSONPath { JSONPath(components + [.key(key)]) }
  /// This path followed by an array index.
  public func index(_ i: Int) -> JSONPath { JSONPath(components + [.index(i)]) }

  /// `features[3].properties.datetime`; the root is `$`.
  public var description: String {
    if components.isEmpty { return "$" }
    var text = ""
    for c in components {
      switch c {
      case .key(let k):
        let plain =
          !k.isEmpty && k.utf8.allSatisfy { $0 != UInt8(ascii: ".") && $0 != 91 && $0 != 93 }
        if plain {
          if !text.isEmpty { text += "." }
          text += k
        } else {
          text += "[\"\(k)\"]"
        }
      case .index(let i): text += "[\(i)]"
      }
    }
    return text
  }
}

/// A STAC failure: names the document (path or URL), the JSON path inside it when there is one,
/// and the cause. Modelled on ``RangeIO/RangeIOError``.
public struct STACError: Error, CustomStringConvertible, Sendable {
  /// What kind of failure; extensible.
  public struct Code: Hashable, Sendable, CustomStringConvertible {
    /// The code's name, shown in messages.
    public let name: String
    /// Creates a value from its parts.
    public init(_ name: String) { self.name = name }
    /// Description.
    public var description: String { name }

    /// The bytes are not valid JSON.
    public static let invalidJSON = Code("invalid JSON")
    /// A required field is absent.
    public static let missingField = Code("missing field")
    /// A field has the wrong type or an invalid value.
    public static let invalidValue = Code("invalid value")
    /// The document is not a STAC Item, ItemCollection, Catalog or Collection.
    public static let notSTAC = Code("not a STAC document")
    /// Fetching the document failed (see ``underlying``).
    public static let io = Code("I/O error")
    /// The document exceeds the configured maximum size.
    public static let tooLarge = Code("document too large")
    /// A `next` link repeats an earlier request (paging loop).
    public static let pagingLoop = Code("paging loop")
    /// The fetcher cannot perform this request (e.g. POST without an HTTP fetcher).
    public static let unsupported = Code("unsupported request")
    /// A configured limit was exceeded.
    public static let limitExceeded = Code("limit exceeded")
    /// The remote-catalog policy forbids the href (``RangeIO/RemotePolicy``): a remote document
    /// pointing at a local file, or a host outside `--allowed-hosts`.
    public static let refused = Code("refused by the remote-catalog policy")
  }

  /// What kind of failure.
  public var code: Code
  /// The document: a path or URL.
  public var location: String
  /// Where in the document, when the failure concerns one field.
  public var path: JSONPath?
  /// What was expected and what was found.
  public var message: String
  /// The I/O error behind an `.io` failure.
  public var underlying: RangeIOError?

  /// Creates a value from its parts.
  public init(
    _ code: Code, location: String, path: JSONPath? = nil, message: String,
    underlying: RangeIOError? = nil
  ) {
    self.code = code
    self.location = location
    self.path = path
    self.message = message
    self.underlying = underlying
  }

  /// `doc.json: features[3].properties.datetime: missing field: …`
  /// The description before ``TandemBase/Redaction/text(_:)``.
  var unredactedDescription: String {
    var text = location
    if let path { text += ": \(path)" }
    text += ": \(code)"
    if !message.isEmpty { text += ": \(message)" }
    return text
  }
}

/// A non-fatal observation made while reading STAC (lenient parse, skipped item, truncated
/// paging), kept so commands can report it.
public struct STACWarning: Sendable, Hashable, CustomStringConvertible, Codable {
  /// The document.
  public var location: String
  /// The JSON path, rendered (e.g. `features[2].properties.datetime`), or empty.
  public var path: String
  /// What happened.
  public var message: String

  /// Creates a value from its parts.
  public init(location: String, path: JSONPath?, message: String) {
    self.location = location
    self.path = path?.description ?? ""
    self.message = message
  }

  /// Description.
  /// The description before ``TandemBase/Redaction/text(_:)``.
  var unredactedDescription: String {
    path.isEmpty ? "\(location): \(message)" : "\(location): \(path): \(message)"
  }
}

extension STACError {
  /// Human-readable, with URL secrets, tokens and registered credentials removed.
  public var description: String { Redaction.text(unredactedDescription) }
}

extension STACWarning {
  /// Human-readable, with URL secrets, tokens and registered credentials removed.
  public var description: String { Redaction.text(unredactedDescription) }
}
