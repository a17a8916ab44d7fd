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
  /// Task and encoder modality (nil: S2 for land cover, S1 for flood).
  public var task: ProbeTask
  public var modality: Modality?
  /// Window edge (nil: the run's `--size`; 128 for random).
  public var windowSize: Int?
  /// Model size for `random` (nil: small; a run uses its own).
  public var model: ModelSize?
  /// Seed of the probe pixel draw and of the random init.
  public var seed: UInt64
  /// I/O options for the catalog and COGs.
  public var sourceOptions: SourceOptions

  /// Creates a request.
  public init(
    checkpoint: String, catalog: String, task: ProbeTask, modality: Modality? = nil,
    windowSize: Int? = nil, model: ModelSize? = nil, seed: UInt64 = 0,
    sourceOptions: SourceOptions = SourceOptions()
  ) {
    self.checkpoint = checkpoint
    self.catalog = catalog
    self.task = task
    self.modality = modality
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

/// Runs one evaluation: frozen encoder → labelled windows split by tile → probes → report.
public enum EvaluationRun {
  /// Loads the encoder and the windows, fits the probes and scores them. `log` gets progress.
  public static func run(
    _ request: EvaluationRequest, log: (String) -> Void = { _ in }
  ) async throws -> EvaluationReport {
    let started = Date()
    let modality = request.modality ?? (request.task == .flood ? .s1 : .s2)
    let isRandom = request.checkpoint == "random"
    let frozen: FrozenEncoder
    if isRandom {
      frozen = FrozenEncoder.random(
        model: request.model ?? .small, modality: modality, s2Bands: TrainingConfig().s2Bands,
        seed: request.seed)
    } else {
      frozen = try FrozenEncoder.load(runDirectory: request.checkpoint, modality: modality)
    }
    let config = frozen.config
    let size = request.windowSize ?? (isRandom ? 128 : config.size)
    guard size >= 16 && size % 16 == 0 else {
      throw TrainingError(
        path: request.checkpoint, reason: "window size \(size) is not a multiple of 16")
    }
    let catalog = request.catalog
    let dataset = try await config.openPairs(
      catalog: catalog, sourceOptions: request.sourceOptions)
    let items = try await STACLoader(
      fetcher: ByteSourceFetcher(options: request.sourceOptions),
      options: LoadOptions(remote: request.sourceOptions.remote)
    ).loadItems(from: catalog).items

    let normalization: Normalization
    if isRandom {
      log("estimating per-band normalization from 32 windows…")
      normalization = try await NormalizationEstimator.estimate(
        dataset: dataset, windowSize: size, samples: 32, seed: request.seed,
        sourceOptions: request.sourceOptions)
    } else {
      let path = request.checkpoint + "/normalization.json"
      guard let data = FileManager.default.contents(atPath: path) else {
        throw TrainingError(path: path, reason: "missing (the run's saved normalization)")
      }
      do {
        normalization = try JSONDecoder().decode(Normalization.self, from: data)
      } catch {
        throw TrainingError(path: path, reason: "invalid normalization: \(error)")
      }
    }

    log("reading \(size) px labelled windows of probe-train and test tiles…")
    let split = try await ProbeDatasetBuilder.build(
      task: request.task, dataset: dataset, items: items, normalization: normalization,
      windowSize: size, sourceOptions: request.sourceOptions, requireClearS2: modality == .s2)
    guard !split.train.isEmpty, !split.test.isEmpty else {
      throw PipelineError(
        location: catalog,
        message:
          "no labelled windows on \(split.train.isEmpty ? "probe-train" : "test") tiles "
          + "(\(split.train.count) train, \(split.test.count) test windows; skipped \(split.skipped))"
      )
    }
    if isRandom {
      // Random init with BN statistics calibrated on data (on probe-train windows only).
      frozen.calibrateBatchNorm(on: split.train)
    }
    let name =
      isRandom
      ? "encoder \(modality.rawValue) (random init)"
      : "encoder \(modality.rawValue) (\(config.mode.rawValue))"
    log("fitting probes on \(split.train.count) windows, testing on \(split.test.count)…")
    let options = Evaluator.Options(seed: request.seed)
    let results =
      request.task == .landcover
      ? Evaluator.landcover(encoder: frozen, split: split, name: name, options: options)
      : Evaluator.flood(encoder: frozen, split: split, name: name, options: options)
    var report = EvaluationReport(
      task: request.task, checkpoint: request.checkpoint, origin: frozen.origin,
      modality: modality.rawValue, windowSize: size, seed: request.seed, split: split,
      results: results, seconds: Date().timeIntervalSince(started))
    if !isRandom && sameCatalog(config.catalog, catalog) && !Self.pretrainedOnPretrainOnly(config) {
      // Without a role filter `tandem train` reads every pair of its catalog.
      report.warnings.append(
        "the run pretrained on this catalog including the probe-train and test tiles' imagery "
          + "(no labels); train with --where tandem:role=pretrain to keep them out")
    }
    return report
  }

  /// Whether the run's item filters restrict `tandem:role` to `pretrain`.
  static func pretrainedOnPretrainOnly(_ config: TrainingConfig) -> Bool {
    guard case .success(let filters) = PairDatasetOptions.parseFilters(config.itemFilters),
      let roles = filters["tandem:role"]
    else { return false }
    return roles == ["pretrain"]
  }
}
