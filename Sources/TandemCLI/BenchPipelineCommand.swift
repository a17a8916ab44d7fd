import CommandLineKit
import Foundation
import Pairing
import Pipeline
import RangeIO
import TandemBase

/// `tandem bench pipeline`: drives the streaming pipeline with a consumer that does nothing (or
/// sleeps a fixed time per batch to stand in for a training step) and reports throughput and
/// the consumer's stall.
enum BenchPipelineCommand {
  static let spec = CommandSpec(
    name: "pipeline",
    abstract: "Measure paired samples/s and consumer stall of the streaming pipeline.",
    arguments: [],
    options: [
      .value(
        "catalog", valueName: "src",
        help:
          "STAC catalog or item collection (path or URL); 'synthetic:N' streams one epoch of N "
          + "synthetic regions without I/O (for memory checks).",
        required: true),
      .value("batch", valueName: "n", help: "Samples per batch.", default: "32"),
      .value("size", valueName: "px", help: "Window edge in pixels.", default: "128"),
      .value("batches", valueName: "n", help: "Batches to consume.", default: "50"),
      .value(
        "warmup", valueName: "n", help: "Batches consumed before timing starts.", default: "2"),
      .value(
        "step-ms", valueName: "ms",
        help: "Consumer time per batch, emulating a training step (0 = consume at once).",
        default: "0"),
      .value("decode-threads", valueName: "n", help: "Decode worker threads.", default: "2"),
      .value("slots", valueName: "n", help: "Samples in flight or ready at once.", default: "256"),
      .value(
        "fetch-depth", valueName: "n|auto",
        help:
          "Samples fetched at once; 'auto' chooses it from the measured fetch latency and decode "
          + "rate (Little's law) and shows it in the progress line.",
        default: "auto"),
      .value(
        "max-fetch-depth", valueName: "n", help: "Largest automatic fetch depth.", default: "64"),
      .flag("quiet", help: "No progress lines on stderr."),
      .value(
        "decoded-cache", valueName: "mb",
        help: "Decoded-tile cache in MB (0 = decode every window from its tiles).",
        default: "1024"),
      .value(
        "decoded-cache-policy", valueName: "adaptive|always",
        help:
          "adaptive: bypass the decoded-tile cache while windows rarely share tiles (an LRU of its "
          + "size would hit < 10 % of tile reads); always: use it whatever the reuse.",
        default: "adaptive"),
      .value(
        "range-cache", valueName: "mb",
        help: "In-memory cache of fetched compressed ranges in MB (0 = off).", default: "256"),
      .value(
        "tiles-out", valueName: "file",
        help:
          "Write the tiles fetched during the timed batches (href, IFD offset, tile index, bytes; "
          + "tab-separated) and the sample count, to replay them through libtiff "
          + "(`tandem bench decode`)."),
      .value("max-days", valueName: "d", help: "Largest |Δt| between S1 and S2.", default: "3"),
      .value("max-cloud", valueName: "pct", help: "Largest S2 eo:cloud_cover.", default: "50"),
      .value("min-overlap", valueName: "f", help: "Smallest footprint overlap.", default: "0.1"),
      .value("seed", valueName: "n", help: "Sampler seed.", default: "0"),
      .flag("json", help: "Print only the JSON result line."),
      .flag(
        "digest",
        help:
          "Add a digest of every batch consumed (windows and pixels, warm-up included) to the"
          + " JSON line, to check that two runs streamed the same data (slows the consumer)."),
    ] + SearchOptions.specs + IOOptions.specs,
    run: { parsed in try await run(parsed) })

