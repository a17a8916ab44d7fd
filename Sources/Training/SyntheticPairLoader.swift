import Foundation
import Pipeline
import TandemBase

/// A deterministic, network-free S1/S2 source for tests, benchmarks and smoke runs
/// (`tandem train --catalog synthetic:N`): region `r` is a smooth random "landscape" of a few
/// land-cover-like fields; S2 bands are different mixtures of the fields, S1 VV/VH are other
/// mixtures plus speckle, so co-located S1/S2 windows share structure and contrastive learning
/// has something to find. Values are roughly standardized (zero mean, unit variance).
public struct SyntheticPairLoader: SampleLoader {
  public let layout: SampleLayout
  /// Width and height of every region in pixels.
  public let regionSize: Int
  /// Number of regions.
  public let regionCount: Int
  public let seed: UInt64

  /// `regions` regions of `regionSize`² pixels, windows of `windowSize`, `s2Channels` S2 bands.
  public init(
    regions: Int, regionSize: Int, windowSize: Int, s2Channels: Int = 4, seed: UInt64 = 0
  ) {
    layout = SampleLayout(channels: [2, s2Channels], size: windowSize)
    self.regionSize = regionSize
    regionCount = regions
    self.seed = seed
  }

  /// The regions' sizes, for a ``WindowSampler``.
  public var regions: [(width: Int, height: Int)] {
    Array(repeating: (regionSize, regionSize), count: regionCount)
  }

  /// Per region: a few plane waves per latent field.
  public struct Fetched: Sendable {
    var waves: [(fx: Float, fy: Float, phase: Float)]
  }

  public func fetch(_ sample: WindowSample) async throws -> Fetched {
    var rng = SeededGenerator(seed: seed, stream: 0x5359_4E54, UInt64(sample.region))
    var waves: [(Float, Float, Float)] = []
    for _ in 0..<3 {
      let angle = Float(rng.nextUnitDouble() * 2 * .pi)
      let frequency = Float(0.02 + 0.15 * rng.nextUnitDouble())
      waves.append(
        (frequency * cos(angle), frequency * sin(angle), Float(rng.nextUnitDouble() * 2 * .pi)))
    }
    return Fetched(waves: waves.map { (fx: $0.0, fy: $0.1, phase: $0.2) })
  }

  public func decode(
    _ fetched: Fetched, sample: WindowSample, worker: Int,
    into parts: [UnsafeMutableBufferPointer<Float>]
  ) throws -> SampleVerdict {
    let n = layout.size
    let plane = n * n
    let c2 = layout.channels[1]
    var speckle = SeededGenerator(
      seed: seed, stream: 0x5350_4B4C, UInt64(sample.region), UInt64(sample.x), UInt64(sample.y))
    for y in 0..<n {
      for x in 0..<n {
        let gx = Float(sample.x + x)
        let gy = Float(sample.y + y)
        let f = fetched.waves.map { sin($0.fx * gx + $0.fy * gy + $0.phase) }
        let i = y * n + x
        for b in 0..<c2 {
          let w = Float(b + 1)
          parts[1][b * plane + i] = f[0] * (1 - 0.15 * w) + f[1] * 0.2 * w + f[2] * 0.3
        }
        let noise = 0.3 * (speckle.nextUnitFloat() - 0.5)
        parts[0][i] = 0.9 * f[0] - 0.4 * f[2] + noise
        parts[0][plane + i] = 0.6 * f[1] + 0.5 * f[0] + noise
      }
    }
    return .accepted
  }
}

/// Serves samples from memory: every window of region `r` is the same preloaded tensor set
/// (`samples[r % samples.count]`), so fetch and decode cost only a copy. The "fed from memory"
/// baseline of the end-to-end benchmark.
public struct InMemoryLoader: SampleLoader {
  public let layout: SampleLayout
  /// Per sample, one array per layout part.
  public let samples: [[[Float]]]

  public init(layout: SampleLayout, samples: [[[Float]]]) {
    precondition(!samples.isEmpty, "InMemoryLoader needs at least one sample")
    for s in samples {
      precondition(
        s.count == layout.channels.count
          && s.indices.allSatisfy { s[$0].count == layout.elements(part: $0) },
        "sample shape does not match layout")
    }
    self.layout = layout
    self.samples = samples
  }

  /// Loads `count` samples through another loader (the first windows of `sampler`'s epoch 0).
  public static func preload<L: SampleLoader>(
    from loader: L, sampler: WindowSampler, count: Int
  ) async throws -> InMemoryLoader {
    let plan = WindowSampler.EpochPlan(sampler: sampler, epoch: 0)
    var out: [[[Float]]] = []
    var buffers = loader.layout.channels.indices.map {
      [Float](repeating: 0, count: loader.layout.elements(part: $0))
    }
    var position = 0
    var attempt = 0
    while out.count < count && position < plan.count {
      let sample = plan.sample(position: position, attempt: attempt)
      let fetched = try await loader.fetch(sample)
      let verdict = try withParts(&buffers) {
        try loader.decode(fetched, sample: sample, worker: 0, into: $0)
      }
      if verdict == .accepted || attempt >= 7 {
        if verdict == .accepted { out.append(buffers) }
        position += 1
        attempt = 0
      } else {
        attempt += 1
      }
    }
    guard !out.isEmpty else {
      throw TrainingError(path: "memory", reason: "no sample could be preloaded")
    }
    return InMemoryLoader(layout: loader.layout, samples: out)
  }

  public func fetch(_ sample: WindowSample) async throws -> Int {
    (sample.region &+ sample.slot) % samples.count
  }

  public func decode(
    _ fetched: Int, sample: WindowSample, worker: Int,
    into parts: [UnsafeMutableBufferPointer<Float>]
  ) throws -> SampleVerdict {
    for p in parts.indices {
      samples[fetched][p].withUnsafeBufferPointer {
        parts[p].baseAddress!.update(from: $0.baseAddress!, count: parts[p].count)
      }
    }
    return .accepted
  }
}

private func withParts<T>(
  _ buffers: inout [[Float]], _ body: ([UnsafeMutableBufferPointer<Float>]) throws -> T
) rethrows -> T {
  var pointers: [UnsafeMutableBufferPointer<Float>] = []
  for i in buffers.indices {
    let p = UnsafeMutableBufferPointer<Float>.allocate(capacity: buffers[i].count)
    p.initialize(repeating: 0)
    pointers.append(p)
  }
  defer { pointers.forEach { $0.deallocate() } }
  let result = try body(pointers)
  for i in buffers.indices { buffers[i] = Array(pointers[i]) }
  return result
}
