import CommandLineKit
import Evaluation
import Foundation

/// `tandem report`: training curves (SVG) and the evaluation table (SVG and Markdown).
enum ReportCommand {
  static let spec = CommandSpec(
    name: "report",
    abstract: "Plot training curves of runs and tabulate their evaluations (SVG + Markdown).",
    discussion: """
      Reads each run's metrics.jsonl (loss, in-batch contrastive accuracy, pairs/s, stall %) and \
      the tandem eval --json reports saved in RUN_DIR/eval/*.json, plus any --eval FILE (e.g. \
      evaluations of --checkpoint random). Writes an SVG with one panel per metric (one line per \
      run) and the evaluation table, and prints the table in Markdown: one row per checkpoint, \
      task, modality, probe and window size, with mean ± std over the seeds given. See \
      Docs/EVALUATION.md.
      """,
    arguments: [
      ArgumentSpec(
        "run-dir", help: "tandem train run directories.", optional: true, repeating: true)
    ],
    options: [
      .value("out", valueName: "FILE.svg", help: "SVG to write (default: report.svg)."),
      .value(
        "eval", valueName: "FILE.json", help: "Extra tandem eval --json report.",
        repeating: true),
      .value("title", valueName: "TEXT", help: "Title of the SVG."),
      .flag("quiet", short: "q", help: "Do not print where the SVG was written."),
    ],
    run: { parsed in try await run(parsed) })

  static func run(_ parsed: ParsedArguments) async throws -> Int32 {
    let runs = parsed.arguments("run-dir")
    let evals = parsed.strings("eval")
    guard !runs.isEmpty || !evals.isEmpty else {
      throw parsed.usageError("give at least one RUN_DIR or --eval FILE")
    }
    let out = parsed.string("out") ?? "report.svg"
    guard !out.isEmpty, !out.hasSuffix("/") else {
      throw parsed.usageError("--out must name a file")
    }
    let report = try TrainingReport.load(runDirectories: runs, evaluationFiles: evals)
    try report.writeSVG(to: out, title: parsed.string("title") ?? "Tandem training report")
    print(report.table.markdown())
    if !parsed.flag("quiet") {
      FileHandle.standardError.write(
        Data(
          "wrote \(out) (\(report.runs.count) run(s), \(report.evaluationFiles.count) evaluation file(s))\n"
            .utf8))
    }
    return ExitCode.success
  }
}
