import Foundation
import Pairing
import STAC
import TandemBase
import Testing

let t0 = 1_700_000_000.0

func utm(
  _ epsg: Int = 32633, x0: Double = 500_000, y1: Double = 5_000_000, pixel: Double = 10,
  rows: Int = 1000, cols: Int = 1000
) -> Projection {
  Projection(epsg: epsg, transform: [pixel, 0, x0, 0, -pixel, y1], shape: [rows, cols])
}

func makeItem(
  _ id: String, s1: Bool, ring: [LonLat]? = nil, bbox: BBox? = nil, time: Double,
  cloud: Double? = 5,
  proj: Projection? = utm()
) -> Item {
  var props: JSONObject = ["datetime": .string(RFC3339.format(Date(timeIntervalSince1970: time)))]
  if !s1, let cloud { props["eo:cloud_cover"] = .double(cloud) }
  let keys = s1 ? ["vv", "vh"] : ["B02", "B03", "B04", "B08"]
  return Item(
    id: id, collection: s1 ? "sentinel-1-rtc" : "sentinel-2-l2a",
    geometry: ring.map { Geometry(ring: $0) },
    bbox: bbox, datetime: Date(timeIntervalSince1970: time), projection: proj ?? Projection(),
    properties: props, assets: keys.map { Asset(key: $0, href: "\(id)/\($0).tif") })
}

func square(_ w: Double, _ s: Double, _ size: Double = 1) -> [LonLat] {
  [LonLat(w, s), LonLat(w + size, s), LonLat(w + size, s + size), LonLat(w, s + size)]
}

@Suite struct FootprintTests {
  @Test func overlapOfShiftedSquares() throws {
    let a = try #require(Footprint(polygons: [[square(0, 0)]]))
    let b = try #require(Footprint(polygons: [[square(0.5, 0)]]))
    #expect(abs(a.intersectionArea(with: b) - 0.5) < 1e-12)
    #expect(abs(a.overlapFraction(with: b) - 0.5) < 1e-12)
    let small = try #require(Footprint(polygons: [[square(0.25, 0.25, 0.5)]]))
    #expect(abs(a.overlapFraction(with: small) - 1) < 1e-12)
    let far = try #require(Footprint(polygons: [[square(5, 5)]]))
    #expect(a.intersectionArea(with: far) == 0)
  }

  @Test func clockwiseRingsAndClosingVertex() throws {
    var cw = Array(square(0, 0).reversed())
    cw.append(cw[0])
    let a = try #require(Footprint(polygons: [[cw]]))
    #expect(abs(a.area - 1) < 1e-12)
  }

  @Test func antimeridianRingIsSplit() throws {
    // 179.5 … -179.5 (1° wide across the antimeridian).
    let ring = [
      LonLat(179.5, 0), LonLat(-179.5, 0), LonLat(-179.5, 1), LonLat(179.5, 1), LonLat(179.5, 0),
    ]
    let f = try #require(Footprint(polygons: [[ring]]))
    #expect(f.pieces.count == 2)
    #expect(abs(f.area - 1) < 1e-9)
    for b in f.bounds { #expect(b.minX >= -180 && b.maxX <= 180) }
    let box = try #require(Footprint(bbox: BBox(west: 179.8, south: 0, east: -179.8, north: 1)))
    #expect(box.pieces.count == 2)
    #expect(abs(box.area - 0.4) < 1e-9)
    #expect(abs(f.intersectionArea(with: box) - 0.4) < 1e-9)
  }

  @Test func realAntimeridianItem() throws {
    // stactools-sentinel2 T01WCP: MultiPolygon split at the antimeridian, bbox west > east.
    var d = STACDecoder(location: "t")
    let text =
      #"{"type":"Feature","id":"x","properties":{"datetime":"2020-01-01T00:00:00Z"},"bbox":[179.5,60,-179.5,61],"geometry":{"type":"MultiPolygon","coordinates":[[[[179.5,60],[180,60],[180,61],[179.5,61],[179.5,60]]],[[[-180,60],[-179.5,60],[-179.5,61],[-180,61],[-180,60]]]]}}"#
    guard case .item(let item) = try d.decodeDocument(bytes: Array(text.utf8)) else { return }
    let f = try #require(Footprint(item: item))
    #expect(f.pieces.count == 2)
    #expect(abs(f.area - 1) < 1e-9)
  }
}

@Suite struct PixelGridTests {
  @Test func windowsRoundInward() throws {
    let g = try PixelGrid.make(utm(x0: 500_000, y1: 5_000_000)).get()
    #expect(g.extent == Rect(minX: 500_000, minY: 4_990_000, maxX: 510_000, maxY: 5_000_000))
    let w = g.window(inside: Rect(minX: 500_005, minY: 4_995_000, maxX: 500_100, maxY: 4_999_991))
    #expect(w == PixelWindow(x: 1, y: 1, width: 9, height: 499))
    #expect(g.window(inside: Rect(minX: 600_000, minY: 0, maxX: 600_010, maxY: 10)) == nil)
  }

