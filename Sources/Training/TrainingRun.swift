import Collective
import Foundation
import NN
import Pipeline
import Synchronization
import TandemBase

/// Set from a signal handler (or any thread) to ask a run to stop after the current step and
/// checkpoint.
public final class StopFlag: Sendable {
  private let flag = Atomic<Bool>(false)

  public init() {}

  /// Requests the stop.
  public func set() { flag.store(true, ordering: .releasing) }

  /// Whether a stop was requested.
  public var isSet: Bool { flag.load(ordering: .acquiring) }
}

/// Network/cache counters the run reports (a snapshot of the I/O layer's statistics).
public struct IOCounters: Sendable, Codable, Equatable {
  public var bytesFetched: Int
  public var requests: Int
  public var cacheHits: Int
  public var cacheMisses: Int

  public init(bytesFetched: Int = 0, requests: Int = 0, cacheHits: Int = 0, cacheMisses: Int = 0) {
    self.bytesFetched = bytesFetched
    self.requests = requests
    self.cacheHits = cacheHits
    self.cacheMisses = cacheMisses
  }

  /// Cache hits over lookups (0 without a cache).
  public var cacheHitRate: Double {
    cacheHits + cacheMisses == 0 ? 0 : Double(cacheHits) / Double(cacheHits + cacheMisses)
  }
}

/// How a run reports progress.
public enum ProgressStyle: String, Sendable {
  /// One live line, rewritten in place (for terminals).
  case live
  /// Periodic plain lines (for logs and pipes).
  case plain
  /// Nothing but errors.
  case quiet
}

/// How a run ended.
public enum RunStatus: String, Codable, Sendable {
  /// All steps done.
  case completed
  /// Stopped by a signal (or ``StopFlag``); a checkpoint was written.
  case interrupted
  /// The data stream ended (epochs exhausted, everything skipped) before the step count.
  case dataExhausted = "data-exhausted"
}

/// The end-of-run record (`summary.json`).
public struct RunSummary: Codable, Sendable {
  public var status: RunStatus
  /// Steps done (including those of earlier, resumed segments).
  public var steps: Int
  public var totalSteps: Int
  /// Step this segment started from (0, or the resumed checkpoint's).
  public var resumedFrom: Int
  public var finalLoss: Float?
  /// Mean loss and accuracy over the last (up to) 20 steps of this segment.
  public var meanLoss: Float?
  public var meanAccuracy: Float?
  public var temperature: Float?
  /// Wall time of this segment.
  public var wallSeconds: Double
  /// Steady-state throughput (excluding the first step, which waits for the pipeline to fill).
  public var stepsPerSecond: Double
  public var pairsPerSecond: Double
  /// Consumer stall as the pipeline measured it (whole segment, pipeline start-up included), %.
  public var stallPercent: Double
  /// Stall after the first batch, %: the time the trainer waited for data in steady state.
  public var steadyStallPercent: Double
  public var io: IOCounters
  public var pipeline: PipelineStats
  /// The last checkpoint directory written.
  public var checkpoint: String?
  public var configHash: String
  /// Ranks of a data-parallel run (`nil` for a single process).
  public var worldSize: Int? = nil
  /// Seconds rank 0 spent in collectives (waiting for other ranks included), and in the
  /// gradient allreduce alone; `nil` for a single process.
  public var communicationSeconds: Double? = nil
  public var allreduceSeconds: Double? = nil
  /// Shuffled-pair control (``PositivePairing/shuffled``): positives assigned in this segment on
  /// rank 0, and how many of them stayed within their place; `nil` for aligned runs.
  public var shuffledPositives: Int? = nil
  public var samePlacePositives: Int? = nil
}

/// One training run (or resumed segment of one) over a ``StreamingPipeline``: the training loop
/// runs on its own thread and pulls batches the pipeline fetched and decoded concurrently; it
/// writes metrics, checkpoints and the summary into the run directory.
public final class TrainingRun<Loader: SampleLoader>: @unchecked Sendable {
  /// The resolved configuration.
  public let config: TrainingConfig
  public let directory: RunDirectory
  private let loader: Loader
  private let sampler: WindowSampler
  private let stop: StopFlag
  private let progress: ProgressStyle
  private let io: (@Sendable () -> IOCounters)?
  private let log: @Sendable (String) -> Void
  private let stopAfter: Int?
  private let trainer: ContrastiveTrainer
  private let startStep: Int
  private let startCursor: SamplerCursor
  private let startSamples: Int
  private let communicator: any Communicator
  /// Samples per step on this rank (`config.batch / worldSize`).
  public let localBatch: Int

