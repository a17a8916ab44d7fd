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
    try load(runDirectory: path, modalities: [modality])[0]
  }

  /// The encoders of `modalities` (in that order) of the run's latest checkpoint, sharing one
  /// loaded model. Both modalities need a multimodal run.
  public static func load(
    runDirectory path: String, modalities: [Modality]
  ) throws -> [FrozenEncoder] {
    let run = RunDirectory(path: path)
    guard FileManager.default.fileExists(atPath: run.configPath) else {
      throw TrainingError(path: path, reason: "not a tandem train run directory (no config.json)")
    }
    let config = try run.loadConfig()
    guard let (directory, _) = try run.latestCheckpoint() else {
      throw TrainingError(path: path, reason: "the run has no checkpoint yet")
    }
    if config.mode == .simclr, let other = modalities.first(where: { $0 != config.modality }) {
      throw TrainingError(
        path: path,
        reason:
          "SimCLR run on \(config.modality.rawValue) has no \(other.rawValue) encoder; "
          + "use --modality \(config.modality.rawValue)")
    }
    let owner = ContrastiveTrainer(config: config, s2Channels: config.s2Bands.count)
    try owner.store.load(contentsOf: directory + "/model.safetensors")
    return modalities.map { modality in
      FrozenEncoder(
        owner: owner, encoder: encoder(of: owner, modality), modality: modality, config: config,
        origin: directory)
    }
  }

  /// A randomly initialized encoder (the multimodal model's `modality` encoder for `seed`).
  /// Call ``calibrateBatchNorm(on:batch:passes:)`` before probing: freshly initialized running
  /// statistics (mean 0, variance 1) do not match the activations.
  public static func random(
    model: ModelSize, modality: Modality, s2Bands: [String], seed: UInt64
  ) -> FrozenEncoder {
    random(model: model, modalities: [modality], s2Bands: s2Bands, seed: seed)[0]
  }

  /// The `modalities` encoders of one randomly initialized multimodal model.
  public static func random(
    model: ModelSize, modalities: [Modality], s2Bands: [String], seed: UInt64
  ) -> [FrozenEncoder] {
    var config = TrainingConfig()
    config.model = model
    config.seed = seed
    config.s2Bands = s2Bands
    let owner = ContrastiveTrainer(config: config, s2Channels: s2Bands.count)
    return modalities.map { modality in
      FrozenEncoder(
        owner: owner, encoder: encoder(of: owner, modality), modality: modality, config: config,
        origin: "random(seed \(seed))")
    }
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

  /// Feature maps of a batch of windows: the last `stages` stage outputs, each upsampled
  /// bilinearly to the finest of them and concatenated along channels (`stages` 1: a copy of the
  /// last map, `[N, featureDimension, H/16, W/16]`; 2: `[N, widths[-2] + widths[-1], H/8, W/8]`).
  public func featureMap(_ windows: [ProbeWindow], stages: Int = 1) -> Tensor {
    encoder.forwardFeatures(tensor(windows))
    let maps = Array(encoder.stageMaps.suffix(max(1, stages)))
    let (h, w) = (maps[0].dim(2), maps[0].dim(3))
    var parts: [Tensor] = []
    for map in maps {
      let part: Tensor
      if map.dim(2) == h && map.dim(3) == w {
        part = Tensor(shape: map.shape)
        part.copy(from: map)
      } else {
        let up = Upsample(height: h, width: w).forward(map)
        part = Tensor(shape: up.shape)
        part.copy(from: up)
      }
      parts.append(part)
    }
    return ProbeFeatures.concatenateChannels(parts)
  }

  /// Every stage's output for a batch of windows, finest first (strides 2, 4, 8, 16 for the
  /// four-stage encoders), as copies: `[N, widths[i], H/2^(i+1), W/2^(i+1)]`.
  public func stageMaps(_ windows: [ProbeWindow]) -> [Tensor] {
    encoder.forwardFeatures(tensor(windows))
    return encoder.stageMaps.map { map in
      let copy = Tensor(shape: map.shape)
      copy.copy(from: map)
      return copy
    }
  }

  /// Channels of ``featureMap(_:stages:)``.
  public func featureMapChannels(stages: Int) -> Int {
    encoder.config.widths.suffix(max(1, stages)).reduce(0, +)
  }

  /// Feature dimension.
  public var featureDimension: Int { encoder.config.featureDimension }
}