  static func run(_ parsed: ParsedArguments) async throws -> Int32 {
    let catalog = try parsed.required("catalog", as: String.self)
    let batchSize = try parsed.value("batch", default: 32)
    let size = try parsed.value("size", default: 128)
    let batches = try parsed.value("batches", default: 50)
    let warmup = try parsed.value("warmup", default: 2)
    let stepMs = try parsed.value("step-ms", default: 0.0)
    let threads = try parsed.value("decode-threads", default: 2)
    let slots = try parsed.value("slots", default: 256)
    let seed = try parsed.value("seed", default: UInt64(0))
    let decodedCacheMB = try parsed.value("decoded-cache", default: 1024)
    let rangeCacheMB = try parsed.value("range-cache", default: 256)
    let cachePolicy = parsed.string("decoded-cache-policy") ?? "adaptive"
    guard cachePolicy == "adaptive" || cachePolicy == "always" else {
      throw parsed.usageError("--decoded-cache-policy must be 'adaptive' or 'always'")
    }
    let depthText = parsed.string("fetch-depth") ?? "auto"
    let fetchDepth: Int? = depthText == "auto" ? nil : Int(depthText)
    guard depthText == "auto" || (fetchDepth ?? 0) >= 1 else {
      throw parsed.usageError("--fetch-depth must be 'auto' or a positive number")
    }
    let maxFetchDepth = try parsed.value("max-fetch-depth", default: 64)
    guard maxFetchDepth >= 1 else { throw parsed.usageError("--max-fetch-depth must be positive") }
    let showProgress = !parsed.flag("quiet")
    let tilesOut = parsed.string("tiles-out")
    guard batchSize >= 1, size >= 8, batches >= 1, warmup >= 0, threads >= 1, slots >= 1,
      decodedCacheMB >= 0, rangeCacheMB >= 0
    else {
      throw parsed.usageError(
        "--batch, --batches, --decode-threads and --slots must be positive, --size at least 8, "
          + "--decoded-cache and --range-cache not negative")
    }
    // The step is slept in microseconds as a UInt32 (at most about 71 minutes); a minute is
    // far longer than any training step.
    guard (0...60_000).contains(stepMs) else {
      throw parsed.usageError("--step-ms must be between 0 and 60000 (a minute)")
    }
    let sourceOptions = try IOOptions.sourceOptions(from: parsed)
    let pairing = PairingParameters(
      maxDays: try parsed.value("max-days", default: 3.0),
      maxCloud: try parsed.value("max-cloud", default: 50.0),
      minOverlap: try parsed.value("min-overlap", default: 0.1))
    let quiet = parsed.flag("json")
    let digesting = parsed.flag("digest")
    if catalog.hasPrefix(syntheticPrefix) {
      guard let count = Int(catalog.dropFirst(syntheticPrefix.count)), count >= 1 else {
        throw parsed.usageError("--catalog synthetic:N needs a positive region count N")
      }
      return try await runSynthetic(
        regions: count, batchSize: batchSize, size: size, batches: batches, warmup: warmup,
        threads: threads, slots: slots, seed: seed, quiet: quiet)
    }

    let t0 = Date()
    let dataset = try await PairDataset.open(
      catalog: catalog,
      options: PairDatasetOptions(
        sourceOptions: sourceOptions, pairing: pairing, search: try SearchOptions.search(parsed),
        searchMethod: try SearchOptions.method(parsed)))
    guard !dataset.regions.isEmpty else {
      throw PipelineError(
        location: catalog, message: "no usable S1/S2 pairs\n" + dataset.rejectionSummary)
    }
    let normalization = try await NormalizationEstimator.estimate(
      dataset: dataset, windowSize: size, samples: 16, seed: seed, sourceOptions: sourceOptions)
    let setupSeconds = Date().timeIntervalSince(t0)
    if !quiet {
      print(
        "catalog: \(dataset.regions.count) pairs, setup \(String(format: "%.2f", setupSeconds)) s")
    }

    let readLog = TileReadLog()
    let loader = PairLoader(
      dataset: dataset, windowSize: size, normalization: normalization,
      sourceOptions: sourceOptions, workers: threads, memoryCacheBytes: rangeCacheMB << 20,
      decodedCacheBytes: decodedCacheMB << 20,
      decodedCachePolicy: cachePolicy == "adaptive" ? .adaptive() : .always,
      readLog: readLog)
    let pipeline = StreamingPipeline(
      loader: loader, sampler: dataset.sampler(windowSize: size, seed: seed),
      configuration: PipelineConfiguration(
        slots: slots, decodeThreads: threads, fetchDepth: fetchDepth, maxFetchDepth: maxFetchDepth))
    defer { pipeline.stop() }
    let io = sourceOptions.stats
    let result = try await onDedicatedThread {
      () throws -> BenchResult in
      let batch = Batch(layout: loader.layout, capacity: batchSize)
      var digest = FNV1a64()
      for _ in 0..<warmup {
        if try pipeline.next(into: batch), digesting { batch.digest(into: &digest) }
      }
      let waitStart = pipeline.stats.consumerWaitSeconds
      let ioStart = io.snapshot
      let tilesStart = readLog.counts
      let threadsStart = ThreadAccounting.threadTimes()
      let cpuStart = ThreadAccounting.processCPUSeconds()
      readLog.setRecording(true)
      let start = DispatchTime.now().uptimeNanoseconds
      var samples = 0
      var lastProgress = start
      for index in 0..<batches {
        guard try pipeline.next(into: batch) else { break }
        samples += batch.count
        let now = DispatchTime.now().uptimeNanoseconds
        if showProgress && (now - lastProgress > 2_000_000_000 || index == batches - 1) {
          lastProgress = now
          let s = pipeline.stats
          let elapsed = Double(now - start) / 1e9
          FileHandle.standardError.write(
            Data(
              (String(
                format: "  batch %d/%d: %.1f samples/s, stall %.1f%%, ", index + 1, batches,
                Double(samples) / max(elapsed, 1e-9),
                100 * (s.consumerWaitSeconds - waitStart) / max(elapsed, 1e-9))
                + s.inFlightSummary(threads: threads) + "\n").utf8))
        }
        if digesting { batch.digest(into: &digest) }
        if stepMs > 0 { usleep(UInt32(stepMs * 1000)) }
      }
      let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
      readLog.setRecording(false)
      let cpu = ThreadAccounting.processCPUSeconds() - cpuStart
      let threads = ThreadAccounting.delta(
        from: threadsStart, to: ThreadAccounting.threadTimes())
      let delta = io.snapshot.since(ioStart)
      return BenchResult(
        samples: samples, seconds: seconds,
        wait: pipeline.stats.consumerWaitSeconds - waitStart, bytes: delta.bytesFetched,
        requests: delta.requests, digest: digest, cpuSeconds: cpu,
        tiles: readLog.counts.since(tilesStart), threads: threads)
    }
    if let tilesOut {
      let (entries, fetchedSamples) = readLog.recorded()
      var text = "# samples\t\(fetchedSamples)\n"
      for e in entries { text += "\(e.href)\t\(e.ifdOffset)\t\(e.strile)\t\(e.length)\n" }
      try AtomicFile.write(string: text, to: tilesOut)
    }
    let stats = pipeline.stats
    let rate = Double(result.samples) / max(result.seconds, 1e-9)
    let stall = result.wait / max(result.seconds, 1e-9)
    if !quiet {
      print(
        String(
          format: "%d paired samples in %.2f s: %.1f samples/s, stall %.1f%%, %.1f MB/s, "
            + "%.1f requests/batch, mean fetch %.1f ms, rejected %d, skipped %d, failures %d",
          result.samples, result.seconds, rate, stall * 100,
          Double(result.bytes) / 1e6 / max(result.seconds, 1e-9),
          Double(result.requests) / Double(max(batches, 1)), stats.meanFetchSeconds * 1000,
          stats.rejected.values.reduce(0, +), stats.skipped, stats.failures))
      let hits = loader.tileCache.hitCount
      let lookups = hits + loader.tileCache.missCount
      print(
        String(
          format: "decoded-tile cache: %.1f%% hits (%d lookups), %.0f MB held",
          lookups == 0 ? 0 : 100 * Double(hits) / Double(lookups), lookups,
          Double(loader.tileCache.totalCost) / 1e6) + reuseSummary(loader.tileReuse))
      for message in stats.failureMessages.prefix(3) { print("  failure: \(message)") }
      let all = readLog.counts
      print(
        String(
          format: "tiles: %d read in the timed batches (%.1f MB), %.1f%% read again over the run "
            + "(%d of %d); bytes fetched ÷ tile bytes %.3f; CPU %.2f ms per sample",
          result.tiles.reads, Double(result.tiles.tileBytes) / 1e6, all.repeatFraction * 100,
          all.repeats, all.reads,
          Double(result.bytes) / Double(max(result.tiles.tileBytes, 1)),
          result.cpuSeconds * 1000 / Double(max(result.samples, 1))))
      for (name, t) in result.threads.sorted(by: { $0.value.cpuSeconds > $1.value.cpuSeconds })
      where t.cpuSeconds > 0.01 {
        print(
          String(
            format: "  thread %@ ×%d: %.2f s CPU (%.0f%% of wall), %.2f s waiting for a CPU",
            name, t.threads, t.cpuSeconds, 100 * t.cpuSeconds / max(result.seconds, 1e-9),
            t.runQueueSeconds))
      }
    }
    var json: [String: Any] = [
      "bench": "pipeline", "metric": "samples_per_s", "tandem": (rate * 10).rounded() / 10,
      "stall_percent": (stall * 1000).rounded() / 10, "batch": batchSize, "size": size,
      "step_ms": stepMs, "decode_threads": threads, "decoded_cache_mb": decodedCacheMB,
      "bytes": result.bytes,
      "requests": result.requests, "failures": stats.failures,
      "tile_cache_hits": loader.tileCache.hitCount, "tile_cache_misses": loader.tileCache.missCount,
      "decoded_cache_policy": cachePolicy,
      "decoded_cache_bypassed_fraction":
        ((loader.tileReuse?.bypassedFraction ?? 0) * 1000).rounded() / 1000,
      "peak_rss_mb": peakResidentMegabytes(), "range_cache_mb": rangeCacheMB,
      "fetch_depth": stats.fetchDepth, "fetch_depth_auto": stats.fetchDepthIsAutomatic,
      "recent_fetch_ms": (stats.recentFetchSeconds * 10_000).rounded() / 10,
      "recent_decode_ms": (stats.recentDecodeSeconds * 10_000).rounded() / 10,
      "cpu_ms_per_sample": (result.cpuSeconds * 1e6 / Double(max(result.samples, 1))).rounded()
        / 1000,
      "tile_reads": result.tiles.reads, "tile_bytes": result.tiles.tileBytes,
      "bytes_per_tile_byte":
        (Double(result.bytes) / Double(max(result.tiles.tileBytes, 1)) * 1000).rounded() / 1000,
      "tile_repeat_fraction": (readLog.counts.repeatFraction * 10000).rounded() / 10000,
      "tile_reads_run": readLog.counts.reads, "samples_timed": result.samples,
      "seconds": (result.seconds * 1000).rounded() / 1000,
      "threads": Dictionary(
        uniqueKeysWithValues: result.threads.filter { $0.value.cpuSeconds > 0.01 }.map {
          (
            $0.key,
            [
              "cpu_s": ($0.value.cpuSeconds * 100).rounded() / 100,
              "runqueue_s": ($0.value.runQueueSeconds * 100).rounded() / 100,
              "count": $0.value.threads,
            ]
          )
        }),
    ]
    if digesting { json["digest"] = result.digest.hex }
    let data = try JSONSerialization.data(withJSONObject: json, options: [.sortedKeys])
    print(String(decoding: data, as: UTF8.self))
    return ExitCode.success
  }
}

