import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// Names threads for the kernel (so `perf`, `top -H` and ``ThreadAccounting`` see them) and
/// reads per-thread and per-process CPU time on Linux.
public enum ThreadAccounting {
  /// Names the calling thread (Linux keeps the first 15 bytes). Foundation's `Thread.name` does
  /// not reach the kernel on Linux; call this at the top of a thread's body.
  public static func nameCurrentThread(_ name: String) {
    #if os(Linux)
      // pthread_setname_np is not visible to Swift without _GNU_SOURCE; the calling thread's
      // own comm file does the same.
      let fd = open("/proc/thread-self/comm", O_WRONLY)
      guard fd >= 0 else { return }
      defer { close(fd) }
      let bytes = Array(name.utf8.prefix(15))
      _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    #endif
  }

  /// CPU seconds used by the calling thread so far.
  public static func threadCPUSeconds() -> Double {
    var ts = timespec()
    guard clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) == 0 else { return 0 }
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
  }

  /// CPU seconds (user + system) used by this process so far.
  public static func processCPUSeconds() -> Double {
    var usage = rusage()
    guard getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage) == 0 else { return 0 }
    func seconds(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
    return seconds(usage.ru_utime) + seconds(usage.ru_stime)
  }

  /// Time one thread spent running and runnable-but-waiting for a CPU, from the scheduler.
  public struct ThreadTimes: Sendable, Equatable {
    /// Kernel thread name (`comm`).
    public var name: String
    /// Seconds on a CPU.
    public var cpuSeconds: Double
    /// Seconds runnable but waiting in the run queue (CPU contention, not blocking).
    public var runQueueSeconds: Double

    public init(name: String, cpuSeconds: Double, runQueueSeconds: Double) {
      self.name = name
      self.cpuSeconds = cpuSeconds
      self.runQueueSeconds = runQueueSeconds
    }
  }

  /// Every thread of this process with its scheduler times (`/proc/self/task/*/schedstat`),
  /// keyed by thread id; empty where `/proc` is unavailable.
  public static func threadTimes() -> [Int: ThreadTimes] {
    let root = "/proc/self/task"
    guard let tids = try? FileManager.default.contentsOfDirectory(atPath: root) else { return [:] }
    var out: [Int: ThreadTimes] = [:]
    for entry in tids {
      guard let tid = Int(entry),
        let stat = try? String(contentsOfFile: "\(root)/\(entry)/schedstat", encoding: .utf8),
        let comm = try? String(contentsOfFile: "\(root)/\(entry)/comm", encoding: .utf8)
      else { continue }
      let fields = stat.split(separator: " ").compactMap {
        Double($0.trimmingCharacters(in: .whitespacesAndNewlines))
      }
      guard fields.count >= 2 else { continue }
      out[tid] = ThreadTimes(
        name: comm.trimmingCharacters(in: .whitespacesAndNewlines),
        cpuSeconds: fields[0] / 1e9, runQueueSeconds: fields[1] / 1e9)
    }
    return out
  }

  /// Scheduler times accumulated between two ``threadTimes()`` snapshots, summed by thread
  /// name with trailing digits and dashes removed (`tandem-decode-0` and `-1` become
  /// `tandem-decode`), plus the thread count per name.
  public static func delta(
    from start: [Int: ThreadTimes], to end: [Int: ThreadTimes]
  ) -> [String: (threads: Int, cpuSeconds: Double, runQueueSeconds: Double)] {
    var out: [String: (threads: Int, cpuSeconds: Double, runQueueSeconds: Double)] = [:]
    for (tid, now) in end {
      let before = start[tid]
      var name = now.name
      while let last = name.last, last.isNumber || last == "-" { name.removeLast() }
      let cpu = now.cpuSeconds - (before?.cpuSeconds ?? 0)
      let wait = now.runQueueSeconds - (before?.runQueueSeconds ?? 0)
      let sum = out[name] ?? (0, 0, 0)
      out[name] = (sum.threads + 1, sum.cpuSeconds + cpu, sum.runQueueSeconds + wait)
    }
    return out
  }
}
