import Foundation
import RangeIO
import Synchronization
import TandemBase
import Testing

@testable import TileCache

/// An in-memory versioned source that counts reads; its content and version can be swapped.
final class CountingSource: VersionedByteSource {
  let location: String
  let stats = IOStats()
  let state: Mutex<(bytes: [UInt8], version: ObjectVersion)>
  let reads = Atomic<Int>(0)
  let versionCalls = Atomic<Int>(0)

  init(location: String = "https://example.test/a.tif", bytes: [UInt8], etag: String = "\"1\"") {
    self.location = location
    state = Mutex((bytes, ObjectVersion(size: UInt64(bytes.count), etag: etag)))
  }

  func replace(_ bytes: [UInt8], etag: String) {
    state.withLock { $0 = (bytes, ObjectVersion(size: UInt64(bytes.count), etag: etag)) }
  }

  func size() async throws(RangeIOError) -> UInt64 { try await version().size }

  func version() async throws(RangeIOError) -> ObjectVersion {
    versionCalls.add(1, ordering: .relaxed)
    return state.withLock { $0.version }
  }

  func read(_ ranges: [ByteRange]) async throws(RangeIOError) -> [[UInt8]] {
    reads.add(1, ordering: .relaxed)
    let bytes = state.withLock { $0.bytes }
    return ranges.map { Array(bytes[Int($0.offset)..<Int($0.end)]) }
  }
}

func temporaryDirectory() -> String {
  let path = NSTemporaryDirectory() + "tandem-cache-test-\(UUID().uuidString)"
  try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
  return path
}

func bytes(_ count: Int, seed: UInt64) -> [UInt8] {
  var rng = SeededGenerator(seed: seed)
  return (0..<count).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
}

@Suite struct TileCacheTests {
  let ranges = [
    ByteRange(offset: 0, length: 1000), ByteRange(offset: 5000, length: 300),
    ByteRange(offset: 5000, length: 300), ByteRange(offset: 9000, length: 0),
  ]

  func expected(_ blob: [UInt8]) -> [[UInt8]] {
    ranges.map { Array(blob[Int($0.offset)..<Int($0.end)]) }
  }

