import Foundation
import TandemBase

/// How strong the nuisances of a world are, and whether the sensors share their land cover.
public enum WorldPreset: String, CaseIterable, Sendable {
  /// Realistic nuisance levels; both sensors observe the same landscape.
  case base
  /// More clouds, haze, illumination change and speckle.
  case heavyNuisance = "heavy-nuisance"
  /// Base nuisances, but Sentinel-1 observes an independent landscape: no pixel content shared
  /// by a pair. Scene-level co-occurrence remains (same tile, same day and phenology), which
  /// multimodal pretraining learns from; `tandem train --pairing shuffled` removes that too.
  case decoupled

  var nuisance: Nuisance {
    switch self {
    case .base, .decoupled:
      Nuisance(
        cloudyProbability: 0.5, maxCloud: 0.45, hazeMax: 0.035, gainSpread: 0.08, noiseScale: 1,
        looks: 4.4, incidenceSpan: 4, moistureSpread: 1)
    case .heavyNuisance:
      Nuisance(
        cloudyProbability: 0.75, maxCloud: 0.7, hazeMax: 0.09, gainSpread: 0.18, noiseScale: 2,
        looks: 3, incidenceSpan: 7, moistureSpread: 2)
    }
  }
}

struct Nuisance {
  var cloudyProbability: Double
  var maxCloud: Double
  var hazeMax: Double
  var gainSpread: Double
  var noiseScale: Float
  var looks: Double
  var incidenceSpan: Double
  var moistureSpread: Double
}

/// Sentinel-2 band metadata (name, common name, centre wavelength and FWHM in µm).
public struct S2Band: Sendable {
  /// Band name and asset key, e.g. `B08`.
  public var name: String
  /// STAC `eo:bands` common name, e.g. `nir`.
  public var commonName: String
  /// Centre wavelength, µm.
  public var centerWavelength: Double
  /// Full width at half maximum, µm.
  public var fullWidthHalfMax: Double

  /// The bands the fixture world writes, in asset order.
  public static let all: [S2Band] = [
    S2Band(name: "B02", commonName: "blue", centerWavelength: 0.49, fullWidthHalfMax: 0.098),
    S2Band(name: "B03", commonName: "green", centerWavelength: 0.56, fullWidthHalfMax: 0.045),
    S2Band(name: "B04", commonName: "red", centerWavelength: 0.665, fullWidthHalfMax: 0.038),
    S2Band(name: "B08", commonName: "nir", centerWavelength: 0.842, fullWidthHalfMax: 0.145),
    S2Band(name: "B11", commonName: "swir16", centerWavelength: 1.61, fullWidthHalfMax: 0.143),
    S2Band(name: "B12", commonName: "swir22", centerWavelength: 2.19, fullWidthHalfMax: 0.242),
  ]
}

/// Scene classification values (Sen2Cor SCL subset) written to the `SCL` asset.
public enum SceneClass: UInt8, Sendable {
  case noData = 0
  case cloudShadow = 3
  case vegetation = 4
  case notVegetated = 5
  case water = 6
  case cloudMediumProbability = 8
  case cloudHighProbability = 9
  case thinCirrus = 10

  /// Whether this value counts towards `eo:cloud_cover` (as in Sen2Cor: clouds and cirrus,
  /// not shadows).
  public var isCloud: Bool {
    self == .cloudMediumProbability || self == .cloudHighProbability || self == .thinCirrus
  }
}

/// Day-of-year phenology shared by both sensors: how green a pixel's vegetation is.
enum Phenology {
  /// Greenness in [0, 1] of a pixel of class `cls` with crop phase `phase` on day `doy`.
  @inline(__always)
  static func greenness(_ cls: UInt8, phase: Float, doy: Float) -> Float {
    switch cls {
    case LandCover.cropland.rawValue:
      // A ~140-day crop cycle per field: sowing (bare), growth, harvest.
      let raw = 0.5 - 0.5 * cos(2 * Float.pi * (doy / 140 + phase))
      return min(max((raw - 0.15) / 0.85, 0), 1)
    case LandCover.grassland.rawValue:
      return min(
        max(0.55 + 0.35 * sin(2 * Float.pi * (doy - 80) / 365) + 0.2 * (phase - 0.5), 0), 1)
    case LandCover.forest.rawValue:
      return 0.7 + 0.3 * sin(2 * Float.pi * (doy - 80) / 365)
    default:
      return 0
    }
  }
}

/// Parameters of one Sentinel-2 acquisition over one tile.
public struct S2Acquisition: Sendable {
  /// Days since 1970-01-01.
  public var day: Int
  /// Multiplicative illumination change (sun elevation, BRDF).
  public var gain: Double
  /// Additive haze (path radiance) at the blue band, reflectance units.
  public var haze: Double
  /// Target cloud fraction before thresholding (0: clear).
  public var cloudTarget: Double
  /// Cloud-shadow displacement in pixels (sun direction).
  public var shadowShift: (dx: Int, dy: Int)
}

