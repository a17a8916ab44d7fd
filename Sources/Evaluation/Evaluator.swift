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
    /// Segmentation head settings (`--probe head`).
    public var head: SegmentationProbe.Options
    /// U-Net decoder settings (`--probe unet`).
    public var unet: UNetProbe.Options

    /// Defaults: 64 pixels per window, batches of 16.
    public init(
      seed: UInt64 = 0, pixelsPerWindow: Int = 64, batch: Int = 16,
      probe: LinearProbe.Options = .init(), head: SegmentationProbe.Options = .init(),
      unet: UNetProbe.Options = .init()
    ) {
      self.seed = seed
      self.pixelsPerWindow = pixelsPerWindow
      self.batch = batch
      self.probe = probe
      self.head = head
      self.unet = unet
    }
  }

  /// Land cover: a linear probe predicting each window's dominant class from (a) per-band mean
  /// and standard deviation of the raw input (no-learning baseline) and (b) the encoder's pooled
  /// features. Windows with less than half their pixels labelled are left out.
  public static func landcover(
    encoder: ProbeFeatures, split: ProbeSplit, name: String, options: Options = Options()
  ) -> [ProbeResult] {
    let train = split.train.filter { $0.dominantClass != nil }
    let test = split.test.filter { $0.dominantClass != nil }
    let trainLabels = train.map { $0.dominantClass! }
    let testLabels = test.map { $0.dominantClass! }
    let classes = ProbeTask.landcover.classNames.count
    let channels = encoder.inputChannels

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
        "raw band statistics (\(encoder.input.label))", bandStatistics(train),
        bandStatistics(test), 2 * channels),
      score(
        name, encoder.pooledFeatures(train, batch: options.batch),
        encoder.pooledFeatures(test, batch: options.batch), d),
    ]
  }

  /// Flood with linear probes (see ``pixelwise(encoder:split:task:probe:name:options:)``).
  public static func flood(
    encoder: ProbeFeatures, split: ProbeSplit, name: String, options: Options = Options()
  ) -> [ProbeResult] {
    pixelwise(
      encoder: encoder, split: split, task: .flood, probe: .linear, name: name, options: options)
  }

  /// Per-pixel classification (flood: water; land cover: the six classes) with (a) a 1×1 head on
  /// the input bands (no-learning baseline, a linear probe on each pixel's band values) and
  /// (b) on the encoder: `.linear`, a linear probe on the last feature map upsampled bilinearly
  /// (a 1×1 head on the feature map, upsampled), or `.head`, a trained ``SegmentationProbe``.
  /// Linear probes train on `pixelsPerWindow` labelled pixels drawn per training window; the
  /// head trains on every labelled pixel. All are scored on every labelled test pixel.
  public static func pixelwise(
    encoder: ProbeFeatures, split: ProbeSplit, task: ProbeTask, probe kind: ProbeKind,
    name: String, options: Options = Options()
  ) -> [ProbeResult] {
    let channels = encoder.inputChannels
    let d = encoder.featureDimension
    let classes = task.classNames.count

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

    func linear(_ name: String, encoded: Bool) -> ProbeResult {
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
      var confusion = ConfusionMatrix(classes: classes)
      let probe =
        trainY.isEmpty
        ? nil
        : LinearProbe(
          features: trainX, labels: trainY, dimension: encoded ? d : channels, classes: classes,
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

    func head(_ name: String) -> ProbeResult {
      /// Feature maps `[N, d, h, w]` of `windows`, in batches.
      func maps(_ windows: [ProbeWindow]) -> (values: [Float], h: Int, w: Int) {
        var values: [Float] = []
        var size = (0, 0)
        for start in stride(from: 0, to: windows.count, by: options.batch) {
          let chunk = Array(windows[start..<min(start + options.batch, windows.count)])
          let m = encoder.featureMaps(chunk, stages: options.head.stages)
          size = (m.dim(2), m.dim(3))
          values += m.values
        }
        return (values, size.0, size.1)
      }
      var confusion = ConfusionMatrix(classes: classes)
      let d = encoder.featureMapChannels(stages: options.head.stages)
      let train = maps(split.train)
      let trainLabels = split.train.flatMap(\.labels)
      let labelled = trainLabels.count { $0 >= 0 }
      guard let size = split.train.first?.size, labelled > 0 else {
        return ProbeResult(
          name: name, features: d, trainSamples: 0, testSamples: 0, confusion: confusion)
      }
      let probe = SegmentationProbe(
        maps: train.values, count: split.train.count, channels: d, mapSize: (train.h, train.w),
        labels: trainLabels, outputSize: size, classes: classes, seed: options.seed,
        options: options.head)
      var tested = 0
      for start in stride(from: 0, to: split.test.count, by: options.batch) {
        let chunk = Array(split.test[start..<min(start + options.batch, split.test.count)])
        let m = maps(chunk)
        let predicted = probe.predict(maps: m.values, count: chunk.count, batch: options.batch)
        let truth = chunk.flatMap(\.labels)
        confusion.add(truth: truth, prediction: predicted)
        tested += truth.count { $0 >= 0 }
      }
      return ProbeResult(
        name: name, features: d, trainSamples: labelled, testSamples: tested,
        confusion: confusion)
    }

    func unet(_ name: String) -> ProbeResult {
      var confusion = ConfusionMatrix(classes: classes)
      let d = encoder.featureDimension
      guard let size = split.train.first?.size else {
        return ProbeResult(
          name: name, features: d, trainSamples: 0, testSamples: 0, confusion: confusion)
      }
      let shapes = encoder.stageShapes(windowSize: size)
      func maps(_ windows: [ProbeWindow]) -> UNetProbe.StageMaps {
        var out = UNetProbe.StageMaps(shapes: shapes)
        for start in stride(from: 0, to: windows.count, by: options.batch) {
          out.append(
            encoder.stageMaps(Array(windows[start..<min(start + options.batch, windows.count)])))
        }
        return out
      }
      let trainLabels = split.train.flatMap(\.labels)
      let labelled = trainLabels.count { $0 >= 0 }
      guard labelled > 0 else {
        return ProbeResult(
          name: name, features: d, trainSamples: 0, testSamples: 0, confusion: confusion)
      }
      let probe = UNetProbe(
        maps: maps(split.train), labels: trainLabels, outputSize: size, classes: classes,
        seed: options.seed, options: options.unet)
      var tested = 0
      for start in stride(from: 0, to: split.test.count, by: options.batch * 8) {
        let chunk = Array(split.test[start..<min(start + options.batch * 8, split.test.count)])
        let predicted = probe.predict(maps: maps(chunk), batch: options.batch)
        let truth = chunk.flatMap(\.labels)
        confusion.add(truth: truth, prediction: predicted)
        tested += truth.count { $0 >= 0 }
      }
      return ProbeResult(
        name: name, features: shapes.reduce(0) { $0 + $1.c }, trainSamples: labelled,
        testSamples: tested, confusion: confusion)
    }

    let baseline = linear("1×1 head on input (\(encoder.input.label))", encoded: false)
    switch kind {
    case .linear: return [baseline, linear(name, encoded: true)]
    case .head: return [baseline, head(name + ", head")]
    case .unet: return [baseline, unet(name + ", unet")]
    }
  }
}

/// How the encoder is probed.
public enum ProbeKind: String, Sendable, CaseIterable, Codable {
  /// Logistic regression: on pooled features (land cover) or per pixel on the upsampled feature
  /// map (flood).
  case linear
  /// A trained per-pixel segmentation head on the feature map (both tasks).
  case head
  /// A trained U-Net-style decoder with skip connections from every encoder stage (both tasks;
  /// per-pixel land cover).
  case unet
}
