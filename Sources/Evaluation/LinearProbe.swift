import Foundation

/// A linear probe: multinomial logistic regression on standardized features, trained full-batch
/// with Adam on the mean cross-entropy plus an L2 penalty.
///
/// Deterministic: weights start at zero and the full batch has no sampling, so the same features
/// give the same probe on any machine (up to floating-point summation order, which is fixed here).
/// Features are standardized with the training set's per-dimension mean and standard deviation,
/// so the learning rate does not depend on the encoder's feature scale.
public struct LinearProbe: Sendable {
  /// Number of input features.
  public let dimension: Int
  /// Number of classes.
  public let classes: Int
  /// Per-feature mean and 1/std of the training features.
  public private(set) var mean: [Float]
  public private(set) var inverseStd: [Float]
  /// Weights `[classes, dimension]` row-major, then biases `[classes]`.
  public private(set) var weights: [Float]
  public private(set) var biases: [Float]
  /// Mean training loss after the last iteration.
  public private(set) var finalLoss: Float = .nan

  /// Training settings.
  public struct Options: Sendable, Equatable {
    /// Full-batch Adam iterations.
    public var iterations: Int
    /// Adam step size.
    public var learningRate: Float
    /// L2 penalty on the weights (not the biases).
    public var l2: Float
    /// Weight classes by inverse frequency, so rare classes (water) are not ignored.
    public var balanced: Bool

    /// Defaults suited to a few thousand samples and up to a few hundred features.
    public init(
      iterations: Int = 300, learningRate: Float = 0.05, l2: Float = 1e-3, balanced: Bool = false
    ) {
      self.iterations = iterations
      self.learningRate = learningRate
      self.l2 = l2
      self.balanced = balanced
    }
  }

  /// Trains a probe on `features` (`count × dimension`, row-major) with labels in
  /// `0..<classes` (every label must be valid; filter no-data before).
  public init(
    features: [Float], labels: [Int], dimension: Int, classes: Int, options: Options = Options()
  ) {
    precondition(dimension > 0 && classes >= 2, "a probe needs features and two classes")
    precondition(features.count == labels.count * dimension, "features and labels disagree")
    self.dimension = dimension
    self.classes = classes
    let n = labels.count
    var mean = [Float](repeating: 0, count: dimension)
    var inverseStd = [Float](repeating: 1, count: dimension)
    if n > 0 {
      var sum = [Double](repeating: 0, count: dimension)
      var sumSq = [Double](repeating: 0, count: dimension)
      for i in 0..<n {
        for j in 0..<dimension {
          let v = Double(features[i * dimension + j])
          sum[j] += v
          sumSq[j] += v * v
        }
      }
      for j in 0..<dimension {
        let m = sum[j] / Double(n)
        let variance = max(sumSq[j] / Double(n) - m * m, 0)
        mean[j] = Float(m)
        // Constant features get weight 1/1, not 1/0.
        inverseStd[j] = variance > 1e-12 ? Float(1 / variance.squareRoot()) : 1
      }
    }
    self.mean = mean
    self.inverseStd = inverseStd
    weights = [Float](repeating: 0, count: classes * dimension)
    biases = [Float](repeating: 0, count: classes)
    guard n > 0 else { return }

    var x = features
    for i in 0..<n {
      for j in 0..<dimension {
        x[i * dimension + j] = (x[i * dimension + j] - mean[j]) * inverseStd[j]
      }
    }
    var sampleWeight = [Float](repeating: 1 / Float(n), count: n)
    if options.balanced {
      var freq = [Int](repeating: 0, count: classes)
      for l in labels { freq[l] += 1 }
      let present = Float(freq.filter { $0 > 0 }.count)
      for i in 0..<n { sampleWeight[i] = 1 / (present * Float(freq[labels[i]])) }
    }
    let p = classes * dimension + classes
    var m1 = [Float](repeating: 0, count: p)
    var m2 = [Float](repeating: 0, count: p)
    var grad = [Float](repeating: 0, count: p)
    var logits = [Float](repeating: 0, count: classes)
    let (b1, b2): (Float, Float) = (0.9, 0.999)
    for t in 1...max(1, options.iterations) {
      // Raw pointers keep the O(n·classes·dimension) loops fast in debug builds too.
      let loss = x.withUnsafeBufferPointer { xp in
        sampleWeight.withUnsafeBufferPointer { swp in
          weights.withUnsafeBufferPointer { wp in
            grad.withUnsafeMutableBufferPointer { gp in
              logits.withUnsafeMutableBufferPointer { lp in
                Self.lossAndGradient(
                  x: xp, labels: labels, sampleWeight: swp, weights: wp, biases: biases,
                  dimension: dimension, classes: classes, l2: options.l2, grad: gp, logits: lp)
              }
            }
          }
        }
      }
      finalLoss = loss
      let c1 = 1 - powf(b1, Float(t))
      let c2 = 1 - powf(b2, Float(t))
      for k in 0..<p {
        m1[k] = b1 * m1[k] + (1 - b1) * grad[k]
        m2[k] = b2 * m2[k] + (1 - b2) * grad[k] * grad[k]
        let step = options.learningRate * (m1[k] / c1) / ((m2[k] / c2).squareRoot() + 1e-8)
        if k < classes * dimension {
          weights[k] -= step
        } else {
          biases[k - classes * dimension] -= step
        }
      }
    }
  }

