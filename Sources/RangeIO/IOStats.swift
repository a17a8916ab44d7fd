import Synchronization

/// Thread-safe I/O counters shared by the sources of a run and shown by `--stats`.
public final class IOStats: Sendable {
  /// Requests sent (HTTP requests, or `pread` calls for files).
  public let requests = Atomic<Int>(0)
  /// Payload bytes received from the origin (not counting cache hits).
  public let bytesFetched = Atomic<Int>(0)
  /// Requests that were retried after a transient failure.
  public let retries = Atomic<Int>(0)
  /// Requests that failed for good.
  public let failures = Atomic<Int>(0)
  /// Ranges served from the tile cache.
  public let cacheHits = Atomic<Int>(0)
  /// Ranges that missed the tile cache.
  public let cacheMisses = Atomic<Int>(0)
  /// Total time callers spent waiting on I/O, in nanoseconds.
  public let waitNanoseconds = Atomic<Int>(0)

  public init() {}

  /// A plain copy of the counters.
  public var snapshot: IOStatsSnapshot {
    IOStatsSnapshot(
      requests: requests.load(ordering: .relaxed),
      bytesFetched: bytesFetched.load(ordering: .relaxed),
      retries: retries.load(ordering: .relaxed),
      failures: failures.load(ordering: .relaxed),
      cacheHits: cacheHits.load(ordering: .relaxed),
      cacheMisses: cacheMisses.load(ordering: .relaxed),
      waitNanoseconds: waitNanoseconds.load(ordering: .relaxed))
  }

  /// Adds `count` requests and `bytes` bytes.
  public func record(requests count: Int, bytes: Int) {
    requests.add(count, ordering: .relaxed)
    bytesFetched.add(bytes, ordering: .relaxed)
  }
}

/// A copy of ``IOStats`` at one moment.
public struct IOStatsSnapshot: Sendable, Codable, Equatable {
  public var requests: Int
  public var bytesFetched: Int
  public var retries: Int
  public var failures: Int
  public var cacheHits: Int
  public var cacheMisses: Int
  public var waitNanoseconds: Int

  public init(
    requests: Int = 0, bytesFetched: Int = 0, retries: Int = 0, failures: Int = 0,
    cacheHits: Int = 0, cacheMisses: Int = 0, waitNanoseconds: Int = 0
  ) {
    self.requests = requests
    self.bytesFetched = bytesFetched
    self.retries = retries
    self.failures = failures
    self.cacheHits = cacheHits
    self.cacheMisses = cacheMisses
    self.waitNanoseconds = waitNanoseconds
  }

  /// The counters accumulated since `earlier`.
  public func since(_ earlier: IOStatsSnapshot) -> IOStatsSnapshot {
    IOStatsSnapshot(
      requests: requests - earlier.requests, bytesFetched: bytesFetched - earlier.bytesFetched,
      retries: retries - earlier.retries, failures: failures - earlier.failures,
      cacheHits: cacheHits - earlier.cacheHits, cacheMisses: cacheMisses - earlier.cacheMisses,
      waitNanoseconds: waitNanoseconds - earlier.waitNanoseconds)
  }
}
