import CommandLineKit
import Fixtures
import Foundation

/// `tandem fixtures corpus`: a large paired S1/S2 corpus for cold streaming benchmarks.
enum FixturesCorpusCommand {
  static let spec = CommandSpec(
    name: "corpus",
    abstract: "Generate a large paired S1/S2 COG corpus (Earth Search layout) for cold benchmarks.",
    discussion: """
      Writes PAIRS locations, each with one Sentinel-1 item (vv.tif, vh.tif: float32) and one \
      Sentinel-2 item (B02/B03/B04/B08.tif under asset keys blue/green/red/nir: uint16) a day \
      apart, as 256² deflate COGs under DIR/catalog.json. The same options always give \
      byte-identical files. Pairs already present are kept, so an interrupted run resumes; \
      DIR/corpus.json is written last and marks a complete corpus (with it present and the same \
      options, nothing is done).
      """,
    options: [
      .value("out", short: "o", valueName: "DIR", help: "Output directory.", required: true),
      .value("pairs", valueName: "N", help: "S1/S2 pairs (1…1024).", default: "256"),
      .value(
        "size", valueName: "PX", help: "Scene edge in 10 m pixels (256…4096).", default: "2048"),
      .value("seed", valueName: "S", help: "Corpus seed.", default: "7"),
      .flag("overviews", help: "Also write overview levels (2×, 4×, …)."),
      .value(
        "jobs", valueName: "N", help: "Parallel workers (default: the number of cores)."),
      .flag("quiet", short: "q", help: "No progress lines."),
    ],
    run: { parsed in
      let out: String = try parsed.required("out")
      let config = PairedCorpusConfig(
        pairs: try parsed.value("pairs", default: 256),
        size: try parsed.value("size", default: 2048),
        seed: try parsed.value("seed", default: UInt64(7)), overviews: parsed.flag("overviews"))
      do {
        try config.validate()
      } catch let error as FixturesError {
        throw parsed.usageError("\(error.path ?? "option"): \(error.reason)")
      }
      let jobs = try parsed.value("jobs", default: ProcessInfo.processInfo.activeProcessorCount)
      guard jobs >= 1 else { throw parsed.usageError("--jobs must be positive") }
      if PairedCorpus.isComplete(config, at: out) {
        print("corpus already complete: \(out)/catalog.json")
        return ExitCode.success
      }
      let quiet = parsed.flag("quiet")
      let start = Date()
      let summary = try PairedCorpus.generate(config, to: out, jobs: jobs) { line in
        if !quiet { FileHandle.standardError.write(Data((line + "\n").utf8)) }
      }
      print(
        "wrote \(summary.generated) of \(summary.pairs) pairs (\(summary.files) COGs, "
          + String(format: "%.2f GB", Double(summary.cogBytes) / 1e9) + ") to \(out) in "
          + String(format: "%.1f s", Date().timeIntervalSince(start)))
      print("catalog: \(out)/catalog.json")
      return ExitCode.success
    })
}
