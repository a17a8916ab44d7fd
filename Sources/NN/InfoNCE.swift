import Foundation

/// Symmetric InfoNCE (CLIP): logits = z1·z2ᵀ / τ `[N, N]`, cross-entropy with the diagonal as the
/// target along rows (z1 → z2) and columns (z2 → z1), averaged. τ is fixed, or learnable as the
/// parameter `log_temperature` (τ = exp(log_temperature)).
///
/// Shapes: z1, z2 `[N, D]` (normally L2-normalized) → scalar loss; backward gives dz1, dz2 `[N, D]`.
public final class InfoNCE {
  let logTemperature: ParamRef?
  private var fixedLogTemperature: Float
  /// dL/dz1 after ``backward()``.
  public let gradient1 = Tensor(shape: [0])
  /// dL/dz2 after ``backward()``.
  public let gradient2 = Tensor(shape: [0])
  /// The logits `[N, N]` of the last forward pass.
  public let logits = Tensor(shape: [0])
  private let rowSoftmax = Tensor(shape: [0])
  private let colSoftmax = Tensor(shape: [0])
  private let dS = Tensor(shape: [0])
  private var z1: Tensor?
  private var z2: Tensor?
  /// In-batch top-1 accuracy of the last forward pass (both directions averaged).
  public private(set) var accuracy: Float = 0

  /// With `learnable`, registers `log_temperature` (a scalar, shape `[]`) in `store`.
  init(store: ParameterStore?, temperature: Float, learnable: Bool) {
    precondition(temperature > 0)
    fixedLogTemperature = log(temperature)
    if learnable, let store {
      logTemperature = store.param("log_temperature", [], .constant(log(temperature)), decay: false)
    } else {
      logTemperature = nil
    }
  }

  /// A standalone loss with a fixed temperature.
  public convenience init(temperature: Float) {
    self.init(store: nil, temperature: temperature, learnable: false)
  }

  /// The current temperature τ.
  public var temperature: Float {
    exp(logTemperature.map { $0.value[0] } ?? fixedLogTemperature)
  }

  /// z1, z2 `[N, D]` → loss.
  public func forward(_ z1: Tensor, _ z2: Tensor) -> Float {
    precondition(
      z1.shape.count == 2 && z1.shape == z2.shape, "infonce inputs \(z1.shape) \(z2.shape)")
    self.z1 = z1
    self.z2 = z2
    let (n, d) = (z1.shape[0], z1.shape[1])
    let invTau = 1 / temperature
    logits.resize([n, n])
    BLAS.sgemm(
      transA: false, transB: true, m: n, n: n, k: d, alpha: invTau, a: z1.data, lda: d, b: z2.data,
      ldb: d, beta: 0, c: logits.data, ldc: n)
    rowSoftmax.resize([n, n])
    colSoftmax.resize([n, n])
    let l = logits.data
    var loss = 0.0
    var correct = 0
    // Each direction is a softmax cross-entropy per line of the logits with the diagonal as
    // target: rows (S1 → S2) read l[a, b], columns (S2 → S1) read l[b, a].
    func direction(_ index: (Int, Int) -> Int, into softmax: Tensor) {
      for a in 0..<n {
        var mx = -Float.infinity
        var arg = 0
        for b in 0..<n where l[index(a, b)] > mx {
          mx = l[index(a, b)]
          arg = b
        }
        if arg == a { correct += 1 }
        var s = 0.0
        for b in 0..<n { s += Double(exp(l[index(a, b)] - mx)) }
        let lse = Double(mx) + Foundation.log(s)
        loss += lse - Double(l[index(a, a)])
        for b in 0..<n {
          softmax.data[index(a, b)] = Float(Foundation.exp(Double(l[index(a, b)]) - lse))
        }
      }
    }
    direction({ $0 * n + $1 }, into: rowSoftmax)
    direction({ $1 * n + $0 }, into: colSoftmax)
    accuracy = Float(correct) / Float(2 * n)
    return Float(loss / Double(2 * n))
  }

