import Foundation
import Synchronization

/// Guards blocking collectives with a deadline: a collective that has not completed after
/// `timeout` seconds means a peer died or hangs (MPI over shared memory never notices a dead
/// peer by itself), so the watchdog reports which operation was stuck and ends the process
/// through `onTimeout`; the launcher (`mpirun`, Slurm) then stops the other ranks.
///
/// `begin`/`end` bracket each collective; a background thread checks twice a second.
public final class CollectiveWatchdog: Sendable {
  /// Seconds a single collective may block (0 = no watchdog).
  public let timeout: Double
  private let current = Mutex<(label: String, started: Double)?>(nil)
  private let stopped = Atomic<Bool>(false)
  private let onTimeout: @Sendable (_ label: String, _ seconds: Double) -> Void

  /// Starts the watchdog thread (when `timeout` > 0). `onTimeout` runs on that thread, once,
  /// and is expected to end the process.
  public init(
    timeout: Double, onTimeout: @escaping @Sendable (_ label: String, _ seconds: Double) -> Void
  ) {
    self.timeout = timeout
    self.onTimeout = onTimeout
    guard timeout > 0 else { return }
    let thread = Thread { [self] in self.watch() }
    thread.name = "tandem-collective-watchdog"
    thread.start()
  }

  /// Marks the start of a blocking operation.
  public func begin(_ label: String) {
    current.withLock { $0 = (label, Self.now()) }
  }

  /// Marks its end.
  public func end() {
    current.withLock { $0 = nil }
  }

  /// Stops watching (the thread exits within half a second).
  public func stop() { stopped.store(true, ordering: .releasing) }

  /// The operation blocked longer than `timeout`, if any (what the thread checks).
  public func overdue(at time: Double = CollectiveWatchdog.now()) -> (String, Double)? {
    current.withLock { c in
      guard let c, timeout > 0, time - c.started > timeout else { return nil }
      return (c.label, time - c.started)
    }
  }

  private func watch() {
    while !stopped.load(ordering: .acquiring) {
      usleep(500_000)
      if let (label, seconds) = overdue() {
        onTimeout(label, seconds)
        return
      }
    }
  }

  /// Monotonic seconds.
  public static func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
  }
}
