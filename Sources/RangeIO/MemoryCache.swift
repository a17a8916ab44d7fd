import TandemBase

/// A process-wide, byte-capped LRU cache of fetched ranges, shared by the sources that opt in.
///
/// The training pipeline reads small windows out of large tiles, so nearby samples fetch the
/// same compressed tiles again and again; keeping recently used tiles in memory turns most of
/// those into hits. Entries are keyed by (object, range); the cap is in bytes, not entries, so
/// a few huge tiles cannot blow memory up (torchgeo#1694).
public final class MemoryCache: Sendable {
  private struct Key: Hashable, Sendable {
    var location: String
    var range: ByteRange
  }

  private let entries: LRUCache<Key, [UInt8]>

  /// Largest total payload kept, in bytes.
  public var capacity: Int { entries.capacity }

  public init(capacity: Int) {
    entries = LRUCache(capacity: capacity)
  }

  /// The cached bytes of `range` of `location`, marking them recently used.
  public func get(_ location: String, _ range: ByteRange) -> [UInt8]? {
    entries.get(Key(location: location, range: range))
  }

  /// Stores `bytes` for `range` of `location`, evicting least recently used entries over the
  /// cap. Entries larger than the whole cap are not kept.
  public func put(_ location: String, _ range: ByteRange, _ bytes: [UInt8]) {
    entries.put(Key(location: location, range: range), bytes, cost: bytes.count)
  }

  /// Bytes currently held.
  public var bytesHeld: Int { entries.totalCost }

  /// Entries currently held.
  public var count: Int { entries.count }
}

/// A source whose reads go through a ``MemoryCache``: cached ranges are served from memory,
/// the rest are fetched in one batched `read` and then cached.
public final class MemoryCachedSource: ByteSource {
  public let base: any ByteSource
  public let cache: MemoryCache

  public init(_ base: any ByteSource, cache: MemoryCache) {
    self.base = base
    self.cache = cache
  }

  public var location: String { base.location }
  public var stats: IOStats { base.stats }

  public func size() async throws(RangeIOError) -> UInt64 { try await base.size() }

  public func read(_ ranges: [ByteRange]) async throws(RangeIOError) -> [[UInt8]] {
    var out = [[UInt8]?](repeating: nil, count: ranges.count)
    var missing: [Int] = []
    for (i, r) in ranges.enumerated() {
      if let hit = cache.get(location, r) {
        out[i] = hit
      } else {
        missing.append(i)
      }
    }
    if !missing.isEmpty {
      let wanted = missing.map { ranges[$0] }
      let fetched = try ByteReads.complete(
        try await base.read(wanted), for: wanted, location: location)
      for (k, i) in missing.enumerated() {
        out[i] = fetched[k]
        cache.put(location, ranges[i], fetched[k])
      }
    }
    return try ByteReads.complete(out, for: ranges, location: location)
  }
}
