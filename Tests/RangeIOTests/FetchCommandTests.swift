import Foundation
import TandemTestSupport
import Testing

@testable import RangeIO

/// The built `tandem` binary: `TANDEM_BIN`, else `.build/debug/tandem` under the package root.
private let tandemBinary: String = {
  if let bin = ProcessInfo.processInfo.environment["TANDEM_BIN"] { return bin }
  var root = URL(fileURLWithPath: #filePath)
  for _ in 0..<3 { root.deleteLastPathComponent() }
  return root.path + "/.build/debug/tandem"
}()

/// Runs the binary to completion (posix_spawn + waitpid); returns status, stdout and stderr.
private func tandem(
  _ arguments: [String], in dir: String
) throws -> (
  status: Int32, stdout: String, stderr: String
) {
  let tag = UUID().uuidString
  let out = "\(dir)/\(tag).out"
  let err = "\(dir)/\(tag).err"
  var actions = posix_spawn_file_actions_t()
  posix_spawn_file_actions_init(&actions)
  defer { posix_spawn_file_actions_destroy(&actions) }
  posix_spawn_file_actions_addopen(&actions, 1, out, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
  posix_spawn_file_actions_addopen(&actions, 2, err, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
  let argv = ([tandemBinary] + arguments).map { strdup($0) } + [nil]
  defer { argv.forEach { free($0) } }
  var pid: pid_t = 0
  guard posix_spawn(&pid, tandemBinary, &actions, nil, argv, environ) == 0 else {
    throw RangeIOError(.io, location: tandemBinary, message: "cannot start")
  }
  var status: Int32 = 0
  while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
  let stdout = (try? String(contentsOfFile: out, encoding: .utf8)) ?? ""
  let stderr = (try? String(contentsOfFile: err, encoding: .utf8)) ?? ""
  return ((status >> 8) & 0xFF, stdout, stderr)
}

@Suite(
  .serialized, .enabled(if: FileManager.default.isExecutableFile(atPath: tandemBinary)),
  .timeLimit(.minutes(1)))
struct FetchCommandTests {
  @Test func coldWarmOfflineAndTwoProcessesSharingACache() async throws {
    let blob = testBlob(3_000_000, seed: 9)
    let server = try TestHTTPServer { serveRange(blob, $0) }
    defer { server.stop() }
    let dir = NSTemporaryDirectory() + "tandem-fetch-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let url = server.url("/scene.tif")
    let common = [
      "fetch", url, "--windows", "20", "--length", "4KiB", "--seed", "3", "--cache", dir + "/cache",
      "--json",
    ]

    let cold = try tandem(common + ["--out", dir + "/cold.bin"], in: dir)
    #expect(cold.status == 0, "\(cold.stderr)")
    let coldRequests = server.requests.load(ordering: .relaxed)
    #expect(coldRequests > 0)
    #expect(cold.stdout.contains("\"requests\":\(coldRequests)"))

    let warm = try tandem(common + ["--out", dir + "/warm.bin"], in: dir)
    #expect(warm.status == 0)
    #expect(server.requests.load(ordering: .relaxed) == coldRequests)
    #expect(warm.stdout.contains("\"requests\":0"))
    #expect(warm.stdout.contains("\"cache_hits\":80"))
    let coldBytes = try #require(FileManager.default.contents(atPath: dir + "/cold.bin"))
    #expect(coldBytes.count == 80 * 4096)
    #expect(FileManager.default.contents(atPath: dir + "/warm.bin") == coldBytes)

    // Offline with windows that are not cached: exit 1, the object and ranges are named.
    let offline = try tandem(
      ["fetch", url, "--windows", "5", "--seed", "99", "--cache", dir + "/cache", "--offline"],
      in: dir)
    #expect(offline.status == 1)
    #expect(offline.stderr.contains("missing from cache: \(url)"))
    #expect(offline.stderr.contains("not in cache (offline)"))
    #expect(server.requests.load(ordering: .relaxed) == coldRequests)

    // Two processes started together on one fresh cache directory produce identical output.
    let shared = [
      "fetch", url, "--windows", "30", "--length", "4KiB", "--seed", "5", "--cache",
      dir + "/shared", "--cache-size", "128KiB",
    ]
    async let a = Task.detached { try tandem(shared + ["--out", dir + "/a.bin"], in: dir) }.value
    async let b = Task.detached { try tandem(shared + ["--out", dir + "/b.bin"], in: dir) }.value
    let (ra, rb) = try await (a, b)
    #expect(ra.status == 0 && rb.status == 0, "\(ra.stderr) \(rb.stderr)")
    let aBytes = FileManager.default.contents(atPath: dir + "/a.bin")
    #expect(aBytes != nil && aBytes == FileManager.default.contents(atPath: dir + "/b.bin"))
    let verify = try tandem(["cache", "verify", "--cache", dir + "/shared", "--json"], in: dir)
    #expect(verify.status == 0)
    #expect(verify.stdout.contains("\"corrupt\":0"))
  }

  @Test func badOptionsAreUsageErrors() throws {
    let dir = NSTemporaryDirectory()
    for arguments in [
      ["fetch", "/dev/null", "--concurrency", "0", "--range", "0:1"],
      ["fetch", "/dev/null", "--http1", "--h2c", "--range", "0:1"],
      ["fetch", "/dev/null", "--header", "no colon here", "--range", "0:1"],
      ["fetch", "/dev/null", "--cache-size", "lots", "--range", "0:1"],
    ] {
      let result = try tandem(arguments, in: dir)
      #expect(result.status == 64, "\(arguments)")
    }
  }
}
