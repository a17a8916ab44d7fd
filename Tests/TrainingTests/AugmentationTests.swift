import TandemBase
import Testing

@testable import Training

@Suite struct AugmentationTests {
  let channels = 4
  let size = 24

  func input() -> [Float] {
    var rng = SeededGenerator(seed: 5)
    return (0..<(channels * size * size)).map { i in
      // Distinct, non-degenerate bands: band b has offset 2b, so band differences are nonzero.
      Float(i / (size * size)) * 2 + Float(rng.nextUnitDouble())
    }
  }

  func augment(_ x: [Float], _ config: AugmentationConfig, key: UInt64) -> [Float] {
    var out = [Float](repeating: .nan, count: x.count)
    var scratch = [Float](repeating: 0, count: x.count)
    var rng = SeededGenerator(seed: 1, stream: key)
    x.withUnsafeBufferPointer { src in
      out.withUnsafeMutableBufferPointer { dst in
        scratch.withUnsafeMutableBufferPointer { s in
          Augmenter(config: config).apply(
            src.baseAddress!, channels: channels, size: size, into: dst.baseAddress!,
            scratch: s.baseAddress!, rng: &rng)
        }
      }
    }
    return out
  }

  @Test(arguments: 0..<6 as Range<UInt64>)
  func viewsAreDeterministicFiniteAndVaried(key: UInt64) {
    let x = input()
    let a = augment(x, AugmentationConfig(), key: key)
    let b = augment(x, AugmentationConfig(), key: key)
    let c = augment(x, AugmentationConfig(), key: key + 100)
    #expect(a.count == x.count)
    #expect(a.allSatisfy { $0.isFinite })
    #expect(a == b)
    #expect(a != c)
  }

  @Test func noAugmentationIsTheIdentity() {
    let x = input()
    #expect(augment(x, .none, key: 3) == x)
  }

  @Test func flipsAndRotationsOnlyPermutePixels() {
    var config = AugmentationConfig.none
    config.flips = true
    config.rot90 = true
    let x = input()
    for key in 0..<8 as Range<UInt64> {
      let y = augment(x, config, key: key)
      for c in 0..<channels {
        let plane = c * size * size..<(c + 1) * size * size
        #expect(x[plane].sorted() == y[plane].sorted())
      }
    }
  }

  /// Relative band differences (b0 − b1) / (b2 − b3) at every pixel.
  func bandRelations(_ v: [Float]) -> [Double] {
    let p = size * size
    return (0..<p).map { i in
      Double(v[i] - v[p + i]) / Double(v[2 * p + i] - v[3 * p + i])
    }
  }

  @Test func equalJitterPreservesBandRelationsPerBandJitterDoesNot() {
    var equal = AugmentationConfig.none
    equal.jitterProbability = 1
    var perBand = equal
    perBand.perBandJitter = true
    let x = input()
    let before = bandRelations(x)
    for key in 0..<4 as Range<UInt64> {
      let kept = bandRelations(augment(x, equal, key: key))
      #expect(zip(before, kept).allSatisfy { abs($0 - $1) <= 1e-3 * max(1, abs($0)) })
      let broken = bandRelations(augment(x, perBand, key: key))
      #expect(!zip(before, broken).allSatisfy { abs($0 - $1) <= 1e-3 * max(1, abs($0)) })
    }
    // Brightness alone (contrast off) preserves plain band ratios.
    equal.contrast = 0
    let y = augment(x, equal, key: 9)
    let p = size * size
    for i in stride(from: 0, to: p, by: 37) {
      #expect(abs(y[i] / y[p + i] - x[i] / x[p + i]) < 1e-4 * abs(x[i] / x[p + i]) + 1e-6)
    }
  }

  @Test func blurKeepsAConstantImageConstantAndNoiseChangesIt() {
    var blur = AugmentationConfig.none
    blur.blurProbability = 1
    let flat = [Float](repeating: 0.5, count: channels * size * size)
    #expect(augment(flat, blur, key: 1).allSatisfy { abs($0 - 0.5) < 1e-5 })
    var noise = AugmentationConfig.none
    noise.noiseProbability = 1
    noise.noiseStdMax = 0.5
    #expect(augment(flat, noise, key: 1) != flat)
  }

  @Test func invalidRangesAreRejected() {
    var c = AugmentationConfig()
    c.cropScaleMin = 0
    #expect(c.validationError() != nil)
    c = AugmentationConfig()
    c.brightness = 1.5
    #expect(c.validationError() != nil)
  }

  /// Values that passed validation and trapped the augmenter: a crop ratio of 1e40 (or 1e-40)
  /// made `Int(sqrt(area × ratio))` overflow, a blur σ of 1e300 (or NaN) `Int(2σ)`.
  @Test(arguments: ["ratioMax", "ratioMin", "sigmaMax", "sigmaNaN", "sigmaMinNaN"])
  func unboundedRangesAreRejected(field: String) {
    var c = AugmentationConfig()
    switch field {
    case "ratioMax": c.cropRatioMax = 1e40
    case "ratioMin": c.cropRatioMin = 1e-40
    case "sigmaMax": c.blurSigmaMax = 1e300
    case "sigmaNaN": c.blurSigmaMax = .nan
    default: c.blurSigmaMin = .nan
    }
    #expect(c.validationError() != nil)
    var config = TrainingConfig()
    config.augmentation = c
    #expect(config.validationError() != nil)
    #expect(AugmentationConfig().validationError() == nil)
  }
}
