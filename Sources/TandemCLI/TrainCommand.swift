import Collective
import CollectiveMPI
import CommandLineKit
import Dispatch
import Foundation
import Pairing
import Pipeline
import RangeIO
import STAC
import TandemBase
import Training

#if canImport(Glibc)
  import Glibc
#endif

/// `tandem train`: contrastive pretraining streamed from a STAC catalog's S1/S2 pairs.
enum TrainCommand {
  static let spec = CommandSpec(
    name: "train",
    abstract: "Train a multimodal (S1/S2) or SimCLR contrastive encoder from a STAC catalog.",
    discussion: """
      Streams windows of the catalog's S1/S2 pairs (no local copy) into the trainer. The run \
      directory gets config.json, metrics.jsonl, checkpoints step-N/ with a 'latest' pointer, \
      and summary.json. Ctrl-C finishes the current step, checkpoints and exits 130; continue \
      with --resume RUN_DIR (bit-identical to an uninterrupted run). Flags override --config \
      and, with --resume, the saved config (only decode threads, checkpoint interval and error \
      policy may change on resume). --catalog synthetic:N trains on N procedural regions \
      without any I/O (smoke tests, benchmarks). See Docs/TRAINING.md. Data-parallel on \
      several processes: mpirun -np N tandem train --distributed mpi … (--batch is the global \
      batch, split over the ranks; rank 0 writes the run directory); see Docs/DISTRIBUTED.md.
      """,
    options: [
      .value(
        "catalog", valueName: "SRC",
        help:
          "STAC catalog or item collection (path or URL), or a STAC API (landing page or /search) with the search options below."
      ),
      .value("mode", valueName: "M", help: "multimodal (default) or simclr."),
      .value(
        "pairing", valueName: "P",
        help:
          "Multimodal positives: aligned (default; same place, near time) or shuffled (control: another place's S1 window)."
      ),
      .value("modality", valueName: "S", help: "SimCLR sensor: s2 (default) or s1."),
      .value("model", valueName: "NAME", help: "small (default) or tiny."),
      .value("size", valueName: "PX", help: "Window edge in pixels (default 128)."),
      .value("batch", valueName: "N", help: "Pairs (or SimCLR windows) per step (default 32)."),
      .value("steps", valueName: "N", help: "Optimizer steps (default 1000)."),
      .value("epochs", valueName: "N", help: "Train for N sampler epochs instead of --steps."),
      .value("lr", valueName: "X", help: "Peak learning rate (default 0.001)."),
      .value("min-lr", valueName: "X", help: "Final learning rate of the cosine (default 0)."),
      .value("warmup", valueName: "N", help: "Linear warmup steps (default 50)."),
      .value("weight-decay", valueName: "X", help: "AdamW weight decay (default 0.05)."),
      .value("grad-clip", valueName: "X", help: "Gradient norm clip, 0 = off (default 1)."),
      .value("temperature", valueName: "T", help: "InfoNCE temperature (default 0.1)."),
      .flag("learnable-temperature", help: "Train the temperature."),
      .flag("per-band-jitter", help: "SimCLR ablation: colour jitter drawn per band."),
      .value("max-days", valueName: "D", help: "Pairing: max |Δt| in days (default 3)."),
      .value(
        "where", valueName: "KEY=VALUE",
        help:
          "Use only items whose property KEY equals VALUE (e.g. tandem:role=pretrain); repeat for more values or keys.",
        repeating: true),
      .value("max-cloud", valueName: "PCT", help: "Pairing: max S2 cloud cover % (default 20)."),
      .value(
        "min-overlap", valueName: "F", help: "Pairing: min footprint overlap 0…1 (default 0.1)."),
      .value("s2-bands", valueName: "LIST", help: "S2 bands (default B02,B03,B04,B08)."),
      .value("decode-threads", valueName: "N", help: "Decode worker threads (default 2)."),
      .value("blas-threads", valueName: "N", help: "Compute threads (default 2)."),
      .value("seed", valueName: "N", help: "Seed of weights, windows, augmentations (default 0)."),
      .value("out", short: "o", valueName: "RUN_DIR", help: "Run directory (default runs/<time>)."),
      .value("resume", valueName: "RUN_DIR", help: "Continue the run in RUN_DIR."),
      .value(
        "checkpoint-every", valueName: "N", help: "Checkpoint interval in steps (default 500)."),
      .value(
        "stop-after", valueName: "N",
        help: "Checkpoint and stop after N steps (schedule unchanged)."),
      .value(
        "config", valueName: "FILE", help: "Start from this config JSON (e.g. RUN/config.json)."),
      .value("on-error", valueName: "P", help: "skip (default) or fail on unreadable objects."),
      .value(
        "in-memory", valueName: "N",
        help: "Preload N windows and train from memory (benchmark baseline)."),
      .value(
        "memory-cache", valueName: "SIZE",
        help:
          "Bytes of each in-memory cache (fetched ranges, decoded tiles; default 256MiB, 1GiB; 0 = off)."
      ),
      .value(
        "distributed", valueName: "BACKEND",
        help: "none (default) or mpi: data-parallel over the ranks of mpirun."),
      .flag("sync-bn", help: "Distributed: BatchNorm statistics of the global batch."),
      .flag(
        "gather-negatives",
        help: "Distributed: contrast against the global batch (all-gathered embeddings)."),
      .value(
        "collective-timeout", valueName: "S",
        help: "Distributed: exit when a collective blocks S seconds (default 300, 0 = never)."),
      .flag("json", help: "Print the summary as JSON."),
      .flag("quiet", short: "q", help: "No progress output."),
    ] + SearchOptions.specs + IOOptions.specs,
    run: { parsed in try await run(parsed) })

