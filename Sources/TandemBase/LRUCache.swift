import Synchronization

/// A thread-safe least-recently-used cache capped by total cost (bytes), not entry count.
///
/// Used for fetched ranges (RangeIO) and decoded tiles (Pipeline). A fixed entry count is the
/// wrong bound for tiles of varying size (torchgeo#1694: a 128-file LRU grew to 60 GB).
public final class LRUCache<Key: Hashable & Sendable, Value: Sendable>: Sendable {
  private struct Node {
    var key: Key
    var value: Value?
    var cost: Int
    var previous: Int
    var next: Int
  }

  /// Entries live in `nodes`; a doubly linked list through indices orders them, most recent at
  /// `head`. Freed slots are reused.
  private struct State {
    var index: [Key: Int] = [:]
    var nodes: [Node] = []
    var free: [Int] = []
    var head = -1
    var tail = -1
    var cost = 0
    var hits = 0
    var misses = 0

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
  /// Largest total cost kept.
  public let capacity: Int

  public init(capacity: Int) {
    self.capacity = max(0, capacity)
  }

  /// The value for `key`, marking it most recently used.
  public func get(_ key: Key) -> Value? {
    state.withLock { s in
      guard let i = s.index[key] else {
        s.misses += 1
        return nil
      }
      s.hits += 1
      s.unlink(i)
      s.pushFront(i)
      return s.nodes[i].value
    }
  }

  /// Stores `value` with `cost`, evicting least recently used entries over the capacity. A
  /// value costing more than the whole capacity is not stored; an existing key is left as is.
  public func put(_ key: Key, _ value: Value, cost: Int) {
    guard cost <= capacity else { return }
    state.withLock { s in
      if s.index[key] != nil { return }
      let node = Node(key: key, value: value, cost: cost, previous: -1, next: -1)
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
      s.cost += cost
      while s.cost > capacity, s.tail >= 0 {
        let victim = s.tail
        s.unlink(victim)
        s.cost -= s.nodes[victim].cost
        s.index[s.nodes[victim].key] = nil
        s.nodes[victim].value = nil
        s.free.append(victim)
      }
    }
  }

  /// Drops every entry (hit and miss counts are kept).
  public func removeAll() {
    state.withLock { s in
      s.index.removeAll()
      s.nodes.removeAll()
      s.free.removeAll()
      s.head = -1
      s.tail = -1
      s.cost = 0
    }
  }

  /// Total cost of the entries held.
  public var totalCost: Int { state.withLock { $0.cost } }

  /// Entries held.
  public var count: Int { state.withLock { $0.index.count } }

  /// Lookups that found / did not find their key.
  public var hitCount: Int { state.withLock { $0.hits } }
  public var missCount: Int { state.withLock { $0.misses } }
}
