import Foundation
import Synchronization
import Testing

@testable import Pipeline

/// The fetch-depth controller on made-up measurements (no clock), the gate it drives, and the
/// pipeline honouring a fixed depth.
@Suite(.timeLimit(.minutes(1))) struct InFlightControllerTests {
  /// Little's law: 2 workers at 5 ms a sample decode 400 samples/s; with 50 ms fetches,
  /// 20 samples are in flight, ×2 headroom = 40, + 2 being decoded = 42.
  @Test func depthFollowsLatencyTimesDecodeRate() {
    var c = InFlightController(threads: 2, minDepth: 2, maxDepth: 64, interval: 4)
    #expect(c.depth == 6)  // 2 × threads + 2 before any measurement
    for _ in 0..<64 { c.observe(fetchSeconds: 0.050, decodeSeconds: 0.005) }
    #expect(c.depth == 42)
    #expect(c.target(fetchSeconds: 0.050, decodeSeconds: 0.005) == 42)
    // Loopback: 2 ms fetches need only a few samples in flight.
    for _ in 0..<64 { c.observe(fetchSeconds: 0.002, decodeSeconds: 0.005) }
    #expect(c.depth == 4)  // ceil(400 × 0.002 × 2) = 2, + 2
    // Slower decode needs fewer samples for the same latency.
    #expect(c.target(fetchSeconds: 0.050, decodeSeconds: 0.020) == 12)
  }

  /// Samples queueing for busy decode workers: more depth would not help (decode is the
  /// bottleneck), so slow fetches do not raise it; the depth may still go down.
  @Test func aDecodeBacklogHoldsTheDepth() {
    var c = InFlightController(threads: 2, maxDepth: 64, interval: 8)
    for _ in 0..<64 {
      c.observe(fetchSeconds: 0.200, decodeSeconds: 0.005, queueSeconds: 0.050)
    }
    #expect(c.decodeIsBacklogged)
    #expect(c.depth == 6)
    // The backlog drains (samples find an idle worker): the depth follows Little's law again.
    for _ in 0..<64 { c.observe(fetchSeconds: 0.050, decodeSeconds: 0.005, queueSeconds: 0) }
    #expect(!c.decodeIsBacklogged)
    #expect(c.depth == 42)
    // A backlog does not stop the depth from going down.
    for _ in 0..<64 { c.observe(fetchSeconds: 0.002, decodeSeconds: 0.005, queueSeconds: 0.050) }
    #expect(c.depth == 4)
  }

  @Test func depthStaysWithinItsBounds() {
    var c = InFlightController(threads: 1, minDepth: 3, maxDepth: 16, interval: 1)
    for _ in 0..<40 { c.observe(fetchSeconds: 2.0, decodeSeconds: 0.001) }
    #expect(c.depth == 16)
    for _ in 0..<40 { c.observe(fetchSeconds: 0, decodeSeconds: 1) }
    #expect(c.depth == 3)
    // Nonsense measurements are ignored.
    let nanChanged = c.observe(fetchSeconds: .nan, decodeSeconds: 1)
    let negativeChanged = c.observe(fetchSeconds: -1, decodeSeconds: 1)
    #expect(!nanChanged && !negativeChanged)
    #expect(c.depth == 3)
  }

  /// Queueing (many slow fetches among fast ones) does not drive the depth up: the latency is
  /// the 10th percentile of the recent fetches.
  @Test func slowOutliersDoNotInflateTheDepth() {
    var c = InFlightController(threads: 2, maxDepth: 64, interval: 8)
    for i in 0..<128 {
      c.observe(fetchSeconds: i % 4 == 0 ? 0.050 : 0.400 + Double(i) * 0.001, decodeSeconds: 0.005)
    }
    #expect(c.fetchSeconds == 0.050)
    #expect(c.depth == 42)
  }

  @Test func changesAreReportedOnlyEveryInterval() {
    var c = InFlightController(threads: 2, interval: 8)
    var changes = 0
    for _ in 0..<7 {
      if c.observe(fetchSeconds: 0.1, decodeSeconds: 0.01) { changes += 1 }
    }
    #expect(changes == 0 && c.depth == 6)
    let changed = c.observe(fetchSeconds: 0.1, decodeSeconds: 0.01)
    #expect(changed)
    #expect(c.depth == 42)  // ceil(200 × 0.1 × 2) + 2
  }

  @Test func gateAdmitsUpToItsLimitInOrderAndFollowsLimitChanges() async {
    let gate = AsyncGate(limit: 2)
    #expect(await gate.enter())
    #expect(await gate.enter())
    let order = OrderLog()
    // Each waiter queues before the next one starts, so they queue in index order.
    var waiters: [Task<Bool, Never>] = []
    for i in 0..<3 {
      waiters.append(
        Task {
          let admitted = await gate.enter()
          order.append(i)
          return admitted
        })
      while gate.waiting < i + 1 { try? await Task.sleep(for: .milliseconds(1)) }
    }
    #expect(order.values.isEmpty)
    gate.leave()  // admits waiter 0
    gate.setLimit(3)  // admits waiter 1 (holders 2 → 3)
    while order.values.count < 2 { try? await Task.sleep(for: .milliseconds(5)) }
    #expect(order.values == [0, 1])
    #expect(gate.holders == 3 && gate.peak == 3)
    gate.close()  // waiter 2 is refused
    let refused = await waiters[2].value
    let first = await waiters[0].value
    let second = await waiters[1].value
    let late = await gate.enter()
    #expect(!refused && first && second && !late)
  }

  /// A fixed depth bounds the fetches running at once, whatever the slots.
  @Test func pipelineHonoursAFixedFetchDepth() throws {
    let loader = SyntheticLoader(maxDelayMicroseconds: 2_000)
    let sampler = WindowSampler(
      regions: [(64, 64), (40, 96), (33, 33), (80, 16)], windowSize: 8, seed: 9)
    let pipeline = StreamingPipeline(
      loader: loader, sampler: sampler,
      configuration: PipelineConfiguration(slots: 64, decodeThreads: 2, epochs: 1, fetchDepth: 3))
    defer { pipeline.stop() }
    let batch = Batch(layout: loader.layout, capacity: 8)
    var n = 0
    while try pipeline.next(into: batch) { n += batch.count }
    #expect(n > 0)
    #expect(loader.inFlight.peak <= 3)
    #expect(pipeline.stats.fetchDepth == 3 && !pipeline.stats.fetchDepthIsAutomatic)
  }
}

final class OrderLog: Sendable {
  private let state = Mutex<[Int]>([])
  func append(_ i: Int) { state.withLock { $0.append(i) } }
  var values: [Int] { state.withLock { $0 } }
}