  static func run(_ parsed: ParsedArguments) async throws -> Int32 {
    var config = TrainingConfig()
    let resumeDir = parsed.string("resume")
    if let resumeDir {
      let path = RunDirectory(path: resumeDir).configPath
      guard FileManager.default.fileExists(atPath: path) else {
        throw TrainingError(path: resumeDir, reason: "no run to resume (config.json not found)")
      }
      config = try TrainingConfig.load(path: path)
      if let out = parsed.string("out"), out != resumeDir {
        throw parsed.usageError("--out \(out) differs from --resume \(resumeDir)")
      }
    } else if let file = parsed.string("config") {
      config = try TrainingConfig.load(path: file)
    }
    if resumeDir != nil && parsed.string("config") != nil {
      throw parsed.usageError("--config and --resume are exclusive (resume uses the saved config)")
    }
    try overlay(parsed, on: &config)
    if let message = config.validationError() { throw parsed.usageError(message) }
    guard !config.catalog.isEmpty else {
      throw parsed.usageError("missing required option --catalog")
    }
    let out =
      resumeDir ?? parsed.string("out") ?? "runs/train-"
      + String(Int(Date().timeIntervalSince1970))
    let quiet = parsed.flag("quiet")
    let style: ProgressStyle = quiet ? .quiet : (isatty(STDERR_FILENO) == 1 ? .live : .plain)
    let log: @Sendable (String) -> Void = { line in
      if !quiet { FileHandle.standardError.write(Data((Redaction.text(line) + "\n").utf8)) }
    }
    let stopAfter: Int? = try parsed.value("stop-after")
    let inMemory: Int? = try parsed.value("in-memory")
    if let s = stopAfter, s < 1 { throw parsed.usageError("--stop-after must be positive") }
    if let n = inMemory, n < 2 { throw parsed.usageError("--in-memory must be at least 2") }
    if inMemory != nil && config.pairing == .shuffled {
      // The in-memory loader serves its preloaded windows whatever the region, so a partner's
      // place would not be the place its pixels show.
      throw parsed.usageError("--in-memory cannot be combined with --pairing shuffled")
    }
    let timeout: Double = try parsed.value("collective-timeout") ?? 300
    if timeout < 0 { throw parsed.usageError("--collective-timeout must be >= 0") }

    // Data parallelism: MPI starts after the arguments are known to be valid.
    let mpi: MPICommunicator?
    switch parsed.string("distributed") ?? "none" {
    case "none": mpi = nil
    case "mpi": mpi = try MPICommunicator.start(timeout: timeout)
    case let other:
      throw parsed.usageError("invalid value '\(other)' for --distributed: expected none or mpi")
    }
    let communicator: any Communicator
    if let mpi { communicator = mpi } else { communicator = SingleProcessCommunicator() }
    let isRoot = communicator.rank == 0
    let silent: @Sendable (String) -> Void = { _ in }
    let rankLog = isRoot ? log : silent
    if let mpi {
      let perRank = config.batch / max(mpi.worldSize, 1)
      var line = "distributed: \(mpi.backendDescription); global batch \(config.batch)"
      line += " = \(mpi.worldSize) × \(perRank)"
      if config.syncBatchNorm { line += ", synchronized BatchNorm" }
      if config.gatherNegatives { line += ", global negatives" }
      rankLog(line)
    }
    // The default run directory has a timestamp: every rank takes rank 0's.
    var runDirectory = out
    if communicator.isDistributed {
      let bytes = try communicator.broadcast(Array(out.utf8), root: 0, label: "run directory")
      runDirectory = String(decoding: bytes, as: UTF8.self)
    }

    let stop = StopFlag()
    let signals = installSignalHandlers(stop: stop, log: log)
    defer { signals.forEach { $0.cancel() } }

    let context = RunContext(
      config: config, directory: runDirectory, resume: resumeDir != nil, stop: stop,
      style: isRoot ? style : .quiet, stopAfter: stopAfter, inMemory: inMemory,
      memoryCacheBytes: try parsed.value("memory-cache", as: ByteSize.self).map {
        Int(min($0.bytes, UInt64(Int.max)))
      },
      log: rankLog, communicator: communicator)
    let summary: RunSummary
    if config.catalog.hasPrefix("synthetic:") {
      guard let regions = Int(config.catalog.dropFirst("synthetic:".count)), regions >= 1 else {
        throw parsed.usageError("--catalog synthetic:N needs a positive region count N")
      }
      let loader = SyntheticPairLoader(
        regions: regions, regionSize: 4 * config.size, windowSize: config.size,
        s2Channels: config.s2Bands.count)
      let sampler = WindowSampler(
        regions: loader.regions, windowSize: config.size, seed: config.seed,
        rank: communicator.rank, worldSize: communicator.worldSize)
      summary = try await context.train(loader: loader, sampler: sampler, io: nil)
    } else {
      let options = try IOOptions.sourceOptions(from: parsed)
      let stats = options.stats
      let io: @Sendable () -> IOCounters = {
        let s = stats.snapshot
        return IOCounters(
          bytesFetched: s.bytesFetched, requests: s.requests, cacheHits: s.cacheHits,
          cacheMisses: s.cacheMisses)
      }
      summary = try await trainFromCatalog(context: context, options: options, io: io)
    }
    mpi?.finish()
    guard isRoot else { return exitCode(summary.status) }
    return report(summary, directory: runDirectory, json: parsed.flag("json"), quiet: quiet)
  }