  /// Gradients of the last forward pass: returns (dz1, dz2) and accumulates d log τ when learnable.
  @discardableResult
  public func backward() -> (Tensor, Tensor) {
    guard let z1, let z2 else { preconditionFailure("InfoNCE.backward before forward") }
    let (n, d) = (z1.shape[0], z1.shape[1])
    let invTau = 1 / temperature
    dS.resize([n, n])
    let scale = Float(0.5) / Float(n)
    var dLogTau: Double = 0
    for i in 0..<n {
      for j in 0..<n {
        let k = i * n + j
        let target: Float = i == j ? 1 : 0
        let dl = scale * (rowSoftmax.data[k] - target + colSoftmax.data[k] - target)
        dLogTau -= Double(dl * logits.data[k])
        dS.data[k] = dl
      }
    }
    if let logTemperature { logTemperature.grad[0] += Float(dLogTau) }
    gradient1.resize([n, d])
    gradient2.resize([n, d])
    // dz1 = dlogits·z2/τ, dz2 = dlogitsᵀ·z1/τ
    BLAS.sgemm(
      transA: false, transB: false, m: n, n: d, k: n, alpha: invTau, a: dS.data, lda: n, b: z2.data,
      ldb: d, beta: 0, c: gradient1.data, ldc: d)
    BLAS.sgemm(
      transA: true, transB: false, m: n, n: d, k: n, alpha: invTau, a: dS.data, lda: n, b: z1.data,
      ldb: d, beta: 0, c: gradient2.data, ldc: d)
    return (gradient1, gradient2)
  }
}

/// Mean softmax cross-entropy, PyTorch `F.cross_entropy` with `weight` and `ignore_index`:
/// logits `[N, C]` or `[N, C, H, W]`, one class label per position (N or N·H·W labels);
/// positions whose label equals `ignoreIndex` contribute nothing and are not counted. With
/// class weights `w`, the mean is weighted: Σ w[yᵢ]·ℓᵢ / Σ w[yᵢ] (PyTorch's reduction).
public final class CrossEntropyLoss {
  /// Label value that marks positions to skip (PyTorch default −100).
  public let ignoreIndex: Int32
  /// One weight per class, or nil for the plain mean.
  public let classWeights: [Float]?
  /// dL/dlogits after ``backward()``.
  public let gradient = Tensor(shape: [0])
  private var probabilities: [Float] = []
  private var labels: [Int32] = []
  private var shape: [Int] = []
  private var counted = 0
  /// Σ w[yᵢ] over counted positions (their count without weights).
  private var weightSum = 0.0

  /// A loss skipping `ignoreIndex` labels, optionally weighting each class (weights ≥ 0).
  public init(ignoreIndex: Int32 = -100, classWeights: [Float]? = nil) {
    precondition(classWeights?.allSatisfy { $0 >= 0 && $0.isFinite } ?? true)
    self.ignoreIndex = ignoreIndex
    self.classWeights = classWeights
  }

  private func weight(_ label: Int32) -> Double {
    classWeights.map { Double($0[Int(label)]) } ?? 1
  }

  /// logits `[N, C(, H, W)]`, labels `[N(·H·W)]` → mean loss over counted positions (0 if none).
  public func forward(_ logits: Tensor, labels: [Int32]) -> Float {
    precondition(logits.shape.count >= 2, "cross-entropy logits \(logits.shape)")
    let (n, c) = (logits.shape[0], logits.shape[1])
    let s = logits.count / max(n * c, 1)
    precondition(labels.count == n * s, "cross-entropy: \(labels.count) labels for \(logits.shape)")
    precondition(
      classWeights.map { $0.count == c } ?? true, "cross-entropy: weights for \(c) classes")
    shape = logits.shape
    self.labels = labels
    probabilities = Array(repeating: 0, count: logits.count)
    var loss = 0.0
    counted = 0
    weightSum = 0
    for i in 0..<n {
      for p in 0..<s {
        let label = labels[i * s + p]
        let base = i * c * s + p
        var mx = -Float.infinity
        for k in 0..<c { mx = max(mx, logits.data[base + k * s]) }
        var sum = 0.0
        for k in 0..<c { sum += Foundation.exp(Double(logits.data[base + k * s] - mx)) }
        let lse = Double(mx) + Foundation.log(sum)
        for k in 0..<c {
          probabilities[base + k * s] = Float(
            Foundation.exp(Double(logits.data[base + k * s]) - lse))
        }
        if label == ignoreIndex { continue }
        precondition(label >= 0 && Int(label) < c, "cross-entropy label \(label) outside 0..<\(c)")
        let w = weight(label)
        loss += w * (lse - Double(logits.data[base + Int(label) * s]))
        weightSum += w
        counted += 1
      }
    }
    return counted == 0 || weightSum == 0 ? 0 : Float(loss / weightSum)
  }

