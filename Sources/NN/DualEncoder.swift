/// Configuration of the multimodal model: one encoder per modality and the InfoNCE temperature.
public struct DualEncoderConfig: Sendable, Codable, Equatable {
  /// Sentinel-1 encoder (parameters `s1.*`).
  public var s1: EncoderConfig
  /// Sentinel-2 encoder (parameters `s2.*`).
  public var s2: EncoderConfig
  /// Initial (or fixed) InfoNCE temperature τ.
  public var temperature: Float
  /// Whether τ is trained (as the scalar parameter `log_temperature`).
  public var learnableTemperature: Bool

  public init(
    s1: EncoderConfig, s2: EncoderConfig, temperature: Float = 0.07,
    learnableTemperature: Bool = true
  ) {
    self.s1 = s1
    self.s2 = s2
    self.temperature = temperature
    self.learnableTemperature = learnableTemperature
  }

  /// tandem-small with the given band counts.
  public static func small(s1Channels: Int = 2, s2Channels: Int = 4) -> DualEncoderConfig {
    DualEncoderConfig(s1: .small(inChannels: s1Channels), s2: .small(inChannels: s2Channels))
  }

  /// tandem-tiny with the given band counts.
  public static func tiny(s1Channels: Int = 2, s2Channels: Int = 4) -> DualEncoderConfig {
    DualEncoderConfig(s1: .tiny(inChannels: s1Channels), s2: .tiny(inChannels: s2Channels))
  }
}

/// Result of one contrastive forward/backward pass.
public struct ContrastiveStep: Sendable, Equatable {
  /// The InfoNCE loss.
  public var loss: Float
  /// In-batch top-1 retrieval accuracy (both directions averaged).
  public var accuracy: Float
  /// The temperature τ used.
  public var temperature: Float

  public init(loss: Float, accuracy: Float, temperature: Float) {
    self.loss = loss
    self.accuracy = accuracy
    self.temperature = temperature
  }
}

/// The multimodal model: an S1 encoder and an S2 encoder trained so that co-located S1/S2
/// windows have similar embeddings (symmetric InfoNCE). All parameters live in ``store``.
///
/// A training step:
/// ```swift
/// let model = DualEncoder(config: .small(), seed: 1)
/// let opt = AdamW(store: model.store, learningRate: 1e-3, weightDecay: 0.05)
/// let r = model.trainStep(s1: x1, s2: x2)   // zero grads, forward, loss, backward
/// model.store.clipGradients(maxNorm: 1)
/// opt.step(learningRate: schedule.learningRate(at: step))
/// ```
public final class DualEncoder {
  /// The architecture.
  public let config: DualEncoderConfig
  /// Parameters (`s1.*`, `s2.*`, `log_temperature`), gradients and BN buffers.
  public let store = ParameterStore()
  /// The S1 encoder.
  public let s1: Encoder
  /// The S2 encoder.
  public let s2: Encoder
  /// The loss (owns the temperature).
  public let loss: InfoNCE
  let workspace1 = Workspace()
  let workspace2 = Workspace()
  /// With two or more threads (``BLAS/setThreads(_:)``), run the S1 and S2 encoders
  /// concurrently, each on half of the threads. The encoders are independent until the loss, so
  /// this needs two synchronizations per step instead of one per layer, which holds up much
  /// better on a busy machine. Default true.
  public var concurrentEncoders = true

  /// Synchronized BatchNorm in both encoders (`nil` = local statistics). Collectives must run
  /// in the same order on every replica, so this also turns ``concurrentEncoders`` off while
  /// set.
  public func synchronizeBatchNorm(_ sum: (any ReplicaSum)?) {
    s1.synchronizeBatchNorm(sum)
    s2.synchronizeBatchNorm(sum)
    concurrentEncoders = sum == nil
  }

  /// Builds the model and initializes parameters from `seed`.
  public init(config: DualEncoderConfig, seed: UInt64) {
    self.config = config
    s1 = Encoder(prefix: "s1.", config: config.s1, store: store, workspace: workspace1)
    s2 = Encoder(prefix: "s2.", config: config.s2, store: store, workspace: workspace2)
    loss = InfoNCE(
      store: store, temperature: config.temperature, learnable: config.learnableTemperature)
    store.finalize(seed: seed)
  }

