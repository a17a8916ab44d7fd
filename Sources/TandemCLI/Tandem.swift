import CommandLineKit

/// The `tandem` command tree. Each subcommand lives in its own file (`InfoCommand.swift`, …).
enum Tandem {
  static let root = CommandSpec(
    name: "tandem",
    abstract: "Train S1/S2 contrastive encoders straight from COGs listed in a STAC catalog.",
    subcommands: [
      VersionCommand.spec,
      InfoCommand.spec,
      ReadCommand.spec,
      FixturesCommand.spec,
      BenchCommand.spec,
      CatalogCommand.spec,
      CacheCommand.spec,
      FetchCommand.spec,
      TrainCommand.spec,
      EvalCommand.spec,
      EmbedCommand.spec,
      ReportCommand.spec,
    ])
}
