import Foundation
import STAC
import Synchronization
import TandemBase

/// Per-class statistics of a generated world (what the sensors actually show for each class).
public struct ClassStatistics: Sendable {
  /// The class these figures describe.
  public var landCover: LandCover
  /// Fraction of all label pixels in this class (static land cover).
  public var fraction: Double
  /// 10·log10 of the mean linear backscatter over all S1 scenes, pixels whose water state on
  /// that date matches the class (flooded pixels count as water).
  public var s1MeanVVdB: Double
  /// The same for VH.
  public var s1MeanVHdB: Double
  /// Mean reflectance ×10000 per band (B02, B03, B04, B08, B11, B12) over cloud- and
  /// shadow-free S2 pixels.
  public var s2MeanReflectance: [Double]
}

/// What `FixtureWorld.generate` wrote.
public struct FixtureWorldSummary: Sendable {
  /// The configuration the world was generated from.
  public var config: FixtureWorldConfig
  /// The plan of every tile (role, seed, CRS, acquisitions).
  public var tiles: [TilePlan]
  /// Files written (COGs and JSON), relative to the output directory, sorted.
  public var files: [String]
  /// Bytes written in all.
  public var totalBytes: Int
  /// Items in the `sentinel-1-rtc` collection.
  public var s1Items: Int
  /// Items in the `sentinel-2-l2a` collection.
  public var s2Items: Int
  /// Items in the `labels` collection.
  public var labelItems: Int
  /// Per-class sensor statistics, in `LandCover` order.
  public var classStatistics: [ClassStatistics]
  /// `eo:cloud_cover` of every S2 item, by item id.
  public var cloudCover: [String: Double]
  /// Water fraction of every water-mask label item, by item id.
  public var waterFraction: [String: Double]

  /// The summary as JSON (for `tandem fixtures --json`).
  public var json: JSONValue {
    .fields(
      [
        ("tiles", .integer(config.tiles)), ("size", .integer(config.size)),
        ("dates", .integer(config.dates)),
        ("seed", .integer(Int(config.seed))), ("flood", .bool(config.flood)),
        ("preset", .string(config.preset.rawValue)),
      ] + (config.version == .v1 ? [] : [("version", .integer(config.version.rawValue))]) + [
        ("files", .integer(files.count)),
        ("bytes", .integer(totalBytes)), ("s1_items", .integer(s1Items)),
        ("s2_items", .integer(s2Items)),
        ("label_items", .integer(labelItems)),
        (
          "tile_roles",
          .fields(tiles.map { ($0.id, .string($0.role.rawValue)) })
        ),
        (
          "class_statistics",
          .array(
            classStatistics.map { s in
              .fields([
                ("class", .string(s.landCover.name)),
                ("fraction", .number(Self.round(s.fraction, 4))),
                ("s1_vv_db", .number(Self.round(s.s1MeanVVdB, 2))),
                ("s1_vh_db", .number(Self.round(s.s1MeanVHdB, 2))),
                ("s2_mean", .array(s.s2MeanReflectance.map { .number(Self.round($0, 0)) })),
              ])
            })
        ),
        (
          "cloud_cover",
          .fields(cloudCover.sorted { $0.key < $1.key }.map { ($0.key, .number($0.value)) })
        ),
        (
          "water_fraction",
          .fields(
            waterFraction.sorted { $0.key < $1.key }.map {
              ($0.key, .number(Self.round($0.value, 4)))
            })
        ),
      ])
  }

  static func round(_ v: Double, _ digits: Int) -> Double {
    guard v.isFinite else { return 0 }
    let p = pow(10, Double(digits))
    return (v * p).rounded() / p
  }
}

/// Generates the procedural Sentinel-1/Sentinel-2 fixture world: per tile a landscape, S2 L2A-like
/// and S1 RTC-like scenes driven by it, label rasters, all written as COGs with a static STAC
/// catalog (`catalog.json` → collections `sentinel-1-rtc`, `sentinel-2-l2a`, `labels` → items).
///
/// Shared between the sensors: land cover, flooding, vegetation vigour and crop calendar.
/// Not shared: every texture and noise field (S2 reflectance texture, S1 backscatter texture and
/// urban scatterers, speckle, clouds, haze, illumination, incidence angle) has its own stream,
/// so a model cannot match S1 to S2 by a common fine pattern instead of by semantics.
public enum FixtureWorld {
  /// Collection id (and folder) of the Sentinel-1 items.
  public static let s1Collection = "sentinel-1-rtc"
  /// Collection id (and folder) of the Sentinel-2 items.
  public static let s2Collection = "sentinel-2-l2a"
  /// Collection id (and folder) of the label items.
  public static let labelCollection = "labels"

