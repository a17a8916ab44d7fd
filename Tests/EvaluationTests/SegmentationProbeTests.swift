import Foundation
import NN
import TandemBase
import Testing

@testable import Evaluation

@Suite struct SegmentationProbeTests {
  /// Maps whose channel 0 is +1 on the left half of a 4×4 grid and −1 on the right half, with
  /// labels 1 on the left half of the 16×16 window and 0 on the right: a head must learn it, and
  /// no-data labels must not count.
  @Test func learnsASeparableMaskAndIgnoresNoData() {
    let count = 12
    let (c, h, w, size) = (3, 4, 4, 16)
    var rng = SeededGenerator(seed: 9)
    var maps = [Float](repeating: 0, count: count * c * h * w)
    var labels = [Int](repeating: 0, count: count * size * size)
    for i in 0..<count {
      for y in 0..<h {
        for x in 0..<w {
          maps[((i * c) + 0) * h * w + y * w + x] = x < w / 2 ? 1 : -1
          maps[((i * c) + 1) * h * w + y * w + x] = Float(rng.nextGaussian())
        }
      }
      for y in 0..<size {
        for x in 0..<size {
          // Row 0 is no-data with the "wrong" class everywhere it would matter.
          labels[i * size * size + y * size + x] = y == 0 ? -1 : (x < size / 2 ? 1 : 0)
        }
      }
    }
    let probe = SegmentationProbe(
      maps: maps, count: count, channels: c, mapSize: (h, w), labels: labels, outputSize: size,
      classes: 2, seed: 1, options: .init(hidden: 8, epochs: 30, batch: 4, learningRate: 1e-2))
    #expect(probe.finalLoss < 0.3, "final loss \(probe.finalLoss)")
    let predicted = probe.predict(maps: maps, count: count)
    var matrix = ConfusionMatrix(classes: 2)
    matrix.add(truth: labels, prediction: predicted)
    #expect(matrix.ignored == count * size)
    // Pixels next to the boundary are blurred by the bilinear upsampling; the rest is right.
    #expect((matrix.overallAccuracy ?? 0) > 0.9, "OA \(matrix.overallAccuracy ?? -1)")
    // Deterministic for a seed.
    let again = SegmentationProbe(
      maps: maps, count: count, channels: c, mapSize: (h, w), labels: labels, outputSize: size,
      classes: 2, seed: 1, options: .init(hidden: 8, epochs: 30, batch: 4, learningRate: 1e-2))
    #expect(again.predict(maps: maps, count: count) == predicted)
    #expect(again.finalLoss == probe.finalLoss)
  }

  @Test func concatenatesChannelsPerSample() {
    let a = Tensor(shape: [2, 1, 1, 2], values: [1, 2, 3, 4])
    let b = Tensor(shape: [2, 2, 1, 2], values: [10, 11, 12, 13, 20, 21, 22, 23])
    let c = ProbeFeatures.concatenateChannels([a, b])
    #expect(c.shape == [2, 3, 1, 2])
    #expect(c.values == [1, 2, 10, 11, 12, 13, 3, 4, 20, 21, 22, 23])
  }
}
