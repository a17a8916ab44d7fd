#if canImport(Glibc)
  import Glibc
#endif

/// A mutex with one condition variable (pthread), for the blocking queues of the pipeline.
///
/// `Synchronization.Mutex` has no condition variable; blocking producer/consumer hand-off needs
/// one, so this small wrapper is the only place the pipeline touches pthreads directly.
final class Condition: @unchecked Sendable {
  private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
  private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)

  init() {
    pthread_mutex_init(mutex, nil)
    var attributes = pthread_condattr_t()
    pthread_condattr_init(&attributes)
    pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
    pthread_cond_init(condition, &attributes)
    pthread_condattr_destroy(&attributes)
  }

  deinit {
    pthread_cond_destroy(condition)
    pthread_mutex_destroy(mutex)
    condition.deallocate()
    mutex.deallocate()
  }

  /// Runs `body` with the mutex held.
  @inline(__always)
  func withLock<T>(_ body: () throws -> T) rethrows -> T {
    pthread_mutex_lock(mutex)
    defer { pthread_mutex_unlock(mutex) }
    return try body()
  }

  /// Waits for a signal; the mutex must be held (call inside `withLock`).
  func wait() {
    pthread_cond_wait(condition, mutex)
  }

  /// Waits for a signal or until `deadline` (monotonic nanoseconds); returns false on timeout.
  func wait(untilNanoseconds deadline: UInt64) -> Bool {
    var ts = timespec(tv_sec: Int(deadline / 1_000_000_000), tv_nsec: Int(deadline % 1_000_000_000))
    return pthread_cond_timedwait(condition, mutex, &ts) == 0
  }

  /// Wakes every waiter.
  func broadcast() {
    pthread_cond_broadcast(condition)
  }
}

/// Monotonic clock in nanoseconds.
@inline(__always)
func monotonicNanoseconds() -> UInt64 {
  var ts = timespec()
  clock_gettime(CLOCK_MONOTONIC, &ts)
  return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}
