import CommandLineKit

/// `tandem version`.
enum VersionCommand {
  static let version = "0.1.0"
  static let spec = CommandSpec(
    name: "version", abstract: "Print the version of tandem.",
    run: { _ in
      print("tandem \(version)")
      return ExitCode.success
    })
}
