import Foundation
import Synchronization
import TandemBase

/// What to do when a sample's fetch or decode fails after the I/O layer's retries.
public enum ErrorPolicy: String, Sendable, Codable {
  /// Warn, count, and move on to the next sample.
  case skip
  /// Stop the run with the error.
  case fail
}

/// Tuning of a ``StreamingPipeline``.
public struct PipelineConfiguration: Sendable {
  /// Samples in flight or ready at once (fetching, decoding, or waiting for the consumer);
  /// bounds memory. A few batches' worth keeps the trainer fed.
  public var slots: Int
  /// Decode worker threads.
  public var decodeThreads: Int
  /// Replacement windows drawn for a rejected sample before it is skipped.
  public var maxAttempts: Int
  public var onError: ErrorPolicy
  /// Stop after this many epochs (`nil` = until stopped).
  public var epochs: Int?
  /// Samples fetched at once: `nil` chooses it from the measured fetch latency and decode rate
  /// (``InFlightController``), a number fixes it. Never more than `slots`.
  public var fetchDepth: Int?
  /// Largest automatic fetch depth (each sample in flight holds its compressed bytes).
  public var maxFetchDepth: Int

  public init(
    slots: Int = 128, decodeThreads: Int = 2, maxAttempts: Int = 8, onError: ErrorPolicy = .skip,
    epochs: Int? = nil, fetchDepth: Int? = nil, maxFetchDepth: Int = 64
  ) {
    self.slots = slots
    self.decodeThreads = decodeThreads
    self.maxAttempts = maxAttempts
    self.onError = onError
    self.epochs = epochs
    self.fetchDepth = fetchDepth
    self.maxFetchDepth = maxFetchDepth
  }
}

/// Streams batches of samples: a producer walks the sampler in order, fetches many windows at
/// once (async I/O), decodes them on a small thread pool, and a reorder buffer hands them to the
/// consumer strictly in sampler order, so the batches are identical whatever the thread count or
/// network timing. Memory is bounded by `configuration.slots` samples.
public final class StreamingPipeline<Loader: SampleLoader>: Sendable {
  private struct Outcome: Sendable {
    var slot: Int
    var sample: WindowSample?
    /// Cursor just after this sample.
    var after: SamplerCursor
  }

  private struct Counters: Sendable {
    var stats = PipelineStats()
    var fatal: (any Error)?
    var controller: InFlightController?
  }

  /// A decode job's result and its CPU time on the worker (a struct, not a tuple: see
  /// `Scripts/lint-async-tuples`).
  private struct Decoded: Sendable {
    var verdict: SampleVerdict
    var cpuSeconds: Double
    /// From the end of the fetch to the start of the decode (waiting for a worker).
    var queueNanoseconds: UInt64
  }

  public let loader: Loader
  public let sampler: WindowSampler
  public let configuration: PipelineConfiguration
  private let storage: SlotStorage
  private let slots: AsyncSlotPool
  private let output: OrderedRingBuffer<Outcome>
  private let pool: DecodePool
  /// Bounds the samples being fetched at once (the fetch depth).
  private let gate: AsyncGate
  private let executor = ThreadExecutor()
  private let counters: Mutex<Counters>
  private let producer = Mutex<Task<Void, Never>?>(nil)
  private let started = monotonicNanoseconds()
  private let start: SamplerCursor

  /// Creates a pipeline that starts at `cursor` (epoch 0, position 0 for a new run).
  public init(
    loader: Loader, sampler: WindowSampler, from cursor: SamplerCursor = SamplerCursor(),
    configuration: PipelineConfiguration = PipelineConfiguration()
  ) {
    precondition(configuration.slots >= 1 && configuration.decodeThreads >= 1)
    self.loader = loader
    self.sampler = sampler
    self.configuration = configuration
    self.start = cursor
    storage = SlotStorage(layout: loader.layout, count: configuration.slots)
    slots = AsyncSlotPool(count: configuration.slots)
    output = OrderedRingBuffer(capacity: configuration.slots)
    pool = DecodePool(
      threads: configuration.decodeThreads, queueCapacity: configuration.slots + 1)
    let maxDepth = max(1, min(configuration.maxFetchDepth, configuration.slots))
    var counters = Counters()
    // The controller keeps the moving averages either way; it sets the depth only when automatic.
    let controller = InFlightController(
      threads: configuration.decodeThreads,
      initialDepth: configuration.fetchDepth.map { max(1, min($0, configuration.slots)) },
      // At least four samples per worker: on loopback Little's law asks for barely more than
      // one per worker, and two decode workers then starved (idle 22 % of the time, measured
      // with schedstat) whenever the event-loop thread waited for a core.
      minDepth: min(4 * configuration.decodeThreads + 2, maxDepth),
      maxDepth: max(maxDepth, configuration.fetchDepth ?? 0))
    counters.controller = controller
    let depth =
      configuration.fetchDepth.map { max(1, min($0, configuration.slots)) } ?? controller.depth
    counters.stats.fetchDepthIsAutomatic = configuration.fetchDepth == nil
    counters.stats.fetchDepth = depth
    self.counters = Mutex(counters)
    gate = AsyncGate(limit: depth)
    loader.fetchDepthDidChange(depth)
    let task = Task.detached(executorPreference: executor) { [self] in
      await self.produce()
      // Every child task has finished: nothing else will run on the executor.
      self.executor.shutdown()
    }
    producer.withLock { $0 = task }
  }

