/// Fully connected layer, PyTorch `nn.Linear`: y = x·Wᵀ + b.
///
/// Shapes: x `[N, in]` → y `[N, out]`; weight `[out, in]`, bias `[out]`.
public final class Linear {
  /// Input features.
  public let inFeatures: Int
  /// Output features.
  public let outFeatures: Int
  let weight: ParamRef
  let bias: ParamRef?
  /// The output, reused between steps.
  public let output = Tensor(shape: [0])
  /// The input gradient, reused between steps.
  public let inputGradient = Tensor(shape: [0])
  private var input: Tensor?

  /// Registers `name.weight` (and `name.bias`), initialized like PyTorch (uniform ±1/√in).
  init(_ name: String, store: ParameterStore, inFeatures: Int, outFeatures: Int, bias: Bool = true)
  {
    self.inFeatures = inFeatures
    self.outFeatures = outFeatures
    let bound = 1 / Float(inFeatures).squareRoot()
    weight = store.param(
      name + ".weight", [outFeatures, inFeatures], .uniform(bound: bound), decay: true)
    self.bias =
      bias ? store.param(name + ".bias", [outFeatures], .uniform(bound: bound), decay: false) : nil
  }

  /// x `[N, in]` → y `[N, out]`.
  @discardableResult
  public func forward(_ x: Tensor) -> Tensor {
    precondition(x.shape.count == 2 && x.shape[1] == inFeatures, "linear input \(x.shape)")
    input = x
    let n = x.shape[0]
    output.resize([n, outFeatures])
    BLAS.sgemm(
      transA: false, transB: true, m: n, n: outFeatures, k: inFeatures, a: x.data, lda: inFeatures,
      b: weight.value, ldb: inFeatures, beta: 0, c: output.data, ldc: outFeatures)
    if let bias {
      for i in 0..<n {
        let y = output.data + i * outFeatures
        for j in 0..<outFeatures { y[j] += bias.value[j] }
      }
    }
    return output
  }

  /// dy `[N, out]` → dx `[N, in]`; accumulates dW = dyᵀ·x and db = Σ dy.
  @discardableResult
  public func backward(_ dy: Tensor) -> Tensor {
    guard let x = input else { preconditionFailure("Linear.backward before forward") }
    let n = x.shape[0]
    precondition(dy.shape == [n, outFeatures], "linear dy \(dy.shape)")
    BLAS.sgemm(
      transA: true, transB: false, m: outFeatures, n: inFeatures, k: n, a: dy.data,
      lda: outFeatures,
      b: x.data, ldb: inFeatures, beta: 1, c: weight.grad, ldc: inFeatures)
    if let bias {
      for i in 0..<n {
        let d = dy.data + i * outFeatures
        for j in 0..<outFeatures { bias.grad[j] += d[j] }
      }
    }
    inputGradient.resize(x.shape)
    BLAS.sgemm(
      transA: false, transB: false, m: n, n: inFeatures, k: outFeatures, a: dy.data,
      lda: outFeatures,
      b: weight.value, ldb: inFeatures, beta: 0, c: inputGradient.data, ldc: inFeatures)
    return inputGradient
  }
}

/// Row-wise L2 normalization, PyTorch `F.normalize(x, dim=1, eps=1e-12)`: y = x / max(‖x‖, ε).
///
/// Shapes: x `[N, D]` → y `[N, D]`.
public final class L2Normalize {
  /// Lower bound on the norm.
  public let eps: Float
  /// The output, reused between steps.
  public let output = Tensor(shape: [0])
  /// The input gradient, reused between steps.
  public let inputGradient = Tensor(shape: [0])
  private var norms: [Float] = []

  /// Creates the normalization.
  public init(eps: Float = 1e-12) { self.eps = eps }

  /// x `[N, D]` → y `[N, D]` with unit rows.
  @discardableResult
  public func forward(_ x: Tensor) -> Tensor {
    precondition(x.shape.count == 2, "l2norm input \(x.shape)")
    let (n, d) = (x.shape[0], x.shape[1])
    output.resize(x.shape)
    norms = Array(repeating: 0, count: n)
    for i in 0..<n {
      let p = x.data + i * d
      var s: Float = 0
      for j in 0..<d { s += p[j] * p[j] }
      let norm = s.squareRoot()
      norms[i] = norm
      let inv = 1 / max(norm, eps)
      for j in 0..<d { output.data[i * d + j] = p[j] * inv }
    }
    return output
  }

  /// dy → dx = (dy − y·⟨y, dy⟩) / ‖x‖ (or dy / ε where the norm was clamped).
  @discardableResult
  public func backward(_ dy: Tensor) -> Tensor {
    precondition(dy.shape == output.shape, "l2norm dy \(dy.shape)")
    let (n, d) = (dy.shape[0], dy.shape[1])
    inputGradient.resize(dy.shape)
    for i in 0..<n {
      let (y, g, dx) = (output.data + i * d, dy.data + i * d, inputGradient.data + i * d)
      if norms[i] > eps {
        var dot: Float = 0
        for j in 0..<d { dot += y[j] * g[j] }
        let inv = 1 / norms[i]
        for j in 0..<d { dx[j] = (g[j] - y[j] * dot) * inv }
      } else {
        for j in 0..<d { dx[j] = g[j] / eps }
      }
    }
    return inputGradient
  }
}