/// Parameters of one Sentinel-1 acquisition over one tile.
public struct S1Acquisition: Sendable {
  /// Days since 1970-01-01.
  public var day: Int
  /// `ascending` or `descending`.
  public var orbitState: String
  /// Relative orbit number (track).
  public var relativeOrbit: Int
  /// Incidence angle at the west and east edges of the tile, degrees.
  public var incidenceWest: Double
  public var incidenceEast: Double
  /// Soil-moisture offset of land backscatter, dB.
  public var moisture: Double
  /// Wind roughening of open water, dB.
  public var wind: Double
}

/// Simulated Sentinel-2 L2A scene: six reflectance bands ×10000, a scene classification and the
/// cloud cover computed from it.
struct S2Scene {
  var bands: [[UInt16]]
  var scl: [UInt8]
  /// Percentage of pixels classified as cloud (SCL 8, 9, 10).
  var cloudCover: Double
}

/// Simulated Sentinel-1 RTC scene: linear γ0 backscatter.
struct S1Scene {
  var vv: [Float]
  var vh: [Float]
}

enum SensorModel {
  // Surface reflectance ×10000 for B02, B03, B04, B08, B11, B12.
  static let waterSpectrum: [Float] = [550, 620, 420, 260, 120, 80]
  static let floodSpectrum: [Float] = [820, 960, 920, 560, 230, 140]
  static let forestGreen: [Float] = [250, 500, 280, 3000, 1500, 650]
  static let forestDormant: [Float] = [350, 560, 460, 1900, 1750, 950]
  static let cropGreen: [Float] = [350, 750, 380, 4200, 2100, 900]
  static let soil: [Float] = [950, 1250, 1550, 2300, 3100, 2500]
  static let grassGreen: [Float] = [400, 800, 500, 3200, 2200, 1100]
  static let grassDry: [Float] = [700, 1000, 1200, 2500, 3000, 2200]
  static let urbanSpectrum: [Float] = [1100, 1150, 1250, 1750, 2300, 2100]
  static let bareSpectrum: [Float] = [1300, 1600, 2000, 2500, 3400, 3000]
  static let cloudSpectrum: [Float] = [6800, 6600, 6500, 6700, 4600, 3300]
  /// Relative haze contribution per band (Rayleigh/aerosol scattering falls with wavelength).
  static let hazeWeights: [Float] = [1, 0.75, 0.55, 0.3, 0.12, 0.06]

  /// Noise-free surface reflectance of one pixel.
  @inline(__always)
  static func surface(
    _ cls: UInt8, flooded: Bool, green g: Float, vigor v: Float, band b: Int
  ) -> Float {
    if flooded { return floodSpectrum[b] }
    switch cls {
    case LandCover.water.rawValue:
      return waterSpectrum[b] * (1 + 0.15 * v)
    case LandCover.forest.rawValue:
      let r = forestDormant[b] + (forestGreen[b] - forestDormant[b]) * g
      return b == 3 ? r * (1 + 0.12 * v) : r * (1 - 0.06 * v)
    case LandCover.cropland.rawValue:
      let r = soil[b] + (cropGreen[b] - soil[b]) * g
      return b == 3 ? r * (1 + 0.12 * v * g) : r * (1 - 0.05 * v)
    case LandCover.grassland.rawValue:
      let r = grassDry[b] + (grassGreen[b] - grassDry[b]) * g
      return b == 3 ? r * (1 + 0.1 * v) : r
    case LandCover.urban.rawValue:
      return urbanSpectrum[b] * (1 + 0.12 * v)
    default:
      return bareSpectrum[b] * (1 + 0.1 * v)
    }
  }

  /// σ0 in dB (VV, VH) of one pixel before incidence correction, texture and speckle.
  @inline(__always)
  static func backscatter(
    _ cls: UInt8, flooded: Bool, green g: Float, vigor v: Float, moisture m: Float, wind w: Float
  ) -> (Float, Float) {
    if flooded || cls == LandCover.water.rawValue { return (-21 + w, -28 + 0.5 * w) }
    switch cls {
    case LandCover.forest.rawValue:
      return (-8.5 + 1.0 * g + 0.6 * v, -14.5 + 1.8 * g + 0.8 * v)
    case LandCover.cropland.rawValue:
      return (-12.5 + 3 * g + m + 0.5 * v * g, -22 + 7 * g + 0.6 * m + 0.8 * v * g)
    case LandCover.grassland.rawValue:
      return (-12 + 2 * g + m + 0.3 * v, -20 + 3.5 * g + 0.6 * m + 0.4 * v)
    case LandCover.urban.rawValue:
      return (-4.5 + 1.2 * v, -11.5 + 1.0 * v)
    default:
      return (-13 + m + 0.6 * v, -23 + 0.6 * m + 0.5 * v)
    }
  }

