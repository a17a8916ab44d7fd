import Foundation
import TandemBase
import Testing

@testable import NN

/// Finite-difference and known-value checks of the losses.
struct LossGradientTests {
  /// Numeric gradient of a scalar function of the values at `p`.
  func numericGradient(
    _ p: UnsafeMutablePointer<Float>, _ count: Int, h: Float = 1e-2, _ f: () -> Float
  )
    -> [Double]
  {
    (0..<count).map { i in
      let s = p[i]
      p[i] = s + h
      let a = Double(f())
      p[i] = s - h
      let b = Double(f())
      p[i] = s
      return (a - b) / (2 * Double(h))
    }
  }

  func relativeError(_ a: [Float], _ n: [Double]) -> Double {
    var d = 0.0
    var na = 0.0
    var nn = 0.0
    for (x, y) in zip(a, n) {
      d += (Double(x) - y) * (Double(x) - y)
      na += Double(x) * Double(x)
      nn += y * y
    }
    return d.squareRoot() / max(na.squareRoot(), nn.squareRoot(), 1e-9)
  }

  @Test("InfoNCE gradients with learnable temperature", arguments: [true, false])
  func infoNCE(learnable: Bool) {
    let store = ParameterStore()
    let loss = InfoNCE(store: store, temperature: 0.2, learnable: learnable)
    store.finalize(seed: 1)
    let z1 = randomTensor([5, 4], seed: 1, scale: 0.5)
    let z2 = randomTensor([5, 4], seed: 2, scale: 0.5)
    _ = loss.forward(z1, z2)
    store.zeroGradients()
    let (d1, d2) = loss.backward()
    let g1 = d1.values
    let g2 = d2.values
    let n1 = numericGradient(z1.data, z1.count) { loss.forward(z1, z2) }
    let n2 = numericGradient(z2.data, z2.count) { loss.forward(z1, z2) }
    #expect(relativeError(g1, n1) < 2e-3)
    #expect(relativeError(g2, n2) < 2e-3)
    if learnable {
      let gt = store.gradient("log_temperature")!
      let nt = numericGradient(store.values, 1, h: 1e-3) { loss.forward(z1, z2) }
      #expect(relativeError(gt, nt) < 2e-3, "dlogτ \(gt) vs \(nt)")
    } else {
      #expect(store.parameterCount == 0)
    }
  }

  @Test("InfoNCE value: perfect alignment at low temperature has near-zero loss and accuracy 1")
  func infoNCEValue() {
    let z = Tensor(shape: [3, 3], values: [1, 0, 0, 0, 1, 0, 0, 0, 1])
    let loss = InfoNCE(temperature: 0.01)
    #expect(loss.forward(z, z) < 1e-6)
    #expect(loss.accuracy == 1)
    #expect(contrastiveTop1Accuracy(z, z) == 1)
    // Uniform logits: loss = log N.
    let zeros = Tensor(shape: [4, 2])
    #expect(abs(InfoNCE(temperature: 1).forward(zeros, zeros) - Float(log(4.0))) < 1e-6)
  }

  @Test("Cross-entropy gradients with ignored labels, 2-D and per pixel")
  func crossEntropy() {
    let logits = randomTensor([2, 3, 2, 2], seed: 4)
    let labels: [Int32] = [0, 2, -100, 1, 1, 1, 0, -100]
    let ce = CrossEntropyLoss()
    _ = ce.forward(logits, labels: labels)
    let g = ce.backward().values
    let n = numericGradient(logits.data, logits.count) { ce.forward(logits, labels: labels) }
    #expect(relativeError(g, n) < 2e-3)
    let flat = randomTensor([3, 4], seed: 5)
    let v = ce.forward(flat, labels: [0, 3, 1])
    var ref = 0.0
    for (i, l) in [0, 3, 1].enumerated() {
      let row = (0..<4).map { Double(flat.data[i * 4 + $0]) }
      ref += log(row.map { exp($0) }.reduce(0, +)) - row[l]
    }
    #expect(abs(Double(v) - ref / 3) < 1e-5)
  }

  @Test("Weighted cross-entropy: PyTorch's weighted mean, its gradients, equal weights = plain")
  func weightedCrossEntropy() {
    let logits = randomTensor([2, 3, 2, 2], seed: 6)
    let labels: [Int32] = [0, 2, -1, 1, 1, 1, 0, -1]
    let weights: [Float] = [0.5, 2, 3]
    let ce = CrossEntropyLoss(ignoreIndex: -1, classWeights: weights)
    let v = ce.forward(logits, labels: labels)
    let g = ce.backward().values
    let n = numericGradient(logits.data, logits.count) { ce.forward(logits, labels: labels) }
    #expect(relativeError(g, n) < 2e-3)
    // Σ w[y]·(lse − logit_y) / Σ w[y] over labelled positions (F.cross_entropy(weight=…)).
    var num = 0.0
    var den = 0.0
    for i in 0..<2 {
      for p in 0..<4 {
        let label = Int(labels[i * 4 + p])
        guard label >= 0 else { continue }
        let row = (0..<3).map { Double(logits.data[i * 12 + $0 * 4 + p]) }
        let w = Double(weights[label])
        num += w * (log(row.map { exp($0) }.reduce(0, +)) - row[label])
        den += w
      }
    }
    #expect(abs(Double(v) - num / den) < 1e-5)
    let plain = CrossEntropyLoss(ignoreIndex: -1)
    let equal = CrossEntropyLoss(ignoreIndex: -1, classWeights: [4, 4, 4])
    #expect(
      abs(plain.forward(logits, labels: labels) - equal.forward(logits, labels: labels)) < 1e-6)
    #expect(relativeError(plain.backward().values, equal.backward().values.map(Double.init)) < 1e-6)
  }

  @Test("BCE with logits gradients and mask")
  func bce() {
    let logits = randomTensor([2, 1, 3, 3], seed: 9, scale: 2)
    var rng = SeededGenerator(seed: 3)
    let targets = (0..<18).map { _ in Float(rng.next() % 2) }
    let mask = (0..<18).map { Float($0 % 4 == 0 ? 0 : 1) }
    let bce = BCEWithLogitsLoss()
    _ = bce.forward(logits, targets: targets, mask: mask)
    let g = bce.backward().values
    let n = numericGradient(logits.data, logits.count) {
      bce.forward(logits, targets: targets, mask: mask)
    }
    #expect(relativeError(g, n) < 2e-3)
    for i in stride(from: 0, to: 18, by: 4) { #expect(g[i] == 0) }
    // Known value: x = 0 → log 2.
    let zero = Tensor(shape: [2])
    #expect(abs(bce.forward(zero, targets: [1, 0]) - Float(log(2.0))) < 1e-6)
    #expect(bce.forward(zero, targets: [1, 0], mask: [0, 0]) == 0)
  }
}
