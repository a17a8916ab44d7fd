import CommandLineKit
import Foundation
import RangeIO
import TandemBase
import TileCache

/// `tandem fetch`: read byte ranges of one object through the I/O layer (cache, retries,
/// coalescing) and report what it cost. For checking access to a remote object, warming the
/// cache, and measuring the I/O layer alone (`Scripts/bench-http`).
enum FetchCommand {
  static let spec = CommandSpec(
    name: "fetch",
    abstract: "Read byte ranges of a file or URL and print requests, bytes and timing.",
    discussion: """
      Ranges come from --range OFFSET:LENGTH (repeatable) or --windows N: N random windows of
      --tiles-per-window ranges of --length bytes (two pairs of neighbouring tiles one
      --row-stride apart, like a 2x2 tile window in a COG). Windows are read by up to
      --parallel tasks at once; each window's ranges go to the source in one batch.
      """,
    arguments: [ArgumentSpec("location", help: "Path, file:// or http(s):// URL.")],
    options: [
      .value(
        "range", valueName: "offset:length", help: "A range to read.", repeating: true),
      .value("windows", valueName: "n", help: "Random windows to read.", default: "0"),
      .value("length", valueName: "size", help: "Bytes per range (random mode).", default: "16KiB"),
      .value(
        "row-stride", valueName: "size", help: "Distance between tile rows (random mode).",
        default: "1MiB"),
      .value("seed", valueName: "n", help: "Seed for random windows.", default: "1"),
      .value("parallel", valueName: "n", help: "Windows in flight at once.", default: "64"),
      .value("out", valueName: "file", help: "Write the bytes read, in order, to FILE."),
      .flag("json", help: "Print one JSON line of figures."),
    ] + IOOptions.specs,
    run: { parsed in try await run(parsed) })

  static func run(_ parsed: ParsedArguments) async throws -> Int32 {
    let location = parsed.argument("location")!
    let options = try IOOptions.sourceOptions(from: parsed)
    let source = try ByteSources.open(location, options: options)
    let parallel = max(1, try parsed.value("parallel", default: 64))
    var batches: [[ByteRange]] = []
    for text in parsed.strings("range") {
      let parts = text.split(separator: ":")
      guard parts.count == 2, let offset = UInt64(parts[0]), let length = UInt64(parts[1]) else {
        throw parsed.usageError("--range must be OFFSET:LENGTH, got '\(text)'")
      }
      batches.append([ByteRange(offset: offset, length: length)])
    }
    let windows = try parsed.value("windows", default: 0)
    let started = ContinuousClock.now
    let before = options.stats.snapshot
    do {
      if windows > 0 {
        let size = try await source.size()
        let length = try parsed.required("length", as: ByteSize.self).bytes
        let stride = try parsed.required("row-stride", as: ByteSize.self).bytes
        guard length > 0 else { throw parsed.usageError("--length must be positive") }
        // A window spans --row-stride + 2 × --length bytes and starts at a whole number of
        // --length steps: overflow-checked, and at least one start must fit (else `% 0`).
        let (pair, o1) = length.multipliedReportingOverflow(by: 2)
        let (span, o2) = stride.addingReportingOverflow(pair)
        guard !o1, !o2, span < size, (size - span) / length > 0 else {
          throw parsed.usageError("object (\(size) bytes) too small for --row-stride/--length")
        }
        let starts = (size - span) / length
        var rng = SeededGenerator(seed: try parsed.value("seed", default: UInt64(1)))
        for _ in 0..<windows {
          let tile = rng.next() % starts
          let offset = tile * length
          batches.append(
            [offset, offset + length, offset + stride, offset + stride + length].map {
              ByteRange(offset: $0, length: length)
            })
        }
      }
      guard !batches.isEmpty else { throw parsed.usageError("give --range or --windows") }
      let results = try await readAll(source, batches, parallel: parallel)
      if let out = parsed.string("out") {
        try AtomicFile.write(results.flatMap { $0.flatMap { $0 } }, to: out)
      }
    } catch let error as RangeIOError where error.code == .offlineMiss {
      for line in IOOptions.offlineReport(options) { printError(line) }
      throw error
    }
    let seconds =
      Double((ContinuousClock.now - started).components.attoseconds) / 1e18
      + Double((ContinuousClock.now - started).components.seconds)
    let stats = options.stats.snapshot.since(before)
    let ranges = batches.reduce(0) { $0 + $1.count }
    let figures: [String: Any] = [
      "windows": batches.count, "ranges": ranges, "seconds": seconds,
      "windows_per_s": Double(batches.count) / seconds, "requests": stats.requests,
      "bytes": stats.bytesFetched, "retries": stats.retries, "failures": stats.failures,
      "cache_hits": stats.cacheHits, "cache_misses": stats.cacheMisses,
    ]
    if parsed.flag("json") {
      let data = try JSONSerialization.data(withJSONObject: figures, options: [.sortedKeys])
      print(String(decoding: data, as: UTF8.self))
    } else {
      print(
        "read \(ranges) range(s) in \(batches.count) batch(es) in \(String(format: "%.3f", seconds)) s"
      )
      print(
        "requests \(stats.requests), bytes \(stats.bytesFetched), retries \(stats.retries), cache hits \(stats.cacheHits), misses \(stats.cacheMisses)"
      )
    }
    return ExitCode.success
  }

  /// Reads every batch, at most `parallel` at once; results in batch order.
  static func readAll(
    _ source: any ByteSource, _ batches: [[ByteRange]], parallel: Int
  )
    async throws -> [[[UInt8]]]
  {
    try await withThrowingTaskGroup(of: (Int, [[UInt8]]).self) { group in
      var results = [[[UInt8]]](repeating: [], count: batches.count)
      var next = 0
      func add() {
        let i = next
        next += 1
        group.addTask {
          // Awaited into a local first: see `Scripts/lint-async-tuples`.
          let bytes = try await source.read(batches[i])
          return (i, bytes)
        }
      }
      while next < min(parallel, batches.count) { add() }
      while let (i, bytes) = try await group.next() {
        results[i] = bytes
        if next < batches.count { add() }
      }
      return results
    }
  }
}