  /// Training mode (BN batch statistics) or evaluation mode (running statistics).
  public var isTraining: Bool = true {
    didSet {
      s1.isTraining = isTraining
      s2.isTraining = isTraining
    }
  }

  /// s1 `[N, C1, H, W]`, s2 `[N, C2, H, W]` → embeddings z1, z2 `[N, D]` (unit rows).
  public func forward(s1 x1: Tensor, s2 x2: Tensor, timer: LayerTimer? = nil) -> (Tensor, Tensor) {
    precondition(x1.dim(0) == x2.dim(0), "s1 batch \(x1.shape) and s2 batch \(x2.shape) differ")
    both(timer) {
      s1.forward(x1, timer: timer)
    } _: {
      s2.forward(x2, timer: timer)
    }
    return (s1.embeddings, s2.embeddings)
  }

  /// Accumulates parameter gradients from dL/dz1, dL/dz2.
  public func backward(dz1: Tensor, dz2: Tensor, timer: LayerTimer? = nil) {
    both(timer) {
      s1.backward(dz1, timer: timer)
    } _: {
      s2.backward(dz2, timer: timer)
    }
  }

  /// Runs the two encoder jobs concurrently (see ``concurrentEncoders``) or one after the other
  /// (one thread, or when timing layers, since `LayerTimer` is single-threaded).
  private func both(_ timer: LayerTimer?, _ a: () -> Void, _ b: () -> Void) {
    let threads = Parallel.count
    if concurrentEncoders && threads >= 2 && timer == nil {
      workspace1.workerLimit = threads / 2
      workspace2.workerLimit = threads - threads / 2
      Parallel.forEachWorker(2, workers: 2) { worker, _ in
        if worker == 0 { a() } else { b() }
      }
    } else {
      workspace1.workerLimit = nil
      workspace2.workerLimit = nil
      a()
      b()
    }
  }

  /// Zeroes gradients, runs forward, InfoNCE and backward; gradients are then ready for the
  /// optimizer (clip first if wanted).
  @discardableResult
  public func trainStep(s1 x1: Tensor, s2 x2: Tensor, timer: LayerTimer? = nil) -> ContrastiveStep {
    store.zeroGradients()
    let (z1, z2) = forward(s1: x1, s2: x2, timer: timer)
    let l = timer.time("loss") { loss.forward(z1, z2) }
    let (d1, d2) = timer.time("loss") { loss.backward() }
    backward(dz1: d1, dz2: d2, timer: timer)
    return ContrastiveStep(loss: l, accuracy: loss.accuracy, temperature: loss.temperature)
  }

  /// The loss and accuracy on a batch without touching gradients (call with `isTraining = false`
  /// for validation).
  public func evaluate(s1 x1: Tensor, s2 x2: Tensor) -> ContrastiveStep {
    let (z1, z2) = forward(s1: x1, s2: x2)
    let l = loss.forward(z1, z2)
    return ContrastiveStep(loss: l, accuracy: loss.accuracy, temperature: loss.temperature)
  }

  /// Smallest GEMM width before the convolutions fold several images into one GEMM (tuning knob;
  /// see ``Conv2d/minimumColumns``).
  public var convolutionColumns: Int {
    get { s1.convolutions.first?.minimumColumns ?? 0 }
    set { for c in s1.convolutions + s2.convolutions { c.minimumColumns = newValue } }
  }

  /// The method of every stride-1 convolution (see ``Conv2d/method``).
  public var convolutionMethod: Conv2d.Method {
    get { s1.convolutions.first?.method ?? .automatic }
    set { for c in s1.convolutions + s2.convolutions { c.method = newValue } }
  }

  /// Output columns per im2col block on large maps (tuning knob; see ``Conv2d/blockColumns``).
  public var convolutionBlockColumns: Int {
    get { s1.convolutions.first?.blockColumns ?? 0 }
    set { for c in s1.convolutions + s2.convolutions { c.blockColumns = newValue } }
  }

