import TandemBase

/// What a tile is used for; evaluation never sees pretraining locations.
public enum TileRole: String, Sendable, CaseIterable {
  case pretrain
  case probeTrain = "probe-train"
  case test

  var code: UInt64 {
    switch self {
    case .pretrain: 1
    case .probeTrain: 2
    case .test: 3
    }
  }
}

/// Parameters of a fixture world (what `tandem fixtures` takes on the command line).
public struct FixtureWorldConfig: Sendable, Hashable {
  /// Number of tiles (1…64). Roles: the first half pretrain, then probe-train and test.
  public var tiles: Int
  /// Tile edge in pixels (64…4096), 10 m pixels.
  public var size: Int
  /// Acquisitions per sensor per tile (1…24).
  public var dates: Int
  /// World seed (0…2^53−1, so it is exact in JSON).
  public var seed: UInt64
  /// Whether a flood event happens (at the middle Sentinel-1 date of each tile).
  public var flood: Bool
  /// Nuisance preset (and whether S1 is decoupled).
  public var preset: WorldPreset
  /// Appearance model (version 1: per-class spectra; version 2: shared materials, spatial
  /// structure carries the class).
  public var version: WorldVersion

  /// A configuration; call `validate()` before use (`FixtureWorld.generate` does).
  public init(
    tiles: Int = 4, size: Int = 512, dates: Int = 3, seed: UInt64 = 42, flood: Bool = false,
    preset: WorldPreset = .base, version: WorldVersion = .v1
  ) {
    self.tiles = tiles
    self.size = size
    self.dates = dates
    self.seed = seed
    self.flood = flood
    self.preset = preset
    self.version = version
  }

  /// Throws when a parameter is out of range.
  public func validate() throws(FixturesError) {
    func check(_ ok: Bool, _ option: String, _ reason: String) throws(FixturesError) {
      if !ok { throw FixturesError(.invalidConfiguration, path: option, reason: reason) }
    }
    try check((1...64).contains(tiles), "--tiles", "must be 1…64, got \(tiles)")
    try check((64...4096).contains(size), "--size", "must be 64…4096 pixels, got \(size)")
    try check((1...24).contains(dates), "--dates", "must be 1…24, got \(dates)")
    try check(seed < 1 << 53, "--seed", "must be below 2^53, got \(seed)")
  }
}

/// The plan of one tile: where it is, its role and seed, and its acquisitions.
public struct TilePlan: Sendable {
  /// Position of the tile in the world, from 0.
  public var index: Int
  /// `t00`, `t01`, …
  public var id: String
  /// What the tile is used for.
  public var role: TileRole
  /// The tile's world seed (48 bits), derived from the world seed, role and index.
  public var seed: UInt64
  /// CRS and grid of the tile.
  public var geo: GeoReference
  /// Edge length in pixels.
  public var size: Int
  /// Sentinel-1 acquisitions, in time order.
  public var s1: [S1Acquisition]
  /// Sentinel-2 acquisitions, in time order.
  public var s2: [S2Acquisition]
  /// Day of the flood peak (days since 1970-01-01), when the world has a flood.
  public var floodPeakDay: Int?
  /// The world's appearance model (it also sets the flood's time course).
  public var version: WorldVersion = .v1

  /// Flood stage in [0, 1] on `day`. Version 1: dry before the peak, full for two days,
  /// receding over eight. Version 2: rising over the two days before the peak, full for five
  /// days, receding over twelve (river floods last weeks, so S1/S2 pairs a few days apart
  /// mostly see the same water).
  public func floodStage(day: Int) -> Double {
    guard let peak = floodPeakDay else { return 0 }
    let dt = Double(day - peak)
    if version == .v2 {
      if dt <= -2 { return 0 }
      if dt < 0 { return (dt + 2) / 2 }
      if dt <= 4 { return 1 }
      return max(0, 1 - (dt - 4) / 12)
    }
    if dt < 0 { return 0 }
    if dt <= 1 { return 1 }
    return max(0, 1 - (dt - 1) / 8)
  }

