import Collective
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
  /// The ranks of a data-parallel job (a single process by default).
  public let communicator: any Communicator
  private let batchNormSync: CommunicatorReplicaSum?
  private let localEmbeddings = Tensor(shape: [0])
  private let globalEmbeddings = Tensor(shape: [0])
  private let z1Global = Tensor(shape: [0])
  private let z2Global = Tensor(shape: [0])
  private let dz1Local = Tensor(shape: [0])
  private let dz2Local = Tensor(shape: [0])
  private let dzBoth = Tensor(shape: [0])
  private let zBoth1 = Tensor(shape: [0])
  private let zBoth2 = Tensor(shape: [0])
  /// Which regions show the same place, for the shuffled-pairing control (every region its own
  /// place by default).
  public var places = PlaceMap()
  /// Shuffled-pairing control: positives so far that had to stay within their place (the batch
  /// held too few places), out of ``shuffledPositives``.
  public private(set) var samePlacePositives = 0
  /// Shuffled-pairing control: positives assigned so far on this rank.
  public private(set) var shuffledPositives = 0
  /// Set by tests and debugging tools (`TANDEM_DEBUG_GRADIENTS`): called with this rank's
  /// gradient block before and after the allreduce of each step.
  public var gradientObserver: ((_ step: Int, _ phase: String, _ gradients: [Float]) -> Void)?

  /// Builds the model for `config` with `s2Channels` S2 bands, initialized from `config.seed`.
  /// With a distributed `communicator`, every step averages gradients over the ranks (see
  /// ``train(on:replicaCounts:)``).
  public init(
    config: TrainingConfig, s2Channels: Int,
    communicator: any Communicator = SingleProcessCommunicator()
  ) {
    self.config = config
    self.communicator = communicator
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
    if communicator.isDistributed && config.syncBatchNorm {
      let sync = CommunicatorReplicaSum(communicator)
      batchNormSync = sync
      dual?.synchronizeBatchNorm(sync)
      simclr?.encoder.synchronizeBatchNorm(sync)
    } else {
      batchNormSync = nil
    }
  }

  /// All parameters, gradients and buffers of the model.
  public var store: ParameterStore { dual?.store ?? simclr!.store }

  /// The multimodal model (nil for SimCLR).
  public var dualEncoder: DualEncoder? { dual }
  /// The SimCLR model (nil for multimodal).
  public var simclrModel: SimCLRModel? { simclr }

  /// Trains on the first `batch.count` samples of `batch` (at least 2), in a single process.
  @discardableResult
  public func train(on batch: Batch) -> StepResult {
    precondition(
      !communicator.isDistributed, "distributed steps go through train(on:replicaCounts:)")
    do { return try train(on: batch, replicaCounts: [batch.count]) } catch {
      preconditionFailure("a single-process step cannot fail: \(error)")
    }
  }

  /// One data-parallel step: this rank trains on its `batch`, `replicaCounts[r]` being rank r's
  /// sample count (every rank calls this with the same counts).
  ///
  /// - Without ``TrainingConfig/gatherNegatives``, each rank computes InfoNCE over its own
  ///   samples and the gradient is the **average** of the ranks' gradients (allreduce-sum ÷ N).
  /// - With it, the embeddings are all-gathered (rank-major) and every rank computes the same
  ///   loss over the global batch; the gradient of that loss with respect to this rank's
  ///   embeddings is its slice of the global embedding gradient, backpropagated through its own
  ///   encoder, and the parameter gradients are **summed** over ranks — so the result equals one
  ///   process training on the whole global batch (and `log_temperature`, computed identically
  ///   everywhere, is counted once: on rank 0).
  ///
  /// The loss and accuracy reported are the global batch's (averaged over ranks without gather).
  public func train(on batch: Batch, replicaCounts: [Int]) throws -> StepResult {
    let n = batch.count
    precondition(replicaCounts.count == communicator.worldSize, "one count per rank")
    precondition(replicaCounts[communicator.rank] == n, "this rank's count differs")
    let distributed = communicator.isDistributed
    let gather = distributed && config.gatherNegatives
    precondition(
      gather ? replicaCounts.reduce(0, +) >= 2 : n >= 2,
      "a contrastive step needs at least two samples")
    let size = batch.layout.size
    let lr = schedule.learningRate(at: step)
    let r: ContrastiveStep
    switch config.mode {
    case .multimodal:
      fill(x1, from: batch, part: 0)
      fill(x2, from: batch, part: 1)
      if config.pairing == .shuffled { shufflePartners(of: batch) }
      if gather {
        let model = dual!
        model.store.zeroGradients()
        let (z1, z2) = model.forward(s1: x1, s2: x2)
        r = try globalContrastive(z1, z2, loss: model.loss, counts: replicaCounts) { d1, d2 in
          model.backward(dz1: d1, dz2: d2)
        }
      } else {
        r = dual!.trainStep(s1: x1, s2: x2)
      }
    case .simclr:
      let part = config.modality == .s1 ? 0 : 1
      let c = batch.layout.channels[part]
      let elements = c * size * size
      x1.resize([n, c, size, size])
      x2.resize([n, c, size, size])
      scratch.resize([n * elements])
      // Samples are independent and each draws from its own keyed stream, so augmenting them in
      // parallel gives the same views as a serial loop.
      // Keyed by the sample's index in the global batch (rank r's i-th sample is the sampler's
      // i·W + r-th of the step), so W ranks draw the views one process would.
      let (seed, step, augmenter) = (config.seed, step, augmenter)
      let (world, rank) = (communicator.worldSize, communicator.rank)
      let views = (x1.data, x2.data, scratch.data)
      batch.parts[part].withUnsafeBufferPointer { src in
        let shared = SendablePointers(
          input: src.baseAddress!, view1: views.0, view2: views.1, scratch: views.2)
        DispatchQueue.concurrentPerform(iterations: n) { i in
          let input = shared.input + i * elements
          for view in 0..<2 {
            var rng = SeededGenerator(
              seed: seed, stream: 0x4155_4731, UInt64(step), UInt64(i * world + rank),
              UInt64(view))
            augmenter.apply(
              input, channels: c, size: size,
              into: (view == 0 ? shared.view1 : shared.view2) + i * elements,
              scratch: shared.scratch + i * elements, rng: &rng)
          }
        }
      }
      if gather {
        r = try simclrGlobalStep(counts: replicaCounts)
      } else {
        r = simclr!.trainStep(view1: x1, view2: x2)
      }
    }
    var (loss, accuracy) = (r.loss, r.accuracy)
    if distributed {
      if let failure = batchNormSync?.failure { throw failure }
      gradientObserver?(step, "local", gradientsArray())
      try communicator.allreduceSum(
        store.gradients, count: store.parameterCount, label: "gradients")
      if !gather {
        let scale = 1 / Float(communicator.worldSize)
        for i in 0..<store.parameterCount { store.gradients[i] *= scale }
        var metrics: [Double] = [Double(r.loss), Double(r.accuracy)]
        try communicator.allreduceSum(&metrics, count: 2, label: "metrics")
        loss = Float(metrics[0] / Double(communicator.worldSize))
        accuracy = Float(metrics[1] / Double(communicator.worldSize))
      }
      gradientObserver?(step, "reduced", gradientsArray())
    }
    let norm =
      config.gradientClip > 0
      ? store.clipGradients(maxNorm: config.gradientClip) : store.gradientNorm()
    optimizer.step(learningRate: lr)
    defer { step += 1 }
    return StepResult(
      step: step, loss: loss, accuracy: accuracy, temperature: r.temperature,
      learningRate: lr, gradientNorm: norm, samples: replicaCounts.reduce(0, +))
  }

  private func gradientsArray() -> [Float] {
    Array(UnsafeBufferPointer(start: store.gradients, count: store.parameterCount))
  }

  /// InfoNCE over the global batch: all-gathers [z1 | z2] rows, computes the loss and its
  /// gradient on every rank, and backpropagates this rank's rows through `backward`.
  private func globalContrastive(
    _ z1: Tensor, _ z2: Tensor, loss: InfoNCE, counts: [Int],
    backward: (Tensor, Tensor) -> Void
  ) throws -> ContrastiveStep {
    let (n, d) = (z1.dim(0), z1.dim(1))
    let total = counts.reduce(0, +)
    let offset = counts[..<communicator.rank].reduce(0, +)
    localEmbeddings.resize([n, 2 * d])
    for i in 0..<n {
      (localEmbeddings.data + i * 2 * d).update(from: z1.data + i * d, count: d)
      (localEmbeddings.data + i * 2 * d + d).update(from: z2.data + i * d, count: d)
    }
    globalEmbeddings.resize([total, 2 * d])
    try communicator.allgather(
      localEmbeddings.data, counts: counts.map { $0 * 2 * d }, into: globalEmbeddings.data,
      label: "embeddings")
    z1Global.resize([total, d])
    z2Global.resize([total, d])
    for i in 0..<total {
      (z1Global.data + i * d).update(from: globalEmbeddings.data + i * 2 * d, count: d)
      (z2Global.data + i * d).update(from: globalEmbeddings.data + i * 2 * d + d, count: d)
    }
    let l = loss.forward(z1Global, z2Global)
    let (g1, g2) = loss.backward()
    if communicator.rank != 0, let index = store.index(ofParameter: "log_temperature") {
      // Every rank computed the same d log τ; the sum over ranks must count it once.
      let entry = store.parameters[index]
      (store.gradients + entry.offset).update(repeating: 0, count: entry.count)
    }
    dz1Local.resize([n, d])
    dz2Local.resize([n, d])
    dz1Local.data.update(from: g1.data + offset * d, count: n * d)
    dz2Local.data.update(from: g2.data + offset * d, count: n * d)
    backward(dz1Local, dz2Local)
    return ContrastiveStep(loss: l, accuracy: loss.accuracy, temperature: loss.temperature)
  }

  /// SimCLR with global negatives: both views of this rank's windows go through the encoder as
  /// one batch (as ``SimCLRModel/trainStep(view1:view2:)`` does), then ``globalContrastive``.
  private func simclrGlobalStep(counts: [Int]) throws -> ContrastiveStep {
    let model = simclr!
    model.store.zeroGradients()
    let n = x1.dim(0)
    var shape = x1.shape
    shape[0] = 2 * n
    let both = Tensor(shape: shape)
    both.data.update(from: x1.data, count: x1.count)
    (both.data + x1.count).update(from: x2.data, count: x2.count)
    let z = model.encoder.forward(both)
    let d = z.dim(1)
    zBoth1.resize([n, d])
    zBoth2.resize([n, d])
    zBoth1.data.update(from: z.data, count: n * d)
    zBoth2.data.update(from: z.data + n * d, count: n * d)
    return try globalContrastive(zBoth1, zBoth2, loss: model.loss, counts: counts) { d1, d2 in
      dzBoth.resize([2 * n, d])
      dzBoth.data.update(from: d1.data, count: n * d)
      (dzBoth.data + n * d).update(from: d2.data, count: n * d)
      model.encoder.backward(dzBoth)
    }
  }

  /// Averages the BatchNorm running statistics over ranks (they differ without synchronized
  /// BatchNorm), so every rank — and the checkpoint rank 0 writes — holds the same buffers.
  /// They do not enter training steps (which normalize with batch statistics).
  public func averageBuffers() throws {
    guard communicator.isDistributed else { return }
    let count = store.buffers.reduce(0) { $0 + $1.count }
    guard count > 0 else { return }
    try communicator.allreduceSum(store.bufferValues, count: count, label: "buffers")
    let scale = 1 / Float(communicator.worldSize)
    for i in 0..<count { store.bufferValues[i] *= scale }
  }

  /// FNV-1a hash of the parameter block (ranks compare it to check they hold the same weights).
  public var parameterHash: UInt64 {
    var h = FNV1a64()
    h.combine(
      UnsafeRawBufferPointer(
        start: store.values, count: store.parameterCount * MemoryLayout<Float>.stride))
    return h.value
  }

  /// The shuffled-pairing control: S1 rows of `x1` reassigned across the batch so each S2 window's
  /// positive is an S1 window of another place (``PartnerShuffle``), keyed by (seed, step, rank)
  /// so a resumed run draws the same assignment.
  private func shufflePartners(of batch: Batch) {
    let n = batch.count
    let regions =
      batch.samples.count == n ? batch.samples.map(\.region) : Array(0..<n)
    var rng = SeededGenerator(
      seed: config.seed, stream: 0x5348_5546, UInt64(step), UInt64(communicator.rank))
    let (partners, unresolved) = PartnerShuffle.partners(
      regions: regions, places: places, rng: &rng)
    let row = x1.count / max(n, 1)
    scratch.resize([n * row])
    scratch.data.update(from: x1.data, count: n * row)
    for i in 0..<n {
      (x1.data + i * row).update(from: scratch.data + partners[i] * row, count: row)
    }
    samePlacePositives += unresolved
    shuffledPositives += n
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

/// Synchronized BatchNorm over a communicator. BatchNorm cannot throw mid-layer, so the first
/// failure is kept (later calls do nothing) and the trainer throws it after the step.
final class CommunicatorReplicaSum: ReplicaSum {
  let communicator: any Communicator
  private(set) var failure: CollectiveError?

  init(_ communicator: any Communicator) { self.communicator = communicator }

  func sumOverReplicas(_ values: UnsafeMutablePointer<Double>, count: Int) {
    guard failure == nil else { return }
    do { try communicator.allreduceSum(values, count: count, label: "batchnorm") } catch {
      failure = error
    }
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
