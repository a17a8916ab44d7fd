/// The values given on the command line for one command, with typed accessors that turn bad
/// values into ``UsageError``s naming the option.
public struct ParsedArguments: Sendable {
  /// The command path, e.g. `["tandem", "catalog", "pairs"]`.
  public var commandPath: [String]
  var values: [String: [String]]
  var flags: Set<String>
  var positionals: [String: [String]]

  /// Whether a flag was given.
  public func flag(_ name: String) -> Bool { flags.contains(name) }

  /// The raw value of an option (last one wins) or its default.
  public func string(_ name: String) -> String? { values[name]?.last }

  /// All values of a repeating option.
  public func strings(_ name: String) -> [String] { values[name] ?? [] }

  /// A positional argument's value.
  public func argument(_ name: String) -> String? { positionals[name]?.first }

  /// All values of a repeating positional argument.
  public func arguments(_ name: String) -> [String] { positionals[name] ?? [] }

  /// An option converted to `T`, or `nil` when absent and without default.
  public func value<T: ArgumentValue>(
    _ name: String, as _: T.Type = T.self
  ) throws(UsageError)
    -> T?
  {
    guard let raw = string(name) else { return nil }
    guard let parsed = T(argument: raw) else {
      throw UsageError(
        "invalid value '\(raw)' for --\(name): expected \(T.expectation)", command: commandPath)
    }
    return parsed
  }

  /// An option converted to `T`, falling back to `fallback` when absent.
  public func value<T: ArgumentValue>(_ name: String, default fallback: T) throws(UsageError) -> T {
    try value(name, as: T.self) ?? fallback
  }

  /// A required option converted to `T`.
  public func required<T: ArgumentValue>(
    _ name: String, as _: T.Type = T.self
  ) throws(UsageError)
    -> T
  {
    guard let v = try value(name, as: T.self) else {
      throw UsageError("missing required option --\(name)", command: commandPath)
    }
    return v
  }

  /// A usage error attributed to this command.
  public func usageError(_ message: String) -> UsageError {
    UsageError(message, command: commandPath)
  }
}

/// A bad command line: printed with the usage to stderr, exit code 64.
public struct UsageError: Error, CustomStringConvertible, Sendable {
  public var message: String
  public var command: [String]

  public init(_ message: String, command: [String] = []) {
    self.message = message
    self.command = command
  }

  public var description: String { message }
}

/// A type that can be parsed from one command-line value.
public protocol ArgumentValue {
  init?(argument: String)
  /// What a valid value looks like, for error messages.
  static var expectation: String { get }
}

extension String: ArgumentValue {
  public init?(argument: String) { self = argument }
  public static var expectation: String { "a string" }
}

extension Int: ArgumentValue {
  public init?(argument: String) { self.init(argument.replacingUnderscores) }
  public static var expectation: String { "an integer" }
}

extension UInt64: ArgumentValue {
  public init?(argument: String) { self.init(argument.replacingUnderscores) }
  public static var expectation: String { "a non-negative integer" }
}

extension Double: ArgumentValue {
  public init?(argument: String) {
    guard let v = Double(argument), v.isFinite else { return nil }
    self = v
  }
  public static var expectation: String { "a number" }
}

extension Float: ArgumentValue {
  public init?(argument: String) {
    guard let v = Float(argument), v.isFinite else { return nil }
    self = v
  }
  public static var expectation: String { "a number" }
}

/// A comma-separated list of integers, e.g. `--bands 1,2,3` or `--window 0,0,256,256`.
public struct IntList: ArgumentValue, Sendable, Equatable {
  public var values: [Int]
  public init(_ values: [Int]) { self.values = values }
  public init?(argument: String) {
    let parts = argument.split(separator: ",", omittingEmptySubsequences: false)
    var out: [Int] = []
    for p in parts {
      guard let v = Int(p.trimmingSpaces) else { return nil }
      out.append(v)
    }
    guard !out.isEmpty else { return nil }
    values = out
  }
  public static var expectation: String { "a comma-separated list of integers" }
}

/// A byte size such as `512MB`, `20GB`, `1.5GiB` or a plain byte count.
public struct ByteSize: ArgumentValue, Sendable, Equatable {
  public var bytes: UInt64
  public init(bytes: UInt64) { self.bytes = bytes }
  public init?(argument: String) {
    let text = argument.trimmingSpaces.uppercased()
    let units: [(String, Double)] = [
      ("TIB", 1_099_511_627_776), ("GIB", 1_073_741_824), ("MIB", 1_048_576), ("KIB", 1024),
      ("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("KB", 1e3), ("T", 1_099_511_627_776),
      ("G", 1_073_741_824), ("M", 1_048_576), ("K", 1024), ("B", 1),
    ]
    var multiplier = 1.0
    var number = Substring(text)
    for (suffix, m) in units where text.hasSuffix(suffix) {
      multiplier = m
      number = text.dropLast(suffix.count)
      break
    }
    // `UInt64(exactly:)` of the truncated product: `1e20` or `20000000TB` do not fit in 64 bits
    // and are invalid values (a usage error naming the option), not a conversion trap.
    guard let v = Double(String(number).trimmingSpaces), v >= 0, v.isFinite,
      let count = UInt64(exactly: (v * multiplier).rounded(.towardZero))
    else { return nil }
    bytes = count
  }
  public static var expectation: String { "a size such as 500MB, 20GB or 1GiB" }
}

extension StringProtocol {
  var trimmingSpaces: String {
    var s = Substring(self)
    while s.first?.isWhitespace == true { s = s.dropFirst() }
    while s.last?.isWhitespace == true { s = s.dropLast() }
    return String(s)
  }

  var replacingUnderscores: String { String(self.filter { $0 != "_" }) }
}
