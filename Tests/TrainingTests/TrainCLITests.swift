import Foundation
import TandemTestSupport
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// The built `tandem` binary (`TANDEM_BIN` or `.build/debug/tandem`), via the shared runner.
let tandemBinary = TandemCLI.binary ?? ""
let haveBinary = TandemCLI.binary != nil

/// The bundled procedural world (4 tiles × 320², S1/S2 COGs and a STAC catalog).
let fixtureCatalog = TandemCLI.packageRoot
  .appendingPathComponent("Catalogs/fixture-world/catalog.json").path

/// A short tandem-tiny run on the fixture world.
func fixtureRun(_ out: String, steps: Int) -> [String] {
  [
    "train", "--catalog", fixtureCatalog, "--model", "tiny", "--size", "64", "--batch", "8",
    "--steps", String(steps), "--warmup", "2", "--blas-threads", "1", "--seed", "5", "--out", out,
    "--quiet",
  ]
}

/// Sends SIGINT once `RUN/metrics.jsonl` has `lines` lines; returns the finished process result.
func interrupt(_ running: TandemProcess, run: String, afterSteps lines: Int) -> CLIResult {
  let deadline = Date().addingTimeInterval(60)
  while Date() < deadline && running.process.isRunning {
    let n =
      (try? String(contentsOfFile: run + "/metrics.jsonl", encoding: .utf8))?
      .split(separator: "\n").count ?? 0
    if n >= lines { break }
    usleep(20_000)
  }
  kill(running.process.processIdentifier, SIGINT)
  return running.wait()
}

struct CLIResult {
  var status: Int32
  var stdout: String
  var stderr: String
}

/// Starts `tandem` with `arguments`; output goes to temporary files (no pipe can fill up).
final class TandemProcess {
  let process = Process()
  let outPath = temporaryRun("stdout")
  let errPath = temporaryRun("stderr")

  init(_ arguments: [String]) throws {
    FileManager.default.createFile(atPath: outPath, contents: nil)
    FileManager.default.createFile(atPath: errPath, contents: nil)
    process.executableURL = URL(fileURLWithPath: tandemBinary)
    process.arguments = arguments
    process.standardOutput = FileHandle(forWritingAtPath: outPath)
    process.standardError = FileHandle(forWritingAtPath: errPath)
    try process.run()
  }

