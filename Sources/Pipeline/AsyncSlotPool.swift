import Synchronization

/// A fixed set of slot indices handed out to async producers and returned by a (synchronous)
/// consumer: `acquire` suspends while every slot is taken. This is the pipeline's backpressure:
/// a sample owns a slot from before its fetch until the consumer has copied it into a batch, so
/// the bytes and tensors in flight are bounded by the slot count.
final class AsyncSlotPool: Sendable {
  private struct State {
    var free: [Int]
    var waiters: [CheckedContinuation<Int?, Never>] = []
    var closed = false
  }
  private let state: Mutex<State>

  init(count: Int) {
    precondition(count >= 1)
    state = Mutex(State(free: Array((0..<count).reversed())))
  }

  /// A free slot, waiting for one if needed; `nil` once closed.
  func acquire() async -> Int? {
    await withCheckedContinuation { (continuation: CheckedContinuation<Int?, Never>) in
      let immediate: Int?? = state.withLock { s in
        if s.closed { return .some(nil) }
        if let slot = s.free.popLast() { return .some(slot) }
        s.waiters.append(continuation)
        return .none
      }
      if let immediate { continuation.resume(returning: immediate) }
    }
  }

  /// Returns a slot, waking the oldest waiter.
  func release(_ slot: Int) {
    let waiter: CheckedContinuation<Int?, Never>? = state.withLock { s in
      if !s.waiters.isEmpty { return s.waiters.removeFirst() }
      s.free.append(slot)
      return nil
    }
    waiter?.resume(returning: slot)
  }

  /// Wakes every waiter with `nil`; later acquires return `nil` at once.
  func close() {
    let waiters = state.withLock { s in
      s.closed = true
      defer { s.waiters.removeAll() }
      return s.waiters
    }
    for w in waiters { w.resume(returning: nil) }
  }
}
