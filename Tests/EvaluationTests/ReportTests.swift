import Foundation
import TandemTestSupport
import Testing

@testable import Evaluation

#if canImport(FoundationXML)
  import FoundationXML
#endif

/// Crafted run directories and evaluation files for `tandem report`.
struct ReportFixture {
  let root: String

  init() {
    root = NSTemporaryDirectory() + "tandem-report-\(UUID().uuidString)"
    try? FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
  }

  func remove() { try? FileManager.default.removeItem(atPath: root) }

  /// A run directory with `steps` metrics lines.
  @discardableResult
  func run(_ name: String, steps: Int, lossScale: Double = 1) throws -> String {
    let path = root + "/" + name
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    var text = ""
    for s in 1...steps {
      text +=
        "{\"step\":\(s),\"epoch\":0,\"loss\":\(lossScale * 4 / Double(s)),\"accuracy\":\(Double(s) / Double(steps)),"
        + "\"pairs_per_s\":\(20 + s),\"stall_pct\":\(50.0 / Double(s)),\"lr\":0.001}\n"
    }
    try text.write(toFile: path + "/metrics.jsonl", atomically: true, encoding: .utf8)
    return path
  }

  /// A `tandem eval --json`-shaped report with two results (baseline, encoder).
  func evalJSON(
    checkpoint: String, task: String = "landcover", modality: String = "s2", seed: Int,
    baseline: Double, encoder: Double?, iou: Double = 0.5
  ) -> String {
    func result(_ name: String, _ oa: Double?) -> String {
      let value = oa.map { "\($0)" } ?? "null"
      return """
        {"name":"\(name)","features":8,"train_samples":10,"test_samples":20,\
        "overall_accuracy":\(value),"balanced_accuracy":\(value),"water_iou":\(iou),"water_f1":\(iou),\
        "macro_f1":0.5,"per_class_accuracy":{},"confusion_matrix":[[1]],"classes":["a"],"ignored_labels":0}
        """
    }
    return """
      {"task":"\(task)","checkpoint":"\(checkpoint)","origin":"x","modality":"\(modality)",\
      "window_size":32,"seed":\(seed),"train_windows":1,"test_windows":1,"train_tiles":["t02"],\
      "test_tiles":["t03"],"skipped":{},"seconds":1,"warnings":[],\
      "results":[\(result("raw band statistics", baseline)),\(result("encoder \(modality)", encoder))]}
      """
  }

  func write(_ text: String, to path: String) throws {
    try FileManager.default.createDirectory(
      atPath: URL(fileURLWithPath: path).deletingLastPathComponent().path,
      withIntermediateDirectories: true)
    try text.write(toFile: path, atomically: true, encoding: .utf8)
  }
}

/// Counts polylines per panel and checks the document parses.
final class SVGCounter: NSObject, XMLParserDelegate {
  var panel: String?
  var curves: [String: [String]] = [:]
  var texts: [String] = []
  var inText = false

  func parser(
    _ parser: XMLParser, didStartElement name: String, namespaceURI: String?,
    qualifiedName: String?, attributes: [String: String] = [:]
  ) {
    if name == "g", attributes["class"] == "panel" { panel = attributes["data-metric"] }
    if name == "polyline", attributes["class"] == "curve", let panel {
      curves[panel, default: []].append(attributes["data-run"] ?? "?")
    }
    inText = name == "text"
    if inText { texts.append("") }
  }

  func parser(_ parser: XMLParser, foundCharacters string: String) {
    if inText { texts[texts.count - 1] += string }
  }

  func parser(
    _ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?
  ) {
    if name == "g" { panel = nil }
    if name == "text" { inText = false }
  }
}

