import Testing

@testable import RangeIO

@Suite struct MemoryCacheTests {
  func r(_ o: UInt64, _ n: UInt64) -> ByteRange { ByteRange(offset: o, length: n) }

  @Test func evictsLeastRecentlyUsedByBytes() {
    let cache = MemoryCache(capacity: 100)
    cache.put("a", r(0, 40), Array(repeating: 1, count: 40))
    cache.put("a", r(40, 40), Array(repeating: 2, count: 40))
    #expect(cache.get("a", r(0, 40)) != nil)  // now most recent
    cache.put("b", r(0, 40), Array(repeating: 3, count: 40))  // evicts a[40..80)
    #expect(cache.get("a", r(40, 40)) == nil)
    #expect(cache.get("a", r(0, 40)) == Array(repeating: 1, count: 40))
    #expect(cache.get("b", r(0, 40)) == Array(repeating: 3, count: 40))
    #expect(cache.bytesHeld == 80 && cache.count == 2)
    cache.put("c", r(0, 101), Array(repeating: 4, count: 101))  // larger than the cap
    #expect(cache.get("c", r(0, 101)) == nil)
    #expect(cache.bytesHeld <= 100)
  }

  @Test func churnKeepsTheCap() {
    let cache = MemoryCache(capacity: 1000)
    for i in 0..<10_000 {
      cache.put("x", r(UInt64(i) * 7, 7), Array(repeating: UInt8(i & 255), count: 7 + i % 50))
      #expect(cache.bytesHeld <= 1000)
    }
    #expect(cache.count > 10)
  }

  @Test func cachedSourceServesRepeatsFromMemory() async throws {
    let blob = (0..<4096).map { UInt8($0 & 255) }
    let base = CountingBlob(blob)
    let source = MemoryCachedSource(base, cache: MemoryCache(capacity: 1 << 20))
    let ranges = [r(0, 100), r(1000, 50), r(4000, 96)]
    let first = try await source.read(ranges)
    let second = try await source.read(ranges + [r(10, 10)])
    #expect(first == ranges.map { Array(blob[Int($0.offset)..<Int($0.end)]) })
    #expect(Array(second.prefix(3)) == first)
    #expect(second[3] == Array(blob[10..<20]))
    #expect(base.reads.count == 2)
    #expect(base.reads[1] == [r(10, 10)])
  }
}

/// An in-memory source that records each batch of ranges it is asked for.
final class CountingBlob: ByteSource, @unchecked Sendable {
  let blob: [UInt8]
  var reads: [[ByteRange]] = []
  let stats = IOStats()
  init(_ blob: [UInt8]) { self.blob = blob }
  var location: String { "memory://blob" }
  func size() async throws(RangeIOError) -> UInt64 { UInt64(blob.count) }
  func read(_ ranges: [ByteRange]) async throws(RangeIOError) -> [[UInt8]] {
    reads.append(ranges)
    return ranges.map { Array(blob[Int($0.offset)..<Int($0.end)]) }
  }
}