  deinit {
    stop()
  }

  /// Fills `batch` with the next samples in order, waiting for them if needed (that wait is the
  /// consumer stall). Returns `false` when the stream has ended (after the configured epochs) and
  /// no sample is left; a final partial batch returns `true` with `batch.count < capacity`.
  /// Throws the first error when `onError` is `.fail`.
  public func next(into batch: Batch) throws -> Bool {
    precondition(batch.layout == loader.layout, "batch layout differs from the loader's")
    batch.count = 0
    batch.samples.removeAll(keepingCapacity: true)
    while batch.count < batch.capacity {
      guard let outcome = output.take() else { break }
      defer { slots.release(outcome.slot) }
      batch.cursor = outcome.after
      guard let sample = outcome.sample else { continue }  // skipped
      storage.copy(slot: outcome.slot, into: batch, at: batch.count)
      batch.samples.append(sample)
      batch.count += 1
    }
    let fatal = counters.withLock { c -> (any Error)? in
      c.stats.samplesDelivered += batch.count
      return c.fatal
    }
    if let fatal { throw fatal }
    return batch.count > 0
  }

  /// A snapshot of the counters.
  public var stats: PipelineStats {
    var s = counters.withLock { $0.stats }
    s.consumerWaitSeconds = Double(output.consumerWaitNanoseconds) / 1e9
    s.elapsedSeconds = Double(monotonicNanoseconds() - started) / 1e9
    s.queued = output.occupancy
    s.slots = configuration.slots
    return s
  }

  /// Stops fetching and decoding and wakes a waiting consumer. Idempotent. In-flight samples
  /// finish or observe cancellation in the background; the producer then shuts down the fetch
  /// executor (stopping it here could strand tasks that still need to resume on it).
  public func stop() {
    producer.withLock { $0?.cancel() }
    gate.close()
    slots.close()
    output.close()
    pool.shutdown()
  }

  // MARK: - Producer

  private func produce() async {
    var cursor = start
    var sequence: UInt64 = 0
    var plan = WindowSampler.EpochPlan(sampler: sampler, epoch: cursor.epoch)
    guard plan.count > 0 else {
      output.finish(endSequence: 0)
      return
    }
    await withDiscardingTaskGroup { group in
      while !Task.isCancelled {
        if let epochs = configuration.epochs, cursor.epoch >= epochs { break }
        if cursor.position >= plan.count {
          cursor = SamplerCursor(epoch: cursor.epoch + 1, position: 0)
          if let epochs = configuration.epochs, cursor.epoch >= epochs { break }
          plan = WindowSampler.EpochPlan(sampler: sampler, epoch: cursor.epoch)
          continue
        }
        guard let slot = await slots.acquire() else { return }
        let position = cursor.position
        let thisPlan = plan
        let after = SamplerCursor(epoch: cursor.epoch, position: position + 1)
        let seq = sequence
        group.addTask {
          await self.load(plan: thisPlan, position: position, slot: slot, after: after, seq: seq)
        }
        sequence += 1
        cursor.position += 1
      }
    }
    output.finish(endSequence: sequence)
  }

