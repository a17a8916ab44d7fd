import CommandLineKit
import Evaluation
import Foundation
import NN
import Pipeline
import Training

/// `tandem embed`: pooled encoder features for every window of a grid, to `.npy` + JSON Lines.
enum EmbedCommand {
  static let spec = CommandSpec(
    name: "embed",
    abstract: "Write encoder embeddings of every window on a grid (.npy + JSON Lines index).",
    discussion: """
      Runs the frozen encoder(s) of a tandem train run (latest checkpoint, the run's saved \
      normalization) or a random init (--checkpoint random; BatchNorm statistics calibrated on \
      64 windows) over a grid of windows on every usable S1/S2 pair of the catalog, and writes \
      the pooled features (the ones tandem eval probes) as float32 [N, D] arrays: \
      DIR/embeddings-s1.npy and/or DIR/embeddings-s2.npy (same rows), DIR/index.jsonl (one line \
      per row: items, datetimes, tile, pixel window in the S1 grid, bounds in the CRS and in \
      WGS 84) and DIR/summary.json (counts, skipped windows by reason). Windows with more than \
      20% nodata (or, with an S2 encoder, 20% cloud) are skipped. Rows are streamed to temporary \
      files renamed at the end: memory stays bounded, and an interrupted run leaves no partial \
      output file. See Docs/EVALUATION.md.
      """,
    options: [
      .value("checkpoint", valueName: "RUN_DIR|random", help: "Run directory or 'random'."),
      .value("catalog", valueName: "SRC", help: "STAC catalog with S1/S2 imagery."),
      .value("out", valueName: "DIR", help: "Output directory."),
      .value(
        "modality", valueName: "S",
        help: "s1, s2 or both (default: both; a SimCLR run's own modality)."),
      .value("size", valueName: "PX", help: "Window edge (default: the run's; 128 for random)."),
      .value("stride", valueName: "PX", help: "Grid step (default: the window edge)."),
      .value(
        "where", valueName: "KEY=VALUE",
        help: "Only items whose property KEY equals VALUE.", repeating: true),
      .value("batch", valueName: "N", help: "Windows per forward pass (default 16)."),
      .value("model", valueName: "NAME", help: "Random init model: small (default) or tiny."),
      .value("seed", valueName: "N", help: "Random init seed (default 0)."),
      .value("blas-threads", valueName: "N", help: "Compute threads (default 2)."),
      .flag("quiet", short: "q", help: "No progress output."),
    ] + IOOptions.specs,
    run: { parsed in try await run(parsed) })

  static func run(_ parsed: ParsedArguments) async throws -> Int32 {
    let checkpoint: String = try parsed.required("checkpoint")
    let catalog: String = try parsed.required("catalog")
    let out: String = try parsed.required("out")
    guard !out.isEmpty else { throw parsed.usageError("--out must name a directory") }
    var modalities: EmbeddingModalities?
    if let m = parsed.string("modality") {
      guard let v = EmbeddingModalities(rawValue: m) else {
        throw parsed.usageError("--modality must be s1, s2 or both, not '\(m)'")
      }
      modalities = v
    }
    let size: Int? = try parsed.value("size")
    if let size, size < 16 || size % 16 != 0 {
      throw parsed.usageError("--size must be a positive multiple of 16")
    }
    let stride: Int? = try parsed.value("stride")
    if let stride, stride < 1 { throw parsed.usageError("--stride must be at least 1") }
    let filters = parsed.strings("where")
    if case .failure(let e) = PairDatasetOptions.parseFilters(filters) {
      throw parsed.usageError("--where \(e.location): expected KEY=VALUE")
    }
    let batch = try parsed.value("batch", default: 16)
    guard batch >= 1 else { throw parsed.usageError("--batch must be at least 1") }
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
    let seed = try parsed.value("seed", default: UInt64(0))
    let threads = try parsed.value("blas-threads", default: 2)
    guard threads >= 1 else { throw parsed.usageError("--blas-threads must be at least 1") }
    BLAS.setThreads(threads)
    let quiet = parsed.flag("quiet")
    let request = EmbeddingRequest(
      checkpoint: checkpoint, catalog: catalog, output: out, modalities: modalities,
      windowSize: size, stride: stride, itemFilters: filters, batch: batch, model: model,
      seed: seed, sourceOptions: try IOOptions.sourceOptions(from: parsed))
    let log: (String) -> Void = { line in
      if !quiet { FileHandle.standardError.write(Data((line + "\n").utf8)) }
    }
    let stop = StopFlag()
    let signals = installSignalHandlers(stop: stop)
    defer { signals.forEach { $0.cancel() } }
    let summary: EmbeddingSummary
    do {
      summary = try await EmbeddingRun.run(request, stop: stop, log: log)
    } catch let interrupted as EmbeddingInterrupted {
      printError("error: \(interrupted)")
      return ExitCode.interrupted
    }
    let skipped =
      summary.skipped.isEmpty
      ? "none"
      : summary.skipped.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(
        separator: ", ")
    print(
      "\(summary.rows) rows × \(summary.featureDimension) features "
        + "(\(summary.modalities.joined(separator: "+")), \(summary.windowSize) px, stride \(summary.stride)) "
        + "from \(summary.windows) windows of \(summary.pairs) pairs; skipped: \(skipped)")
    print(
      "wrote " + summary.files.map { out + "/" + $0 }.joined(separator: ", ")
        + ", \(out)/summary.json")
    return ExitCode.success
  }

  /// SIGINT/SIGTERM stop the run after the current window (temporary files are removed); a
  /// second signal exits at once (hidden temporary files may remain in the output directory).
  static func installSignalHandlers(stop: StopFlag) -> [any DispatchSourceSignal] {
    [SIGINT, SIGTERM].map { number in
      signal(number, SIG_IGN)
      let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
      source.setEventHandler {
        if stop.isSet {
          FileHandle.standardError.write(Data("\nsecond signal: exiting now\n".utf8))
          exit(ExitCode.interrupted)
        }
        stop.set()
        FileHandle.standardError.write(Data("\nstopping…\n".utf8))
      }
      source.resume()
      return source
    }
  }
}
