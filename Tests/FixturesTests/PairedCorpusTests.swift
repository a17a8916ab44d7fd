import Foundation
import GeoTIFF
import RangeIO
import STAC
import TandemBase
import Testing

@testable import Fixtures

/// The paired corpus for cold benchmarks: deterministic, resumable, stamped, real COGs whose
/// declared header size is where the tiles start, and items that pair one to one.
@Suite(.timeLimit(.minutes(2))) struct PairedCorpusTests {
  static func tempDir(_ name: String) throws -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent(
      "tandem-corpus-\(name)-\(UUID().uuidString)"
    ).path
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
  }

  static func files(_ root: String) throws -> [String: Data] {
    var out: [String: Data] = [:]
    let e = FileManager.default.enumerator(atPath: root)
    while let path = e?.nextObject() as? String {
      var isDir: ObjCBool = false
      let full = root + "/" + path
      if FileManager.default.fileExists(atPath: full, isDirectory: &isDir), !isDir.boolValue {
        out[path] = try Data(contentsOf: URL(fileURLWithPath: full))
      }
    }
    return out
  }

  @Test func sameOptionsGiveIdenticalFilesAndAStamp() throws {
    let a = try Self.tempDir("a")
    let b = try Self.tempDir("b")
    defer {
      try? FileManager.default.removeItem(atPath: a)
      try? FileManager.default.removeItem(atPath: b)
    }
    let config = PairedCorpusConfig(pairs: 3, size: 300, seed: 5)
    #expect(!PairedCorpus.isComplete(config, at: a))
    let summary = try PairedCorpus.generate(config, to: a, jobs: 2)
    #expect(summary.generated == 3 && summary.files == 18 && summary.cogBytes > 0)
    _ = try PairedCorpus.generate(config, to: b, jobs: 1)
    let fa = try Self.files(a)
    #expect(fa.count == 3 * 8 + 4)  // 6 COGs + 2 items per pair, 2 collections, catalog, stamp
    #expect(fa == (try Self.files(b)))
    #expect(PairedCorpus.isComplete(config, at: a))
    #expect(!PairedCorpus.isComplete(PairedCorpusConfig(pairs: 3, size: 300, seed: 6), at: a))
    // Already there: nothing is written again.
    #expect(try PairedCorpus.generate(config, to: a, jobs: 2).generated == 0)
  }

  @Test func aMissingPairIsRegeneratedAndMorePairsKeepTheOldOnes() throws {
    let dir = try Self.tempDir("resume")
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let config = PairedCorpusConfig(pairs: 2, size: 256, seed: 1)
    _ = try PairedCorpus.generate(config, to: dir, jobs: 2)
    let before = try Self.files(dir)
    let item = dir + "/sentinel-2-l2a/S2-p0001/S2-p0001.json"
    try FileManager.default.removeItem(atPath: item)
    #expect(try PairedCorpus.generate(config, to: dir, jobs: 2).generated == 1)
    #expect(try Self.files(dir) == before)
    _ = try PairedCorpus.generate(
      PairedCorpusConfig(pairs: 3, size: 256, seed: 1), to: dir, jobs: 2)
    let after = try Self.files(dir)
    for (path, data) in before where path.hasSuffix(".tif") { #expect(after[path] == data) }
  }

  @Test func cogsAreTiledDeflateWithTheDeclaredHeaderSize() async throws {
    let dir = try Self.tempDir("cog")
    defer { try? FileManager.default.removeItem(atPath: dir) }
    _ = try PairedCorpus.generate(PairedCorpusConfig(pairs: 1, size: 512), to: dir, jobs: 1)
    for (itemPath, key, href, type) in [
      ("sentinel-2-l2a/S2-p0000/S2-p0000.json", "blue", "B02.tif", SampleType.uint16),
      ("sentinel-1-rtc/S1-p0000/S1-p0000.json", "vv", "vv.tif", SampleType.float32),
    ] {
      let itemData = try Data(contentsOf: URL(fileURLWithPath: dir + "/" + itemPath))
      let asset = try #require(try JSONParser.parse(Array(itemData))["assets"]?[key])
      #expect(asset["href"]?.stringValue == "./" + href)
      let header = try #require(asset["file:header_size"]?.doubleValue)
      let file = dir + "/" + (itemPath as NSString).deletingLastPathComponent + "/" + href
      let cog = try await COGDataset.open(FileSource(path: file))
      let image = cog.mainImage
      #expect(image.sampleType == type && image.compression == 8 && image.isTiled)
      #expect(image.blockWidth == 256 && image.width == 512 && cog.images.count == 1)
      let plan = try await cog.plan(window: PixelWindow(x: 0, y: 0, width: 512, height: 512))
      let firstTile = try #require(plan.blocks.compactMap(\.range).map(\.offset).min())
      // Tiles start right after the header, behind their 4-byte size leader.
      #expect(Double(firstTile) == header + 4)
      let raster = try await cog.read(plan)
      #expect(raster.width == 512 && raster.height == 512)
    }
  }
}
