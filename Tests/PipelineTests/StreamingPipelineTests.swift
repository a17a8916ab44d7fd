import Foundation
import Synchronization
import Testing

@testable import Pipeline

/// A loader whose pixels are a pure function of the window, with random fetch delays, some
/// deterministic rejections and optional injected failures — enough to check ordering,
/// determinism, replacement and the error policy without any I/O.
struct SyntheticLoader: SampleLoader {
  let layout = SampleLayout(channels: [2, 3], size: 8)
  var maxDelayMicroseconds: UInt32 = 0
  /// Regions whose fetch always fails.
  var failingRegions: Set<Int> = []
  let inFlight = InFlightCounter()

  struct Fetched: Sendable { var base: Float }

  func fetch(_ sample: WindowSample) async throws -> Fetched {
    inFlight.enter()
    defer { inFlight.leave() }
    if maxDelayMicroseconds > 0 {
      try await Task.sleep(for: .microseconds(Int.random(in: 0...Int(maxDelayMicroseconds))))
    }
    if failingRegions.contains(sample.region) {
      throw RangeFailure(message: "region \(sample.region) is unreachable")
    }
    return Fetched(base: Float(sample.region * 10_000 + sample.y * 100 + sample.x))
  }

  func decode(
    _ fetched: Fetched, sample: WindowSample, worker: Int,
    into parts: [UnsafeMutableBufferPointer<Float>]
  ) throws -> SampleVerdict {
    if (sample.x + sample.y) % 5 == 0 { return .rejected(reason: "cloud") }
    for (p, part) in parts.enumerated() {
      for i in part.indices { part[i] = fetched.base + Float(p) * 0.5 + Float(i) * 1e-3 }
    }
    return .accepted
  }
}

struct RangeFailure: Error, CustomStringConvertible {
  var message: String
  var description: String { message }
}

final class InFlightCounter: Sendable {
  private let state = Mutex((now: 0, peak: 0))
  func enter() {
    state.withLock {
      $0.now += 1; $0.peak = max($0.peak, $0.now)
    }
  }
  func leave() { state.withLock { $0.now -= 1 } }
  var peak: Int { state.withLock { $0.peak } }
}