  /// Mean weighted cross-entropy plus L2 penalty; writes its gradient into `grad`
  /// (weights, then biases).
  private static func lossAndGradient(
    x: UnsafeBufferPointer<Float>, labels: [Int], sampleWeight: UnsafeBufferPointer<Float>,
    weights: UnsafeBufferPointer<Float>, biases: [Float], dimension: Int, classes: Int, l2: Float,
    grad: UnsafeMutableBufferPointer<Float>, logits: UnsafeMutableBufferPointer<Float>
  ) -> Float {
    for k in 0..<grad.count { grad[k] = 0 }
    var loss: Float = 0
    for i in 0..<labels.count {
      let row = x.baseAddress! + i * dimension
      var maxLogit = -Float.infinity
      for c in 0..<classes {
        var s = biases[c]
        let w = weights.baseAddress! + c * dimension
        for j in 0..<dimension { s += w[j] * row[j] }
        logits[c] = s
        maxLogit = max(maxLogit, s)
      }
      var z: Float = 0
      for c in 0..<classes {
        logits[c] = expf(logits[c] - maxLogit)
        z += logits[c]
      }
      let sw = sampleWeight[i]
      let label = labels[i]
      loss -= sw * logf(max(logits[label] / z, 1e-30))
      for c in 0..<classes {
        let d = sw * (logits[c] / z - (c == label ? 1 : 0))
        let g = grad.baseAddress! + c * dimension
        for j in 0..<dimension { g[j] += d * row[j] }
        grad[classes * dimension + c] += d
      }
    }
    for k in 0..<(classes * dimension) {
      grad[k] += l2 * weights[k]
      loss += 0.5 * l2 * weights[k] * weights[k]
    }
    return loss
  }

  /// The most likely class of each row of `features` (`count × dimension`).
  public func predict(_ features: [Float]) -> [Int] {
    precondition(features.count % dimension == 0, "feature count is not a multiple of dimension")
    let n = features.count / dimension
    var out = [Int](repeating: 0, count: n)
    var x = [Float](repeating: 0, count: dimension)
    features.withUnsafeBufferPointer { f in
      weights.withUnsafeBufferPointer { wp in
        x.withUnsafeMutableBufferPointer { xp in
          for i in 0..<n {
            for j in 0..<dimension { xp[j] = (f[i * dimension + j] - mean[j]) * inverseStd[j] }
            var best = 0
            var bestLogit = -Float.infinity
            for c in 0..<classes {
              var s = biases[c]
              let w = wp.baseAddress! + c * dimension
              for j in 0..<dimension { s += w[j] * xp[j] }
              if s > bestLogit {
                bestLogit = s
                best = c
              }
            }
            out[i] = best
          }
        }
      }
    }
    return out
  }
}
