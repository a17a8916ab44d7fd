/// An error from generating or writing the fixture world; names the file and the cause.
public struct FixturesError: Error, CustomStringConvertible, Sendable {
  /// What kind of failure this is.
  public struct Code: Hashable, Sendable, CustomStringConvertible {
    let name: String
    /// A parameter is outside its valid range (tile count, size, dates, preset).
    public static let invalidConfiguration = Code(name: "invalid configuration")
    /// libtiff refused to encode or read back a tile.
    public static let encoding = Code(name: "encoding failed")
    /// A file could not be written.
    public static let write = Code(name: "write failed")
    /// The result would not fit the container (e.g. a classic TIFF over 4 GiB).
    public static let tooLarge = Code(name: "too large")
    public var description: String { name }
  }

  /// The kind of failure.
  public var code: Code
  /// The file (or option) concerned, when there is one.
  public var path: String?
  /// Human-readable cause.
  public var reason: String

  /// Creates an error of kind `code` about `path` (if any) with a human-readable `reason`.
  public init(_ code: Code, path: String? = nil, reason: String) {
    self.code = code
    self.path = path
    self.reason = reason
  }

  public var description: String {
    if let path { return "\(code): \(path): \(reason)" }
    return "\(code): \(reason)"
  }
}
