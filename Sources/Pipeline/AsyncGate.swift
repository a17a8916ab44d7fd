import Synchronization

/// An async semaphore whose limit can change while it is in use: at most `limit` holders at
/// once, waiters admitted first come, first served (so the pipeline fetches samples in sampler
/// order). Raising the limit admits waiters at once; lowering it takes effect as holders leave.
final class AsyncGate: Sendable {
  private struct State {
    var limit: Int
    var holders = 0
    var waiters: [CheckedContinuation<Bool, Never>] = []
    var closed = false
    /// Most holders seen at once (for tests and statistics).
    var peak = 0
  }
  private let state: Mutex<State>

  init(limit: Int) {
    state = Mutex(State(limit: max(1, limit)))
  }

  /// Waits for room; `false` once closed (the caller must not `leave`).
  func enter() async -> Bool {
    await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
      let admitted: Bool? = state.withLock { s in
        if s.closed { return false }
        if s.holders < s.limit && s.waiters.isEmpty {
          s.holders += 1
          s.peak = max(s.peak, s.holders)
          return true
        }
        s.waiters.append(continuation)
        return nil
      }
      if let admitted { continuation.resume(returning: admitted) }
    }
  }

  /// Gives the place back, admitting the next waiter if the limit allows.
  func leave() {
    let next = state.withLock { s -> [CheckedContinuation<Bool, Never>] in
      s.holders -= 1
      return Self.admit(&s)
    }
    for w in next { w.resume(returning: true) }
  }

  /// Changes the limit (at least 1).
  func setLimit(_ limit: Int) {
    let next = state.withLock { s -> [CheckedContinuation<Bool, Never>] in
      s.limit = max(1, limit)
      return Self.admit(&s)
    }
    for w in next { w.resume(returning: true) }
  }

  /// Wakes every waiter with `false`; later `enter` calls return `false` at once.
  func close() {
    let waiters = state.withLock { s in
      s.closed = true
      defer { s.waiters.removeAll() }
      return s.waiters
    }
    for w in waiters { w.resume(returning: false) }
  }

  var limit: Int { state.withLock { $0.limit } }
  var holders: Int { state.withLock { $0.holders } }
  var peak: Int { state.withLock { $0.peak } }
  var waiting: Int { state.withLock { $0.waiters.count } }

  private static func admit(_ s: inout State) -> [CheckedContinuation<Bool, Never>] {
    var out: [CheckedContinuation<Bool, Never>] = []
    while s.holders < s.limit, !s.waiters.isEmpty, !s.closed {
      out.append(s.waiters.removeFirst())
      s.holders += 1
      s.peak = max(s.peak, s.holders)
    }
    return out
  }
}
