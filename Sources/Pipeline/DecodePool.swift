import Foundation
import TandemBase

/// A small pool of dedicated threads for CPU-bound decode and assembly work.
///
/// Decoding blocks a thread for milliseconds, so it does not run on Swift's cooperative pool
/// (which the fetch stage needs to stay responsive). Each job receives the index of the worker
/// running it, so callers can keep thread-confined state (e.g. one libtiff handle cache per
/// worker) in an array indexed by worker.
public final class DecodePool: Sendable {
  private let jobs: RingBuffer<@Sendable (Int) -> Void>
  /// Number of worker threads.
  public let threadCount: Int

  /// Starts `threads` workers; `queueCapacity` bounds jobs waiting for a worker.
  public init(threads: Int, queueCapacity: Int = 256, name: String = "tandem-decode") {
    precondition(threads >= 1, "a decode pool needs at least one thread")
    threadCount = threads
    jobs = RingBuffer(capacity: queueCapacity)
    for index in 0..<threads {
      let queue = jobs
      let thread = Thread {
        ThreadAccounting.nameCurrentThread("\(name)-\(index)")
        while let job = queue.take() { job(index) }
      }
      thread.name = "\(name)-\(index)"
      thread.stackSize = 8 << 20
      thread.start()
    }
  }

  /// Runs `body` on a worker and returns its result.
  public func run<T: Sendable>(
    _ body: @escaping @Sendable (_ worker: Int) throws -> T
  ) async throws
    -> T
  {
    try await withCheckedThrowingContinuation { continuation in
      let accepted = jobs.put { worker in
        continuation.resume(with: Result { try body(worker) })
      }
      if !accepted { continuation.resume(throwing: CancellationError()) }
    }
  }

  /// Stops the workers after the queued jobs; later `run` calls fail with `CancellationError`.
  public func shutdown() { jobs.close() }

  deinit { jobs.close() }
}
