import TandemBase

/// Smooth random fields (value noise summed over octaves) used for terrain, patch boundaries,
/// clouds, haze and per-sensor texture. Lattice values come from a `SeededGenerator`, so a field
/// is a pure function of its generator state.
enum NoiseField {
  /// Fractal value noise over a `width`×`height` grid, roughly in [-1, 1]. `cell` is the lattice
  /// spacing of the coarsest octave in pixels; each further octave halves it and its amplitude
  /// is multiplied by `persistence`.
  static func fbm(
    width: Int, height: Int, cell: Double, octaves: Int, persistence: Float = 0.5,
    rng: inout SeededGenerator
  ) -> [Float] {
    var out = [Float](repeating: 0, count: width * height)
    var amplitude: Float = 1
    var total: Float = 0
    var spacing = max(cell, 1)
    for _ in 0..<octaves {
      addValueNoise(
        &out, width: width, height: height, cell: spacing, amplitude: amplitude, rng: &rng)
      total += amplitude
      amplitude *= persistence
      spacing = max(spacing / 2, 1)
    }
    let scale = 1 / total
    for i in out.indices { out[i] *= scale }
    return out
  }

  /// Adds one octave of smoothstep-interpolated value noise with lattice spacing `cell`.
  private static func addValueNoise(
    _ out: inout [Float], width: Int, height: Int, cell: Double, amplitude: Float,
    rng: inout SeededGenerator
  ) {
    let gw = Int(Double(width) / cell) + 2
    let gh = Int(Double(height) / cell) + 2
    var lattice = [Float](repeating: 0, count: gw * gh)
    for i in lattice.indices { lattice[i] = rng.nextUnitFloat() * 2 - 1 }
    // Per-column and per-row lattice index and smoothed weight, computed once.
    var ix = [Int](repeating: 0, count: width)
    var tx = [Float](repeating: 0, count: width)
    for x in 0..<width {
      let f = Double(x) / cell
      let i = Int(f)
      ix[x] = i
      tx[x] = smooth(Float(f - Double(i)))
    }
    var iy = [Int](repeating: 0, count: height)
    var ty = [Float](repeating: 0, count: height)
    for y in 0..<height {
      let f = Double(y) / cell
      let i = Int(f)
      iy[y] = i
      ty[y] = smooth(Float(f - Double(i)))
    }
    lattice.withUnsafeBufferPointer { g in
      out.withUnsafeMutableBufferPointer { o in
        for y in 0..<height {
          let r0 = iy[y] * gw
          let r1 = r0 + gw
          let wy = ty[y]
          for x in 0..<width {
            let c = ix[x]
            let wx = tx[x]
            let top = g[r0 + c] + (g[r0 + c + 1] - g[r0 + c]) * wx
            let bottom = g[r1 + c] + (g[r1 + c + 1] - g[r1 + c]) * wx
            o[y * width + x] += amplitude * (top + (bottom - top) * wy)
          }
        }
      }
    }
  }

  @inline(__always) static func smooth(_ t: Float) -> Float { t * t * (3 - 2 * t) }

  /// Value at quantile `q` (0…1) of `values` (by sorting a copy).
  static func quantile(_ values: [Float], _ q: Double) -> Float {
    guard !values.isEmpty else { return 0 }
    let sorted = values.sorted()
    let i = min(sorted.count - 1, max(0, Int(Double(sorted.count - 1) * q)))
    return sorted[i]
  }
}

extension SeededGenerator {
  /// A uniform Double in [lo, hi).
  mutating func uniform(_ lo: Double, _ hi: Double) -> Double { lo + (hi - lo) * nextUnitDouble() }

  /// A uniform integer in `range` (deterministic: no rejection sampling from the stdlib).
  mutating func int(in range: ClosedRange<Int>) -> Int {
    range.lowerBound + Int(next() % UInt64(range.count))
  }

  /// A Gamma(shape, 1/shape) sample (mean 1): multiplicative speckle of an L-look intensity
  /// image. Marsaglia & Tsang (2000); `shape` ≥ 1.
  mutating func gammaUnitMean(shape: Double) -> Double {
    let d = shape - 1.0 / 3.0
    let c = 1 / (9 * d).squareRoot()
    while true {
      let x = nextGaussian()
      let v0 = 1 + c * x
      if v0 <= 0 { continue }
      let v = v0 * v0 * v0
      let u = nextUnitDouble()
      if u < 1 - 0.0331 * x * x * x * x { return d * v / shape }
      if _logD(u) < 0.5 * x * x + d * (1 - v + _logD(v)) { return d * v / shape }
    }
  }
}

#if canImport(Glibc)
  import Glibc
  @inline(__always) func _logD(_ x: Double) -> Double { Glibc.log(x) }
#else
  import Darwin
  @inline(__always) func _logD(_ x: Double) -> Double { Darwin.log(x) }
#endif
