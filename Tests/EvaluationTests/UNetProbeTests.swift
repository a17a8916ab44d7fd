import Foundation
import NN
import TandemBase
import Testing

@testable import Evaluation

@Suite struct UNetProbeTests {
  /// Windows of 16 px whose label is a 2-px checkerboard (visible only at stride 2), carried by
  /// channel 0 of the finest stage map; the coarser stages are noise. The stride-8 head cannot
  /// resolve it; the U-Net's skip connection must.
  static func task(count: Int, seed: UInt64) -> (UNetProbe.StageMaps, [Int]) {
    let size = 16
    let shapes = [(c: 2, h: 8, w: 8), (c: 3, h: 4, w: 4), (c: 4, h: 2, w: 2)]
    var maps = UNetProbe.StageMaps(shapes: shapes)
    var labels = [Int](repeating: 0, count: count * size * size)
    var rng = SeededGenerator(seed: seed)
    for i in 0..<count {
      let phase = Int(rng.next() % 2)
      var stage: [Tensor] = []
      for (s, shape) in shapes.enumerated() {
        let t = Tensor(shape: [1, shape.c, shape.h, shape.w])
        for k in 0..<t.count { t.data[k] = Float(rng.nextGaussian()) * 0.5 }
        if s == 0 {
          for y in 0..<8 {
            for x in 0..<8 { t.data[y * 8 + x] = (x + y + phase) % 2 == 0 ? 1 : -1 }
          }
        }
        stage.append(t)
      }
      maps.append(stage)
      for y in 0..<size {
        for x in 0..<size {
          // Row 0 is no-data.
          labels[i * size * size + y * size + x] =
            y == 0 ? -1 : ((x / 2 + y / 2 + phase) % 2 == 0 ? 1 : 0)
        }
      }
    }
    return (maps, labels)
  }

  @Test func learnsAFineMaskThroughTheSkipConnectionAndIgnoresNoData() {
    let (maps, labels) = Self.task(count: 16, seed: 3)
    let options = UNetProbe.Options(
      width: 8, epochs: 40, minimumSteps: 0, batch: 4, learningRate: 1e-2)
    let probe = UNetProbe(
      maps: maps, labels: labels, outputSize: 16, classes: 2, seed: 1, options: options)
    #expect(probe.steps == 40 * 4)
    let (test, truth) = Self.task(count: 8, seed: 4)
    var matrix = ConfusionMatrix(classes: 2)
    matrix.add(truth: truth, prediction: probe.predict(maps: test))
    #expect(matrix.ignored == 8 * 16)
    #expect((matrix.overallAccuracy ?? 0) > 0.9, "OA \(matrix.overallAccuracy ?? -1)")
    // Deterministic for a seed; another seed trains another decoder.
    let again = UNetProbe(
      maps: maps, labels: labels, outputSize: 16, classes: 2, seed: 1, options: options)
    #expect(again.finalLoss == probe.finalLoss)
    #expect(again.predict(maps: test) == probe.predict(maps: test))
    let other = UNetProbe(
      maps: maps, labels: labels, outputSize: 16, classes: 2, seed: 2, options: options)
    #expect(other.finalLoss != probe.finalLoss)
  }

  @Test func smallTrainingSetsGetTheMinimumNumberOfSteps() {
    let (maps, labels) = Self.task(count: 3, seed: 5)
    let probe = UNetProbe(
      maps: maps, labels: labels, outputSize: 16, classes: 2, seed: 1,
      options: .init(width: 4, epochs: 2, minimumSteps: 25, batch: 2))
    #expect(probe.steps == 25)
    #expect(probe.finalLoss.isFinite)
  }

  /// A rare class (≈ 8 % of pixels) whose signal overlaps the common one's: under the plain
  /// mean the decoder calls too few pixels rare (the flood-water failure of Docs/RESULTS.md);
  /// balanced class weights make it predict the rare class more often and find more of it.
  @Test func balancedClassWeightsStopUnderPredictingARareClass() {
    func task(count: Int, seed: UInt64) -> (UNetProbe.StageMaps, [Int]) {
      let shapes = [(c: 1, h: 8, w: 8), (c: 2, h: 4, w: 4), (c: 2, h: 2, w: 2)]
      var maps = UNetProbe.StageMaps(shapes: shapes)
      var labels = [Int](repeating: 0, count: count * 16 * 16)
      var rng = SeededGenerator(seed: seed)
      for i in 0..<count {
        var stage: [Tensor] = []
        var rare = [Bool](repeating: false, count: 64)
        for (s, shape) in shapes.enumerated() {
          let t = Tensor(shape: [1, shape.c, shape.h, shape.w])
          for k in 0..<t.count { t.data[k] = Float(rng.nextGaussian()) * 0.3 }
          if s == 0 {
            for k in 0..<64 {
              rare[k] = rng.next() % 100 < 8
              t.data[k] = (rare[k] ? 1 : 0) + Float(rng.nextGaussian()) * 0.45
            }
          }
          stage.append(t)
        }
        maps.append(stage)
        for y in 0..<16 {
          for x in 0..<16 { labels[i * 256 + y * 16 + x] = rare[(y / 2) * 8 + x / 2] ? 1 : 0 }
        }
      }
      return (maps, labels)
    }
    let (maps, labels) = task(count: 24, seed: 7)
    let (test, truth) = task(count: 16, seed: 8)
    func fit(_ weighting: ClassWeighting) -> (predicted: Double, recall: Double) {
      let probe = UNetProbe(
        maps: maps, labels: labels, outputSize: 16, classes: 2, seed: 1,
        options: .init(
          width: 8, epochs: 30, minimumSteps: 0, batch: 8, learningRate: 1e-2,
          classWeighting: weighting))
      let prediction = probe.predict(maps: test)
      let predicted = Double(prediction.filter { $0 == 1 }.count) / Double(prediction.count)
      let found = zip(truth, prediction).filter { $0 == 1 && $1 == 1 }.count
      return (predicted, Double(found) / Double(truth.filter { $0 == 1 }.count))
    }
    let plain = fit(.none)
    let balanced = fit(.balanced)
    let share = Double(truth.filter { $0 == 1 }.count) / Double(truth.count)
    #expect(plain.predicted < share, "plain \(plain), true share \(share)")
    #expect(balanced.predicted > plain.predicted + 0.02, "balanced \(balanced), plain \(plain)")
    #expect(balanced.recall > plain.recall + 0.1, "balanced \(balanced), plain \(plain)")
  }

  @Test func balancedWeightsAreInverseClassFrequencies() {
    // 6 of class 0, 2 of class 1, none of class 2, no-data ignored.
    let w = ClassWeighting.balanced.weights(labels: [0, 0, 0, 0, 0, 0, 1, 1, -1, -1], classes: 3)
    let expected: [Float] = [Float(8.0 / 12), 2, 0]
    #expect(w == expected)
    #expect(ClassWeighting.none.weights(labels: [0, 1], classes: 2) == nil)
    #expect(ClassWeighting.balanced.weights(labels: [-1], classes: 2) == nil)
  }
}
