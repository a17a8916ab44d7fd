import Foundation
import TandemTestSupport
import Testing

/// Conventions every command shares (swift-argument-parser style), checked on the real binary.
@Suite struct CLIBasicsTests {
  @Test func helpListsSubcommandsAndExitsZero() throws {
    let r = try TandemCLI.run(["--help"])
    #expect(r.status == 0)
    #expect(r.stdout.contains("OVERVIEW:"))
    #expect(r.stdout.contains("USAGE: tandem <subcommand>"))
    for name in ["info", "read", "catalog", "fixtures", "bench", "cache"] {
      #expect(r.stdout.contains("  \(name)"), "help lists \(name)")
    }
  }

  @Test(arguments: [
    ["frobnicate"], ["read"], ["info", "--no-such-flag", "x"],
    ["read", "x.tif", "--window", "a,b"],
  ])
  func usageErrorsExit64WithUsageOnStderr(arguments: [String]) throws {
    let r = try TandemCLI.run(arguments)
    #expect(r.status == 64)
    #expect(r.stderr.hasPrefix("error: "))
    #expect(r.stderr.contains("Usage: tandem"))
    #expect(r.stdout.isEmpty)
  }

  /// Option values that trapped (overflow, division by zero, an out-of-range conversion) are
  /// usage errors naming the option. FILE is a 100-byte file, CATALOG the fixture world (the
  /// synthetic bench never sleeps a step); the URL is never contacted.
  @Test(arguments: [
    (["fetch", "http://127.0.0.1:9/x.tif", "--range", "0:1", "--timeout", "1e19"], "--timeout"),
    (["fetch", "FILE", "--range", "0:1", "--cache-size", "1e20"], "--cache-size"),
    (["fetch", "FILE", "--windows", "1", "--length", "0", "--row-stride", "0"], "--length"),
    (["fetch", "FILE", "--windows", "1", "--length", "40", "--row-stride", "0"], "--row-stride"),
    (["fetch", "FILE", "--windows", "1", "--length", "9223372036854775808"], "--length"),
    (
      ["bench", "pipeline", "--catalog", "CATALOG", "--size", "32", "--step-ms", "5000000"],
      "--step-ms"
    ),
    (["train", "--catalog", "synthetic:4", "--epochs", "9223372036854775807"], "--epochs"),
    (["train", "--catalog", "synthetic:4", "--batch", "4611686018427387904"], "--batch"),
    (["train", "--catalog", "synthetic:4", "--size", "4611686018427387904"], "--size"),
  ])
  func outOfRangeValuesExit64NamingTheOption(arguments: [String], option: String) throws {
    let file = NSTemporaryDirectory() + "tandem-cli-bounds-\(UUID().uuidString).bin"
    try Data(count: 100).write(to: URL(fileURLWithPath: file))
    defer { try? FileManager.default.removeItem(atPath: file) }
    let catalog = TandemCLI.packageRoot.appendingPathComponent(
      "Catalogs/fixture-world/catalog.json"
    ).path
    let r = try TandemCLI.run(
      arguments.map { $0 == "FILE" ? file : $0 == "CATALOG" ? catalog : $0 })
    #expect(r.status == 64, "\(arguments): \(r.stderr)")
    #expect(r.stderr.hasPrefix("error: ") && r.stderr.contains(option), "\(r.stderr)")
  }

  @Test func failuresExit1NamingTheFile() throws {
    let r = try TandemCLI.run(["info", "/nonexistent/scene.tif"])
    #expect(r.status == 1)
    #expect(r.stderr.contains("/nonexistent/scene.tif"))
  }

  /// A crash (a bug in tandem) ends with one clear line and exit 1, not a runtime backtrace;
  /// the line names the subcommand but none of its arguments (they may hold secrets).
  @Test(arguments: ["trap", "segv"])
  func crashIsOneLineAndExit1(kind: String) throws {
    let r = try TandemCLI.run(
      ["bench", "read", "--list", "secret-token-list.txt"],
      environment: ["TANDEM_DEBUG_CRASH": kind, "TANDEM_BACKTRACE": "0"])
    #expect(r.status == 1)
    let lines = r.stderr.split(separator: "\n").filter { !$0.isEmpty }
    let last = String(lines.last ?? "")
    #expect(last.hasPrefix("error: tandem crashed ("), "\(r.stderr)")
    #expect(last.contains("while running `tandem bench read`"))
    #expect(!r.stderr.contains("secret-token"))
    for marker in ["Backtrac", "Thread 0", "Registers", "Crash"] {
      #expect(!r.stderr.contains(marker), "\(marker) in \(r.stderr)")
    }
    // At most the runtime's own one-line reason precedes it.
    #expect(lines.count <= 2, "\(r.stderr)")
  }

  @Test func versionPrints() throws {
    let r = try TandemCLI.run(["version"])
    #expect(r.status == 0)
    #expect(r.stdout.hasPrefix("tandem "))
  }
}
