/// Sums per-channel statistics over the replicas of a data-parallel job (synchronized
/// BatchNorm). The training module implements it over its communicator; NN itself knows nothing
/// about processes.
public protocol ReplicaSum: AnyObject {
  /// Replaces `values[0 ..< count]` by their element-wise sums over all replicas. Every replica
  /// calls this the same number of times in the same order.
  func sumOverReplicas(_ values: UnsafeMutablePointer<Double>, count: Int)
}

/// Batch normalization over `[N, C, H, W]` per channel, PyTorch `nn.BatchNorm2d` semantics:
/// training normalizes with the biased batch variance and updates the running statistics with
/// `running = (1 − momentum)·running + momentum·batch`, using the *unbiased* variance for
/// `running_var`; evaluation normalizes with the running statistics. `num_batches_tracked` counts
/// training forward passes.
///
/// Optionally fused with what follows it in a ResNet — a residual add and a ReLU,
/// `y = relu(γ·x̂ + β + residual)` — so those memory-bound passes do not each read and write the
/// whole activation again. x̂ is recomputed from the input in backward instead of stored.
///
/// Shapes: x `[N, C, H, W]` (and residual, same shape) → y `[N, C, H, W]`; γ, β `[C]`.
public final class BatchNorm2d {
  /// Channels C.
  public let channels: Int
  /// Running-statistics momentum (PyTorch default 0.1).
  public let momentum: Float
  /// Added to the variance (PyTorch default 1e-5).
  public let eps: Float
  /// Whether a ReLU follows (fused).
  public let fusedReLU: Bool
  /// Training (batch statistics) or evaluation (running statistics).
  public var isTraining = true
  /// With a value, training uses the statistics of the *global* batch (every replica's samples;
  /// synchronized BatchNorm): forward sums Σx and Σ(x−μ)² over replicas, backward Σg and Σg·x̂.
  /// dγ and dβ stay local sums (the gradient allreduce adds them up).
  public var replicaSum: (any ReplicaSum)?

  let gamma: ParamRef
  let beta: ParamRef
  let runningMean: BufferRef
  let runningVar: BufferRef
  let counter: Int
  unowned let store: ParameterStore
  let workspace: Workspace?
  /// The output, reused between steps.
  public let output = Tensor(shape: [0])
  /// The input gradient, reused between steps.
  public let inputGradient = Tensor(shape: [0])
  /// The gradient of the residual input (after the fused ReLU), when a residual was given.
  public let residualGradient = Tensor(shape: [0])
  private var input: Tensor?
  private var hadResidual = false
  private let mean = Tensor(shape: [0])
  private let invStd = Tensor(shape: [0])
  /// Values per channel of the global batch in the last synchronized forward pass.
  private var globalCount: Float = 0

  init(
    _ name: String, store: ParameterStore, channels: Int, momentum: Float = 0.1,
    eps: Float = 1e-5, fusedReLU: Bool = false, workspace: Workspace? = nil
  ) {
    self.workspace = workspace
    self.channels = channels
    self.momentum = momentum
    self.eps = eps
    self.fusedReLU = fusedReLU
    self.store = store
    gamma = store.param(name + ".weight", [channels], .constant(1), decay: false)
    beta = store.param(name + ".bias", [channels], .constant(0), decay: false)
    runningMean = store.buffer(name + ".running_mean", [channels], .constant(0))
    runningVar = store.buffer(name + ".running_var", [channels], .constant(1))
    counter = store.addCounter(name + ".num_batches_tracked")
    mean.resize([channels])
    invStd.resize([channels])
  }

