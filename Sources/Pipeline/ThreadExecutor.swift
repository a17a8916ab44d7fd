import Foundation
import TandemBase

/// A task executor backed by one dedicated thread.
///
/// The pipeline's producer and fetch tasks run here instead of on Swift's cooperative pool: the
/// consumer (the training loop) blocks in `next(into:)`, and on a 2-core machine the cooperative
/// pool has only two threads, so a blocked consumer there could starve the very tasks it waits
/// for. Fetching is I/O-bound (the work happens on the libcurl event-loop thread or in `pread`),
/// so one thread is enough to drive many transfers.
public final class ThreadExecutor: TaskExecutor, @unchecked Sendable {
  private let jobs = RingBuffer<UnownedJob>(capacity: 1 << 16)
  private let overflow = Condition()
  private var pending: [UnownedJob] = []

  /// Starts the executor's thread. The thread keeps the executor alive until `shutdown()` has
  /// been called and the queued jobs have run, so the last reference to an executor may be
  /// dropped by a job running on it.
  public init(name: String = "tandem-fetch") {
    let thread = Thread { [jobs, self] in
      ThreadAccounting.nameCurrentThread(name)
      while let job = jobs.take() {
        job.runSynchronously(on: self.asUnownedTaskExecutor())
        self.drainOverflow()
      }
    }
    thread.name = name
    thread.start()
  }

  public func enqueue(_ job: consuming ExecutorJob) {
    let unowned = UnownedJob(job)
    // Never block the enqueuing thread: if the ring is full, park the job in an overflow list
    // that the executor thread drains.
    if !jobs.tryPut(unowned) {
      overflow.withLock { pending.append(unowned) }
    }
  }

  private func drainOverflow() {
    let parked: [UnownedJob] = overflow.withLock {
      defer { pending.removeAll() }
      return pending
    }
    for job in parked { jobs.put(job) }
  }

  /// Stops the thread once queued jobs have run.
  public func shutdown() { jobs.close() }
}
