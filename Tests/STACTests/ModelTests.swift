import Foundation
import STAC
import Testing

@Suite struct ModelTests {
  func decodeItems(_ file: String) throws -> [Item] {
    let (doc, _) = try Fixture.decode(file)
    switch doc {
    case .item(let i): return [i]
    case .itemCollection(let c): return c.items
    default: throw Unexpected.kind
    }
  }

  @Test func earthSearchS1GRD() throws {
    let item = try decodeItems("realdata/s1/earthsearch-s1-grd-S1A_EW_GRDM_20240325.json")[0]
    #expect(item.collection == "sentinel-1-grd")
    #expect(item.polarizations == ["HH", "HV"])
    #expect(item.orbitState == "descending")
    #expect(item.constellation == "sentinel-1")
    #expect(item.projection.epsg == 4326)
    #expect(item.projection.shape == [10309, 12777])
    #expect(item.projection.transform?.count == 6)
    #expect(item.datetime == RFC3339.parse("2024-03-25T09:47:33.662473Z")!.date)
    #expect(item.startDatetime != nil && item.endDatetime != nil)
    #expect(item.asset("hh")?.type?.contains("cloud-optimized") == true)
    // Unknown extension fields stay accessible.
    #expect(item.properties["s1:datatake_id"]?.stringValue == "421851")
  }

  @Test func earthSearchS2BandsAndProjCode() throws {
    let items = try decodeItems("realdata/s2/earth-search-s2-c1-l2a-10-items.json")
    #expect(items.count == 10)
    let red = try #require(items[0].asset("red"))
    #expect(red.bands == [Band(name: "B04", commonName: "red")])
    let p = items[0].projection(of: red)
    #expect(p.epsg == 32613)
    #expect(p.shape == [10980, 10980])
    #expect(p.transform == [10, 0, 399960, 0, -10, 4_500_000])
    #expect(items[0].cloudCover == 81.344962)
  }

  @Test func projCodeAndAntimeridianMultiPolygon() throws {
    let item = try decodeItems(
      "realdata/s2/stactools-sentinel2/S2A_MSIL1C_20200717T221941_R029_T01LAC_20200717T234135.json")[
        0]
    #expect(item.projection.epsg == 32701)
    #expect(item.projection.code == "EPSG:32701")
    #expect(item.geometry?.type == "MultiPolygon")
    #expect(item.geometry?.polygons.count == 2)
    #expect(item.bbox?.crossesAntimeridian == true)
  }

  @Test func bareArrayAndNDJSON() throws {
    #expect(try decodeItems("realdata/s1/pc-sentinel-1-rtc-items-array.json").count == 4)
    #expect(try decodeItems("realdata/s2/pc-sentinel-2-l2a-items-array.json").count == 4)
    #expect(try decodeItems("realdata/misc/rustac-items.ndjson").count == 2)
  }

  @Test func stac11BandsAndHeaderSize() throws {
    var d = STACDecoder(location: "mem.json")
    let text = """
      {"type":"Feature","stac_version":"1.1.0","id":"x","geometry":null,
       "properties":{"datetime":"2024-01-01T00:00:00+02:00"},
       "assets":{"b":{"href":"b.tif","bands":[{"name":"B08","eo:common_name":"nir"}],
                      "file:header_size":16384}},"links":[]}
      """
    guard case .item(let item) = try d.decodeDocument(bytes: Array(text.utf8)) else {
      throw Unexpected.kind
    }
    #expect(item.assets[0].bands == [Band(name: "B08", commonName: "nir")])
    #expect(item.assets[0].headerSize == 16384)
    #expect(item.datetime == RFC3339.parse("2023-12-31T22:00:00Z")!.date)
    #expect(item.resolvedHref(of: item.assets[0]) == "b.tif")
  }