  /// x `[N, C, H, W]` (+ residual) → y `[N, C, H, W]`.
  @discardableResult
  public func forward(_ x: Tensor, residual: Tensor? = nil) -> Tensor {
    precondition(x.shape.count == 4 && x.shape[1] == channels, "batchnorm input \(x.shape)")
    precondition(residual == nil || residual!.shape == x.shape, "batchnorm residual shape")
    input = x
    hadResidual = residual != nil
    let (n, c, hw) = (x.shape[0], x.shape[1], x.shape[2] * x.shape[3])
    output.resize(x.shape)
    let m = n * hw
    let (g, b) = (gamma.value, beta.value)
    if isTraining {
      precondition(m > 1, "batchnorm in training needs more than one value per channel")
      store.incrementCounter(counter)
    }
    let relu = fusedReLU
    let res = residual?.data
    if isTraining, let replicaSum {
      synchronizedStatistics(x, replicaSum)
      Parallel.forEachChunk(c, workers: workspace?.workers, minimumPerChunk: m >= 4096 ? 1 : c) {
        range in
        for ch in range {
          let k = g[ch] * invStd.data[ch]
          for i in 0..<n {
            let off = (i * c + ch) * hw
            Kernels.affine(
              x.data + off, adding: res.map { $0 + off }, output.data + off, hw, scale: k,
              shift: b[ch] - mean.data[ch] * k, relu: relu)
          }
        }
      }
      return output
    }
    Parallel.forEachChunk(c, workers: workspace?.workers, minimumPerChunk: m >= 4096 ? 1 : c) {
      range in
      for ch in range {
        var mu: Float
        var istd: Float
        if isTraining {
          // One pass: sums of (x − shift) and its square, shift = the channel's first value.
          let shift = x.data[ch * hw]
          var s = 0.0
          var s2 = 0.0
          for i in 0..<n {
            let (a, b) = Kernels.shiftedSums(x.data + (i * c + ch) * hw, hw, shift: shift)
            s += Double(a)
            s2 += Double(b)
          }
          let meanD = s / Double(m)
          let v = max(s2 - s * meanD, 0)
          mu = Float(meanD + Double(shift))
          istd = Float(1 / (v / Double(m) + Double(eps)).squareRoot())
          let (rm, rv) = (runningMean.value, runningVar.value)
          rm[ch] = (1 - momentum) * rm[ch] + momentum * mu
          rv[ch] = (1 - momentum) * rv[ch] + momentum * Float(v / Double(m - 1))
        } else {
          mu = runningMean.value[ch]
          istd = 1 / (runningVar.value[ch] + eps).squareRoot()
        }
        mean.data[ch] = mu
        invStd.data[ch] = istd
        // y = x·k + (β − μ·k) (+ r), k = γ·istd
        let k = g[ch] * istd
        for i in 0..<n {
          let off = (i * c + ch) * hw
          Kernels.affine(
            x.data + off, adding: res.map { $0 + off }, output.data + off, hw, scale: k,
            shift: b[ch] - mu * k, relu: relu)
        }
      }
    }
    return output
  }

  /// Training statistics of the global batch: Σx, then Σ(x−μ)², each summed over replicas
  /// (two passes, in Double, like the local path); updates the running statistics with the
  /// global count.
  private func synchronizedStatistics(_ x: Tensor, _ replicaSum: any ReplicaSum) {
    let (n, c, hw) = (x.shape[0], x.shape[1], x.shape[2] * x.shape[3])
    let sums = UnsafeMutablePointer<Double>.allocate(capacity: c + 1)
    defer { sums.deallocate() }
    let minimum = n * hw >= 4096 ? 1 : c
    Parallel.forEachChunk(c, workers: workspace?.workers, minimumPerChunk: minimum) { range in
      for ch in range {
        var s = 0.0
        for i in 0..<n { s += Double(Kernels.sum(x.data + (i * c + ch) * hw, hw)) }
        sums[ch] = s
      }
    }
    sums[c] = Double(n * hw)
    replicaSum.sumOverReplicas(sums, count: c + 1)
    let m = sums[c]
    precondition(m > 1, "batchnorm in training needs more than one value per channel")
    for ch in 0..<c { mean.data[ch] = Float(sums[ch] / m) }
    Parallel.forEachChunk(c, workers: workspace?.workers, minimumPerChunk: minimum) { range in
      for ch in range {
        var v = 0.0
        for i in 0..<n {
          v += Double(
            Kernels.sumSquaredDeviation(x.data + (i * c + ch) * hw, hw, Float(sums[ch] / m)))
        }
        sums[ch] = v
      }
    }
    replicaSum.sumOverReplicas(sums, count: c)
    let (rm, rv) = (runningMean.value, runningVar.value)
    for ch in 0..<c {
      invStd.data[ch] = Float(1 / (sums[ch] / m + Double(eps)).squareRoot())
      rm[ch] = (1 - momentum) * rm[ch] + momentum * mean.data[ch]
      rv[ch] = (1 - momentum) * rv[ch] + momentum * Float(sums[ch] / (m - 1))
    }
    globalCount = Float(m)
  }

