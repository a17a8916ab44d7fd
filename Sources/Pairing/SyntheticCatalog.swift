import Foundation
import STAC
import TandemBase

/// Deterministic synthetic S1/S2 catalogs for tests and the pairing benchmark.
///
/// Items are spread over a region whose area grows with the item count (so the density, and
/// hence the number of pairs per item, stays constant as the catalog grows) and over a fixed
/// 90-day window. S2 items are 1°×1° tiles on an integer grid with a UTM-like grid in the zone
/// of their centre; S1 items are 2.5°×2° swaths at arbitrary positions. CRSs follow the UTM
/// zone, so neighbours across a zone border produce "different CRS" rejections like real data.
public enum SyntheticCatalog {
  /// `count` items, half S1 and half S2 (S1 first in each consecutive pair), from `seed`.
  public static func items(count: Int, seed: UInt64 = 1) -> [Item] {
    var rng = SeededGenerator(seed: seed)
    let latSpan = 60.0
    let lonSpan = min(340.0, max(4.0, 3.0 * Double(count) / 1000))
    let start = 1_704_067_200.0  // 2024-01-01T00:00:00Z
    let days = 90.0
    var items: [Item] = []
    items.reserveCapacity(count)
    for i in 0..<count {
      let isS1 = i % 2 == 0
      let time = start + rng.nextUnitDouble() * days * 86400
      let date = Date(timeIntervalSince1970: time)
      if isS1 {
        let w = -170 + rng.nextUnitDouble() * lonSpan
        let s = -30 + rng.nextUnitDouble() * latSpan
        let ring = [
          LonLat(w, s), LonLat(w + 2.5, s + 0.1), LonLat(w + 2.4, s + 2), LonLat(w - 0.1, s + 1.9),
        ]
        let proj = grid(west: w - 0.1, south: s, east: w + 2.5, north: s + 2, pixel: 10)
        var item = Item(
          id: "S1A_SYN_\(i)", collection: "sentinel-1-rtc", geometry: Geometry(ring: ring),
          bbox: BBox(west: w - 0.1, south: s, east: w + 2.5, north: s + 2), datetime: date,
          projection: proj,
          properties: [
            "datetime": .string(RFC3339.format(date)), "platform": .string("sentinel-1a"),
            "sar:polarizations": .array([.string("VV"), .string("VH")]),
            "sat:orbit_state": .string(i % 4 == 0 ? "ascending" : "descending"),
          ])
        item.properties.members += projFields(proj)
        item.assets = ["vv", "vh"].map {
          Asset(
            key: $0, href: "https://example.invalid/s1/\(i)/\($0).tif",
            type: "image/tiff; application=geotiff; profile=cloud-optimized", roles: ["data"])
        }
        items.append(item)
      } else {
        let w = (-170 + (rng.nextUnitDouble() * lonSpan).rounded(.down))
        let s = (-30 + (rng.nextUnitDouble() * latSpan).rounded(.down))
        let ring = [LonLat(w, s), LonLat(w + 1, s), LonLat(w + 1, s + 1), LonLat(w, s + 1)]
        let proj = grid(west: w, south: s, east: w + 1, north: s + 1, pixel: 10)
        let cloud = (rng.nextUnitDouble() * 100 * 100).rounded() / 100
        var item = Item(
          id: "S2A_SYN_\(i)", collection: "sentinel-2-l2a", geometry: Geometry(ring: ring),
          bbox: BBox(west: w, south: s, east: w + 1, north: s + 1), datetime: date,
          projection: proj,
          properties: [
            "datetime": .string(RFC3339.format(date)), "platform": .string("sentinel-2b"),
            "eo:cloud_cover": .double(cloud),
          ])
        item.properties.members += projFields(proj)
        item.assets = ["B02", "B03", "B04", "B08"].map {
          Asset(
            key: $0, href: "https://example.invalid/s2/\(i)/\($0).tif",
            type: "image/tiff; application=geotiff; profile=cloud-optimized", roles: ["data"])
        }
        items.append(item)
      }
    }
    return items
  }

  /// The `proj:*` members for an item's properties.
  static func projFields(_ p: Projection) -> [JSONObject.Member] {
    [
      .init(key: "proj:epsg", value: .int(Int64(p.epsg!))),
      .init(key: "proj:transform", value: .array(p.transform!.map { .double($0) })),
      .init(key: "proj:shape", value: .array(p.shape!.map { .int(Int64($0)) })),
    ]
  }

  /// A UTM-like north-up grid covering a lon/lat box: the zone of the box centre, metres from
  /// an equirectangular approximation (good enough for synthetic, internally consistent data).
  static func grid(
    west: Double, south: Double, east: Double, north: Double, pixel: Double
  ) -> Projection {
    let centre = (west + east) / 2
    let zone = min(60, max(1, Int(((centre + 180) / 6).rounded(.down)) + 1))
    let meridian = Double(zone) * 6 - 183
    let epsg = (south + north) / 2 >= 0 ? 32600 + zone : 32700 + zone
    let falseNorthing = epsg > 32700 ? 10_000_000.0 : 0
    let k = 111_320.0 * cos((south + north) / 2 * Double.pi / 180)
    let x0 = ((500_000 + (west - meridian) * k) / pixel).rounded(.down) * pixel
    let x1 = ((500_000 + (east - meridian) * k) / pixel).rounded(.up) * pixel
    let y1 = ((falseNorthing + north * 110_540) / pixel).rounded(.up) * pixel
    let y0 = ((falseNorthing + south * 110_540) / pixel).rounded(.down) * pixel
    return Projection(
      epsg: epsg, code: "EPSG:\(epsg)", transform: [pixel, 0, x0, 0, -pixel, y1],
      shape: [Int((y1 - y0) / pixel), Int((x1 - x0) / pixel)])
  }
}
