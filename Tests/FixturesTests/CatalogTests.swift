import Foundation
import STAC
import TandemTestSupport
import Testing

@testable import Fixtures

@Suite struct GeodesyTests {
  /// Reference lon/lat from GDAL/PROJ (`osr.CoordinateTransformation` EPSG:326xx/327xx →
  /// EPSG:4326, traditional GIS order), computed with GDAL 3.6 on Debian.
  static let reference: [(Int, Double, Double, Double, Double)] = [
    (32631, 440000, 5420000, 2.180826986488062, 48.93002126800774),
    (32631, 445120, 5414880, 2.2514114976300177, 48.88444216741597),
    (32631, 500000, 0, 2.9999999999999916, 0.0),
    (32631, 166021.44, 9329005.18, -23.582877786919788, 83.30591195526326),
    (32631, 833978.56, 5000000, 7.242999534693355, 45.07458857221825),
    (32631, 300000, 6500000, -0.4416996329998006, 58.594230091804185),
    (32632, 380000, 5330000, 7.387810163618971, 48.11194888628947),
    (32632, 383200, 5326800, 7.431660711589808, 48.083764159492404),
    (32632, 700000, 4000000, 11.222391385436563, 36.12409583213699),
    (32733, 500000, 9000000, 14.999999999999982, -9.046562463768952),
    (32733, 250000, 7000000, 12.478473097770523, -27.099834855243632),
  ]

  @Test func inverseUTMMatchesPROJToWellUnderAMetre() throws {
    for (epsg, e, n, lon, lat) in Self.reference {
      let p = try #require(UTM.lonLat(easting: e, northing: n, epsg: epsg))
      // 1e-8 degrees is about 1 mm.
      #expect(abs(p.lon - lon) < 1e-8, "\(epsg) \(e) \(n): lon \(p.lon) vs \(lon)")
      #expect(abs(p.lat - lat) < 1e-8, "\(epsg) \(e) \(n): lat \(p.lat) vs \(lat)")
    }
    #expect(UTM.lonLat(easting: 0, northing: 0, epsg: 4326) == nil)
    #expect(UTM.zone(epsg: 32733)! == (33, false))
  }

  @Test func civilDatesRoundTrip() {
    #expect(CivilDate(day: 0).iso == "1970-01-01")
    #expect(CivilDate(day: 19_814).iso == "2024-04-01")
    #expect(CivilDate(day: 19_814).dayOfYear == 92)
    #expect(CivilDate(day: 19_783).iso == "2024-03-01")
    #expect(CivilDate(day: 19_782).iso == "2024-02-29")
    #expect(CivilDate(day: 19_814).compact == "20240401")
  }
}

@Suite struct JSONValueTests {
  @Test func serializesOrderedKeysEscapesAndNumbers() {
    let v: JSONValue = .fields([
      ("b", 1), ("a", .string("q\"\\\n\u{1}é")), ("n", .number(0.1)), ("i", .number(10)),
      ("arr", [1, 2.5, .null, true]), ("empty", .fields([])),
    ])
    #expect(
      v.prettyPrinted() == """
        {
          "b": 1,
          "a": "q\\"\\\\\\n\\u0001é",
          "n": 0.1,
          "i": 10,
          "arr": [1, 2.5, null, true],
          "empty": {}
        }
        """)
    #expect(v["b"] == 1)
    #expect(v["missing"] == nil)
  }
}

@Suite struct CatalogTests {
  static func resolve(_ base: String, _ href: String) -> String {
    URL(fileURLWithPath: base).deletingLastPathComponent().appendingPathComponent(href)
      .standardizedFileURL.path
  }

  @Test func catalogLinksResolveAndItemsDescribeTheirFiles() throws {
    let world = SmallWorlds.flood
    let root = world.dir + "/catalog.json"
    let catalog = try loadJSON(root)
    #expect(catalog["type"] as? String == "Catalog")
    let children = (catalog["links"] as! [[String: Any]]).filter { $0["rel"] as? String == "child" }
    #expect(children.count == 3)
    var itemCount = 0
    var roles = Set<String>()
    for child in children {
      let collectionPath = Self.resolve(root, child["href"] as! String)
      let collection = try loadJSON(collectionPath)
      #expect(collection["type"] as? String == "Collection")
      for link in collection["links"] as! [[String: Any]] where link["rel"] as? String == "item" {
        let itemPath = Self.resolve(collectionPath, link["href"] as! String)
        let item = try loadJSON(itemPath)
        itemCount += 1
        let links = item["links"] as! [[String: Any]]
        for l in links {
          let target = Self.resolve(itemPath, l["href"] as! String)
          #expect(FileManager.default.fileExists(atPath: target), "\(itemPath): \(l)")
          if l["rel"] as? String == "root" {
            #expect(target == URL(fileURLWithPath: root).standardizedFileURL.path)
          }
        }
        let props = item["properties"] as! [String: Any]
        roles.insert(props["tandem:role"] as! String)
        let transform = props["proj:transform"] as! [Double]
        let epsg = props["proj:epsg"] as! Int
        let shape = props["proj:shape"] as! [Int]
        let bbox = item["bbox"] as! [Double]
        for (_, asset) in item["assets"] as! [String: [String: Any]] {
          let path = Self.resolve(itemPath, asset["href"] as! String)
          let tiff = try TIFFInspector(path: path)
          #expect(tiff.directories[0].width == shape[1] && tiff.directories[0].height == shape[0])
          #expect(tiff.tiepoint[3] == transform[2] && tiff.tiepoint[4] == transform[5])
          #expect(tiff.pixelScale[0] == transform[0] && -tiff.pixelScale[1] == transform[4])
          let keys = stride(from: 4, to: tiff.geoKeys.count, by: 4).map {
            (tiff.geoKeys[$0], tiff.geoKeys[$0 + 3])
          }
          #expect(keys.contains { $0 == (3072, UInt16(epsg)) })
        }
        // The bbox contains the footprint corners.
        let ring = ((item["geometry"] as! [String: Any])["coordinates"] as! [[[Double]]])[0]
        for p in ring {
          #expect(p[0] >= bbox[0] && p[0] <= bbox[2] && p[1] >= bbox[1] && p[1] <= bbox[3])
        }
        let corner = UTM.lonLat(easting: transform[2], northing: transform[5], epsg: epsg)!
        #expect(abs(ring[0][0] - corner.lon) < 1e-8 && abs(ring[0][1] - corner.lat) < 1e-8)
      }
    }
    let summary = world.summary
    #expect(itemCount == summary.s1Items + summary.s2Items + summary.labelItems)
    #expect(roles == ["pretrain", "probe-train", "test"])
  }

