import CommandLineKit

/// `tandem bench`: benchmark subcommands (driven by `Scripts/bench <name>`, which also measures
/// the peer tools in the same run).
enum BenchCommand {
  static let spec = CommandSpec(
    name: "bench", abstract: "Benchmarks (see Scripts/bench).",
    subcommands: [
      BenchReadCommand.spec, BenchPipelineCommand.spec, BenchTrainCommand.spec,
      BenchDecodeCommand.spec,
    ])
}