  /// Builds the landscape(s) of a tile: the one S2 and the labels observe, and the one S1
  /// observes (the same unless the preset is `decoupled`).
  public static func landscapes(
    for tile: TilePlan, preset: WorldPreset
  ) -> (
    s2: Landscape, s1: Landscape
  ) {
    let main = Landscape(size: tile.size, seed: tile.seed, version: tile.version)
    if preset == .decoupled {
      return (
        main, Landscape(size: tile.size, seed: tile.seed ^ 0x5DEC_0C1E_D000, version: tile.version)
      )
    }
    return (main, main)
  }

  /// Generates the world described by `config` under `directory` (created if needed). Existing
  /// files with the same names are replaced atomically. `progress` receives one line per scene.
  @discardableResult
  public static func generate(
    _ config: FixtureWorldConfig, to directory: String,
    progress: @Sendable (String) -> Void = { _ in }
  ) throws(FixturesError) -> FixtureWorldSummary {
    try config.validate()
    let plans = config.plan()
    let nuisance = config.preset.nuisance
    // Tiles are independent (own seeds, own files): render them in parallel, then merge in tile
    // order so the catalog does not depend on scheduling.
    let outputs = Mutex<[Int: Result<TileOutput, FixturesError>]>([:])
    DispatchQueue.concurrentPerform(iterations: plans.count) { k in
      let result: Result<TileOutput, FixturesError>
      do throws(FixturesError) {
        result = .success(
          try renderTile(
            plans[k], config: config, nuisance: nuisance, root: directory, progress: progress))
      } catch {
        result = .failure(error)
      }
      outputs.withLock { $0[k] = result }
    }
    var writer = OutputWriter(root: directory)
    var s1Items: [ItemEntry] = []
    var s2Items: [ItemEntry] = []
    var labelItems: [ItemEntry] = []
    var stats = StatisticsAccumulator()
    var cloudCover: [String: Double] = [:]
    var waterFraction: [String: Double] = [:]
    let collected = outputs.withLock { $0 }
    for k in plans.indices {
      switch collected[k]! {
      case .failure(let error): throw error
      case .success(let out):
        s1Items += out.s1Items
        s2Items += out.s2Items
        labelItems += out.labelItems
        stats.merge(out.stats)
        cloudCover.merge(out.cloudCover) { a, _ in a }
        waterFraction.merge(out.waterFraction) { a, _ in a }
        writer.files += out.writer.files
        writer.bytes += out.writer.bytes
      }
    }

    // Collections and the root catalog.
    let all = [
      (
        s1Collection, "Sentinel-1 RTC-like (synthetic)",
        "Simulated Sentinel-1 IW GRD radiometrically terrain corrected backscatter (linear gamma nought, VV and VH) with gamma speckle and per-scene incidence angle and orbit direction.",
        s1Items
      ),
      (
        s2Collection, "Sentinel-2 L2A-like (synthetic)",
        "Simulated Sentinel-2 L2A surface reflectance ×10000 (B02, B03, B04, B08, B11, B12, 10 m) with phenology, illumination, haze, clouds, cloud shadows and a scene classification (SCL).",
        s2Items
      ),
      (
        labelCollection, "Labels (synthetic)",
        "Ground truth of the fixture world: static land cover per tile and a water mask per acquisition day (flood events included).",
        labelItems
      ),
    ]
    for (collectionID, title, description, items) in all {
      try writer.json(
        collectionJSON(
          id: collectionID, title: title, description: description,
          items: items.map { ($0.id, $0.json) }, config: config),
        "\(collectionID)/collection.json")
      for entry in items {
        try writer.json(entry.json, "\(collectionID)/\(entry.id)/\(entry.id).json")
      }
    }
    try writer.json(catalogJSON(config: config, plans: plans), "catalog.json")

    return FixtureWorldSummary(
      config: config, tiles: plans, files: writer.files.sorted(), totalBytes: writer.bytes,
      s1Items: s1Items.count, s2Items: s2Items.count, labelItems: labelItems.count,
      classStatistics: stats.result(), cloudCover: cloudCover,
      waterFraction: waterFraction)
  }