@Suite(.timeLimit(.minutes(2))) struct StreamingPipelineTests {
  let regions: [(width: Int, height: Int)] = [(64, 64), (40, 96), (33, 33), (80, 16)]

  func collect(
    loader: SyntheticLoader, threads: Int, slots: Int = 16, from cursor: SamplerCursor = .init(),
    batches limit: Int = .max, epochs: Int? = 2
  ) throws -> (samples: [[WindowSample]], tensors: [[[Float]]], cursors: [SamplerCursor]) {
    let sampler = WindowSampler(regions: regions, windowSize: 8, seed: 77)
    let pipeline = StreamingPipeline(
      loader: loader, sampler: sampler, from: cursor,
      configuration: PipelineConfiguration(slots: slots, decodeThreads: threads, epochs: epochs))
    defer { pipeline.stop() }
    let batch = Batch(layout: loader.layout, capacity: 5)
    var samples: [[WindowSample]] = []
    var tensors: [[[Float]]] = []
    var cursors: [SamplerCursor] = []
    while samples.count < limit, try pipeline.next(into: batch) {
      samples.append(batch.samples)
      tensors.append(
        batch.parts.enumerated().map { p, part in
          Array(part[0..<(batch.count * loader.layout.elements(part: p))])
        })
      cursors.append(batch.cursor)
    }
    return (samples, tensors, cursors)
  }

  @Test func identicalBatchesWhateverThreadsAndTiming() throws {
    let calm = try collect(loader: SyntheticLoader(), threads: 1)
    let busy = try collect(loader: SyntheticLoader(maxDelayMicroseconds: 2_000), threads: 4)
    #expect(calm.samples.count > 10)
    #expect(calm.samples == busy.samples)
    #expect(calm.tensors == busy.tensors)
    // Rejected windows were replaced by later attempts, never delivered.
    let all = calm.samples.flatMap { $0 }
    #expect(all.allSatisfy { ($0.x + $0.y) % 5 != 0 })
    #expect(all.contains { $0.attempt > 0 })
    // Two epochs of every slot, in sampler order.
    let sampler = WindowSampler(regions: regions, windowSize: 8, seed: 77)
    #expect(all.count == 2 * sampler.samplesPerEpoch)
  }

  @Test func resumeFromABatchCursorContinuesExactly() throws {
    let full = try collect(loader: SyntheticLoader(), threads: 2)
    let k = 7
    let resumed = try collect(loader: SyntheticLoader(), threads: 3, from: full.cursors[k - 1])
    #expect(Array(full.samples.dropFirst(k)).flatMap { $0 } == resumed.samples.flatMap { $0 })
    #expect(
      Array(full.tensors.dropFirst(k)).flatMap { $0.flatMap { $0 } }
        == resumed.tensors.flatMap { $0.flatMap { $0 } })
  }

  @Test func inFlightWorkIsBoundedBySlots() throws {
    let loader = SyntheticLoader(maxDelayMicroseconds: 500)
    _ = try collect(loader: loader, threads: 2, slots: 6, epochs: 3)
    #expect(loader.inFlight.peak <= 6)
  }

  @Test func skipPolicyCountsFailuresAndKeepsGoing() throws {
    let sampler = WindowSampler(regions: regions, windowSize: 8, seed: 77)
    let pipeline = StreamingPipeline(
      loader: SyntheticLoader(failingRegions: [1]), sampler: sampler,
      configuration: PipelineConfiguration(slots: 8, decodeThreads: 2, epochs: 1))
    defer { pipeline.stop() }
    let batch = Batch(layout: SampleLayout(channels: [2, 3], size: 8), capacity: 4)
    var delivered: [WindowSample] = []
    while try pipeline.next(into: batch) { delivered += batch.samples }
    #expect(!delivered.isEmpty)
    #expect(delivered.allSatisfy { $0.region != 1 })
    let stats = pipeline.stats
    #expect(stats.failures > 0)
    #expect(stats.failureMessages.first == "region 1 is unreachable")
    #expect(stats.samplesDelivered == delivered.count)
  }

  @Test func failPolicyStopsWithTheError() throws {
    let sampler = WindowSampler(regions: regions, windowSize: 8, seed: 77)
    let pipeline = StreamingPipeline(
      loader: SyntheticLoader(failingRegions: [0, 1, 2]), sampler: sampler,
      configuration: PipelineConfiguration(slots: 8, decodeThreads: 2, onError: .fail, epochs: 1))
    defer { pipeline.stop() }
    let batch = Batch(layout: SampleLayout(channels: [2, 3], size: 8), capacity: 4)
    #expect(throws: RangeFailure.self) {
      while try pipeline.next(into: batch) {}
    }
  }

  @Test func stopWakesAConsumerAndEmptySamplerEndsAtOnce() throws {
    let tiny = WindowSampler(regions: [(4, 4)], windowSize: 8, seed: 1)
    let empty = StreamingPipeline(loader: SyntheticLoader(), sampler: tiny)
    let batch = Batch(layout: SampleLayout(channels: [2, 3], size: 8), capacity: 4)
    #expect(try empty.next(into: batch) == false)
    let sampler = WindowSampler(regions: regions, windowSize: 8, seed: 77)
    let endless = StreamingPipeline(
      loader: SyntheticLoader(maxDelayMicroseconds: 100), sampler: sampler,
      configuration: PipelineConfiguration(slots: 4, decodeThreads: 1))
    #expect(try endless.next(into: batch))
    endless.stop()
    #expect(try endless.next(into: batch) == false)
  }

  /// Dropping a pipeline right after `stop()` while fetches are still in flight must be safe:
  /// late tasks finish on an executor that outlives them.
  @Test func releasingRightAfterStopWithWorkInFlightIsSafe() async throws {
    let sampler = WindowSampler(regions: regions, windowSize: 8, seed: 5)
    for _ in 0..<40 {
      try await onConsumerThread {
        let pipeline = StreamingPipeline(
          loader: SyntheticLoader(maxDelayMicroseconds: 3_000), sampler: sampler,
          configuration: PipelineConfiguration(slots: 16, decodeThreads: 2))
        let batch = Batch(layout: SampleLayout(channels: [2, 3], size: 8), capacity: 2)
        _ = try pipeline.next(into: batch)
        pipeline.stop()
      }
    }
    try await Task.sleep(for: .milliseconds(50))
  }
}

/// Runs a blocking consumer on its own thread (never on the cooperative pool).
func onConsumerThread(_ body: @escaping @Sendable () throws -> Void) async throws {
  try await withCheckedThrowingContinuation { (c: CheckedContinuation<Void, any Error>) in
    Thread { c.resume(with: Result { try body() }) }.start()
  }
}
