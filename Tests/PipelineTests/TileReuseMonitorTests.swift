import Foundation
import GeoTIFF
import Pairing
import RangeIO
import TandemBase
import Testing

@testable import Pipeline

/// The decoded-tile cache is bypassed while an LRU of its size would rarely hit, and used again
/// when reuse comes back; the pixels do not depend on it.
@Suite(.timeLimit(.minutes(2))) struct TileReuseMonitorTests {
  /// Tiles of 1 000 bytes in a cache of 10 000 bytes: it holds 10.
  func monitor(window: Int = 100) -> TileReuseMonitor<Int> {
    TileReuseMonitor(capacityBytes: 10_000, window: window, offBelow: 0.10, onAt: 0.15)
  }

  @Test func tilesReadOnceSwitchTheCacheOff() {
    let m = monitor()
    var changes: [TileReuseMonitor<Int>.Change] = []
    for key in 0..<99 { changes.append(m.touch([key], cost: 1000).change) }
    #expect(m.isActive && m.lastRatio == nil && changes.allSatisfy { $0 == .none })
    // The 100th touch completes the window: no would-be hit at all.
    let last = m.touch([99], cost: 1000)
    #expect(last.useCache && last.change == .switchedOff)
    #expect(!m.isActive && m.lastRatio == 0)
    #expect(!m.touch([100], cost: 1000).useCache)
    #expect(m.switches == (off: 1, on: 0))
    #expect(abs(m.bypassedFraction - 1.0 / 101) < 1e-12)
  }

  @Test func reuseWithinTheCapacityKeepsItOn() {
    let m = monitor()
    // Windows cycling over 8 tiles (fit in 10): all but the first 8 reads would hit.
    for i in 0..<1000 { #expect(m.touch([i % 8], cost: 1000).useCache) }
    #expect(m.isActive && m.switches == (off: 0, on: 0))
    #expect(m.lastRatio == 1)
  }

  /// The ghost is an LRU of the cache's byte size, so it predicts what the cache would do: a
  /// cycle over 11 tiles thrashes a 10-tile LRU (0 hits) though every tile is read again.
  @Test func reuseBeyondTheCapacityDoesNotCount() {
    let m = monitor()
    for i in 0..<300 { _ = m.touch([i % 11], cost: 1000) }
    #expect(!m.isActive && m.lastRatio == 0)
    // The same cycle with tiles a third the size fits: reuse is back, the cache with it.
    for i in 0..<200 { _ = m.touch([i % 11], cost: 300) }
    #expect(m.isActive && m.switches == (off: 1, on: 1))
  }

  @Test func hysteresisHoldsBetweenTheThresholds() {
    let m = monitor()
    // 12 % would-be hits: above the 10 % to stay on, below the 15 % to come back on.
    func window(hits: Int, fresh: inout Int) {
      for i in 0..<100 {
        if i < hits {
          _ = m.touch([-1], cost: 1000)  // one hot tile, always in the LRU
        } else {
          fresh += 1
          _ = m.touch([fresh], cost: 1000)
        }
      }
    }
    var fresh = 0
    _ = m.touch([-1], cost: 1000)
    window(hits: 12, fresh: &fresh)
    #expect(m.isActive)
    window(hits: 5, fresh: &fresh)
    #expect(!m.isActive)
    window(hits: 12, fresh: &fresh)
    #expect(!m.isActive)
    window(hits: 20, fresh: &fresh)
    #expect(m.isActive && m.switches == (off: 1, on: 1))
  }

  @Test func aWindowOfSeveralTilesCountsEachTile() {
    let m = monitor(window: 10)
    let first = m.touch([1, 2, 3, 4], cost: 1000)
    #expect(first.useCache && first.change == .none)
    let second = m.touch([1, 2, 3, 4, 5, 6], cost: 1000)  // 4 of 10 would hit
    #expect(second.change == .none && m.lastRatio == 0.4)
  }

  /// The loader on the fixture world with a policy that switches the cache off after the first
  /// 8 tile reads: the cache is emptied, later windows take the direct path, and every sample
  /// equals the always-cached loader's bit for bit.
  @Test func bypassedLoaderGivesTheCachedPixels() async throws {
    let d = try await fixtureWorldDataset()
    let norm = Normalization.identity(s1ChannelsForTest: 2, s2Channels: 4)
    func loader(_ policy: DecodedCachePolicy) -> PairLoader {
      PairLoader(
        dataset: d, windowSize: 64, normalization: norm,
        filter: WindowFilter(maxNodata: 1, maxCloud: 1), sourceOptions: SourceOptions(),
        workers: 1, memoryCacheBytes: 0, decodedCacheBytes: 1 << 30, decodedCachePolicy: policy)
    }
    let always = loader(.always)
    let adaptive = loader(.adaptive(window: 8, offBelow: 1.01, onAt: 2))
    #expect(always.tileReuse == nil)
    for region in d.regions.indices {
      for (x, y) in [(0, 0), (200, 200), (37, 250)] {
        let sample = WindowSample(region: region, x: x, y: y, size: 64)
        let a = try await always.load(sample)
        let b = try await adaptive.load(sample)
        #expect(a.0 == b.0 && a.1 == b.1 && a.2 == b.2, "region \(region) at \(x),\(y)")
      }
    }
    let monitor = try #require(adaptive.tileReuse)
    #expect(!monitor.isActive && monitor.switches == (off: 1, on: 0))
    #expect(monitor.bypassedFraction > 0.9)
    #expect(adaptive.tileCache.count == 0)
    #expect(always.tileCache.count > 0)
  }
}