  typealias ItemEntry = (id: String, tile: TilePlan, json: JSONValue)

  /// Everything one tile produced.
  struct TileOutput: Sendable {
    var s1Items: [ItemEntry] = []
    var s2Items: [ItemEntry] = []
    var labelItems: [ItemEntry] = []
    var stats = StatisticsAccumulator()
    var cloudCover: [String: Double] = [:]
    var waterFraction: [String: Double] = [:]
    var writer: OutputWriter
  }

  /// Renders and writes one tile's scenes and labels; returns their STAC items.
  static func renderTile(
    _ tile: TilePlan, config: FixtureWorldConfig, nuisance: Nuisance, root: String,
    progress: @Sendable (String) -> Void
  ) throws(FixturesError) -> TileOutput {
    var out = TileOutput(writer: OutputWriter(root: root))
    var stats = StatisticsAccumulator()
    var s1Items: [ItemEntry] = []
    var s2Items: [ItemEntry] = []
    var labelItems: [ItemEntry] = []
    var cloudCover: [String: Double] = [:]
    var waterFraction: [String: Double] = [:]
    var writer = OutputWriter(root: root)
    let (landscape, s1Landscape) = landscapes(for: tile, preset: config.preset)
    let n = tile.size * tile.size
    let (s2Texture, s1Texture, scatterers) = sensorTextures(for: tile)
    let props = tileProperties(tile, config: config)
    let footprint = Footprint(tile: tile)
    stats.addLabels(landscape)

    // Sentinel-2.
    for (k, acquisition) in tile.s2.enumerated() {
      let date = CivilDate(day: acquisition.day)
      let id = "S2-\(tile.id)-\(date.compact)"
      let water = landscape.water(stage: tile.floodStage(day: acquisition.day))
      let sceneSeed = SeededGenerator(seed: tile.seed, stream: 200, UInt64(k)).stateWords[0]
      let scene = SensorModel.renderS2(
        landscape: landscape, water: water, texture: s2Texture, acquisition: acquisition,
        seed: sceneSeed, nuisance: nuisance)
      stats.addS2(landscape: landscape, water: water, scene: scene)
      var assets: [(String, JSONValue)] = []
      for (b, band) in S2Band.all.enumerated() {
        let file = "\(s2Collection)/\(id)/\(band.name).tif"
        try writer.cog(
          RasterImage(
            width: tile.size, height: tile.size, pixels: .uint16(scene.bands[b]), nodata: 0,
            geo: tile.geo, resampling: .average), file)
        assets.append(
          (
            band.name,
            .fields([
              ("href", .string("./\(band.name).tif")), ("type", .string(cogType)),
              ("title", .string("\(band.name) (\(band.commonName)) reflectance ×10000")),
              (
                "eo:bands",
                .array([
                  .fields([
                    ("name", .string(band.name)), ("common_name", .string(band.commonName)),
                    ("center_wavelength", .number(band.centerWavelength)),
                    ("full_width_half_max", .number(band.fullWidthHalfMax)),
                  ])
                ])
              ),
              ("roles", ["data", "reflectance"]),
            ])
          ))
      }
      try writer.cog(
        RasterImage(
          width: tile.size, height: tile.size, pixels: .uint8(scene.scl), nodata: 0,
          geo: tile.geo, resampling: .nearest), "\(s2Collection)/\(id)/SCL.tif")
      assets.append(
        (
          "SCL",
          .fields([
            ("href", "./SCL.tif"), ("type", .string(cogType)),
            (
              "title",
              "Scene classification map (SCL: 3 shadow, 4 vegetation, 5 not vegetated, 6 water, 8/9 cloud, 10 cirrus)"
            ),
            ("roles", ["data", "cloud"]),
          ])
        ))
      cloudCover[id] = scene.cloudCover
      let properties: [(String, JSONValue)] =
        [
          ("datetime", .string("\(date.iso)T10:56:21Z")), ("platform", "sentinel-2a"),
          ("constellation", "sentinel-2"), ("instruments", ["msi"]), ("gsd", 10),
          ("eo:cloud_cover", .number(scene.cloudCover)),
        ] + footprint.projProperties + props + [
          ("tandem:illumination_gain", .number(FixtureWorldSummary.round(acquisition.gain, 4))),
          ("tandem:haze", .number(FixtureWorldSummary.round(acquisition.haze, 4))),
          ("tandem:flood_stage", .number(tile.floodStage(day: acquisition.day))),
        ]
      s2Items.append(
        (
          id, tile,
          item(
            id: id, collection: s2Collection,
            extensions: [Extensions.eo, Extensions.proj], footprint: footprint,
            properties: properties, assets: assets, extraLinks: [])
        ))
      progress("S2 \(id) cloud cover \(scene.cloudCover)%")
    }

    // Sentinel-1.
    for (k, acquisition) in tile.s1.enumerated() {
      let date = CivilDate(day: acquisition.day)
      let id = "S1-\(tile.id)-\(date.compact)"
      let water = s1Landscape.water(stage: tile.floodStage(day: acquisition.day))
      let sceneSeed = SeededGenerator(seed: tile.seed, stream: 300, UInt64(k)).stateWords[0]
      let scene = SensorModel.renderS1(
        landscape: s1Landscape, water: water, texture: s1Texture, scatterers: scatterers,
        acquisition: acquisition, seed: sceneSeed, nuisance: nuisance)
      stats.addS1(landscape: s1Landscape, water: water, scene: scene)
      var assets: [(String, JSONValue)] = []
      for (key, values) in [("vv", scene.vv), ("vh", scene.vh)] {
        try writer.cog(
          RasterImage(
            width: tile.size, height: tile.size, pixels: .float32(values), nodata: -32768,
            geo: tile.geo, resampling: .average), "\(s1Collection)/\(id)/\(key).tif")
        assets.append(
          (
            key,
            .fields([
              ("href", .string("./\(key).tif")), ("type", .string(cogType)),
              (
                "title",
                .string("\(key.uppercased()): terrain-corrected gamma nought, linear power")
              ),
              ("roles", ["data"]),
            ])
          ))
      }
      let time = acquisition.orbitState == "ascending" ? "17:41:07Z" : "05:49:33Z"
      let properties: [(String, JSONValue)] =
        [
          ("datetime", .string("\(date.iso)T\(time)")), ("platform", "sentinel-1a"),
          ("constellation", "sentinel-1"), ("instruments", ["c-sar"]),
          ("sar:instrument_mode", "IW"), ("sar:frequency_band", "C"),
          ("sar:center_frequency", 5.405), ("sar:polarizations", ["VV", "VH"]),
          ("sar:product_type", "GRD"),
          ("sar:looks_equivalent_number", .number(nuisance.looks)),
          ("sat:orbit_state", .string(acquisition.orbitState)),
          ("sat:relative_orbit", .integer(acquisition.relativeOrbit)),
        ] + footprint.projProperties + props + [
          (
            "tandem:incidence_angle_west",
            .number(FixtureWorldSummary.round(acquisition.incidenceWest, 3))
          ),
          (
            "tandem:incidence_angle_east",
            .number(FixtureWorldSummary.round(acquisition.incidenceEast, 3))
          ),
          ("tandem:flood_stage", .number(tile.floodStage(day: acquisition.day))),
        ]
      s1Items.append(
        (
          id, tile,
          item(
            id: id, collection: s1Collection,
            extensions: [Extensions.sar, Extensions.sat, Extensions.proj], footprint: footprint,
            properties: properties, assets: assets, extraLinks: [])
        ))
      progress("S1 \(id) \(acquisition.orbitState)")
    }

    // Labels: static land cover and a water mask per acquisition day.
    let first = CivilDate(day: tile.acquisitionDays.first!).iso
    let last = CivilDate(day: tile.acquisitionDays.last!).iso
    let landcoverID = "landcover-\(tile.id)"
    try writer.cog(
      RasterImage(
        width: tile.size, height: tile.size, pixels: .uint8(landscape.classes),
        nodata: Double(LandCover.nodata), geo: tile.geo, resampling: .nearest),
      "\(labelCollection)/\(landcoverID)/landcover.tif")
    let classNames = JSONValue.fields(
      LandCover.allCases.map { (String($0.rawValue), .string($0.name)) })
    labelItems.append(
      (
        landcoverID, tile,
        item(
          id: landcoverID, collection: labelCollection,
          extensions: [Extensions.label, Extensions.proj], footprint: footprint,
          properties: [
            ("datetime", .null), ("start_datetime", .string("\(first)T00:00:00Z")),
            ("end_datetime", .string("\(last)T23:59:59Z")),
            ("label:properties", .null),
            ("label:description", "Static land cover (before any flood); 255 = nodata"),
            ("label:type", "raster"), ("label:tasks", ["segmentation", "classification"]),
            ("label:methods", ["automated"]),
            (
              "label:classes",
              [
                .fields([
                  ("name", "land_cover"),
                  ("classes", .array(LandCover.allCases.map { .integer(Int($0.rawValue)) })),
                ])
              ]
            ),
            ("tandem:class_names", classNames),
          ] + footprint.projProperties + props,
          assets: [
            (
              "landcover",
              .fields([
                ("href", "./landcover.tif"), ("type", .string(cogType)),
                ("title", "Land-cover classes (1 water … 6 bare)"),
                ("roles", ["labels", "labels-raster"]),
              ])
            )
          ],
          extraLinks: sourceLinks(tile: tile, days: nil))
      ))
    for day in tile.acquisitionDays {
      let date = CivilDate(day: day)
      let id = "water-\(tile.id)-\(date.compact)"
      let stage = tile.floodStage(day: day)
      let water = landscape.water(stage: stage)
      try writer.cog(
        RasterImage(
          width: tile.size, height: tile.size, pixels: .uint8(water), nodata: 255,
          geo: tile.geo, resampling: .nearest), "\(labelCollection)/\(id)/water.tif")
      let fraction = Double(water.reduce(0) { $0 + Int($1) }) / Double(n)
      waterFraction[id] = fraction
      labelItems.append(
        (
          id, tile,
          item(
            id: id, collection: labelCollection,
            extensions: [Extensions.label, Extensions.proj], footprint: footprint,
            properties: [
              ("datetime", .string("\(date.iso)T12:00:00Z")),
              ("label:properties", .null),
              (
                "label:description",
                "Water mask on this day (1 water incl. flooded land, 0 land, 255 nodata)"
              ),
              ("label:type", "raster"), ("label:tasks", ["segmentation"]),
              ("label:methods", ["automated"]),
              ("label:classes", [.fields([("name", "water"), ("classes", [0, 1])])]),
              ("tandem:flood_stage", .number(stage)),
              ("tandem:water_fraction", .number(FixtureWorldSummary.round(fraction, 6))),
            ] + footprint.projProperties + props,
            assets: [
              (
                "water",
                .fields([
                  ("href", "./water.tif"), ("type", .string(cogType)),
                  ("title", "Water mask"), ("roles", ["labels", "labels-raster"]),
                ])
              )
            ],
            extraLinks: sourceLinks(tile: tile, days: [day]))
        ))
    }
    progress("tile \(tile.id) (\(tile.role.rawValue), EPSG:\(tile.geo.epsg)) done")
    out.s1Items = s1Items
    out.s2Items = s2Items
    out.labelItems = labelItems
    out.stats = stats
    out.cloudCover = cloudCover
    out.waterFraction = waterFraction
    out.writer = writer
    return out
  }

