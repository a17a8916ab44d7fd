import Foundation
import TandemBase

/// Version of the fixture world's appearance model. Both versions share the land-cover layout
/// (terrain, river, patches, town, roads, lakes) for a given seed.
public enum WorldVersion: Int, CaseIterable, Sendable, Codable {
  /// Each class has its own spectrum and backscatter with mild texture: classes are separable
  /// from per-pixel values and window statistics (the world of the bundled catalog).
  case v1 = 1
  /// Classes are made of shared materials whose spectra overlap (soil in fallow fields, bare
  /// ground and tiled roofs; green vegetation in crops, meadows, gardens and canopy), with
  /// heterogeneity drawn per patch, so the class is carried by spatial structure: field parcels
  /// with margins and furrows, urban blocks and streets, tree crowns and gaps, meadow mottling,
  /// sand bars along the river. S1 look-alikes of water (sand, asphalt) and a longer flood.
  case v2 = 2
}

/// What the surface of a pixel is made of in a version-2 world (shared by both sensors).
enum Material: UInt8, CaseIterable {
  case water = 0
  /// A lit tree crown (attribute: lighting, 0 shaded side … 1 sun side).
  case canopy
  /// Gap between crowns: shadow and understory.
  case canopyGap
  /// A cultivated field following its crop calendar.
  case crop
  /// A ploughed fallow field (attribute: furrow phase).
  case fallow
  /// Field margin / hedge strip.
  case margin
  /// Meadow (attribute: dryness).
  case grass
  /// Rock outcrop (attribute: brightness).
  case rock
  /// Bare soil (attribute: brightness).
  case soil
  /// Sand (river bars, dunes): bright in S2, smooth and dark in S1.
  case sand
  /// Concrete / metal roof.
  case roofBright
  /// Clay-tile roof (spectrally close to soil).
  case roofTile
  /// Dark roof.
  case roofDark
  /// Street, road, parking: dark in S2 and, being smooth, dark in S1.
  case asphalt
  /// Urban garden, lawn, street trees.
  case garden
}

/// A cheap deterministic hash of three words (SplitMix64 finalizer), for per-object draws
/// (crowns, buildings, fields) that would be too many for one generator per object.
@inline(__always)
func hashWords(_ a: UInt64, _ b: UInt64, _ c: UInt64) -> UInt64 {
  var z = a &+ 0x9E37_79B9_7F4A_7C15 &* (b &+ 1) ^ (c &* 0xD1B5_4A32_D192_ED03)
  z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
  z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
  return z ^ (z >> 31)
}

/// A uniform value in [0, 1) from the low 24 bits of a hash (shift the hash for other draws).
@inline(__always)
func unit(_ h: UInt64) -> Float { Float(h & 0xFF_FFFF) / Float(1 << 24) }

extension Landscape {
  /// The landscape of a tile in world version `version`.
  public init(size: Int, seed: UInt64, version: WorldVersion) {
    self.init(size: size, seed: seed)
    if version == .v2 { refineForContext(seed: seed) }
  }