  /// Times every convolution of both encoders on the activations of the last forward pass:
  /// median seconds of `repeats` forward and backward calls each, with FLOPs. For benchmarks;
  /// leaves gradients dirty (zero them before training again). With one thread
  /// (``BLAS/setThreads(_:)``) the seconds are CPU time of the calling thread, else wall time.
  public func profileConvolutions(
    repeats: Int = 3
  ) -> [(
    name: String, shape: String, forwardSeconds: Double, backwardSeconds: Double,
    forwardFLOPs: Double, backwardFLOPs: Double
  )] {
    var out: [(String, String, Double, Double, Double, Double)] = []
    for c in s1.convolutions + s2.convolutions {
      guard let x = c.input else { continue }
      let dy = Tensor(shape: c.output.shape)
      for i in 0..<dy.count { dy.data[i] = Float(i % 13) * 0.01 - 0.06 }
      var f: [Double] = []
      var b: [Double] = []
      let clock = Parallel.count == 1 ? Clock.threadCPU : Clock.now
      for _ in 0..<repeats {
        var t0 = clock()
        c.forward(x)
        f.append(clock() - t0)
        t0 = clock()
        c.backward(dy)
        b.append(clock() - t0)
      }
      f.sort()
      b.sort()
      let flops = c.forwardFLOPs(n: x.dim(0), h: x.dim(2), w: x.dim(3))
      out.append(
        (
          c.name, "\(x.shape)→\(c.output.shape) k\(c.kernel.h) s\(c.stride.h)", f[f.count / 2],
          b[b.count / 2], flops, c.computesInputGradient ? 2 * flops : flops
        ))
    }
    return out.map {
      (
        name: $0.0, shape: $0.1, forwardSeconds: $0.2, backwardSeconds: $0.3, forwardFLOPs: $0.4,
        backwardFLOPs: $0.5
      )
    }
  }

  /// Total convolution FLOPs of one forward pass of both encoders at batch `n`, `h`×`w`.
  public func convolutionFLOPs(n: Int, h: Int, w: Int) -> Double {
    s1.convolutionFLOPs(n: n, h: h, w: w) + s2.convolutionFLOPs(n: n, h: h, w: w)
  }
}

/// Single-encoder contrastive model for the SimCLR baseline: two augmented views of the same
/// windows go through one encoder (parameters `encoder.*`, plus `log_temperature`); the views are
/// concatenated into one batch of 2N so BN sees both, and InfoNCE pairs view 1 with view 2.
public final class SimCLRModel {
  /// The encoder configuration.
  public let config: EncoderConfig
  /// Parameters, gradients and buffers.
  public let store = ParameterStore()
  /// The shared encoder.
  public let encoder: Encoder
  /// The loss.
  public let loss: InfoNCE
  let workspace = Workspace()
  private let both = Tensor(shape: [0])
  private let z1 = Tensor(shape: [0])
  private let z2 = Tensor(shape: [0])
  private let dz = Tensor(shape: [0])

  /// Builds the model and initializes parameters from `seed`.
  public init(
    config: EncoderConfig, temperature: Float = 0.1, learnableTemperature: Bool = false,
    seed: UInt64
  ) {
    self.config = config
    encoder = Encoder(prefix: "encoder.", config: config, store: store, workspace: workspace)
    loss = InfoNCE(store: store, temperature: temperature, learnable: learnableTemperature)
    store.finalize(seed: seed)
  }

  /// Training or evaluation mode.
  public var isTraining: Bool {
    get { encoder.isTraining }
    set { encoder.isTraining = newValue }
  }

  /// Zeroes gradients, runs both views `[N, C, H, W]` through the encoder, InfoNCE, backward.
  @discardableResult
  public func trainStep(view1: Tensor, view2: Tensor) -> ContrastiveStep {
    precondition(view1.shape == view2.shape, "views \(view1.shape) and \(view2.shape) differ")
    store.zeroGradients()
    let n = view1.dim(0)
    var shape = view1.shape
    shape[0] = 2 * n
    both.resize(shape)
    both.data.update(from: view1.data, count: view1.count)
    (both.data + view1.count).update(from: view2.data, count: view2.count)
    let z = encoder.forward(both)
    let d = z.dim(1)
    z1.resize([n, d])
    z2.resize([n, d])
    z1.data.update(from: z.data, count: n * d)
    z2.data.update(from: z.data + n * d, count: n * d)
    let l = loss.forward(z1, z2)
    let (d1, d2) = loss.backward()
    dz.resize([2 * n, d])
    dz.data.update(from: d1.data, count: n * d)
    (dz.data + n * d).update(from: d2.data, count: n * d)
    encoder.backward(dz)
    return ContrastiveStep(loss: l, accuracy: loss.accuracy, temperature: loss.temperature)
  }
}