  /// The sensors' own fine texture fields, each from its own random stream: S2 reflectance
  /// texture, S1 backscatter texture and S1 urban scatterers. Never shared across sensors.
  static func sensorTextures(for tile: TilePlan) -> (s2: [Float], s1: [Float], scatterers: [Float])
  {
    var s2RNG = SeededGenerator(seed: tile.seed, stream: 30)
    let s2 = NoiseField.fbm(width: tile.size, height: tile.size, cell: 6, octaves: 2, rng: &s2RNG)
    var s1RNG = SeededGenerator(seed: tile.seed, stream: 31)
    let s1 = NoiseField.fbm(width: tile.size, height: tile.size, cell: 5, octaves: 2, rng: &s1RNG)
    let scatterers = NoiseField.fbm(
      width: tile.size, height: tile.size, cell: 3, octaves: 1, rng: &s1RNG)
    return (s2, s1, scatterers)
  }

  static let cogType = "image/tiff; application=geotiff; profile=cloud-optimized"

  /// STAC extension schema URLs (the versions vendored under Tests/FixturesTests/Schemas).
  public enum Extensions {
    /// Electro-optical: `eo:bands`, `eo:cloud_cover`.
    public static let eo = "https://stac-extensions.github.io/eo/v1.0.0/schema.json"
    /// SAR: `sar:polarizations`, instrument mode, frequency band.
    public static let sar = "https://stac-extensions.github.io/sar/v1.0.0/schema.json"
    /// Satellite: `sat:orbit_state`, `sat:relative_orbit`.
    public static let sat = "https://stac-extensions.github.io/sat/v1.0.0/schema.json"
    /// Projection: `proj:epsg`, `proj:shape`, `proj:transform`.
    public static let proj = "https://stac-extensions.github.io/projection/v1.0.0/schema.json"
    /// Label: `label:type`, `label:classes`, `label:tasks`.
    public static let label = "https://stac-extensions.github.io/label/v1.0.0/schema.json"
  }