  @Test func itemsCarryTheSensorMetadata() throws {
    let world = SmallWorlds.flood
    let tile = world.summary.tiles[0]
    let s1 = "S1-\(tile.id)-\(CivilDate(day: tile.s1[0].day).compact)"
    let item = try loadJSON("\(world.dir)/sentinel-1-rtc/\(s1)/\(s1).json")
    let props = item["properties"] as! [String: Any]
    #expect(props["sar:polarizations"] as? [String] == ["VV", "VH"])
    #expect(props["sat:orbit_state"] as? String == tile.s1[0].orbitState)
    #expect((item["assets"] as! [String: Any]).keys.sorted() == ["vh", "vv"])
    #expect((item["stac_extensions"] as! [String]).contains(FixtureWorld.Extensions.sar))

    let s2 = "S2-\(tile.id)-\(CivilDate(day: tile.s2[0].day).compact)"
    let s2Item = try loadJSON("\(world.dir)/sentinel-2-l2a/\(s2)/\(s2).json")
    let assets = s2Item["assets"] as! [String: [String: Any]]
    #expect(Set(assets.keys) == ["B02", "B03", "B04", "B08", "B11", "B12", "SCL"])
    let bands = assets["B08"]!["eo:bands"] as! [[String: Any]]
    #expect(bands[0]["common_name"] as? String == "nir")

    let label = try loadJSON("\(world.dir)/labels/landcover-\(tile.id)/landcover-\(tile.id).json")
    let labelProps = label["properties"] as! [String: Any]
    #expect(labelProps["label:type"] as? String == "raster")
    let sources = (label["links"] as! [[String: Any]]).filter { $0["rel"] as? String == "source" }
    #expect(sources.count == tile.s1.count + tile.s2.count)
  }
}

@Suite struct FixturesCLITests {
  static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent().path
  static let binary: String? = TandemCLI.binary

  static func run(_ args: [String]) throws -> (status: Int32, out: String, err: String) {
    let r = try TandemCLI.run(args)
    return (r.status, r.stdout, r.stderr)
  }

  @Test(.enabled(if: binary != nil)) func generatesAWorldAndPrintsJSON() throws {
    let dir = TemporaryDirectory("cli")
    defer { dir.cleanup() }
    let r = try Self.run([
      "fixtures", "--out", dir.path, "--tiles", "2", "--size", "64", "--dates", "2", "--flood",
      "--json",
    ])
    #expect(r.status == 0, "\(r.err)")
    let json = try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as! [String: Any]
    #expect(json["s1_items"] as? Int == 4)
    #expect(json["preset"] as? String == "base")
    #expect(FileManager.default.fileExists(atPath: dir.path + "/catalog.json"))
    #expect(r.err.contains("S2 S2-t00-"), "progress lines on stderr")
  }

  @Test(
    .enabled(if: binary != nil),
    arguments: [["--preset", "nope"], ["--size", "10"], ["--tiles", "x"], []])
  func badOptionsAreUsageErrors(extra: [String]) throws {
    let args = ["fixtures"] + (extra.isEmpty ? [] : ["--out", "/tmp/unused-tandem"]) + extra
    let r = try Self.run(args)
    #expect(r.status == 64, "\(args): \(r.err)")
    #expect(r.err.hasPrefix("error: "))
  }

  /// The committed world must be exactly what its documented command regenerates.
  @Test(
    .enabled(
      if: FileManager.default.fileExists(
        atPath: packageRoot + "/Catalogs/fixture-world/catalog.json")))
  func committedWorldRegeneratesByteIdentically() throws {
    let committed = Self.packageRoot + "/Catalogs/fixture-world"
    let catalog = try loadJSON(committed + "/catalog.json")
    let w = catalog["tandem:world"] as! [String: Any]
    let config = FixtureWorldConfig(
      tiles: w["tiles"] as! Int, size: w["size"] as! Int, dates: w["dates"] as! Int,
      seed: UInt64(w["seed"] as! Int), flood: w["flood"] as! Bool,
      preset: WorldPreset(rawValue: w["preset"] as! String)!)
    let dir = TemporaryDirectory("regen")
    defer { dir.cleanup() }
    try FixtureWorld.generate(config, to: dir.path)
    let files = listFiles(dir.path)
    #expect(files == listFiles(committed))
    for f in files {
      #expect(
        FileManager.default.contents(atPath: dir.path + "/" + f)
          == FileManager.default.contents(atPath: committed + "/" + f), "\(f)")
    }
  }
}