  func wait() -> CLIResult {
    process.waitUntilExit()
    defer {
      try? FileManager.default.removeItem(atPath: outPath)
      try? FileManager.default.removeItem(atPath: errPath)
    }
    return CLIResult(
      status: process.terminationStatus,
      stdout: (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? "",
      stderr: (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? "")
  }
}

func tandem(_ arguments: [String]) throws -> CLIResult {
  let r = try TandemCLI.run(arguments)
  return CLIResult(status: r.status, stdout: r.stdout, stderr: r.stderr)
}

/// Small, fast options for CLI runs on the synthetic source.
func quickRun(_ out: String, steps: Int = 6) -> [String] {
  [
    "train", "--catalog", "synthetic:4", "--model", "tiny", "--size", "16", "--batch", "4",
    "--steps", String(steps), "--warmup", "2", "--blas-threads", "1", "--seed", "3", "--out", out,
    "--quiet",
  ]
}

@Suite(.enabled(if: haveBinary), .serialized, .timeLimit(.minutes(3)))
struct TrainCLITests {
  @Test(arguments: [
    ["train", "--catalog", "synthetic:4", "--bogus"],
    ["train", "--catalog", "synthetic:4", "--mode", "byol"],
    ["train", "--catalog", "synthetic:4", "--batch", "1"],
    ["train", "--catalog", "synthetic:4", "--size", "abc"],
    ["train", "--catalog", "synthetic:4", "--steps", "5", "--epochs", "2"],
    ["train", "--steps", "5"],
    ["train", "--catalog", "synthetic:zero"],
    ["train", "--catalog", "synthetic:4", "--pairing", "random"],
    ["train", "--catalog", "synthetic:4", "--mode", "simclr", "--pairing", "shuffled"],
    ["train", "--catalog", "synthetic:4", "--pairing", "shuffled", "--in-memory", "8"],
  ])
  func usageErrorsExit64(arguments: [String]) throws {
    let r = try tandem(arguments)
    #expect(r.status == 64, "\(arguments): \(r.stderr)")
    #expect(r.stderr.contains("error:"))
    #expect(r.stderr.contains("Usage: tandem train"))
  }

  @Test func missingCatalogExits1AndNamesIt() throws {
    let missing = "/nonexistent/tandem-\(getpid())/catalog.json"
    let r = try tandem(["train", "--catalog", missing, "--out", temporaryRun("missing")])
    #expect(r.status == 1)
    #expect(r.stderr.contains(missing))
  }

  @Test func shortRunWritesTheRunDirectory() throws {
    let out = temporaryRun("cli")
    defer { try? FileManager.default.removeItem(atPath: out) }
    let r = try tandem(quickRun(out) + ["--json"])
    #expect(r.status == 0, "\(r.stderr)")
    let summary =
      try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any] ?? [:]
    #expect(summary["status"] as? String == "completed")
    #expect(summary["steps"] as? Int == 6)
    for file in ["config.json", "metrics.jsonl", "latest", "summary.json", "step-6/state.json"] {
      #expect(FileManager.default.fileExists(atPath: out + "/" + file), "missing \(file)")
    }
    // The saved config reproduces the run.
    let again = temporaryRun("cli-again")
    defer { try? FileManager.default.removeItem(atPath: again) }
    let r2 = try tandem([
      "train", "--config", out + "/config.json", "--out", again, "--quiet",
    ])
    #expect(r2.status == 0, "\(r2.stderr)")
    #expect(
      FileManager.default.contents(atPath: out + "/step-6/model.safetensors")
        == FileManager.default.contents(atPath: again + "/step-6/model.safetensors"))
  }

  @Test func plainProgressLinesWhenNotATerminal() throws {
    let out = temporaryRun("plain")
    defer { try? FileManager.default.removeItem(atPath: out) }
    let r = try tandem(quickRun(out).filter { $0 != "--quiet" })
    #expect(r.status == 0, "\(r.stderr)")
    #expect(r.stderr.contains("step 1/6"))
    #expect(r.stderr.contains("pairs/s"))
    #expect(!r.stderr.contains("\u{1B}["), "no terminal escapes in a pipe")
  }

  @Test func sigtermAlsoCheckpointsAndExits130() throws {
    let out = temporaryRun("sigterm")
    defer { try? FileManager.default.removeItem(atPath: out) }
    let running = try TandemProcess(quickRun(out, steps: 400))
    let deadline = Date().addingTimeInterval(60)
    while Date() < deadline && running.process.isRunning
      && !FileManager.default.fileExists(atPath: out + "/metrics.jsonl")
    {
      usleep(20_000)
    }
    usleep(100_000)
    kill(running.process.processIdentifier, SIGTERM)
    let r = running.wait()
    #expect(r.status == 130, "\(r.stderr)")
    let summary = try String(contentsOfFile: out + "/summary.json", encoding: .utf8)
    #expect(summary.contains("\"interrupted\""))
    #expect(FileManager.default.fileExists(atPath: out + "/latest"))
  }

  @Test func resumeWithADifferentConfigIsRefused() throws {
    let out = temporaryRun("cli-mismatch")
    defer { try? FileManager.default.removeItem(atPath: out) }
    #expect(try tandem(quickRun(out, steps: 3)).status == 0)
    let r = try tandem(["train", "--resume", out, "--lr", "0.5", "--quiet"])
    #expect(r.status == 1)
    #expect(r.stderr.contains("learningRate"))
    #expect(r.stderr.contains(out))
  }

