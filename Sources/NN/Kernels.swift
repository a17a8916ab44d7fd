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

  /// (Σ d[i], Σ d[i]·q[i]).
  static func sumAndDot(
    _ d: UnsafePointer<Float>, _ q: UnsafePointer<Float>, _ n: Int
  ) -> (Float, Float) {
    var a = V.zero
    var b = V.zero
    var i = 0
    while i + 8 <= n {
      let dv = load(d, i)
      a += dv
      b += dv * load(q, i)
      i += 8
    }
    var s = a.sum()
    var t = b.sum()
    while i < n {
      s += d[i]
      t += d[i] * q[i]
      i += 1
    }
    return (s, t)
  }

  /// q = (x − m)·k; y = q·g + b.
  static func normalize(
    _ x: UnsafePointer<Float>, _ q: UnsafeMutablePointer<Float>, _ y: UnsafeMutablePointer<Float>,
    _ n: Int, mean m: Float, invStd k: Float, gamma g: Float, beta b: Float
  ) {
    let (mv, kv, gv, bv) = (V(repeating: m), V(repeating: k), V(repeating: g), V(repeating: b))
    var i = 0
    while i + 8 <= n {
      let v = (load(x, i) - mv) * kv
      store(v, q, i)
      store(v * gv + bv, y, i)
      i += 8
    }
    while i < n {
      let v = (x[i] - m) * k
      q[i] = v
      y[i] = v * g + b
      i += 1
    }
  }

  /// dx = k·(d − a − q·c).
  static func batchNormBackward(
    _ d: UnsafePointer<Float>, _ q: UnsafePointer<Float>, _ dx: UnsafeMutablePointer<Float>,
    _ n: Int, k: Float, a: Float, c: Float
  ) {
    let (kv, av, cv) = (V(repeating: k), V(repeating: a), V(repeating: c))
    var i = 0
    while i + 8 <= n {
      store(kv * (load(d, i) - av - load(q, i) * cv), dx, i)
      i += 8
    }
    while i < n {
      dx[i] = k * (d[i] - a - q[i] * c)
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
        store(pointwiseMax(load(x, i) + load(z, i), .zero), y, i)
        i += 8
      }
      while i < range.upperBound {
        y[i] = max(x[i] + z[i], 0)
        i += 1
      }
    } else {
      while i + 8 <= range.upperBound {
        store(pointwiseMax(load(x, i), .zero), y, i)
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
