import Foundation
import NN
import STAC
import TandemBase

/// What the positives of the contrastive loss are.
public enum TrainingMode: String, Codable, Sendable, CaseIterable {
  /// Dual encoder; positives are the S1 and S2 windows of the same place and near time
  /// (symmetric InfoNCE — the paper's method).
  case multimodal
  /// Single encoder; positives are two augmented views of the same window (the baseline).
  case simclr
}

/// The sensor a single-encoder run learns from.
public enum Modality: String, Codable, Sendable, CaseIterable {
  case s1
  case s2
}

/// Model size preset (see ``EncoderConfig/small(inChannels:)`` and ``EncoderConfig/tiny(inChannels:)``).
public enum ModelSize: String, Codable, Sendable, CaseIterable {
  case small
  case tiny
}

/// Everything that determines a training run. Saved as `config.json` in the run directory; a
/// run is reproduced from it (`tandem train --config RUN/config.json`) and resumed only with an
/// equal ``identity`` (see ``differences(from:)``).
public struct TrainingConfig: Codable, Sendable, Equatable {
  /// STAC catalog or item collection (path or URL) the pairs come from; with ``search``, a STAC
  /// API's landing page or `/search` URL.
  public var catalog: String = ""
  /// The STAC API item search whose results are trained on (`--bbox`, `--datetime`, …).
  public var search: STACSearch? = nil
  /// Its request method (`nil`: POST, or what the API's search link offers).
  public var searchMethod: STACSearch.Method? = nil
  public var mode: TrainingMode = .multimodal
  /// Multimodal positives: the aligned S1/S2 pair (the method) or the shuffled-pair control.
  public var pairing: PositivePairing = .aligned
  /// Sensor of the SimCLR baseline (ignored by `multimodal`).
  public var modality: Modality = .s2
  public var model: ModelSize = .small
  /// Window edge in pixels.
  public var size: Int = 128
  /// Samples (pairs, or windows for SimCLR) per step.
  public var batch: Int = 32
  /// Optimizer steps in the run (resolved from ``epochs`` when that is set).
  public var steps: Int = 1000
  /// Passes over the sampler's epoch instead of a step count (`nil` = use ``steps``).
  public var epochs: Int? = nil
  /// Peak learning rate (after warmup).
  public var learningRate: Float = 1e-3
  /// Learning rate at the end of the cosine decay.
  public var minLearningRate: Float = 0
  /// Linear warmup steps.
  public var warmupSteps: Int = 50
  /// AdamW decoupled weight decay.
  public var weightDecay: Float = 0.05
  /// InfoNCE temperature τ (initial value when learnable).
  public var temperature: Float = 0.1
  /// Whether τ is trained.
  public var learnableTemperature: Bool = false
  /// Global gradient-norm clip (0 disables).
  public var gradientClip: Double = 1.0
  /// Seed of weights, window order and augmentations.
  public var seed: UInt64 = 0
  /// Pairing: maximum |Δt| between S1 and S2 acquisitions, in days.
  public var maxDays: Double = 3
  /// Pairing: maximum S2 cloud cover, percent.
  public var maxCloud: Double = 20
  /// Pairing: minimum footprint overlap, fraction of the smaller footprint.
  public var minOverlap: Double = 0.1
  /// Item filters `KEY=VALUE` applied before pairing (e.g. `tandem:role=pretrain`).
  public var itemFilters: [String] = []
  /// S2 bands, in channel order.
  public var s2Bands: [String] = ["B02", "B03", "B04", "B08"]
  /// SimCLR augmentations.
  public var augmentation = AugmentationConfig()
  /// Compute (BLAS and layer) threads. Results are bit-identical only at equal thread counts.
  public var blasThreads: Int = 2
  /// Decode worker threads of the pipeline (does not change results).
  public var decodeThreads: Int = 2
  /// Write a checkpoint every this many steps (a final one is always written).
  public var checkpointEvery: Int = 500
  /// `skip` or `fail` on fetch/decode errors.
  public var onError: String = "skip"
  /// Data-parallel runs: synchronized BatchNorm (statistics of the global batch, summed over
  /// ranks in forward and backward). No effect in a single process.
  public var syncBatchNorm: Bool = false
  /// Data-parallel runs: all-gather the embeddings so InfoNCE contrasts against the global
  /// batch (gradients flow back through the gather). No effect in a single process.
  public var gatherNegatives: Bool = false

