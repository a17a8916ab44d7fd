import Foundation
import NN
import TandemTestSupport
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// `mpirun` on PATH (Debian `openmpi-bin`; `Scripts/bootstrap --test` installs it).
let mpirunPath: String? = {
  let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
  for dir in path.split(separator: ":") + ["/usr/bin"] {
    let candidate = "\(dir)/mpirun"
    if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
  }
  return nil
}()
let canRunMPI = mpirunPath != nil && TandemCLI.binary != nil
/// `Scripts/test` runs this suite on its own after the parallel `swift test` (in
/// `Scripts/integration/check-distributed.sh`, with `TANDEM_MPI_TESTS=1`), so its two-process
/// jobs do not squeeze the other suites' hang guards on 2 cores; plain `swift test` runs it.
let mpiSuiteHere: Bool = {
  let env = ProcessInfo.processInfo.environment
  return env["TANDEM_TEST_WORK"] == nil || env["TANDEM_MPI_TESTS"] == "1"
}()

let fixtureCatalog = TandemCLI.packageRoot
  .appendingPathComponent("Catalogs/fixture-world/catalog.json").path

func temporaryDirectory(_ name: String) -> String {
  NSTemporaryDirectory() + "tandem-mpi-\(name)-\(getpid())-\(UUID().uuidString.prefix(8))"
}

struct RunResult {
  var status: Int32
  var stdout: String
  var stderr: String
  var seconds: Double
}

/// Runs `command` to completion with output in temporary files (no pipe can fill up).
func runProcess(
  _ executable: String, _ arguments: [String], environment: [String: String] = [:]
)
  throws -> RunResult
{
  let process = Process()
  let out = temporaryDirectory("stdout")
  let err = temporaryDirectory("stderr")
  FileManager.default.createFile(atPath: out, contents: nil)
  FileManager.default.createFile(atPath: err, contents: nil)
  defer {
    try? FileManager.default.removeItem(atPath: out)
    try? FileManager.default.removeItem(atPath: err)
  }
  process.executableURL = URL(fileURLWithPath: executable)
  process.arguments = arguments
  process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
  process.standardOutput = FileHandle(forWritingAtPath: out)
  process.standardError = FileHandle(forWritingAtPath: err)
  process.standardInput = FileHandle.nullDevice
  let t0 = Date()
  try process.run()
  process.waitUntilExit()
  return RunResult(
    status: process.terminationStatus,
    stdout: (try? String(contentsOfFile: out, encoding: .utf8)) ?? "",
    stderr: (try? String(contentsOfFile: err, encoding: .utf8)) ?? "",
    seconds: Date().timeIntervalSince(t0))
}

/// `mpirun -np N tandem …` on loopback only (shared memory between the ranks, ORTE's
/// out-of-band channel on `lo`), allowed as root, oversubscribing the 2-core machine, with
/// idle ranks yielding the core.
func mpirun(
  _ ranks: Int, _ arguments: [String], environment: [String: String] = [:]
) throws
  -> RunResult
{
  var mpiArguments = [
    "--allow-run-as-root", "--oversubscribe", "-np", String(ranks), "--mca", "btl", "self,vader",
    "--mca", "oob_tcp_if_include", "lo",
    // Waiting ranks yield the core instead of spinning: the other test suites share the cores.
    "--mca", "mpi_yield_when_idle", "1",
  ]
  for key in environment.keys.sorted() { mpiArguments += ["-x", key] }
  return try runProcess(
    mpirunPath!, mpiArguments + [TandemCLI.binary!] + arguments + ["--distributed", "mpi"],
    environment: environment)
}

func tandem(_ arguments: [String]) throws -> RunResult {
  try runProcess(TandemCLI.binary!, arguments)
}

/// tandem-tiny on 32 px windows of the bundled fixture world; `batch` is the global batch.
func fixtureRun(_ out: String, steps: Int, batch: Int = 32, extra: [String] = []) -> [String] {
  [
    "train", "--catalog", fixtureCatalog, "--model", "tiny", "--size", "32", "--batch",
    String(batch), "--steps", String(steps), "--warmup", "1", "--lr", "0.002", "--blas-threads",
    "1", "--decode-threads", "1", "--seed", "5", "--out", out, "--quiet",
  ] + extra
}

func metrics(_ run: String) throws -> [[String: Any]] {
  let text = try String(contentsOfFile: run + "/metrics.jsonl", encoding: .utf8)
  return try text.split(separator: "\n").map {
    try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] ?? [:]
  }
}

func losses(_ run: String) throws -> [Double] {
  try metrics(run).map { $0["loss"] as? Double ?? .nan }
}

