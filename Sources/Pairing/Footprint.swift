import STAC

/// An axis-aligned rectangle (lon/lat degrees or projected units).
public struct Rect: Sendable, Hashable, Codable {
  /// Smallest x.
  public var minX: Double
  /// Smallest y.
  public var minY: Double
  /// Largest x.
  public var maxX: Double
  /// Largest y.
  public var maxY: Double

  /// Creates a value from its parts.
  public init(minX: Double, minY: Double, maxX: Double, maxY: Double) {
    self.minX = minX
    self.minY = minY
    self.maxX = maxX
    self.maxY = maxY
  }

  /// The bounds of some points.
  public init(points: [LonLat]) {
    var r = Rect(minX: .infinity, minY: .infinity, maxX: -.infinity, maxY: -.infinity)
    for p in points {
      r.minX = min(r.minX, p.lon)
      r.maxX = max(r.maxX, p.lon)
      r.minY = min(r.minY, p.lat)
      r.maxY = max(r.maxY, p.lat)
    }
    self = r
  }

  /// Columns.
  public var width: Double { maxX - minX }
  /// Rows.
  public var height: Double { maxY - minY }
  /// Whether there are no members.
  public var isEmpty: Bool { !(maxX > minX && maxY > minY) }

  /// The overlap of two rectangles (may be empty).
  public func intersection(_ o: Rect) -> Rect {
    Rect(
      minX: max(minX, o.minX), minY: max(minY, o.minY), maxX: min(maxX, o.maxX),
      maxY: min(maxY, o.maxY))
  }

  /// Whether the rectangles share interior or boundary points.
  public func touches(_ o: Rect) -> Bool {
    minX <= o.maxX && o.minX <= maxX && minY <= o.maxY && o.minY <= maxY
  }

  /// `[minX, minY, maxX, maxY]`.
  public var array: [Double] { [minX, minY, maxX, maxY] }
}

/// An item's footprint in lon/lat as simple polygons (outer rings only; holes are ignored), each
/// lying within longitudes [-180, 180]. Rings that cross the antimeridian are split there, and a
/// bbox with `west > east` becomes two rectangles, so overlap tests never see a polygon that
/// wraps around the globe.
public struct Footprint: Sendable, Hashable {
  /// Counter-clockwise simple polygons (not closed: the last vertex is not repeated).
  public var pieces: [[LonLat]]
  /// Bounds of each piece.
  public var bounds: [Rect]
  /// Total planar area in square degrees.
  public var area: Double
  /// Convex hull of each piece (used as the clip polygon).
  var hulls: [[LonLat]]

  /// Builds a footprint from polygons (outer rings are used).
  public init?(polygons: [[[LonLat]]]) {
    var pieces: [[LonLat]] = []
    for polygon in polygons {
      guard let outer = polygon.first else { continue }
      pieces += Footprint.splitAtAntimeridian(Footprint.open(outer))
    }
    self.init(pieces: pieces)
  }

  /// Builds a footprint from a bbox (two rectangles when it crosses the antimeridian).
  public init?(bbox: BBox) {
    func rect(_ w: Double, _ e: Double) -> [LonLat] {
      [LonLat(w, bbox.south), LonLat(e, bbox.south), LonLat(e, bbox.north), LonLat(w, bbox.north)]
    }
    if bbox.crossesAntimeridian {
      self.init(pieces: [rect(bbox.west, 180), rect(-180, bbox.east)])
    } else {
      self.init(pieces: [rect(bbox.west, bbox.east)])
    }
  }

  /// The item's geometry (Polygon/MultiPolygon), else its bbox; `nil` when it has neither or
  /// they enclose no area.
  public init?(item: Item) {
    if let g = item.geometry, !g.polygons.isEmpty, let f = Footprint(polygons: g.polygons) {
      self = f
    } else if let b = item.bbox, let f = Footprint(bbox: b) {
      self = f
    } else {
      return nil
    }
  }

  init?(pieces raw: [[LonLat]]) {
    var pieces: [[LonLat]] = []
    var area = 0.0
    for p in raw where p.allSatisfy({ $0.lon.isFinite && $0.lat.isFinite }) {
      let a = Footprint.signedArea(p)
      guard abs(a) > 1e-12 else { continue }
      pieces.append(a < 0 ? p.reversed() : p)
      area += abs(a)
    }
    guard !pieces.isEmpty else { return nil }
    self.pieces = pieces
    self.bounds = pieces.map { Rect(points: $0) }
    self.area = area
    self.hulls = pieces.map { Footprint.convexHull($0) }
  }

  /// Bounds of all pieces.
  public var envelope: Rect {
    bounds.dropFirst().reduce(bounds[0]) {
      Rect(
        minX: min($0.minX, $1.minX), minY: min($0.minY, $1.minY), maxX: max($0.maxX, $1.maxX),
        maxY: max($0.maxY, $1.maxY))
    }
  }

  /// Area shared with `other`, in square degrees: each of this footprint's pieces clipped by
  /// the convex hull of each of `other`'s pieces. Exact when `other`'s pieces are convex (tile
  /// and swath footprints almost always are); an upper bound otherwise.
  public func intersectionArea(with other: Footprint) -> Double {
    var total = 0.0
    for (i, p) in pieces.enumerated() {
      for j in other.pieces.indices where bounds[i].touches(other.bounds[j]) {
        let clipped = Footprint.clip(p, by: other.hulls[j])
        if clipped.count >= 3 { total += abs(Footprint.signedArea(clipped)) }
      }
    }
    return total
  }