  /// Opens the catalog's S1/S2 pairs and trains on them. The per-band normalization is
  /// estimated once from seeded windows and saved as `RUN/normalization.json`; a resumed run
  /// reuses the saved one.
  static func trainFromCatalog(
    context: RunContext, options: SourceOptions, io: @escaping @Sendable () -> IOCounters
  ) async throws -> RunSummary {
    let config = context.config
    let catalog = config.catalog
    let comm = context.communicator
    // Every rank opens the catalog itself; they all fail together or go on together.
    var opened: PairDataset?
    var failure: (any Error)?
    do {
      let dataset = try await config.openPairs(
        catalog: catalog, sourceOptions: options, itemFilters: config.itemFilters)
      guard dataset.sampler(windowSize: config.size, seed: config.seed).samplesPerEpoch > 0 else {
        throw PipelineError(
          location: catalog,
          message:
            "no pair's common footprint holds a \(config.size)×\(config.size) window; "
            + "use a smaller --size\n" + dataset.rejectionSummary)
      }
      opened = dataset
    } catch { failure = error }
    try comm.agree(after: failure, phase: "opening \(catalog)")
    let dataset = opened!
    let sampler = dataset.sampler(
      windowSize: config.size, seed: config.seed, rank: comm.rank, worldSize: comm.worldSize)
    guard sampler.samplesPerEpoch > 0 else {
      throw PipelineError(
        location: catalog,
        message:
          "\(comm.worldSize) ranks: fewer windows per epoch than ranks\n" + dataset.rejectionSummary
      )
    }
    // Rank 0 estimates (or, resuming, reads) the normalization and hands it to the others.
    var rootValue: Normalization?
    failure = nil
    if comm.rank == 0 {
      do {
        rootValue = try await rootNormalization(
          context: context, dataset: dataset, options: options)
      } catch { failure = error }
    }
    try comm.agree(after: failure, phase: "estimating the normalization")
    var normalization = rootValue
    if comm.isDistributed {
      let bytes = try comm.broadcast(
        comm.rank == 0 ? Array(try JSONEncoder().encode(rootValue!)) : [], root: 0,
        label: "normalization")
      normalization = try JSONDecoder().decode(Normalization.self, from: Data(bytes))
    }
    context.log(
      "catalog: \(dataset.regions.count) pairs, \(sampler.samplesPerEpoch * comm.worldSize) windows per epoch"
    )
    let loader = PairLoader(
      dataset: dataset, windowSize: config.size, normalization: normalization!,
      sourceOptions: options, workers: config.decodeThreads,
      memoryCacheBytes: context.memoryCacheBytes ?? 256 << 20,
      decodedCacheBytes: context.memoryCacheBytes ?? 1 << 30)
    return try await context.train(
      loader: loader, sampler: sampler, places: dataset.places, io: io)
  }

