import Foundation
import TandemBase

/// One probe's scores on the test windows.
public struct ProbeResult: Sendable {
  /// What was probed, e.g. `raw band statistics` or `encoder s2 (multimodal)`.
  public var name: String
  /// Input features per sample.
  public var features: Int
  /// Training and test samples (windows for land cover, pixels for flood).
  public var trainSamples: Int
  public var testSamples: Int
  /// Test counts.
  public var confusion: ConfusionMatrix
}

/// Fits probes on the training windows and scores them on the test windows.
public enum Evaluator {
  /// Settings shared by every probe of one evaluation.
  public struct Options: Sendable {
    /// Seeds the per-window pixel draw of flood probes.
    public var seed: UInt64
    /// Labelled pixels drawn per training window for per-pixel probes.
    public var pixelsPerWindow: Int
    /// Encoder batch size for feature extraction.
    public var batch: Int
    /// Probe optimizer settings.
    public var probe: LinearProbe.Options

    /// Defaults: 64 pixels per window, batches of 16.
    public init(
      seed: UInt64 = 0, pixelsPerWindow: Int = 64, batch: Int = 16,
      probe: LinearProbe.Options = .init()
    ) {
      self.seed = seed
      self.pixelsPerWindow = pixelsPerWindow
      self.batch = batch
      self.probe = probe
    }
  }

  /// Land cover: a linear probe predicting each window's dominant class from (a) per-band mean
  /// and standard deviation of the raw input (no-learning baseline) and (b) the encoder's pooled
  /// features. Windows with less than half their pixels labelled are left out.
  public static func landcover(
    encoder: FrozenEncoder, split: ProbeSplit, name: String, options: Options = Options()
  ) -> [ProbeResult] {
    let train = split.train.filter { $0.dominantClass != nil }
    let test = split.test.filter { $0.dominantClass != nil }
    let trainLabels = train.map { $0.dominantClass! }
    let testLabels = test.map { $0.dominantClass! }
    let classes = ProbeTask.landcover.classNames.count
    let channels = encoder.encoder.config.inChannels

    func bandStatistics(_ windows: [ProbeWindow]) -> [Float] {
      var out: [Float] = []
      for w in windows {
        let x = encoder.input(w)
        let plane = w.size * w.size
        for c in 0..<channels {
          var sum: Double = 0
          var sumSq: Double = 0
          for i in 0..<plane {
            let v = Double(x[c * plane + i])
            sum += v
            sumSq += v * v
          }
          let mean = sum / Double(plane)
          out += [Float(mean), Float(max(sumSq / Double(plane) - mean * mean, 0).squareRoot())]
        }
      }
      return out
    }

    func score(_ name: String, _ trainX: [Float], _ testX: [Float], _ d: Int) -> ProbeResult {
      var confusion = ConfusionMatrix(classes: classes)
      if !train.isEmpty {
        let probe = LinearProbe(
          features: trainX, labels: trainLabels, dimension: d, classes: classes,
          options: options.probe)
        confusion.add(truth: testLabels, prediction: probe.predict(testX))
      }
      return ProbeResult(
        name: name, features: d, trainSamples: train.count, testSamples: test.count,
        confusion: confusion)
    }

    let d = encoder.featureDimension
    return [
      score(
        "raw band statistics (\(encoder.modality.rawValue))", bandStatistics(train),
        bandStatistics(test), 2 * channels),
      score(
        name, encoder.pooledFeatures(train, batch: options.batch),
        encoder.pooledFeatures(test, batch: options.batch), d),
    ]
  }

  /// Flood: per-pixel water segmentation with a linear probe on (a) the input bands (a 1×1 head
  /// on the input: no-learning baseline) and (b) the encoder's last feature map upsampled
  /// bilinearly (a 1×1 head on the feature map, upsampled). Probes train on `pixelsPerWindow`
  /// labelled pixels drawn per training window and are scored on every labelled test pixel.
  public static func flood(
    encoder: FrozenEncoder, split: ProbeSplit, name: String, options: Options = Options()
  ) -> [ProbeResult] {
    let channels = encoder.encoder.config.inChannels
    let d = encoder.featureDimension

    /// Features of one window's pixels, `[d, plane]` planes.
    func forEachBatch(
      _ windows: [ProbeWindow], encoded: Bool, _ body: (ProbeWindow, [Float], Int) -> Void
    ) {
      for start in stride(from: 0, to: windows.count, by: options.batch) {
        let chunk = Array(windows[start..<min(start + options.batch, windows.count)])
        if encoded {
          let all = encoder.pixelFeatures(chunk)
          let per = all.count / chunk.count
          for (k, w) in chunk.enumerated() { body(w, Array(all[(k * per)..<((k + 1) * per)]), d) }
        } else {
          for w in chunk { body(w, encoder.input(w), channels) }
        }
      }
    }

    func run(_ name: String, encoded: Bool) -> ProbeResult {
      var trainX: [Float] = []
      var trainY: [Int] = []
      var windowIndex: UInt64 = 0
      forEachBatch(split.train, encoded: encoded) { w, planes, dim in
        let plane = w.size * w.size
        let valid = w.labels.indices.filter { w.labels[$0] >= 0 }
        var rng = SeededGenerator(seed: options.seed, stream: 0x464C_4F4F, windowIndex)
        windowIndex += 1
        guard !valid.isEmpty else { return }
        for _ in 0..<options.pixelsPerWindow {
          let p = valid[Int(rng.next() % UInt64(valid.count))]
          for c in 0..<dim { trainX.append(planes[c * plane + p]) }
          trainY.append(w.labels[p])
        }
      }
      var confusion = ConfusionMatrix(classes: 2)
      let probe =
        trainY.isEmpty
        ? nil
        : LinearProbe(
          features: trainX, labels: trainY, dimension: encoded ? d : channels, classes: 2,
          options: options.probe)
      var tested = 0
      forEachBatch(split.test, encoded: encoded) { w, planes, dim in
        guard let probe else { return }
        let plane = w.size * w.size
        var x = [Float](repeating: 0, count: plane * dim)
        for p in 0..<plane { for c in 0..<dim { x[p * dim + c] = planes[c * plane + p] } }
        confusion.add(truth: w.labels, prediction: probe.predict(x))
        tested += w.labels.count { $0 >= 0 }
      }
      return ProbeResult(
        name: name, features: encoded ? d : channels, trainSamples: trainY.count,
        testSamples: tested, confusion: confusion)
    }

    return [
      run("1×1 head on input (\(encoder.modality.rawValue))", encoded: false),
      run(name, encoded: true),
    ]
  }
}
