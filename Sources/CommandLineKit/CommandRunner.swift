#if canImport(Glibc)
  import Glibc
#endif

/// Exit codes shared by every Tandem command.
public enum ExitCode {
  public static let success: Int32 = 0
  public static let failure: Int32 = 1
  public static let usage: Int32 = 64
  public static let interrupted: Int32 = 130
}

/// Parses a command line against a ``CommandSpec`` tree and runs the selected command.
public enum CommandRunner {
  /// The outcome of parsing: run a command, or print help.
  public enum Parsed: Sendable {
    case run(CommandSpec, ParsedArguments)
    case help(String)
  }

  /// Parses `arguments` (without the program name) for `root`.
  public static func parse(_ arguments: [String], root: CommandSpec) throws(UsageError) -> Parsed {
    var command = root
    var path = [root.name]
    var index = 0
    // Walk subcommands first: `tandem catalog pairs ...`.
    while index < arguments.count, !command.subcommands.isEmpty {
      let word = arguments[index]
      if word == "-h" || word == "--help" || word == "help" {
        if word == "help", index + 1 < arguments.count,
          let sub = command.subcommands.first(where: { $0.name == arguments[index + 1] })
        {
          return .help(HelpFormatter.help(for: sub, path: path + [sub.name]))
        }
        return .help(HelpFormatter.help(for: command, path: path))
      }
      guard let sub = command.subcommands.first(where: { $0.name == word }) else {
        if word.hasPrefix("-") && command.run != nil { break }
        throw UsageError(
          "unknown subcommand '\(word)'; expected one of: "
            + command.subcommands.map(\.name).joined(separator: ", "), command: path)
      }
      command = sub
      path.append(sub.name)
      index += 1
    }
    if command.run == nil {
      if arguments[index...].contains(where: { $0 == "-h" || $0 == "--help" }) {
        return .help(HelpFormatter.help(for: command, path: path))
      }
      throw UsageError(
        "missing subcommand; expected one of: "
          + command.subcommands.map(\.name).joined(separator: ", "), command: path)
    }

    var values: [String: [String]] = [:]
    var flags = Set<String>()
    var positional: [String] = []
    var onlyPositional = false
    while index < arguments.count {
      let word = arguments[index]
      index += 1
      if onlyPositional || !word.hasPrefix("-") || word == "-" || isNegativeNumber(word) {
        positional.append(word)
        continue
      }
      if word == "--" {
        onlyPositional = true
        continue
      }
      if word == "-h" || word == "--help" {
        return .help(HelpFormatter.help(for: command, path: path))
      }
      var name: String
      var inlineValue: String?
      if word.hasPrefix("--") {
        let body = word.dropFirst(2)
        if let eq = body.firstIndex(of: "=") {
          name = String(body[..<eq])
          inlineValue = String(body[body.index(after: eq)...])
        } else {
          name = String(body)
        }
        guard command.options.contains(where: { $0.name == name }) else {
          throw UsageError("unknown option '--\(name)'", command: path)
        }
      } else {
        let letters = Array(word.dropFirst())
        guard letters.count == 1,
          let spec = command.options.first(where: { $0.short == letters[0] })
        else {
          throw UsageError("unknown option '\(word)'", command: path)
        }
        name = spec.name
      }
      let spec = command.options.first(where: { $0.name == name })!
      switch spec.kind {
      case .flag:
        if inlineValue != nil {
          throw UsageError("option '--\(name)' takes no value", command: path)
        }
        flags.insert(name)
      case .value(_, _, _, let repeating):
        let value: String
        if let inlineValue {
          value = inlineValue
        } else {
          guard index < arguments.count else {
            throw UsageError("missing value for '--\(name)'", command: path)
          }
          value = arguments[index]
          index += 1
        }
        if !repeating, values[name] != nil {
          throw UsageError("option '--\(name)' given more than once", command: path)
        }
        values[name, default: []].append(value)
      }
    }

    // Defaults and required options.
    for spec in command.options {
      guard case .value(_, let defaultValue, let required, _) = spec.kind else { continue }
      if values[spec.name] == nil {
        if let defaultValue {
          values[spec.name] = [defaultValue]
        } else if required {
          throw UsageError("missing required option '--\(spec.name)'", command: path)
        }
      }
    }

    // Positionals.
    var positionals: [String: [String]] = [:]
    var cursor = 0
    for spec in command.arguments {
      if spec.isRepeating {
        positionals[spec.name] = Array(positional[cursor...])
        cursor = positional.count
        if positionals[spec.name]!.isEmpty && !spec.isOptional {
          throw UsageError("missing argument <\(spec.name)>", command: path)
        }
        continue
      }
      if cursor < positional.count {
        positionals[spec.name] = [positional[cursor]]
        cursor += 1
      } else if !spec.isOptional {
        throw UsageError("missing argument <\(spec.name)>", command: path)
      }
    }
    if cursor < positional.count {
      throw UsageError("unexpected argument '\(positional[cursor])'", command: path)
    }
    return .run(
      command,
      ParsedArguments(
        commandPath: path, values: values, flags: flags, positionals: positionals))
  }

  /// Parses and runs; prints help or usage errors; returns the process exit code.
  /// Other errors are printed as `error: <description>` with exit code 1.
  public static func main(
    _ arguments: [String], root: CommandSpec,
    describe: @Sendable (any Error) -> String = { String(describing: $0) }
  ) async -> Int32 {
    do {
      switch try parse(arguments, root: root) {
      case .help(let text):
        print(text)
        return ExitCode.success
      case .run(let command, let parsed):
        return try await command.run!(parsed)
      }
    } catch let error as UsageError {
      let command = find(path: error.command, in: root) ?? root
      printError("error: \(error.message)")
      printError(
        "Usage: "
          + HelpFormatter.usage(
            for: command, path: error.command.isEmpty ? [root.name] : error.command))
      printError(
        "  See '\((error.command.isEmpty ? [root.name] : error.command).joined(separator: " ")) --help' for more information."
      )
      return ExitCode.usage
    } catch {
      printError("error: \(describe(error))")
      return ExitCode.failure
    }
  }

  static func find(path: [String], in root: CommandSpec) -> CommandSpec? {
    guard path.first == root.name else { return nil }
    var command = root
    for name in path.dropFirst() {
      guard let sub = command.subcommands.first(where: { $0.name == name }) else { return nil }
      command = sub
    }
    return command
  }

  static func isNegativeNumber(_ word: String) -> Bool {
    word.count > 1 && word.first == "-" && Double(word) != nil
  }
}

/// Writes a line to standard error.
public func printError(_ text: String) {
  var line = text
  line.append("\n")
  var bytes = Array(line.utf8)[...]
  while !bytes.isEmpty {
    let n = bytes.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
    if n <= 0 { return }
    bytes = bytes.dropFirst(n)
  }
}
