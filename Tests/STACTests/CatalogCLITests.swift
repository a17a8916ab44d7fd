import Foundation
import TandemTestSupport
import Testing

/// The built `tandem` binary (shared helper).
enum TandemBinary {
  static var exists: Bool { TandemCLI.binary != nil }
  static func run(_ arguments: [String]) throws -> TandemCLI.Result { try TandemCLI.run(arguments) }
}

@Suite(.enabled(if: TandemBinary.exists, "tandem binary not built"))
struct CatalogCLITests {
  @Test func inspectJSONOnRealSearchPage() throws {
    let r = try TandemBinary.run([
      "catalog", "inspect", Fixture.path("realdata/s2/pc-sentinel-2-l2a-search.json"), "--json",
    ])
    #expect(r.status == 0, "\(r.stderr)")
    let summary = try #require(
      try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
    #expect(summary["items"] as? Int == 33)
    #expect((summary["usable"] as? [String: Int])?["S2"] == 33)
    #expect((summary["collections"] as? [String: Any])?["sentinel-2-l2a"] != nil)
    #expect(summary["time_start"] as? String != nil)
  }

  @Test func inspectReportsSkippedItemsAndChildErrors() throws {
    let r = try TandemBinary.run([
      "catalog", "inspect",
      Fixture.path("realdata/broken/stac-validator/v100/catalog-with-bad-item.json"),
    ])
    #expect(r.status == 0)
    #expect(r.stdout.contains("items: 1"))
    #expect(r.stdout.contains("not Sentinel-1 or Sentinel-2"))
    #expect(r.stdout.contains("bad-item.json: id: missing field"))
  }

  @Test func brokenDocumentExitsOneWithPath() throws {
    let r = try TandemBinary.run([
      "catalog", "inspect", Fixture.path("realdata/broken/rustac-invalid-item-empty-id.json"),
    ])
    #expect(r.status == 1)
    #expect(r.stderr.hasPrefix("error: "))
    #expect(r.stderr.contains("rustac-invalid-item-empty-id.json: id: invalid value: id is empty"))
  }

  @Test func usageErrorsExit64() throws {
    let r = try TandemBinary.run(["catalog", "pairs", "x.json", "--min-overlap", "2"])
    #expect(r.status == 64)
    #expect(r.stderr.contains("--min-overlap"))
    let r2 = try TandemBinary.run(["catalog", "pairs", "x.json", "--asset", "nokey"])
    #expect(r2.status == 64)
  }

  @Test func pairsWritesJSONLinesAtomically() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tandem-cli-\(UUID())")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let catalog = dir.appendingPathComponent("synthetic.json").path
    let out = dir.appendingPathComponent("pairs.jsonl").path
    #expect(
      try TandemBinary.run(["catalog", "synth", "--count", "600", "--seed", "4", "--out", catalog])
        .status == 0)
    let r = try TandemBinary.run([
      "catalog", "pairs", catalog, "--max-days", "5", "--max-cloud", "60", "--min-overlap", "0.05",
      "--out", out, "--json",
    ])
    #expect(r.status == 0, "\(r.stderr)")
    let summary = try #require(
      try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
    let count = try #require(summary["pairs"] as? Int)
    #expect(count > 0)
    let lines = try String(contentsOfFile: out, encoding: .utf8).split(separator: "\n")
    #expect(lines.count == count)
    let first = try #require(
      try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Any])
    for key in ["s1", "s2", "dt_hours", "overlap", "crs", "grid"] {
      #expect(first[key] != nil, "\(key)")
    }
    let s1 = try #require(first["s1"] as? [String: Any])
    let assets = try #require(s1["assets"] as? [[String: Any]])
    #expect(assets.map { $0["channel"] as? String } == ["VV", "VH"])
    #expect(assets[0]["window"] != nil)
    // No temporary files left next to the output.
    #expect(
      try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted() == [
        "pairs.jsonl", "synthetic.json",
      ])

    // Without --out the pairs go to standard output and the summary to standard error.
    let r2 = try TandemBinary.run([
      "catalog", "pairs", catalog, "--max-days", "5", "--max-cloud", "60", "--min-overlap", "0.05",
    ])
    #expect(r2.stdout.split(separator: "\n").count == count)
    #expect(r2.stderr.contains("pairs: \(count)"))
  }
}
