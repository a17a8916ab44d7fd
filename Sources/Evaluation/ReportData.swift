import Foundation
import TandemBase

/// A report input that could not be read: names the file and what is wrong with it.
public struct ReportError: Error, CustomStringConvertible, Sendable {
  /// The file or directory concerned.
  public var path: String
  /// What went wrong.
  public var reason: String

  public init(path: String, reason: String) {
    self.path = path
    self.reason = reason
  }

  public var description: String { "\(path): \(reason)" }
}

/// The training curves of one `tandem train` run, read from its `metrics.jsonl`.
public struct RunCurves: Sendable {
  /// Display name (the run directory's last path component).
  public var name: String
  /// The run directory.
  public var path: String
  /// Steps in increasing order (one entry per step; a repeated step keeps its last line).
  public var steps: [Int]
  /// Per-step series by metric key (`loss`, `accuracy`, `pairs_per_s`, `stall_pct`); NaN where a
  /// line lacks the key.
  public var series: [String: [Double]]

  /// The metric keys the report plots, with panel titles.
  public static let panels: [(key: String, title: String)] = [
    ("loss", "InfoNCE loss"), ("accuracy", "in-batch contrastive accuracy"),
    ("pairs_per_s", "throughput (pairs/s)"), ("stall_pct", "input stall (%)"),
  ]

  /// Reads `RUN_DIR/metrics.jsonl`. Fails naming the file when it is missing, empty, or has a
  /// line that is not a JSON object with an integer `step`.
  public static func load(runDirectory path: String) throws -> RunCurves {
    let file = path + "/metrics.jsonl"
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory),
      isDirectory.boolValue
    else {
      throw ReportError(path: path, reason: "run directory not found")
    }
    guard let data = FileManager.default.contents(atPath: file) else {
      throw ReportError(path: file, reason: "missing (not a tandem train run, or no step yet)")
    }
    var byStep: [Int: [String: Double]] = [:]
    var lineNumber = 0
    for line in String(decoding: data, as: UTF8.self).split(
      separator: "\n", omittingEmptySubsequences: false)
    {
      lineNumber += 1
      if line.allSatisfy(\.isWhitespace) { continue }
      guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)),
        let dict = object as? [String: Any]
      else {
        throw ReportError(path: file, reason: "line \(lineNumber) is not a JSON object")
      }
      guard let step = (dict["step"] as? NSNumber)?.intValue else {
        throw ReportError(path: file, reason: "line \(lineNumber) has no integer \"step\"")
      }
      var values: [String: Double] = [:]
      for (key, _) in panels {
        if let v = (dict[key] as? NSNumber)?.doubleValue, v.isFinite { values[key] = v }
      }
      byStep[step] = values
    }
    guard !byStep.isEmpty else {
      throw ReportError(path: file, reason: "no metrics (empty file)")
    }
    let steps = byStep.keys.sorted()
    var series: [String: [Double]] = [:]
    for (key, _) in panels {
      series[key] = steps.map { byStep[$0]?[key] ?? .nan }
    }
    let name = URL(fileURLWithPath: path).standardizedFileURL.lastPathComponent
    return RunCurves(name: name, path: path, steps: steps, series: series)
  }
}

/// One probe result of one `tandem eval --json` report (one row before aggregation).
public struct EvaluationEntry: Sendable, Equatable {
  /// What was evaluated: the run's name (last path component of `checkpoint`) or `random`.
  public var checkpoint: String
  public var task: String
  public var modality: String
  /// The report's `probe` field when present (e.g. `linear`, `head`), else nil.
  public var probe: String?
  /// The probe result's `name` (e.g. `raw band statistics`, `encoder s2 (multimodal)`).
  public var name: String
  public var windowSize: Int?
  public var seed: Int?
  /// Metrics (nil when undefined or absent).
  public var overallAccuracy: Double?
  public var balancedAccuracy: Double?
  public var waterIoU: Double?
  public var waterF1: Double?
  /// The file it came from.
  public var file: String

