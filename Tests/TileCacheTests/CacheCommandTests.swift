import Foundation
import RangeIO
import TandemTestSupport
import Testing

@testable import TileCache

private func runTandem(_ arguments: [String]) throws -> (status: Int32, stdout: String) {
  let r = try TandemCLI.run(arguments)
  return (r.status, r.stdout)
}

@Suite(.enabled(if: TandemCLI.binary != nil))
struct CacheCommandTests {
  @Test func statsVerifyClear() async throws {
    let dir = temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let cache = try TileCache(directory: dir, capacity: 1 << 20)
    let origin = CountingSource(bytes: bytes(20_000, seed: 11))
    let ranges = (0..<5).map { ByteRange(offset: UInt64($0 * 4000), length: 1000) }
    _ = try await cache.wrap(origin, stats: IOStats()).read(ranges)

    let stats = try runTandem(["cache", "stats", "--cache", dir, "--json"])
    #expect(stats.status == 0)
    let object = try JSONSerialization.jsonObject(with: Data(stats.stdout.utf8)) as? [String: Any]
    #expect(object?["entries"] as? Int == 5)
    #expect(object?["objects"] as? Int == 1)
    #expect((object?["bytes"] as? Int ?? 0) > 5000)

    let clean = try runTandem(["cache", "verify", "--cache", dir, "--json"])
    #expect(clean.status == 0)
    #expect(clean.stdout.contains("\"corrupt\":0"))

    // Damage one entry: verify reports it, deletes it, exits 1.
    let key = TileCache.key(
      location: origin.location, version: try await origin.version(), range: ranges[2])
    let hex = SHA256.hex(key)
    let path = "\(dir)/v1/entries/\(hex.prefix(2))/\(hex)"
    var file = try #require(FileManager.default.contents(atPath: path))
    file[file.count / 2] ^= 0x55
    try file.write(to: URL(fileURLWithPath: path))
    let damaged = try runTandem(["cache", "verify", "--cache", dir, "--json"])
    #expect(damaged.status == 1)
    #expect(damaged.stdout.contains("\"checked\":5,\"corrupt\":1"))
    #expect(cache.statistics().entries == 4)

    #expect(try runTandem(["cache", "clear", "--cache", dir]).status == 0)
    #expect(cache.statistics().entries == 0)
  }
}