  @Test func missingAndRotated() {
    #expect((try? PixelGrid.make(Projection(epsg: 32633)).get()) == nil)
    let rotated = Projection(epsg: 32633, transform: [10, 1, 0, 0, -10, 0], shape: [10, 10])
    if case .failure(let p) = PixelGrid.make(rotated) {
      #expect(p == .rotated)
    } else {
      Issue.record("accepted")
    }
  }
}

@Suite struct PairingRuleTests {
  let params = PairingParameters(maxDays: 2, maxCloud: 20, minOverlap: 0.5)

  @Test(arguments: [(0.5, true), (0.4999, true), (0.51, false)])
  func overlapThreshold(_ shift: Double, _ expectPair: Bool) {
    // Shift 0.5 leaves exactly half of the smaller (equal) footprint shared.
    let items = [
      makeItem("s1", s1: true, ring: square(shift, 0), time: t0),
      makeItem("s2", s1: false, ring: square(0, 0), time: t0 + 3600),
    ]
    let index = Pairer(parameters: params).pair(items)
    #expect(index.pairs.count == (expectPair ? 1 : 0))
    if let p = index.pairs.first {
      #expect(abs(p.overlap - (1 - shift)) < 1e-9)
      #expect(abs(p.deltaHours - 1) < 1e-9)
    }
  }

  @Test(arguments: [(0.0, true), (1.0, false), (-1.0, true)])
  func deltaTExactlyAtMaxDays(_ extraSeconds: Double, _ expectPair: Bool) {
    for sign in [1.0, -1.0] {
      let dt = sign * (2 * 86400 + extraSeconds)
      let items = [
        makeItem("s1", s1: true, ring: square(0, 0), time: t0),
        makeItem("s2", s1: false, ring: square(0, 0), time: t0 + dt),
      ]
      let index = Pairer(parameters: params).pair(items)
      #expect(index.pairs.count == (expectPair ? 1 : 0), "dt=\(dt)")
    }
  }

  @Test func cloudFilterIsInclusive() {
    let items = [
      makeItem("s1", s1: true, ring: square(0, 0), time: t0),
      makeItem("ok", s1: false, ring: square(0, 0), time: t0, cloud: 20),
      makeItem("cloudy", s1: false, ring: square(0, 0), time: t0, cloud: 20.01),
      makeItem("unknown", s1: false, ring: square(0, 0), time: t0, cloud: nil),
    ]
    let index = Pairer(parameters: params).pair(items)
    #expect(index.pairs.map(\.s2.id) == ["ok"])
    #expect(index.skipped.map(\.id) == ["cloudy", "unknown"])
    #expect(index.skipped[0].reason == "eo:cloud_cover above the maximum (20.01 > 20.0)")
    let lax = Pairer(parameters: PairingParameters(maxDays: 2, maxCloud: 100, minOverlap: 0.5))
      .pair(items)
    #expect(lax.pairs.map(\.s2.id) == ["ok", "cloudy", "unknown"])
  }

  @Test func antimeridianPairs() {
    let s1Ring = [LonLat(179.5, 10), LonLat(-179.5, 10), LonLat(-179.5, 11), LonLat(179.5, 11)]
    let items = [
      makeItem("s1", s1: true, ring: s1Ring, time: t0),
      makeItem(
        "east", s1: false, bbox: BBox(west: -179.9, south: 10, east: -179.4, north: 11), time: t0),
      makeItem(
        "across", s1: false, bbox: BBox(west: 179.6, south: 10, east: -179.6, north: 11), time: t0),
      makeItem("greenwich", s1: false, ring: square(0, 10), time: t0),
    ]
    let index = Pairer(parameters: params).pair(items)
    #expect(index.pairs.map(\.s2.id) == ["east", "across"])
    #expect(abs(index.pairs[0].overlap - 0.8) < 1e-9)
    #expect(abs(index.pairs[1].overlap - 1) < 1e-9)
    #expect(Pairer(parameters: params).pairBruteForce(items).pairs == index.pairs)
  }

