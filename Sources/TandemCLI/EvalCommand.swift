import CommandLineKit
import Evaluation
import Foundation
import NN
import TandemBase
import Training

/// `tandem eval`: frozen-encoder probes on labelled windows, split by tile.
enum EvalCommand {
  static let spec = CommandSpec(
    name: "eval",
    abstract:
      "Probe a frozen encoder on labelled windows (land cover or flood) and report metrics.",
    discussion: """
      Several --checkpoint values (runs and/or random) are evaluated on the same windows and \
      printed as one comparison table. For a run directory the JSON report is also saved as \
      RUN_DIR/eval/TASK-INPUT-PROBE-seedN.json (for tandem report) unless --no-save. \
      Freezes one encoder of a tandem train run (latest checkpoint, with the run's saved \
      normalization) or a random init (--checkpoint random; BatchNorm statistics calibrated on \
      probe-train windows), reads a non-overlapping window grid of the catalog's probe-train and \
      test tiles (tandem:role), fits a linear probe with a fixed seed on probe-train windows and \
      scores it on test windows. landcover: dominant class of a window from pooled features; \
      flood: per-pixel water from the upsampled feature map (a 1×1 head). A no-learning \
      baseline (per-band window statistics; a 1×1 head on the input pixels) is reported in the \
      same table. See Docs/EVALUATION.md.
      """,
    options: [
      .value(
        "checkpoint", valueName: "RUN_DIR|random[:SEED]",
        help:
          "Run directory, or random init (seed: --seed or SEED); repeat to compare several in one table.",
        repeating: true),
      .value("task", valueName: "T", help: "landcover or flood."),
      .value("catalog", valueName: "SRC", help: "STAC catalog with imagery and labels items."),
      .value(
        "probe", valueName: "P",
        help:
          "linear (default), head (trained per-pixel segmentation head at stride 8) or unet "
          + "(trained U-Net decoder with skip connections from every encoder stage); head and "
          + "unet score every pixel (per-pixel land cover)."),
      .value(
        "class-weights", valueName: "W",
        help:
          "Cross-entropy class weights of the head and unet probes: none (default) or balanced "
          + "(inverse class frequency of the probe-train pixels, so a rare class such as flood "
          + "water is not under-predicted)."),
      .value(
        "modality", valueName: "S",
        help: "Input: s2 (landcover default), s1 (flood default) or s1+s2 (both encoders)."),
      .value(
        "train-fraction", valueName: "F",
        help:
          "Fit the probe on a seeded fraction F of probe-train locations (default 1); a comma "
          + "list (e.g. 0.01,0.1,1) evaluates every checkpoint at each fraction (nested subsets)."),
      .value(
        "size", valueName: "PX",
        help: "Window edge (default: the first run's; 128 for random alone)."),
      .value("model", valueName: "NAME", help: "Random init model: small (default) or tiny."),
      .value("seed", valueName: "N", help: "Probe (and random init) seed (default 0)."),
      .value("blas-threads", valueName: "N", help: "Compute threads (default 2)."),
      .flag("json", help: "Print the report as JSON (one line per checkpoint)."),
      .flag("no-save", help: "Do not save the report into RUN_DIR/eval/."),
      .flag("quiet", short: "q", help: "No progress output."),
    ] + IOOptions.specs,
    run: { parsed in try await run(parsed) })

