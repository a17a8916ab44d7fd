import Foundation

/// The outcome of one `tandem eval`: what was probed on which windows, and each probe's scores.
public struct EvaluationReport: Sendable {
  /// The task.
  public var task: ProbeTask
  /// Checkpoint argument (`RUN_DIR` or `random`) and where the weights came from.
  public var checkpoint: String
  public var origin: String
  /// Encoder modality.
  public var modality: String
  /// Window edge in pixels.
  public var windowSize: Int
  /// Seed of the probe (and of the random init).
  public var seed: UInt64
  /// Window counts and tiles of the split.
  public var trainWindows: Int
  public var testWindows: Int
  public var trainTiles: [String]
  public var testTiles: [String]
  /// Windows skipped while reading, by reason.
  public var skipped: [String: Int]
  /// Baseline first, then the encoder.
  public var results: [ProbeResult]
  /// Wall time in seconds.
  public var seconds: Double
  /// Caveats about the protocol (e.g. pretraining saw the test tiles' imagery).
  public var warnings: [String] = []
  /// Probe kind and the fraction of probe-train locations it was fitted on.
  public var probe: ProbeKind = .linear
  public var trainFraction: Double = 1
  /// Class weights of a trained per-pixel probe (nil: linear probe).
  public var classWeighting: ClassWeighting?
  /// Pretraining mode of the weights: `multimodal`, `simclr` or `random`.
  public var mode: String = ""
  /// Distinct locations (tile, x, y) behind the training and test windows.
  public var trainLocations = 0
  public var testLocations = 0

  /// Creates a report.
  public init(
    task: ProbeTask, checkpoint: String, origin: String, modality: String, windowSize: Int,
    seed: UInt64, split: ProbeSplit, results: [ProbeResult], seconds: Double
  ) {
    self.task = task
    self.checkpoint = checkpoint
    self.origin = origin
    self.modality = modality
    self.windowSize = windowSize
    self.seed = seed
    trainWindows = split.train.count
    testWindows = split.test.count
    trainTiles = split.trainTiles
    testTiles = split.testTiles
    skipped = split.skipped
    self.results = results
    self.seconds = seconds
  }

  /// The positive class of the task for IoU/F1 (water in both tasks).
  var waterClass: Int { task == .flood ? 1 : 0 }

  /// Metrics of one probe as a JSON-ready dictionary (nil metrics become `null`).
  func metrics(_ r: ProbeResult) -> [String: Any] {
    let m = r.confusion
    let names = task.classNames
    var perClass: [String: Any] = [:]
    for (i, a) in m.perClassAccuracy.enumerated() { perClass[names[i]] = a ?? NSNull() }
    return [
      "name": r.name, "features": r.features, "train_samples": r.trainSamples,
      "test_samples": r.testSamples, "overall_accuracy": m.overallAccuracy ?? NSNull(),
      "balanced_accuracy": m.balancedAccuracy ?? NSNull(), "water_iou": m.iou(waterClass),
      "water_f1": m.f1(waterClass), "macro_f1": m.macroF1 ?? NSNull(),
      "per_class_accuracy": perClass, "confusion_matrix": m.counts, "classes": names,
      "ignored_labels": m.ignored,
    ]
  }