/// What the timed batches of a run measured.
struct BenchResult: Sendable {
  var samples: Int
  var seconds: Double
  var wait: Double
  var bytes: Int
  var requests: Int
  var digest: FNV1a64
  var cpuSeconds: Double
  var tiles: TileReadLog.Counts
  var threads: [String: (threads: Int, cpuSeconds: Double, runQueueSeconds: Double)]
}

extension Batch {
  /// Mixes the batch's windows and pixels (as bit patterns) into `digest`.
  func digest(into digest: inout FNV1a64) {
    for s in samples {
      for v in [s.region, s.x, s.y, s.size] { digest.combine(value: v) }
    }
    for (i, part) in parts.enumerated() {
      let used = count * layout.elements(part: i) * MemoryLayout<Float>.stride
      part.withUnsafeBytes { digest.combine(UnsafeRawBufferPointer(rebasing: $0[0..<used])) }
    }
  }
}

private let syntheticPrefix = "synthetic:"

extension BenchPipelineCommand {
  /// Streams one epoch of `regions` synthetic regions (each one window) through the real
  /// `StreamingPipeline` and reports the peak resident set size, so a separate process can check
  /// that memory is bounded by the slots and not by the catalog size.
  static func runSynthetic(
    regions: Int, batchSize: Int, size: Int, batches: Int, warmup: Int, threads: Int,
    slots: Int, seed: UInt64, quiet: Bool
  ) async throws -> Int32 {
    let loader = SyntheticPixelLoader(layout: SampleLayout(channels: [2, 4], size: size))
    let sampler = WindowSampler(
      regions: Array(repeating: (width: size, height: size), count: regions), windowSize: size,
      seed: seed)
    let pipeline = StreamingPipeline(
      loader: loader, sampler: sampler,
      configuration: PipelineConfiguration(slots: slots, decodeThreads: threads, epochs: 1))
    defer { pipeline.stop() }
    let samples = try await onDedicatedThread { () throws -> Int in
      let batch = Batch(layout: loader.layout, capacity: batchSize)
      var samples = 0
      for index in 0..<(warmup + batches) {
        guard try pipeline.next(into: batch) else { break }
        if index >= warmup { samples += batch.count }
      }
      return samples
    }
    let json: [String: Any] = [
      "bench": "pipeline", "metric": "synthetic", "regions": regions, "samples": samples,
      "slots": slots, "size": size, "failures": pipeline.stats.failures,
      "peak_rss_mb": peakResidentMegabytes(),
    ]
    if !quiet { print("synthetic: \(regions) regions, \(samples) samples consumed") }
    let data = try JSONSerialization.data(withJSONObject: json, options: [.sortedKeys])
    print(String(decoding: data, as: UTF8.self))
    return ExitCode.success
  }
}

