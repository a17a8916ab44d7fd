import CommandLineKit
import Dispatch
import Foundation
import GeoTIFF
import RangeIO
import Synchronization
import TandemBase

/// `tandem bench read --list URLS.txt [--windows N] [--size 256] [--threads T] [--seed S]`:
/// random windows (random object, all bands), fetched asynchronously and decoded on T worker
/// threads; prints throughput and I/O per window, then one JSON line.
enum BenchReadCommand {
  static let spec = CommandSpec(
    name: "read", abstract: "Measure window reads: windows/s, MB/s, requests and bytes per window.",
    discussion:
      "Headers are read once per object before timing starts. --mode decode measures the decode"
      + " limit instead: every window's tiles are fetched first, then only decoding is timed.",
    options: [
      .value(
        "list", valueName: "file", help: "File with one path or URL per line.", required: true),
      .value("windows", valueName: "n", help: "Number of windows.", default: "2000"),
      .value("size", valueName: "pixels", help: "Window width and height.", default: "256"),
      .value("threads", valueName: "t", help: "Decode worker threads.", default: "1"),
      .value("seed", valueName: "s", help: "Random seed.", default: "0"),
      .value("mode", valueName: "pipeline|decode", help: "What to time.", default: "pipeline"),
      .value(
        "in-flight", valueName: "k", help: "Windows fetched concurrently (default 4 × threads)."),
      .value(
        "windows-out", valueName: "file",
        help: "Write the windows as JSON lines {object, x, y, size} (to replay them with a peer)."),
    ] + IOOptions.specs,
    run: run)

  struct Job: Sendable {
    var dataset: Int
    var window: PixelWindow
  }

  static func run(_ parsed: ParsedArguments) async throws -> Int32 {
    let listPath = parsed.string("list")!
    let count = try parsed.value("windows", default: 2000)
    let size = try parsed.value("size", default: 256)
    let threads = try parsed.value("threads", default: 1)
    let seed = try parsed.value("seed", default: UInt64(0))
    let mode = parsed.string("mode") ?? "pipeline"
    guard count > 0, size > 0, threads > 0, threads <= 64 else {
      throw parsed.usageError("--windows, --size and --threads must be positive (threads ≤ 64)")
    }
    guard mode == "pipeline" || mode == "decode" else {
      throw parsed.usageError("--mode must be pipeline or decode")
    }
    let inFlight = try parsed.value("in-flight", default: 4 * threads)
    guard let text = try? String(contentsOfFile: listPath, encoding: .utf8) else {
      throw parsed.usageError("cannot read --list \(listPath)")
    }
    let locations = text.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
      .filter { !$0.isEmpty && !$0.hasPrefix("#") }
    guard !locations.isEmpty else { throw parsed.usageError("--list \(listPath) is empty") }

    let options = try IOOptions.sourceOptions(from: parsed)
    var datasets: [COGDataset] = []
    for l in locations {
      datasets.append(try await COGDataset.open(ByteSources.open(l, options: options)))
    }
    let afterHeaders = options.stats.snapshot

    var rng = SeededGenerator(seed: seed)
    var jobs: [Job] = []
    for _ in 0..<count {
      let d = Int(rng.next() % UInt64(datasets.count))
      let image = datasets[d].mainImage
      let x = Int(rng.next() % UInt64(max(1, image.width - size + 1)))
      let y = Int(rng.next() % UInt64(max(1, image.height - size + 1)))
      jobs.append(Job(dataset: d, window: PixelWindow(x: x, y: y, width: size, height: size)))
    }

    if let out = parsed.string("windows-out") {
      let lines = jobs.map {
        "{\"object\": \"\(locations[$0.dataset])\", \"x\": \($0.window.x), \"y\": \($0.window.y),"
          + " \"size\": \(size)}"
      }
      try AtomicFile.write(string: lines.joined(separator: "\n") + "\n", to: out)
    }

    let pool = DecodeThreads(count: threads)
    defer { pool.shutdown() }
    let counters = Counters()
    var elapsed = Duration.zero
    var cpu = 0.0
    let ds = datasets
    if mode == "decode" {
      // Fetch a chunk of windows (untimed), then time decoding alone on the worker threads;
      // chunks keep memory bounded.
      for chunk in stride(from: 0, to: jobs.count, by: 128) {
        var prepared: [(Int, WindowPlan, FetchedBlocks)] = []
        for job in jobs[chunk..<min(chunk + 128, jobs.count)] {
          let plan = try await ds[job.dataset].plan(window: job.window)
          let blocks = try await ds[job.dataset].fetch(plan)
          prepared.append((job.dataset, plan, blocks))
        }
        let work = prepared
        let cpuStart = processCPUSeconds()
        let start = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
          for t in 0..<threads {
            group.addTask {
              try await pool.run(thread: t) { decoder in
                for i in stride(from: t, to: work.count, by: threads) {
                  let (d, plan, fetched) = work[i]
                  let r = try ds[d].decode(plan, fetched, using: decoder)
                  counters.decodedBytes.add(r.bytes.count, ordering: .relaxed)
                  counters.tileBytes.add(fetched.byteCount, ordering: .relaxed)
                }
              }
            }
          }
          try await group.waitForAll()
        }
        elapsed += ContinuousClock.now - start
        cpu += processCPUSeconds() - cpuStart
      }
    } else {
      let cpuStart = processCPUSeconds()
      let start = ContinuousClock.now
      try await withThrowingTaskGroup(of: Void.self) { group in
        var next = 0
        func add() {
          let job = jobs[next]
          let index = next
          next += 1
          group.addTask {
            let dataset = ds[job.dataset]
            let plan = try await dataset.plan(window: job.window)
            let fetched = try await dataset.fetch(plan)
            counters.tileBytes.add(fetched.byteCount, ordering: .relaxed)
            let n = try await pool.run(thread: index % threads) { decoder in
              try dataset.decode(plan, fetched, using: decoder).bytes.count
            }
            counters.decodedBytes.add(n, ordering: .relaxed)
          }
        }
        while next < min(inFlight, jobs.count) { add() }
        while try await group.next() != nil {
          if next < jobs.count { add() }
        }
      }
      elapsed = ContinuousClock.now - start
      cpu = processCPUSeconds() - cpuStart
    }
    let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    let io = options.stats.snapshot.since(afterHeaders)
    let windowsPerSecond = Double(count) / seconds
    let mbPerSecond = Double(counters.decodedBytes.load(ordering: .relaxed)) / 1e6 / seconds
    let requestsPerWindow = Double(io.requests) / Double(count)
    let bytesPerWindow = Double(io.bytesFetched) / Double(count)
    let minimumPerWindow = Double(counters.tileBytes.load(ordering: .relaxed)) / Double(count)
    print(
      "bench read (\(mode)): \(count) windows of \(size)² from \(datasets.count) objects,"
        + " \(threads) thread(s), \(String(format: "%.2f", seconds)) s,"
        + " CPU \(String(format: "%.2f", cpu)) s (\(String(format: "%.2f", cpu * 1000 / Double(count))) ms/window)"
    )
    print(
      String(
        format: "  %.1f windows/s, %.1f MB/s decoded, %.2f requests/window, %.0f bytes/window"
          + " (touched tiles %.0f), headers: %d requests, %d bytes",
        windowsPerSecond, mbPerSecond, requestsPerWindow, bytesPerWindow, minimumPerWindow,
        afterHeaders.requests, afterHeaders.bytesFetched))
    let json: [String: Any] = [
      "bench": "read", "mode": mode, "windows": count, "size": size, "threads": threads,
      "objects": datasets.count, "seconds": seconds, "windows_per_s": windowsPerSecond,
      "decoded_mb_per_s": mbPerSecond, "requests_per_window": requestsPerWindow,
      "bytes_per_window": bytesPerWindow, "tile_bytes_per_window": minimumPerWindow,
      "header_requests": afterHeaders.requests, "header_bytes": afterHeaders.bytesFetched,
      "cpu_seconds": cpu, "cpu_ms_per_window": cpu * 1000 / Double(count),
    ]
    let data = try JSONSerialization.data(withJSONObject: json, options: [.sortedKeys])
    print(String(decoding: data, as: UTF8.self))
    return ExitCode.success
  }
}