  /// Loads one sample into `slot`, drawing replacement windows for rejected ones.
  private func load(
    plan: WindowSampler.EpochPlan, position: Int, slot: Int, after: SamplerCursor, seq: UInt64
  ) async {
    for attempt in 0..<configuration.maxAttempts {
      if Task.isCancelled { return }
      let sample = plan.sample(position: position, attempt: attempt)
      do {
        // The fetch depth bounds samples from the start of their fetch to the end of their
        // decode, so fetched bytes never pile up in front of busy decode workers.
        guard await gate.enter() else { return }  // stopped
        let t0 = monotonicNanoseconds()
        let fetched: Loader.Fetched
        do {
          fetched = try await loader.fetch(sample)
        } catch {
          gate.leave()
          throw error
        }
        let t1 = monotonicNanoseconds()
        let storage = self.storage
        let loader = self.loader
        let decoded: Decoded
        do {
          decoded = try await pool.run { worker in
            // CPU time, not wall time: on a busy machine a worker's wall time per sample
            // includes waiting for a core, which would make the controller plan for a decode
            // rate below what the workers reach when fed.
            let started = monotonicNanoseconds()
            let start = ThreadAccounting.threadCPUSeconds()
            let verdict = try storage.withParts(slot: slot) { parts in
              try loader.decode(fetched, sample: sample, worker: worker, into: parts)
            }
            return Decoded(
              verdict: verdict, cpuSeconds: ThreadAccounting.threadCPUSeconds() - start,
              queueNanoseconds: started > t1 ? started - t1 : 0)
          }
        } catch {
          gate.leave()
          throw error
        }
        gate.leave()
        let verdict = decoded.verdict
        let t2 = monotonicNanoseconds()
        let newDepth = counters.withLock { c -> Int? in
          c.stats.fetchSeconds += Double(t1 - t0) / 1e9
          c.stats.fetches += 1
          c.stats.decodeSeconds += Double(t2 - t1) / 1e9
          guard var controller = c.controller else { return nil }
          let changed = controller.observe(
            fetchSeconds: Double(t1 - t0) / 1e9, decodeSeconds: decoded.cpuSeconds,
            queueSeconds: Double(decoded.queueNanoseconds) / 1e9)
          c.controller = controller
          c.stats.recentFetchSeconds = controller.fetchSeconds ?? 0
          c.stats.recentDecodeSeconds = controller.decodeSeconds ?? 0
          guard changed, c.stats.fetchDepthIsAutomatic else { return nil }
          c.stats.fetchDepth = controller.depth
          return controller.depth
        }
        if let newDepth {
          gate.setLimit(newDepth)
          loader.fetchDepthDidChange(newDepth)
        }
        switch verdict {
        case .accepted:
          output.put(Outcome(slot: slot, sample: sample, after: after), sequence: seq)
          return
        case .rejected(let reason):
          counters.withLock { $0.stats.rejected[reason, default: 0] += 1 }
        }
      } catch is CancellationError {
        return
      } catch {
        let fatal = counters.withLock { c -> Bool in
          c.stats.failures += 1
          if c.stats.failureMessages.count < 10 {
            c.stats.failureMessages.append(Redaction.text(String(describing: error)))
          }
          if configuration.onError == .fail {
            if c.fatal == nil { c.fatal = error }
            return true
          }
          return false
        }
        if fatal {
          output.put(Outcome(slot: slot, sample: nil, after: after), sequence: seq)
          output.finish(endSequence: seq + 1)
          return
        }
        break  // skip this sample: a failing object would fail every attempt
      }
    }
    counters.withLock { $0.stats.skipped += 1 }
    output.put(Outcome(slot: slot, sample: nil, after: after), sequence: seq)
  }
}

/// Preallocated tensors for every slot: part `p` of slot `s` lives at
/// `buffers[p][s * elements(p) ..< (s + 1) * elements(p)]`.
final class SlotStorage: @unchecked Sendable {
  let layout: SampleLayout
  private let buffers: [UnsafeMutableBufferPointer<Float>]

  init(layout: SampleLayout, count: Int) {
    self.layout = layout
    buffers = layout.channels.indices.map {
      let b = UnsafeMutableBufferPointer<Float>.allocate(
        capacity: count * layout.elements(part: $0))
      b.initialize(repeating: 0)
      return b
    }
  }

  deinit { buffers.forEach { $0.deallocate() } }

  func withParts<T>(
    slot: Int, _ body: ([UnsafeMutableBufferPointer<Float>]) throws -> T
  ) rethrows
    -> T
  {
    let parts = layout.channels.indices.map { p -> UnsafeMutableBufferPointer<Float> in
      let n = layout.elements(part: p)
      return UnsafeMutableBufferPointer(rebasing: buffers[p][(slot * n)..<((slot + 1) * n)])
    }
    return try body(parts)
  }

  func copy(slot: Int, into batch: Batch, at index: Int) {
    for p in layout.channels.indices {
      let n = layout.elements(part: p)
      batch.parts[p].withUnsafeMutableBufferPointer { dst in
        (dst.baseAddress! + index * n).update(from: buffers[p].baseAddress! + slot * n, count: n)
      }
    }
  }
}
