/// Sensor responses of the version-2 world's materials (see ``WorldVersion/v2``): spectra and
/// backscatter per material rather than per class, so classes that share materials overlap.
extension SensorModel {
  // Surface reflectance ×10000 for B02, B03, B04, B08, B11, B12.
  static let canopyGreen: [Float] = [280, 560, 300, 3500, 1750, 780]
  static let canopyDormant: [Float] = [380, 600, 480, 2300, 1900, 1050]
  static let rockSpectrum: [Float] = [1250, 1450, 1650, 2100, 2700, 2400]
  static let sandSpectrum: [Float] = [1450, 1750, 2050, 2550, 3200, 2950]
  static let roofBright: [Float] = [1600, 1650, 1700, 2000, 2500, 2300]
  static let roofTile: [Float] = [850, 1100, 1650, 2250, 3050, 2650]
  static let roofDark: [Float] = [520, 560, 600, 850, 1050, 950]
  static let asphalt: [Float] = [650, 700, 760, 950, 1150, 1050]

  /// Noise-free surface reflectance of one pixel of a version-2 world.
  @inline(__always)
  static func surfaceV2(
    material: UInt8, attribute a: Float, flooded: Bool, green g: Float, vigor v: Float,
    season s: Float, band b: Int
  ) -> Float {
    if flooded { return floodSpectrum[b] }
    switch Material(rawValue: material) ?? .grass {
    case .water:
      return waterSpectrum[b] * (1 + 0.15 * v)
    case .canopy, .canopyGap:
      let r = canopyDormant[b] + (canopyGreen[b] - canopyDormant[b]) * s
      let lit = material == Material.canopy.rawValue ? 0.8 + 0.45 * a : 0.35 + 0.15 * a
      return (b == 3 ? r * (1 + 0.1 * v) : r) * lit
    case .crop:
      let r = soil[b] + (cropGreen[b] - soil[b]) * g
      return b == 3 ? r * (1 + 0.12 * v * g) : r * (1 - 0.05 * v)
    case .fallow:
      return soil[b] * (0.82 + 0.3 * a) * (1 + 0.08 * v)
    case .margin, .garden:
      let gg = min(1, 0.35 + 0.6 * s)
      return grassDry[b] + (grassGreen[b] - grassDry[b]) * gg
    case .grass:
      let gg = min(max(g * (1.15 - a), 0), 1)
      let r =
        soil[b] * 0.25 * a + (grassDry[b] + (grassGreen[b] - grassDry[b]) * gg) * (1 - 0.25 * a)
      return b == 3 ? r * (1 + 0.1 * v) : r
    case .rock:
      return rockSpectrum[b] * (0.8 + 0.4 * a)
    case .soil:
      return soil[b] * (0.75 + 0.4 * a) * (1 + 0.1 * v)
    case .sand:
      return sandSpectrum[b] * (0.9 + 0.2 * a)
    case .roofBright:
      return roofBright[b] * (0.85 + 0.3 * a)
    case .roofTile:
      return roofTile[b] * (0.85 + 0.3 * a)
    case .roofDark:
      return roofDark[b] * (0.85 + 0.3 * a)
    case .asphalt:
      return asphalt[b]
    }
  }

  /// σ0 in dB (VV, VH) of one pixel of a version-2 world before incidence correction, texture
  /// and speckle. `facing` in [0, 1] says how squarely a building faces the radar.
  @inline(__always)
  static func backscatterV2(
    material: UInt8, attribute a: Float, flooded: Bool, green g: Float, vigor v: Float,
    season s: Float, moisture m: Float, wind w: Float
  ) -> (Float, Float) {
    if flooded { return (-21 + w, -28 + 0.5 * w) }
    switch Material(rawValue: material) ?? .grass {
    case .water:
      return (-21 + w, -28 + 0.5 * w)
    case .canopy:
      return (-8.5 + 1.0 * s + 0.6 * v, -14.5 + 1.8 * s + 0.8 * v)
    case .canopyGap:
      return (-9.5 + 1.0 * s + 0.6 * v, -15.5 + 1.5 * s + 0.8 * v)
    case .crop:
      return (-12.5 + 3 * g + m + 0.5 * v * g, -22 + 7 * g + 0.6 * m + 0.8 * v * g)
    case .fallow:
      // Ploughed: rough, brighter than smooth soil; furrows across the look direction add more.
      return (-11 + m + 1.5 * a, -20 + 0.6 * m + a)
    case .margin, .garden:
      return (-11 + 2 * s + m, -18.5 + 3 * s + 0.6 * m)
    case .grass:
      let gg = g * (1.15 - a)
      return (-12 + 2 * gg + m + 0.3 * v, -20 + 3.5 * gg + 0.6 * m + 0.4 * v)
    case .rock:
      return (-9 + 1.5 * a, -16 + a)
    case .soil:
      return (-13 + m + 0.6 * v, -23 + 0.6 * m + 0.5 * v)
    case .sand:
      return (-19.5 + 0.5 * a, -27 + 0.5 * a)  // smooth: a water look-alike
    case .roofBright, .roofTile, .roofDark:
      // Double bounce when the wall faces the sensor.
      return a > 0.35 ? (-1.5 + 2 * a, -9 + a) : (-7.5 + 2 * a, -14 + a)
    case .asphalt:
      return (-17.5, -25.5)  // smooth: a water look-alike
    }
  }
}
