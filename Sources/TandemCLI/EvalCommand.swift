import CommandLineKit
import Evaluation
import Foundation
import NN
import Training

/// `tandem eval`: frozen-encoder probes on labelled windows, split by tile.
enum EvalCommand {
  static let spec = CommandSpec(
    name: "eval",
    abstract:
      "Probe a frozen encoder on labelled windows (land cover or flood) and report metrics.",
    discussion: """
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
      .value("checkpoint", valueName: "RUN_DIR|random", help: "Run directory or 'random'."),
      .value("task", valueName: "T", help: "landcover or flood."),
      .value("catalog", valueName: "SRC", help: "STAC catalog with imagery and labels items."),
      .value("probe", valueName: "P", help: "linear (default; 'head' is not implemented yet)."),
      .value("modality", valueName: "S", help: "Encoder: s2 (landcover default) or s1 (flood)."),
      .value("size", valueName: "PX", help: "Window edge (default: the run's; 128 for random)."),
      .value("model", valueName: "NAME", help: "Random init model: small (default) or tiny."),
      .value("seed", valueName: "N", help: "Probe (and random init) seed (default 0)."),
      .value("blas-threads", valueName: "N", help: "Compute threads (default 2)."),
      .flag("json", help: "Print the report as JSON."),
      .flag("quiet", short: "q", help: "No progress output."),
    ] + IOOptions.specs,
    run: { parsed in try await run(parsed) })

  static func run(_ parsed: ParsedArguments) async throws -> Int32 {
    let checkpoint: String = try parsed.required("checkpoint")
    let catalog: String = try parsed.required("catalog")
    let taskName: String = try parsed.required("task")
    guard let task = ProbeTask(rawValue: taskName) else {
      throw parsed.usageError("--task must be landcover or flood, not '\(taskName)'")
    }
    let probe = try parsed.value("probe", default: "linear")
    guard probe == "linear" else {
      throw parsed.usageError(
        probe == "head"
          ? "--probe head is not implemented yet (see Docs/EVALUATION.md); use --probe linear"
          : "--probe must be linear or head, not '\(probe)'")
    }
    var modality: Modality?
    if let m = parsed.string("modality") {
      guard let v = Modality(rawValue: m) else {
        throw parsed.usageError("--modality must be s1 or s2, not '\(m)'")
      }
      modality = v
    }
    var model: ModelSize?
    if let m = parsed.string("model") {
      guard let v = ModelSize(rawValue: m) else {
        throw parsed.usageError("--model must be small or tiny, not '\(m)'")
      }
      guard checkpoint == "random" else {
        throw parsed.usageError("--model applies to --checkpoint random only (a run has its own)")
      }
      model = v
    }
    let size: Int? = try parsed.value("size")
    if let size, size < 16 || size % 16 != 0 {
      throw parsed.usageError("--size must be a positive multiple of 16")
    }
    let seed = try parsed.value("seed", default: UInt64(0))
    let threads = try parsed.value("blas-threads", default: 2)
    guard threads >= 1 else { throw parsed.usageError("--blas-threads must be at least 1") }
    BLAS.setThreads(threads)
    let json = parsed.flag("json")
    let quiet = parsed.flag("quiet")
    let request = EvaluationRequest(
      checkpoint: checkpoint, catalog: catalog, task: task, modality: modality, windowSize: size,
      model: model, seed: seed, sourceOptions: try IOOptions.sourceOptions(from: parsed))
    let report = try await EvaluationRun.run(request) { line in
      if !quiet { FileHandle.standardError.write(Data((line + "\n").utf8)) }
    }
    print(json ? report.json() : report.text())
    return ExitCode.success
  }
}