  static func tileProperties(_ tile: TilePlan, config: FixtureWorldConfig) -> [(String, JSONValue)]
  {
    [
      ("tandem:tile", .string(tile.id)), ("tandem:role", .string(tile.role.rawValue)),
      ("tandem:seed", .integer(Int(tile.seed))), ("tandem:world_seed", .integer(Int(config.seed))),
      ("tandem:preset", .string(config.preset.rawValue)),
    ] + (config.version == .v1 ? [] : [("tandem:world_version", .integer(config.version.rawValue))])
  }

  /// `source` links from a label item to the imagery items of the same tile (on `days`, or all).
  static func sourceLinks(tile: TilePlan, days: Set<Int>?) -> [JSONValue] {
    var links: [JSONValue] = []
    for a in tile.s1 where days?.contains(a.day) ?? true {
      let id = "S1-\(tile.id)-\(CivilDate(day: a.day).compact)"
      links.append(link("source", "../../\(s1Collection)/\(id)/\(id).json", title: id))
    }
    for a in tile.s2 where days?.contains(a.day) ?? true {
      let id = "S2-\(tile.id)-\(CivilDate(day: a.day).compact)"
      links.append(link("source", "../../\(s2Collection)/\(id)/\(id).json", title: id))
    }
    return links
  }

