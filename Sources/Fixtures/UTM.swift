import Foundation

/// WGS 84 / UTM coordinates (EPSG:326xx north, 327xx south) to longitude/latitude.
///
/// Uses Krüger's series for the transverse Mercator projection to fourth order in the third
/// flattening n (Karney 2011, "Transverse Mercator with an accuracy of a few nanometers", eqs.
/// 7–11 and 35–36), which is accurate to well under a millimetre within a UTM zone.
public enum UTM {
  static let a = 6_378_137.0
  static let f = 1 / 298.257_223_563
  static let k0 = 0.9996
  static let n = f / (2 - f)
  /// Rectifying radius A.
  static let rectifyingRadius =
    a / (1 + n) * (1 + n * n / 4 + n * n * n * n / 64)
  static let beta: [Double] = {
    let n2 = n * n
    let n3 = n2 * n
    let n4 = n3 * n
    return [
      n / 2 - 2 * n2 / 3 + 37 * n3 / 96 - n4 / 360,
      n2 / 48 + n3 / 15 - 437 * n4 / 1440,
      17 * n3 / 480 - 37 * n4 / 840,
      4397 * n4 / 161_280,
    ]
  }()
  static let delta: [Double] = {
    let n2 = n * n
    let n3 = n2 * n
    let n4 = n3 * n
    return [
      2 * n - 2 * n2 / 3 - 2 * n3 + 116 * n4 / 45,
      7 * n2 / 3 - 8 * n3 / 5 - 227 * n4 / 45,
      56 * n3 / 15 - 136 * n4 / 35,
      4279 * n4 / 630,
    ]
  }()

  /// The UTM zone and hemisphere of an EPSG code, or nil if it is not WGS 84 / UTM.
  public static func zone(epsg: Int) -> (zone: Int, north: Bool)? {
    if (32601...32660).contains(epsg) { return (epsg - 32600, true) }
    if (32701...32760).contains(epsg) { return (epsg - 32700, false) }
    return nil
  }

  /// Longitude and latitude in degrees of the point (`easting`, `northing`) in `epsg`.
  /// Returns nil when `epsg` is not a WGS 84 / UTM code.
  public static func lonLat(
    easting: Double, northing: Double, epsg: Int
  ) -> (
    lon: Double, lat: Double
  )? {
    guard let (zone, north) = zone(epsg: epsg) else { return nil }
    let lon0 = Double(zone * 6 - 183) * .pi / 180
    let xi = (northing - (north ? 0 : 10_000_000)) / (k0 * rectifyingRadius)
    let eta = (easting - 500_000) / (k0 * rectifyingRadius)
    var xiP = xi
    var etaP = eta
    for j in 1...4 {
      let b = beta[j - 1]
      let jj = 2 * Double(j)
      xiP -= b * sin(jj * xi) * cosh(jj * eta)
      etaP -= b * cos(jj * xi) * sinh(jj * eta)
    }
    let chi = asin(sin(xiP) / cosh(etaP))
    var phi = chi
    for j in 1...4 {
      phi += delta[j - 1] * sin(2 * Double(j) * chi)
    }
    let lambda = lon0 + atan2(sinh(etaP), cos(xiP))
    return (lambda * 180 / .pi, phi * 180 / .pi)
  }
}