  /// The normalization of a run: the saved one when resuming, else estimated from 32 seeded
  /// windows and saved as `RUN/normalization.json`.
  static func rootNormalization(
    context: RunContext, dataset: PairDataset, options: SourceOptions
  ) async throws -> Normalization {
    let config = context.config
    let run = RunDirectory(path: context.directory)
    let normalizationPath = run.normalizationPath
    let normalization: Normalization
    if context.resume && FileManager.default.fileExists(atPath: normalizationPath) {
      normalization = try run.loadNormalization(
        s1Channels: dataset.channels.s1, s2Channels: dataset.channels.s2)
    } else {
      context.log("estimating per-band normalization from 32 windows…")
      normalization = try await NormalizationEstimator.estimate(
        dataset: dataset, windowSize: config.size, samples: 32, seed: config.seed,
        sourceOptions: options)
      if !context.resume && FileManager.default.fileExists(atPath: context.directory + "/latest") {
        throw TrainingError(
          path: context.directory,
          reason: "already holds a run; use --resume \(context.directory) or choose another --out")
      }
      let encoder = JSONEncoder()
      encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
      try AtomicFile.write(Array(try encoder.encode(normalization)), to: normalizationPath)
    }
    return normalization
  }

  /// Applies the command-line flags that were given on top of `config`.
  static func overlay(_ p: ParsedArguments, on c: inout TrainingConfig) throws {
    func enumValue<E: RawRepresentable & CaseIterable>(_ name: String, _: E.Type) throws -> E?
    where E.RawValue == String {
      guard let raw = p.string(name) else { return nil }
      guard let v = E(rawValue: raw) else {
        throw p.usageError(
          "invalid value '\(raw)' for --\(name): expected one of "
            + E.allCases.map(\.rawValue).joined(separator: ", "))
      }
      return v
    }
    if let v = p.string("catalog") { c.catalog = v }
    if let search = try SearchOptions.search(p) { c.search = search }
    if let method = try SearchOptions.method(p) { c.searchMethod = method }
    if let v = try enumValue("mode", TrainingMode.self) { c.mode = v }
    if let v = try enumValue("pairing", PositivePairing.self) { c.pairing = v }
    if let v = try enumValue("modality", Modality.self) { c.modality = v }
    if let v = try enumValue("model", ModelSize.self) { c.model = v }
    if let v: Int = try p.value("size") { c.size = v }
    if let v: Int = try p.value("batch") { c.batch = v }
    if let v: Int = try p.value("steps") {
      c.steps = v
      c.epochs = nil
    }
    if let v: Int = try p.value("epochs") { c.epochs = v }
    if p.string("steps") != nil && p.string("epochs") != nil {
      throw p.usageError("--steps and --epochs are exclusive")
    }
    if let v: Float = try p.value("lr") { c.learningRate = v }
    if let v: Float = try p.value("min-lr") { c.minLearningRate = v }
    if let v: Int = try p.value("warmup") { c.warmupSteps = v }
    if let v: Float = try p.value("weight-decay") { c.weightDecay = v }
    if let v: Double = try p.value("grad-clip") { c.gradientClip = v }
    if let v: Float = try p.value("temperature") { c.temperature = v }
    if p.flag("learnable-temperature") { c.learnableTemperature = true }
    if p.flag("per-band-jitter") { c.augmentation.perBandJitter = true }
    if let v: Double = try p.value("max-days") { c.maxDays = v }
    if !p.strings("where").isEmpty {
      if case .failure(let e) = PairDatasetOptions.parseFilters(p.strings("where")) {
        throw p.usageError("--where \(e.location): expected KEY=VALUE")
      }
      c.itemFilters = p.strings("where")
    }
    if let v: Double = try p.value("max-cloud") { c.maxCloud = v }
    if let v: Double = try p.value("min-overlap") { c.minOverlap = v }
    if let v = p.string("s2-bands") {
      c.s2Bands = v.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
      if c.s2Bands.contains(where: \.isEmpty) || Set(c.s2Bands).count != c.s2Bands.count {
        throw p.usageError("--s2-bands must be a comma-separated list of distinct band names")
      }
    }
    if let v: Int = try p.value("decode-threads") { c.decodeThreads = v }
    if let v: Int = try p.value("blas-threads") { c.blasThreads = v }
    if let v: UInt64 = try p.value("seed") { c.seed = v }
    if let v: Int = try p.value("checkpoint-every") { c.checkpointEvery = v }
    if let v = p.string("on-error") { c.onError = v }
    if p.flag("sync-bn") { c.syncBatchNorm = true }
    if p.flag("gather-negatives") { c.gatherNegatives = true }
  }