  public init() {}

  /// Fields added after the first runs, with the value those runs had: they join ``identity``
  /// only when they differ from it, so configs (and checkpoint hashes) of earlier runs stay
  /// valid.
  static let optionalIdentityDefaults: [String: String] = [
    "syncBatchNorm": "false", "gatherNegatives": "false", "pairing": "\"aligned\"",
  ]

  /// `d` without the optional identity fields that hold their default.
  static func droppingDefaultOptionals(_ d: [String: Any]) -> [String: Any] {
    d.filter { key, value in optionalIdentityDefaults[key].map { render(value) != $0 } ?? true }
  }

  /// Fields that may differ between a run and its resumption: they change how fast and how
  /// verbosely a run goes, never its numbers.
  public static let runtimeFields: Set<String> = ["decodeThreads", "checkpointEvery", "onError"]

  /// Encoder forward passes per step, the same for every mode so budgets compare fairly:
  /// multimodal runs B S1 + B S2 windows, SimCLR runs 2 × B views.
  public var imagesPerStep: Int { 2 * batch }

  /// Decodes a (possibly partial) config: missing keys keep their defaults, unknown keys are an
  /// error (they are usually typos).
  public static func decode(_ data: Data, source: String) throws -> TrainingConfig {
    guard let overlay = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
      throw TrainingError(path: source, reason: "not a JSON object")
    }
    var base = try TrainingConfig().dictionary()
    let unknown = overlay.keys.filter { base[$0] == nil && $0 != "epochs" }.sorted()
    guard unknown.isEmpty else {
      throw TrainingError(
        path: source,
        reason: "unknown keys \(unknown); known keys: \(base.keys.sorted().joined(separator: ", "))"
      )
    }
    for (k, v) in overlay { base[k] = v }
    do {
      let merged = try JSONSerialization.data(withJSONObject: base)
      return try JSONDecoder().decode(TrainingConfig.self, from: merged)
    } catch let DecodingError.typeMismatch(_, context) {
      throw TrainingError(
        path: source,
        reason: "wrong type at \(context.codingPath.map(\.stringValue).joined(separator: "."))")
    } catch let DecodingError.dataCorrupted(context) {
      throw TrainingError(
        path: source,
        reason:
          "bad value at \(context.codingPath.map(\.stringValue).joined(separator: ".")): \(context.debugDescription)"
      )
    } catch {
      throw TrainingError(path: source, reason: "\(error)")
    }
  }

  /// Reads a config file written by a run (or by hand).
  public static func load(path: String) throws -> TrainingConfig {
    guard let data = FileManager.default.contents(atPath: path) else {
      throw TrainingError(path: path, reason: "cannot read config file")
    }
    return try decode(data, source: path)
  }

  /// Pretty, key-sorted JSON (stable across runs, so configs diff cleanly).
  /// The catalog URL is stored redacted (``TandemBase/Redaction/url(_:)``): a signed URL's
  /// signature and tokens never reach the run directory, so resuming such a run takes
  /// `--catalog` again (a freshly signed URL of the same object is the same run).
  public func json() -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    return String(decoding: try! encoder.encode(redacted), as: UTF8.self) + "\n"
  }

  /// This config with secrets removed from the catalog location.
  public var redacted: TrainingConfig {
    var copy = self
    copy.catalog = Redaction.url(catalog)
    return copy
  }

  func dictionary() throws -> [String: Any] {
    let data = try JSONEncoder().encode(redacted)
    return (try JSONSerialization.jsonObject(with: data) as? [String: Any]) ?? [:]
  }

  /// The fields that determine the numbers of a run, as canonical JSON.
  public var identity: String {
    var d = (try? dictionary()) ?? [:]
    for k in Self.runtimeFields { d.removeValue(forKey: k) }
    d = Self.droppingDefaultOptionals(d)
    let data = try! JSONSerialization.data(withJSONObject: d, options: [.sortedKeys])
    return String(decoding: data, as: UTF8.self)
  }

  /// A 64-bit FNV-1a hash of ``identity``, hex; stored in every checkpoint.
  public var hash: String {
    String(FNV1a64.hash(identity), radix: 16)
  }

  /// Names and values of identity fields that differ, e.g. `["batch: 32 ≠ 16"]`.
  public func differences(from other: TrainingConfig) -> [String] {
    // Both sides hold every field (decoded configs get defaults for missing keys), so an optional
    // identity field at its default compares equal to one at its default.
    let a = (try? dictionary()) ?? [:]
    let b = (try? other.dictionary()) ?? [:]
    var out: [String] = []
    for key in Set(a.keys).union(b.keys).sorted() where !Self.runtimeFields.contains(key) {
      let va = a[key].map(Self.render) ?? "null"
      let vb = b[key].map(Self.render) ?? "null"
      if va != vb { out.append("\(key): \(vb) (saved) ≠ \(va) (given)") }
    }
    return out
  }

  private static func render(_ value: Any) -> String {
    if let data = try? JSONSerialization.data(
      withJSONObject: value, options: [.sortedKeys, .fragmentsAllowed])
    {
      return String(decoding: data, as: UTF8.self)
    }
    return "\(value)"
  }

  /// Upper bounds, far past any real run, so that the run's arithmetic cannot overflow:
  /// window areas and batch tensors (`batch × channels × size²`), `epochs × samples per epoch`,
  /// and the samples counted over `steps × batch`.
  public static let maxSize = 4096
  public static let maxBatch = 65536
  public static let maxSteps = 1_000_000_000
  public static let maxEpochs = 1_000_000

  /// Checks ranges; returns a message for the first bad field.
  public func validationError() -> String? {
    if size < 16 || size > Self.maxSize {
      return "--size must be between 16 and \(Self.maxSize) (got \(size))"
    }
    if batch < 2 { return "--batch must be at least 2: InfoNCE needs negatives (got \(batch))" }
    if batch > Self.maxBatch { return "--batch must be at most \(Self.maxBatch) (got \(batch))" }
    if steps < 1 && epochs == nil { return "--steps must be positive (got \(steps))" }
    if steps > Self.maxSteps {
      return "--steps must be at most \(Self.maxSteps) (got \(steps)"
        + (epochs == nil ? ")" : " from --epochs)")
    }
    if let e = epochs, e < 1 || e > Self.maxEpochs {
      return "--epochs must be between 1 and \(Self.maxEpochs) (got \(e))"
    }
    if !(learningRate > 0) { return "--lr must be positive" }
    if minLearningRate < 0 || minLearningRate > learningRate {
      return "min learning rate must be in [0, lr]"
    }
    if warmupSteps < 0 { return "--warmup must be >= 0" }
    if weightDecay < 0 { return "--weight-decay must be >= 0" }
    if !(temperature > 0) { return "--temperature must be positive" }
    if pairing == .shuffled && mode != .multimodal {
      return "--pairing shuffled is a multimodal control; SimCLR has no S1/S2 pairs"
    }
    if gradientClip < 0 { return "gradient clip must be >= 0" }
    if blasThreads < 1 { return "--blas-threads must be at least 1" }
    if decodeThreads < 1 { return "--decode-threads must be at least 1" }
    if checkpointEvery < 1 { return "--checkpoint-every must be at least 1" }
    if onError != "skip" && onError != "fail" { return "--on-error must be skip or fail" }
    if s2Bands.isEmpty { return "--s2-bands must name at least one band" }
    if maxDays < 0 { return "--max-days must be >= 0" }
    if maxCloud < 0 || maxCloud > 100 { return "--max-cloud must be in 0…100" }
    if minOverlap < 0 || minOverlap > 1 { return "--min-overlap must be in 0…1" }
    return augmentation.validationError()
  }

  /// Encoder of one modality with `channels` input bands.
  func encoderConfig(channels: Int) -> EncoderConfig {
    switch model {
    case .small: return .small(inChannels: channels)
    case .tiny: return .tiny(inChannels: channels)
    }
  }
}

/// A training run failed; names the file or run directory and the cause.
public struct TrainingError: Error, CustomStringConvertible, Sendable {
  /// The file, directory or catalog concerned.
  public var path: String
  /// What went wrong.
  public var reason: String

  public init(path: String, reason: String) {
    self.path = path
    self.reason = reason
  }

  /// The description before ``TandemBase/Redaction/text(_:)``.
  var unredactedDescription: String { "\(path): \(reason)" }
}

extension TrainingError {
  /// Human-readable, with URL secrets, tokens and registered credentials removed.
  public var description: String { Redaction.text(unredactedDescription) }
}