  /// Renders a Sentinel-2 scene of `landscape` with the given `water` mask.
  static func renderS2(
    landscape: Landscape, water: [UInt8], texture: [Float], acquisition a: S2Acquisition,
    seed: UInt64, nuisance: Nuisance
  ) -> S2Scene {
    let size = landscape.size
    let n = size * size
    let doy = Float(CivilDate(day: a.day).dayOfYear)
    var rng = SeededGenerator(seed: seed, stream: 10)
    let hazeField = NoiseField.fbm(
      width: size, height: size, cell: Double(size) / 2, octaves: 2, rng: &rng)
    // Clouds: a fractal field thresholded at the quantile that gives the target cover; soft
    // edges become thin cloud (partly transparent).
    var opacity = [Float](repeating: 0, count: n)
    if a.cloudTarget > 0 {
      let field = NoiseField.fbm(
        width: size, height: size, cell: Double(size) / 3, octaves: 5, persistence: 0.55,
        rng: &rng)
      let threshold = NoiseField.quantile(field, 1 - a.cloudTarget)
      for i in 0..<n {
        let t = (field[i] - threshold + 0.04) / 0.12
        opacity[i] = min(max(t, 0), 1)
      }
    }
    let cloudTexture = NoiseField.fbm(width: size, height: size, cell: 16, octaves: 3, rng: &rng)
    var bands = [[UInt16]](repeating: [UInt16](repeating: 0, count: n), count: 6)
    var scl = [UInt8](repeating: 0, count: n)
    var cloudPixels = 0
    let gain = Float(a.gain)
    let haze = Float(a.haze) * 10000
    let noise = nuisance.noiseScale
    var pixel = [Float](repeating: 0, count: 6)
    let context = !landscape.material.isEmpty
    let season = Phenology.greenness(LandCover.forest.rawValue, phase: 0, doy: doy)
    for y in 0..<size {
      for x in 0..<size {
        let i = y * size + x
        let cls = landscape.classes[i]
        let flooded = water[i] == 1 && cls != LandCover.water.rawValue
        let g = Phenology.greenness(cls, phase: landscape.phase[i], doy: doy)
        let v = landscape.vigor[i]
        let alpha = opacity[i]
        let sx = x - a.shadowShift.dx
        let sy = y - a.shadowShift.dy
        var shadow: Float = 0
        if sx >= 0 && sy >= 0 && sx < size && sy < size && a.cloudTarget > 0 {
          shadow = opacity[sy * size + sx]
        }
        let shade = 1 - 0.6 * min(shadow * 1.5, 1)
        let tex = 1 + 0.07 * texture[i]
        for b in 0..<6 {
          var r =
            context
            ? surfaceV2(
              material: landscape.material[i], attribute: landscape.attribute[i],
              flooded: flooded, green: g, vigor: v, season: season, band: b)
            : surface(cls, flooded: flooded, green: g, vigor: v, band: b)
          r *= tex * shade
          let cloud = cloudSpectrum[b] * (0.85 + 0.15 * cloudTexture[i])
          r = (1 - alpha) * r + alpha * cloud
          r = r * gain + haze * hazeWeights[b] * (1 + 0.5 * hazeField[i])
          r += Float(rng.nextGaussian()) * noise * (0.02 * r + 15)
          pixel[b] = r
          bands[b][i] = UInt16(min(max(r.rounded(), 1), 65535))
        }
        let sceneClass: SceneClass
        if alpha > 0.8 {
          sceneClass = .cloudHighProbability
        } else if alpha > 0.5 {
          sceneClass = .cloudMediumProbability
        } else if alpha > 0.25 {
          sceneClass = .thinCirrus
        } else if shadow > 0.5 {
          sceneClass = .cloudShadow
        } else {
          let ndvi = (pixel[3] - pixel[2]) / max(pixel[3] + pixel[2], 1)
          let ndwi = (pixel[1] - pixel[3]) / max(pixel[1] + pixel[3], 1)
          sceneClass = ndwi > 0.1 ? .water : (ndvi > 0.4 ? .vegetation : .notVegetated)
        }
        if sceneClass.isCloud { cloudPixels += 1 }
        scl[i] = sceneClass.rawValue
      }
    }
    let cover = (Double(cloudPixels) / Double(n) * 100 * 100).rounded() / 100
    return S2Scene(bands: bands, scl: scl, cloudCover: cover)
  }

