import Synchronization

/// A fixed-capacity, blocking FIFO queue between pipeline stages.
///
/// `put` blocks while the buffer is full (backpressure), `take` blocks while it is empty.
/// `close()` wakes every waiter: afterwards `put` fails and `take` drains what is left, then
/// returns `nil`. Storage is allocated once at the given capacity, so memory is bounded by
/// `capacity` elements whatever the producers do.
public final class RingBuffer<Element>: @unchecked Sendable {
  // Invariants (under `lock`): 0 <= count <= capacity, 0 <= head < capacity; the elements live
  // at slots head, head+1, … (mod capacity).
  private var slots: [Element?]
  private var head = 0
  private var count = 0
  private var closed = false
  private let lock = Condition()
  private let takeWaitNanos = Atomic<UInt64>(0)
  private let putWaitNanos = Atomic<UInt64>(0)

  /// The maximum number of elements held at once.
  public let capacity: Int

  /// Creates an empty buffer; `capacity` must be at least 1.
  public init(capacity: Int) {
    precondition(capacity >= 1, "RingBuffer capacity must be at least 1")
    self.capacity = capacity
    slots = Array(repeating: nil, count: capacity)
  }

  /// Appends `element`, waiting while the buffer is full. Returns `false` (and drops nothing
  /// that was already queued) if the buffer is or becomes closed.
  @discardableResult
  public func put(_ element: Element) -> Bool {
    lock.withLock {
      if count == capacity && !closed {
        let start = monotonicNanoseconds()
        while count == capacity && !closed { lock.wait() }
        putWaitNanos.add(monotonicNanoseconds() - start, ordering: .relaxed)
      }
      guard !closed else { return false }
      slots[(head + count) % capacity] = element
      count += 1
      lock.broadcast()
      return true
    }
  }

  /// Appends without waiting; returns `false` when full or closed.
  public func tryPut(_ element: Element) -> Bool {
    lock.withLock {
      guard !closed, count < capacity else { return false }
      slots[(head + count) % capacity] = element
      count += 1
      lock.broadcast()
      return true
    }
  }

  /// Removes the oldest element, waiting while the buffer is empty. Returns `nil` once the
  /// buffer is closed and drained.
  public func take() -> Element? {
    lock.withLock {
      if count == 0 && !closed {
        let start = monotonicNanoseconds()
        while count == 0 && !closed { lock.wait() }
        takeWaitNanos.add(monotonicNanoseconds() - start, ordering: .relaxed)
      }
      return removeFirstLocked()
    }
  }

  /// Removes the oldest element without waiting; `nil` when empty.
  public func tryTake() -> Element? {
    lock.withLock { removeFirstLocked() }
  }

  private func removeFirstLocked() -> Element? {
    guard count > 0 else { return nil }
    let element = slots[head]
    slots[head] = nil
    head = (head + 1) % capacity
    count -= 1
    lock.broadcast()
    return element
  }

  /// Closes the buffer and wakes every waiting producer and consumer.
  public func close() {
    lock.withLock {
      closed = true
      lock.broadcast()
    }
  }

  /// Whether `close()` has been called.
  public var isClosed: Bool { lock.withLock { closed } }

  /// Elements currently queued.
  public var occupancy: Int { lock.withLock { count } }

  /// Total time consumers spent blocked in `take` (the consumer stall), in nanoseconds.
  public var consumerWaitNanoseconds: UInt64 { takeWaitNanos.load(ordering: .relaxed) }

  /// Total time producers spent blocked in `put` (backpressure), in nanoseconds.
  public var producerWaitNanoseconds: UInt64 { putWaitNanos.load(ordering: .relaxed) }
}