  static func link(_ rel: String, _ href: String, title: String? = nil) -> JSONValue {
    var members: [(String, JSONValue)] = [
      ("rel", .string(rel)), ("href", .string(href)), ("type", "application/json"),
    ]
    if let title { members.append(("title", .string(title))) }
    return .fields(members)
  }

  static func item(
    id: String, collection: String, extensions: [String], footprint: Footprint,
    properties: [(String, JSONValue)], assets: [(String, JSONValue)], extraLinks: [JSONValue]
  ) -> JSONValue {
    .fields([
      ("type", "Feature"), ("stac_version", "1.0.0"),
      ("stac_extensions", .array(extensions.map { .string($0) })),
      ("id", .string(id)), ("collection", .string(collection)),
      ("geometry", footprint.geometry), ("bbox", footprint.bboxJSON),
      ("properties", .fields(properties)),
      (
        "links",
        .array(
          [
            link("root", "../../catalog.json"), link("parent", "../collection.json"),
            link("collection", "../collection.json"),
          ] + extraLinks)
      ),
      ("assets", .fields(assets)),
    ])
  }

  static func collectionJSON(
    id: String, title: String, description: String, items: [(String, JSONValue)],
    config: FixtureWorldConfig
  ) -> JSONValue {
    var west = 180.0
    var south = 90.0
    var east = -180.0
    var north = -90.0
    var times: [String] = []
    for (_, item) in items {
      if let b = item["bbox"]?.arrayValue?.compactMap(\.doubleValue), b.count == 4 {
        let (w, s, e, n) = (b[0], b[1], b[2], b[3])
        west = min(west, w)
        south = min(south, s)
        east = max(east, e)
        north = max(north, n)
      }
      for key in ["datetime", "start_datetime", "end_datetime"] {
        if let t = item["properties"]?[key]?.stringValue { times.append(t) }
      }
    }
    times.sort()
    return .fields([
      ("type", "Collection"), ("stac_version", "1.0.0"), ("stac_extensions", []),
      ("id", .string(id)), ("title", .string(title)), ("description", .string(description)),
      ("license", "CC0-1.0"),
      (
        "extent",
        .fields([
          (
            "spatial",
            .fields([
              (
                "bbox",
                .array([.array([.number(west), .number(south), .number(east), .number(north)])])
              )
            ])
          ),
          (
            "temporal",
            .fields([
              (
                "interval",
                .array([.array([.string(times.first ?? ""), .string(times.last ?? "")])])
              )
            ])
          ),
        ])
      ),
      (
        "links",
        .array(
          [link("root", "../catalog.json"), link("parent", "../catalog.json")]
            + items.map { link("item", "./\($0.0)/\($0.0).json") })
      ),
    ])
  }

