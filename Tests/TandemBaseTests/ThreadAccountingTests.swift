import Foundation
import Synchronization
import Testing

@testable import TandemBase

@Suite struct ThreadAccountingTests {
  @Test func deltaGroupsThreadsByNameWithoutTheirIndex() {
    typealias T = ThreadAccounting.ThreadTimes
    let start: [Int: T] = [
      1: T(name: "tandem-decode-0", cpuSeconds: 1, runQueueSeconds: 0.5),
      2: T(name: "tandem-decode-1", cpuSeconds: 2, runQueueSeconds: 0.5),
    ]
    let end: [Int: T] = [
      1: T(name: "tandem-decode-0", cpuSeconds: 3, runQueueSeconds: 1),
      2: T(name: "tandem-decode-1", cpuSeconds: 2.5, runQueueSeconds: 1.5),
      3: T(name: "tandem-curl", cpuSeconds: 0.25, runQueueSeconds: 0),
    ]
    let d = ThreadAccounting.delta(from: start, to: end)
    #expect(d.count == 2)
    #expect(d["tandem-decode"]?.threads == 2)
    #expect(d["tandem-decode"]?.cpuSeconds == 2.5)
    #expect(d["tandem-decode"]?.runQueueSeconds == 1.5)
    #expect(d["tandem-curl"]?.cpuSeconds == 0.25)
  }

  @Test func namedThreadShowsUpWithItsCPUTime() throws {
    #if os(Linux)
      let seen = ManagedAtomicBox()
      let thread = Thread {
        ThreadAccounting.nameCurrentThread("tandem-test-0")
        var x = 0.0
        for i in 0..<200_000 { x += Double(i).squareRoot() }
        seen.set(
          ThreadAccounting.threadTimes().values.contains { $0.name == "tandem-test-0" } && x > 0)
      }
      thread.start()
      while !seen.done { usleep(1000) }
      #expect(seen.value)
      #expect(ThreadAccounting.processCPUSeconds() > 0)
    #endif
  }
}

/// A flag set once by another thread.
final class ManagedAtomicBox: Sendable {
  private let state = Mutex<(value: Bool, done: Bool)>((false, false))
  var value: Bool { state.withLock { $0.value } }
  var done: Bool { state.withLock { $0.done } }
  func set(_ v: Bool) { state.withLock { $0 = (v, true) } }
}