  static func run(_ parsed: ParsedArguments) async throws -> Int32 {
    let checkpoints = parsed.strings("checkpoint")
    guard !checkpoints.isEmpty else { throw parsed.usageError("missing --checkpoint") }
    let catalog: String = try parsed.required("catalog")
    let taskName: String = try parsed.required("task")
    guard let task = ProbeTask(rawValue: taskName) else {
      throw parsed.usageError("--task must be landcover or flood, not '\(taskName)'")
    }
    let probeName = try parsed.value("probe", default: "linear")
    guard let probe = ProbeKind(rawValue: probeName) else {
      throw parsed.usageError("--probe must be linear, head or unet, not '\(probeName)'")
    }
    let weightingName = try parsed.value("class-weights", default: "none")
    guard let classWeighting = ClassWeighting(rawValue: weightingName) else {
      throw parsed.usageError("--class-weights must be none or balanced, not '\(weightingName)'")
    }
    var input: ProbeInput?
    if let m = parsed.string("modality") {
      guard let v = ProbeInput(argument: m) else {
        throw parsed.usageError("--modality must be s1, s2 or s1+s2, not '\(m)'")
      }
      input = v
    }
    var model: ModelSize?
    if let m = parsed.string("model") {
      guard let v = ModelSize(rawValue: m) else {
        throw parsed.usageError("--model must be small or tiny, not '\(m)'")
      }
      guard checkpoints.contains(where: { $0 == "random" || $0.hasPrefix("random:") }) else {
        throw parsed.usageError("--model applies to --checkpoint random only (a run has its own)")
      }
      model = v
    }
    var size: Int? = try parsed.value("size")
    if let size, size < 16 || size % 16 != 0 {
      throw parsed.usageError("--size must be a positive multiple of 16")
    }
    // A comparison reads the same windows for every checkpoint: random init takes the first
    // run's pairing thresholds and S2 bands, and (unless --size) its window size.
    var reference: TrainingConfig?
    if checkpoints.count > 1, let run = checkpoints.first(where: { !$0.hasPrefix("random") }) {
      let directory = RunDirectory(path: run)
      if FileManager.default.fileExists(atPath: directory.configPath) {
        reference = try directory.loadConfig()
        if size == nil { size = reference?.size }
      }
    }
    var fractions: [Double] = []
    for text in (parsed.string("train-fraction") ?? "1").split(separator: ",") {
      guard let fraction = Double(text.trimmingCharacters(in: .whitespaces)), fraction > 0,
        fraction <= 1
      else {
        throw parsed.usageError("--train-fraction must be in (0, 1], not '\(text)'")
      }
      if !fractions.contains(fraction) { fractions.append(fraction) }
    }
    guard !fractions.isEmpty else {
      throw parsed.usageError("--train-fraction needs at least one value in (0, 1]")
    }
    let seed = try parsed.value("seed", default: UInt64(0))
    let threads = try parsed.value("blas-threads", default: 2)
    guard threads >= 1 else { throw parsed.usageError("--blas-threads must be at least 1") }
    BLAS.setThreads(threads)
    let json = parsed.flag("json")
    let quiet = parsed.flag("quiet")
    let sourceOptions = try IOOptions.sourceOptions(from: parsed)
    let requests = fractions.flatMap { fraction in
      checkpoints.map { checkpoint in
        var request = EvaluationRequest(
          checkpoint: checkpoint, catalog: catalog, task: task, input: input, probe: probe,
          trainFraction: fraction, windowSize: size, model: model, seed: seed,
          sourceOptions: sourceOptions)
        request.reference = reference
        request.classWeighting = classWeighting
        return request
      }
    }
    let reports = try await EvaluationRun.run(requests) { line, request in
      if !quiet {
        let fraction = fractions.count > 1 ? " f=\(request.trainFraction)" : ""
        let prefix = requests.count > 1 ? "[\(request.checkpoint)\(fraction)] " : ""
        FileHandle.standardError.write(Data((prefix + line + "\n").utf8))
      }
    }
    for report in reports {
      if !report.checkpoint.hasPrefix("random") && !parsed.flag("no-save") {
        let directory = report.checkpoint + "/eval"
        let path = directory + "/" + report.savedFileName
        try FileManager.default.createDirectory(
          atPath: directory, withIntermediateDirectories: true)
        try AtomicFile.write(string: report.json() + "\n", to: path)
        if !quiet { FileHandle.standardError.write(Data("saved \(path)\n".utf8)) }
      }
      if json { print(report.json()) } else if reports.count == 1 { print(report.text()) }
    }
    if !json && reports.count > 1 {
      // One table over every checkpoint, then each report's details.
      print(EvaluationReport.comparisonTable(reports))
      for report in reports {
        print("\n## \(report.checkpoint)\n")
        print(report.text())
      }
    }
    return ExitCode.success
  }
}