/// All parameters of a checkpoint's model.safetensors, by name.
func weights(_ checkpoint: String) throws -> [String: [Float]] {
  let file = try SafeTensors.read(checkpoint + "/model.safetensors")
  var out: [String: [Float]] = [:]
  for name in file.names where !name.hasSuffix("num_batches_tracked") {
    out[name] = try file.tensors[name]!.floats(name: name)
  }
  return out
}

/// Largest |a − b| over all tensors (infinity when the names or shapes differ).
func maxDifference(_ a: [String: [Float]], _ b: [String: [Float]]) -> Float {
  guard Set(a.keys) == Set(b.keys) else { return .infinity }
  var worst: Float = 0
  for (name, x) in a {
    let y = b[name]!
    guard x.count == y.count else { return .infinity }
    for i in x.indices { worst = max(worst, abs(x[i] - y[i])) }
  }
  return worst
}

/// The single-process reference: 1 rank × batch 32 for 4 steps, checkpoints at steps 2 and 4
/// (shared by the suite).
let referenceRun: Result<String, any Error> = Result {
  let out = temporaryDirectory("reference")
  let r = try tandem(fixtureRun(out, steps: 4, extra: ["--checkpoint-every", "2"]))
  guard r.status == 0 else {
    throw NSError(
      domain: "reference", code: Int(r.status), userInfo: [NSLocalizedDescriptionKey: r.stderr])
  }
  return out
}

/// Float tolerance between a 2-rank run and the 1-rank run it must equal: the sums are
/// associated differently (per-rank partial sums, rank-major global batch), nothing else.
let weightTolerance: Float = 1e-4
let lossTolerance = 1e-4

@Suite(
  .enabled(if: canRunMPI, "mpirun not found (install openmpi-bin: Scripts/bootstrap --test)"),
  .enabled(
    if: mpiSuiteHere, "runs after the parallel tests: Scripts/integration/check-distributed.sh"),
  .serialized, .timeLimit(.minutes(5)))