  /// Prepares a run: creates `directory` with `config.json` for a new run, or, with `resume`,
  /// checks that `config` matches the saved one (except runtime fields) and loads the latest
  /// checkpoint. `config.steps` is resolved from `config.epochs` when set. `stopAfter` ends
  /// the segment early (with a checkpoint) after that many total steps — the schedule still
  /// spans `config.steps`.
  public init(
    config: TrainingConfig, loader: Loader, sampler: WindowSampler, directory: String,
    resume: Bool = false, stop: StopFlag = StopFlag(), progress: ProgressStyle = .quiet,
    io: (@Sendable () -> IOCounters)? = nil, stopAfter: Int? = nil,
    communicator: any Communicator = SingleProcessCommunicator(),
    log: @escaping @Sendable (String) -> Void = { _ in }
  ) throws {
    var config = config
    let (rank, world) = (communicator.rank, communicator.worldSize)
    guard sampler.rank == rank, sampler.worldSize == world else {
      throw TrainingError(
        path: config.catalog,
        reason: "the sampler is sharded for rank \(sampler.rank) of \(sampler.worldSize), "
          + "the communicator is rank \(rank) of \(world)")
    }
    guard config.batch % world == 0 else {
      throw TrainingError(
        path: directory,
        reason: "--batch \(config.batch) is the global batch and must divide evenly over "
          + "\(world) ranks")
    }
    let minimumLocal = world > 1 && config.gatherNegatives ? 1 : 2
    guard config.batch / world >= minimumLocal else {
      throw TrainingError(
        path: directory,
        reason: "--batch \(config.batch) over \(world) ranks leaves \(config.batch / world) "
          + "per rank; each rank needs at least 2 (or 1 with --gather-negatives)")
    }
    guard loader.layout.channels.count >= 2 else {
      throw TrainingError(
        path: config.catalog,
        reason: "the loader must deliver S1 and S2 parts (layout \(loader.layout))")
    }
    guard loader.layout.channels[0] == 2 else {
      throw TrainingError(
        path: config.catalog,
        reason: "S1 part must have 2 channels (VV, VH), has \(loader.layout.channels[0])")
    }
    guard sampler.samplesPerEpoch > 0 else {
      throw TrainingError(
        path: config.catalog,
        reason:
          "no windows to sample: \(sampler.regions.count) regions, none at least \(sampler.windowSize)×\(sampler.windowSize) px"
      )
    }
    if let epochs = config.epochs {
      // Overflow-checked: epochs are bounded (``TrainingConfig/maxEpochs``), the samples per
      // epoch of a catalog are not; a product past the step bound fails validation below.
      let (perEpoch, o1) = sampler.samplesPerEpoch.multipliedReportingOverflow(by: world)
      let (total, o2) = epochs.multipliedReportingOverflow(by: perEpoch)
      guard !o1, !o2, total <= Int.max - config.batch else {
        throw TrainingError(
          path: directory,
          reason: "--epochs \(epochs) of \(sampler.samplesPerEpoch) samples × \(world) rank(s) "
            + "is more samples than can be counted")
      }
      config.steps = max(1, (total + config.batch - 1) / config.batch)
    }
    if let message = config.validationError() {
      throw TrainingError(path: directory, reason: message)
    }
    let run = RunDirectory(path: directory)
    trainer = ContrastiveTrainer(
      config: config, s2Channels: loader.layout.channels[1], communicator: communicator)
    if resume {
      guard let saved = try? TrainingConfig.load(path: run.configPath) else {
        throw TrainingError(
          path: run.configPath, reason: "no run to resume (config.json missing or invalid)")
      }
      let diff = config.differences(from: saved)
      guard diff.isEmpty else {
        throw TrainingError(
          path: directory,
          reason: "cannot resume: the configuration differs from the saved run in "
            + diff.joined(separator: "; "))
      }
      if let (checkpoint, state) = try run.latestCheckpoint() {
        guard state.configHash == config.hash else {
          throw TrainingError(
            path: checkpoint, reason: "checkpoint config hash \(state.configHash) ≠ \(config.hash)")
        }
        try trainer.loadWeights(from: checkpoint, step: state.step)
        startStep = state.step
        let (cursor, exact) = state.resumeCursor(rank: rank, worldSize: world)
        startCursor = cursor
        startSamples = state.samplesSeen
        if rank == 0 { try run.truncateMetrics(after: state.step) }
        log("resuming \(directory) from \(checkpoint) (step \(state.step) of \(config.steps))")
        if (state.worldSize ?? 1) != world {
          log(
            "the checkpoint was written by \(state.worldSize ?? 1) rank(s), resuming on \(world): "
              + "continuing at sample \(cursor.position * world) of epoch \(cursor.epoch)"
              + (exact
                ? "" : " (rounded: the sample stream differs slightly from an uninterrupted run)"))
        }
      } else {
        startStep = 0
        startCursor = SamplerCursor()
        startSamples = 0
        if rank == 0 { try run.truncateMetrics(after: 0) }
        log("resuming \(directory): no checkpoint yet, starting from step 0")
      }
    } else {
      let fm = FileManager.default
      if fm.fileExists(atPath: run.latestPath) || fm.fileExists(atPath: run.metricsPath) {
        throw TrainingError(
          path: directory,
          reason: "already holds a run; use --resume \(directory) or choose another --out")
      }
      startStep = 0
      startCursor = SamplerCursor()
      startSamples = 0
    }
    if rank == 0 { try AtomicFile.write(string: config.json(), to: run.configPath) }
    self.communicator = communicator
    self.localBatch = config.batch / world
    self.config = config
    self.directory = run
    self.loader = loader
    self.sampler = sampler
    self.stop = stop
    self.progress = progress
    self.io = io
    self.stopAfter = stopAfter
    self.log = log
  }

