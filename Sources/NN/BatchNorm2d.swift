/// Batch normalization over `[N, C, H, W]` per channel, PyTorch `nn.BatchNorm2d` semantics:
/// training normalizes with the biased batch variance and updates the running statistics with
/// `running = (1 − momentum)·running + momentum·batch`, using the *unbiased* variance for
/// `running_var`; evaluation normalizes with the running statistics. `num_batches_tracked` counts
/// training forward passes.
///
/// Shapes: x `[N, C, H, W]` → y `[N, C, H, W]`; weight γ `[C]`, bias β `[C]`.
public final class BatchNorm2d {
  /// Channels C.
  public let channels: Int
  /// Running-statistics momentum (PyTorch default 0.1).
  public let momentum: Float
  /// Added to the variance (PyTorch default 1e-5).
  public let eps: Float
  /// Training (batch statistics) or evaluation (running statistics).
  public var isTraining = true

  let gamma: ParamRef
  let beta: ParamRef
  let runningMean: BufferRef
  let runningVar: BufferRef
  let counter: Int
  unowned let store: ParameterStore
  /// The output, reused between steps.
  public let output = Tensor(shape: [0])
  /// The input gradient, reused between steps.
  public let inputGradient = Tensor(shape: [0])
  private let xhat = Tensor(shape: [0])
  private let invStd = Tensor(shape: [0])

  init(
    _ name: String, store: ParameterStore, channels: Int, momentum: Float = 0.1, eps: Float = 1e-5
  ) {
    self.channels = channels
    self.momentum = momentum
    self.eps = eps
    self.store = store
    gamma = store.param(name + ".weight", [channels], .constant(1), decay: false)
    beta = store.param(name + ".bias", [channels], .constant(0), decay: false)
    runningMean = store.buffer(name + ".running_mean", [channels], .constant(0))
    runningVar = store.buffer(name + ".running_var", [channels], .constant(1))
    counter = store.addCounter(name + ".num_batches_tracked")
    invStd.resize([channels])
  }

  /// x `[N, C, H, W]` → y `[N, C, H, W]`.
  @discardableResult
  public func forward(_ x: Tensor) -> Tensor {
    precondition(x.shape.count == 4 && x.shape[1] == channels, "batchnorm input \(x.shape)")
    let (n, c, hw) = (x.shape[0], x.shape[1], x.shape[2] * x.shape[3])
    output.resize(x.shape)
    xhat.resize(x.shape)
    let m = n * hw
    let (g, b) = (gamma.value, beta.value)
    if isTraining {
      precondition(m > 1, "batchnorm in training needs more than one value per channel")
      store.counters[counter] += 1
    }
    let perChannel = m >= 4096 ? 1 : c
    Parallel.forEachChunk(c, minimumPerChunk: perChannel) { range in
      for ch in range {
        var mean: Float
        var istd: Float
        if isTraining {
          var s = 0.0
          for i in 0..<n {
            let p = x.data + (i * c + ch) * hw
            s += Double(Kernels.sum(p, hw))
          }
          let mu = s / Double(m)
          var v = 0.0
          for i in 0..<n {
            let p = x.data + (i * c + ch) * hw
            v += Double(Kernels.sumSquaredDeviation(p, hw, Float(mu)))
          }
          let varBiased = v / Double(m)
          mean = Float(mu)
          istd = Float(1 / (varBiased + Double(eps)).squareRoot())
          let rm = runningMean.value
          let rv = runningVar.value
          rm[ch] = (1 - momentum) * rm[ch] + momentum * mean
          rv[ch] = (1 - momentum) * rv[ch] + momentum * Float(v / Double(m - 1))
        } else {
          mean = runningMean.value[ch]
          istd = 1 / (runningVar.value[ch] + eps).squareRoot()
        }
        invStd.data[ch] = istd
        let (gc, bc) = (g[ch], b[ch])
        for i in 0..<n {
          let off = (i * c + ch) * hw
          let (p, q, y) = (x.data + off, xhat.data + off, output.data + off)
          Kernels.normalize(p, q, y, hw, mean: mean, invStd: istd, gamma: gc, beta: bc)
        }
      }
    }
    return output
  }

  /// dy `[N, C, H, W]` → dx; accumulates dγ, dβ.
  @discardableResult
  public func backward(_ dy: Tensor) -> Tensor {
    precondition(dy.shape == xhat.shape, "batchnorm dy \(dy.shape) vs \(xhat.shape)")
    let (n, c, hw) = (dy.shape[0], dy.shape[1], dy.shape[2] * dy.shape[3])
    inputGradient.resize(dy.shape)
    let m = Float(n * hw)
    let (g, dg, db) = (gamma.value, gamma.grad, beta.grad)
    let perChannel = n * hw >= 4096 ? 1 : c
    Parallel.forEachChunk(c, minimumPerChunk: perChannel) { range in
      for ch in range {
        var sums = (0.0, 0.0)
        for i in 0..<n {
          let off = (i * c + ch) * hw
          let (a, b) = Kernels.sumAndDot(dy.data + off, xhat.data + off, hw)
          sums.0 += Double(a)
          sums.1 += Double(b)
        }
        let (sdy, sdyx) = (Float(sums.0), Float(sums.1))
        dg[ch] += sdyx
        db[ch] += sdy
        let k = g[ch] * invStd.data[ch]
        if isTraining {
          // dx = γ·istd·(dy − mean(dy) − x̂·mean(dy·x̂))
          let (mdy, mdyx) = (sdy / m, sdyx / m)
          for i in 0..<n {
            let off = (i * c + ch) * hw
            let (d, q, dx) = (dy.data + off, xhat.data + off, inputGradient.data + off)
            Kernels.batchNormBackward(d, q, dx, hw, k: k, a: mdy, c: mdyx)
          }
        } else {
          for i in 0..<n {
            let off = (i * c + ch) * hw
            let (d, dx) = (dy.data + off, inputGradient.data + off)
            for j in 0..<hw { dx[j] = k * d[j] }
          }
        }
      }
    }
    return inputGradient
  }
}