  /// Shared area as a fraction of the smaller footprint's area (0…1).
  public func overlapFraction(with other: Footprint) -> Double {
    let smaller = min(area, other.area)
    guard smaller > 0 else { return 0 }
    return min(1, intersectionArea(with: other) / smaller)
  }

  // MARK: Planar geometry

  /// Drops the closing vertex of a GeoJSON ring.
  static func open(_ ring: [LonLat]) -> [LonLat] {
    var r = ring
    if r.count > 1, r.first == r.last { r.removeLast() }
    return r
  }

  /// Shoelace formula; positive for counter-clockwise rings.
  static func signedArea(_ p: [LonLat]) -> Double {
    guard p.count >= 3 else { return 0 }
    var s = 0.0
    var prev = p[p.count - 1]
    for v in p {
      s += prev.lon * v.lat - v.lon * prev.lat
      prev = v
    }
    return s / 2
  }

  /// A ring with an edge longer than 180° of longitude crosses the antimeridian: unwrap it to
  /// [0, 360), cut at 180°, and shift the eastern part back by -360°.
  static func splitAtAntimeridian(_ ring: [LonLat]) -> [[LonLat]] {
    guard ring.count >= 3 else { return [] }
    var crosses = false
    for i in 0..<ring.count where abs(ring[i].lon - ring[(i + 1) % ring.count].lon) > 180 {
      crosses = true
      break
    }
    guard crosses else { return [ring] }
    let unwrapped = ring.map { LonLat($0.lon < 0 ? $0.lon + 360 : $0.lon, $0.lat) }
    let west = clipHalfPlane(unwrapped, keepBelow: true, x: 180)
    let east = clipHalfPlane(unwrapped, keepBelow: false, x: 180).map {
      LonLat($0.lon - 360, $0.lat)
    }
    return [west, east].filter { $0.count >= 3 }
  }

  static func clipHalfPlane(_ poly: [LonLat], keepBelow: Bool, x: Double) -> [LonLat] {
    func inside(_ p: LonLat) -> Bool { keepBelow ? p.lon <= x : p.lon >= x }
    var out: [LonLat] = []
    guard var prev = poly.last else { return out }
    for cur in poly {
      let ci = inside(cur)
      let pi = inside(prev)
      if ci != pi {
        let t = (x - prev.lon) / (cur.lon - prev.lon)
        out.append(LonLat(x, prev.lat + t * (cur.lat - prev.lat)))
      }
      if ci { out.append(cur) }
      prev = cur
    }
    return out
  }

  /// Andrew's monotone chain; counter-clockwise, no repeated vertex.
  static func convexHull(_ points: [LonLat]) -> [LonLat] {
    let pts = points.sorted { ($0.lon, $0.lat) < ($1.lon, $1.lat) }
    guard pts.count >= 3 else { return pts }
    func cross(_ o: LonLat, _ a: LonLat, _ b: LonLat) -> Double {
      (a.lon - o.lon) * (b.lat - o.lat) - (a.lat - o.lat) * (b.lon - o.lon)
    }
    var lower: [LonLat] = []
    for p in pts {
      while lower.count >= 2 && cross(lower[lower.count - 2], lower[lower.count - 1], p) <= 0 {
        lower.removeLast()
      }
      lower.append(p)
    }
    var upper: [LonLat] = []
    for p in pts.reversed() {
      while upper.count >= 2 && cross(upper[upper.count - 2], upper[upper.count - 1], p) <= 0 {
        upper.removeLast()
      }
      upper.append(p)
    }
    return Array(lower.dropLast() + upper.dropLast())
  }

  /// Sutherland–Hodgman: `subject` (any simple polygon) clipped by a convex counter-clockwise
  /// polygon.
  static func clip(_ subject: [LonLat], by clip: [LonLat]) -> [LonLat] {
    guard clip.count >= 3 else { return [] }
    var output = subject
    var a = clip[clip.count - 1]
    for b in clip {
      guard !output.isEmpty else { break }
      let input = output
      output = []
      output.reserveCapacity(input.count + 4)
      // Inside = left of (or on) the directed edge a→b.
      func side(_ p: LonLat) -> Double {
        (b.lon - a.lon) * (p.lat - a.lat) - (b.lat - a.lat) * (p.lon - a.lon)
      }
      var prev = input[input.count - 1]
      var sPrev = side(prev)
      for cur in input {
        let sCur = side(cur)
        if sCur >= 0 {
          if sPrev < 0 { output.append(intersect(prev, cur, sPrev, sCur)) }
          output.append(cur)
        } else if sPrev >= 0 {
          output.append(intersect(prev, cur, sPrev, sCur))
        }
        prev = cur
        sPrev = sCur
      }
      a = b
    }
    return output
  }

  @inline(__always) static func intersect(
    _ p: LonLat, _ q: LonLat, _ sp: Double, _ sq: Double
  ) -> LonLat {
    let t = sp / (sp - sq)
    return LonLat(p.lon + t * (q.lon - p.lon), p.lat + t * (q.lat - p.lat))
  }
}
