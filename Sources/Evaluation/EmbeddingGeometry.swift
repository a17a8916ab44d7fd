import Fixtures
import Foundation
import Pairing
import Pipeline

/// Where the windows of one pair lie on the ground: the S1 reference grid (CRS, transform and the
/// pair's pixel window in it), from the pairing result.
struct PairGeometry: Sendable {
  /// `EPSG:n` of the S1 grid, as the pairing gave it.
  var crs: String?
  /// The S1 asset's `proj:transform` (north-up: `t[1] == t[3] == 0`).
  var transform: [Double]
  /// The pair's region in the S1 asset's pixel grid (column and row of its top-left pixel).
  var column: Int
  var row: Int
  /// S1 and S2 acquisition times (RFC 3339, as in the items).
  var s1Datetime: String
  var s2Datetime: String

  /// The geometry of `region` from the pair of the same S1/S2 items in `index`.
  init?(region: PairRegion, index: PairIndex) {
    guard
      let pair = index.pairs.first(where: {
        $0.s1.id == region.s1ID && $0.s2.id == region.s2ID && $0.grid == .aligned
      }), let reference = pair.s1.assets.first, let window = reference.window,
      let t = reference.transform, t.count >= 6
    else { return nil }
    crs = pair.crs
    transform = t
    column = window.x
    row = window.y
    s1Datetime = pair.s1.datetime
    s2Datetime = pair.s2.datetime
  }

  /// Bounds `[minX, minY, maxX, maxY]` in the CRS of the window at (`x`, `y`) (region pixels) of
  /// edge `size`.
  func crsBounds(x: Int, y: Int, size: Int) -> [Double] {
    let x0 = transform[2] + transform[0] * Double(column + x)
    let x1 = transform[2] + transform[0] * Double(column + x + size)
    let y0 = transform[5] + transform[4] * Double(row + y)
    let y1 = transform[5] + transform[4] * Double(row + y + size)
    return [min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)]
  }
}

/// Conversion of projected bounds to WGS 84 longitude/latitude.
enum GeographicBounds {
  /// The EPSG code of `EPSG:n` (case-insensitive), or nil.
  static func epsg(_ crs: String?) -> Int? {
    guard let crs, crs.uppercased().hasPrefix("EPSG:") else { return nil }
    return Int(crs.dropFirst(5))
  }

  /// `[west, south, east, north]` in degrees of `bounds` (`[minX, minY, maxX, maxY]` in `epsg`),
  /// or nil when the CRS is neither WGS 84 (4326) nor WGS 84 / UTM (326xx, 327xx). The corners
  /// and edge midpoints are projected, which is exact to well under a metre for windows of a few
  /// kilometres (UTM edges are nearly straight in longitude/latitude at that scale).
  static func wgs84(_ bounds: [Double], epsg: Int?) -> [Double]? {
    guard let epsg else { return nil }
    if epsg == 4326 { return bounds }
    guard UTM.zone(epsg: epsg) != nil else { return nil }
    var west = Double.infinity
    var south = Double.infinity
    var east = -Double.infinity
    var north = -Double.infinity
    for fx in [0.0, 0.5, 1] {
      for fy in [0.0, 0.5, 1] {
        let e = bounds[0] + fx * (bounds[2] - bounds[0])
        let n = bounds[1] + fy * (bounds[3] - bounds[1])
        guard let p = UTM.lonLat(easting: e, northing: n, epsg: epsg) else { return nil }
        west = min(west, p.lon)
        east = max(east, p.lon)
        south = min(south, p.lat)
        north = max(north, p.lat)
      }
    }
    return [west, south, east, north]
  }
}