  /// Version 2: assigns every pixel a material from the patch it belongs to, with structure
  /// drawn per patch (see ``WorldVersion/v2``). Labels change only where sand bars are added
  /// along the river (they become `bare`). Random streams 40–43 of the tile seed; the version-1
  /// draws are untouched.
  mutating func refineForContext(seed: UInt64) {
    let n = size * size
    var rng = SeededGenerator(seed: seed, stream: 40)
    let salt = rng.next()

    // Per-patch heterogeneity: how open a forest is, how varied a field mosaic, how dry and
    // rocky a meadow, how dense a town, which materials bare ground is made of.
    struct Patch {
      var crownSpacing: Float
      var crownRadius: Float
      var cropPhase: Float
      var phaseSpread: Float
      var fallowShare: Float
      var dryness: Float
      var dryAmplitude: Float
      var rockShare: Float
      var blockSize: Float
      var blockCos: Float
      var blockSin: Float
      var buildingFill: Float
      var tileRoofShare: Float
      var sandShare: Float
      var rockShareBare: Float
    }
    var patches: [Patch] = []
    for _ in cellClasses.indices {
      let spacing = Float(rng.uniform(3.5, 7))
      let angle = Float(rng.uniform(0, .pi / 2))
      patches.append(
        Patch(
          crownSpacing: spacing, crownRadius: spacing * Float(rng.uniform(0.38, 0.62)),
          cropPhase: Float(rng.nextUnitDouble()), phaseSpread: Float(rng.uniform(0.1, 1)),
          fallowShare: Float(rng.uniform(0, 0.45)), dryness: Float(rng.uniform(0.1, 0.8)),
          dryAmplitude: Float(rng.uniform(0.15, 0.6)), rockShare: Float(rng.uniform(0, 0.3)),
          blockSize: Float(rng.uniform(8, 15)), blockCos: cosf(angle), blockSin: sinf(angle),
          buildingFill: Float(rng.uniform(0.3, 0.8)), tileRoofShare: Float(rng.uniform(0, 1)),
          sandShare: Float(rng.uniform(0, 0.5)), rockShareBare: Float(rng.uniform(0.1, 0.5))))
    }
    var fieldRNG = SeededGenerator(seed: seed, stream: 41)
    let mottle = NoiseField.fbm(
      width: size, height: size, cell: 14, octaves: 3, persistence: 0.6, rng: &fieldRNG)
    let patchy = NoiseField.fbm(width: size, height: size, cell: 7, octaves: 2, rng: &fieldRNG)
    let bank = NoiseField.fbm(width: size, height: size, cell: 40, octaves: 2, rng: &fieldRNG)

    var material = [UInt8](repeating: Material.grass.rawValue, count: n)
    var attribute = [Float](repeating: 0.5, count: n)
    for y in 0..<size {
      for x in 0..<size {
        let i = y * size + x
        let c = Int(cell[i])
        let p = patches[c]
        var m = Material.grass
        var a: Float = 0.5
        switch LandCover(rawValue: classes[i]) ?? .grassland {
        case .water:
          m = .water
        case .forest:
          // Crowns on a jittered grid: each grid cell holds one crown; a pixel inside a crown
          // is canopy, lit on the side facing the sun (north-west), else a gap.
          let s = p.crownSpacing
          let gx = Int((Float(x) / s).rounded(.down))
          let gy = Int((Float(y) / s).rounded(.down))
          var best: Float = .infinity
          var lit: Float = 0.5
          for dy in -1...1 {
            for dx in -1...1 {
              let h = hashWords(
                salt, UInt64(bitPattern: Int64(gx + dx)), UInt64(bitPattern: Int64(gy + dy)))
              let cx = (Float(gx + dx) + 0.15 + 0.7 * unit(h)) * s
              let cy = (Float(gy + dy) + 0.15 + 0.7 * unit(h >> 24)) * s
              let r = p.crownRadius * (0.75 + 0.5 * unit(h >> 7))
              let ex = Float(x) + 0.5 - cx
              let ey = Float(y) + 0.5 - cy
              let d = (ex * ex + ey * ey).squareRoot() / r
              if d < best {
                best = d
                lit = min(max(0.5 - 0.5 * (ex + ey) / (1.414 * r), 0), 1)
              }
            }
          }
          if best < 1 {
            m = .canopy
            a = lit
          } else {
            m = .canopyGap
            a = unit(hashWords(salt, UInt64(i), 7))
          }
        case .cropland:
          if cellClasses[c] == .cropland {
            let f = fieldID[i]
            let h = hashWords(salt, UInt64(f), 3)
            if unit(h) < p.fallowShare {
              m = .fallow
              // Furrows: stripes 2–3 px apart along one of the field's axes.
              let along = (h >> 30) & 1 == 0 ? x : y
              let period: Float = (h >> 31) & 1 == 0 ? 2 : 3
              a = 0.5 + 0.5 * sinf(2 * .pi * Float(along) / period)
            } else {
              m = .crop
              // The patch's crops share a calendar, spread by the patch's diversity.
              let own = unit(h >> 11)
              phase[i] = (p.cropPhase + p.phaseSpread * (own - 0.5) + 1)
                .truncatingRemainder(dividingBy: 1)
            }
          } else {
            m = .crop
          }
        case .grassland:
          if cellClasses[c] == .cropland {
            m = .margin  // hedges and field margins
          } else if cellClasses[c] == .urban {
            m = .garden  // parks
          } else if patchy[i] > 0.55 - 0.9 * p.rockShare {
            m = .rock  // outcrops and worn ground in meadows
            a = 0.5 + 0.5 * mottle[i]
          } else {
            m = .grass
            a = min(max(p.dryness + p.dryAmplitude * 1.6 * mottle[i], 0), 1)
          }
        case .urban:
          if cellClasses[c] != .urban {
            m = .asphalt  // a road across the countryside
          } else {
            // Blocks on a grid rotated per patch: streets 2 px wide, buildings inside a garden
            // margin, roof material per building.
            let fx = Float(x)
            let fy = Float(y)
            let u = fx * p.blockCos + fy * p.blockSin + 1000
            let v = -fx * p.blockSin + fy * p.blockCos + 1000
            let bu = (u / p.blockSize).rounded(.down)
            let bv = (v / p.blockSize).rounded(.down)
            let pu = u - bu * p.blockSize
            let pv = v - bv * p.blockSize
            if pu < 2 || pv < 2 {
              m = .asphalt
            } else {
              let h = hashWords(
                salt, UInt64(bitPattern: Int64(bu)), UInt64(bitPattern: Int64(bv)) ^ UInt64(c))
              // Buildings split the block in two along u half of the time.
              let inner = p.blockSize - 2
              let margin = inner * (1 - p.buildingFill.squareRoot()) / 2
              let qu = pu - 2
              let qv = pv - 2
              let split = (h >> 3) & 1 == 1 && abs(qu - inner / 2) < 0.75
              if qu < margin || qv < margin || qu > inner - margin || qv > inner - margin || split {
                m = .garden
              } else {
                let second = (h >> 3) & 1 == 1 && qu > inner / 2
                let r = unit(second ? h >> 9 : h >> 21)
                m = r < p.tileRoofShare * 0.8 ? .roofTile : (r < 0.85 ? .roofBright : .roofDark)
                a = unit(h >> 33)
              }
            }
          }
        case .bare:
          let t = mottle[i]
          if t > 0.6 - 1.2 * p.sandShare {
            m = .sand
          } else if patchy[i] > 0.5 - p.rockShareBare {
            m = .rock
          } else {
            m = .soil
          }
          a = 0.5 + 0.5 * patchy[i]
        }
        // Sand and gravel bars along the river banks (in places): bare ground, bright in S2,
        // dark in S1.
        if m != .water && riverDistance[i] < riverHalfWidth + 3.5 && bank[i] > 0.05 {
          m = .sand
          a = 0.5
          classes[i] = LandCover.bare.rawValue
        }
        material[i] = m.rawValue
        attribute[i] = a
      }
    }
    self.material = material
    self.attribute = attribute
  }
}