  @Test func sigintCheckpointsAndResumeReachesTheUninterruptedWeights() throws {
    let steps = 60
    let whole = temporaryRun("cli-whole")
    let split = temporaryRun("cli-split")
    defer { for d in [whole, split] { try? FileManager.default.removeItem(atPath: d) } }
    #expect(try tandem(quickRun(whole, steps: steps)).status == 0)

    let running = try TandemProcess(quickRun(split, steps: steps))
    let r = interrupt(running, run: split, afterSteps: 3)
    #expect(r.status == 130, "\(r.stderr)")
    #expect(r.stderr.contains("tandem train --resume \(split)"))
    let latest = try String(contentsOfFile: split + "/latest", encoding: .utf8)
    let stoppedAt = Int(latest.trimmingCharacters(in: .whitespacesAndNewlines).dropFirst(5)) ?? 0
    #expect(stoppedAt >= 3 && stoppedAt < steps, "stopped at \(stoppedAt)")

    let resumed = try tandem(["train", "--resume", split, "--quiet"])
    #expect(resumed.status == 0, "\(resumed.stderr)")
    let a = FileManager.default.contents(atPath: whole + "/step-\(steps)/model.safetensors")
    let b = FileManager.default.contents(atPath: split + "/step-\(steps)/model.safetensors")
    #expect(a != nil && a == b)
  }

  // MARK: - On the bundled fixture world (COGs through the streaming pipeline)

