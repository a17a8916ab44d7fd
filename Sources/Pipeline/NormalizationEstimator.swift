import Foundation
import RangeIO

/// Per-channel statistics from a first pass over sampled windows, so standardization needs no
/// separate `catalog stats` run. The windows come from the same seeded sampler (a different
/// stream), so the statistics are reproducible.
public enum NormalizationEstimator {
  /// Reads `samples` windows and returns means and standard deviations of the converted values
  /// (S1 in dB, S2 reflectance / 10000). S1 data already in dB (any negative value) is detected
  /// and left unconverted.
  public static func estimate(
    dataset: PairDataset, windowSize: Int, samples: Int = 32, seed: UInt64,
    sourceOptions: SourceOptions
  ) async throws -> Normalization {
    let s1Channels = dataset.regions.first?.s1.count ?? 2
    let s2Channels = dataset.regions.first?.s2.count ?? 4
    let raw = PairLoader(
      dataset: dataset, windowSize: windowSize,
      normalization: .identity(s1Channels: s1Channels, s2Channels: s2Channels, s1ToDecibels: false),
      filter: WindowFilter(maxNodata: 1, maxCloud: 1), sourceOptions: sourceOptions, workers: 1)
    let sampler = dataset.sampler(windowSize: windowSize, seed: seed ^ 0x5747_4154)
    let plan = WindowSampler.EpochPlan(sampler: sampler, epoch: 0)
    guard plan.count > 0 else {
      throw PipelineError(
        location: dataset.catalog,
        message: "no region is large enough for a \(windowSize)×\(windowSize) window")
    }
    let plane = windowSize * windowSize
    var s1 = [Float](repeating: 0, count: s1Channels * plane)
    var s2 = [Float](repeating: 0, count: s2Channels * plane)
    var s1Values = [[Double]](repeating: [], count: s1Channels)
    var s2Sums = [(Double, Double, Int)](repeating: (0, 0, 0), count: s2Channels)
    for k in 0..<min(samples, plan.count) {
      let sample = plan.sample(position: k)
      let fetched = try await raw.fetch(sample)
      _ = try s1.withUnsafeMutableBufferPointer { a in
        try s2.withUnsafeMutableBufferPointer { b in
          try raw.decode(fetched, sample: sample, worker: 0, into: [a, b])
        }
      }
      for c in 0..<s1Channels {
        for i in 0..<plane {
          let v = s1[c * plane + i]
          if v.isFinite { s1Values[c].append(Double(v)) }
        }
      }
      for c in 0..<s2Channels {
        for i in 0..<plane {
          let v = s2[c * plane + i]
          if v.isFinite {
            let r = Double(v)  // already divided by s2Scale
            s2Sums[c].0 += r
            s2Sums[c].1 += r * r
            s2Sums[c].2 += 1
          }
        }
      }
    }
    let alreadyDB = s1Values.contains { $0.contains { $0 < 0 } }
    var s1Mean: [Float] = []
    var s1Std: [Float] = []
    for values in s1Values {
      var sum = 0.0
      var sumSq = 0.0
      for v in values {
        let x = Double(Normalization.s1Units(Float(v), toDecibels: !alreadyDB))
        sum += x
        sumSq += x * x
      }
      let n = Double(max(values.count, 1))
      let mean = sum / n
      s1Mean.append(Float(mean))
      s1Std.append(Float(max((sumSq / n - mean * mean).squareRoot(), 1e-3)))
    }
    let s2Mean = s2Sums.map { Float($0.2 == 0 ? 0 : $0.0 / Double($0.2)) }
    let s2Std = s2Sums.map { s -> Float in
      let n = Double(max(s.2, 1))
      let m = s.0 / n
      return Float(max((s.1 / n - m * m).squareRoot(), 1e-4))
    }
    return Normalization(
      s1ToDecibels: !alreadyDB, s1Mean: s1Mean, s1Std: s1Std, s2Mean: s2Mean, s2Std: s2Std)
  }
}