  /// dlogits = w[y]·(softmax − onehot) / Σ w at counted positions, 0 elsewhere.
  @discardableResult
  public func backward() -> Tensor {
    gradient.resize(shape)
    gradient.zero()
    guard counted > 0, weightSum > 0 else { return gradient }
    let (n, c) = (shape[0], shape[1])
    let s = gradient.count / (n * c)
    for i in 0..<n {
      for p in 0..<s {
        let label = labels[i * s + p]
        if label == ignoreIndex { continue }
        let base = i * c * s + p
        let inv = Float(weight(label) / weightSum)
        for k in 0..<c {
          gradient.data[base + k * s] =
            (probabilities[base + k * s] - (Int(label) == k ? 1 : 0)) * inv
        }
      }
    }
    return gradient
  }
}

/// Mean binary cross-entropy on logits, PyTorch `F.binary_cross_entropy_with_logits`, with an
/// optional mask (1 = counted, 0 = no-data) so unlabeled pixels are ignored; the mean runs over
/// counted elements only.
public final class BCEWithLogitsLoss {
  /// dL/dlogits after ``backward()``.
  public let gradient = Tensor(shape: [0])
  private var logits: Tensor?
  private var targets: [Float] = []
  private var mask: [Float]?
  private var counted = 0.0

  /// Creates the loss.
  public init() {}

  /// logits (any shape), targets in [0, 1] and optional mask (same count) → mean loss.
  public func forward(_ logits: Tensor, targets: [Float], mask: [Float]? = nil) -> Float {
    precondition(targets.count == logits.count, "bce: \(targets.count) targets for \(logits.shape)")
    precondition(mask == nil || mask!.count == logits.count, "bce: mask count")
    self.logits = logits
    self.targets = targets
    self.mask = mask
    var loss = 0.0
    counted = 0
    for i in 0..<logits.count {
      let m = Double(mask?[i] ?? 1)
      if m == 0 { continue }
      let x = Double(logits.data[i])
      let t = Double(targets[i])
      loss += m * (max(x, 0) - x * t + Foundation.log1p(Foundation.exp(-abs(x))))
      counted += m
    }
    return counted == 0 ? 0 : Float(loss / counted)
  }

  /// dlogits = mask·(σ(x) − t) / Σmask.
  @discardableResult
  public func backward() -> Tensor {
    guard let logits else { preconditionFailure("BCEWithLogitsLoss.backward before forward") }
    gradient.resize(logits.shape)
    gradient.zero()
    guard counted > 0 else { return gradient }
    for i in 0..<logits.count {
      let m = mask?[i] ?? 1
      if m == 0 { continue }
      let x = Double(logits.data[i])
      let sig = 1 / (1 + Foundation.exp(-x))
      gradient.data[i] = Float(Double(m) * (sig - Double(targets[i])) / counted)
    }
    return gradient
  }
}

/// In-batch contrastive retrieval accuracy: the fraction of rows of z1 whose most similar row of
/// z2 is its own pair, and vice versa, averaged. z1, z2 `[N, D]`.
public func contrastiveTop1Accuracy(_ z1: Tensor, _ z2: Tensor) -> Float {
  precondition(z1.shape.count == 2 && z1.shape == z2.shape)
  let (n, d) = (z1.shape[0], z1.shape[1])
  let s = Tensor(shape: [n, n])
  BLAS.sgemm(
    transA: false, transB: true, m: n, n: n, k: d, a: z1.data, lda: d, b: z2.data, ldb: d, beta: 0,
    c: s.data, ldc: n)
  var correct = 0
  for i in 0..<n {
    var (br, bc) = (0, 0)
    for j in 0..<n {
      if s.data[i * n + j] > s.data[i * n + br] { br = j }
      if s.data[j * n + i] > s.data[bc * n + i] { bc = j }
    }
    if br == i { correct += 1 }
    if bc == i { correct += 1 }
  }
  return Float(correct) / Float(2 * n)
}
