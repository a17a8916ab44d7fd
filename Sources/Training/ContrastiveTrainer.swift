import Foundation
import NN
import Pipeline
import TandemBase

/// The outcome of one optimizer step.
public struct StepResult: Sendable, Equatable {
  /// Zero-based step index that was taken.
  public var step: Int
  public var loss: Float
  /// In-batch top-1 retrieval accuracy (both directions averaged).
  public var accuracy: Float
  public var temperature: Float
  /// Learning rate used.
  public var learningRate: Float
  /// Gradient norm before clipping.
  public var gradientNorm: Double
  /// Samples in the batch.
  public var samples: Int
}

/// Trains a contrastive model one batch at a time: multimodal (``DualEncoder``, symmetric InfoNCE
/// on S1/S2 pairs) or SimCLR (``SimCLRModel`` on two augmented views of one modality), with AdamW,
/// a warmup + cosine schedule and global gradient clipping.
///
/// A step is a pure function of (weights, optimizer state, batch, step index, seed), so a run that
/// is checkpointed and resumed produces exactly the weights of an uninterrupted one (at equal
/// compute thread count).
///
/// Batches must have the layout `[S1 [2,H,W], S2 [C,H,W]]` (parts 0 and 1).
public final class ContrastiveTrainer {
  /// The run's configuration.
  public let config: TrainingConfig
  /// Optimizer steps taken so far.
  public private(set) var step = 0
  /// The learning-rate schedule.
  public let schedule: CosineSchedule
  private let dual: DualEncoder?
  private let simclr: SimCLRModel?
  private let optimizer: AdamW
  private let augmenter: Augmenter
  private let x1 = Tensor(shape: [0])
  private let x2 = Tensor(shape: [0])
  private let scratch = Tensor(shape: [0])

  /// Builds the model for `config` with `s2Channels` S2 bands, initialized from `config.seed`.
  public init(config: TrainingConfig, s2Channels: Int) {
    self.config = config
    switch config.mode {
    case .multimodal:
      let model = DualEncoder(
        config: DualEncoderConfig(
          s1: config.encoderConfig(channels: 2), s2: config.encoderConfig(channels: s2Channels),
          temperature: config.temperature, learnableTemperature: config.learnableTemperature),
        seed: config.seed)
      dual = model
      simclr = nil
    case .simclr:
      let channels = config.modality == .s1 ? 2 : s2Channels
      let model = SimCLRModel(
        config: config.encoderConfig(channels: channels), temperature: config.temperature,
        learnableTemperature: config.learnableTemperature, seed: config.seed)
      dual = nil
      simclr = model
    }
    optimizer = AdamW(
      store: dual?.store ?? simclr!.store, learningRate: config.learningRate,
      weightDecay: config.weightDecay)
    schedule = CosineSchedule(
      baseLearningRate: config.learningRate, warmupSteps: config.warmupSteps,
      totalSteps: config.steps, minLearningRate: config.minLearningRate)
    augmenter = Augmenter(config: config.augmentation)
  }

  /// All parameters, gradients and buffers of the model.
  public var store: ParameterStore { dual?.store ?? simclr!.store }

  /// The multimodal model (nil for SimCLR).
  public var dualEncoder: DualEncoder? { dual }
  /// The SimCLR model (nil for multimodal).
  public var simclrModel: SimCLRModel? { simclr }

  /// Trains on the first `batch.count` samples of `batch` (at least 2).
  @discardableResult
  public func train(on batch: Batch) -> StepResult {
    let n = batch.count
    precondition(n >= 2, "a contrastive step needs at least two samples")
    let size = batch.layout.size
    let lr = schedule.learningRate(at: step)
    let r: ContrastiveStep
    switch config.mode {
    case .multimodal:
      fill(x1, from: batch, part: 0)
      fill(x2, from: batch, part: 1)
      r = dual!.trainStep(s1: x1, s2: x2)
    case .simclr:
      let part = config.modality == .s1 ? 0 : 1
      let c = batch.layout.channels[part]
      let elements = c * size * size
      x1.resize([n, c, size, size])
      x2.resize([n, c, size, size])
      scratch.resize([n * elements])
      // Samples are independent and each draws from its own keyed stream, so augmenting them in
      // parallel gives the same views as a serial loop.
      let (seed, step, augmenter) = (config.seed, step, augmenter)
      let views = (x1.data, x2.data, scratch.data)
      batch.parts[part].withUnsafeBufferPointer { src in
        let shared = SendablePointers(
          input: src.baseAddress!, view1: views.0, view2: views.1, scratch: views.2)
        DispatchQueue.concurrentPerform(iterations: n) { i in
          let input = shared.input + i * elements
          for view in 0..<2 {
            var rng = SeededGenerator(
              seed: seed, stream: 0x4155_4731, UInt64(step), UInt64(i), UInt64(view))
            augmenter.apply(
              input, channels: c, size: size,
              into: (view == 0 ? shared.view1 : shared.view2) + i * elements,
              scratch: shared.scratch + i * elements, rng: &rng)
          }
        }
      }
      r = simclr!.trainStep(view1: x1, view2: x2)
    }
    let norm =
      config.gradientClip > 0
      ? store.clipGradients(maxNorm: config.gradientClip) : store.gradientNorm()
    optimizer.step(learningRate: lr)
    defer { step += 1 }
    return StepResult(
      step: step, loss: r.loss, accuracy: r.accuracy, temperature: r.temperature,
      learningRate: lr, gradientNorm: norm, samples: n)
  }

  private func fill(_ t: Tensor, from batch: Batch, part: Int) {
    let n = batch.count
    let c = batch.layout.channels[part]
    let size = batch.layout.size
    t.resize([n, c, size, size])
    batch.parts[part].withUnsafeBufferPointer {
      t.data.update(from: $0.baseAddress!, count: n * c * size * size)
    }
  }

  // MARK: - Checkpoints

  /// Writes `model.safetensors` (PyTorch names) and `optimizer.safetensors` into `directory`.
  public func saveWeights(to directory: String) throws {
    try store.save(
      to: directory + "/model.safetensors",
      metadata: ["format": "pt", "step": String(step), "mode": config.mode.rawValue])
    try optimizer.save(to: directory + "/optimizer.safetensors")
  }

  /// Restores weights, buffers, optimizer moments and the step counter from `directory`.
  public func loadWeights(from directory: String, step: Int) throws {
    try store.load(contentsOf: directory + "/model.safetensors")
    try optimizer.load(SafeTensors.read(directory + "/optimizer.safetensors"))
    guard optimizer.stepCount == step else {
      throw TrainingError(
        path: directory,
        reason: "optimizer step \(optimizer.stepCount) does not match checkpoint step \(step)")
    }
    self.step = step
  }

  /// All parameter values, in store order (for comparisons in tests and tools).
  public var parameterValues: [Float] {
    Array(UnsafeBufferPointer(start: store.values, count: store.parameterCount))
  }
}

/// Raw buffers shared by the augmentation workers; each worker touches only its own sample's
/// slices.
private struct SendablePointers: @unchecked Sendable {
  let input: UnsafePointer<Float>
  let view1: UnsafeMutablePointer<Float>
  let view2: UnsafeMutablePointer<Float>
  let scratch: UnsafeMutablePointer<Float>
}
