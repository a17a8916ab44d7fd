import Testing

@testable import RangeIO

/// A batched read either returns one buffer of the right length per range or throws a typed
/// error naming the range: never a trap (issue 20: a slot left unfilled crashed the release
/// binary) and never a silently short buffer.
@Suite struct ByteReadsTests {
  func r(_ o: UInt64, _ n: UInt64) -> ByteRange { ByteRange(offset: o, length: n) }

  @Test func completeSlotsPassThrough() throws {
    let ranges = [r(0, 2), r(10, 0), r(5, 3)]
    let out = try ByteReads.complete([[1, 2], [], [7, 8, 9]], for: ranges, location: "x")
    #expect(out == [[1, 2], [], [7, 8, 9]])
  }

  @Test(arguments: [
    ([[1, 2], nil, [7, 8, 9]] as [[UInt8]?], 1, "no bytes were assigned"),
    ([[1, 2], [0], [7, 8]], 1, "1 bytes were assigned"),
    ([[1, 2], [], [7, 8]], 2, "2 bytes were assigned"),
  ])
  func gapsAndMisfitsAreTypedErrors(slots: [[UInt8]?], bad: Int, message: String) throws {
    let ranges = [r(0, 2), r(10, 0), r(5, 3)]
    let error = #expect(throws: RangeIOError.self) {
      try ByteReads.complete(slots, for: ranges, location: "http://h/o.tif")
    }
    #expect(error?.code == .incomplete)
    #expect(error?.range == ranges[bad])
    #expect(error?.description.contains("http://h/o.tif") == true)
    #expect(error?.message.contains(message) == true)
  }

  @Test func wrongBufferCountIsATypedError() {
    let error = #expect(throws: RangeIOError.self) {
      try ByteReads.complete([[1]], for: [r(0, 1), r(1, 1)], location: "x")
    }
    #expect(error?.code == .incomplete)
  }

  /// Sources that assemble reads from another source check it: a base that breaks the
  /// `ByteSource` contract (too few or short buffers) surfaces as `.incomplete`.
  @Test(arguments: [ContractBreaker.Fault.dropsLast, .shortens])
  func memoryCacheChecksItsBase(fault: ContractBreaker.Fault) async {
    let source = MemoryCachedSource(
      ContractBreaker(fault: fault), cache: MemoryCache(capacity: 1 << 20))
    await #expect(throws: RangeIOError.self) {
      _ = try await source.read([r(0, 10), r(100, 10)])
    }
    await #expect(throws: RangeIOError.self) { _ = try await source.read(r(0, 10)) }
  }
}

/// A source that breaks the one-buffer-per-range contract on purpose.
struct ContractBreaker: ByteSource {
  enum Fault: Sendable { case dropsLast, shortens }
  let fault: Fault
  let stats = IOStats()
  var location: String { "memory://breaker" }
  func size() async throws(RangeIOError) -> UInt64 { 1 << 20 }
  func read(_ ranges: [ByteRange]) async throws(RangeIOError) -> [[UInt8]] {
    let whole = ranges.map { [UInt8](repeating: 1, count: Int($0.length)) }
    switch fault {
    case .dropsLast: return Array(whole.dropLast())
    case .shortens: return whole.map { Array($0.dropLast()) }
    }
  }
}
