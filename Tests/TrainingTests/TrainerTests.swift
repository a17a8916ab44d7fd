import Foundation
import NN
import Pipeline
import TandemBase
import Testing

@testable import Training

/// A fresh temporary directory path (not created).
func temporaryRun(_ name: String) -> String {
  NSTemporaryDirectory() + "tandem-train-\(name)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
}

func tinyConfig(mode: TrainingMode = .multimodal, steps: Int = 8) -> TrainingConfig {
  var c = TrainingConfig()
  c.catalog = "synthetic:6"
  c.mode = mode
  c.model = .tiny
  c.size = 16
  c.batch = 4
  c.steps = steps
  c.warmupSteps = 2
  c.checkpointEvery = 3
  c.blasThreads = 2
  c.seed = 11
  return c
}

func syntheticData(_ c: TrainingConfig) -> (SyntheticPairLoader, WindowSampler) {
  let loader = SyntheticPairLoader(
    regions: 6, regionSize: 4 * c.size, windowSize: c.size, s2Channels: c.s2Bands.count)
  return (loader, WindowSampler(regions: loader.regions, windowSize: c.size, seed: c.seed))
}

/// Trains `config` in `directory` (new or resumed) and returns the final weights and buffers.
func train(
  _ config: TrainingConfig, in directory: String, resume: Bool = false, stopAfter: Int? = nil
) async throws -> (weights: [Float], buffers: [[Float]], summary: RunSummary) {
  let (loader, sampler) = syntheticData(config)
  let run = try TrainingRun(
    config: config, loader: loader, sampler: sampler, directory: directory, resume: resume,
    stopAfter: stopAfter)
  let summary = try await run.run()
  let store = run.model.store
  return (run.model.parameterValues, store.buffers.map { store.buffer($0.name)! }, summary)
}

@Suite(.serialized, .timeLimit(.minutes(3))) struct TrainerTests {
  @Test(arguments: [TrainingMode.multimodal, .simclr])
  func sameSeedGivesSameWeights(mode: TrainingMode) async throws {
    let a = temporaryRun("det-a")
    let b = temporaryRun("det-b")
    defer { for d in [a, b] { try? FileManager.default.removeItem(atPath: d) } }
    let config = tinyConfig(mode: mode, steps: 4)
    let r1 = try await train(config, in: a)
    var other = config
    other.decodeThreads = 1  // a runtime field: must not change the numbers
    let r2 = try await train(other, in: b)
    #expect(r1.summary.status == .completed && r1.summary.steps == 4)
    #expect(r1.weights == r2.weights)
    #expect(r1.buffers == r2.buffers)
    // The weights did move.
    let initial = ContrastiveTrainer(config: config, s2Channels: 4).parameterValues
    #expect(initial != r1.weights)
  }

  @Test(arguments: [TrainingMode.multimodal, .simclr])
  func interruptedAndResumedRunMatchesUninterruptedOne(mode: TrainingMode) async throws {
    let whole = temporaryRun("whole")
    let split = temporaryRun("split")
    defer { for d in [whole, split] { try? FileManager.default.removeItem(atPath: d) } }
    let config = tinyConfig(mode: mode, steps: 10)
    let full = try await train(config, in: whole)
    let first = try await train(config, in: split, stopAfter: 5)
    #expect(first.summary.steps == 5)
    #expect(first.weights != full.weights)
    let second = try await train(config, in: split, resume: true)
    #expect(second.summary.resumedFrom == 5)
    #expect(second.summary.steps == 10)
    #expect(second.weights == full.weights)
    #expect(second.buffers == full.buffers)
    // The checkpoint files are byte-identical too, and metrics have one line per step.
    let a = FileManager.default.contents(atPath: whole + "/step-10/model.safetensors")
    let b = FileManager.default.contents(atPath: split + "/step-10/model.safetensors")
    #expect(a != nil && a == b)
    let lines = try String(contentsOfFile: split + "/metrics.jsonl", encoding: .utf8)
      .split(separator: "\n")
    #expect(lines.count == 10)
  }

  @Test func resumeRefusesADifferentConfigAndNamesTheFields() async throws {
    let dir = temporaryRun("mismatch")
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let config = tinyConfig(steps: 3)
    _ = try await train(config, in: dir, stopAfter: 2)
    var changed = config
    changed.batch = 8
    changed.learningRate = 0.5
    changed.decodeThreads = 7  // allowed
    let error = await #expect(throws: TrainingError.self) {
      _ = try await train(changed, in: dir, resume: true)
    }
    let text = error?.description ?? ""
    #expect(text.contains("batch"))
    #expect(text.contains("learningRate"))
    #expect(!text.contains("decodeThreads"))
    #expect(text.contains(dir))
  }

  @Test func newRunRefusesAnExistingRunDirectory() async throws {
    let dir = temporaryRun("exists")
    defer { try? FileManager.default.removeItem(atPath: dir) }
    _ = try await train(tinyConfig(steps: 2), in: dir)
    await #expect(throws: TrainingError.self) { _ = try await train(tinyConfig(steps: 2), in: dir) }
  }

  @Test func checkpointRoundTripRestoresWeightsBuffersAndOptimizer() throws {
    let dir = temporaryRun("roundtrip")
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let config = tinyConfig()
    let (loader, sampler) = syntheticData(config)
    let pipeline = StreamingPipeline(loader: loader, sampler: sampler)
    defer { pipeline.stop() }
    let batch = Batch(layout: loader.layout, capacity: config.batch)
    let a = ContrastiveTrainer(config: config, s2Channels: 4)
    for _ in 0..<3 {
      #expect(try pipeline.next(into: batch))
      a.train(on: batch)
    }
    try a.saveWeights(to: dir)
    let b = ContrastiveTrainer(config: config, s2Channels: 4)
    try b.loadWeights(from: dir, step: 3)
    #expect(b.step == 3)
    #expect(a.parameterValues == b.parameterValues)
    // Both continue identically (optimizer moments and step count restored).
    #expect(try pipeline.next(into: batch))
    let ra = a.train(on: batch)
    let rb = b.train(on: batch)
    #expect(ra == rb)
    #expect(a.parameterValues == b.parameterValues)
    // A wrong step count is caught.
    let c = ContrastiveTrainer(config: config, s2Channels: 4)
    #expect(throws: TrainingError.self) { try c.loadWeights(from: dir, step: 5) }
  }

  @Test func lossFallsOnLearnableSyntheticPairs() async throws {
    let dir = temporaryRun("learn")
    defer { try? FileManager.default.removeItem(atPath: dir) }
    var config = tinyConfig(steps: 40)
    config.batch = 8
    config.learningRate = 3e-3
    config.checkpointEvery = 100
    let r = try await train(config, in: dir)
    let lines = try String(contentsOfFile: dir + "/metrics.jsonl", encoding: .utf8)
      .split(separator: "\n").map {
        try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any]
      }
    let losses = lines.map { $0["loss"] as! Double }
    let early = losses.prefix(5).reduce(0, +) / 5
    let late = losses.suffix(5).reduce(0, +) / 5
    #expect(late < early)
    #expect(r.summary.pairsPerSecond > 0)
    for key in [
      "step", "loss", "lr", "pairs_per_s", "stall_pct", "bytes_fetched", "cache_hit_rate",
      "accuracy", "temperature",
    ] {
      #expect(lines[0][key] != nil, "metrics lack \(key)")
    }
  }

  @Test func epochsResolveToSteps() async throws {
    let dir = temporaryRun("epochs")
    defer { try? FileManager.default.removeItem(atPath: dir) }
    var config = tinyConfig()
    config.epochs = 1
    let (loader, sampler) = syntheticData(config)
    let run = try TrainingRun(config: config, loader: loader, sampler: sampler, directory: dir)
    let expected = (sampler.samplesPerEpoch + config.batch - 1) / config.batch
    #expect(run.config.steps == expected)
    let summary = try await run.run()
    #expect(summary.steps == expected)
    #expect(summary.status == .completed)
  }
}