  /// Reads the entries (one per probe result) of one `tandem eval --json` file. `label` names the
  /// checkpoint in the table (files found in a run's `eval/` directory get the run's name);
  /// without it, the report's `checkpoint`: `random` or the run directory's last path component.
  public static func load(file: String, label: String? = nil) throws -> [EvaluationEntry] {
    guard let data = FileManager.default.contents(atPath: file) else {
      throw ReportError(path: file, reason: "evaluation file not found")
    }
    guard let object = try? JSONSerialization.jsonObject(with: data),
      let dict = object as? [String: Any]
    else {
      throw ReportError(
        path: file, reason: "not a JSON object (expected tandem eval --json output)")
    }
    func string(_ key: String) throws -> String {
      guard let v = dict[key] as? String else {
        throw ReportError(
          path: file, reason: "no \"\(key)\" string (expected tandem eval --json output)")
      }
      return v
    }
    let checkpoint = try string("checkpoint")
    let task = try string("task")
    let modality = try string("modality")
    guard let results = dict["results"] as? [[String: Any]] else {
      throw ReportError(
        path: file, reason: "no \"results\" array (expected tandem eval --json output)")
    }
    let label =
      label
      ?? (checkpoint == "random"
        ? "random" : URL(fileURLWithPath: checkpoint).standardizedFileURL.lastPathComponent)
    func number(_ r: [String: Any], _ key: String) -> Double? {
      guard let n = r[key] as? NSNumber else { return nil }
      let v = n.doubleValue
      return v.isFinite ? v : nil
    }
    return try results.enumerated().map { i, r in
      guard let name = r["name"] as? String else {
        throw ReportError(path: file, reason: "results[\(i)] has no \"name\"")
      }
      return EvaluationEntry(
        checkpoint: label, task: task, modality: modality, probe: dict["probe"] as? String,
        name: name, windowSize: (dict["window_size"] as? NSNumber)?.intValue,
        seed: (dict["seed"] as? NSNumber)?.intValue,
        overallAccuracy: number(r, "overall_accuracy"),
        balancedAccuracy: number(r, "balanced_accuracy"), waterIoU: number(r, "water_iou"),
        waterF1: number(r, "water_f1"), file: file)
    }
  }

  /// The result name, with `[probe]` appended unless the probe is `linear` (reports without a
  /// `probe` field are linear-probe reports).
  public var probeLabel: String {
    guard let probe, probe != "linear" else { return name }
    return "\(name) [\(probe)]"
  }

  /// The `*.json` files in `RUN_DIR/eval/` (sorted; none when the directory is absent).
  public static func files(inRun path: String) -> [String] {
    let directory = path + "/eval"
    let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
    return names.filter { $0.hasSuffix(".json") && !$0.hasPrefix(".") }.sorted().map {
      directory + "/" + $0
    }
  }
}

/// Mean and sample standard deviation of the defined values of one metric.
public struct MetricSummary: Sendable, Equatable {
  /// Values that were defined.
  public var count: Int
  public var mean: Double
  /// Sample standard deviation (n − 1); 0 for a single value.
  public var std: Double

  /// Summarizes `values`, ignoring nil; nil when none is defined.
  public init?(_ values: [Double?]) {
    let defined = values.compactMap { $0 }
    guard !defined.isEmpty else { return nil }
    let n = defined.count
    let m = defined.reduce(0, +) / Double(n)
    count = n
    mean = m
    std = n > 1 ? (defined.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(n - 1)).squareRoot() : 0
  }

  /// `0.842` for one value, `0.842 ± 0.010` for several.
  public var text: String {
    count > 1
      ? String(format: "%.3f ± %.3f", mean, std) : String(format: "%.3f", mean)
  }
}

/// The comparison table: one row per (checkpoint, task, modality, probe, window size, result
/// name), seeds aggregated as mean ± std.
public struct EvaluationTable: Sendable {
  /// One aggregated row.
  public struct Row: Sendable, Equatable {
    public var checkpoint: String
    public var task: String
    public var modality: String
    /// Result name, with the report's `probe` field appended unless it is `linear`.
    public var probe: String
    public var windowSize: Int?
    /// Evaluation files (seeds) aggregated.
    public var count: Int
    /// Seeds seen, ascending.
    public var seeds: [Int]
    public var overallAccuracy: MetricSummary?
    public var balancedAccuracy: MetricSummary?
    public var waterIoU: MetricSummary?
    public var waterF1: MetricSummary?
  }

