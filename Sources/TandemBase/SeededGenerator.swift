/// A small, fast, deterministic random number generator (xoshiro256**, seeded through SplitMix64).
///
/// Every random choice in Tandem (fixture worlds, window sampling, weight initialisation,
/// augmentations) draws from one of these so that a seed reproduces a run bit for bit on any
/// machine and thread count. `SystemRandomNumberGenerator` is never used for results.
public struct SeededGenerator: RandomNumberGenerator, Sendable, Hashable, Codable {
  /// The four words of state; exposed so checkpoints can store and restore the stream.
  public private(set) var state: (UInt64, UInt64, UInt64, UInt64)

  /// Creates a generator from a seed; equal seeds give equal streams.
  public init(seed: UInt64) {
    var sm = seed
    func splitMix(_ x: inout UInt64) -> UInt64 {
      x &+= 0x9E37_79B9_7F4A_7C15
      var z = x
      z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
      z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
      return z ^ (z >> 31)
    }
    state = (splitMix(&sm), splitMix(&sm), splitMix(&sm), splitMix(&sm))
  }

  /// Creates an independent stream for `(seed, streams...)`, e.g. `(worldSeed, tile, date)`.
  public init(seed: UInt64, stream: UInt64...) {
    var mixed = seed
    for s in stream {
      mixed = SeededGenerator.mix(mixed ^ (s &* 0xD1B5_4A32_D192_ED03))
    }
    self.init(seed: mixed)
  }

  /// Restores a generator from saved state words.
  public init(state: [UInt64]) {
    precondition(state.count == 4, "SeededGenerator state has four words")
    self.state = (state[0], state[1], state[2], state[3])
  }

  /// The state as an array (for checkpoints).
  public var stateWords: [UInt64] { [state.0, state.1, state.2, state.3] }

  static func mix(_ value: UInt64) -> UInt64 {
    var z = value &+ 0x9E37_79B9_7F4A_7C15
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }

  public mutating func next() -> UInt64 {
    let result = rotl(state.1 &* 5, 7) &* 9
    let t = state.1 << 17
    state.2 ^= state.0
    state.3 ^= state.1
    state.1 ^= state.2
    state.0 ^= state.3
    state.2 ^= t
    state.3 = rotl(state.3, 45)
    return result
  }

  @inline(__always) private func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 {
    (x << k) | (x >> (64 - k))
  }

  /// A uniform Float in [0, 1) with 24 random bits.
  public mutating func nextUnitFloat() -> Float {
    Float(next() >> 40) * (1.0 / 16_777_216.0)
  }

  /// A uniform Double in [0, 1) with 53 random bits.
  public mutating func nextUnitDouble() -> Double {
    Double(next() >> 11) * (1.0 / 9_007_199_254_740_992.0)
  }

  /// A standard normal sample (Box–Muller; deterministic, no cached second value).
  public mutating func nextGaussian() -> Double {
    var u1 = nextUnitDouble()
    if u1 < 1e-300 { u1 = 1e-300 }
    let u2 = nextUnitDouble()
    return (-2 * _log(u1)).squareRoot() * _cos(2 * Double.pi * u2)
  }

  public static func == (a: SeededGenerator, b: SeededGenerator) -> Bool {
    a.stateWords == b.stateWords
  }
  public func hash(into hasher: inout Hasher) { hasher.combine(stateWords) }

  public init(from decoder: any Decoder) throws {
    let words = try [UInt64](from: decoder)
    guard words.count == 4 else {
      throw DecodingError.dataCorrupted(
        .init(codingPath: decoder.codingPath, debugDescription: "expected 4 state words"))
    }
    self.init(state: words)
  }

  public func encode(to encoder: any Encoder) throws { try stateWords.encode(to: encoder) }
}

#if canImport(Glibc)
  import Glibc
  @inline(__always) private func _log(_ x: Double) -> Double { Glibc.log(x) }
  @inline(__always) private func _cos(_ x: Double) -> Double { Glibc.cos(x) }
#else
  import Darwin
  @inline(__always) private func _log(_ x: Double) -> Double { Darwin.log(x) }
  @inline(__always) private func _cos(_ x: Double) -> Double { Darwin.cos(x) }
#endif
