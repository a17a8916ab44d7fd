import Foundation
import TandemTestSupport
import Testing
import TileCache

@testable import RangeIO

@Suite(.timeLimit(.minutes(1))) struct CachedHTTPTests {
  @Test func warmCacheRepeatMakesZeroRequests() async throws {
    let blob = testBlob(200_000, seed: 3)
    let server = try TestHTTPServer { serveRange(blob, $0) }
    defer { server.stop() }
    let dir = NSTemporaryDirectory() + "tandem-http-cache-\(UUID().uuidString)"
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let sequence: [[ByteRange]] = [
      [ByteRange(offset: 0, length: 16384)],
      [ByteRange(offset: 50_000, length: 3000), ByteRange(offset: 54_000, length: 3000)],
      [ByteRange(offset: 150_000, length: 20_000)],
    ]
    func run(offline: Bool) async throws -> ([[[UInt8]]], IOStatsSnapshot) {
      let cache = try TileCache(directory: dir, capacity: 1 << 24, offline: offline)
      let options = SourceOptions(http: fastOptions(), cache: cache)
      let source = try ByteSources.open(
        server.url("/data.tif?X-Amz-Signature=s1"), options: options)
      var out: [[[UInt8]]] = []
      for ranges in sequence { out.append(try await source.read(ranges)) }
      return (out, options.stats.snapshot)
    }
    let truth = sequence.map { $0.map { Array(blob[Int($0.offset)..<Int($0.end)]) } }
    let (cold, coldStats) = try await run(offline: false)
    #expect(cold == truth)
    let afterCold = server.requests.load(ordering: .relaxed)
    #expect(afterCold == coldStats.requests)
    #expect(afterCold >= 3)
    let (warm, warmStats) = try await run(offline: false)
    #expect(warm == truth)
    #expect(server.requests.load(ordering: .relaxed) == afterCold)
    #expect(warmStats.requests == 0)
    #expect(warmStats.cacheHits == 4)
    let (offline, _) = try await run(offline: true)
    #expect(offline == truth)
    #expect(server.requests.load(ordering: .relaxed) == afterCold)
  }
}
