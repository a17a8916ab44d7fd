import Foundation
import NN
import Pipeline
import Training

/// A frozen encoder for probing: one modality's encoder of a `tandem train` run (latest
/// checkpoint, with the run's saved normalization), or a random initialization.
///
/// Holds the whole model it came from, because layers reference the model's parameter store.
public final class FrozenEncoder {
  /// The encoder (evaluation mode: BatchNorm uses running statistics).
  public let encoder: Encoder
  /// The sensor the encoder reads.
  public let modality: Modality
  /// The run's configuration (for `random`, a default config with the chosen model size).
  public let config: TrainingConfig
  /// Where the weights came from: `RUN_DIR/step-N` or `random(seed)`.
  public let origin: String
  private let owner: ContrastiveTrainer

  private init(
    owner: ContrastiveTrainer, encoder: Encoder, modality: Modality, config: TrainingConfig,
    origin: String
  ) {
    self.owner = owner
    self.encoder = encoder
    self.modality = modality
    self.config = config
    self.origin = origin
    encoder.isTraining = false
  }

  /// The `modality` encoder of the run's latest checkpoint. A SimCLR run has one encoder; asking
  /// it for the other modality is an error.
  public static func load(runDirectory path: String, modality: Modality) throws -> FrozenEncoder {
    let run = RunDirectory(path: path)
    guard FileManager.default.fileExists(atPath: run.configPath) else {
      throw TrainingError(path: path, reason: "not a tandem train run directory (no config.json)")
    }
    let config = try TrainingConfig.load(path: run.configPath)
    guard let (directory, _) = try run.latestCheckpoint() else {
      throw TrainingError(path: path, reason: "the run has no checkpoint yet")
    }
    if config.mode == .simclr && config.modality != modality {
      throw TrainingError(
        path: path,
        reason:
          "SimCLR run on \(config.modality.rawValue) has no \(modality.rawValue) encoder; "
          + "use --modality \(config.modality.rawValue)")
    }
    let owner = ContrastiveTrainer(config: config, s2Channels: config.s2Bands.count)
    try owner.store.load(contentsOf: directory + "/model.safetensors")
    return FrozenEncoder(
      owner: owner, encoder: encoder(of: owner, modality), modality: modality, config: config,
      origin: directory)
  }

  /// A randomly initialized encoder (the multimodal model's `modality` encoder for `seed`).
  /// Call ``calibrateBatchNorm(on:batch:passes:)`` before probing: freshly initialized running
  /// statistics (mean 0, variance 1) do not match the activations.
  public static func random(
    model: ModelSize, modality: Modality, s2Bands: [String], seed: UInt64
  ) -> FrozenEncoder {
    var config = TrainingConfig()
    config.model = model
    config.seed = seed
    config.s2Bands = s2Bands
    let owner = ContrastiveTrainer(config: config, s2Channels: s2Bands.count)
    return FrozenEncoder(
      owner: owner, encoder: encoder(of: owner, modality), modality: modality, config: config,
      origin: "random(seed \(seed))")
  }

  private static func encoder(of owner: ContrastiveTrainer, _ modality: Modality) -> Encoder {
    if let dual = owner.dualEncoder { return modality == .s1 ? dual.s1 : dual.s2 }
    return owner.simclrModel!.encoder
  }

  /// The input pixels of `window` for this encoder's modality.
  public func input(_ window: ProbeWindow) -> [Float] { modality == .s1 ? window.s1 : window.s2 }

  /// Sets the BatchNorm running statistics from data: forwards `passes` batches of `windows` in
  /// training mode (BN momentum forgets the initial statistics), then returns to evaluation mode.
  /// Weights are untouched.
  public func calibrateBatchNorm(on windows: [ProbeWindow], batch: Int = 16, passes: Int = 30) {
    guard !windows.isEmpty else { return }
    encoder.isTraining = true
    defer { encoder.isTraining = false }
    var start = 0
    for _ in 0..<passes {
      let chunk = (0..<min(batch, windows.count)).map { windows[(start + $0) % windows.count] }
      start = (start + chunk.count) % windows.count
      encoder.forwardFeatures(tensor(chunk))
    }
  }

  /// `[N, C, H, W]` input of `windows`.
  func tensor(_ windows: [ProbeWindow]) -> Tensor {
    let size = windows[0].size
    let channels = encoder.config.inChannels
    var values: [Float] = []
    values.reserveCapacity(windows.count * channels * size * size)
    for w in windows { values += input(w) }
    return Tensor(shape: [windows.count, channels, size, size], values: values)
  }

  /// Pooled features `[count, featureDimension]` of `windows`, in batches.
  public func pooledFeatures(_ windows: [ProbeWindow], batch: Int = 16) -> [Float] {
    var out: [Float] = []
    for start in stride(from: 0, to: windows.count, by: batch) {
      let chunk = Array(windows[start..<min(start + batch, windows.count)])
      out += encoder.forwardFeatures(tensor(chunk)).values
    }
    return out
  }

  /// Per-pixel features of a batch of windows: the last feature map upsampled bilinearly to the
  /// window size, `[N, featureDimension, H, W]`. A linear probe on these is exactly a 1×1 head on
  /// the feature map followed by bilinear upsampling of its logits (both maps are linear and the
  /// bilinear weights sum to 1).
  public func pixelFeatures(_ windows: [ProbeWindow]) -> [Float] {
    encoder.forwardFeatures(tensor(windows))
    let size = windows[0].size
    return Upsample(height: size, width: size).forward(encoder.featureMap).values
  }

  /// Feature dimension.
  public var featureDimension: Int { encoder.config.featureDimension }
}
