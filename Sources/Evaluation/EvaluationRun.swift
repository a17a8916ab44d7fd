import Foundation
import NN
import Pairing
import Pipeline
import RangeIO
import STAC
import Training

/// Everything `tandem eval` needs, as values.
public struct EvaluationRequest: Sendable {
  /// `RUN_DIR` of a `tandem train` run, or `random`.
  public var checkpoint: String
  /// Catalog with imagery and `labels` items.
  public var catalog: String
  /// Task and probe input (nil: S2 for land cover, S1 for flood).
  public var task: ProbeTask
  public var input: ProbeInput?
  /// Linear probe or trained segmentation head.
  public var probe: ProbeKind
  /// Fraction of probe-train locations used to fit the probe (0 < F ≤ 1; seeded subset).
  public var trainFraction: Double
  /// Window edge (nil: the run's `--size`; 128 for random).
  public var windowSize: Int?
  /// Model size for `random` (nil: small; a run uses its own).
  public var model: ModelSize?
  /// Seed of the probe pixel draw and of the random init.
  public var seed: UInt64
  /// I/O options for the catalog and COGs.
  public var sourceOptions: SourceOptions
  /// For random init: a run whose pairing thresholds and S2 bands to use, so that a comparison
  /// reads the same windows for every checkpoint (nil: `tandem train`'s defaults).
  public var reference: TrainingConfig?
  /// Class weights of the trained per-pixel probes (`head`, `unet`); the linear probes ignore it.
  public var classWeighting: ClassWeighting = .none

  /// Creates a request.
  public init(
    checkpoint: String, catalog: String, task: ProbeTask, input: ProbeInput? = nil,
    probe: ProbeKind = .linear, trainFraction: Double = 1, windowSize: Int? = nil,
    model: ModelSize? = nil, seed: UInt64 = 0, sourceOptions: SourceOptions = SourceOptions()
  ) {
    self.checkpoint = checkpoint
    self.catalog = catalog
    self.task = task
    self.input = input
    self.probe = probe
    self.trainFraction = trainFraction
    self.windowSize = windowSize
    self.model = model
    self.seed = seed
    self.sourceOptions = sourceOptions
  }
}

/// Whether two catalog locations name the same file (paths standardized) or URL.
func sameCatalog(_ a: String, _ b: String) -> Bool {
  if a.contains("://") || b.contains("://") { return a == b }
  return URL(fileURLWithPath: a).standardizedFileURL.path
    == URL(fileURLWithPath: b).standardizedFileURL.path
}

/// Runs evaluations: frozen encoder → labelled windows split by tile → probes → report.
public enum EvaluationRun {
  /// Loads the encoder and the windows, fits the probes and scores them. `log` gets progress.
  public static func run(
    _ request: EvaluationRequest, log: (String) -> Void = { _ in }
  ) async throws -> EvaluationReport {
    var session = Session()
    return try await session.run(request, log: log)
  }

  /// Evaluates several requests (e.g. checkpoints of one comparison) in order. Requests that need
  /// the same windows (catalog, size, pairing, bands, cloud screening) read them once: windows
  /// are kept in the loader's units (S1 dB, S2 reflectance) and standardized per checkpoint,
  /// which gives bit-identical inputs to reading them with that checkpoint's normalization.
  public static func run(
    _ requests: [EvaluationRequest], log: (String, EvaluationRequest) -> Void = { _, _ in }
  ) async throws -> [EvaluationReport] {
    var session = Session()
    var reports: [EvaluationReport] = []
    for request in requests {
      reports.append(try await session.run(request) { log($0, request) })
    }
    return reports
  }

  /// `random` or `random:SEED`: the init seed (nil: the request's seed); nil for a run directory.
  static func randomSeed(_ checkpoint: String, default seed: UInt64) -> UInt64?? {
    if checkpoint == "random" { return .some(nil) }
    guard checkpoint.hasPrefix("random:") else { return nil }
    return .some(UInt64(checkpoint.dropFirst("random:".count)))
  }

  /// Windows read once and shared by the requests of one session.
  struct Session {
    struct WindowKey: Hashable {
      var catalog: String
      var size: Int
      var s2Bands: [String]
      var pairing: [Double]
      var task: ProbeTask
      var requireClearS2: Bool
      var s1ToDecibels: Bool
      var s2Scale: Float
    }
    struct Windows {
      var dataset: PairDataset?
      var split: ProbeSplit
      var units: Normalization
    }
    var windows: [WindowKey: Windows] = [:]
    var datasets: [String: PairDataset] = [:]
    var items: [String: [Item]] = [:]