  static func exitCode(_ status: RunStatus) -> Int32 {
    status == .interrupted ? ExitCode.interrupted : ExitCode.success
  }

  /// SIGINT/SIGTERM set the stop flag (the loop checkpoints after the current step); a second
  /// signal exits at once — `latest` still names a complete checkpoint.
  static func installSignalHandlers(
    stop: StopFlag, log: @escaping @Sendable (String) -> Void
  ) -> [any DispatchSourceSignal] {
    [SIGINT, SIGTERM].map { number in
      signal(number, SIG_IGN)
      let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
      source.setEventHandler {
        if stop.isSet {
          FileHandle.standardError.write(Data("\nsecond signal: exiting now\n".utf8))
          exit(ExitCode.interrupted)
        }
        stop.set()
        FileHandle.standardError.write(
          Data("\nstopping after the current step and writing a checkpoint…\n".utf8))
      }
      source.resume()
      return source
    }
  }

  static func report(_ s: RunSummary, directory: String, json: Bool, quiet: Bool) -> Int32 {
    if json {
      let encoder = JSONEncoder()
      encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
      if let data = try? encoder.encode(s) { print(String(decoding: data, as: UTF8.self)) }
    } else {
      let f = { (x: Double, d: Int) in String(format: "%.\(d)f", x) }
      print(
        "\(s.status.rawValue): step \(s.steps)/\(s.totalSteps) in \(f(s.wallSeconds, 1)) s  "
          + "loss \(s.meanLoss.map { f(Double($0), 4) } ?? "-")  "
          + "acc \(s.meanAccuracy.map { f(Double($0) * 100, 1) } ?? "-")%  "
          + "\(f(s.pairsPerSecond, 1)) pairs/s  \(f(s.stepsPerSecond, 2)) steps/s  "
          + "stall \(f(s.steadyStallPercent, 1))%")
      print("run directory: \(directory)")
    }
    switch s.status {
    case .interrupted:
      FileHandle.standardError.write(
        Data(
          ("interrupted at step \(s.steps); checkpoint written to \(s.checkpoint ?? directory)\n"
            + "resume with: tandem train --resume \(directory)\n").utf8))
      return ExitCode.interrupted
    case .dataExhausted:
      if !quiet {
        FileHandle.standardError.write(
          Data("the data stream ended before step \(s.totalSteps)\n".utf8))
      }
      return ExitCode.success
    case .completed:
      return ExitCode.success
    }
  }
}

