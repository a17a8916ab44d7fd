import Foundation
import TandemBase
import Testing

@testable import Fixtures

@Suite struct WorldTests {
  @Test func sameSeedGivesByteIdenticalFilesAndOtherSeedsDiffer() throws {
    let a = TemporaryDirectory("det-a")
    let b = TemporaryDirectory("det-b")
    let c = TemporaryDirectory("det-c")
    defer {
      a.cleanup()
      b.cleanup()
      c.cleanup()
    }
    let config = FixtureWorldConfig(tiles: 2, size: 96, dates: 2, seed: 11, flood: true)
    try FixtureWorld.generate(config, to: a.path)
    try FixtureWorld.generate(config, to: b.path)
    var other = config
    other.seed = 12
    try FixtureWorld.generate(other, to: c.path)
    let files = listFiles(a.path)
    #expect(files == listFiles(b.path))
    #expect(files.count > 20)
    var differing = 0
    for f in files {
      let x = FileManager.default.contents(atPath: a.path + "/" + f)
      #expect(x == FileManager.default.contents(atPath: b.path + "/" + f), "\(f) differs")
      if f.hasSuffix(".tif"), x != FileManager.default.contents(atPath: c.path + "/" + f) {
        differing += 1
      }
    }
    #expect(differing > 0, "another seed must give another world")
  }

  @Test(arguments: [1 as UInt64, 2, 3])
  func landscapeHasAllClassesInCoherentPatches(seed: UInt64) {
    let size = 256
    let l = Landscape(size: size, seed: seed)
    let fractions = l.classFractions()
    for cls in LandCover.allCases {
      #expect(fractions[cls]! > 0.002, "\(cls.name) missing")
    }
    #expect(fractions.values.reduce(0, +) > 0.999, "only the six classes occur")
    // Spatial coherence: horizontal neighbours mostly agree (white noise would give ~1/6).
    var same = 0
    var total = 0
    for y in 0..<size {
      for x in 0..<(size - 1) {
        total += 1
        if l.classes[y * size + x] == l.classes[y * size + x + 1] { same += 1 }
      }
    }
    #expect(Double(same) / Double(total) > 0.85)
  }

  @Test func planAssignsRolesSeedsZonesAndSchedules() {
    let plans = FixtureWorldConfig(tiles: 4, size: 128, dates: 4, seed: 3).plan()
    #expect(plans.map(\.role) == [.pretrain, .pretrain, .probeTrain, .test])
    #expect(Set(plans.map(\.seed)).count == 4)
    #expect(plans.map(\.geo.epsg) == [32631, 32631, 32631, 32632])
    var small = 0
    var large = 0
    for p in plans {
      #expect(zip(p.s1.dropFirst(), p.s1).allSatisfy { $0.day - $1.day == 6 })
      #expect(zip(p.s2.dropFirst(), p.s2).allSatisfy { $0.day - $1.day == 5 })
      #expect(Set(p.s1.map(\.orbitState)) == ["ascending", "descending"])
      #expect(p.s2.contains { $0.cloudTarget == 0 } && p.s2.contains { $0.cloudTarget > 0 })
      for s1 in p.s1 {
        for s2 in p.s2 {
          if abs(s1.day - s2.day) <= 2 { small += 1 }
          if abs(s1.day - s2.day) >= 8 { large += 1 }
        }
      }
    }
    #expect(small > 0 && large > 0, "some S1/S2 pairs close in time, others far apart")
    #expect(FixtureWorldConfig(tiles: 1).roles == [.pretrain])
    #expect(FixtureWorldConfig(tiles: 3).roles == [.pretrain, .probeTrain, .test])
  }

