import Foundation
import Synchronization
import Testing

@testable import Pipeline

@Suite struct RingBufferTests {
  /// Every capacity × start offset × fill count, as swift-collections tests its deques: the
  /// buffer is first rotated by `offset` (so the elements wrap around the end of storage), then
  /// filled with `count` elements, which must come back in order; a put beyond capacity fails
  /// without blocking.
  @Test(arguments: 1...9)
  func everyCapacityOffsetAndCount(capacity: Int) {
    for offset in 0..<capacity {
      for count in 0...capacity {
        let buffer = RingBuffer<Int>(capacity: capacity)
        for i in 0..<offset {
          #expect(buffer.tryPut(-i))
          #expect(buffer.tryTake() == -i)
        }
        for i in 0..<count { #expect(buffer.tryPut(i)) }
        #expect(buffer.occupancy == count)
        if count == capacity { #expect(!buffer.tryPut(99)) }
        for i in 0..<count { #expect(buffer.tryTake() == i) }
        #expect(buffer.tryTake() == nil)
        #expect(buffer.occupancy == 0)
      }
    }
  }

  @Test func closeDrainsThenReturnsNilAndRefusesPuts() {
    let buffer = RingBuffer<Int>(capacity: 3)
    buffer.put(1)
    buffer.put(2)
    buffer.close()
    #expect(!buffer.put(3))
    #expect(buffer.take() == 1)
    #expect(buffer.take() == 2)
    #expect(buffer.take() == nil)
  }

  @Test(.timeLimit(.minutes(1)))
  func closeWakesBlockedProducersAndConsumers() async {
    let full = RingBuffer<Int>(capacity: 1)
    full.put(0)
    let empty = RingBuffer<Int>(capacity: 1)
    let results = Mutex<[String]>([])
    let threads = [
      Thread { if !full.put(1) { results.withLock { $0.append("put refused") } } },
      Thread { if empty.take() == nil { results.withLock { $0.append("take nil") } } },
    ]
    threads.forEach { $0.start() }
    try? await Task.sleep(for: .milliseconds(50))
    full.close()
    empty.close()
    while results.withLock({ $0.count }) < 2 { try? await Task.sleep(for: .milliseconds(5)) }
    #expect(results.withLock { $0.sorted() } == ["put refused", "take nil"])
  }

  /// Several producers and consumers on real threads move a known multiset of values through a
  /// small buffer; nothing is lost or duplicated and per-producer order is preserved.
  // Hang guard: ~20 s normally, ~100 s under ThreadSanitizer on a loaded 2-core machine.
  @Test(.timeLimit(.minutes(5)), arguments: [(1, 1, 1), (4, 4, 2), (3, 5, 7), (8, 2, 1)])
  func multiProducerMultiConsumerStress(producers: Int, consumers: Int, capacity: Int) async {
    let perProducer = 20_000
    let buffer = RingBuffer<(Int, Int)>(capacity: capacity)
    let received = Mutex<[[Int]]>(Array(repeating: [], count: producers))
    let finished = Atomic<Int>(0)
    let producersDone = Atomic<Int>(0)
    for p in 0..<producers {
      Thread {
        for i in 0..<perProducer { buffer.put((p, i)) }
        if producersDone.add(1, ordering: .relaxed).newValue == producers { buffer.close() }
      }.start()
    }
    for _ in 0..<consumers {
      Thread {
        var local: [(Int, Int)] = []
        while let item = buffer.take() { local.append(item) }
        received.withLock { r in
          // Each consumer sees each producer's items in increasing order.
          var last = [Int: Int]()
          for (p, i) in local {
            precondition(i > last[p, default: -1])
            last[p] = i
            r[p].append(i)
          }
        }
        finished.add(1, ordering: .relaxed)
      }.start()
    }
    while finished.load(ordering: .relaxed) < consumers {
      try? await Task.sleep(for: .milliseconds(5))
    }
    received.withLock { r in
      for p in 0..<producers { #expect(r[p].sorted() == Array(0..<perProducer)) }
    }
  }
}

@Suite struct OrderedRingBufferTests {
  @Test(arguments: 1...6)
  func deliversInSequenceOrderWhateverTheArrivalOrder(capacity: Int) {
    // Within each window of `capacity` sequence numbers, deliver in reverse.
    let total = 40
    let buffer = OrderedRingBuffer<Int>(capacity: capacity)
    var out: [Int] = []
    var start = 0
    while start < total {
      let end = min(start + capacity, total)
      for s in (start..<end).reversed() { #expect(buffer.put(s * 10, sequence: UInt64(s))) }
      for _ in start..<end { out.append(buffer.take()!) }
      start = end
    }
    #expect(out == (0..<total).map { $0 * 10 })
  }

  @Test func resumesAtFirstSequence() {
    let buffer = OrderedRingBuffer<String>(capacity: 2, first: 7)
    buffer.put("eight", sequence: 8)
    buffer.put("seven", sequence: 7)
    #expect(buffer.take() == "seven")
    #expect(buffer.take() == "eight")
    #expect(buffer.nextSequence == 9)
  }

  /// Workers claim sequence numbers in order and finish after random delays; the consumer still
  /// sees 0, 1, 2, … and the buffer never holds more than `capacity` items.
  @Test(.timeLimit(.minutes(1)), arguments: [(1, 1), (4, 2), (3, 8)])
  func workersWithRandomDelaysNeverDeadlock(workers: Int, capacity: Int) async {
    let total = 2_000
    let buffer = OrderedRingBuffer<Int>(capacity: capacity)
    let nextClaim = Atomic<Int>(0)
    for w in 0..<workers {
      Thread {
        var rng = SystemRandomNumberGenerator()
        while true {
          let s = nextClaim.add(1, ordering: .relaxed).oldValue
          if s >= total { return }
          if Int.random(in: 0..<4, using: &rng) == 0 {
            usleep(UInt32(Int.random(in: 0..<200, using: &rng)))
          }
          _ = w
          precondition(buffer.occupancy <= capacity)
          buffer.put(s, sequence: UInt64(s))
        }
      }.start()
    }
    var got: [Int] = []
    for _ in 0..<total { got.append(buffer.take()!) }
    #expect(got == Array(0..<total))
    buffer.close()
  }

  @Test(.timeLimit(.minutes(1)))
  func closeWakesAWaitingConsumer() async {
    let buffer = OrderedRingBuffer<Int>(capacity: 2)
    let done = Atomic<Bool>(false)
    Thread {
      let value = buffer.take()
      precondition(value == nil)
      done.store(true, ordering: .relaxed)
    }.start()
    try? await Task.sleep(for: .milliseconds(30))
    buffer.close()
    while !done.load(ordering: .relaxed) { try? await Task.sleep(for: .milliseconds(5)) }
    let woke = done.load(ordering: .relaxed)
    #expect(woke)
  }
}

@Suite struct OrderedRingBufferEndTests {
  @Test(.timeLimit(.minutes(1)))
  func finishEndsTheStreamAfterTheLastSequence() {
    let buffer = OrderedRingBuffer<Int>(capacity: 4)
    buffer.put(1, sequence: 1)
    buffer.put(0, sequence: 0)
    buffer.finish(endSequence: 2)
    #expect(buffer.take() == 0)
    #expect(buffer.take() == 1)
    #expect(buffer.take() == nil)
  }
}
