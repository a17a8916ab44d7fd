import RangeIO
import Synchronization

/// Serves a remote source's ranges through a ``TileCache``. The object's version is pinned from
/// the cache's record (or, on first contact, from the origin) so a warm run makes no request;
/// misses go to the origin in one batched read, after checking that the origin still holds the
/// pinned version (otherwise `.objectChanged`: cached and fresh bytes are never mixed).
public final class CachingSource: ByteSource {
  public var location: String { inner.location }
  /// The object's name in cache keys and records (``RangeIO/VersionedByteSource/cacheIdentity``).
  private var identity: String { inner.cacheIdentity }
  public let stats: IOStats
  private let inner: any VersionedByteSource
  private let cache: TileCache
  private let pinned = Mutex<ObjectVersion?>(nil)
  /// Whether the origin's version was checked against the pinned one in this run.
  private let originChecked = Atomic<Bool>(false)

  init(inner: any VersionedByteSource, cache: TileCache, stats: IOStats) {
    self.inner = inner
    self.cache = cache
    self.stats = stats
  }

  public func size() async throws(RangeIOError) -> UInt64 {
    try await version().size
  }

  /// The pinned version: from this run, the cache's record, or the origin.
  public func version() async throws(RangeIOError) -> ObjectVersion {
    if let version = pinned.withLock({ $0 }) { return version }
    if let recorded = cache.recordedVersion(identity) {
      return pin(recorded)
    }
    guard !cache.offline else {
      cache.noteMissing(identity, ranges: [])
      throw RangeIOError(
        .offlineMiss, location: location,
        message: "offline and the object's size and version are not in the cache")
    }
    let live = try await inner.version()
    originChecked.store(true, ordering: .relaxed)
    cache.recordVersion(live, location: identity)
    return pin(live)
  }

  private func pin(_ version: ObjectVersion) -> ObjectVersion {
    pinned.withLock { current in
      let kept = current ?? version
      current = kept
      return kept
    }
  }

  public func read(_ ranges: [ByteRange]) async throws(RangeIOError) -> [[UInt8]] {
    guard !ranges.isEmpty else { return [] }
    let version = try await version()
    var results = [[UInt8]?](repeating: nil, count: ranges.count)
    var misses: [Int] = []
    for (i, range) in ranges.enumerated() {
      guard range.offset <= version.size, range.length <= version.size - range.offset else {
        throw RangeIOError(
          .outOfBounds, location: location, range: range,
          message: "object is \(version.size) bytes long")
      }
      if range.length == 0 {
        results[i] = []
      } else if let hit = cache.lookup(key(version, range), range: range) {
        results[i] = hit
      } else {
        misses.append(i)
      }
    }
    let nonEmpty = ranges.count { $0.length > 0 }
    stats.cacheHits.add(nonEmpty - misses.count, ordering: .relaxed)
    stats.cacheMisses.add(misses.count, ordering: .relaxed)
    cache.countLookups(hits: nonEmpty - misses.count, misses: misses.count)
    guard !misses.isEmpty else {
      return try ByteReads.complete(results, for: ranges, location: location)
    }
    let missing = misses.map { ranges[$0] }
    if cache.offline {
      cache.noteMissing(identity, ranges: missing)
      throw RangeIOError(
        .offlineMiss, location: location, range: missing[0],
        message:
          "offline and \(missing.count) range(s) are not in the cache: "
          + missing.prefix(8).map(\.description).joined(separator: ", ")
          + (missing.count > 8 ? ", …" : ""))
    }
    if !originChecked.load(ordering: .relaxed) {
      let live = try await inner.version()
      guard live == version else {
        // The cached record is stale: forget it so the next run starts from the new version.
        cache.forgetVersion(identity)
        throw RangeIOError(
          .objectChanged, location: location, range: missing[0],
          message:
            "the origin now has size \(live.size), ETag \(live.etag ?? "-"), Last-Modified \(live.lastModified ?? "-"); the cache holds size \(version.size), ETag \(version.etag ?? "-"), Last-Modified \(version.lastModified ?? "-")"
        )
      }
      originChecked.store(true, ordering: .relaxed)
    }
    let fetched = try ByteReads.complete(
      try await inner.read(missing), for: missing, location: location)
    for (j, i) in misses.enumerated() {
      cache.store(key(version, ranges[i]), range: ranges[i], data: fetched[j])
      results[i] = fetched[j]
    }
    return try ByteReads.complete(results, for: ranges, location: location)
  }

  private func key(_ version: ObjectVersion, _ range: ByteRange) -> String {
    TileCache.key(location: identity, version: version, range: range)
  }
}
