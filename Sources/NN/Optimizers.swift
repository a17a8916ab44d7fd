import Foundation

/// AdamW (Loshchilov & Hutter), PyTorch `torch.optim.AdamW` semantics: decoupled weight decay
/// `p ← p·(1 − lr·λ)` (only on entries registered with `decay`), then Adam with bias correction
/// `p ← p − (lr / (1 − β1ᵗ)) · m / (√v / √(1 − β2ᵗ) + ε)`. Works on the store's whole block.
public final class AdamW {
  /// Learning rate used when ``step(learningRate:)`` gets none.
  public var learningRate: Float
  /// β1, β2 (PyTorch defaults 0.9, 0.999).
  public var betas: (Float, Float)
  /// ε (PyTorch default 1e-8).
  public var eps: Float
  /// Decoupled weight decay λ (PyTorch default 0.01).
  public var weightDecay: Float
  /// Steps taken so far.
  public private(set) var stepCount = 0
  unowned let store: ParameterStore
  private var m: [Float]
  private var v: [Float]
  private let decayMask: [Bool]

  /// An optimizer over every parameter of `store` (which must be finalized).
  public init(
    store: ParameterStore, learningRate: Float = 1e-3, betas: (Float, Float) = (0.9, 0.999),
    eps: Float = 1e-8, weightDecay: Float = 0.01
  ) {
    precondition(store.isFinalized, "finalize the parameter store before creating the optimizer")
    self.store = store
    self.learningRate = learningRate
    self.betas = betas
    self.eps = eps
    self.weightDecay = weightDecay
    m = Array(repeating: 0, count: store.parameterCount)
    v = Array(repeating: 0, count: store.parameterCount)
    var mask = Array(repeating: false, count: store.parameterCount)
    for e in store.parameters where e.decay {
      for i in e.offset..<(e.offset + e.count) { mask[i] = true }
    }
    decayMask = mask
  }

  /// One update with the current gradients (and `learningRate` if given).
  public func step(learningRate lr: Float? = nil) {
    let lr = lr ?? learningRate
    stepCount += 1
    let (b1, b2) = betas
    let bc1 = 1 - Foundation.pow(Double(b1), Double(stepCount))
    let bc2Sqrt = (1 - Foundation.pow(Double(b2), Double(stepCount))).squareRoot()
    let stepSize = Float(Double(lr) / bc1)
    let bc2s = Float(bc2Sqrt)
    let decay = 1 - lr * weightDecay
    let p = store.values
    let g = store.gradients
    m.withUnsafeMutableBufferPointer { m in
      v.withUnsafeMutableBufferPointer { v in
        decayMask.withUnsafeBufferPointer { mask in
          for i in 0..<m.count {
            if mask[i] { p[i] *= decay }
            let gi = g[i]
            m[i] = b1 * m[i] + (1 - b1) * gi
            v[i] = b2 * v[i] + (1 - b2) * gi * gi
            let denom = v[i].squareRoot() / bc2s + eps
            p[i] -= stepSize * m[i] / denom
          }
        }
      }
    }
  }

  /// Moments as named tensors (`exp_avg.<name>`, `exp_avg_sq.<name>`) plus metadata with the step
  /// count and hyperparameters, for checkpoints.
  public func state() -> (
    tensors: [(name: String, tensor: SafeTensors.TensorData)], metadata: [String: String]
  ) {
    var out: [(String, SafeTensors.TensorData)] = []
    for e in store.parameters {
      out.append(
        (
          "exp_avg." + e.name,
          .float32(shape: e.shape, values: Array(m[e.offset..<(e.offset + e.count)]))
        ))
      out.append(
        (
          "exp_avg_sq." + e.name,
          .float32(shape: e.shape, values: Array(v[e.offset..<(e.offset + e.count)]))
        ))
    }
    let meta = [
      "optimizer": "AdamW", "step": String(stepCount), "lr": String(learningRate),
      "beta1": String(betas.0), "beta2": String(betas.1), "eps": String(eps),
      "weight_decay": String(weightDecay),
    ]
    return (out.map { (name: $0.0, tensor: $0.1) }, meta)
  }

  /// Writes ``state()`` to a safetensors file atomically.
  public func save(to path: String) throws(SafeTensorsError) {
    let s = state()
    try SafeTensors.write(s.tensors, metadata: s.metadata, to: path)
  }