  /// Renders a Sentinel-1 scene of `landscape` with the given `water` mask.
  static func renderS1(
    landscape: Landscape, water: [UInt8], texture: [Float], scatterers: [Float],
    acquisition a: S1Acquisition, seed: UInt64, nuisance: Nuisance
  ) -> S1Scene {
    let size = landscape.size
    let n = size * size
    let doy = Float(CivilDate(day: a.day).dayOfYear)
    var rng = SeededGenerator(seed: seed, stream: 20)
    var vv = [Float](repeating: 0, count: n)
    var vh = [Float](repeating: 0, count: n)
    let moisture = Float(a.moisture)
    let wind = Float(a.wind)
    let looks = nuisance.looks
    let context = !landscape.material.isEmpty
    let season = Phenology.greenness(LandCover.forest.rawValue, phase: 0, doy: doy)
    for y in 0..<size {
      for x in 0..<size {
        let i = y * size + x
        let cls = landscape.classes[i]
        let isWater = water[i] == 1
        let g = Phenology.greenness(cls, phase: landscape.phase[i], doy: doy)
        var (dbVV, dbVH) =
          context
          ? backscatterV2(
            material: landscape.material[i], attribute: landscape.attribute[i],
            flooded: isWater, green: g, vigor: landscape.vigor[i], season: season,
            moisture: moisture, wind: wind)
          : backscatter(
            cls, flooded: isWater, green: g, vigor: landscape.vigor[i], moisture: moisture,
            wind: wind)
        // Incidence-angle dependence: backscatter falls with angle, much faster over water.
        let theta = Float(
          a.incidenceWest + (a.incidenceEast - a.incidenceWest) * (Double(x) + 0.5) / Double(size))
        let k: Float = isWater ? 0.35 : 0.13
        dbVV -= k * (theta - 37)
        dbVH -= k * (theta - 37)
        if !isWater {
          dbVV += 1.2 * texture[i]
          dbVH += 1.2 * texture[i]
          if !context && cls == LandCover.urban.rawValue && scatterers[i] > 0.35 {
            dbVV += 6  // corner reflectors: buildings facing the sensor
            dbVH += 3
          }
        }
        vv[i] = quantize(Float(pow(10, Double(dbVV) / 10) * rng.gammaUnitMean(shape: looks)))
        vh[i] = quantize(Float(pow(10, Double(dbVH) / 10) * rng.gammaUnitMean(shape: looks)))
      }
    }
    return S1Scene(vv: vv, vh: vh)
  }
}

extension SensorModel {
  /// Significant bits kept in S1 float mantissas.
  static let keptMantissaBits = 12

  /// Rounds a positive float to `keptMantissaBits` mantissa bits (relative error ≤ 1.2e-4,
  /// i.e. ≤ 0.0005 dB — far below speckle), which lets deflate compress the low bits away, as
  /// GDAL's DISCARD_LSB does. Keeps the bundled world small.
  @inline(__always)
  static func quantize(_ v: Float) -> Float {
    let drop = UInt32(23 - keptMantissaBits)
    let half = UInt32(1) << (drop - 1)
    let mask = ~((UInt32(1) << drop) - 1)
    return Float(bitPattern: (v.bitPattern &+ half) & mask)
  }
}

/// A proleptic Gregorian calendar date from days since 1970-01-01 (Hinnant's algorithm), so the
/// world never depends on time zones or Foundation's calendar.
public struct CivilDate: Sendable, Hashable {
  /// Year, e.g. 2024.
  public var year: Int
  /// Month, 1…12.
  public var month: Int
  /// Day of the month, 1…31.
  public var day: Int

  /// The date `day` days after 1970-01-01.
  public init(day days: Int) {
    let z = days + 719_468
    let era = (z >= 0 ? z : z - 146_096) / 146_097
    let doe = z - era * 146_097
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
    let mp = (5 * doy + 2) / 153
    let d = doy - (153 * mp + 2) / 5 + 1
    let m = mp < 10 ? mp + 3 : mp - 9
    year = yoe + era * 400 + (m <= 2 ? 1 : 0)
    month = m
    day = d
  }

  /// Day of the year, 1-based.
  public var dayOfYear: Int {
    let cumulative = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334]
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
    return cumulative[month - 1] + day + (leap && month > 2 ? 1 : 0)
  }

  /// `YYYY-MM-DD`.
  public var iso: String {
    func pad(_ v: Int, _ w: Int) -> String {
      let s = String(v)
      return String(repeating: "0", count: max(0, w - s.count)) + s
    }
    return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))"
  }

  /// `YYYYMMDD`.
  public var compact: String { iso.replacingOccurrences(of: "-", with: "") }
}
