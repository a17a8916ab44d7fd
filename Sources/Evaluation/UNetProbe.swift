import Foundation
import NN
import TandemBase

/// A trained U-Net-style decoder on a frozen encoder's stage outputs (`--probe unet`): the
/// decoder (``UNetDecoder``: upsample, concatenate the next finer stage, 3×3 conv → BN → ReLU,
/// per level; 1×1 classifier; bilinear to the window) is trained with per-pixel cross-entropy
/// (no-data labels ignored) and AdamW on a cosine schedule; the encoder's weights never change.
///
/// Stage maps are standardized per channel with the training set's statistics, like the other
/// probes' features. Deterministic: the decoder's init and the minibatch order come from `seed`.
public final class UNetProbe {
  /// Training settings.
  public struct Options: Sendable, Equatable {
    /// Channels of every decoder level.
    public var width: Int
    /// Passes over the training windows…
    public var epochs: Int
    /// …but at least this many optimizer steps (small training sets, e.g. `--train-fraction`
    /// 0.01, still get a trained decoder).
    public var minimumSteps: Int
    /// Windows per step.
    public var batch: Int
    /// Peak AdamW learning rate (cosine decay to 0).
    public var learningRate: Float
    /// AdamW weight decay.
    public var weightDecay: Float
    /// Class weights of the cross-entropy.
    public var classWeighting: ClassWeighting

    /// Defaults suited to a few hundred to a few thousand 64–128 px windows.
    public init(
      width: Int = 16, epochs: Int = 6, minimumSteps: Int = 120, batch: Int = 16,
      learningRate: Float = 3e-3, weightDecay: Float = 1e-4, classWeighting: ClassWeighting = .none
    ) {
      self.classWeighting = classWeighting
      self.width = width
      self.epochs = epochs
      self.minimumSteps = minimumSteps
      self.batch = batch
      self.learningRate = learningRate
      self.weightDecay = weightDecay
    }
  }

  /// Stage maps of a set of windows: one `[count, C_i, h_i, w_i]` array per stage, finest first.
  public struct StageMaps {
    /// Values per stage, row-major `count × C_i × h_i × w_i`.
    public var values: [[Float]]
    /// `(channels, h, w)` per stage.
    public var shapes: [(c: Int, h: Int, w: Int)]
    /// Windows.
    public var count: Int

    /// Empty maps for `shapes`.
    public init(shapes: [(c: Int, h: Int, w: Int)]) {
      self.shapes = shapes
      values = shapes.map { _ in [] }
      count = 0
    }

    /// Appends a batch of stage tensors `[k, C_i, h_i, w_i]` (finest first).
    public mutating func append(_ maps: [Tensor]) {
      precondition(maps.count == shapes.count, "stage count")
      for (s, m) in maps.enumerated() {
        precondition(
          m.dim(1) == shapes[s].c && m.dim(2) == shapes[s].h && m.dim(3) == shapes[s].w,
          "stage \(s) map \(m.shape) vs \(shapes[s])")
        values[s] += m.values
      }
      count += maps[0].dim(0)
    }
  }

  /// Classes and window size it predicts.
  public let classes: Int
  public let outputSize: Int
  /// Mean training loss over the last epoch's steps.
  public private(set) var finalLoss: Float = .nan
  /// Optimizer steps taken.
  public private(set) var steps = 0
  private let decoder: UNetDecoder
  /// Per-stage channel standardization from the training maps.
  private let stages: [MapStandardization]

  /// Trains a decoder on `maps` against `labels` (`maps.count × outputSize²`, −1 = no data).
  public init(
    maps: StageMaps, labels: [Int], outputSize: Int, classes: Int, seed: UInt64,
    options: Options = Options()
  ) {
    let count = maps.count
    let pixels = outputSize * outputSize
    precondition(labels.count == count * pixels, "labels and maps disagree")
    self.classes = classes
    self.outputSize = outputSize
    stages = zip(maps.values, maps.shapes).map { values, shape in
      MapStandardization(maps: values, count: count, channels: shape.c, h: shape.h, w: shape.w)
    }

    decoder = UNetDecoder(
      stageChannels: maps.shapes.map(\.c), width: options.width, classes: classes,
      outputSize: (outputSize, outputSize), seed: seed)
    guard count > 0 else { return }
    let optimizer = AdamW(
      store: decoder.store, learningRate: options.learningRate, weightDecay: options.weightDecay)
    let loss = CrossEntropyLoss(
      ignoreIndex: -1,
      classWeights: options.classWeighting.weights(
        labels: labels, classes: classes))
    var rng = SeededGenerator(seed: seed, stream: 0x554E_4554)  // "UNET"
    var order = Array(0..<count)
    let stepsPerEpoch = (count + options.batch - 1) / options.batch
    let totalSteps = max(options.epochs * stepsPerEpoch, options.minimumSteps, 1)
    decoder.isTraining = true
    var epochLoss = 0.0
    var epochSteps = 0
    var position = count  // start with a shuffle
    for step in 0..<totalSteps {
      if position >= count {
        // Fisher–Yates with the seeded generator: the same seed gives the same minibatches.
        for i in stride(from: count - 1, to: 0, by: -1) {
          order.swapAt(i, Int(rng.next() % UInt64(i + 1)))
        }
        position = 0
        if epochSteps > 0 { finalLoss = Float(epochLoss / Double(epochSteps)) }
        epochLoss = 0
        epochSteps = 0
      }
      let chunk = Array(order[position..<min(position + options.batch, count)])
      position += options.batch
      var y = [Int32](repeating: -1, count: chunk.count * pixels)
      for (k, i) in chunk.enumerated() {
        for p in 0..<pixels { y[k * pixels + p] = Int32(labels[i * pixels + p]) }
      }
      decoder.store.zeroGradients()
      let value = loss.forward(decoder.forward(standardized(maps, chunk)), labels: y)
      decoder.backward(loss.backward())
      let progress = Float(step) / Float(totalSteps)
      optimizer.step(
        learningRate: options.learningRate * 0.5 * (1 + Foundation.cos(Float.pi * progress)))
      epochLoss += Double(value)
      epochSteps += 1
    }
    if epochSteps > 0 { finalLoss = Float(epochLoss / Double(epochSteps)) }
    steps = totalSteps
    decoder.isTraining = false
  }

  /// Standardized stage tensors of windows `indices` of `maps`.
  private func standardized(_ maps: StageMaps, _ indices: [Int]) -> [Tensor] {
    zip(stages, maps.values).map { stage, values in stage.standardized(values, indices) }
  }

  /// Per-pixel class predictions `maps.count × outputSize²`, in batches.
  public func predict(maps: StageMaps, batch: Int = 16) -> [Int] {
    let pixels = outputSize * outputSize
    var out = [Int](repeating: 0, count: maps.count * pixels)
    for start in stride(from: 0, to: maps.count, by: batch) {
      let chunk = Array(start..<min(start + batch, maps.count))
      let logits = decoder.forward(standardized(maps, chunk))
      writeArgmax(logits, classes: classes, pixels: pixels, first: start, into: &out)
    }
    return out
  }
}
