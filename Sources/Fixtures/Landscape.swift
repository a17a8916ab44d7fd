import Foundation
import TandemBase

/// Land-cover classes of the fixture world; raw values are the pixel values of label rasters.
public enum LandCover: UInt8, CaseIterable, Sendable, Codable {
  case water = 1
  case forest = 2
  case cropland = 3
  case grassland = 4
  case urban = 5
  case bare = 6

  /// Nodata value of label rasters.
  public static let nodata: UInt8 = 255

  /// Lower-case name used in STAC `label:classes` and statistics.
  public var name: String {
    switch self {
    case .water: "water"
    case .forest: "forest"
    case .cropland: "cropland"
    case .grassland: "grassland"
    case .urban: "urban"
    case .bare: "bare"
    }
  }
}

/// The static ground truth of one tile: land cover, terrain and the per-patch state both sensors
/// observe (vegetation vigour, crop calendar). Sensor-specific texture is *not* here.
public struct Landscape: Sendable {
  /// Edge length in pixels (tiles are square).
  public var size: Int
  /// `LandCover` raw values, row-major.
  public var classes: [UInt8]
  /// Terrain height in metres (drives flooding).
  public var elevation: [Float]
  /// Per-patch vegetation vigour / surface state in [-1, 1], shared by both sensors.
  public var vigor: [Float]
  /// Per-field crop calendar phase in [0, 1).
  public var phase: [Float]
  /// Pixels that can flood (valley floor connected to the river), in order of increasing
  /// elevation: flooding to stage s covers the first s·`floodCapacity` of them.
  var floodOrder: [Int32]
  /// How many pixels a flood at full stage covers.
  var floodCapacity: Int
  /// What each pixel's surface is made of (``Material`` raw values), shared by both sensors;
  /// empty in a version-1 world, whose sensors render from the class alone.
  var material: [UInt8] = []
  /// A per-pixel attribute in [0, 1] whose meaning depends on the material (crown lighting,
  /// grass dryness, furrow phase, …); empty in a version-1 world.
  var attribute: [Float] = []
  /// Structure the version-2 refinement reads: the Voronoi patch of each pixel, each patch's
  /// class before within-patch edits, a per-field identifier (cropland), the distance to the
  /// river centreline and the river's half width.
  var cell: [Int32] = []
  var cellClasses: [LandCover] = []
  var fieldID: [UInt32] = []
  var riverDistance: [Float] = []
  var riverHalfWidth: Float = 0