  @Test func differentCRSIsRejectedAndCounted() {
    let items = [
      makeItem("s1", s1: true, ring: square(0, 0), time: t0, proj: utm(32631)),
      makeItem("same", s1: false, ring: square(0, 0), time: t0, proj: utm(32631)),
      makeItem("other", s1: false, ring: square(0, 0), time: t0, proj: utm(32632)),
    ]
    let index = Pairer(parameters: params).pair(items)
    #expect(index.pairs.map(\.s2.id) == ["same"])
    #expect(index.rejected == ["different CRS": 1])
    #expect(index.pairs[0].crs == "EPSG:32631")
    #expect(index.pairs[0].grid == .aligned)
  }

  /// Asset rules selecting no S1 channel leave items without pixel grids: a rejected pair,
  /// where reading the first grid trapped.
  @Test func rulesSelectingNoChannelRejectThePair() {
    let items = [
      makeItem("s1", s1: true, ring: square(0, 0), time: t0),
      makeItem("s2", s1: false, ring: square(0, 0), time: t0),
    ]
    let pairer = Pairer(
      parameters: params, selector: AssetSelector(rules: AssetRules(polarizations: [])))
    let index = pairer.pair(items)
    #expect(index.pairs.isEmpty)
    #expect(index.rejected == ["no assets with a pixel grid": 1])
  }

  @Test func gridUnknownFallbackKeepsPairWithoutWindows() {
    let items = [
      makeItem("grd", s1: true, ring: square(0, 0), time: t0, proj: nil),
      makeItem("s2", s1: false, ring: square(0, 0), time: t0),
    ]
    let index = Pairer(parameters: params).pair(items)
    #expect(index.pairs.count == 1)
    #expect(index.pairs[0].grid == .unknown)
    #expect(index.pairs[0].s1.assets.allSatisfy { $0.window == nil })
    #expect(index.gridUnknownCount == 1)
  }

  @Test func pixelWindowsOfTheCommonFootprint() throws {
    // S1: 20 m grid from x=500000, 1000×1000 px; S2: 10 m grid from x=505000, 1000×1000 px.
    let items = [
      makeItem(
        "s1", s1: true, ring: square(0, 0), time: t0,
        proj: utm(x0: 500_000, y1: 5_000_000, pixel: 20)),
      makeItem(
        "s2", s1: false, ring: square(0, 0), time: t0,
        proj: utm(x0: 505_000, y1: 4_998_000, pixel: 10)),
    ]
    let pair = try #require(Pairer(parameters: params).pair(items).pairs.first)
    // Common: x 505000…515000, y 4988000…4998000.
    #expect(pair.commonBounds == [505_000, 4_988_000, 515_000, 4_998_000])
    #expect(
      pair.s1.assets.map(\.window)
        == Array(repeating: PixelWindow(x: 250, y: 100, width: 500, height: 500), count: 2))
    #expect(
      pair.s2.assets.map(\.window)
        == Array(repeating: PixelWindow(x: 0, y: 0, width: 1000, height: 1000), count: 4))
    #expect(pair.s1.assets.map(\.channel) == ["VV", "VH"])
    #expect(pair.s2.assets.map(\.channel) == ["B02", "B03", "B04", "B08"])
  }

  @Test func pairIndexIsCodable() throws {
    let items = SyntheticCatalog.items(count: 400, seed: 3)
    let index = Pairer(parameters: PairingParameters(maxDays: 5, maxCloud: 50, minOverlap: 0.05))
      .pair(items)
    #expect(!index.pairs.isEmpty)
    let data = try JSONEncoder().encode(index)
    #expect(try JSONDecoder().decode(PairIndex.self, from: data) == index)
    let text = String(decoding: try JSONEncoder().encode(index.pairs[0]), as: UTF8.self)
    #expect(text.contains("\"dt_hours\""))
    #expect(text.contains("\"window\""))
  }
}

@Suite struct PairingPropertyTests {
  /// Random catalogs with varied sizes, times, clouds, CRSs, missing grids and antimeridian
  /// footprints.
  static func randomCatalog(seed: UInt64, count: Int) -> [Item] {
    var rng = SeededGenerator(seed: seed)
    var items: [Item] = []
    for i in 0..<count {
      let s1 = rng.next() % 2 == 0
      let time = t0 + rng.nextUnitDouble() * 20 * 86400
      let size = 0.2 + rng.nextUnitDouble() * 2
      var w = -182 + rng.nextUnitDouble() * 12  // around the antimeridian and away from it
      if rng.next() % 2 == 0 { w += 180 }
      let s = -5 + rng.nextUnitDouble() * 10
      let epsg = 32600 + Int(rng.next() % 2) + 1
      let proj: Projection? =
        rng.next() % 7 == 0 ? nil : utm(epsg, x0: 500_000 + Double(rng.next() % 100) * 100)
      let cloud: Double? = rng.next() % 9 == 0 ? nil : (rng.nextUnitDouble() * 100).rounded()
      let east = w + size
      if rng.next() % 3 == 0 {
        // bbox only (wraps when it crosses 180).
        let west = w < -180 ? w + 360 : w
        let e = east > 180 ? east - 360 : east
        items.append(
          makeItem(
            "i\(i)", s1: s1, bbox: BBox(west: west, south: s, east: e, north: s + size), time: time,
            cloud: cloud, proj: proj))
      } else {
        var ring = [
          LonLat(w, s), LonLat(east, s + 0.1 * size), LonLat(east - 0.1, s + size),
          LonLat(w + 0.05, s + size * 0.9),
        ]
        ring = ring.map {
          LonLat($0.lon < -180 ? $0.lon + 360 : ($0.lon > 180 ? $0.lon - 360 : $0.lon), $0.lat)
        }
        items.append(makeItem("i\(i)", s1: s1, ring: ring, time: time, cloud: cloud, proj: proj))
      }
    }
    return items
  }