  /// The trainer (model and optimizer) of this run.
  public var model: ContrastiveTrainer { trainer }

  /// Runs the training loop on a dedicated thread until the step count, a stop request or the end
  /// of the data; always ends with a checkpoint and `summary.json`.
  public func run() async throws -> RunSummary {
    try await withCheckedThrowingContinuation { continuation in
      let thread = Thread { [self] in
        continuation.resume(with: Result { try self.loop() })
      }
      thread.name = "tandem-train"
      thread.stackSize = 16 << 20
      thread.start()
    }
  }

  private func loop() throws -> RunSummary {
    BLAS.setThreads(config.blasThreads)
    let comm = communicator
    let isRoot = comm.rank == 0
    // Ranks must hold the same configuration and weights before the first collective step.
    try comm.checkSame(
      UInt64(config.hash, radix: 16) ?? 0, what: "the configuration hash (config.json)")
    try comm.checkSame(trainer.parameterHash, what: "the initial weights")
    let pipeline = StreamingPipeline(
      loader: loader, sampler: sampler, from: startCursor,
      configuration: PipelineConfiguration(
        slots: max(2 * localBatch, 8) + localBatch, decodeThreads: config.decodeThreads,
        onError: config.onError == "fail" ? .fail : .skip, epochs: config.epochs))
    defer { pipeline.stop() }
    let metrics = isRoot ? try MetricsWriter(path: directory.metricsPath) : nil
    let reporter = ProgressReporter(style: isRoot ? progress : .quiet, total: config.steps)
    let batch = Batch(layout: loader.layout, capacity: localBatch)
    let end = min(config.steps, stopAfter ?? .max)
    let started = NN.Clock.now()
    var cursor = startCursor
    var samples = startSamples
    var status = RunStatus.completed
    var recent: [StepResult] = []
    var last: StepResult?
    var lastCheckpoint: String?
    var checkpointed = false
    var firstStepEnd: Double?
    var steadyWait = 0.0
    var steadySamples = 0
    var previousEnd = started
    var previousBytes = io?().bytesFetched ?? 0
    let ioAtStart = io?() ?? IOCounters()

    /// Collective: every rank takes part (buffers and cursors), rank 0 writes.
    func checkpoint() throws {
      checkpointed = true
      try trainer.averageBuffers()
      let all = try comm.allgather([Int64(cursor.epoch), Int64(cursor.position)], label: "cursors")
      let cursors = all.map { SamplerCursor(epoch: Int($0[0]), position: Int($0[1])) }
      guard isRoot else { return }
      let state = CheckpointState(
        step: trainer.step, cursor: cursor, configHash: config.hash,
        rng: .init(
          seed: config.seed,
          scheme: "keyed: sampler(seed,epoch,slot,attempt), augment(seed,step,sample,view)"),
        samplesSeen: samples, worldSize: comm.isDistributed ? comm.worldSize : nil,
        rankCursors: comm.isDistributed ? cursors : nil)
      lastCheckpoint = try directory.writeCheckpoint(step: trainer.step, state: state) {
        try trainer.saveWeights(to: $0)
      }
    }

    while trainer.step < end {
      let wantsStop = stop.isSet
      let t0 = NN.Clock.now()
      let comm0 = comm.statistics
      var hasData = false
      var failure: (any Error)?
      if !wantsStop {
        do { hasData = try pipeline.next(into: batch) } catch { failure = error }
      }
      // Every rank learns what the others have (one small allgather): they stop together,
      // train on the same step, and know each other's sample counts.
      let control = try comm.allgather(
        [
          wantsStop ? 1 : 0, hasData ? 1 : 0, hasData ? Int64(batch.count) : 0,
          failure == nil ? 0 : 1,
        ],
        label: "control")
      if let failure { throw failure }
      if let failed = control.indices.first(where: { control[$0][3] != 0 }) {
        throw CollectiveError(
          code: .peerFailed, rank: comm.rank, worldSize: comm.worldSize,
          operation: "step \(trainer.step + 1)",
          message: "rank \(failed) could not load its batch (see its error); stopping")
      }
      if control.contains(where: { $0[0] != 0 }) {
        status = .interrupted
        break
      }
      if control.contains(where: { $0[1] == 0 }) {
        status = .dataExhausted
        break
      }
      let t1 = NN.Clock.now()
      cursor = batch.cursor
      let counts = control.map { Int($0[2]) }
      let needed = comm.isDistributed && config.gatherNegatives ? 1 : 2
      // A lone leftover sample has no negatives.
      if counts.reduce(0, +) < 2 || counts.contains(where: { $0 < needed }) { continue }
      let r = try trainer.train(on: batch, replicaCounts: counts)
      samples += r.samples
      last = r
      recent.append(r)
      if recent.count > 20 { recent.removeFirst() }
      let t2 = NN.Clock.now()
      if firstStepEnd == nil {
        firstStepEnd = t2
      } else {
        steadyWait += t1 - t0
        steadySamples += r.samples
      }
      let stats = pipeline.stats
      let counters = io?() ?? IOCounters()
      let interval = max(t2 - previousEnd, 1e-9)
      let bytesPerSecond = Double(counters.bytesFetched - previousBytes) / interval
      previousEnd = t2
      previousBytes = counters.bytesFetched
      let steadyTime = firstStepEnd.map { t2 - $0 } ?? 0
      var record: [String: Any] = [
        "step": trainer.step, "epoch": cursor.epoch, "loss": Double(r.loss),
        "lr": Double(r.learningRate), "accuracy": Double(r.accuracy),
        "temperature": Double(r.temperature), "grad_norm": r.gradientNorm,
        "pairs_per_s": Double(r.samples) / interval, "step_seconds": t2 - t1,
        "wait_seconds": t1 - t0, "stall_pct": 100 * stats.stallFraction,
        "bytes_fetched": counters.bytesFetched, "cache_hit_rate": counters.cacheHitRate,
        "samples_seen": samples, "skipped": stats.skipped, "failures": stats.failures,
        "fetch_depth": stats.fetchDepth,
      ]
      if comm.isDistributed {
        let c = comm.statistics
        record["world_size"] = comm.worldSize
        record["comm_seconds"] = c.seconds - comm0.seconds
        record["allreduce_seconds"] =
          (c.secondsByLabel["gradients"] ?? 0) - (comm0.secondsByLabel["gradients"] ?? 0)
      }
      try metrics?.write(record)
      let averageStep = steadyTime > 0 ? steadyTime / Double(trainer.step - startStep - 1) : t2 - t1
      reporter.update(
        step: trainer.step, loss: r.loss, accuracy: r.accuracy,
        pairsPerSecond: steadyTime > 0
          ? Double(steadySamples) / steadyTime : Double(r.samples) / interval,
        stallPercent: steadyTime > 0 ? 100 * steadyWait / steadyTime : 100 * stats.stallFraction,
        megabytesPerSecond: bytesPerSecond / 1e6,
        eta: Double(config.steps - trainer.step) * averageStep,
        inFlight: stats.inFlightSummary(threads: config.decodeThreads))
      if trainer.step % config.checkpointEvery == 0 && trainer.step < end { try checkpoint() }
    }
    reporter.finish()
    if trainer.step > startStep || !checkpointed { try checkpoint() }
    if config.pairing == .shuffled && trainer.samePlacePositives > 0 {
      log(
        "pairing: \(trainer.samePlacePositives) of \(trainer.shuffledPositives) shuffled positives "
          + "stayed within their place (batches with too few places)")
    }
    let stats = pipeline.stats
    let wall = NN.Clock.now() - started
    let steadyTime = firstStepEnd.map { NN.Clock.now() - $0 } ?? 0
    let steadySteps = max(trainer.step - startStep - 1, 0)
    let counters = io?() ?? IOCounters()
    var summary = RunSummary(
      status: status, steps: trainer.step, totalSteps: config.steps, resumedFrom: startStep,
      finalLoss: last?.loss,
      meanLoss: recent.isEmpty ? nil : recent.map(\.loss).reduce(0, +) / Float(recent.count),
      meanAccuracy: recent.isEmpty
        ? nil : recent.map(\.accuracy).reduce(0, +) / Float(recent.count),
      temperature: last?.temperature, wallSeconds: wall,
      stepsPerSecond: steadyTime > 0 ? Double(steadySteps) / steadyTime : 0,
      pairsPerSecond: steadyTime > 0 ? Double(steadySamples) / steadyTime : 0,
      stallPercent: 100 * stats.stallFraction,
      steadyStallPercent: steadyTime > 0 ? 100 * steadyWait / steadyTime : 0,
      io: IOCounters(
        bytesFetched: counters.bytesFetched - ioAtStart.bytesFetched,
        requests: counters.requests - ioAtStart.requests,
        cacheHits: counters.cacheHits - ioAtStart.cacheHits,
        cacheMisses: counters.cacheMisses - ioAtStart.cacheMisses),
      pipeline: stats, checkpoint: lastCheckpoint, configHash: config.hash)
    if config.pairing == .shuffled {
      summary.shuffledPositives = trainer.shuffledPositives
      summary.samePlacePositives = trainer.samePlacePositives
    }
    if comm.isDistributed {
      let c = comm.statistics
      summary.worldSize = comm.worldSize
      summary.communicationSeconds = c.seconds
      summary.allreduceSeconds = c.secondsByLabel["gradients"] ?? 0
    }
    guard isRoot else { return summary }
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    try AtomicFile.write(Array(try encoder.encode(summary)) + [10], to: directory.summaryPath)
    return summary
  }
}

/// Appends one JSON object per line to `metrics.jsonl`.
final class MetricsWriter {
  private let handle: FileHandle
  let path: String

  init(path: String) throws {
    self.path = path
    if !FileManager.default.fileExists(atPath: path) {
      guard FileManager.default.createFile(atPath: path, contents: nil) else {
        throw TrainingError(path: path, reason: "cannot create metrics file")
      }
    }
    guard let h = FileHandle(forWritingAtPath: path) else {
      throw TrainingError(path: path, reason: "cannot open metrics file for writing")
    }
    h.seekToEndOfFile()
    handle = h
  }

  deinit { try? handle.close() }

  func write(_ object: [String: Any]) throws {
    var data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
    data.append(10)
    do { try handle.write(contentsOf: data) } catch {
      throw TrainingError(path: path, reason: "cannot append metrics: \(error)")
    }
  }
}