  /// Generates the landscape of a tile from its world seed.
  public init(size: Int, seed: UInt64) {
    self.size = size
    let n = size * size
    let s = Double(size)
    var rng = SeededGenerator(seed: seed, stream: 1)

    // Terrain: broad relief plus a regional slope.
    var terrainRNG = SeededGenerator(seed: seed, stream: 2)
    let relief = NoiseField.fbm(
      width: size, height: size, cell: s / 2.5, octaves: 4, rng: &terrainRNG)
    let micro = NoiseField.fbm(width: size, height: size, cell: 12, octaves: 2, rng: &terrainRNG)
    let slopeAngle = rng.uniform(0, 2 * .pi)
    let slope = rng.uniform(10, 30)

    // River: a meandering centreline crossing the tile (horizontally or vertically).
    let vertical = rng.next() & 1 == 1
    let c0 = rng.uniform(0.25, 0.75) * s
    let c1 = rng.uniform(0.25, 0.75) * s
    let a1 = rng.uniform(s / 14, s / 7)
    let l1 = rng.uniform(s * 0.6, s * 1.2)
    let p1 = rng.uniform(0, 2 * .pi)
    let a2 = rng.uniform(s / 40, s / 20)
    let l2 = rng.uniform(s * 0.15, s * 0.3)
    let p2 = rng.uniform(0, 2 * .pi)
    let halfWidth = rng.uniform(2.5, 5)
    let valleyWidth = s / 6
    let valleyDepth = rng.uniform(25, 40)

    var elevation = [Float](repeating: 0, count: n)
    var riverDistance = [Float](repeating: 0, count: n)
    // The river pixel across from each pixel (same position along the river).
    var riverPixel = [Int32](repeating: 0, count: n)
    var classes = [UInt8](repeating: LandCover.grassland.rawValue, count: n)
    for y in 0..<size {
      for x in 0..<size {
        let u = Double(vertical ? y : x)
        let v = Double(vertical ? x : y)
        let center =
          c0 + (c1 - c0) * u / s + a1 * sin(2 * .pi * u / l1 + p1) + a2 * sin(2 * .pi * u / l2 + p2)
        let derivative =
          (c1 - c0) / s + a1 * 2 * .pi / l1 * cos(2 * .pi * u / l1 + p1) + a2 * 2 * .pi / l2
          * cos(2 * .pi * u / l2 + p2)
        let d = abs(v - center) / (1 + derivative * derivative).squareRoot()
        let i = y * size + x
        riverDistance[i] = Float(d)
        let riverV = min(max(Int(center.rounded()), 0), size - 1)
        riverPixel[i] = Int32(vertical ? Int(u) * size + riverV : riverV * size + Int(u))
        let regional =
          slope
          * ((Double(x) / s - 0.5) * cos(slopeAngle) + (Double(y) / s - 0.5) * sin(slopeAngle))
        let valley = valleyDepth * exp(-(d / valleyWidth) * (d / valleyWidth))
        elevation[i] = Float(
          120 + 45 * Double(relief[i]) + regional - valley + 1.5 * Double(micro[i]))
        if d < halfWidth { classes[i] = LandCover.water.rawValue }
      }
    }

    // Warped Voronoi patches: each cell gets a class drawn from elevation-dependent weights.
    let spacing = max(24.0, s / 7)
    let cellsAcross = Int((s / spacing).rounded(.up)) + 1
    var seedsX = [Double]()
    var seedsY = [Double]()
    for cy in 0..<cellsAcross {
      for cx in 0..<cellsAcross {
        seedsX.append((Double(cx) + rng.uniform(0.1, 0.9)) * spacing)
        seedsY.append((Double(cy) + rng.uniform(0.1, 0.9)) * spacing)
      }
    }
    let sortedElevation = elevation.sorted()
    func elevationRank(_ e: Float) -> Double {
      var lo = 0
      var hi = sortedElevation.count
      while lo < hi {
        let mid = (lo + hi) / 2
        if sortedElevation[mid] < e { lo = mid + 1 } else { hi = mid }
      }
      return Double(lo) / Double(sortedElevation.count)
    }
    // A town near the river; cells whose seed lies inside it are urban.
    let townU = rng.uniform(0.2, 0.8) * s
    let townCenterV =
      c0 + (c1 - c0) * townU / s + a1 * sin(2 * .pi * townU / l1 + p1) + rng.uniform(-1, 1) * s / 10
    let townX = vertical ? townCenterV : townU
    let townY = vertical ? townU : townCenterV
    let townRadius = rng.uniform(s / 11, s / 7)
    var cellClass = [LandCover]()
    var cellFieldW = [Int]()
    var cellFieldH = [Int]()
    var cellFieldOX = [Int]()
    var cellFieldOY = [Int]()
    for c in seedsX.indices {
      let sx = min(max(Int(seedsX[c]), 0), size - 1)
      let sy = min(max(Int(seedsY[c]), 0), size - 1)
      let rank = elevationRank(elevation[sy * size + sx])
      let town = hypot(seedsX[c] - townX, seedsY[c] - townY) < townRadius
      let weights: [(LandCover, Double)]
      if town {
        weights = [(.urban, 1)]
      } else if rank < 0.35 {
        weights = [
          (.cropland, 0.5), (.grassland, 0.25), (.forest, 0.12), (.urban, 0.05), (.bare, 0.08),
        ]
      } else if rank < 0.75 {
        weights = [
          (.cropland, 0.32), (.grassland, 0.28), (.forest, 0.3), (.urban, 0.04), (.bare, 0.06),
        ]
      } else {
        weights = [(.forest, 0.5), (.grassland, 0.22), (.bare, 0.22), (.cropland, 0.06)]
      }
      var pick = rng.nextUnitDouble()
      var chosen = weights[weights.count - 1].0
      for (cls, w) in weights {
        if pick < w {
          chosen = cls
          break
        }
        pick -= w
      }
      cellClass.append(chosen)
      cellFieldW.append(rng.int(in: 14...40))
      cellFieldH.append(rng.int(in: 14...40))
      cellFieldOX.append(rng.int(in: 0...40))
      cellFieldOY.append(rng.int(in: 0...40))
    }
    var warpRNG = SeededGenerator(seed: seed, stream: 3)
    let warpX = NoiseField.fbm(width: size, height: size, cell: 48, octaves: 3, rng: &warpRNG)
    let warpY = NoiseField.fbm(width: size, height: size, cell: 48, octaves: 3, rng: &warpRNG)
    let detail = NoiseField.fbm(width: size, height: size, cell: 20, octaves: 3, rng: &warpRNG)
    let warpAmplitude = Float(spacing * 0.3)

    // Roads: straight lines across the tile, two pixels wide.
    let roadCount = 2 + rng.int(in: 0...1)
    var roads: [(px: Double, py: Double, nx: Double, ny: Double)] = []
    for r in 0..<roadCount {
      // The first road goes through the town.
      let px = r == 0 ? townX : rng.uniform(0, s)
      let py = r == 0 ? townY : rng.uniform(0, s)
      let angle = rng.uniform(0, .pi)
      roads.append((px, py, -sin(angle), cos(angle)))
    }
    // A lake in a random low spot (maybe none).
    let hasLake = rng.nextUnitDouble() < 0.6
    let lakeX = rng.uniform(0.15, 0.85) * s
    let lakeY = rng.uniform(0.15, 0.85) * s
    let lakeRadius = rng.uniform(s / 40, s / 18)

    var vigor = [Float](repeating: 0, count: n)
    var phase = [Float](repeating: 0, count: n)
    var cellVigor = [Float]()
    for _ in seedsX.indices { cellVigor.append(Float(rng.uniform(-1, 1))) }
    var fieldRNGSeed = SeededGenerator(seed: seed, stream: 4)
    let fieldSalt = fieldRNGSeed.next()
    var cellOf = [Int32](repeating: 0, count: n)
    var fieldID = [UInt32](repeating: 0, count: n)

    for y in 0..<size {
      for x in 0..<size {
        let i = y * size + x
        let wx = Double(Float(x) + warpX[i] * warpAmplitude)
        let wy = Double(Float(y) + warpY[i] * warpAmplitude)
        let gx = Int(wx / spacing)
        let gy = Int(wy / spacing)
        var best = 0
        var bestD = Double.infinity
        for cy in max(0, gy - 1)...min(cellsAcross - 1, max(0, gy + 1)) {
          for cx in max(0, gx - 1)...min(cellsAcross - 1, max(0, gx + 1)) {
            let c = cy * cellsAcross + cx
            let dx = seedsX[c] - wx
            let dy = seedsY[c] - wy
            let d = dx * dx + dy * dy
            if d < bestD {
              bestD = d
              best = c
            }
          }
        }
        var cls = cellClass[best]
        cellOf[i] = Int32(best)
        var patchVigor = cellVigor[best]
        let fine = detail[i]
        switch cls {
        case .cropland:
          let fx = (x + cellFieldOX[best]) / cellFieldW[best]
          let fy = (y + cellFieldOY[best]) / cellFieldH[best]
          if (x + cellFieldOX[best]) % cellFieldW[best] == 0
            || (y + cellFieldOY[best]) % cellFieldH[best] == 0
          {
            cls = .grassland  // hedges and field margins
          } else {
            var field = SeededGenerator(
              seed: fieldSalt, stream: UInt64(best), UInt64(fx & 0xFFFF), UInt64(fy & 0xFFFF))
            phase[i] = field.nextUnitFloat()
            patchVigor = field.nextUnitFloat() * 2 - 1
            fieldID[i] = UInt32(truncatingIfNeeded: field.next())
          }
        case .grassland:
          if fine > 0.45 { cls = .forest }  // copses
        case .forest:
          if fine < -0.5 { cls = .grassland }  // clearings
        case .urban:
          if fine > 0.55 { cls = .grassland }  // parks
        case .bare:
          if fine > 0.4 { cls = .grassland }  // sparse vegetation on rock and sand
        case .water:
          break
        }
        if cls == .grassland { phase[i] = Float(best % 7) / 7 }
        vigor[i] = patchVigor
        for road in roads {
          let d = abs((Double(x) - road.px) * road.nx + (Double(y) - road.py) * road.ny)
          if d < 1.0 { cls = .urban }
        }
        if hasLake {
          let r = hypot(Double(x) - lakeX, Double(y) - lakeY) / lakeRadius + 0.35 * Double(fine)
          if r < 1 {
            cls = .water
            elevation[i] -= 3
          }
        }
        if classes[i] == LandCover.water.rawValue { cls = .water }
        classes[i] = cls.rawValue
      }
    }

    // Floodable pixels: land in the valley floor, flooded in order of height above the river
    // next to them (a HAND-like index), so the flood follows the whole river corridor.
    let reach = Float(valleyWidth * 1.6)
    var candidates: [(Float, Int32)] = []
    for i in 0..<n where classes[i] != LandCover.water.rawValue && riverDistance[i] < reach {
      candidates.append((elevation[i] - elevation[Int(riverPixel[i])], Int32(i)))
    }
    candidates.sort { $0.0 < $1.0 || ($0.0 == $1.0 && $0.1 < $1.1) }
    self.floodOrder = candidates.map { $0.1 }
    self.floodCapacity = min(candidates.count, Int(Double(n) * rng.uniform(0.10, 0.16)))
    self.classes = classes
    self.elevation = elevation
    self.vigor = vigor
    self.phase = phase
    self.cell = cellOf
    self.cellClasses = cellClass
    self.fieldID = fieldID
    self.riverDistance = riverDistance
    self.riverHalfWidth = Float(halfWidth)
  }

  /// The water mask (1 water, 0 land) at flood stage `stage` in [0, 1]: permanent water plus the
  /// lowest `stage`·capacity floodable pixels.
  public func water(stage: Double) -> [UInt8] {
    var mask = classes.map { $0 == LandCover.water.rawValue ? UInt8(1) : 0 }
    let count = Int(Double(floodCapacity) * min(max(stage, 0), 1))
    for k in 0..<count { mask[Int(floodOrder[k])] = 1 }
    return mask
  }

  /// Fraction of pixels of each class.
  public func classFractions() -> [LandCover: Double] {
    var counts = [Int](repeating: 0, count: 256)
    for c in classes { counts[Int(c)] += 1 }
    var out: [LandCover: Double] = [:]
    for cls in LandCover.allCases {
      out[cls] = Double(counts[Int(cls.rawValue)]) / Double(classes.count)
    }
    return out
  }
}
