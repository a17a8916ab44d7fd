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

  @Test func failuresExit1NamingTheFile() throws {
    let r = try TandemCLI.run(["info", "/nonexistent/scene.tif"])
    #expect(r.status == 1)
    #expect(r.stderr.contains("/nonexistent/scene.tif"))
  }

  @Test func versionPrints() throws {
    let r = try TandemCLI.run(["version"])
    #expect(r.status == 0)
    #expect(r.stdout.hasPrefix("tandem "))
  }
}
