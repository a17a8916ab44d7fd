import Foundation
import GeoTIFF
import Pairing
import RangeIO
import TandemBase
import TandemTestSupport
import Testing

@testable import Pipeline

/// The bundled fixture world's catalog (4 tiles × 3 dates per sensor, files only).
let fixtureWorldCatalog = TandemCLI.packageRoot
  .appendingPathComponent("Catalogs/fixture-world/catalog.json").path

/// The fixture world's S1/S2 pairs (|Δt| ≤ 3 days, S2 cloud ≤ 50 %): one region per tile and date.
func fixtureWorldDataset() async throws -> PairDataset {
  try await PairDataset.open(
    catalog: fixtureWorldCatalog,
    options: PairDatasetOptions(pairing: PairingParameters(maxDays: 3, maxCloud: 50)))
}

/// The COG-backed loader on the bundled fixture world (files, no network).
@Suite(.timeLimit(.minutes(2))) struct PairLoaderTests {
  @Test func regionsCoverTheAlignedPairs() async throws {
    let d = try await fixtureWorldDataset()
    #expect(!d.regions.isEmpty)
    #expect(d.regions.count == d.index.pairs.count)
    for r in d.regions {
      #expect(r.width == 320 && r.height == 320)
      #expect(r.s1.map(\.channel) == ["VV", "VH"])
      #expect(r.s2.map(\.channel) == ["B02", "B03", "B04", "B08"])
      #expect(r.s1.allSatisfy(\.isAligned) && r.s2.allSatisfy(\.isAligned))
      #expect(r.cloudMask != nil)
    }
  }

  /// Item filters keep pretraining off the probe and test tiles.
  @Test func itemFiltersSelectTilesByRole() async throws {
    let all = try await fixtureWorldDataset()
    let pretrain = try await PairDataset.open(
      catalog: fixtureWorldCatalog,
      options: PairDatasetOptions(
        pairing: PairingParameters(maxDays: 3, maxCloud: 50),
        itemFilters: ["tandem:role=pretrain"]))
    #expect(!pretrain.regions.isEmpty)
    #expect(pretrain.regions.count < all.regions.count)
    #expect(pretrain.regions.allSatisfy { $0.s1ID.contains("-t00-") || $0.s1ID.contains("-t01-") })
    let both = try await PairDataset.open(
      catalog: fixtureWorldCatalog,
      options: PairDatasetOptions(
        pairing: PairingParameters(maxDays: 3, maxCloud: 50),
        itemFilters: ["tandem:role=pretrain", "tandem:role=test"]))
    #expect(both.regions.count > pretrain.regions.count)
    await #expect(throws: PipelineError.self) {
      _ = try await PairDataset.open(
        catalog: fixtureWorldCatalog, options: PairDatasetOptions(itemFilters: ["no-equals-sign"]))
    }
  }

  /// A window through the loader equals a direct read of the same pixels (identity
  /// normalization, no dB), channel by channel.
  @Test func loaderWindowEqualsDirectRead() async throws {
    let d = try await fixtureWorldDataset()
    let loader = PairLoader(
      dataset: d, windowSize: 64,
      normalization: .identity(s1ChannelsForTest: 2, s2Channels: 4),
      filter: WindowFilter(maxNodata: 1, maxCloud: 1), sourceOptions: SourceOptions(), workers: 1)
    let (verdict, s1, s2) = try await loader.load(
      WindowSample(region: 1, x: 37, y: 250, size: 64))
    #expect(verdict == .accepted)
    let region = d.regions[1]
    for (c, reader) in (region.s1 + region.s2).enumerated() {
      let cog = try await COGDataset.open(try ByteSources.open(reader.href))
      let raster = try await cog.read(
        window: PixelWindow(
          x: Int(reader.offsetX) + 37, y: Int(reader.offsetY) + 250, width: 64, height: 64),
        bands: [0])
      let expected = RasterFloats.convert(raster, nodata: cog.nodata)
      let got =
        c < 2
        ? Array(s1[(c * 4096)..<((c + 1) * 4096)]) : Array(s2[((c - 2) * 4096)..<((c - 1) * 4096)])
      let scale: Float = 1 / 10_000
      let scaled = c < 2 ? expected : expected.map { $0 * scale }
      let mismatches = zip(got, scaled).filter { $0 != $1 }.count
      #expect(got.count == 4096 && mismatches == 0, "channel \(reader.channel)")
    }
  }

  /// Without the decoded-tile cache, blocks are converted straight into the window: the
  /// samples (values, NaN-free fill, cloud verdicts) equal the cached path's bit for bit, for
  /// windows inside one tile, across tile edges, and at the image's right and bottom edge.
  @Test(arguments: [
    (0, 0), (37, 250), (200, 200), (256 - 64, 256 - 64), (250, 3), (320 - 64, 320 - 64),
  ])
  func directPathEqualsCachedPath(x: Int, y: Int) async throws {
    let d = try await fixtureWorldDataset()
    let norm = Normalization.identity(s1ChannelsForTest: 2, s2Channels: 4)
    func loader(cache: Int) -> PairLoader {
      PairLoader(
        dataset: d, windowSize: 64, normalization: norm,
        filter: WindowFilter(maxNodata: 1, maxCloud: 1), sourceOptions: SourceOptions(),
        workers: 1, memoryCacheBytes: 0, decodedCacheBytes: cache)
    }
    let cached = loader(cache: 1 << 30)
    let direct = loader(cache: 0)
    for region in d.regions.indices {
      let sample = WindowSample(region: region, x: x, y: y, size: 64)
      let a = try await cached.load(sample)
      let b = try await direct.load(sample)
      #expect(a.0 == b.0, "verdict, region \(region) at \(x),\(y)")
      #expect(a.1 == b.1 && a.2 == b.2, "pixels, region \(region) at \(x),\(y)")
    }
  }

  @Test func estimatedNormalizationStandardizes() async throws {
    let d = try await fixtureWorldDataset()
    let norm = try await NormalizationEstimator.estimate(
      dataset: d, windowSize: 64, samples: 8, seed: 1, sourceOptions: SourceOptions())
    #expect(norm.s1ToDecibels)
    #expect(norm.s1Mean.allSatisfy { $0 < -3 && $0 > -30 })  // backscatter in dB
    #expect(norm.s2Mean.allSatisfy { $0 > 0.01 && $0 < 0.5 })  // reflectance
    #expect((norm.s1Std + norm.s2Std).allSatisfy { $0 > 0 })
  }

  /// Real COGs through the streaming pipeline: identical batches with 1 and 3 decode threads.
  @Test func pipelineOnFixtureWorldIsDeterministic() async throws {
    let d = try await fixtureWorldDataset()
    let norm = Normalization.identity(s1ChannelsForTest: 2, s2Channels: 4)
    @Sendable func run(threads: Int) -> [[Float]] {
      let loader = PairLoader(
        dataset: d, windowSize: 32, normalization: norm, sourceOptions: SourceOptions(),
        workers: threads)
      let pipeline = StreamingPipeline(
        loader: loader, sampler: d.sampler(windowSize: 32, seed: 3),
        configuration: PipelineConfiguration(slots: 16, decodeThreads: threads))
      defer { pipeline.stop() }
      let batch = Batch(layout: loader.layout, capacity: 8)
      var out: [[Float]] = []
      for _ in 0..<4 {
        guard (try? pipeline.next(into: batch)) == true else { break }
        out.append(batch.parts[0] + batch.parts[1])
      }
      return out
    }
    let one = await onThread { run(threads: 1) }
    let three = await onThread { run(threads: 3) }
    #expect(one.count == 4)
    #expect(one.count == three.count && zip(one, three).allSatisfy { $0 == $1 })
  }
}

extension Normalization {
  static func identity(s1ChannelsForTest: Int, s2Channels: Int) -> Normalization {
    var n = Normalization.identity(
      s1Channels: s1ChannelsForTest, s2Channels: s2Channels, s1ToDecibels: false)
    n.s2Scale = 10_000
    return n
  }
}

extension PairLoader {
  /// Fetches and decodes one sample on the calling task (worker 0): verdict, S1 and S2 floats.
  func load(_ sample: WindowSample) async throws -> (SampleVerdict, [Float], [Float]) {
    let fetched = try await fetch(sample)
    var s1 = [Float](repeating: 0, count: layout.elements(part: 0))
    var s2 = [Float](repeating: 0, count: layout.elements(part: 1))
    let verdict = try s1.withUnsafeMutableBufferPointer { a in
      try s2.withUnsafeMutableBufferPointer { b in
        try decode(fetched, sample: sample, worker: 0, into: [a, b])
      }
    }
    return (verdict, s1, s2)
  }
}

/// Runs blocking work on a fresh thread (the pipeline's consumer must not sit on the
/// cooperative pool).
func onThread<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
  await withCheckedContinuation { continuation in
    Thread { continuation.resume(returning: body()) }.start()
  }
}