@Suite struct ReportTests {
  @Test func svgIsWellFormedWithOneCurvePerRunPerPanel() throws {
    let f = ReportFixture()
    defer { f.remove() }
    let a = try f.run("run-a", steps: 30)
    let b = try f.run("run-b & <co>", steps: 7, lossScale: 2)
    try f.write(
      f.evalJSON(checkpoint: a, seed: 0, baseline: 0.6, encoder: 0.8),
      to: a + "/eval/landcover-s2-seed0.json")
    let report = try TrainingReport.load(runDirectories: [a, b])
    let svg = report.svg(title: "title with \"quotes\"")
    let parser = XMLParser(data: Data(svg.utf8))
    let counter = SVGCounter()
    parser.delegate = counter
    #expect(parser.parse(), "\(parser.parserError.map { "\($0)" } ?? "")")
    #expect(Set(counter.curves.keys) == ["loss", "accuracy", "pairs_per_s", "stall_pct"])
    for (_, runs) in counter.curves { #expect(runs == ["run-a", "run-b & <co>"]) }
    // Legend names, title and the table cells are there as text.
    #expect(counter.texts.contains("run-b & <co>"))
    #expect(counter.texts.contains("title with \"quotes\""))
    #expect(counter.texts.contains("0.800"))
    #expect(counter.texts.contains("encoder s2"))
  }

  @Test func polylinePointsFollowTheMetrics() throws {
    let f = ReportFixture()
    defer { f.remove() }
    let a = try f.run("a", steps: 5)
    let curves = try RunCurves.load(runDirectory: a)
    #expect(curves.steps == [1, 2, 3, 4, 5])
    #expect(curves.series["loss"] == [4, 2, 4.0 / 3, 1, 0.8])
    #expect(curves.series["pairs_per_s"] == [21, 22, 23, 24, 25])
    let svg = ReportSVG.render(runs: [curves], table: EvaluationTable(entries: []), title: "t")
    // The loss polyline falls (y grows downwards): its first point is above its last.
    let loss = try #require(svg.components(separatedBy: "data-metric=\"loss\"").last)
    let points = try #require(loss.components(separatedBy: "points=\"").dropFirst().first)
      .prefix { $0 != "\"" }.split(separator: " ").map {
        $0.split(separator: ",").compactMap { Double($0) }
      }
    #expect(points.count == 5)
    #expect(points.first![1] < points.last![1])
    #expect(points.map { $0[0] } == points.map { $0[0] }.sorted())
  }

  @Test func markdownTableAggregatesSeeds() throws {
    let f = ReportFixture()
    defer { f.remove() }
    let a = try f.run("mm", steps: 3)
    for (seed, oa) in [(0, 0.80), (1, 0.82), (2, 0.84)] {
      try f.write(
        f.evalJSON(checkpoint: a, seed: seed, baseline: 0.6, encoder: oa),
        to: a + "/eval/landcover-s2-seed\(seed).json")
    }
    try f.write(
      f.evalJSON(
        checkpoint: a, task: "flood", modality: "s1", seed: 0, baseline: 0.9, encoder: nil,
        iou: 0.25),
      to: a + "/eval/flood-s1-seed0.json")
    let r0 = f.root + "/random-0.json"
    let r1 = f.root + "/random-1.json"
    try f.write(f.evalJSON(checkpoint: "random", seed: 0, baseline: 0.6, encoder: 0.5), to: r0)
    try f.write(f.evalJSON(checkpoint: "random", seed: 1, baseline: 0.6, encoder: 0.7), to: r1)
    let report = try TrainingReport.load(runDirectories: [a], evaluationFiles: [r0, r1])
    let lines = report.table.markdown().split(separator: "\n").map(String.init)
    #expect(
      lines == [
        "| checkpoint | task | modality | probe | px | n | OA | balanced acc | water IoU | water F1 |",
        "|---|---|---|---|---|---|---|---|---|---|",
        "| mm | flood | s1 | raw band statistics | 32 | 1 | 0.900 | 0.900 | 0.250 | 0.250 |",
        "| mm | flood | s1 | encoder s1 | 32 | 1 | — | — | 0.250 | 0.250 |",
        "| mm | landcover | s2 | raw band statistics | 32 | 3 | 0.600 ± 0.000 | 0.600 ± 0.000 | 0.500 ± 0.000 | 0.500 ± 0.000 |",
        "| mm | landcover | s2 | encoder s2 | 32 | 3 | 0.820 ± 0.020 | 0.820 ± 0.020 | 0.500 ± 0.000 | 0.500 ± 0.000 |",
        "| random | landcover | s2 | raw band statistics | 32 | 2 | 0.600 ± 0.000 | 0.600 ± 0.000 | 0.500 ± 0.000 | 0.500 ± 0.000 |",
        "| random | landcover | s2 | encoder s2 | 32 | 2 | 0.600 ± 0.141 | 0.600 ± 0.141 | 0.500 ± 0.000 | 0.500 ± 0.000 |",
      ])
    #expect(report.table.rows[3].seeds == [0, 1, 2])

    // A `probe` field: `linear` is the default (merges with reports without one), others are
    // separate rows.
    var head = f.evalJSON(checkpoint: "random", seed: 2, baseline: 0.6, encoder: 0.9)
    head.removeLast()
    try f.write(head + ",\"probe\":\"head\"}", to: f.root + "/head.json")
    var linear = f.evalJSON(checkpoint: "random", seed: 2, baseline: 0.6, encoder: 0.6)
    linear.removeLast()
    try f.write(linear + ",\"probe\":\"linear\"}", to: f.root + "/linear.json")
    let probes = try TrainingReport.load(
      runDirectories: [], evaluationFiles: [r0, r1, f.root + "/linear.json", f.root + "/head.json"])
    #expect(
      probes.table.rows.map(\.probe) == [
        "raw band statistics", "encoder s2", "raw band statistics [head]", "encoder s2 [head]",
      ])
    #expect(probes.table.rows.map(\.count) == [3, 3, 1, 1])
  }

  @Test func runsAreNamedByTheirDirectory() throws {
    let f = ReportFixture()
    defer { f.remove() }
    // Two runs called "run" in different directories; the eval files name the checkpoint as the
    // evaluation was invoked (relative path), but they are attributed to the run that holds them.
    let a = try f.run("x/run", steps: 3)
    let b = try f.run("y/run", steps: 3)
    try f.write(
      f.evalJSON(checkpoint: "run", seed: 0, baseline: 0.6, encoder: 0.8), to: a + "/eval/e.json")
    try f.write(
      f.evalJSON(checkpoint: "./run/", seed: 0, baseline: 0.6, encoder: 0.4), to: b + "/eval/e.json"
    )
    let report = try TrainingReport.load(runDirectories: [a, b])
    #expect(report.runs.map(\.name) == [a, b])
    #expect(report.table.rows.map(\.checkpoint) == [a, a, b, b])
    #expect(report.table.rows.map(\.count) == [1, 1, 1, 1])
    #expect(report.table.rows[1].overallAccuracy?.mean == 0.8)
    #expect(report.table.rows[3].overallAccuracy?.mean == 0.4)
  }

  @Test func summaryStatistics() throws {
    let s = try #require(MetricSummary([0.5, nil, 0.7]))
    #expect(s.count == 2 && abs(s.mean - 0.6) < 1e-12 && abs(s.std - 0.02.squareRoot()) < 1e-12)
    #expect(MetricSummary([nil, nil]) == nil)
    #expect(MetricSummary([0.25])?.text == "0.250")
  }

  @Test(arguments: [
    ("", "no metrics (empty file)"),
    ("\n\n", "no metrics (empty file)"),
    ("{\"step\":1,\"loss\":2}\n{\"step\":2,\"loss\n", "line 2 is not a JSON object"),
    ("{\"loss\":2}\n", "line 1 has no integer \"step\""),
  ])
  func badMetricsFilesAreNamed(content: String, message: String) throws {
    let f = ReportFixture()
    defer { f.remove() }
    let path = f.root + "/run"
    try f.write(content, to: path + "/metrics.jsonl")
    let error = #expect(throws: ReportError.self) { try RunCurves.load(runDirectory: path) }
    #expect(error?.description == "\(path)/metrics.jsonl: \(message)")
  }

  @Test func missingInputsAreNamed() throws {
    let f = ReportFixture()
    defer { f.remove() }
    let empty = f.root + "/empty"
    try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: true)
    let e1 = #expect(throws: ReportError.self) { try RunCurves.load(runDirectory: empty) }
    #expect(e1?.path == empty + "/metrics.jsonl")
    let e2 = #expect(throws: ReportError.self) {
      try RunCurves.load(runDirectory: f.root + "/nope")
    }
    #expect(e2?.description.contains("run directory not found") == true)
    try f.write("[1,2]", to: f.root + "/bad.json")
    let e3 = #expect(throws: ReportError.self) {
      try EvaluationEntry.load(file: f.root + "/bad.json")
    }
    #expect(e3?.path == f.root + "/bad.json")
  }

  @Test func niceTicks() {
    let t = NiceTicks.ticks(low: 0.13, high: 0.97)
    #expect(t.low == 0 && t.high == 1)
    #expect(t.ticks.count == 6)
    let flat = NiceTicks.ticks(low: 3, high: 3)
    #expect(flat.low < 3 && flat.high > 3)
    #expect(NiceTicks.label(1500, step: 500) == "1500")
    #expect(NiceTicks.label(0.25, step: 0.05) == "0.25")
  }

  /// Losses near 1e15 differing by less than their resolution: the tick step (0.02) is below
  /// the ulp of 1e15 (0.125), so stepping never advanced and `tandem report` hung.
  @Test(
    .timeLimit(.minutes(1)),
    arguments: [(1e15, 1e15 + 0.125), (1e15 - 0.5, 1e15 + 0.5), (-1e17, -1e17 + 16)]
      as [(Double, Double)])
  func niceTicksWithAStepBelowTheResolutionEnd(low: Double, high: Double) {
    let t = NiceTicks.ticks(low: low, high: high)
    #expect(!t.ticks.isEmpty && t.ticks.count <= 1001)
    #expect(t.ticks.allSatisfy { $0 >= t.low && $0 <= t.high })
  }
}