    mutating func run(
      _ request: EvaluationRequest, log: (String) -> Void
    ) async throws -> EvaluationReport {
      let started = Date()
      let input = request.input ?? (request.task == .flood ? .s1 : .s2)
      guard request.trainFraction > 0 && request.trainFraction <= 1 else {
        throw TrainingError(
          path: request.checkpoint,
          reason: "train fraction \(request.trainFraction) is not in (0, 1]")
      }
      let random = EvaluationRun.randomSeed(request.checkpoint, default: request.seed)
      let isRandom = random != nil
      if case .some(.none) = random, request.checkpoint != "random" {
        throw TrainingError(
          path: request.checkpoint, reason: "expected random or random:SEED (SEED an integer)")
      }
      let initSeed = (random ?? nil) ?? request.seed
      let reference = request.reference ?? TrainingConfig()
      let frozen = ProbeFeatures(
        input: input,
        encoders: isRandom
          ? FrozenEncoder.random(
            model: request.model ?? .small, modalities: input.modalities,
            s2Bands: reference.s2Bands, seed: initSeed)
          : try FrozenEncoder.load(runDirectory: request.checkpoint, modalities: input.modalities))
      var config = frozen.config
      if isRandom {
        // Same pairs as the reference run: same thresholds (and, above, the same S2 bands).
        config.maxDays = reference.maxDays
        config.maxCloud = reference.maxCloud
        config.minOverlap = reference.minOverlap
      }
      let size = request.windowSize ?? (isRandom ? 128 : config.size)
      guard size >= 16 && size % 16 == 0 else {
        throw TrainingError(
          path: request.checkpoint, reason: "window size \(size) is not a multiple of 16")
      }
      let catalog = request.catalog
      if items[catalog] == nil {
        items[catalog] = try await STACLoader(
          fetcher: ByteSourceFetcher(options: request.sourceOptions),
          options: LoadOptions(remote: request.sourceOptions.remote)
        ).loadItems(from: catalog).items
      }
      let chips = ChipDatasetBuilder.chips(in: items[catalog] ?? [])
      var split: ProbeSplit
      if !chips.isEmpty {
        split = try await chipSplit(
          chips, request: request, input: input, size: size, isRandom: isRandom, log: log)
      } else {
        split = try await pairSplit(
          request, config: config, input: input, size: size, isRandom: isRandom,
          initSeed: initSeed, log: log)
      }
      guard !split.train.isEmpty, !split.test.isEmpty else {
        throw PipelineError(
          location: catalog,
          message:
            "no labelled windows on \(split.train.isEmpty ? "probe-train" : "test") tiles "
            + "(\(split.train.count) train, \(split.test.count) test windows; skipped \(split.skipped))"
        )
      }
      let trainLocations = split.trainLocations
      if request.trainFraction < 1 {
        split.train = split.subsetOfTrainLocations(
          fraction: request.trainFraction, seed: request.seed)
        log(
          "using \(split.trainLocations) of \(trainLocations) probe-train locations "
            + "(--train-fraction \(request.trainFraction))")
      }
      if isRandom {
        // Random init with BN statistics calibrated on data (on probe-train windows only).
        frozen.calibrateBatchNorm(on: split.train)
      }
      let name =
        isRandom
        ? "encoder \(input.label) (random init)"
        : "encoder \(input.label) (\(config.mode.rawValue))"
      log("fitting probes on \(split.train.count) windows, testing on \(split.test.count)…")
      var options = Evaluator.Options(seed: request.seed)
      options.head.classWeighting = request.classWeighting
      options.unet.classWeighting = request.classWeighting
      // The per-pixel baseline beside a head or U-Net (a 1×1 head on the input: a linear probe)
      // is weighted the same way, so the comparison stays fair.
      if request.probe != .linear && request.classWeighting == .balanced {
        options.probe.balanced = true
      }
      let results =
        request.task == .landcover && request.probe == .linear
        ? Evaluator.landcover(encoder: frozen, split: split, name: name, options: options)
        : Evaluator.pixelwise(
          encoder: frozen, split: split, task: request.task, probe: request.probe, name: name,
          options: options)
      var report = EvaluationReport(
        task: request.task, checkpoint: request.checkpoint, origin: frozen.origin,
        modality: input.label, windowSize: size, seed: request.seed, split: split,
        results: results, seconds: Date().timeIntervalSince(started))
      report.probe = request.probe
      report.trainFraction = request.trainFraction
      if request.probe != .linear { report.classWeighting = request.classWeighting }
      report.mode = isRandom ? "random" : config.mode.rawValue
      report.testLocations = split.testLocations
      report.trainLocations = split.trainLocations
      if !isRandom && sameCatalog(config.catalog, catalog)
        && !EvaluationRun.pretrainedOnPretrainOnly(config)
      {
        // Without a role filter `tandem train` reads every pair of its catalog.
        report.warnings.append(
          "the run pretrained on this catalog including the probe-train and test tiles' imagery "
            + "(no labels); train with --where tandem:role=pretrain to keep them out")
      }
      return report
    }

