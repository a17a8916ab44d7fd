import Foundation
import NN
import Pipeline
import Training

/// What a probe reads: one sensor, or both (a multimodal run's two encoders side by side).
public enum ProbeInput: String, Sendable, CaseIterable, Codable {
  case s1
  case s2
  /// S1 and S2 together: input bands and encoder features concatenated (S1 first).
  case s1s2

  /// Parses `s1`, `s2`, `s1s2` or `s1+s2`.
  public init?(argument: String) {
    if argument == "s1+s2" {
      self = .s1s2
    } else {
      self.init(rawValue: argument)
    }
  }

  /// The encoders it needs, in feature order.
  public var modalities: [Modality] {
    switch self {
    case .s1: [.s1]
    case .s2: [.s2]
    case .s1s2: [.s1, .s2]
    }
  }

  /// Display name (`s1`, `s2`, `s1+s2`).
  public var label: String { self == .s1s2 ? "s1+s2" : rawValue }
}

/// The frozen encoder(s) behind one probe input, with their features concatenated along the
/// channel axis (S1 first). With one encoder this is exactly that encoder.
public struct ProbeFeatures {
  /// One encoder per modality of `input`, in order.
  public let encoders: [FrozenEncoder]
  /// Which sensors.
  public let input: ProbeInput

  /// Wraps encoders loaded for `input.modalities`.
  public init(input: ProbeInput, encoders: [FrozenEncoder]) {
    precondition(encoders.map(\.modality) == input.modalities, "encoders do not match the input")
    self.input = input
    self.encoders = encoders
  }

  /// Input bands (sum over encoders).
  public var inputChannels: Int { encoders.reduce(0) { $0 + $1.encoder.config.inChannels } }
  /// Feature dimension (sum over encoders).
  public var featureDimension: Int { encoders.reduce(0) { $0 + $1.featureDimension } }
  /// The first encoder's provenance (all come from one model).
  public var origin: String { encoders[0].origin }
  /// The run configuration of the model.
  public var config: TrainingConfig { encoders[0].config }

  /// `[inputChannels, size, size]` input planes of `window` (S1 bands, then S2 bands).
  public func input(_ window: ProbeWindow) -> [Float] {
    encoders.count == 1 ? encoders[0].input(window) : encoders.flatMap { $0.input(window) }
  }

  /// Calibrates every encoder's BatchNorm statistics on `windows` (random init only).
  public func calibrateBatchNorm(on windows: [ProbeWindow]) {
    for e in encoders { e.calibrateBatchNorm(on: windows) }
  }

  /// Pooled features `[count, featureDimension]`, in batches.
  public func pooledFeatures(_ windows: [ProbeWindow], batch: Int = 16) -> [Float] {
    guard encoders.count > 1 else { return encoders[0].pooledFeatures(windows, batch: batch) }
    let parts = encoders.map { $0.pooledFeatures(windows, batch: batch) }
    var out: [Float] = []
    out.reserveCapacity(windows.count * featureDimension)
    for i in 0..<windows.count {
      for (e, part) in zip(encoders, parts) {
        let d = e.featureDimension
        out += part[(i * d)..<((i + 1) * d)]
      }
    }
    return out
  }

  /// Feature maps of a batch of windows, concatenated along channels; by default the last ones:
  /// `[N, featureDimension, h, w]` (all encoders share the architecture, so h and w agree).
  /// With `stages` > 1, each encoder's last `stages` stage outputs at the finest of their
  /// resolutions (see ``FrozenEncoder/featureMap(_:stages:)``).
  public func featureMaps(_ windows: [ProbeWindow], stages: Int = 1) -> Tensor {
    let maps = encoders.map { $0.featureMap(windows, stages: stages) }
    return Self.concatenateChannels(maps)
  }

  /// Every stage's output, finest first, each encoder's maps concatenated along channels (see
  /// ``FrozenEncoder/stageMaps(_:)``).
  public func stageMaps(_ windows: [ProbeWindow]) -> [Tensor] {
    let perEncoder = encoders.map { $0.stageMaps(windows) }
    return (0..<perEncoder[0].count).map { s in
      Self.concatenateChannels(perEncoder.map { $0[s] })
    }
  }

  /// `(channels, h, w)` of each stage map of ``stageMaps(_:)`` for `size`-pixel windows.
  public func stageShapes(windowSize size: Int) -> [(c: Int, h: Int, w: Int)] {
    let widths = encoders[0].encoder.config.widths
    return widths.indices.map { s in
      let channels = encoders.reduce(0) { $0 + $1.encoder.config.widths[s] }
      let edge = size >> (s + 1)
      return (channels, edge, edge)
    }
  }

  /// Channels of ``featureMaps(_:stages:)``.
  public func featureMapChannels(stages: Int) -> Int {
    encoders.reduce(0) { $0 + $1.featureMapChannels(stages: stages) }
  }

  /// Per-pixel features `[N, featureDimension, H, W]`: the feature maps upsampled bilinearly to
  /// the window size (see ``FrozenEncoder/pixelFeatures(_:)``).
  public func pixelFeatures(_ windows: [ProbeWindow]) -> [Float] {
    let size = windows[0].size
    return Upsample(height: size, width: size).forward(featureMaps(windows)).values
  }

  /// `[N, Σ C_i, h, w]` from tensors `[N, C_i, h, w]`.
  static func concatenateChannels(_ parts: [Tensor]) -> Tensor {
    if parts.count == 1 { return parts[0] }
    let n = parts[0].dim(0)
    let plane = parts[0].dim(2) * parts[0].dim(3)
    let channels = parts.reduce(0) { $0 + $1.dim(1) }
    let out = Tensor(shape: [n, channels, parts[0].dim(2), parts[0].dim(3)])
    var offset = 0
    for i in 0..<n {
      for p in parts {
        precondition(p.dim(0) == n && p.dim(2) * p.dim(3) == plane, "feature maps disagree")
        let block = p.dim(1) * plane
        (out.data + offset).update(from: p.data + i * block, count: block)
        offset += block
      }
    }
    return out
  }
}
