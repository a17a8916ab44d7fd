import Foundation
import NN
import TandemBase

/// A small trained segmentation head on frozen feature maps (`--probe head`):
/// `SegmentationHead` (3×3 conv → BN → ReLU → 1×1 conv → bilinear upsample to the window)
/// trained with per-pixel cross-entropy (no-data labels ignored) and AdamW on a cosine schedule.
///
/// Feature maps are standardized per channel with the training set's statistics, like the linear
/// probe's features. Deterministic: the head's init and the minibatch order come from `seed`.
public final class SegmentationProbe {
  /// Training settings.
  public struct Options: Sendable, Equatable {
    /// Hidden width of the head's 3×3 conv.
    public var hidden: Int
    /// Passes over the training windows.
    public var epochs: Int
    /// Windows per step.
    public var batch: Int
    /// Peak AdamW learning rate (cosine decay to 0).
    public var learningRate: Float
    /// AdamW weight decay.
    public var weightDecay: Float
    /// Encoder stages the head reads: 2 = the last two stage outputs at stride 8 (the last one
    /// upsampled), so the head sees finer detail than the stride-16 map alone.
    public var stages: Int
    /// Class weights of the cross-entropy.
    public var classWeighting: ClassWeighting

    /// Defaults suited to a few hundred windows with coarse feature maps.
    public init(
      hidden: Int = 64, epochs: Int = 20, batch: Int = 16, learningRate: Float = 3e-3,
      weightDecay: Float = 1e-4, stages: Int = 2, classWeighting: ClassWeighting = .none
    ) {
      self.classWeighting = classWeighting
      self.stages = stages
      self.hidden = hidden
      self.epochs = epochs
      self.batch = batch
      self.learningRate = learningRate
      self.weightDecay = weightDecay
    }
  }

  /// Feature channels and map size the head reads; classes and window size it predicts.
  public let channels: Int
  public let mapSize: (h: Int, w: Int)
  public let classes: Int
  public let outputSize: Int
  /// Mean training loss of the last epoch.
  public private(set) var finalLoss: Float = .nan
  private let head: SegmentationHead
  private let standardization: MapStandardization

  /// Trains a head on `maps` (`count × channels × h × w`, row-major) against `labels`
  /// (`count × outputSize × outputSize`, −1 = no data).
  public init(
    maps: [Float], count: Int, channels: Int, mapSize: (h: Int, w: Int), labels: [Int],
    outputSize: Int, classes: Int, seed: UInt64, options: Options = Options()
  ) {
    let plane = mapSize.h * mapSize.w
    let pixels = outputSize * outputSize
    precondition(maps.count == count * channels * plane, "feature maps and count disagree")
    precondition(labels.count == count * pixels, "labels and count disagree")
    self.channels = channels
    self.mapSize = mapSize
    self.classes = classes
    self.outputSize = outputSize

    // Per-channel standardization from the training maps.
    standardization = MapStandardization(
      maps: maps, count: count, channels: channels, h: mapSize.h, w: mapSize.w)

    head = SegmentationHead(
      inChannels: channels, hidden: options.hidden, classes: classes,
      outputSize: (outputSize, outputSize), seed: seed)
    guard count > 0 else { return }
    let optimizer = AdamW(
      store: head.store, learningRate: options.learningRate, weightDecay: options.weightDecay)
    let loss = CrossEntropyLoss(
      ignoreIndex: -1,
      classWeights: options.classWeighting.weights(
        labels: labels, classes: classes))
    var rng = SeededGenerator(seed: seed, stream: 0x5345_4748)  // "SEGH"
    var order = Array(0..<count)
    let stepsPerEpoch = (count + options.batch - 1) / options.batch
    let totalSteps = max(1, options.epochs * stepsPerEpoch)
    var step = 0
    head.isTraining = true
    for _ in 0..<options.epochs {
      // Fisher–Yates with the seeded generator: the same seed gives the same minibatches.
      for i in stride(from: count - 1, to: 0, by: -1) {
        order.swapAt(i, Int(rng.next() % UInt64(i + 1)))
      }
      var epochLoss = 0.0
      for start in stride(from: 0, to: count, by: options.batch) {
        let chunk = Array(order[start..<min(start + options.batch, count)])
        let x = standardization.standardized(maps, chunk)
        var y = [Int32](repeating: -1, count: chunk.count * pixels)
        for (k, i) in chunk.enumerated() {
          for p in 0..<pixels { y[k * pixels + p] = Int32(labels[i * pixels + p]) }
        }
        head.store.zeroGradients()
        let value = loss.forward(head.forward(x), labels: y)
        head.backward(loss.backward())
        let progress = Float(step) / Float(totalSteps)
        optimizer.step(
          learningRate: options.learningRate * 0.5 * (1 + Foundation.cos(Float.pi * progress)))
        step += 1
        epochLoss += Double(value)
      }
      finalLoss = Float(epochLoss / Double(stepsPerEpoch))
    }
    head.isTraining = false
  }

  /// Per-pixel class predictions `count × outputSize × outputSize` for `maps`
  /// (`count × channels × h × w`), in batches.
  public func predict(maps: [Float], count: Int, batch: Int = 16) -> [Int] {
    let pixels = outputSize * outputSize
    var out = [Int](repeating: 0, count: count * pixels)
    for start in stride(from: 0, to: count, by: batch) {
      let chunk = Array(start..<min(start + batch, count))
      let logits = head.forward(standardization.standardized(maps, chunk))
      writeArgmax(logits, classes: classes, pixels: pixels, first: start, into: &out)
    }
    return out
  }
}