  @Test func invalidConfigurationsAreRejectedWithTheOption() {
    for (config, option) in [
      (FixtureWorldConfig(tiles: 0), "--tiles"), (FixtureWorldConfig(size: 10), "--size"),
      (FixtureWorldConfig(dates: 99), "--dates"), (FixtureWorldConfig(seed: 1 << 60), "--seed"),
    ] {
      #expect {
        try config.validate()
      } throws: { error in
        (error as? FixturesError)?.code == .invalidConfiguration
          && (error as? FixturesError)?.path == option
      }
    }
  }

  @Test func sensorTexturesAreIndependent() {
    let tile = FixtureWorldConfig(tiles: 1, size: 256, seed: 5).plan()[0]
    let t = FixtureWorld.sensorTextures(for: tile)
    func correlation(_ a: [Float], _ b: [Float]) -> Double {
      let n = Double(a.count)
      let ma = a.reduce(0) { $0 + Double($1) } / n
      let mb = b.reduce(0) { $0 + Double($1) } / n
      var sab = 0.0
      var saa = 0.0
      var sbb = 0.0
      for i in a.indices {
        let x = Double(a[i]) - ma
        let y = Double(b[i]) - mb
        sab += x * y
        saa += x * x
        sbb += y * y
      }
      return sab / (saa * sbb).squareRoot()
    }
    #expect(abs(correlation(t.s2, t.s1)) < 0.05)
    #expect(abs(correlation(t.s2, t.scatterers)) < 0.05)
  }

  @Test func decoupledPresetDrivesS1FromAnotherLandscape() {
    let tile = FixtureWorldConfig(tiles: 1, size: 128, seed: 5).plan()[0]
    let base = FixtureWorld.landscapes(for: tile, preset: .base)
    #expect(base.s1.classes == base.s2.classes)
    let decoupled = FixtureWorld.landscapes(for: tile, preset: .decoupled)
    #expect(decoupled.s2.classes == base.s2.classes, "labels and S2 unchanged")
    let agree = zip(decoupled.s1.classes, decoupled.s2.classes).filter { $0 == $1 }.count
    #expect(Double(agree) / Double(decoupled.s1.classes.count) < 0.5)
  }

  @Test func heavyNuisancePresetIsCloudierAndNoisier() {
    func meanCloud(_ preset: WorldPreset) -> Double {
      let plans = FixtureWorldConfig(tiles: 16, size: 64, dates: 6, seed: 1, preset: preset).plan()
      let all = plans.flatMap { $0.s2.map(\.cloudTarget) }
      return all.reduce(0, +) / Double(all.count)
    }
    #expect(meanCloud(.heavyNuisance) > meanCloud(.base) * 1.3)
    #expect(WorldPreset.heavyNuisance.nuisance.looks < WorldPreset.base.nuisance.looks)
  }

  @Test func floodDateHasMoreWaterThanBefore() throws {
    let world = SmallWorlds.flood
    for tile in world.summary.tiles {
      let peak = tile.floodPeakDay!
      let before = tile.acquisitionDays.filter { $0 < peak }
      #expect(!before.isEmpty)
      func fraction(_ day: Int) throws -> Double {
        let id = "water-\(tile.id)-\(CivilDate(day: day).compact)"
        let mask = try TIFFInspector(path: "\(world.dir)/labels/\(id)/water.tif").values(
          as: UInt8.self)
        let f = Double(mask.filter { $0 == 1 }.count) / Double(mask.count)
        #expect(abs(f - world.summary.waterFraction[id]!) < 1e-9)
        return f
      }
      let peakFraction = try fraction(peak)
      for day in before {
        #expect(try peakFraction > fraction(day) + 0.03, "tile \(tile.id)")
      }
    }
  }

  @Test func cloudCoverEqualsTheSCLMaskFraction() throws {
    let world = SmallWorlds.flood
    var cloudy = 0
    for (id, cover) in world.summary.cloudCover {
      let dir = "\(world.dir)/sentinel-2-l2a/\(id)"
      let scl = try TIFFInspector(path: dir + "/SCL.tif").values(as: UInt8.self)
      let clouds = scl.filter { SceneClass(rawValue: $0)?.isCloud ?? false }.count
      let fraction = Double(clouds) / Double(scl.count) * 100
      let item = try loadJSON("\(dir)/\(id).json")
      let reported = (item["properties"] as! [String: Any])["eo:cloud_cover"] as! Double
      #expect(abs(reported - fraction) <= 0.005, "\(id)")
      #expect(reported == cover)
      if reported > 0 { cloudy += 1 }
    }
    #expect(cloudy >= 1)
  }

  @Test func perClassSensorMeansDifferAsDesigned() {
    let stats = Dictionary(
      uniqueKeysWithValues: SmallWorlds.flood.summary.classStatistics.map { ($0.landCover, $0) })
    let water = stats[.water]!
    let forest = stats[.forest]!
    let urban = stats[.urban]!
    let bare = stats[.bare]!
    let crop = stats[.cropland]!
    // S1: water very dark, urban bright, vegetation VH-rich (small VV−VH difference).
    for cls in [forest, urban, bare, crop, stats[.grassland]!] {
      #expect(water.s1MeanVVdB < cls.s1MeanVVdB - 6, "\(cls.landCover.name)")
      #expect(water.s1MeanVHdB < cls.s1MeanVHdB - 4, "\(cls.landCover.name)")
      #expect(urban.s1MeanVVdB >= cls.s1MeanVVdB, "\(cls.landCover.name)")
    }
    #expect(forest.s1MeanVHdB > bare.s1MeanVHdB + 5)
    #expect(forest.s1MeanVVdB - forest.s1MeanVHdB < bare.s1MeanVVdB - bare.s1MeanVHdB)
    // S2 (B02 B03 B04 B08 B11 B12): water darkest in NIR, vegetation NIR-bright, bare bright in SWIR.
    for cls in [forest, urban, bare, crop] {
      #expect(water.s2MeanReflectance[3] < cls.s2MeanReflectance[3] / 2)
    }
    #expect(forest.s2MeanReflectance[3] > 2 * forest.s2MeanReflectance[2])
    #expect(bare.s2MeanReflectance[4] > forest.s2MeanReflectance[4] + 1000)
    #expect(urban.s2MeanReflectance[0] > forest.s2MeanReflectance[0] + 400)
  }

  @Test func s1SpeckleHasTheDesignedNumberOfLooks() {
    // Equivalent number of looks from a homogeneous area: mean²/variance of linear intensity.
    let l = Landscape(size: 64, seed: 1)
    let uniform = Landscape(
      size: 64, classes: [UInt8](repeating: LandCover.bare.rawValue, count: 64 * 64),
      template: l)
    let a = S1Acquisition(
      day: 19_814, orbitState: "ascending", relativeOrbit: 1, incidenceWest: 37,
      incidenceEast: 37, moisture: 0, wind: 0)
    let zero = [Float](repeating: 0, count: 64 * 64)
    let scene = SensorModel.renderS1(
      landscape: uniform, water: [UInt8](repeating: 0, count: 64 * 64), texture: zero,
      scatterers: zero, acquisition: a, seed: 3, nuisance: WorldPreset.base.nuisance)
    let v = scene.vv.map(Double.init)
    let mean = v.reduce(0, +) / Double(v.count)
    let variance = v.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(v.count)
    let enl = mean * mean / variance
    #expect(abs(enl - 4.4) < 0.5, "ENL \(enl)")
  }
}

extension Landscape {
  /// A landscape with given classes and zero vigour/phase (for sensor-model tests).
  init(size: Int, classes: [UInt8], template: Landscape) {
    self = template
    self.size = size
    self.classes = classes
    self.vigor = [Float](repeating: 0, count: size * size)
    self.phase = [Float](repeating: 0, count: size * size)
  }
}