  static func catalogJSON(config: FixtureWorldConfig, plans: [TilePlan]) -> JSONValue {
    .fields([
      ("type", "Catalog"), ("stac_version", "1.0.0"), ("stac_extensions", []),
      ("id", "tandem-fixture-world"), ("title", "Tandem fixture world"),
      (
        "description",
        .string(
          "Procedural Sentinel-1/Sentinel-2 world for offline tests and experiments (seed \(config.seed), preset \(config.preset.rawValue), \(config.tiles) tiles of \(config.size)² px, \(config.dates) dates per sensor\(config.flood ? ", with a flood event" : ""))."
        )
      ),
      (
        "tandem:world",
        .fields(
          [
            ("seed", .integer(Int(config.seed))), ("preset", .string(config.preset.rawValue)),
            ("tiles", .integer(config.tiles)), ("size", .integer(config.size)),
            ("dates", .integer(config.dates)), ("flood", .bool(config.flood)),
          ] + (config.version == .v1 ? [] : [("version", .integer(config.version.rawValue))]) + [
            (
              "tile_roles",
              .fields(
                plans.map {
                  (
                    $0.id,
                    .fields([
                      ("role", .string($0.role.rawValue)), ("seed", .integer(Int($0.seed))),
                      ("epsg", .integer($0.geo.epsg)),
                    ])
                  )
                })
            )
          ])
      ),
      (
        "links",
        .array([
          link("root", "./catalog.json"),
          link("child", "./\(s1Collection)/collection.json", title: "Sentinel-1 RTC-like"),
          link("child", "./\(s2Collection)/collection.json", title: "Sentinel-2 L2A-like"),
          link("child", "./\(labelCollection)/collection.json", title: "Labels"),
        ])
      ),
    ])
  }
}

/// A tile's footprint: lon/lat polygon and bbox (edges densified so the bbox contains the whole
/// projected rectangle) and its `proj:*` fields.
struct Footprint {
  var geometry: JSONValue
  var bbox: [Double]
  var projProperties: [(String, JSONValue)]

  var bboxJSON: JSONValue { .array(bbox.map { .number($0) }) }

  init(tile: TilePlan) {
    let g = tile.geo
    let extent = Double(tile.size) * g.pixelSize
    let minX = g.originX
    let maxX = g.originX + extent
    let maxY = g.originY
    let minY = g.originY - extent
    func ll(_ x: Double, _ y: Double) -> (Double, Double) {
      let p = UTM.lonLat(easting: x, northing: y, epsg: g.epsg)!
      return (Self.round(p.lon), Self.round(p.lat))
    }
    // Counter-clockwise exterior ring (RFC 7946): UL, LL, LR, UR, UL.
    let ring = [ll(minX, maxY), ll(minX, minY), ll(maxX, minY), ll(maxX, maxY), ll(minX, maxY)]
    geometry = .fields([
      ("type", "Polygon"),
      ("coordinates", .array([.array(ring.map { .array([.number($0.0), .number($0.1)]) })])),
    ])
    var lons: [Double] = []
    var lats: [Double] = []
    let steps = 8
    for k in 0...steps {
      let t = Double(k) / Double(steps)
      for (x, y) in [
        (minX + t * extent, minY), (minX + t * extent, maxY), (minX, minY + t * extent),
        (maxX, minY + t * extent),
      ] {
        let p = ll(x, y)
        lons.append(p.0)
        lats.append(p.1)
      }
    }
    bbox = [lons.min()!, lats.min()!, lons.max()!, lats.max()!]
    projProperties = [
      ("proj:epsg", .integer(g.epsg)), ("proj:shape", [.integer(tile.size), .integer(tile.size)]),
      ("proj:transform", .array(g.affine.map { .number($0) })),
    ]
  }

