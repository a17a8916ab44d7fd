import Evaluation
import TandemBase
import Testing

@Suite struct ConfusionMatrixTests {
  /// 3 classes, hand-counted:
  /// truth      0 0 0 0 1 1 1 2 2 255
  /// prediction 0 0 1 2 1 1 0 2 0 1
  /// counts: [[2,1,1],[1,2,0],[1,0,1]], one ignored.
  func example() -> ConfusionMatrix {
    var m = ConfusionMatrix(classes: 3)
    m.add(truth: [0, 0, 0, 0, 1, 1, 1, 2, 2, 255], prediction: [0, 0, 1, 2, 1, 1, 0, 2, 0, 1])
    return m
  }

  @Test func countsIgnoreNoData() {
    let m = example()
    #expect(m.counts == [[2, 1, 1], [1, 2, 0], [1, 0, 1]])
    #expect(m.ignored == 1)
    #expect(m.total == 9)
  }

  @Test func accuracies() throws {
    let m = example()
    #expect(try #require(m.overallAccuracy) == 5.0 / 9.0)
    let recalls = m.perClassAccuracy.map { $0! }
    #expect(recalls == [2.0 / 4.0, 2.0 / 3.0, 1.0 / 2.0])
    let balanced = try #require(m.balancedAccuracy)
    #expect(abs(balanced - (0.5 + 2.0 / 3.0 + 0.5) / 3) < 1e-12)
  }

  @Test func iouAndF1() {
    let m = example()
    // class 0: TP 2, FP 2 (1→0, 2→0), FN 2 → IoU 2/6, F1 4/8.
    #expect(m.iou(0) == 2.0 / 6.0)
    #expect(m.f1(0) == 0.5)
    // class 2: TP 1, FP 1, FN 1 → IoU 1/3, F1 2/4.
    #expect(m.iou(2) == 1.0 / 3.0)
    #expect(m.f1(2) == 0.5)
  }

  @Test func binaryWaterMask() {
    // Water = 1. truth 1 1 1 0 0 0 0 255, prediction 1 1 0 1 0 0 0 1 → TP 2, FN 1, FP 1.
    var m = ConfusionMatrix(classes: 2)
    m.add(truth: [1, 1, 1, 0, 0, 0, 0, 255], prediction: [1, 1, 0, 1, 0, 0, 0, 1])
    #expect(m.iou(1) == 0.5)
    #expect(abs(m.f1(1) - 2.0 / 3.0) < 1e-12)
    #expect(m.overallAccuracy == 5.0 / 7.0)
    #expect(m.balancedAccuracy == (2.0 / 3.0 + 3.0 / 4.0) / 2)
  }

  @Test func emptyMasks() {
    // No water in truth and none predicted: perfect agreement, IoU and F1 are 1.
    var none = ConfusionMatrix(classes: 2)
    none.add(truth: [0, 0, 0], prediction: [0, 0, 0])
    #expect(none.iou(1) == 1)
    #expect(none.f1(1) == 1)
    #expect(none.perClassAccuracy[1] == nil)
    #expect(none.balancedAccuracy == 1)
    // No water in truth but some predicted: IoU 0.
    var false1 = ConfusionMatrix(classes: 2)
    false1.add(truth: [0, 0, 0], prediction: [1, 0, 0])
    #expect(false1.iou(1) == 0)
    #expect(false1.f1(1) == 0)
    // Only no-data: nothing to score.
    var empty = ConfusionMatrix(classes: 2)
    empty.add(truth: [255, -1], prediction: [0, 1])
    #expect(empty.overallAccuracy == nil)
    #expect(empty.balancedAccuracy == nil)
    #expect(empty.ignored == 2)
  }

  @Test func mergeAddsCounts() {
    var a = example()
    a.merge(example())
    #expect(a.counts == [[4, 2, 2], [2, 4, 0], [2, 0, 2]])
    #expect(a.ignored == 2)
    #expect(a.overallAccuracy == 5.0 / 9.0)
  }
}

@Suite struct LinearProbeTests {
  /// Two Gaussian blobs per class in 2-D, separable by a line: the probe must fit them.
  @Test func separatesLinearData() {
    var rng = SeededGenerator(seed: 3)
    var features: [Float] = []
    var labels: [Int] = []
    let centres: [(Float, Float)] = [(-2, 0), (2, 1), (0, 4)]
    for i in 0..<300 {
      let c = i % 3
      features += [
        centres[c].0 + Float.random(in: -0.8...0.8, using: &rng),
        centres[c].1 + Float.random(in: -0.8...0.8, using: &rng),
      ]
      labels.append(c)
    }
    let probe = LinearProbe(features: features, labels: labels, dimension: 2, classes: 3)
    var m = ConfusionMatrix(classes: 3)
    m.add(truth: labels, prediction: probe.predict(features))
    #expect((m.overallAccuracy ?? 0) > 0.97)
    // Deterministic.
    let again = LinearProbe(features: features, labels: labels, dimension: 2, classes: 3)
    #expect(again.weights == probe.weights)
  }

  /// With inverse-frequency weights a rare class is still predicted.
  @Test func balancedWeightsHelpRareClass() {
    var features: [Float] = []
    var labels: [Int] = []
    for i in 0..<200 {
      let rare = i % 20 == 0
      features.append(rare ? 0.6 + Float(i % 7) * 0.01 : Float(i % 13) * 0.05)
      labels.append(rare ? 1 : 0)
    }
    let probe = LinearProbe(
      features: features, labels: labels, dimension: 1, classes: 2,
      options: .init(iterations: 400, balanced: true))
    var m = ConfusionMatrix(classes: 2)
    m.add(truth: labels, prediction: probe.predict(features))
    #expect((m.perClassAccuracy[1] ?? 0) > 0.9)
  }
}
