/// Options that apply to every source a command opens (HTTP tuning, retries and the tile cache
/// are added here as the I/O layer grows).
public struct SourceOptions: Sendable {
  /// Shared counters for every source opened with these options.
  public var stats: IOStats

  public init(stats: IOStats = IOStats()) {
    self.stats = stats
  }
}

/// Opens byte sources from locations.
public enum ByteSources {
  /// Opens a path, `file://` URL or `http(s)://` URL.
  public static func open(
    _ location: String, options: SourceOptions = SourceOptions()
  )
    throws(RangeIOError) -> any ByteSource
  {
    switch try SourceLocation(location) {
    case .file(let path):
      return try FileSource(path: path, stats: options.stats)
    case .http(let url):
      throw RangeIOError(
        .unsupportedLocation, location: url, message: "HTTP support is not built yet")
    }
  }
}
