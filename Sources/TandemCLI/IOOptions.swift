import CommandLineKit
import RangeIO

/// Options shared by every command that reads data (`info`, `read`, `bench read`, `catalog …`,
/// `train`): HTTP tuning, retries, the tile cache, offline mode. Commands append `IOOptions.specs`
/// to their own options and build their sources with `IOOptions.sourceOptions(from:)`.
enum IOOptions {
  static let specs: [OptionSpec] = []

  static func sourceOptions(from parsed: ParsedArguments) throws -> SourceOptions {
    SourceOptions()
  }
}
