import Foundation
import TandemBase

/// SimCLR augmentations (Chen et al. 2020, adapted to multispectral/SAR windows).
///
/// Colour jitter is applied **equally to all bands** by default: every band gets the same affine
/// map `x ↦ a·x + b`, so the relations between bands that land cover depends on survive.
/// `perBandJitter` draws a separate map per band (an ablation; it destroyed those relations and
/// dropped SimCLR to random-init level in the prototype).
public struct AugmentationConfig: Codable, Sendable, Equatable {
  /// Random resized crop: area fraction range of the crop before resizing back.
  public var cropScaleMin: Double = 0.35
  public var cropScaleMax: Double = 1.0
  /// Aspect ratio range of the crop (log-uniform).
  public var cropRatioMin: Double = 3.0 / 4.0
  public var cropRatioMax: Double = 4.0 / 3.0
  /// Horizontal and vertical flips, each with probability ½.
  public var flips: Bool = true
  /// Rotation by a uniform multiple of 90°.
  public var rot90: Bool = true
  /// Probability of colour jitter; brightness multiplies by `1 ± brightness`, contrast scales
  /// around the window mean by `1 ± contrast`.
  public var jitterProbability: Double = 0.8
  public var brightness: Double = 0.4
  public var contrast: Double = 0.4
  /// Ablation: a separate jitter per band.
  public var perBandJitter: Bool = false
  /// Probability and standard deviation range of additive Gaussian noise.
  public var noiseProbability: Double = 0.5
  public var noiseStdMax: Double = 0.1
  /// Probability and σ range (pixels) of Gaussian blur.
  public var blurProbability: Double = 0.5
  public var blurSigmaMin: Double = 0.1
  public var blurSigmaMax: Double = 1.5

  public init() {}

  /// No augmentation at all (identity views); for tests.
  public static var none: AugmentationConfig {
    var c = AugmentationConfig()
    c.cropScaleMin = 1
    c.cropRatioMin = 1
    c.cropRatioMax = 1
    c.flips = false
    c.rot90 = false
    c.jitterProbability = 0
    c.noiseProbability = 0
    c.blurProbability = 0
    return c
  }

  func validationError() -> String? {
    if !(cropScaleMin > 0 && cropScaleMin <= cropScaleMax && cropScaleMax <= 1) {
      return "augmentation crop scale must satisfy 0 < min ≤ max ≤ 1"
    }
    // Bounded above: the crop's sides are `Int(sqrt(area × ratio))`, which traps for a ratio
    // such as 1e40 (and 1/ratio likewise).
    if !(cropRatioMin >= 0.01 && cropRatioMin <= cropRatioMax && cropRatioMax <= 100) {
      return "augmentation crop ratio must satisfy 0.01 ≤ min ≤ max ≤ 100"
    }
    for p in [jitterProbability, noiseProbability, blurProbability] where !(0...1).contains(p) {
      return "augmentation probabilities must be in 0…1"
    }
    if brightness < 0 || brightness >= 1 || contrast < 0 || contrast >= 1 {
      return "augmentation brightness/contrast must be in [0, 1)"
    }
    // Blur σ is bounded (and NaN refused): the kernel radius is `Int(2σ)` and its taps are
    // allocated, so σ = 1e300 trapped; 64 px is far wider than any useful blur.
    if noiseStdMax < 0 || !(0 <= blurSigmaMin && blurSigmaMin <= blurSigmaMax)
      || !(blurSigmaMax <= 64)
    {
      return "augmentation noise/blur ranges are invalid (blur σ must be in 0…64)"
    }
    return nil
  }
}

/// Applies ``AugmentationConfig`` to `[C, H, W]` windows. Every random draw comes from the
/// generator passed in, so a view is a pure function of (input, generator state); the trainer
/// keys the generator by (seed, step, sample, view).
public struct Augmenter: Sendable {
  public let config: AugmentationConfig

  public init(config: AugmentationConfig) { self.config = config }

