import Foundation
import TandemBase
import Testing

@testable import Fixtures

/// World version 2: shared materials, structure within patches, a longer flood.
@Suite struct ContextWorldTests {
  @Test(arguments: [1 as UInt64, 2])
  func keepsTheVersion1LayoutAndAddsMaterials(seed: UInt64) {
    let size = 256
    let v1 = Landscape(size: size, seed: seed)
    let v2 = Landscape(size: size, seed: seed, version: .v2)
    #expect(v1.material.isEmpty && v1.attribute.isEmpty)
    #expect(v2.material.count == size * size && v2.attribute.count == size * size)
    // Labels only change where sand bars turn river banks into bare ground.
    var changed = 0
    for i in 0..<(size * size) where v1.classes[i] != v2.classes[i] {
      changed += 1
      #expect(v2.classes[i] == LandCover.bare.rawValue)
      #expect(v2.material[i] == Material.sand.rawValue)
    }
    #expect(changed < size * size / 20)
    #expect(v1.elevation == v2.elevation)
    // Every material the classes are built from occurs.
    let present = Set(v2.material)
    for m in [Material.canopy, .canopyGap, .crop, .margin, .grass, .asphalt, .garden] {
      #expect(present.contains(m.rawValue), "\(m) missing")
    }
    #expect(
      present.contains(Material.roofBright.rawValue) || present.contains(Material.roofTile.rawValue)
    )
    // Materials are shared across classes: no class is one material.
    for cls in [LandCover.forest, .cropland, .urban] {
      let materials = Set(
        (0..<(size * size)).filter { v2.classes[$0] == cls.rawValue }.map {
          v2.material[$0]
        })
      #expect(materials.count >= 2, "\(cls.name): \(materials)")
    }
  }

  @Test func worldIsDeterministicAndRecordsItsVersion() throws {
    let a = TemporaryDirectory("v2-a")
    let b = TemporaryDirectory("v2-b")
    defer {
      a.cleanup()
      b.cleanup()
    }
    let config = FixtureWorldConfig(
      tiles: 2, size: 96, dates: 2, seed: 11, flood: true, version: .v2)
    try FixtureWorld.generate(config, to: a.path)
    try FixtureWorld.generate(config, to: b.path)
    let files = listFiles(a.path)
    #expect(files == listFiles(b.path))
    for f in files {
      #expect(
        FileManager.default.contents(atPath: a.path + "/" + f)
          == FileManager.default.contents(atPath: b.path + "/" + f), "\(f) differs")
    }
    let catalog = try String(contentsOfFile: a.path + "/catalog.json", encoding: .utf8)
    #expect(catalog.contains("\"version\": 2"))
    let item = try #require(
      files.first { $0.hasPrefix("sentinel-1-rtc/S1-t00") && $0.hasSuffix(".json") })
    let text = try String(contentsOfFile: a.path + "/" + item, encoding: .utf8)
    #expect(text.contains("\"tandem:world_version\": 2"))
    // Version 1 items do not carry the property (their bytes are unchanged).
    let v1 = TemporaryDirectory("v1")
    defer { v1.cleanup() }
    var old = config
    old.version = .v1
    try FixtureWorld.generate(old, to: v1.path)
    let v1Item = try String(contentsOfFile: v1.path + "/" + item, encoding: .utf8)
    #expect(!v1Item.contains("tandem:world_version"))
  }

  @Test func version2FloodRisesLastsAndRecedesSlowly() {
    var tile = FixtureWorldConfig(tiles: 1, size: 64, dates: 3, seed: 1, flood: true).plan()[0]
    let peak = tile.floodPeakDay!
    #expect(tile.floodStage(day: peak + 3) < 1)  // version 1: receding after two days
    tile.version = .v2
    #expect(tile.floodStage(day: peak - 2) == 0)
    #expect(tile.floodStage(day: peak - 1) == 0.5)
    #expect(tile.floodStage(day: peak + 4) == 1)
    #expect(tile.floodStage(day: peak + 10) == 0.5)
    #expect(tile.floodStage(day: peak + 16) == 0)
  }

  @Test func sandAndAsphaltAreWaterLookAlikesInS1ButNotInS2() {
    func s1(_ m: Material) -> Float {
      SensorModel.backscatterV2(
        material: m.rawValue, attribute: 0.5, flooded: false, green: 0.5, vigor: 0, season: 0.7,
        moisture: 0, wind: 0
      ).0
    }
    func nir(_ m: Material) -> Float {
      SensorModel.surfaceV2(
        material: m.rawValue, attribute: 0.5, flooded: false, green: 0.5, vigor: 0, season: 0.7,
        band: 3)
    }
    let water = s1(.water)
    for m in [Material.sand, .asphalt] {
      #expect(s1(m) < water + 4, "\(m) is dark in S1")
      #expect(nir(m) > 3 * nir(.water), "\(m) is bright in S2 NIR")
    }
    // Soil, tiled roofs and fallow fields share a spectrum within 25 % in every band.
    for b in 0..<6 {
      let soil = SensorModel.surfaceV2(
        material: Material.soil.rawValue, attribute: 0.5, flooded: false, green: 0, vigor: 0,
        season: 0.7, band: b)
      for m in [Material.roofTile, .fallow] {
        let r = SensorModel.surfaceV2(
          material: m.rawValue, attribute: 0.5, flooded: false, green: 0, vigor: 0, season: 0.7,
          band: b)
        #expect(abs(r / soil - 1) < 0.25, "\(m) band \(b): \(r) vs soil \(soil)")
      }
    }
  }
}
