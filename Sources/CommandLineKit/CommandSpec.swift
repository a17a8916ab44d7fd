/// Declarative description of a command-line command, following swift-argument-parser's
/// conventions (OVERVIEW / USAGE / ARGUMENTS / OPTIONS help, `--kebab-case` long options,
/// usage errors to stderr with exit code 64, `--help` with exit code 0).
public struct CommandSpec: Sendable {
  /// The command's name as typed (`read`, `catalog`, `pairs`).
  public var name: String
  /// One line shown after OVERVIEW and in the parent's SUBCOMMANDS list.
  public var abstract: String
  /// Optional longer text shown after the usage.
  public var discussion: String
  /// Positional arguments, in order.
  public var arguments: [ArgumentSpec]
  /// Named options and flags.
  public var options: [OptionSpec]
  /// Subcommands; a command with subcommands and no `run` requires one.
  public var subcommands: [CommandSpec]
  /// What to do once arguments are parsed; returns the process exit code.
  public var run: (@Sendable (ParsedArguments) async throws -> Int32)?

  public init(
    name: String, abstract: String, discussion: String = "",
    arguments: [ArgumentSpec] = [], options: [OptionSpec] = [],
    subcommands: [CommandSpec] = [],
    run: (@Sendable (ParsedArguments) async throws -> Int32)? = nil
  ) {
    self.name = name
    self.abstract = abstract
    self.discussion = discussion
    self.arguments = arguments
    self.options = options
    self.subcommands = subcommands
    self.run = run
  }
}

/// A positional argument.
public struct ArgumentSpec: Sendable {
  public var name: String
  public var help: String
  public var isOptional: Bool
  /// Takes all remaining positional values.
  public var isRepeating: Bool

  public init(_ name: String, help: String, optional: Bool = false, repeating: Bool = false) {
    self.name = name
    self.help = help
    self.isOptional = optional
    self.isRepeating = repeating
  }
}

/// A named option (`--window 0,0,256,256`) or flag (`--json`).
public struct OptionSpec: Sendable {
  public enum Kind: Sendable {
    /// Present or absent.
    case flag
    /// Takes one value; may be given several times when `repeating`.
    case value(valueName: String, defaultValue: String?, required: Bool, repeating: Bool)
  }

  /// Long name without dashes, kebab-case.
  public var name: String
  public var short: Character?
  public var help: String
  public var kind: Kind

  /// A flag.
  public static func flag(_ name: String, short: Character? = nil, help: String) -> OptionSpec {
    OptionSpec(name: name, short: short, help: help, kind: .flag)
  }

  /// An option with a value.
  public static func value(
    _ name: String, short: Character? = nil, valueName: String, help: String,
    default defaultValue: String? = nil, required: Bool = false, repeating: Bool = false
  ) -> OptionSpec {
    OptionSpec(
      name: name, short: short, help: help,
      kind: .value(
        valueName: valueName, defaultValue: defaultValue, required: required,
        repeating: repeating))
  }

  var isFlag: Bool {
    if case .flag = kind { return true }
    return false
  }
}