  /// Rows in first-seen order of their configuration.
  public var rows: [Row]

  /// Column headers, shared by the Markdown and SVG renderings.
  public static let header = [
    "checkpoint", "task", "modality", "probe", "px", "n", "OA", "balanced acc", "water IoU",
    "water F1",
  ]

  /// Groups entries by configuration (everything but the seed).
  public init(entries: [EvaluationEntry]) {
    var order: [String] = []
    var groups: [String: [EvaluationEntry]] = [:]
    for e in entries {
      let probe = e.probeLabel
      let key = [e.checkpoint, e.task, e.modality, probe, e.windowSize.map(String.init) ?? ""]
        .joined(separator: "\u{1}")
      if groups[key] == nil { order.append(key) }
      groups[key, default: []].append(e)
    }
    rows = order.map { key in
      let g = groups[key]!
      let e = g[0]
      return Row(
        checkpoint: e.checkpoint, task: e.task, modality: e.modality,
        probe: e.probeLabel, windowSize: e.windowSize,
        count: g.count, seeds: Set(g.compactMap(\.seed)).sorted(),
        overallAccuracy: MetricSummary(g.map(\.overallAccuracy)),
        balancedAccuracy: MetricSummary(g.map(\.balancedAccuracy)),
        waterIoU: MetricSummary(g.map(\.waterIoU)), waterF1: MetricSummary(g.map(\.waterF1)))
    }
  }

  /// The cells of each row, as text (`—` for undefined metrics).
  public var cells: [[String]] {
    rows.map { r in
      [
        r.checkpoint, r.task, r.modality, r.probe, r.windowSize.map(String.init) ?? "—",
        String(r.count), r.overallAccuracy?.text ?? "—", r.balancedAccuracy?.text ?? "—",
        r.waterIoU?.text ?? "—", r.waterF1?.text ?? "—",
      ]
    }
  }

  /// The table in Markdown (header, separator, one line per row). `|` in names is escaped.
  public func markdown() -> String {
    func line(_ cells: [String]) -> String {
      "| " + cells.map { $0.replacingOccurrences(of: "|", with: "\\|") }.joined(separator: " | ")
        + " |"
    }
    var lines = [line(Self.header), "|" + String(repeating: "---|", count: Self.header.count)]
    lines += cells.map(line)
    return lines.joined(separator: "\n")
  }
}

/// `tandem report`: training curves of runs plus the evaluation table of their `eval/*.json`
/// files and any extra evaluation files.
public struct TrainingReport: Sendable {
  /// Curves per run, in argument order.
  public var runs: [RunCurves]
  /// The aggregated evaluation table.
  public var table: EvaluationTable
  /// Evaluation files read, in order.
  public var evaluationFiles: [String]

  /// Reads each run's `metrics.jsonl` and `eval/*.json`, then `evaluationFiles`. Runs are named
  /// by their directory's last path component, or by the path as given when two runs share it;
  /// a run's `eval/*.json` rows carry the run's name whatever path the report itself names.
  public static func load(
    runDirectories: [String], evaluationFiles extra: [String] = []
  ) throws -> TrainingReport {
    var runs = try runDirectories.map { try RunCurves.load(runDirectory: $0) }
    var seen: [String: Int] = [:]
    for run in runs { seen[run.name, default: 0] += 1 }
    for i in runs.indices where seen[runs[i].name]! > 1 { runs[i].name = runs[i].path }
    var files: [String] = []
    var entries: [EvaluationEntry] = []
    for run in runs {
      for file in EvaluationEntry.files(inRun: run.path) {
        files.append(file)
        entries += try EvaluationEntry.load(file: file, label: run.name)
      }
    }
    for file in extra {
      files.append(file)
      entries += try EvaluationEntry.load(file: file)
    }
    return TrainingReport(
      runs: runs, table: EvaluationTable(entries: entries), evaluationFiles: files)
  }

  /// The SVG document.
  public func svg(title: String = "Tandem training report") -> String {
    ReportSVG.render(runs: runs, table: table, title: title)
  }

  /// Writes the SVG atomically to `path`.
  public func writeSVG(to path: String, title: String = "Tandem training report") throws {
    try AtomicFile.write(string: svg(title: title), to: path)
  }
}
