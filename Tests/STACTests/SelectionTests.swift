import Foundation
import STAC
import Testing

@Suite struct SelectionTests {
  func items(_ file: String) throws -> [Item] {
    let (doc, _) = try Fixture.decode(file)
    switch doc {
    case .item(let i): return [i]
    case .itemCollection(let c): return c.items
    default: return []
    }
  }

  /// (file, sensor, asset keys for the default channels) for real items that must be selected.
  static let selected: [(String, Sensor, [String])] = [
    ("realdata/s1/mspc-s1-rtc-S1A_IW_GRDH_20240325T055038_rtc.json", .sentinel1, ["vv", "vh"]),
    ("realdata/s1/mspc-s1-grd-S1A_IW_GRDH_20240325T055038.json", .sentinel1, ["vv", "vh"]),
    ("realdata/s1/pc-sentinel-1-rtc-items-array.json", .sentinel1, ["vv", "vh"]),
    ("realdata/s1/sar-ext-sentinel-1-grd-s4.json", .sentinel1, ["vv", "vh"]),
    ("realdata/s1/sar-ext-sentinel-1-slc-iw.json", .sentinel1, ["iw1-vv", "iw1-vh"]),
    (
      "realdata/catalogs/stactools-sentinel1/rtc/sentinel1-rtc-aws/2016/S1B_20161121_12SYJ_ASC/S1B_20161121_12SYJ_ASC.json",
      .sentinel1, ["gamma0_vv", "gamma0_vh"]
    ),
    (
      "realdata/s2/earth-search-s2-c1-l2a-10-items.json", .sentinel2,
      ["blue", "green", "red", "nir"]
    ),
    ("realdata/s2/pc-two-sentinel-2-items.json", .sentinel2, ["B02", "B03", "B04", "B08"]),
    (
      "realdata/s2/earth-search-v0-S2A_28QCH_20200714_0_L2A.json", .sentinel2,
      ["B02", "B03", "B04", "B08"]
    ),
    (
      "realdata/s2/stactools-sentinel2/S2A_MSIL1C_20200717T221941_R029_T01LAC_20200717T234135.json",
      .sentinel2, ["blue", "green", "red", "nir"]
    ),
  ]

  @Test(arguments: selected)
  func selectsRealAssets(_ file: String, _ sensor: Sensor, _ keys: [String]) throws {
    let all = try items(file)
    #expect(!all.isEmpty)
    for item in all {
      guard case .selected(let s, let assets) = AssetSelector().select(item) else {
        Issue.record("\(item.id) skipped: \(AssetSelector().select(item))")
        continue
      }
      #expect(s == sensor)
      #expect(assets.map(\.key) == keys)
      for a in assets { #expect(!a.href.isEmpty) }
    }
  }

  static let skipped: [(String, String)] = [
    (
      "realdata/s1/earthsearch-s1-grd-S1A_EW_GRDM_20240325.json",
      "S1 item lacks VV, VH (sar:polarizations: HH, HV)"
    ),
    ("realdata/s1/sar-ext-sentinel-1-grd-ew.json", "S1 item lacks VV, VH"),
    (
      "realdata/paging/earth-search-v1-fields.json",
      "S2 item lacks B02, B03, B04, B08 (assets: none)"
    ),
    (
      "realdata/paging/pc-aster-get-items-token.json",
      "not Sentinel-1 or Sentinel-2 (collection aster-l1t, platform terra)"
    ),
    ("realdata/paging/geodes-cnes-page.json", "S2 item lacks B02, B03, B04, B08"),
    ("realdata/catalogs/stac-spec-1.1.0-examples/core-item.json", "not Sentinel-1 or Sentinel-2"),
  ]

  @Test(arguments: skipped)
  func skipsWithReason(_ file: String, _ reason: String) throws {
    for item in try items(file) {
      guard case .skipped(let why) = AssetSelector().select(item) else {
        Issue.record("\(item.id) selected")
        continue
      }
      #expect(why.hasPrefix(reason), "\(why)")
    }
  }

  @Test func projectionComesFromAssetOverItem() throws {
    let item = try items("realdata/s2/pc-two-sentinel-2-items.json")[0]
    guard case .selected(_, let assets) = AssetSelector().select(item) else {
      throw Unexpected.kind
    }
    #expect(assets[0].projection.epsg == 32613)
    #expect(assets[0].projection.shape == [10980, 10980])
    #expect(assets[0].projection.transform?[0] == 10)
  }

  @Test func bandMatchingByEOBandsAndOverrides() throws {
    func asset(
      _ key: String, _ name: String?, _ common: String?, type: String = "image/tiff"
    ) -> Asset {
      Asset(key: key, href: key + ".tif", type: type, bands: [Band(name: name, commonName: common)])
    }
    var item = Item(id: "S2X", collection: "sentinel-2-l2a")
    item.assets = [
      asset("band-2", "B2", nil), asset("b3", nil, "green"),
      asset("red-jp2", "B04", "red", type: "image/jp2"),
      asset("red-cog", "B04", "red"), asset("eight", nil, "nir"), asset("8a", "B8A", "nir08"),
      Asset(
        key: "visual", href: "v.tif",
        bands: [Band(name: "B04", commonName: "red"), Band(name: "B03", commonName: "green")]),
    ]
    guard case .selected(_, let a) = AssetSelector().select(item) else { throw Unexpected.kind }
    #expect(a.map(\.key) == ["band-2", "b3", "red-cog", "eight"])
    #expect(a.map(\.matchedBy) == ["band name", "key", "band name", "common name"])

    let custom = AssetSelector(
      rules: AssetRules(bands: ["nir08", "b4"], overrides: ["B04": "visual"]))
    guard case .selected(_, let b) = custom.select(item) else { throw Unexpected.kind }
    #expect(b.map(\.channel) == ["B8A", "B04"])
    #expect(b.map(\.key) == ["8a", "visual"])
    #expect(b[1].matchedBy == "override")
  }

  @Test func s1ByAssetPolarizations() throws {
    var item = Item(
      id: "x",
      properties: JSONObject(["sar:polarizations": .array([.string("VV"), .string("VH")])]))
    item.assets = [
      Asset(key: "a", href: "a.tif", polarizations: ["VH"]),
      Asset(key: "b", href: "b.tif", polarizations: ["VV"]),
    ]
    guard case .selected(let s, let a) = AssetSelector().select(item) else { throw Unexpected.kind }
    #expect(s == .sentinel1)
    #expect(a.map(\.key) == ["b", "a"])
  }

  @Test(arguments: [
    ("B4", "B04"), ("b08", "B08"), ("B8A", "B8A"), ("nir", "B08"), ("swir16", "B11"), ("vh", "VH"),
    ("foo", "foo"),
  ])
  func canonicalBandNames(_ input: String, _ expected: String) {
    #expect(AssetRules.canonicalBand(input) == expected)
  }
}