  /// Every distinct acquisition day of either sensor, ascending.
  public var acquisitionDays: [Int] {
    Array(Set(s1.map(\.day) + s2.map(\.day))).sorted()
  }
}

extension FixtureWorldConfig {
  /// Roles of the tiles in order: half (at least one) pretrain, then probe-train, then test.
  public var roles: [TileRole] {
    let pretrain = max(1, tiles / 2)
    let rest = tiles - pretrain
    let probe = (rest + 1) / 2
    return (0..<tiles).map { i in
      i < pretrain ? .pretrain : (i < pretrain + probe ? .probeTrain : .test)
    }
  }

  /// The deterministic plan of every tile.
  public func plan() -> [TilePlan] {
    let nuisance = preset.nuisance
    let roles = roles
    let startDay = 19_814  // 2024-04-01
    return (0..<tiles).map { i in
      let role = roles[i]
      var seeder = SeededGenerator(seed: seed, stream: 100, role.code, UInt64(i))
      let tileSeed = seeder.next() & 0xFFFF_FFFF_FFFF
      var rng = SeededGenerator(seed: tileSeed, stream: 5)
      let extent = Double(size) * 10
      // All tiles but the last are in UTM 31N; the last (of two or more) is in UTM 32N so CRS
      // differences are exercised.
      let geo: GeoReference
      if tiles >= 2 && i == tiles - 1 {
        geo = GeoReference(epsg: 32632, originX: 380_000, originY: 5_330_000, pixelSize: 10)
      } else {
        geo = GeoReference(
          epsg: 32631, originX: 440_000 + Double(i) * (extent + 5_000),
          originY: 5_420_000 - Double(i % 2) * 30_000, pixelSize: 10)
      }
      let tileStart = startDay + 37 * i  // tiles sample different seasons
      let s1Offset = rng.int(in: 0...5)
      let s2Offset = rng.int(in: 0...4)
      let firstAscending = rng.next() & 1 == 0
      var s1: [S1Acquisition] = []
      for k in 0..<dates {
        let ascending = (k % 2 == 0) == firstAscending
        let theta0 = rng.uniform(31, 41)
        let span = nuisance.incidenceSpan
        s1.append(
          S1Acquisition(
            day: tileStart + s1Offset + 6 * k, orbitState: ascending ? "ascending" : "descending",
            relativeOrbit: ascending ? 88 + i : 37 + i,
            incidenceWest: ascending ? theta0 : theta0 + span,
            incidenceEast: ascending ? theta0 + span : theta0,
            moisture: rng.uniform(-0.5, 1) * nuisance.moistureSpread,
            wind: rng.uniform(-1.5, 4)))
      }
      var clouds = (0..<dates).map { _ in
        rng.nextUnitDouble() < nuisance.cloudyProbability
          ? rng.uniform(0.05, nuisance.maxCloud) : 0
      }
      if dates >= 2 {
        // At least one clear and one cloudy scene per tile.
        let clear = rng.int(in: 0...(dates - 1))
        clouds[clear] = 0
        if !clouds.contains(where: { $0 > 0 }) {
          clouds[(clear + 1) % dates] = rng.uniform(0.1, nuisance.maxCloud)
        }
      }
      var s2: [S2Acquisition] = []
      for k in 0..<dates {
        s2.append(
          S2Acquisition(
            day: tileStart + s2Offset + 5 * k,
            gain: 1 + rng.uniform(-1, 1) * nuisance.gainSpread,
            haze: rng.uniform(0.004, nuisance.hazeMax), cloudTarget: clouds[k],
            shadowShift: (-rng.int(in: 8...24), -rng.int(in: 8...24))))
      }
      return TilePlan(
        index: i, id: i < 10 ? "t0\(i)" : "t\(i)", role: role, seed: tileSeed, geo: geo,
        size: size, s1: s1, s2: s2, floodPeakDay: flood ? s1[dates / 2].day : nil,
        version: version)
    }
  }
}