/// User + system CPU time of the whole process so far (all threads), in seconds.
func processCPUSeconds() -> Double {
  var usage = rusage()
  getrusage(RUSAGE_SELF.rawValue, &usage)
  return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec)
    + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
}

final class Counters: Sendable {
  let decodedBytes = Atomic<Int>(0)
  let tileBytes = Atomic<Int>(0)
}

/// Worker threads, each owning a thread-confined ``TileDecoder``; async callers hand them
/// closures and await the result.
final class DecodeThreads: Sendable {
  private struct Queue {
    var jobs: [[@Sendable (TileDecoder) -> Void]]
    var closed = false
  }
  private let queue: Mutex<Queue>
  private let signals: [DispatchSemaphore]
  private let done = DispatchGroup()

  init(count: Int) {
    queue = Mutex(Queue(jobs: Array(repeating: [], count: count)))
    signals = (0..<count).map { _ in DispatchSemaphore(value: 0) }
    for t in 0..<count {
      done.enter()
      let thread = Thread { [self] in
        let decoder = TileDecoder()
        while true {
          signals[t].wait()
          let job: (@Sendable (TileDecoder) -> Void)? = queue.withLock { q in
            q.jobs[t].isEmpty ? nil : q.jobs[t].removeFirst()
          }
          guard let job else { break }
          job(decoder)
        }
        done.leave()
      }
      thread.stackSize = 8 << 20
      thread.start()
    }
  }

  /// Runs `body` on worker `thread` and returns its result.
  func run<R: Sendable>(
    thread: Int, _ body: @escaping @Sendable (TileDecoder) throws -> R
  )
    async throws -> R
  {
    try await withCheckedThrowingContinuation { continuation in
      queue.withLock { q in
        q.jobs[thread].append { decoder in
          continuation.resume(with: Result { try body(decoder) })
        }
      }
      signals[thread].signal()
    }
  }

  /// Stops the threads after their queued work.
  func shutdown() {
    for s in signals { s.signal() }
    done.wait()
  }
}