  /// The report as one JSON object (sorted keys).
  public func json() -> String {
    var object: [String: Any] = [
      "task": task.rawValue, "checkpoint": checkpoint, "origin": origin, "modality": modality,
      "window_size": windowSize, "seed": seed, "train_windows": trainWindows,
      "test_windows": testWindows, "train_tiles": trainTiles, "test_tiles": testTiles,
      "skipped": skipped, "seconds": (seconds * 1000).rounded() / 1000,
      "results": results.map(metrics), "warnings": warnings, "probe": probe.rawValue,
      "train_fraction": trainFraction, "mode": mode, "train_locations": trainLocations,
      "test_locations": testLocations,
    ]
    if let classWeighting { object["class_weights"] = classWeighting.rawValue }
    let data =
      (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
    return String(decoding: data, as: UTF8.self)
  }

  /// A human-readable report: header, one table row per probe, then each confusion matrix.
  public func text() -> String {
    func f(_ v: Double?) -> String { v.map { String(format: "%.3f", $0) } ?? "—" }
    var lines: [String] = []
    lines.append(
      "task \(task.rawValue), \(modality) encoder from \(origin), \(windowSize) px windows, "
        + "\(probe.rawValue) probe, seed \(seed)"
        + (trainFraction < 1 ? ", train fraction \(trainFraction)" : ""))
    lines.append(
      "train: \(trainWindows) windows (\(trainLocations) locations) from "
        + "\(trainTiles.joined(separator: ",")); test: \(testWindows) windows "
        + "(\(testLocations) locations) from \(testTiles.joined(separator: ","))")
    if !skipped.isEmpty {
      lines.append(
        "skipped: "
          + skipped.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(
            separator: "; "))
    }
    for w in warnings { lines.append("warning: " + w) }
    lines.append("")
    let names = task.classNames
    var header = "| probe | OA | balanced acc | water IoU | water F1 |"
    for n in names { header += " \(n) |" }
    lines.append(header)
    lines.append("|" + String(repeating: "---|", count: 5 + names.count))
    for r in results {
      let m = r.confusion
      var row =
        "| \(r.name) | \(f(m.overallAccuracy)) | \(f(m.balancedAccuracy)) | \(f(m.iou(waterClass))) | \(f(m.f1(waterClass))) |"
      for a in m.perClassAccuracy { row += " \(f(a)) |" }
      lines.append(row)
    }
    for r in results {
      lines.append("")
      lines.append(
        "confusion (rows truth, columns prediction) — \(r.name), \(r.testSamples) test samples:")
      let width = max(8, names.map(\.count).max() ?? 0)
      func pad(_ s: String) -> String { String(repeating: " ", count: max(0, width - s.count)) + s }
      lines.append(pad("") + names.map { " " + pad($0) }.joined())
      for (t, row) in r.confusion.counts.enumerated() {
        lines.append(pad(names[t]) + row.map { " " + pad(String($0)) }.joined())
      }
    }
    return lines.joined(separator: "\n")
  }
}

extension EvaluationReport {
  /// File name under `RUN_DIR/eval/` for this report:
  /// `<task>-<input>-<probe>-seed<N>[-f<fraction>].json` (`s1+s2` written `s1s2`).
  public var savedFileName: String {
    let input = modality.replacingOccurrences(of: "+", with: "")
    let fraction = trainFraction < 1 ? "-f" + String(format: "%g", trainFraction) : ""
    return "\(task.rawValue)-\(input)-\(probe.rawValue)-seed\(seed)\(fraction).json"
  }

  /// One Markdown table comparing several reports of the same task: the first report's
  /// no-learning baseline, then every report's encoder rows, labelled by checkpoint. Reports at
  /// several train fractions get a fraction column and one baseline row per fraction (the
  /// baseline probe is fitted on the same subset).
  public static func comparisonTable(_ reports: [EvaluationReport]) -> String {
    func f(_ v: Double?) -> String { v.map { String(format: "%.3f", $0) } ?? "—" }
    guard !reports.isEmpty else { return "" }
    var fractions: [Double] = []
    for r in reports where !fractions.contains(r.trainFraction) {
      fractions.append(r.trainFraction)
    }
    let showFraction = fractions.count > 1
    var lines = [
      "| checkpoint |" + (showFraction ? " train fraction |" : "")
        + " probe | OA | balanced acc | water IoU | water F1 | test samples |",
      "|---|" + (showFraction ? "---|" : "") + "---|---|---|---|---|---|",
    ]
    func row(_ checkpoint: String, _ report: EvaluationReport, _ r: ProbeResult) -> String {
      let m = r.confusion
      return
        "| \(checkpoint) |"
        + (showFraction ? " \(String(format: "%g", report.trainFraction)) |" : "")
        + " \(r.name) | \(f(m.overallAccuracy)) | \(f(m.balancedAccuracy)) | "
        + "\(f(m.iou(report.waterClass))) | \(f(m.f1(report.waterClass))) | \(r.testSamples) |"
    }
    for fraction in fractions {
      let group = reports.filter { $0.trainFraction == fraction }
      if let first = group.first, let baseline = first.results.first {
        lines.append(row("(none)", first, baseline))
      }
      for report in group {
        for r in report.results.dropFirst() { lines.append(row(report.checkpoint, report, r)) }
      }
    }
    return lines.joined(separator: "\n")
  }
}
