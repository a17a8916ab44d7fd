import Synchronization

/// A process-wide, byte-capped LRU cache of fetched ranges, shared by the sources that opt in.
///
/// The training pipeline reads small windows out of large tiles, so nearby samples fetch the
/// same compressed tiles again and again; keeping recently used tiles in memory turns most of
/// those into hits. Entries are keyed by (object, range); the cap is in bytes, not entries, so
/// a few huge tiles cannot blow memory up (torchgeo#1694).
public final class MemoryCache: Sendable {
  private struct Key: Hashable {
    var location: String
    var range: ByteRange
  }

  private struct Node {
    var key: Key
    var bytes: [UInt8]
    var previous: Int
    var next: Int
  }

  /// LRU list over `nodes` (indices), most recent at `head`.
  private struct State {
    var index: [Key: Int] = [:]
    var nodes: [Node] = []
    var free: [Int] = []
    var head = -1
    var tail = -1
    var bytes = 0

    mutating func unlink(_ i: Int) {
      let p = nodes[i].previous
      let n = nodes[i].next
      if p >= 0 { nodes[p].next = n } else { head = n }
      if n >= 0 { nodes[n].previous = p } else { tail = p }
    }

    mutating func pushFront(_ i: Int) {
      nodes[i].previous = -1
      nodes[i].next = head
      if head >= 0 { nodes[head].previous = i }
      head = i
      if tail < 0 { tail = i }
    }
  }

  private let state = Mutex(State())
  /// Largest total payload kept, in bytes.
  public let capacity: Int

  public init(capacity: Int) {
    self.capacity = max(0, capacity)
  }

  /// The cached bytes of `range` of `location`, marking them recently used.
  public func get(_ location: String, _ range: ByteRange) -> [UInt8]? {
    state.withLock { s in
      guard let i = s.index[Key(location: location, range: range)] else { return nil }
      s.unlink(i)
      s.pushFront(i)
      return s.nodes[i].bytes
    }
  }

  /// Stores `bytes` for `range` of `location`, evicting least recently used entries over the
  /// cap. Entries larger than the whole cap are not kept.
  public func put(_ location: String, _ range: ByteRange, _ bytes: [UInt8]) {
    guard bytes.count <= capacity else { return }
    state.withLock { s in
      let key = Key(location: location, range: range)
      if s.index[key] != nil { return }
      let node = Node(key: key, bytes: bytes, previous: -1, next: -1)
      let i: Int
      if let f = s.free.popLast() {
        s.nodes[f] = node
        i = f
      } else {
        s.nodes.append(node)
        i = s.nodes.count - 1
      }
      s.index[key] = i
      s.pushFront(i)
      s.bytes += bytes.count
      while s.bytes > capacity, s.tail >= 0 {
        let victim = s.tail
        s.unlink(victim)
        s.bytes -= s.nodes[victim].bytes.count
        s.index[s.nodes[victim].key] = nil
        s.nodes[victim].bytes = []
        s.free.append(victim)
      }
    }
  }

  /// Bytes currently held.
  public var bytesHeld: Int { state.withLock { $0.bytes } }

  /// Entries currently held.
  public var count: Int { state.withLock { $0.index.count } }
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
      let fetched = try await base.read(missing.map { ranges[$0] })
      for (k, i) in missing.enumerated() {
        out[i] = fetched[k]
        cache.put(location, ranges[i], fetched[k])
      }
    }
    return out.map { $0! }
  }
}
