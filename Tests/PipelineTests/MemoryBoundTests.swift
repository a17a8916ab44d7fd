import Foundation
import TandemTestSupport
import Testing

/// Resident memory is bounded by the pipeline's slots, not by the catalog size: one epoch of 10
/// and of 10,000 synthetic regions (each streamed through the real `StreamingPipeline`, every
/// fetch allocating a 64 KiB payload) in separate `tandem bench pipeline` processes, so the peak
/// RSS is not shared with the parallel test process.
@Suite struct MemoryBoundTests {
  struct Run: Decodable {
    var regions: Int
    var samples: Int
    var failures: Int
    var peak_rss_mb: Double
  }

  func run(regions: Int) throws -> Run {
    let result = try TandemCLI.run([
      "bench", "pipeline", "--catalog", "synthetic:\(regions)", "--size", "64", "--slots", "64",
      "--batch", "32", "--batches", "1000000", "--warmup", "0", "--json",
    ])
    #expect(result.status == 0, "\(result.stderr)")
    let line = result.stdout.split(separator: "\n").last.map(String.init) ?? ""
    return try JSONDecoder().decode(Run.self, from: Data(line.utf8))
  }

  @Test func peakResidentMemoryIndependentOfCatalogSize() throws {
    let small = try run(regions: 10)
    let large = try run(regions: 10_000)
    #expect(small.samples == 10)
    #expect(large.samples == 10_000)
    #expect(small.failures == 0 && large.failures == 0)
    #expect(small.peak_rss_mb > 0 && large.peak_rss_mb > 0)
    // 10,000 samples × (96 KiB of tensors + 64 KiB payload) is 1.6 GB streamed; an unbounded
    // pipeline would hold hundreds of MB. The slots bound it to 64 samples (~10 MB).
    #expect(
      large.peak_rss_mb - small.peak_rss_mb < 32,
      "peak RSS \(small.peak_rss_mb) MB for 10 regions, \(large.peak_rss_mb) MB for 10,000")
  }
}