    /// Windows of S1/S2 pairs on probe-train and test tiles, standardized for the checkpoint.
    mutating func pairSplit(
      _ request: EvaluationRequest, config: TrainingConfig, input: ProbeInput, size: Int,
      isRandom: Bool, initSeed: UInt64, log: (String) -> Void
    ) async throws -> ProbeSplit {
      let catalog = request.catalog
      let pairing = [config.maxDays, config.maxCloud, config.minOverlap]
      let datasetKey = ([catalog] + config.s2Bands + pairing.map { "\($0)" }).joined(separator: "|")
      let dataset: PairDataset
      if let open = datasets[datasetKey] {
        dataset = open
      } else {
        dataset = try await config.openPairs(catalog: catalog, sourceOptions: request.sourceOptions)
        datasets[datasetKey] = dataset
      }
      let normalization: Normalization
      if isRandom {
        log("estimating per-band normalization from 32 windows…")
        normalization = try await NormalizationEstimator.estimate(
          dataset: dataset, windowSize: size, samples: 32, seed: initSeed,
          sourceOptions: request.sourceOptions)
      } else {
        normalization = try RunDirectory(path: request.checkpoint).loadNormalization(
          s1Channels: dataset.channels.s1, s2Channels: dataset.channels.s2)
      }
      let key = WindowKey(
        catalog: catalog, size: size, s2Bands: config.s2Bands, pairing: pairing,
        task: request.task, requireClearS2: input.modalities.contains(.s2),
        s1ToDecibels: normalization.s1ToDecibels, s2Scale: normalization.s2Scale)
      if windows[key] == nil {
        log("reading \(size) px labelled windows of probe-train and test tiles…")
        var units = Normalization.identity(
          s1Channels: normalization.s1Mean.count, s2Channels: normalization.s2Mean.count,
          s1ToDecibels: normalization.s1ToDecibels)
        units.s2Scale = normalization.s2Scale
        let split = try await ProbeDatasetBuilder.build(
          task: request.task, dataset: dataset, items: items[catalog] ?? [], normalization: units,
          windowSize: size, sourceOptions: request.sourceOptions,
          requireClearS2: key.requireClearS2, keepsInvalidAsNaN: true)
        windows[key] = Windows(dataset: dataset, split: split, units: units)
      }
      return windows[key]!.split.standardized(with: normalization)
    }

    /// Windows of Sen1Floods11-layout chips (S1 in dB), split west/east, standardized with the
    /// run's S1 statistics, or for random init with the statistics of the training halves.
    mutating func chipSplit(
      _ chips: [Item], request: EvaluationRequest, input: ProbeInput, size: Int, isRandom: Bool,
      log: (String) -> Void
    ) async throws -> ProbeSplit {
      let catalog = request.catalog
      guard request.task == .flood else {
        throw PipelineError(
          location: catalog,
          message:
            "the catalog holds Sen1Floods11-layout chips (water labels only): use --task flood")
      }
      guard input == .s1 else {
        throw PipelineError(
          location: catalog,
          message:
            "Sen1Floods11-layout chips are probed on S1 only (S2Hand is 13-band L1C, unlike the "
            + "S2 encoder's input): use --modality s1")
      }
      let key = WindowKey(
        catalog: catalog, size: size, s2Bands: [], pairing: [], task: .flood,
        requireClearS2: false, s1ToDecibels: false, s2Scale: 1)
      if windows[key] == nil {
        log("reading \(size) px windows of \(chips.count) Sen1Floods11-layout chip(s)…")
        let split = try await ChipDatasetBuilder.build(
          chips: chips, windowSize: size, sourceOptions: request.sourceOptions)
        windows[key] = Windows(
          dataset: nil, split: split,
          units: .identity(s1Channels: 2, s2Channels: 0, s1ToDecibels: false))
      }
      let units = windows[key]!.split
      var normalization: Normalization
      if isRandom {
        let (mean, std) = ChipDatasetBuilder.s1Statistics(units.train)
        normalization = Normalization(
          s1ToDecibels: false, s1Mean: mean, s1Std: std, s2Mean: [], s2Std: [])
      } else {
        // The chips have VV and VH; their S2 is not probed.
        normalization = try RunDirectory(path: request.checkpoint).loadNormalization(
          s1Channels: 2, s2Channels: nil)
        normalization.s1ToDecibels = false  // the chips are in dB already
      }
      return units.standardized(with: normalization)
    }
  }

  /// Whether the run's item filters restrict `tandem:role` to `pretrain`.
  static func pretrainedOnPretrainOnly(_ config: TrainingConfig) -> Bool {
    guard case .success(let filters) = PairDatasetOptions.parseFilters(config.itemFilters),
      let roles = filters["tandem:role"]
    else { return false }
    return roles == ["pretrain"]
  }
}
