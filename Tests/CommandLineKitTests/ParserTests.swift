import Testing

@testable import CommandLineKit

@Suite struct ParserTests {
  static let read = CommandSpec(
    name: "read", abstract: "Read a window.",
    arguments: [ArgumentSpec("source", help: "Path or URL.")],
    options: [
      .value("window", valueName: "x,y,w,h", help: "Window.", required: true),
      .value("bands", valueName: "list", help: "Bands."),
      .value("overview", valueName: "n", help: "Overview level.", default: "0"),
      .value("header", valueName: "h", help: "Header.", repeating: true),
      .flag("stats", short: "s", help: "Print stats."),
    ],
    run: { _ in 0 })
  static let root = CommandSpec(
    name: "tandem", abstract: "Root.", subcommands: [read])

  func parsed(_ args: [String]) throws -> ParsedArguments {
    guard case .run(_, let p) = try CommandRunner.parse(args, root: Self.root) else {
      Issue.record("expected a command to run")
      throw UsageError("no command")
    }
    return p
  }

  @Test func parsesOptionsFlagsAndPositionals() throws {
    let p = try parsed(["read", "a.tif", "--window", "1,2,3,4", "-s", "--overview=2"])
    #expect(p.argument("source") == "a.tif")
    #expect(try p.required("window", as: IntList.self).values == [1, 2, 3, 4])
    #expect(try p.value("overview", default: 0) == 2)
    #expect(p.flag("stats"))
    #expect(p.string("bands") == nil)
    #expect(p.commandPath == ["tandem", "read"])
  }

  @Test func defaultsApplyAndRepeatingCollects() throws {
    let p = try parsed(["read", "x", "--window", "0,0,1,1", "--header", "a", "--header", "b"])
    #expect(try p.value("overview", default: 9) == 0)
    #expect(p.strings("header") == ["a", "b"])
  }

  @Test(arguments: [
    (["read", "--window", "0,0,1,1"], "missing argument <source>"),
    (["read", "x"], "missing required option '--window'"),
    (["read", "x", "--window"], "missing value for '--window'"),
    (["read", "x", "--window", "1", "--nope"], "unknown option '--nope'"),
    (["read", "x", "y", "--window", "1"], "unexpected argument 'y'"),
    (["reed"], "unknown subcommand 'reed'; expected one of: read"),
    ([], "missing subcommand; expected one of: read"),
    (["read", "x", "--window", "1", "--window", "2"], "option '--window' given more than once"),
    (["read", "x", "--window", "1", "--stats=yes"], "option '--stats' takes no value"),
  ])
  func usageErrors(args: [String], message: String) {
    #expect(throws: UsageError(message)) { try CommandRunner.parse(args, root: Self.root) }
  }

  @Test func typedValueErrorsNameTheOption() throws {
    let p = try parsed(["read", "x", "--window", "a,b", "--overview", "-1.5"])
    #expect(
      throws: UsageError(
        "invalid value 'a,b' for --window: expected a comma-separated list of integers")
    ) {
      try p.required("window", as: IntList.self)
    }
    #expect(throws: UsageError("invalid value '-1.5' for --overview: expected an integer")) {
      try p.value("overview", default: 0)
    }
  }

  @Test func helpListsEverything() throws {
    guard case .help(let text) = try CommandRunner.parse(["read", "--help"], root: Self.root) else {
      Issue.record("expected help")
      return
    }
    #expect(text.contains("OVERVIEW: Read a window."))
    #expect(text.contains("USAGE: tandem read <source> --window <x,y,w,h> [--bands <list>]"))
    #expect(text.contains("--overview <n>"))
    #expect(text.contains("(default: 0)"))
    #expect(text.contains("-s, --stats"))
    guard case .help(let rootHelp) = try CommandRunner.parse(["--help"], root: Self.root) else {
      Issue.record("expected help")
      return
    }
    #expect(rootHelp.contains("SUBCOMMANDS:"))
  }

  @Test(arguments: [
    ("500MB", UInt64(500_000_000)), ("1GiB", UInt64(1 << 30)), ("20GB", UInt64(20_000_000_000)),
    ("4096", UInt64(4096)), ("1.5K", UInt64(1536)),
  ])
  func byteSizes(text: String, bytes: UInt64) {
    #expect(ByteSize(argument: text)?.bytes == bytes)
  }

  @Test func badByteSizes() {
    #expect(ByteSize(argument: "lots") == nil)
    #expect(ByteSize(argument: "-5MB") == nil)
  }

  /// Sizes past 2^64 bytes are invalid values, not a trap in the UInt64 conversion.
  @Test(arguments: ["1e20", "20000000TB", "18446744073709551616", "1e300G"])
  func byteSizesPastUInt64AreInvalid(text: String) {
    #expect(ByteSize(argument: text) == nil)
  }
}

extension UsageError: Equatable {
  public static func == (a: UsageError, b: UsageError) -> Bool { a.message == b.message }
}
