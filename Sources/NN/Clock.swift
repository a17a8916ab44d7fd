#if canImport(Glibc)
  import Glibc
#endif

/// Monotonic wall clock in seconds, for benchmarks and per-layer timing.
public enum Clock {
  /// Seconds since an arbitrary fixed point (CLOCK_MONOTONIC).
  public static func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
  }

  /// CPU seconds used by this process (all threads; CLOCK_PROCESS_CPUTIME_ID). On a busy
  /// machine this measures work done, independent of how long the scheduler kept us waiting.
  public static func processCPU() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
  }

  /// CPU seconds used by the calling thread (CLOCK_THREAD_CPUTIME_ID): per-layer timing on one
  /// thread that does not count time spent descheduled on a busy machine.
  public static func threadCPU() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
  }
}