  /// dy `[N, C, H, W]` → dx; accumulates dγ, dβ; fills ``residualGradient`` when a residual was
  /// given.
  @discardableResult
  public func backward(_ dy: Tensor) -> Tensor {
    guard let x = input else { preconditionFailure("BatchNorm2d.backward before forward") }
    precondition(dy.shape == x.shape, "batchnorm dy \(dy.shape) vs \(x.shape)")
    let (n, c, hw) = (dy.shape[0], dy.shape[1], dy.shape[2] * dy.shape[3])
    inputGradient.resize(dy.shape)
    if hadResidual { residualGradient.resize(dy.shape) }
    let m = Float(n * hw)
    let (g, dg, db) = (gamma.value, gamma.grad, beta.grad)
    let relu = fusedReLU
    let hadResidual = hadResidual
    if isTraining, let replicaSum {
      // Pass 1 per channel, then Σg and Σg·x̂ over replicas, then pass 2 with the global means.
      let sums = UnsafeMutablePointer<Double>.allocate(capacity: 2 * c)
      defer { sums.deallocate() }
      Parallel.forEachChunk(
        c, workers: workspace?.workers, minimumPerChunk: n * hw >= 4096 ? 1 : c
      ) { range in
        for ch in range {
          var local = (0.0, 0.0)
          for i in 0..<n {
            let off = (i * c + ch) * hw
            let (a, b) = Kernels.batchNormSums(
              dy.data + off, mask: relu ? output.data + off : nil,
              store: hadResidual ? residualGradient.data + off : nil, x: x.data + off, hw,
              mean: mean.data[ch], invStd: invStd.data[ch])
            local.0 += Double(a)
            local.1 += Double(b)
          }
          dg[ch] += Float(local.1)
          db[ch] += Float(local.0)
          sums[ch] = local.0
          sums[c + ch] = local.1
        }
      }
      replicaSum.sumOverReplicas(sums, count: 2 * c)
      let total = globalCount
      Parallel.forEachChunk(
        c, workers: workspace?.workers, minimumPerChunk: n * hw >= 4096 ? 1 : c
      ) { range in
        for ch in range {
          let (mu, istd) = (mean.data[ch], invStd.data[ch])
          let k = g[ch] * istd
          let (a, cc) = (Float(sums[ch]) / total, Float(sums[c + ch]) / total)
          for i in 0..<n {
            let off = (i * c + ch) * hw
            Kernels.batchNormBackward(
              hadResidual ? residualGradient.data + off : dy.data + off,
              mask: relu && !hadResidual ? output.data + off : nil, x: x.data + off,
              inputGradient.data + off, hw, mean: mu, invStd: istd, k: k, a: a, c: cc)
          }
        }
      }
      return inputGradient
    }
    Parallel.forEachChunk(
      c, workers: workspace?.workers, minimumPerChunk: n * hw >= 4096 ? 1 : c
    ) { range in
      for ch in range {
        let (mu, istd) = (mean.data[ch], invStd.data[ch])
        // Pass 1: Σg and Σg·x̂ with g = dy masked by the fused ReLU (stored when a residual
        // needs it).
        var sums = (0.0, 0.0)
        for i in 0..<n {
          let off = (i * c + ch) * hw
          let (a, b) = Kernels.batchNormSums(
            dy.data + off, mask: relu ? output.data + off : nil,
            store: hadResidual ? residualGradient.data + off : nil, x: x.data + off, hw,
            mean: mu, invStd: istd)
          sums.0 += Double(a)
          sums.1 += Double(b)
        }
        let (sdy, sdyx) = (Float(sums.0), Float(sums.1))
        dg[ch] += sdyx
        db[ch] += sdy
        let k = g[ch] * istd
        // Pass 2: dx = γ·istd·(g − mean(g) − x̂·mean(g·x̂)) in training, γ·istd·g in eval.
        let (a, cc) = isTraining ? (sdy / m, sdyx / m) : (0, 0)
        for i in 0..<n {
          let off = (i * c + ch) * hw
          Kernels.batchNormBackward(
            hadResidual ? residualGradient.data + off : dy.data + off,
            mask: relu && !hadResidual ? output.data + off : nil, x: x.data + off,
            inputGradient.data + off, hw, mean: mu, invStd: istd, k: k, a: a, c: cc)
        }
      }
    }
    return inputGradient
  }
}
