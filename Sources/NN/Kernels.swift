/// Vectorized inner loops (SIMD8, i.e. one AVX register) for the memory-bound layers. Float
/// reductions are not auto-vectorized (the compiler keeps the sequential rounding order), so
/// the sums here use explicit vector accumulators.
enum Kernels {
  typealias V = SIMD8<Float>

  @inline(__always)
  static func load(_ p: UnsafePointer<Float>, _ i: Int) -> V {
    UnsafeRawPointer(p + i).loadUnaligned(as: V.self)
  }

  @inline(__always)
  static func store(_ v: V, _ p: UnsafeMutablePointer<Float>, _ i: Int) {
    UnsafeMutableRawPointer(p + i).storeBytes(of: v, as: V.self)
  }

  /// max(v, 0) lane-wise as a compare and blend. (The standard library's generic
  /// `pointwiseMax` is not inlined and loops over lanes: it took 10 % of a training step.)
  @inline(__always)
  static func positivePart(_ v: V) -> V {
    v.replacing(with: 0, where: v .< 0)
  }

  /// Σ p[i].
  static func sum(_ p: UnsafePointer<Float>, _ n: Int) -> Float {
    var a = V.zero
    var b = V.zero
    var i = 0
    while i + 16 <= n {
      a += load(p, i)
      b += load(p, i + 8)
      i += 16
    }
    var s = (a + b).sum()
    while i < n {
      s += p[i]
      i += 1
    }
    return s
  }

  /// (Σ (p[i] − s), Σ (p[i] − s)²) in one pass: with a shift s close to the data (a sample of
  /// it), the variance from these two sums does not suffer the cancellation of Σx² − (Σx)²/n.
  static func shiftedSums(_ p: UnsafePointer<Float>, _ n: Int, shift s: Float) -> (Float, Float) {
    var a = V.zero
    var b = V.zero
    var a2 = V.zero
    var b2 = V.zero
    let sv = V(repeating: s)
    var i = 0
    while i + 16 <= n {
      let d0 = load(p, i) - sv
      let d1 = load(p, i + 8) - sv
      a += d0
      b += d1
      a2 += d0 * d0
      b2 += d1 * d1
      i += 16
    }
    var t = (a + b).sum()
    var t2 = (a2 + b2).sum()
    while i < n {
      let d = p[i] - s
      t += d
      t2 += d * d
      i += 1
    }
    return (t, t2)
  }

  /// Σ (p[i] − m)².
  static func sumSquaredDeviation(_ p: UnsafePointer<Float>, _ n: Int, _ m: Float) -> Float {
    var a = V.zero
    var b = V.zero
    let mv = V(repeating: m)
    var i = 0
    while i + 16 <= n {
      let d0 = load(p, i) - mv
      let d1 = load(p, i + 8) - mv
      a += d0 * d0
      b += d1 * d1
      i += 16
    }
    var s = (a + b).sum()
    while i < n {
      s += (p[i] - m) * (p[i] - m)
      i += 1
    }
    return s
  }

  /// y = x·k + s (+ r), then max(·, 0) when `relu`.
  static func affine(
    _ x: UnsafePointer<Float>, adding r: UnsafePointer<Float>?, _ y: UnsafeMutablePointer<Float>,
    _ n: Int, scale k: Float, shift s: Float, relu: Bool
  ) {
    let (kv, sv) = (V(repeating: k), V(repeating: s))
    var i = 0
    switch (r, relu) {
    case (let r?, true):
      while i + 8 <= n {
        store(positivePart(load(x, i) * kv + sv + load(r, i)), y, i)
        i += 8
      }
      while i < n {
        y[i] = max(x[i] * k + s + r[i], 0)
        i += 1
      }
    case (let r?, false):
      while i + 8 <= n {
        store(load(x, i) * kv + sv + load(r, i), y, i)
        i += 8
      }
      while i < n {
        y[i] = x[i] * k + s + r[i]
        i += 1
      }
    case (nil, true):
      while i + 8 <= n {
        store(positivePart(load(x, i) * kv + sv), y, i)
        i += 8
      }
      while i < n {
        y[i] = max(x[i] * k + s, 0)
        i += 1
      }
    case (nil, false):
      while i + 8 <= n {
        store(load(x, i) * kv + sv, y, i)
        i += 8
      }
      while i < n {
        y[i] = x[i] * k + s
        i += 1
      }
    }
  }

  /// With g = (mask > 0 ? d : 0) (or d without mask) and x̂ = (x − μ)·istd: returns (Σg, Σg·x̂),
  /// writing g to `store` when given.
  static func batchNormSums(
    _ d: UnsafePointer<Float>, mask: UnsafePointer<Float>?, store out: UnsafeMutablePointer<Float>?,
    x: UnsafePointer<Float>, _ n: Int, mean mu: Float, invStd istd: Float
  ) -> (Float, Float) {
    let (mv, kv) = (V(repeating: mu), V(repeating: istd))
    var a = V.zero
    var b = V.zero
    var i = 0
    while i + 8 <= n {
      var g = load(d, i)
      if let mask { g = g.replacing(with: 0, where: load(mask, i) .<= 0) }
      if let out { store(g, out, i) }
      a += g
      b += g * ((load(x, i) - mv) * kv)
      i += 8
    }
    var s = a.sum()
    var t = b.sum()
    while i < n {
      var g = d[i]
      if let mask, mask[i] <= 0 { g = 0 }
      out?[i] = g
      s += g
      t += g * ((x[i] - mu) * istd)
      i += 1
    }
    return (s, t)
  }

