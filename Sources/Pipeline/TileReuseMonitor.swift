import Synchronization
import TandemBase

/// When a ``PairLoader`` uses its decoded-tile cache.
public enum DecodedCachePolicy: Sendable, Equatable {
  /// Whatever the reuse.
  case always
  /// While an LRU cache of its size would serve at least `offBelow` of the tile reads of the
  /// last `window` (see ``TileReuseMonitor``).
  case adaptive(window: Int = 2048, offBelow: Double = 0.10, onAt: Double = 0.15)
}

/// Decides whether the decoded-tile cache earns its cost.
///
/// The cache pays when windows share tiles (a small world, overlapping windows); on a catalog
/// far larger than the cache almost every tile is read once, and caching costs more than it
/// saves: tiles decoded as boxes, split, converted, inserted, evicted — on the 16 GB cold corpus
/// 16 ms of CPU per sample instead of 10 (Docs/BENCHMARKS-pipeline.md). The monitor keeps a
/// *ghost* LRU of tile keys with the cache's byte capacity (keys only, no pixels), so it knows
/// the hit ratio an LRU cache of that size would have whether or not the real cache is in use.
/// Every `window` tile touches it compares that ratio with two thresholds (hysteresis): below
/// `offBelow` the cache is bypassed (and emptied), at `onAt` or above it is used again.
public final class TileReuseMonitor<Key: Hashable & Sendable>: Sendable {
  private struct State {
    var touches = 0
    var wouldHit = 0
    var active = true
    var lastRatio: Double?
    var switchesOff = 0
    var switchesOn = 0
    var touchesBypassed = 0
    var totalTouches = 0
  }

  private let ghost: LRUCache<Key, Bool>
  private let state = Mutex(State())
  /// Tile touches per decision.
  public let window: Int
  /// The would-be hit ratio below which the cache is bypassed, and at which it is used again.
  public let offBelow: Double
  public let onAt: Double

  /// A monitor for a cache of `capacityBytes`; the cache starts in use.
  public init(capacityBytes: Int, window: Int = 2048, offBelow: Double = 0.10, onAt: Double = 0.15)
  {
    precondition(window > 0 && offBelow <= onAt)
    self.ghost = LRUCache(capacity: capacityBytes)
    self.window = window
    self.offBelow = offBelow
    self.onAt = onAt
  }

  /// What a call to ``touch(_:cost:)`` decided.
  public enum Change: Sendable, Equatable {
    case none, switchedOff, switchedOn
  }

  /// Records that a window reads `keys` (each tile costing `cost` bytes in the cache) and
  /// returns whether the cache should be used for them, and whether this touch changed that.
  public func touch(_ keys: some Sequence<Key>, cost: Int) -> (useCache: Bool, change: Change) {
    var n = 0
    var hits = 0
    for key in keys {
      n += 1
      if ghost.get(key) != nil {
        hits += 1
      } else {
        ghost.put(key, true, cost: cost)
      }
    }
    return state.withLock { s in
      let use = s.active
      s.touches += n
      s.wouldHit += hits
      s.totalTouches += n
      if !use { s.touchesBypassed += n }
      var change = Change.none
      if s.touches >= window {
        let ratio = Double(s.wouldHit) / Double(s.touches)
        s.lastRatio = ratio
        s.touches = 0
        s.wouldHit = 0
        if s.active && ratio < offBelow {
          s.active = false
          s.switchesOff += 1
          change = .switchedOff
        } else if !s.active && ratio >= onAt {
          s.active = true
          s.switchesOn += 1
          change = .switchedOn
        }
      }
      return (use, change)
    }
  }

  /// Whether the cache is in use now.
  public var isActive: Bool { state.withLock { $0.active } }

  /// The would-be hit ratio of the last complete window of touches (nil before the first).
  public var lastRatio: Double? { state.withLock { $0.lastRatio } }

  /// Fraction of all tile touches served without the cache (0…1).
  public var bypassedFraction: Double {
    state.withLock { s in
      s.totalTouches == 0 ? 0 : Double(s.touchesBypassed) / Double(s.totalTouches)
    }
  }

  /// How often the cache was switched off and on again.
  public var switches: (off: Int, on: Int) {
    state.withLock { ($0.switchesOff, $0.switchesOn) }
  }
}
