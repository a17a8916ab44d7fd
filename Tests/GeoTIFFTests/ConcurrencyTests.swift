import Dispatch
import GeoTIFF
import RangeIO
import Synchronization
import TandemBase
import Testing

/// One dataset shared by many tasks and decoder threads gives the same rasters as sequential reads.
@Suite("Concurrent reads", .timeLimit(.minutes(1)))
struct ConcurrencyTests {
  static func windows(count: Int, seed: UInt64) -> [(PixelWindow, Int)] {
    var rng = SeededGenerator(seed: seed)
    return (0..<count).map { _ in
      let overview = Int(rng.next() % 3)
      let size = 1024 >> overview
      let x = Int(rng.next() % UInt64(size + 64)) - 32
      let y = Int(rng.next() % UInt64(size + 64)) - 32
      return (
        PixelWindow(
          x: x, y: y, width: 1 + Int(rng.next() % 300), height: 1 + Int(rng.next() % 300)), overview
      )
    }
  }

  @Test func taskGroupReadsEqualSequentialReads() async throws {
    let ds = try await Support.open(Support.fixture("pin/pin_cog.tif"))
    let jobs = Self.windows(count: 120, seed: 3)
    var sequential: [Raster] = []
    for (w, o) in jobs { sequential.append(try await ds.read(window: w, overview: o)) }
    let concurrent = try await withThrowingTaskGroup(of: (Int, Raster).self) { group in
      for (i, (w, o)) in jobs.enumerated() {
        group.addTask {
          let raster = try await ds.read(window: w, overview: o)
          return (i, raster)
        }
      }
      var out = [Raster?](repeating: nil, count: jobs.count)
      for try await (i, r) in group { out[i] = r }
      return out.compactMap { $0 }
    }
    #expect(concurrent == sequential)
  }

  @Test func decodersOnSeparateThreads() async throws {
    let ds = try await Support.open(Support.fixture("pin/pin_cog.tif"))
    let jobs = Self.windows(count: 60, seed: 4)
    var plans: [WindowPlan] = []
    var fetched: [FetchedBlocks] = []
    var expected: [Raster] = []
    for (w, o) in jobs {
      let p = try await ds.plan(window: w, overview: o)
      plans.append(p)
      fetched.append(try await ds.fetch(p))
      expected.append(try await ds.read(p))
    }
    let p = plans
    let f = fetched
    let results = Mutex<[Int: Raster]>([:])
    // Four threads, each with its own decoder, decoding every plan.
    DispatchQueue.concurrentPerform(iterations: 4) { t in
      let decoder = TileDecoder(maxHandles: 2)
      for i in stride(from: t, to: p.count, by: 4) {
        if let r = try? ds.decode(p[i], f[i], using: decoder) {
          results.withLock { $0[i] = r }
        }
      }
    }
    let got = results.withLock { $0 }
    #expect(got.count == jobs.count)
    for i in 0..<jobs.count { #expect(got[i] == expected[i]) }
  }
}