struct MPITrainingTests {
  @Test func twoRanksWithGlobalNegativesAndSyncBNEqualOneProcess() throws {
    let reference = try referenceRun.get()
    let out = temporaryDirectory("gather")
    defer { try? FileManager.default.removeItem(atPath: out) }
    let r = try mpirun(2, fixtureRun(out, steps: 4, extra: ["--gather-negatives", "--sync-bn"]))
    #expect(r.status == 0, "\(r.stderr)")
    let (a, b) = (try losses(out), try losses(reference))
    #expect(a.count == 4 && b.count == 4)
    for (x, y) in zip(a, b) { #expect(abs(x - y) <= lossTolerance, "loss \(x) vs \(y)") }
    let m = try metrics(out)
    #expect(m.allSatisfy { $0["world_size"] as? Int == 2 })
    #expect(m.last?["samples_seen"] as? Int == 128)
    let (w2, w1) = (try weights(out + "/step-4"), try weights(reference + "/step-4"))
    let difference = maxDifference(w2, w1)
    #expect(difference <= weightTolerance, "max |Δw| = \(difference)")
    // Not vacuous: two steps move the trainable parameters (running statistics left out) by
    // far more than the tolerance.
    let trainable = { (w: [String: [Float]]) in w.filter { !$0.key.contains("running_") } }
    let moved = maxDifference(trainable(try weights(reference + "/step-2")), trainable(w1))
    #expect(moved > 10 * weightTolerance, "parameters moved only \(moved) in two steps")
  }

  @Test func simclrTwoRanksWithGlobalNegativesEqualOneProcess() throws {
    // Views are keyed by the sample's index in the global batch, so the ranks draw the
    // augmentations one process would.
    let simclr = ["--mode", "simclr", "--modality", "s2", "--gather-negatives", "--sync-bn"]
    let (one, two) = (temporaryDirectory("simclr1"), temporaryDirectory("simclr2"))
    defer {
      try? FileManager.default.removeItem(atPath: one)
      try? FileManager.default.removeItem(atPath: two)
    }
    let r1 = try tandem(fixtureRun(one, steps: 2, extra: simclr))
    #expect(r1.status == 0, "\(r1.stderr)")
    let r2 = try mpirun(2, fixtureRun(two, steps: 2, extra: simclr))
    #expect(r2.status == 0, "\(r2.stderr)")
    let (a, b) = (try losses(two), try losses(one))
    #expect(a.count == 2 && b.count == 2)
    for (x, y) in zip(a, b) { #expect(abs(x - y) <= lossTolerance, "loss \(x) vs \(y)") }
    let difference = maxDifference(try weights(two + "/step-2"), try weights(one + "/step-2"))
    #expect(difference <= weightTolerance, "max |Δw| = \(difference)")
  }

  @Test func withoutGatherTheGradientIsTheAverageOfTheRanks() throws {
    let out = temporaryDirectory("average")
    let dump = temporaryDirectory("gradients")
    try FileManager.default.createDirectory(atPath: dump, withIntermediateDirectories: true)
    defer {
      try? FileManager.default.removeItem(atPath: out)
      try? FileManager.default.removeItem(atPath: dump)
    }
    let r = try mpirun(
      2, fixtureRun(out, steps: 2), environment: ["TANDEM_DEBUG_GRADIENTS": dump])
    #expect(r.status == 0, "\(r.stderr)")
    func read(_ rank: Int, _ step: Int, _ phase: String) throws -> [Float] {
      let data = try Data(
        contentsOf: URL(fileURLWithPath: "\(dump)/rank-\(rank)-step-\(step)-\(phase).f32"))
      return data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
    }
    for step in 0..<2 {
      let (g0, g1) = (try read(0, step, "local"), try read(1, step, "local"))
      let (r0, r1) = (try read(0, step, "reduced"), try read(1, step, "reduced"))
      #expect(g0.count > 1000 && g0.count == g1.count && r0.count == g0.count)
      let sameReduced = r0 == r1
      let differentLocal = g0 != g1
      #expect(sameReduced, "every rank holds the same reduced gradient")
      #expect(differentLocal, "the ranks trained on different samples")
      var worst: Float = 0
      var scale: Float = 0
      for i in g0.indices {
        worst = max(worst, abs(r0[i] - (g0[i] + g1[i]) / 2))
        scale = max(scale, abs(r0[i]))
      }
      #expect(scale > 0)
      #expect(worst <= 1e-6 * scale, "step \(step): max |reduced − mean| = \(worst)")
    }
  }

  @Test func twoRankCheckpointResumesInOneProcess() throws {
    let reference = try referenceRun.get()
    let out = temporaryDirectory("resume")
    defer { try? FileManager.default.removeItem(atPath: out) }
    let first = try mpirun(
      2, fixtureRun(out, steps: 4, extra: ["--gather-negatives", "--sync-bn", "--stop-after", "2"]))
    #expect(first.status == 0, "\(first.stderr)")
    let state = try String(contentsOfFile: out + "/step-2/state.json", encoding: .utf8)
    #expect(state.contains("\"worldSize\" : 2"))
    let second = try tandem(["train", "--resume", out, "--quiet"])
    #expect(second.status == 0, "\(second.stderr)")
    let (a, b) = (try losses(out), try losses(reference))
    #expect(a.count == 4)
    for (x, y) in zip(a, b) { #expect(abs(x - y) <= lossTolerance, "loss \(x) vs \(y)") }
    let difference = maxDifference(try weights(out + "/step-4"), try weights(reference + "/step-4"))
    #expect(difference <= weightTolerance, "max |Δw| = \(difference)")
  }

  @Test func aKilledRankMakesTheOthersExitNonZero() throws {
    let out = temporaryDirectory("killed")
    defer { try? FileManager.default.removeItem(atPath: out) }
    let r = try mpirun(
      2, fixtureRun(out, steps: 50), environment: ["TANDEM_DEBUG_FAULT": "1:1:kill"])
    #expect(r.status != 0)
    #expect(r.stderr.contains("kill at step 1"), "\(r.stderr)")
    #expect(!FileManager.default.fileExists(atPath: out + "/summary.json"))
  }

  @Test func aHungRankMakesTheOthersTimeOutWithAClearError() throws {
    let out = temporaryDirectory("hung")
    defer { try? FileManager.default.removeItem(atPath: out) }
    let r = try mpirun(
      2, fixtureRun(out, steps: 50, extra: ["--collective-timeout", "5"]),
      environment: ["TANDEM_DEBUG_FAULT": "1:1:hang"])
    #expect(r.status != 0)
    // Normally rank 0, stuck in the gradient allreduce of step 1; on a loaded machine rank 1 can
    // time out first, waiting for rank 0's batch. Either way a rank names the stuck collective.
    #expect(r.stderr.contains(" of 2: "), "\(r.stderr)")
    #expect(r.stderr.contains("did not complete within 5 s"), "\(r.stderr)")
  }

  @Test func aGlobalBatchThatDoesNotDivideIsAnErrorOnEveryRank() throws {
    let out = temporaryDirectory("odd")
    defer { try? FileManager.default.removeItem(atPath: out) }
    let r = try mpirun(2, fixtureRun(out, steps: 2, batch: 31))
    #expect(r.status == 1)
    #expect(r.stderr.contains("must divide evenly over 2 ranks"), "\(r.stderr)")
  }
}

@Suite(.enabled(if: TandemCLI.binary != nil)) struct DistributedUsageTests {
  @Test func unknownBackendIsAUsageError() throws {
    let r = try tandem(["train", "--catalog", "synthetic:2", "--distributed", "nccl"])
    #expect(r.status == 64)
    #expect(r.stderr.contains("--distributed"))
  }
}