  static let invalidItems: [(String, String, String)] = [
    (
      #"{"type":"Feature","id":"a","geometry":null,"properties":{}}"#, "missing field",
      "properties.datetime"
    ),
    (
      #"{"type":"Feature","id":"a","geometry":null,"properties":{"datetime":null,"start_datetime":"2020-01-01T00:00:00Z"}}"#,
      "missing field", "properties.datetime"
    ),
    (
      #"{"type":"Feature","id":"a","geometry":null,"properties":{"datetime":"2020-13-01T00:00:00Z"}}"#,
      "invalid value", "properties.datetime"
    ),
    (
      #"{"type":"Feature","id":"a","geometry":null,"bbox":[10,50,11],"properties":{"datetime":"2020-01-01T00:00:00Z"}}"#,
      "invalid value", "bbox"
    ),
    (
      #"{"type":"Feature","id":"a","geometry":null,"bbox":[10,51,11,50],"properties":{"datetime":"2020-01-01T00:00:00Z"}}"#,
      "invalid value", "bbox"
    ),
    (
      #"{"type":"Feature","id":"a","geometry":null,"properties":{"datetime":"2020-01-01T00:00:00Z"},"assets":{"vv":{"type":"image/tiff"}}}"#,
      "missing field", "assets.vv.href"
    ),
    (
      #"{"type":"Feature","id":"","geometry":null,"properties":{"datetime":"2020-01-01T00:00:00Z"}}"#,
      "invalid value", "id"
    ),
    (
      #"{"type":"Feature","id":"a","geometry":null,"properties":{"datetime":"2020-01-01T00:00:00Z","proj:epsg":"32633"}}"#,
      "invalid value", "properties.proj:epsg"
    ),
    (
      #"{"type":"Feature","id":"a","geometry":null,"properties":{"datetime":"2020-01-01T00:00:00Z","proj:transform":[1,2,3]}}"#,
      "invalid value", "properties.proj:transform"
    ),
    (
      #"{"type":"Feature","id":"a","geometry":{"type":"Polygon","coordinates":[[[0,0],[1,0]]]},"properties":{"datetime":"2020-01-01T00:00:00Z"}}"#,
      "invalid value", "geometry.coordinates[0]"
    ),
  ]

  @Test(arguments: invalidItems)
  func invalidItemsNameTheJSONPath(_ json: String, _ code: String, _ path: String) {
    var d = STACDecoder(location: "page.json")
    let collection =
      #"{"type":"FeatureCollection","features":[{"type":"Feature","id":"ok","geometry":null,"properties":{"datetime":"2020-01-01T00:00:00Z"}},"#
      + json + "]}"
    do throws(STACError) {
      _ = try d.decodeDocument(bytes: Array(collection.utf8))
      Issue.record("decoded")
    } catch {
      #expect(error.code.name == code)
      #expect(error.path?.description == "features[1]." + path)
      #expect(error.description.hasPrefix("page.json: features[1]."))
    }
  }

  @Test func skipInvalidItemsKeepsTheRest() throws {
    var d = STACDecoder(location: "page.json", options: DecodeOptions(skipInvalidItems: true))
    let text =
      #"[{"type":"Feature","id":"a","geometry":null,"properties":{}},{"type":"Feature","id":"b","geometry":null,"properties":{"datetime":"2020-01-01T00:00:00Z"}}]"#
    guard case .itemCollection(let c) = try d.decodeDocument(bytes: Array(text.utf8)) else {
      throw Unexpected.kind
    }
    #expect(c.items.map(\.id) == ["b"])
    #expect(c.skipped.count == 1)
    #expect(c.skipped[0].path == "[0].properties.datetime")
  }

  @Test func codableRoundTripKeepsExtensions() throws {
    let items = try decodeItems("realdata/s2/pc-two-sentinel-2-items.json")
    let data = try JSONEncoder().encode(items[0])
    let back = try JSONDecoder().decode(Item.self, from: data)
    #expect(back.id == items[0].id)
    #expect(back.datetime == items[0].datetime)
    #expect(back.assets.map(\.key).sorted() == items[0].assets.map(\.key).sorted())
    #expect(back.properties["s2:mgrs_tile"] == items[0].properties["s2:mgrs_tile"])
    #expect(back.projection == items[0].projection)
  }

  @Test func notSTAC() {
    var d = STACDecoder(location: "x.json")
    #expect(throws: STACError.self) {
      try d.decodeDocument(bytes: Array(#"{"type":"Point"}"#.utf8))
    }
    #expect(throws: STACError.self) { try d.decodeDocument(bytes: Array("42".utf8)) }
    #expect(throws: STACError.self) { try d.decodeDocument(bytes: Array("{\"a\":".utf8)) }
  }
}