  @Test func sha256MatchesKnownVectors() {
    #expect(SHA256.hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    #expect(SHA256.hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    #expect(
      SHA256.hex(String(repeating: "a", count: 1000))
        == "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3")
  }

  @Test func xxh64MatchesKnownVectors() {
    #expect(XXH64.hash([]) == 0xEF46_DB37_51D8_E999)
    #expect(XXH64.hash(Array("a".utf8)) == 0xD24E_C4F1_A98C_6E5B)
    #expect(XXH64.hash(Array("abc".utf8)) == 0x44BC_2CF5_AD77_0999)
    let long = Array("Nobody inspects the spammish repetition".utf8)
    #expect(XXH64.hash(long) == 0xFBCE_A83C_8A37_8BF1)
  }

  @Test func warmReadMakesNoOriginCalls() async throws {
    let dir = temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let blob = bytes(10_000, seed: 1)
    let origin = CountingSource(bytes: blob)
    let stats = IOStats()
    let cold = try TileCache(directory: dir, capacity: 1 << 20).wrap(origin, stats: stats)
    #expect(try await cold.read(ranges) == expected(blob))
    #expect(origin.reads.load(ordering: .relaxed) == 1)
    // A new cache instance (a new run) over the same directory: no origin call at all.
    let origin2 = CountingSource(bytes: blob)
    let warm = try TileCache(directory: dir, capacity: 1 << 20).wrap(origin2, stats: stats)
    #expect(try await warm.size() == 10_000)
    #expect(try await warm.read(ranges) == expected(blob))
    #expect(origin2.reads.load(ordering: .relaxed) == 0)
    #expect(origin2.versionCalls.load(ordering: .relaxed) == 0)
    // Empty ranges are neither hits nor misses; the duplicate range misses twice when cold.
    #expect(stats.snapshot.cacheHits == 3)
    #expect(stats.snapshot.cacheMisses == 3)
  }

  @Test func offlineServesHitsAndListsMissingObjects() async throws {
    let dir = temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let blob = bytes(10_000, seed: 2)
    let online = try TileCache(directory: dir, capacity: 1 << 20)
    _ = try await online.wrap(CountingSource(bytes: blob), stats: IOStats()).read(ranges)
    let offline = try TileCache(directory: dir, capacity: 1 << 20, offline: true)
    let origin = CountingSource(bytes: blob)
    let source = offline.wrap(origin, stats: IOStats())
    #expect(try await source.read(ranges) == expected(blob))
    let missing = ByteRange(offset: 100, length: 10)
    await #expect(throws: RangeIOError.self) { _ = try await source.read(missing) }
    let other = offline.wrap(
      CountingSource(location: "https://example.test/b.tif", bytes: blob), stats: IOStats())
    do {
      _ = try await other.size()
      Issue.record("expected offline miss")
    } catch {
      #expect(error.code == .offlineMiss)
      #expect(error.location == "https://example.test/b.tif")
    }
    #expect(origin.reads.load(ordering: .relaxed) == 0)
    #expect(
      offline.missingObjects.map(\.location) == [
        "https://example.test/a.tif", "https://example.test/b.tif",
      ])
    #expect(offline.missingObjects[0].ranges == [missing])
  }

  @Test func corruptEntryIsDetectedDroppedAndRefetched() async throws {
    let dir = temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let blob = bytes(10_000, seed: 3)
    let cache = try TileCache(directory: dir, capacity: 1 << 20)
    let origin = CountingSource(bytes: blob)
    let range = ByteRange(offset: 2000, length: 500)
    _ = try await cache.wrap(origin, stats: IOStats()).read(range)
    // Flip one data byte in the stored entry.
    let key = TileCache.key(
      location: origin.location, version: try await origin.version(), range: range)
    let hex = SHA256.hex(key)
    let path = "\(dir)/v1/entries/\(hex.prefix(2))/\(hex)"
    var file = try #require(FileManager.default.contents(atPath: path))
    file[file.count - 1] ^= 0xFF
    try file.write(to: URL(fileURLWithPath: path))
    #expect(cache.verify() == TileCache.VerifyReport(checked: 1, corrupt: 1))
    #expect(!FileManager.default.fileExists(atPath: path))
    // Corrupt again and read: dropped, refetched, correct.
    _ = try await cache.wrap(origin, stats: IOStats()).read(range)
    var again = try #require(FileManager.default.contents(atPath: path))
    again[again.count - 10] ^= 0x01
    try again.write(to: URL(fileURLWithPath: path))
    let stats = IOStats()
    let fresh = try TileCache(directory: dir, capacity: 1 << 20)
    #expect(try await fresh.wrap(origin, stats: stats).read(range) == Array(blob[2000..<2500]))
    #expect(fresh.corruptEntriesDropped == 1)
    #expect(stats.snapshot.cacheMisses == 1)
    #expect(cache.verify() == TileCache.VerifyReport(checked: 1, corrupt: 0))
  }

  /// Entries whose stored lengths are 2^64 - 1 (key length, or data length after a valid
  /// key) are corrupt: `verify` used to trap converting them to Int.
  @Test(arguments: [
    [UInt8](repeating: 0xFF, count: 8),
    [UInt8](repeating: 0, count: 8) + [UInt8](repeating: 0, count: 8)
      + [UInt8](repeating: 0xFF, count: 8) + [UInt8](repeating: 0, count: 8),
  ])
  func entryWithHugeStoredLengthIsCorrupt(tail: [UInt8]) throws {
    let dir = temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let cache = try TileCache(directory: dir, capacity: 1 << 20)
    let file = TileCache.magic + tail
    #expect(!TileCache.selfConsistent(file))
    let path = "\(dir)/v1/entries/ab/ab\(String(repeating: "0", count: 62))"
    try FileManager.default.createDirectory(
      atPath: "\(dir)/v1/entries/ab", withIntermediateDirectories: true)
    try Data(file).write(to: URL(fileURLWithPath: path))
    #expect(cache.verify() == TileCache.VerifyReport(checked: 1, corrupt: 1))
    #expect(!FileManager.default.fileExists(atPath: path))
  }

  /// An entry last used after 2262 (an mtime past Int.max nanoseconds) is listed and evicted
  /// like any other: its time used to overflow when flattened to nanoseconds.
  @Test func entryWithFarFutureModificationTimeDoesNotTrapEviction() async throws {
    let dir = temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let blob = bytes(100_000, seed: 12)
    let cache = try TileCache(directory: dir, capacity: 32 * 1024)
    let origin = CountingSource(bytes: blob)
    let future = ByteRange(offset: 0, length: 4000)
    _ = try await cache.wrap(origin, stats: IOStats()).read(future)
    let key = TileCache.key(
      location: origin.location, version: try await origin.version(), range: future)
    let hex = SHA256.hex(key)
    let path = "\(dir)/v1/entries/\(hex.prefix(2))/\(hex)"
    // Year 2286: 10^10 s × 10^9 ns/s is past Int.max.
    var times = [
      timespec(tv_sec: 10_000_000_000, tv_nsec: 0), timespec(tv_sec: 10_000_000_000, tv_nsec: 0),
    ]
    #expect(utimensat(AT_FDCWD, path, &times, 0) == 0)
    var st = stat()
    #expect(stat(path, &st) == 0)
    try #require(st.st_mtim.tv_sec == 10_000_000_000, "the file system clamps mtimes")
    #expect(cache.statistics().entries == 1)
    // Fill past the cap: eviction sorts by mtime and keeps the newest (the far-future entry).
    let source = cache.wrap(origin, stats: IOStats())
    for i in 1..<20 { _ = try await source.read(ByteRange(offset: UInt64(i * 4000), length: 4000)) }
    #expect(cache.statistics().bytes <= 32 * 1024)
    #expect(FileManager.default.fileExists(atPath: path))
  }

  @Test func changedOriginIsObjectChangedNeverMixed() async throws {
    let dir = temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let blob = bytes(10_000, seed: 4)
    let origin = CountingSource(bytes: blob)
    _ = try await TileCache(directory: dir, capacity: 1 << 20).wrap(origin, stats: IOStats())
      .read(ranges)
    origin.replace(bytes(10_000, seed: 5), etag: "\"2\"")
    let source = try TileCache(directory: dir, capacity: 1 << 20).wrap(origin, stats: IOStats())
    // Cached ranges still come from the pinned version; a miss reveals the change.
    #expect(try await source.read(ranges) == expected(blob))
    do {
      _ = try await source.read(ByteRange(offset: 7000, length: 10))
      Issue.record("expected objectChanged")
    } catch {
      #expect(error.code == .objectChanged)
    }
    // The stale record is forgotten: the next run pins the new version.
    let next = try TileCache(directory: dir, capacity: 1 << 20).wrap(origin, stats: IOStats())
    #expect(
      try await next.read(ByteRange(offset: 7000, length: 10))
        == Array(bytes(10_000, seed: 5)[7000..<7010]))
  }

  @Test func capacityRespectedUnderChurnWithLRUEviction() async throws {
    let dir = temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let blob = bytes(400_000, seed: 6)
    let cap: UInt64 = 64 * 1024
    let cache = try TileCache(directory: dir, capacity: cap)
    let origin = CountingSource(bytes: blob)
    let source = cache.wrap(origin, stats: IOStats())
    let hot = ByteRange(offset: 0, length: 4000)
    var rng = SeededGenerator(seed: 9)
    for _ in 0..<100 {
      let offset = rng.next() % 390_000
      let range = ByteRange(offset: offset, length: rng.next() % 8000 + 1)
      #expect(try await source.read(range) == Array(blob[Int(range.offset)..<Int(range.end)]))
      #expect(cache.statistics().bytes <= cap)
      // Keep one range hot; LRU must keep it.
      _ = try await source.read(hot)
      usleep(2000)
    }
    let stats = IOStats()
    _ = try await cache.wrap(origin, stats: stats).read(hot)
    #expect(stats.snapshot.cacheHits == 1)
  }

  @Test func twoCachesSharingADirectoryAgree() async throws {
    let dir = temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let blob = bytes(200_000, seed: 7)
    let a = try TileCache(directory: dir, capacity: 256 * 1024)
    let b = try TileCache(directory: dir, capacity: 256 * 1024)
    let reads = (0..<60).map { i in ByteRange(offset: UInt64(i * 3000), length: 2500) }
    let results = try await withThrowingTaskGroup(of: [[UInt8]].self) { group in
      for cache in [a, b, a, b] {
        group.addTask {
          let source = cache.wrap(CountingSource(bytes: blob), stats: IOStats())
          var out: [[UInt8]] = []
          for range in reads.shuffled() { out.append(try await source.read(range)) }
          return out.sorted { $0.lexicographicallyPrecedes($1) }
        }
      }
      return try await group.reduce(into: []) { $0.append($1) }
    }
    let truth = reads.map { Array(blob[Int($0.offset)..<Int($0.end)]) }.sorted {
      $0.lexicographicallyPrecedes($1)
    }
    #expect(results.allSatisfy { $0 == truth })
    #expect(a.verify().corrupt == 0)
    #expect(a.statistics().bytes <= 256 * 1024)
  }

  @Test func clearEmptiesTheCache() async throws {
    let dir = temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let cache = try TileCache(directory: dir, capacity: 1 << 20)
    _ = try await cache.wrap(CountingSource(bytes: bytes(10_000, seed: 8)), stats: IOStats()).read(
      ranges)
    #expect(cache.statistics().entries == 2)
    #expect(cache.statistics().objects == 1)
    try cache.clear()
    #expect(cache.statistics() == TileCache.Statistics(entries: 0, bytes: 0, objects: 0))
  }

  @Test func defaultDirectory() {
    #expect(TileCache.defaultDirectory(environment: ["XDG_CACHE_HOME": "/x"]) == "/x/tandem")
    #expect(TileCache.defaultDirectory(environment: ["HOME": "/home/u"]) == "/home/u/.cache/tandem")
  }
}