  /// Nine decimals of a degree (0.1 mm): exact enough, and stable text.
  static func round(_ v: Double) -> Double { (v * 1e9).rounded() / 1e9 }
}

/// Accumulates per-class sensor statistics across scenes.
struct StatisticsAccumulator {
  var s1Sum = [[Double]](repeating: [0, 0], count: 7)
  var s1Count = [Int](repeating: 0, count: 7)
  var s2Sum = [[Double]](repeating: [Double](repeating: 0, count: 6), count: 7)
  var s2Count = [Int](repeating: 0, count: 7)
  var labelCount = [Int](repeating: 0, count: 7)
  var labelTotal = 0

  /// The class a sensor sees at pixel `i`: water where flooded.
  @inline(__always)
  static func effectiveClass(_ landscape: Landscape, _ water: [UInt8], _ i: Int) -> Int {
    water[i] == 1 ? Int(LandCover.water.rawValue) : Int(landscape.classes[i])
  }

  mutating func addS2(landscape: Landscape, water: [UInt8], scene: S2Scene) {
    for i in 0..<scene.scl.count {
      let s = scene.scl[i]
      guard s != SceneClass.cloudShadow.rawValue, !(SceneClass(rawValue: s)?.isCloud ?? false)
      else { continue }
      let c = Self.effectiveClass(landscape, water, i)
      for b in 0..<6 { s2Sum[c][b] += Double(scene.bands[b][i]) }
      s2Count[c] += 1
    }
  }

  mutating func addLabels(_ landscape: Landscape) {
    for c in landscape.classes { labelCount[Int(c)] += 1 }
    labelTotal += landscape.classes.count
  }

  mutating func addS1(landscape: Landscape, water: [UInt8], scene: S1Scene) {
    for i in 0..<scene.vv.count {
      let c = Self.effectiveClass(landscape, water, i)
      s1Sum[c][0] += Double(scene.vv[i])
      s1Sum[c][1] += Double(scene.vh[i])
      s1Count[c] += 1
    }
  }

  func result() -> [ClassStatistics] {
    LandCover.allCases.map { cls in
      let c = Int(cls.rawValue)
      let s1n = Double(max(s1Count[c], 1))
      let s2n = Double(max(s2Count[c], 1))
      return ClassStatistics(
        landCover: cls, fraction: Double(labelCount[c]) / Double(max(labelTotal, 1)),
        s1MeanVVdB: 10 * log10(max(s1Sum[c][0] / s1n, 1e-12)),
        s1MeanVHdB: 10 * log10(max(s1Sum[c][1] / s1n, 1e-12)),
        s2MeanReflectance: s2Sum[c].map { $0 / s2n })
    }
  }
}

/// Writes files under the output root atomically and keeps count.
struct OutputWriter {
  var root: String
  var files: [String] = []
  var bytes = 0

  mutating func cog(_ image: RasterImage, _ relative: String) throws(FixturesError) {
    let path = root + "/" + relative
    let data = try COGWriter.encode(image, name: path)
    try put(data, relative)
  }

  mutating func json(_ value: JSONValue, _ relative: String) throws(FixturesError) {
    try put(Array((value.prettyPrinted() + "\n").utf8), relative)
  }

  mutating func put(_ data: [UInt8], _ relative: String) throws(FixturesError) {
    let path = root + "/" + relative
    do {
      try AtomicFile.write(data, to: path)
    } catch {
      throw FixturesError(.write, path: path, reason: error.reason)
    }
    files.append(relative)
    bytes += data.count
  }
}

extension StatisticsAccumulator {
  /// Adds another accumulator's sums (tiles are accumulated separately, then merged).
  mutating func merge(_ other: StatisticsAccumulator) {
    for c in 0..<7 {
      for k in 0..<2 { s1Sum[c][k] += other.s1Sum[c][k] }
      for b in 0..<6 { s2Sum[c][b] += other.s2Sum[c][b] }
      s1Count[c] += other.s1Count[c]
      s2Count[c] += other.s2Count[c]
      labelCount[c] += other.labelCount[c]
    }
    labelTotal += other.labelTotal
  }
}