@Suite(.enabled(if: TandemCLI.binary != nil))
struct ReportCLITests {
  @Test func writesSVGAndPrintsMarkdown() throws {
    let f = ReportFixture()
    defer { f.remove() }
    let a = try f.run("a", steps: 4)
    let b = try f.run("b", steps: 4)
    try f.write(
      f.evalJSON(checkpoint: a, seed: 0, baseline: 0.6, encoder: 0.8), to: a + "/eval/x.json")
    let extra = f.root + "/random.json"
    try f.write(f.evalJSON(checkpoint: "random", seed: 0, baseline: 0.6, encoder: 0.5), to: extra)
    let out = f.root + "/out/report.svg"
    let r = try TandemCLI.run(["report", a, b, "--eval", extra, "--out", out])
    try #require(r.status == 0, "\(r.stderr)")
    #expect(r.stdout.hasPrefix("| checkpoint | task |"))
    #expect(r.stdout.contains("| a | landcover | s2 | encoder s2 | 32 | 1 | 0.800 |"))
    #expect(r.stdout.contains("| random | landcover | s2 | encoder s2 | 32 | 1 | 0.500 |"))
    #expect(r.stderr.contains("wrote \(out) (2 run(s), 2 evaluation file(s))"))
    let svg = try String(contentsOfFile: out, encoding: .utf8)
    #expect(svg.components(separatedBy: "<polyline").count - 1 == 8)
    #expect(try FileManager.default.contentsOfDirectory(atPath: f.root + "/out") == ["report.svg"])
  }

  @Test func errors() throws {
    let f = ReportFixture()
    defer { f.remove() }
    let none = try TandemCLI.run(["report"])
    #expect(none.status == 64)
    #expect(none.stderr.contains("give at least one RUN_DIR or --eval FILE"))
    let path = f.root + "/run"
    try f.write("", to: path + "/metrics.jsonl")
    let empty = try TandemCLI.run(["report", path, "--out", f.root + "/r.svg"])
    #expect(empty.status == 1)
    #expect(empty.stderr.contains("error: \(path)/metrics.jsonl: no metrics (empty file)"))
    #expect(!FileManager.default.fileExists(atPath: f.root + "/r.svg"))
  }
}