/// A loader without I/O: each fetch allocates a 64 KiB payload (standing in for compressed
/// tiles) and decode fills the sample from it, so leaked or unbounded in-flight work would show
/// in the resident set size.
private struct SyntheticPixelLoader: SampleLoader {
  let layout: SampleLayout

  func fetch(_ sample: WindowSample) async throws -> [UInt8] {
    [UInt8](repeating: UInt8(truncatingIfNeeded: sample.slot), count: 64 << 10)
  }

  func decode(
    _ fetched: [UInt8], sample: WindowSample, worker: Int,
    into parts: [UnsafeMutableBufferPointer<Float>]
  ) throws -> SampleVerdict {
    for part in parts { part.update(repeating: Float(fetched[fetched.count / 2])) }
    return .accepted
  }
}

/// Peak resident set size of this process in MB (Linux `VmHWM`), or -1 when unavailable.
func peakResidentMegabytes() -> Double {
  guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
    let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
    let kilobytes = Double(line.split(separator: " ").dropFirst().first ?? "")
  else { return -1 }
  return (kilobytes / 1024 * 10).rounded() / 10
}

/// Runs blocking work (a consumer loop that waits on the pipeline) on its own thread, keeping
/// Swift's cooperative pool free for the fetch tasks.
func onDedicatedThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
  try await withCheckedThrowingContinuation { continuation in
    let thread = Thread { continuation.resume(with: Result { try body() }) }
    thread.stackSize = 16 << 20
    thread.start()
  }
}

/// `; adaptive: bypassed for 97% of tile reads (an LRU of its size would hit 3.1% of the last
/// 2048)`.
func reuseSummary(_ monitor: TileReuseMonitor<PairLoader.TileKey>?) -> String {
  guard let monitor else { return "" }
  let ratio = monitor.lastRatio.map { String(format: "%.1f%%", $0 * 100) } ?? "—"
  let bypassed = String(format: "%.0f%%", monitor.bypassedFraction * 100)
  return "; adaptive: bypassed for \(bypassed) of tile reads (an LRU of its size would hit "
    + "\(ratio) of the last \(monitor.window))"
}
