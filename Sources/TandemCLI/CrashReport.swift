internal import CTandemShims
import CommandLineKit
import Foundation

/// A trap or fatal signal (a bug in tandem) ends the process with one clear line and exit
/// status 1, not a runtime backtrace that a user cannot act on. `TANDEM_BACKTRACE=1` keeps the
/// Swift runtime's backtracer instead, for whoever debugs it.
enum CrashReport {
  static func install(arguments: [String], root: CommandSpec) {
    let env = ProcessInfo.processInfo.environment
    defer { DebugHooks.crashIfAsked(env) }
    if let flag = env["TANDEM_BACKTRACE"], ["1", "yes", "true"].contains(flag.lowercased()) {
      return
    }
    // Only the subcommand names: arguments may carry secrets (headers, signed URLs).
    var path = [root.name]
    var command = root
    for argument in arguments {
      guard let sub = command.subcommands.first(where: { $0.name == argument }) else { break }
      path.append(sub.name)
      command = sub
    }
    tandem_install_crash_report(
      "error: tandem crashed (",
      ") while running `\(path.joined(separator: " "))`. This is a bug in tandem, not in your"
        + " data or command line: please report it with the command. TANDEM_BACKTRACE=1 shows a"
        + " backtrace.")
  }
}