/// What every data source shares when starting a run.
struct RunContext: Sendable {
  var config: TrainingConfig
  var directory: String
  var resume: Bool
  var stop: StopFlag
  var style: ProgressStyle
  var stopAfter: Int?
  var inMemory: Int?
  /// `--memory-cache`: size of each in-memory cache, `nil` for the loader's defaults.
  var memoryCacheBytes: Int?
  var log: @Sendable (String) -> Void
  var communicator: any Communicator

  func train<L: SampleLoader>(
    loader: L, sampler: WindowSampler, places: PlaceMap = PlaceMap(),
    io: (@Sendable () -> IOCounters)?
  ) async throws -> RunSummary {
    if let count = inMemory {
      log("preloading \(count) windows into memory…")
      let memory = try await InMemoryLoader.preload(from: loader, sampler: sampler, count: count)
      return try await run(loader: memory, sampler: sampler, places: places, io: nil)
    }
    return try await run(loader: loader, sampler: sampler, places: places, io: io)
  }

  private func run<L: SampleLoader>(
    loader: L, sampler: WindowSampler, places: PlaceMap, io: (@Sendable () -> IOCounters)?
  ) async throws -> RunSummary {
    let comm = communicator
    let run = try comm.together("preparing \(directory)") {
      try TrainingRun(
        config: config, loader: loader, sampler: sampler, directory: directory, resume: resume,
        stop: stop, progress: style, io: io, stopAfter: stopAfter, communicator: comm, log: log)
    }
    if comm.isDistributed { run.model.gradientObserver = DebugHooks.observer(rank: comm.rank) }
    run.model.places = places
    if config.pairing == .shuffled {
      log(
        "pairing: shuffled (negative control): each S2 window's positive is the S1 window of "
          + "another place in the batch, reassigned every step")
    }
    log(
      "training \(config.mode.rawValue)\(config.mode == .simclr ? "/" + config.modality.rawValue : "") "
        + "\(config.model.rawValue) for \(run.config.steps) steps of \(config.batch) × "
        + "\(config.size)² (\(sampler.samplesPerEpoch) windows per epoch) → \(directory)")
    return try await run.run()
  }
}
