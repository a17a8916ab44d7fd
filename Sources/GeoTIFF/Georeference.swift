/// How a pixel's coordinates relate to its area (GTRasterTypeGeoKey).
public enum RasterType: String, Sendable, Codable {
  /// The coordinates name the pixel's upper-left corner (the default).
  case pixelIsArea
  /// The coordinates name the pixel's centre; the geotransform is shifted by half a pixel, as
  /// GDAL does by default.
  case pixelIsPoint
}

/// Georeferencing of the full-resolution image, from GeoKeys and the model tags.
public struct Georeference: Sendable, Equatable {
  /// EPSG code of the projected (ProjectedCSTypeGeoKey) or geographic (GeographicTypeGeoKey) CRS,
  /// when one is given and not user-defined.
  public var epsg: Int?
  /// GTModelTypeGeoKey: 1 projected, 2 geographic, 3 geocentric.
  public var modelType: Int?
  /// GTRasterTypeGeoKey.
  public var rasterType: RasterType
  /// GDAL-order affine transform `[x0, dx/dcol, dx/drow, y0, dy/dcol, dy/drow]`, when the file has
  /// one (not for GCP-only files).
  public var geoTransform: [Double]?
  /// Whether the transform has rotation or shear terms.
  public var isRotated: Bool {
    guard let gt = geoTransform else { return false }
    return gt[2] != 0 || gt[4] != 0
  }
  /// Number of ground control points (tiepoints without a pixel scale); 0 when none.
  public var gcpCount: Int
  /// GDAL_NODATA, parsed (may be NaN or ±infinity).
  public var nodata: Double?
  /// The GDAL_NODATA text as stored.
  public var nodataText: String?
  /// Per-band scale and offset from GDAL_METADATA, when present.
  /// Keyed by 0-based band.
  public var scales: [Int: Double]
  /// Keyed by 0-based band.
  public var offsets: [Int: Double]

  /// `(minX, minY, maxX, maxY)` of the image footprint for a `width`×`height` image.
  public func bounds(
    width: Int, height: Int
  ) -> (minX: Double, minY: Double, maxX: Double, maxY: Double)? {
    guard let gt = geoTransform else { return nil }
    let corners = [
      (0.0, 0.0), (Double(width), 0.0), (0.0, Double(height)), (Double(width), Double(height)),
    ]
    let xs = corners.map { gt[0] + $0.0 * gt[1] + $0.1 * gt[2] }
    let ys = corners.map { gt[3] + $0.0 * gt[4] + $0.1 * gt[5] }
    return (xs.min()!, ys.min()!, xs.max()!, ys.max()!)
  }

  init(tags: GeoTags) {
    var keys: [Int: Int] = [:]
    if let dir = tags.geoKeys, dir.count >= 4 {
      // The directory is SHORTs, but a file may store it as SSHORT or LONG8: the key count is
      // capped by the entries present (a count of 2^63 would loop for ever, -1 sign-extends to
      // 2^64 - 1) and entries with a field past 65535 are skipped.
      let n = Int(min(dir[3], UInt64((dir.count - 4) / 4)))
      for k in 0..<n {
        guard let id = UInt16(exactly: dir[4 + k * 4]),
          let location = UInt16(exactly: dir[4 + k * 4 + 1]),
          let value = UInt16(exactly: dir[4 + k * 4 + 3])
        else { continue }
        if location == 0 { keys[Int(id)] = Int(value) }  // SHORT values held inline
      }
    }
    modelType = keys[1024]
    rasterType = keys[1025] == 2 ? .pixelIsPoint : .pixelIsArea
    let userDefined = 32767
    if let p = keys[3072], p != userDefined, p != 0 {
      epsg = p
    } else if let g = keys[2048], g != userDefined, g != 0 {
      epsg = g
    } else {
      epsg = nil
    }

    var gt: [Double]?
    gcpCount = 0
    if let m = tags.transformation, m.count >= 16 {
      gt = [m[3], m[0], m[1], m[7], m[4], m[5]]
    } else if let t = tags.tiepoints, t.count >= 6 {
      if let s = tags.pixelScale, s.count >= 2, t.count == 6 {
        gt = [t[3] - t[0] * s[0], s[0], 0, t[4] + t[1] * s[1], 0, -s[1]]
      } else if t.count >= 6 {
        gcpCount = t.count / 6
      }
    }
    if var g = gt, rasterType == .pixelIsPoint {
      g[0] -= 0.5 * g[1] + 0.5 * g[2]
      g[3] -= 0.5 * g[4] + 0.5 * g[5]
      gt = g
    }
    geoTransform = gt

    nodataText = tags.gdalNodata
    nodata = tags.gdalNodata.flatMap(Georeference.parseNodata)
    (scales, offsets) = Georeference.scaleOffset(tags.gdalMetadata ?? "")
  }

  static func parseNodata(_ text: String) -> Double? {
    let t = text._trimming(" \t\r\n\0")
    switch t.lowercased() {
    case "nan", "-nan": return .nan
    case "inf", "+inf", "infinity": return .infinity
    case "-inf", "-infinity": return -.infinity
    default: return Double(t)
    }
  }

  /// Extracts `<Item name="SCALE" sample="0" role="scale">0.1</Item>` style entries.
  static func scaleOffset(_ xml: String) -> ([Int: Double], [Int: Double]) {
    var scales: [Int: Double] = [:]
    var offsets: [Int: Double] = [:]
    for part in xml.split(separator: "<Item").dropFirst() {
      guard let close = part.firstIndex(of: ">") else { continue }
      let attrs = part[..<close]
      let rest = part[part.index(after: close)...]
      guard let endTag = rest.firstRange(of: "</Item>") else { continue }
      let value = Double(rest[..<endTag.lowerBound]._trimming(" \n"))
      func attr(_ name: String) -> String? {
        guard let r = attrs.firstRange(of: name + "=\"") else { return nil }
        let tail = attrs[r.upperBound...]
        guard let q = tail.firstIndex(of: "\"") else { return nil }
        return String(tail[..<q])
      }
      // A TIFF has at most 65535 samples: other sample numbers are ignored (`info` prints them
      // 1-based, and `sample + 1` overflowed for 9223372036854775807).
      guard let role = attr("role"), let sample = attr("sample").flatMap({ Int($0) }),
        (0..<65536).contains(sample), let value
      else { continue }
      if role == "scale" { scales[sample] = value }
      if role == "offset" { offsets[sample] = value }
    }
    return (scales, offsets)
  }
}

extension StringProtocol {
  func _trimming(_ set: String) -> String {
    var s = Substring(self)
    while let f = s.first, set.contains(f) { s = s.dropFirst() }
    while let l = s.last, set.contains(l) { s = s.dropLast() }
    return String(s)
  }
}