@Suite struct TrainingConfigTests {
  @Test func partialConfigKeepsDefaultsAndRoundTrips() throws {
    let c = try TrainingConfig.decode(Data(#"{"batch": 7, "mode": "simclr"}"#.utf8), source: "x")
    #expect(c.batch == 7 && c.mode == .simclr && c.size == TrainingConfig().size)
    let back = try TrainingConfig.decode(Data(c.json().utf8), source: "y")
    #expect(back == c)
    #expect(back.hash == c.hash)
  }

  @Test func unknownKeysAndBadTypesAreNamed() {
    let unknown = #expect(throws: TrainingError.self) {
      try TrainingConfig.decode(Data(#"{"bacth": 7}"#.utf8), source: "cfg.json")
    }
    #expect(unknown?.description.contains("bacth") == true)
    #expect(unknown?.description.contains("cfg.json") == true)
    let wrong = #expect(throws: TrainingError.self) {
      try TrainingConfig.decode(Data(#"{"batch": "many"}"#.utf8), source: "cfg.json")
    }
    #expect(wrong?.description.contains("batch") == true)
  }

  @Test func runtimeFieldsDoNotChangeTheHash() {
    var a = TrainingConfig()
    let h = a.hash
    a.decodeThreads = 9
    a.checkpointEvery = 3
    #expect(a.hash == h)
    a.seed = 1
    #expect(a.hash != h)
  }

  @Test(arguments: [
    "batch", "size", "blasThreads", "warmup", "onError", "hugeBatch", "hugeSize", "hugeSteps",
    "hugeEpochs",
  ])
  func invalidValuesAreRejected(field: String) {
    var c = TrainingConfig()
    switch field {
    case "batch": c.batch = 1
    case "size": c.size = 8
    case "blasThreads": c.blasThreads = 0
    case "warmup": c.warmupSteps = -1
    // Past the upper bounds, the run's products (batch tensors, epochs × samples) overflowed.
    case "hugeBatch": c.batch = 4_611_686_018_427_387_904
    case "hugeSize": c.size = 4_611_686_018_427_387_904
    case "hugeSteps": c.steps = .max
    case "hugeEpochs": c.epochs = .max
    default: c.onError = "ignore"
    }
    #expect(c.validationError() != nil)
  }
}