  /// Writes one augmented view of `input` (`channels × size × size`) to `output` (same shape).
  /// `scratch` must hold at least `channels × size × size` floats.
  public func apply(
    _ input: UnsafePointer<Float>, channels: Int, size: Int,
    into output: UnsafeMutablePointer<Float>,
    scratch: UnsafeMutablePointer<Float>, rng: inout SeededGenerator
  ) {
    let plane = size * size
    // 1. Random resized crop (bilinear, align-corners = false), written to scratch.
    let area = Double(size * size)
    var cw = size
    var ch = size
    var cx = 0
    var cy = 0
    for _ in 0..<10 {
      let target = area * uniform(&rng, config.cropScaleMin, config.cropScaleMax)
      let logRatio = uniform(&rng, log(config.cropRatioMin), log(config.cropRatioMax))
      let ratio = exp(logRatio)
      let w = Int((target * ratio).squareRoot().rounded())
      let h = Int((target / ratio).squareRoot().rounded())
      if w >= 1 && h >= 1 && w <= size && h <= size {
        cw = w
        ch = h
        cx = Int(rng.next() % UInt64(size - w + 1))
        cy = Int(rng.next() % UInt64(size - h + 1))
        break
      }
    }
    let sx = Double(cw) / Double(size)
    let sy = Double(ch) / Double(size)
    for c in 0..<channels {
      let src = input + c * plane
      let dst = scratch + c * plane
      for oy in 0..<size {
        let fy = min(max((Double(oy) + 0.5) * sy - 0.5, 0), Double(ch - 1))
        let y0 = Int(fy)
        let y1 = min(y0 + 1, ch - 1)
        let wy = Float(fy - Double(y0))
        for ox in 0..<size {
          let fx = min(max((Double(ox) + 0.5) * sx - 0.5, 0), Double(cw - 1))
          let x0 = Int(fx)
          let x1 = min(x0 + 1, cw - 1)
          let wx = Float(fx - Double(x0))
          let r0 = src + (cy + y0) * size + cx
          let r1 = src + (cy + y1) * size + cx
          let top = r0[x0] + (r0[x1] - r0[x0]) * wx
          let bottom = r1[x0] + (r1[x1] - r1[x0]) * wx
          dst[oy * size + ox] = top + (bottom - top) * wy
        }
      }
    }
    // 2. Flips and rot90 as one index permutation, scratch → output.
    let flipX = config.flips && rng.next() & 1 == 1
    let flipY = config.flips && rng.next() & 1 == 1
    let turns = config.rot90 ? Int(rng.next() % 4) : 0
    for c in 0..<channels {
      let src = scratch + c * plane
      let dst = output + c * plane
      for y in 0..<size {
        for x in 0..<size {
          var (u, v) = (x, y)
          for _ in 0..<turns { (u, v) = (size - 1 - v, u) }
          if flipX { u = size - 1 - u }
          if flipY { v = size - 1 - v }
          dst[v * size + u] = src[y * size + x]
        }
      }
    }
    // 3. Brightness/contrast jitter: x ↦ (x − m)·c·b + m·b, one (b, c, m) for all bands by default.
    if uniform(&rng, 0, 1) < config.jitterProbability {
      let shared = jitterParameters(&rng)
      var mean = 0.0
      if !config.perBandJitter {
        for i in 0..<(channels * plane) { mean += Double(output[i]) }
        mean /= Double(channels * plane)
      }
      for c in 0..<channels {
        let (b, k) = config.perBandJitter ? jitterParameters(&rng) : shared
        var m = mean
        if config.perBandJitter {
          m = 0
          for i in 0..<plane { m += Double(output[c * plane + i]) }
          m /= Double(plane)
        }
        let scale = Float(b * k)
        let offset = Float(m * b * (1 - k))
        let p = output + c * plane
        for i in 0..<plane { p[i] = p[i] * scale + offset }
      }
    }
    // 4. Gaussian blur (separable, same kernel for all bands).
    if uniform(&rng, 0, 1) < config.blurProbability {
      let sigma = uniform(&rng, config.blurSigmaMin, config.blurSigmaMax)
      blur(output, channels: channels, size: size, sigma: sigma, scratch: scratch)
    }
    // 5. Additive Gaussian noise.
    if uniform(&rng, 0, 1) < config.noiseProbability {
      let std = uniform(&rng, 0, config.noiseStdMax)
      for i in 0..<(channels * plane) { output[i] += Float(std * rng.nextGaussian()) }
    }
  }

  /// (brightness factor, contrast factor).
  private func jitterParameters(_ rng: inout SeededGenerator) -> (Double, Double) {
    (
      uniform(&rng, 1 - config.brightness, 1 + config.brightness),
      uniform(&rng, 1 - config.contrast, 1 + config.contrast)
    )
  }

  private func blur(
    _ data: UnsafeMutablePointer<Float>, channels: Int, size: Int, sigma: Double,
    scratch: UnsafeMutablePointer<Float>
  ) {
    let radius = max(1, Int((2 * sigma).rounded(.up)))
    var kernel = (-radius...radius).map { Float(exp(-Double($0 * $0) / (2 * sigma * sigma))) }
    let total = kernel.reduce(0, +)
    kernel = kernel.map { $0 / total }
    let plane = size * size
    @inline(__always) func clamp(_ i: Int) -> Int { min(max(i, 0), size - 1) }
    for c in 0..<channels {
      let p = data + c * plane
      let t = scratch + c * plane
      for y in 0..<size {
        for x in 0..<size {
          var s: Float = 0
          for k in -radius...radius { s += kernel[k + radius] * p[y * size + clamp(x + k)] }
          t[y * size + x] = s
        }
      }
      for y in 0..<size {
        for x in 0..<size {
          var s: Float = 0
          for k in -radius...radius { s += kernel[k + radius] * t[clamp(y + k) * size + x] }
          p[y * size + x] = s
        }
      }
    }
  }

  private func uniform(_ rng: inout SeededGenerator, _ lo: Double, _ hi: Double) -> Double {
    lo + (hi - lo) * rng.nextUnitDouble()
  }
}
