import Foundation
import TandemTestSupport
import Testing

/// `tandem read` and `tandem info` over loopback HTTP with the tile cache: a warm repeat makes no
/// request (counted at the server) and an offline miss exits 1 naming the missing object.
@Suite(.serialized, .enabled(if: TandemCLI.binary != nil), .timeLimit(.minutes(1)))
struct ReadInfoCacheTests {
  /// A small COG written by `tandem fixtures` (deterministic), its bytes served by `TestHTTPServer`.
  static func makeCOG(in dir: String) throws -> [UInt8] {
    let world = dir + "/world"
    let made = try TandemCLI.run([
      "fixtures", "--out", world, "--tiles", "1", "--size", "64", "--dates", "1", "--quiet",
    ])
    try #require(made.status == 0, "\(made.stderr)")
    let files = FileManager.default.enumerator(atPath: world)?.compactMap { $0 as? String } ?? []
    // 64 × 64 uint16, one 256² tile and one 32 × 32 overview.
    let tif = try #require(files.filter { $0.hasSuffix("/B04.tif") }.sorted().first)
    return Array(try #require(FileManager.default.contents(atPath: world + "/" + tif)))
  }

  /// `last_run` of `tandem cache stats --json`.
  func lastRun(_ cache: [String]) throws -> (hits: Int, misses: Int, hitRate: Double) {
    let stats = try TandemCLI.run(["cache", "stats", "--json"] + cache)
    try #require(stats.status == 0, "\(stats.stderr)")
    let object = try JSONSerialization.jsonObject(with: Data(stats.stdout.utf8)) as? [String: Any]
    let last = try #require(object?["last_run"] as? [String: Any], "\(stats.stdout)")
    return (
      try #require(last["hits"] as? Int), try #require(last["misses"] as? Int),
      try #require(last["hit_rate"] as? Double)
    )
  }

  @Test func warmRepeatMakesNoRequestAndOfflineMissListsTheURL() throws {
    let dir = NSTemporaryDirectory() + "tandem-readinfo-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let cog = try Self.makeCOG(in: dir)
    let server = try TestHTTPServer(maxRequests: 200) { serveRange(cog, $0) }
    defer { server.stop() }
    let url = server.url("/scene.tif")
    let cache = ["--cache", dir + "/cache"]
    func requests() -> Int { server.requests.load(ordering: .relaxed) }

    // read: cold fetches, the warm repeat is served from the cache with identical output.
    // A first header read smaller than the file (9.6 KB), so tiles are separate requests.
    let small = ["--header-size", "512"]
    let read = ["read", url, "--window", "0,0,32,32", "--stats"] + small + cache
    let cold = try TandemCLI.run(read + ["--out", dir + "/cold.npy"])
    #expect(cold.status == 0, "\(cold.stderr)")
    let afterCold = requests()
    #expect(afterCold > 0)
    let coldRun = try lastRun(cache)
    #expect(coldRun.misses > 0)
    let warm = try TandemCLI.run(read + ["--out", dir + "/warm.npy"])
    #expect(warm.status == 0, "\(warm.stderr)")
    #expect(requests() == afterCold)
    #expect(warm.stdout.hasPrefix("requests: 0 "), "\(warm.stdout)")
    // `cache stats` reports the last run's lookups: the warm read hit every range.
    let warmRun = try lastRun(cache)
    #expect(warmRun.misses == 0 && warmRun.hits == coldRun.hits + coldRun.misses)
    #expect(warmRun.hitRate == 1)
    let coldArray = FileManager.default.contents(atPath: dir + "/cold.npy")
    #expect(
      coldArray != nil && coldArray == FileManager.default.contents(atPath: dir + "/warm.npy"))

    // Offline misses: exit 1, the URL is listed, nothing reaches the server.
    let other = server.url("/other.tif")
    for arguments in [
      // Header cached, the overview's tile not.
      [
        "read", url, "--overview", "1", "--window", "0,0,8,8", "--out", dir + "/miss.npy",
        "--offline",
      ]
        + small,
      ["read", other, "--window", "0,0,8,8", "--out", dir + "/miss.npy", "--offline"],
      ["info", other, "--offline"],
    ] {
      let missed = try TandemCLI.run(arguments + cache)
      #expect(missed.status == 1, "\(arguments)")
      let missing = arguments[1]
      #expect(missed.stderr.contains("missing from cache: \(missing)"), "\(missed.stderr)")
      #expect(missed.stderr.contains("error: "))
    }
    #expect(requests() == afterCold)
    #expect(!FileManager.default.fileExists(atPath: dir + "/miss.npy"))

    // info: cold then warm; the warm run makes no request and reports the same layout.
    let info = ["info", url, "--json"] + cache
    let infoCold = try TandemCLI.run(info)
    #expect(infoCold.status == 0, "\(infoCold.stderr)")
    let afterInfo = requests()
    let infoWarm = try TandemCLI.run(info + ["--offline"])
    #expect(infoWarm.status == 0, "\(infoWarm.stderr)")
    #expect(infoWarm.stdout == infoCold.stdout)
    #expect(infoWarm.stdout.contains("\"width\":64"))
    #expect(requests() == afterInfo)
  }
}