  /// dx = k·(g − a − x̂·c) with g = (mask > 0 ? d : 0) (or d) and x̂ = (x − μ)·istd.
  static func batchNormBackward(
    _ d: UnsafePointer<Float>, mask: UnsafePointer<Float>?, x: UnsafePointer<Float>,
    _ dx: UnsafeMutablePointer<Float>, _ n: Int, mean mu: Float, invStd istd: Float, k: Float,
    a: Float, c: Float
  ) {
    let (mv, iv, kv, av, cv) = (
      V(repeating: mu), V(repeating: istd), V(repeating: k), V(repeating: a), V(repeating: c)
    )
    var i = 0
    while i + 8 <= n {
      var g = load(d, i)
      if let mask { g = g.replacing(with: 0, where: load(mask, i) .<= 0) }
      store(kv * (g - av - (load(x, i) - mv) * iv * cv), dx, i)
      i += 8
    }
    while i < n {
      var g = d[i]
      if let mask, mask[i] <= 0 { g = 0 }
      dx[i] = k * (g - a - (x[i] - mu) * istd * c)
      i += 1
    }
  }

  /// y = max(x, 0) (or max(x + z, 0) when `z` is given).
  static func relu(
    _ x: UnsafePointer<Float>, adding z: UnsafePointer<Float>? = nil,
    _ y: UnsafeMutablePointer<Float>, _ range: Range<Int>
  ) {
    var i = range.lowerBound
    if let z {
      while i + 8 <= range.upperBound {
        store(positivePart(load(x, i) + load(z, i)), y, i)
        i += 8
      }
      while i < range.upperBound {
        y[i] = max(x[i] + z[i], 0)
        i += 1
      }
    } else {
      while i + 8 <= range.upperBound {
        store(positivePart(load(x, i)), y, i)
        i += 8
      }
      while i < range.upperBound {
        y[i] = max(x[i], 0)
        i += 1
      }
    }
  }

  /// dx = y > 0 ? d : 0.
  static func reluBackward(
    _ y: UnsafePointer<Float>, _ d: UnsafePointer<Float>, _ dx: UnsafeMutablePointer<Float>,
    _ range: Range<Int>
  ) {
    var i = range.lowerBound
    while i + 8 <= range.upperBound {
      store(load(d, i).replacing(with: 0, where: load(y, i) .<= 0), dx, i)
      i += 8
    }
    while i < range.upperBound {
      dx[i] = y[i] > 0 ? d[i] : 0
      i += 1
    }
  }

  /// d[q] = s[2q] for q < n (strided im2col rows).
  static func gatherStride2(_ s: UnsafePointer<Float>, _ d: UnsafeMutablePointer<Float>, _ n: Int) {
    var q = 0
    // Reads s[2q ..< 2q + 16]; q + 8 < n keeps that within s[0 ... 2(n − 1)].
    while q + 8 < n {
      store(UnsafeRawPointer(s + 2 * q).loadUnaligned(as: SIMD16<Float>.self).evenHalf, d, q)
      q += 8
    }
    if q < n && n > 8 {
      // The last 8 outputs, overlapping the loop's: the odd lanes of s[2q′ − 1 ..< 2q′ + 15]
      // with q′ = n − 8, which ends at s[2(n − 1)] and starts inside s since n > 8.
      let last = n - 8
      store(
        UnsafeRawPointer(s + 2 * last - 1).loadUnaligned(as: SIMD16<Float>.self).oddHalf, d, last)
      return
    }
    while q < n {
      d[q] = s[2 * q]
      q += 1
    }
  }

  /// d[2q] += s[q] for q < n (strided col2im rows); d[2q + 1] is left as it is.
  static func scatterAddStride2(
    _ s: UnsafePointer<Float>, _ d: UnsafeMutablePointer<Float>, _ n: Int
  ) {
    var q = 0
    // Touches d[2q ..< 2q + 16]; q + 8 < n keeps that within d[0 ... 2(n − 1)].
    while q + 8 < n {
      let p = UnsafeMutableRawPointer(d + 2 * q)
      var v = p.loadUnaligned(as: SIMD16<Float>.self)
      v.evenHalf += load(s, q)
      p.storeBytes(of: v, as: SIMD16<Float>.self)
      q += 8
    }
    while q < n {
      d[2 * q] += s[q]
      q += 1
    }
  }

  /// c = a + b.
  static func add(
    _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ c: UnsafeMutablePointer<Float>,
    _ range: Range<Int>
  ) {
    var i = range.lowerBound
    while i + 8 <= range.upperBound {
      store(load(a, i) + load(b, i), c, i)
      i += 8
    }
    while i < range.upperBound {
      c[i] = a[i] + b[i]
      i += 1
    }
  }
}