  /// Restores moments and the step count from a file written by ``save(to:)``.
  public func load(_ file: SafeTensors.File) throws(SafeTensorsError) {
    guard let stepText = file.metadata["step"], let step = Int(stepText), step >= 0 else {
      throw SafeTensorsError(path: file.path, reason: "__metadata__.step missing or not an integer")
    }
    for e in store.parameters {
      for (prefix, isFirst) in [("exp_avg.", true), ("exp_avg_sq.", false)] {
        guard let t = file.tensors[prefix + e.name], t.shape == e.shape else {
          throw SafeTensorsError(
            path: file.path, reason: "missing or mis-shaped tensor '\(prefix + e.name)'")
        }
        let f = try t.floats(name: prefix + e.name, path: file.path)
        for i in 0..<e.count {
          if isFirst { m[e.offset + i] = f[i] } else { v[e.offset + i] = f[i] }
        }
      }
    }
    stepCount = step
  }
}

/// SGD with momentum, PyTorch `torch.optim.SGD` semantics (dampening 0): `g ← g + λ·p` (coupled
/// weight decay on `decay` entries), `b ← μ·b + g` (b = g on the first step),
/// `p ← p − lr·(nesterov ? g + μ·b : b)`.
public final class SGD {
  /// Learning rate used when ``step(learningRate:)`` gets none.
  public var learningRate: Float
  /// Momentum μ.
  public var momentum: Float
  /// Coupled L2 weight decay λ.
  public var weightDecay: Float
  /// Nesterov momentum.
  public var nesterov: Bool
  unowned let store: ParameterStore
  private var buffer: [Float]
  private var started = false
  private let decayMask: [Bool]

  /// An optimizer over every parameter of `store`.
  public init(
    store: ParameterStore, learningRate: Float, momentum: Float = 0.9, weightDecay: Float = 0,
    nesterov: Bool = false
  ) {
    precondition(store.isFinalized)
    self.store = store
    self.learningRate = learningRate
    self.momentum = momentum
    self.weightDecay = weightDecay
    self.nesterov = nesterov
    buffer = Array(repeating: 0, count: store.parameterCount)
    var mask = Array(repeating: false, count: store.parameterCount)
    for e in store.parameters where e.decay {
      for i in e.offset..<(e.offset + e.count) { mask[i] = true }
    }
    decayMask = mask
  }

  /// One update with the current gradients.
  public func step(learningRate lr: Float? = nil) {
    let lr = lr ?? learningRate
    let (p, g) = (store.values, store.gradients)
    for i in 0..<buffer.count {
      var d = g[i]
      if decayMask[i] { d += weightDecay * p[i] }
      buffer[i] = started ? momentum * buffer[i] + d : d
      p[i] -= lr * (nesterov ? d + momentum * buffer[i] : buffer[i])
    }
    started = true
  }
}

/// Learning rate with linear warmup then cosine decay:
/// `base·(s+1)/warmup` for `s < warmup`, then `min + ½(base − min)(1 + cos(π·(s − warmup)/(total − warmup)))`,
/// and `min` after `total`.
public struct CosineSchedule: Sendable, Codable, Equatable {
  /// Peak learning rate.
  public var baseLearningRate: Float
  /// Final learning rate.
  public var minLearningRate: Float
  /// Warmup steps.
  public var warmupSteps: Int
  /// Total steps (warmup included).
  public var totalSteps: Int

  public init(
    baseLearningRate: Float, warmupSteps: Int, totalSteps: Int, minLearningRate: Float = 0
  ) {
    self.baseLearningRate = baseLearningRate
    self.minLearningRate = minLearningRate
    self.warmupSteps = max(0, warmupSteps)
    self.totalSteps = max(totalSteps, 1)
  }

  /// The learning rate for zero-based step `step`.
  public func learningRate(at step: Int) -> Float {
    if step < warmupSteps { return baseLearningRate * Float(step + 1) / Float(warmupSteps) }
    if step >= totalSteps { return minLearningRate }
    let span = max(totalSteps - warmupSteps, 1)
    let progress = Double(step - warmupSteps) / Double(span)
    return minLearningRate + Float(0.5 * (1 + cos(Double.pi * progress)))
      * (baseLearningRate - minLearningRate)
  }
}
