import Synchronization

/// A bounded reorder buffer: producers finish work items out of order, the consumer receives
/// them strictly in sequence order (0, 1, 2, …).
///
/// Item `s` occupies slot `s % capacity`. A producer delivering `s` waits while
/// `s >= next + capacity` (the window of sequences the buffer may hold), so memory stays bounded
/// by `capacity` items. If producers claim sequence numbers in increasing order (as the pipeline's
/// workers do), the producer holding `next` never waits, so the buffer cannot deadlock.
public final class OrderedRingBuffer<Element>: @unchecked Sendable {
  private var slots: [Element?]
  private var next: UInt64
  private var closed = false
  private var end: UInt64?
  private let lock = Condition()
  private let takeWaitNanos = Atomic<UInt64>(0)

  /// How many sequence numbers may be in the buffer at once.
  public let capacity: Int

  /// Creates a buffer whose first expected sequence number is `first` (non-zero on resume).
  public init(capacity: Int, first: UInt64 = 0) {
    precondition(capacity >= 1, "OrderedRingBuffer capacity must be at least 1")
    self.capacity = capacity
    self.next = first
    slots = Array(repeating: nil, count: capacity)
  }

  /// Delivers the item with sequence number `sequence`, waiting while it is beyond the window.
  /// Returns `false` if the buffer is closed. Delivering a sequence number twice, or one already
  /// consumed, is a programming error.
  @discardableResult
  public func put(_ element: Element, sequence: UInt64) -> Bool {
    lock.withLock {
      precondition(sequence >= next, "sequence \(sequence) was already consumed")
      while sequence >= next + UInt64(capacity) && !closed { lock.wait() }
      guard !closed else { return false }
      let slot = Int(sequence % UInt64(capacity))
      precondition(slots[slot] == nil, "sequence \(sequence) delivered twice")
      slots[slot] = element
      lock.broadcast()
      return true
    }
  }

  /// Takes the next item in sequence order, waiting until it is delivered. Returns `nil` once
  /// the buffer is closed (items not yet consumed are dropped) or the sequence reached the end
  /// announced by `finish(endSequence:)`.
  public func take() -> Element? {
    lock.withLock {
      let slot = Int(next % UInt64(capacity))
      if slots[slot] == nil && !closed && next != end {
        let start = monotonicNanoseconds()
        while slots[slot] == nil && !closed && next != end { lock.wait() }
        takeWaitNanos.add(monotonicNanoseconds() - start, ordering: .relaxed)
      }
      guard let element = slots[slot], !closed else { return nil }
      slots[slot] = nil
      next += 1
      lock.broadcast()
      return element
    }
  }

  /// Announces that no sequence number at or beyond `endSequence` will be delivered: `take`
  /// returns `nil` after consuming `endSequence - 1`.
  public func finish(endSequence: UInt64) {
    lock.withLock {
      end = endSequence
      lock.broadcast()
    }
  }

  /// Closes the buffer, waking every waiter.
  public func close() {
    lock.withLock {
      closed = true
      lock.broadcast()
    }
  }

  /// The next sequence number `take` will return.
  public var nextSequence: UInt64 { lock.withLock { next } }

  /// Items delivered but not yet taken.
  public var occupancy: Int { lock.withLock { slots.reduce(0) { $0 + ($1 == nil ? 0 : 1) } } }

  /// Total time the consumer spent blocked in `take`, in nanoseconds.
  public var consumerWaitNanoseconds: UInt64 { takeWaitNanos.load(ordering: .relaxed) }
}