  @Test(arguments: Array(UInt64(1)...UInt64(12)))
  func indexedEqualsBruteForce(_ seed: UInt64) {
    let items = Self.randomCatalog(seed: seed, count: 150 + Int(seed) * 20)
    let params = PairingParameters(
      maxDays: [0.5, 2, 7][Int(seed % 3)], maxCloud: [30, 100][Int(seed % 2)],
      minOverlap: [0, 0.2, 0.6][Int(seed % 3)])
    let pairer = Pairer(parameters: params)
    let fast = pairer.pair(items)
    let slow = pairer.pairBruteForce(items)
    #expect(fast.pairs == slow.pairs)
    #expect(fast.rejected == slow.rejected)
    #expect(fast.skipped == slow.skipped)
    #expect(fast.candidates <= slow.candidates)
    #expect(!slow.pairs.isEmpty)
  }

  @Test func syntheticCatalogIndexedEqualsBruteForce() {
    let items = SyntheticCatalog.items(count: 3000, seed: 9)
    let pairer = Pairer(parameters: PairingParameters(maxDays: 3, maxCloud: 60, minOverlap: 0.1))
    let fast = pairer.pair(items)
    let slow = pairer.pairBruteForce(items)
    #expect(fast.pairs == slow.pairs)
    #expect(fast.rejected == slow.rejected)
    #expect(fast.pairs.count > 50)
    #expect(fast.candidates * 20 < slow.candidates)
  }
}

@Suite struct PairJSONTests {
  @Test func fastJSONMatchesJSONEncoder() throws {
    let items = SyntheticCatalog.items(count: 300, seed: 5)
    var pairs = Pairer(parameters: PairingParameters(maxDays: 5, maxCloud: 80, minOverlap: 0.05))
      .pair(items).pairs
    #expect(!pairs.isEmpty)
    // One pair with unknown grid and a header size too.
    var odd = pairs[0]
    odd.grid = .unknown
    odd.crs = nil
    odd.commonBounds = nil
    odd.s1.assets[0].window = nil
    odd.s1.assets[0].headerSize = 16384
    pairs.append(odd)
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    for p in pairs {
      let fast =
        try JSONSerialization.jsonObject(with: Data(p.jsonValue.serialized().utf8)) as? NSDictionary
      let slow = try JSONSerialization.jsonObject(with: try encoder.encode(p)) as? NSDictionary
      #expect(fast == slow)
      #expect(try JSONDecoder().decode(Pair.self, from: Data(p.jsonValue.serialized().utf8)) == p)
    }
  }
}

@Suite struct PairingRobustnessTests {
  @Test func hostileCoordinatesAndGridsDoNotTrap() {
    let huge = [LonLat(1e300, 0), LonLat(1e300 + 1e290, 0), LonLat(1e300, 1e290)]
    let items = [
      makeItem("s1", s1: true, ring: huge, time: t0),
      makeItem("s2", s1: false, ring: square(0, 0), time: t0),
      makeItem(
        "s2b", s1: false,
        ring: [LonLat(-1e308, -1e308), LonLat(1e308, -1e308), LonLat(1e308, 1e308)], time: t0),
      makeItem(
        "s1b", s1: true, ring: square(0, 0), time: t0,
        proj: Projection(epsg: 32633, transform: [1, 0], shape: [0, 5])),
    ]
    let pairer = Pairer(parameters: PairingParameters(maxDays: 1, maxCloud: 100, minOverlap: 0))
    let fast = pairer.pair(items)
    #expect(fast.pairs == pairer.pairBruteForce(items).pairs)
    #expect(fast.pairs.contains { $0.s1.id == "s1b" && $0.grid == .unknown })
  }
}
