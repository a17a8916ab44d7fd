/// Options that apply to every source a command opens: HTTP tuning and retries, and the
/// tile cache that remote sources go through when one is configured.
public struct SourceOptions: Sendable {
  /// Shared counters for every source opened with these options.
  public var stats: IOStats
  /// HTTP(S) tuning: concurrency, timeouts, retries, coalescing, protocol, auth headers.
  public var http: HTTPOptions
  /// When set, remote sources are wrapped by this cache (see the `TileCache` module).
  public var cache: (any ByteSourceCache)?

  public init(
    stats: IOStats = IOStats(), http: HTTPOptions = HTTPOptions(),
    cache: (any ByteSourceCache)? = nil
  ) {
    self.stats = stats
    self.http = http
    self.cache = cache
  }

  /// What remote documents may refer to and which hosts may be contacted (kept in
  /// ``HTTPOptions/remote`` so HTTP sources check their redirects with it).
  public var remote: RemotePolicy {
    get { http.remote }
    set { http.remote = newValue }
  }
}

/// A cache that remote sources can be routed through (implemented by `TileCache`); declared
/// here so `ByteSources.open` can apply it without RangeIO depending on the cache module.
public protocol ByteSourceCache: Sendable {
  /// Returns a source that serves `source`'s bytes through the cache.
  func wrap(_ source: any VersionedByteSource, stats: IOStats) -> any ByteSource
  /// Whether only cached bytes may be served (`--offline`).
  var offline: Bool { get }
}

/// Opens byte sources from locations.
public enum ByteSources {
  /// Opens a path, `file://` URL or `http(s)://` URL. HTTP sources make no request until they
  /// are first read; with `options.cache` set they go through the cache.
  public static func open(
    _ location: String, options: SourceOptions = SourceOptions()
  )
    throws(RangeIOError) -> any ByteSource
  {
    switch try SourceLocation(location) {
    case .file(let path):
      return try FileSource(path: path, stats: options.stats)
    case .http(let url):
      try options.remote.check(url, referrer: nil)
      let source = HTTPSource(url: url, options: options.http, stats: options.stats)
      if let cache = options.cache { return cache.wrap(source, stats: options.stats) }
      return source
    }
  }
}