  @Test func trainsAFewStepsOnTheFixtureWorld() throws {
    let out = temporaryRun("fixture")
    defer { try? FileManager.default.removeItem(atPath: out) }
    let r = try tandem(fixtureRun(out, steps: 4) + ["--json"])
    #expect(r.status == 0, "\(r.stderr)")
    let summary =
      try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any] ?? [:]
    #expect(summary["status"] as? String == "completed")
    #expect(summary["steps"] as? Int == 4)
    let pipeline = summary["pipeline"] as? [String: Any] ?? [:]
    #expect((pipeline["samplesDelivered"] as? Int ?? 0) >= 32)
    #expect(FileManager.default.fileExists(atPath: out + "/normalization.json"))
    #expect(FileManager.default.fileExists(atPath: out + "/step-4/model.safetensors"))
  }

  /// The shuffled-pair control on the fixture world: recorded in config.json, announced, and
  /// its same-place count reported when the pretrain tiles (two places) cannot always be mixed.
  @Test func shuffledPairingControlRunsOnTheFixtureWorld() throws {
    let out = temporaryRun("shuffled")
    defer { try? FileManager.default.removeItem(atPath: out) }
    let args = fixtureRun(out, steps: 3).filter { $0 != "--quiet" }
    let r = try tandem(args + ["--pairing", "shuffled", "--where", "tandem:role=pretrain"])
    #expect(r.status == 0, "\(r.stderr)")
    #expect(r.stderr.contains("pairing: shuffled (negative control)"))
    #expect(r.stderr.contains("shuffled positives stayed within their place"))
    let data = try Data(contentsOf: URL(fileURLWithPath: out + "/config.json"))
    let config = try JSONSerialization.jsonObject(with: data) as? [String: Any] ?? [:]
    #expect(config["pairing"] as? String == "shuffled")
    let summary =
      try JSONSerialization.jsonObject(
        with: Data(contentsOf: URL(fileURLWithPath: out + "/summary.json"))) as? [String: Any]
      ?? [:]
    let same = summary["samePlacePositives"] as? Int ?? -1
    #expect(summary["shuffledPositives"] as? Int == 24 && same > 0 && same < 24)
  }

  @Test func fixtureWorldSigintThenResumeMatchesAnUninterruptedRun() throws {
    let steps = 12
    let whole = temporaryRun("fixture-whole")
    let split = temporaryRun("fixture-split")
    defer { for d in [whole, split] { try? FileManager.default.removeItem(atPath: d) } }
    let w = try tandem(fixtureRun(whole, steps: steps))
    #expect(w.status == 0, "\(w.stderr)")
    let r = interrupt(try TandemProcess(fixtureRun(split, steps: steps)), run: split, afterSteps: 3)
    #expect(r.status == 130, "\(r.stderr)")
    #expect(r.stderr.contains("tandem train --resume \(split)"))
    let resumed = try tandem(["train", "--resume", split, "--quiet"])
    #expect(resumed.status == 0, "\(resumed.stderr)")
    let a = FileManager.default.contents(atPath: whole + "/step-\(steps)/model.safetensors")
    let b = FileManager.default.contents(atPath: split + "/step-\(steps)/model.safetensors")
    #expect(a != nil && a == b)
  }

  @Test func catalogWithoutValidPairsSaysWhy() throws {
    let out = temporaryRun("nopairs")
    defer { try? FileManager.default.removeItem(atPath: out) }
    let r = try tandem(fixtureRun(out, steps: 2) + ["--max-days", "0.01", "--max-cloud", "10"])
    #expect(r.status == 1)
    #expect(r.stderr.contains(fixtureCatalog))
    #expect(r.stderr.contains("no usable S1/S2 pairs"))
    #expect(r.stderr.contains("eo:cloud_cover above the maximum"))
    #expect(r.stderr.contains("--max-days 0.01"))
  }

  @Test func windowLargerThanEveryPairIsExplained() throws {
    let out = temporaryRun("toolarge")
    defer { try? FileManager.default.removeItem(atPath: out) }
    let r = try tandem(fixtureRun(out, steps: 2).map { $0 == "64" ? "512" : $0 })
    #expect(r.status == 1)
    #expect(r.stderr.contains("512×512"))
  }

  // MARK: - Over HTTP (loopback nginx from Scripts/test)

  @Test func unreachableCatalogURLExits1AndNamesIt() throws {
    let url = "http://127.0.0.1:1/catalog.json"
    let r = try tandem([
      "train", "--catalog", url, "--retries", "0", "--out", temporaryRun("unreachable"), "--quiet",
    ])
    #expect(r.status == 1)
    #expect(r.stderr.contains(url))
  }

  @Test(.enabled(if: ProcessInfo.processInfo.environment["TANDEM_TEST_HTTP"] != nil))
  func remoteCatalogThenOfflineFromTheWarmCacheGivesTheSameWeights() throws {
    let env = ProcessInfo.processInfo.environment
    let url = env["TANDEM_TEST_HTTP"]! + "/train-world/catalog.json"
    let cache = temporaryRun("cache")
    let online = temporaryRun("online")
    let offline = temporaryRun("offline")
    defer { for d in [cache, online, offline] { try? FileManager.default.removeItem(atPath: d) } }
    func args(_ out: String) -> [String] {
      fixtureRun(out, steps: 3).map { $0 == fixtureCatalog ? url : $0 } + ["--cache", cache]
    }
    func served() -> Int {
      guard let log = env["TANDEM_TEST_NGINX_LOG"],
        let text = try? String(contentsOfFile: log, encoding: .utf8)
      else { return 0 }
      return text.split(separator: "\n").filter { $0.contains("/train-world/") }.count
    }
    let r1 = try tandem(args(online))
    #expect(r1.status == 0, "\(r1.stderr)")
    let before = served()
    if env["TANDEM_TEST_NGINX_LOG"] != nil { #expect(before > 0, "the online run was not served") }
    let r2 = try tandem(args(offline) + ["--offline", "--json"])
    #expect(r2.status == 0, "\(r2.stderr)")
    #expect(served() == before, "the offline run made HTTP requests")
    let summary =
      try JSONSerialization.jsonObject(with: Data(r2.stdout.utf8)) as? [String: Any] ?? [:]
    #expect((summary["io"] as? [String: Any])?["requests"] as? Int == 0)
    let a = FileManager.default.contents(atPath: online + "/step-3/model.safetensors")
    let b = FileManager.default.contents(atPath: offline + "/step-3/model.safetensors")
    #expect(a != nil && a == b)
  }
}
