import Foundation
import RangeIO
import Synchronization

#if canImport(Glibc)
  import Glibc
#endif

/// A persistent on-disk cache of byte ranges (header blocks, tiles, catalog documents), shared
/// by every source of a run and safe for several processes using one directory.
///
/// Layout under `directory/v1/`:
/// - `entries/<2 hex>/<sha256 of key>`: one cached range. Key = (URL without credentials and
///   volatile signature parameters, ETag or Last-Modified (or the size when the server sent
///   neither), byte range). The file holds a header (magic, key, range, XXH64 of the data) and
///   the data; a file whose header or checksum does not match is dropped and refetched.
/// - `objects/<sha256 of URL key>.json`: the object's pinned version (size, ETag,
///   Last-Modified), so a warm run needs no request at all.
/// - `lock`: `flock`ed while evicting, so two processes do not evict the same entries twice.
///
/// Every file is written to a temporary name and renamed into place, so readers (in this or
/// another process) see a complete file or none. Recency for LRU eviction is the entry file's
/// modification time, bumped on every hit; when the total passes the byte cap, the least
/// recently used entries are deleted down to 90% of it.
public final class TileCache: ByteSourceCache {
  /// The cache root as given.
  public let directory: String
  /// Byte cap on cached data (entry files).
  public let capacity: UInt64
  /// Serve only from the cache; a miss is an `.offlineMiss` error.
  public let offline: Bool

  private let root: String
  private let approximateBytes = Atomic<Int>(-1)
  private let missing = Mutex<[String: Set<ByteRange>]>([:])
  private let corruptDropped = Atomic<Int>(0)
  private let runHits = Atomic<Int>(0)
  private let runMisses = Atomic<Int>(0)

  /// `$XDG_CACHE_HOME/tandem`, else `~/.cache/tandem`.
  public static func defaultDirectory(environment: [String: String]) -> String {
    if let xdg = environment["XDG_CACHE_HOME"], xdg.hasPrefix("/") { return xdg + "/tandem" }
    return (environment["HOME"] ?? NSHomeDirectory()) + "/.cache/tandem"
  }

  /// Opens (creating if needed) a cache in `directory` holding at most `capacity` bytes.
  public init(directory: String, capacity: UInt64, offline: Bool = false) throws(TileCacheError) {
    self.directory = directory
    self.capacity = capacity
    self.offline = offline
    root = directory + "/v1"
    // Private (0700): cached bytes may come from authenticated requests. A directory the user
    // already had keeps its mode; the `v1` tree inside is always private.
    let existed = FileManager.default.fileExists(atPath: directory)
    for sub in ["", "/entries", "/objects"] {
      do {
        try FileManager.default.createDirectory(
          atPath: root + sub, withIntermediateDirectories: true,
          attributes: [.posixPermissions: 0o700])
      } catch {
        throw TileCacheError(path: root + sub, message: "cannot create cache directory: \(error)")
      }
    }
    if !existed { chmod(directory, 0o700) }
    chmod(root, 0o700)
  }

  // The run's hit/miss counts outlive the process in `v1/last-run.json` (see `lastRun`); written
  // when the cache is released, i.e. at the end of a command, so no command has to remember to.
  deinit {
    let hits = runHits.load(ordering: .relaxed)
    let misses = runMisses.load(ordering: .relaxed)
    guard hits + misses > 0 else { return }
    let record = RunRecord(
      hits: hits, misses: misses, finished: Date().timeIntervalSince1970.rounded())
    guard let data = try? JSONEncoder().encode(record) else { return }
    _ = writeAtomically(Array(data), to: root + "/last-run.json")
  }

  /// Cache hits and misses (byte ranges) of the last process that used this directory and made
  /// at least one lookup.
  public struct RunRecord: Sendable, Codable, Equatable {
    public var hits: Int
    public var misses: Int
    /// When the run released the cache, in seconds since 1970.
    public var finished: Double
    /// hits / (hits + misses).
    public var hitRate: Double { Double(hits) / Double(max(1, hits + misses)) }
  }

  /// The last run's record, or `nil` when none was written (or it is unreadable).
  public var lastRun: RunRecord? {
    readFile(root + "/last-run.json").flatMap {
      try? JSONDecoder().decode(RunRecord.self, from: Data($0))
    }
  }

  func countLookups(hits: Int, misses: Int) {
    runHits.add(hits, ordering: .relaxed)
    runMisses.add(misses, ordering: .relaxed)
  }

  public func wrap(_ source: any VersionedByteSource, stats: IOStats) -> any ByteSource {
    CachingSource(inner: source, cache: self, stats: stats)
  }

  /// Objects (with their ranges) that an offline run needed but did not find, sorted.
  public var missingObjects: [(location: String, ranges: [ByteRange])] {
    missing.withLock { $0.map { ($0.key, $0.value.sorted()) } }.sorted { $0.location < $1.location }
  }

  /// Entries dropped because their checksum or header was wrong.
  public var corruptEntriesDropped: Int { corruptDropped.load(ordering: .relaxed) }

  // MARK: entries

  static let magic = Array("TNDCACHE2\n".utf8)

  static func key(location: String, version: ObjectVersion, range: ByteRange) -> String {
    "\(location)\n\(version.validator ?? "size:\(version.size)")\n\(range.offset)+\(range.length)"
  }

  private func entryPath(_ key: String) -> String {
    let hex = SHA256.hex(key)
    return "\(root)/entries/\(hex.prefix(2))/\(hex)"
  }

  /// The cached bytes for `key`, or `nil`; a damaged entry is deleted.
  func lookup(_ key: String, range: ByteRange) -> [UInt8]? {
    let path = entryPath(key)
    guard let file = readFile(path) else { return nil }
    guard let data = TileCache.decode(file, key: key, range: range) else {
      unlink(path)
      corruptDropped.add(1, ordering: .relaxed)
      return nil
    }
    // LRU recency: the modification time is the last use.
    utimensat(AT_FDCWD, path, nil, 0)
    return data
  }

  /// Stores `data` for `key`; failures are ignored (the cache is an optimisation).
  func store(_ key: String, range: ByteRange, data: [UInt8]) {
    guard UInt64(data.count) <= capacity / 4 else { return }
    let path = entryPath(key)
    var file = TileCache.magic
    let keyBytes = Array(key.utf8)
    appendInteger(&file, UInt64(keyBytes.count))
    file += keyBytes
    appendInteger(&file, range.offset)
    appendInteger(&file, range.length)
    appendInteger(&file, XXH64.hash(data))
    file += data
    guard writeAtomically(file, to: path) else { return }
    if approximateBytes.load(ordering: .relaxed) < 0 {
      approximateBytes.store(scanTotal(), ordering: .relaxed)
    }
    let total = approximateBytes.add(file.count, ordering: .relaxed).newValue
    if UInt64(total) > capacity { evict() }
  }

  static func decode(_ file: [UInt8], key: String, range: ByteRange) -> [UInt8]? {
    var cursor = magic.count
    guard file.count >= cursor + 8, Array(file[0..<cursor]) == magic else { return nil }
    func integer() -> UInt64? {
      guard file.count >= cursor + 8 else { return nil }
      defer { cursor += 8 }
      return file[cursor..<cursor + 8].reversed().reduce(0) { $0 << 8 | UInt64($1) }
    }
    guard let keyLength = integer(), keyLength < 1 << 20, file.count >= cursor + Int(keyLength)
    else { return nil }
    guard Array(file[cursor..<cursor + Int(keyLength)]) == Array(key.utf8) else { return nil }
    cursor += Int(keyLength)
    // The bytes left, compared in UInt64: a length read from a damaged entry (see
    // `selfConsistent`) may exceed Int.max.
    guard integer() == range.offset, integer() == range.length, let checksum = integer(),
      UInt64(file.count - cursor) == range.length
    else { return nil }
    let data = Array(file[cursor...])
    return XXH64.hash(data) == checksum ? data : nil
  }

  // MARK: object records

  private func objectPath(_ location: String) -> String {
    "\(root)/objects/\(SHA256.hex(location)).json"
  }

  private struct ObjectRecord: Codable {
    var location: String
    var version: ObjectVersion
  }

  func recordedVersion(_ location: String) -> ObjectVersion? {
    guard let bytes = readFile(objectPath(location)),
      let record = try? JSONDecoder().decode(ObjectRecord.self, from: Data(bytes)),
      record.location == location
    else { return nil }
    return record.version
  }

  func recordVersion(_ version: ObjectVersion, location: String) {
    guard let data = try? JSONEncoder().encode(ObjectRecord(location: location, version: version))
    else { return }
    _ = writeAtomically(Array(data), to: objectPath(location))
  }

  func forgetVersion(_ location: String) { unlink(objectPath(location)) }

  func noteMissing(_ location: String, ranges: [ByteRange]) {
    missing.withLock { $0[location, default: []].formUnion(ranges) }
  }

  // MARK: maintenance

  /// Counts of what the cache holds.
  public struct Statistics: Sendable, Codable, Equatable {
    public var entries: Int
    public var bytes: UInt64
    public var objects: Int
  }

  /// What `verify()` found.
  public struct VerifyReport: Sendable, Codable, Equatable {
    public var checked: Int
    public var corrupt: Int
    /// Temporary files left by writers that died before renaming them (e.g. `kill -9`); never
    /// served (entry names have no leading dot), deleted by ``verify()``.
    public var staleTemporaries: Int = 0
  }

  public func statistics() -> Statistics {
    let entries = listEntries()
    let objects =
      (try? FileManager.default.contentsOfDirectory(atPath: root + "/objects"))?.filter {
        $0.hasSuffix(".json")
      }.count ?? 0
    return Statistics(
      entries: entries.count, bytes: entries.reduce(0) { $0 + $1.size }, objects: objects)
  }

  /// Checks every entry's header and checksum; damaged entries are deleted.
  public func verify() -> VerifyReport {
    var report = VerifyReport(checked: 0, corrupt: 0)
    report.staleTemporaries = removeStaleTemporaries()
    for entry in listEntries() {
      report.checked += 1
      guard let file = readFile(entry.path), TileCache.selfConsistent(file) else {
        unlink(entry.path)
        report.corrupt += 1
        continue
      }
    }
    return report
  }

  /// Deletes every entry and object record.
  public func clear() throws(TileCacheError) {
    do {
      try FileManager.default.removeItem(atPath: root)
      try FileManager.default.createDirectory(
        atPath: root + "/entries", withIntermediateDirectories: true)
      try FileManager.default.createDirectory(
        atPath: root + "/objects", withIntermediateDirectories: true)
    } catch {
      throw TileCacheError(path: root, message: "cannot clear: \(error)")
    }
    approximateBytes.store(0, ordering: .relaxed)
  }

  /// An entry checked without knowing its key: the key stored in it must hash to its name.
  static func selfConsistent(_ file: [UInt8]) -> Bool {
    var cursor = magic.count
    guard file.count >= cursor + 8, Array(file[0..<cursor]) == magic else { return false }
    // Bounded before the Int conversion: a damaged length (8 × 0xFF) must not trap `verify`.
    let storedKeyLength = file[cursor..<cursor + 8].reversed().reduce(0) { $0 << 8 | UInt64($1) }
    cursor += 8
    guard storedKeyLength < 1 << 20 else { return false }
    let keyLength = Int(storedKeyLength)
    guard file.count >= cursor + keyLength + 16 else { return false }
    let key = String(decoding: file[cursor..<cursor + keyLength], as: UTF8.self)
    cursor += keyLength
    let offset = file[cursor..<cursor + 8].reversed().reduce(0) { $0 << 8 | UInt64($1) }
    let length = file[cursor + 8..<cursor + 16].reversed().reduce(0) { $0 << 8 | UInt64($1) }
    return decode(file, key: key, range: ByteRange(offset: offset, length: length)) != nil
  }

  private struct Entry {
    var path: String
    var size: UInt64
    /// Modification time (the last use) as seconds and nanoseconds, compared as a pair: in
    /// nanoseconds alone, an mtime past 2262 overflows Int.
    var modified: (seconds: Int, nanoseconds: Int)
  }

  private func listEntries() -> [Entry] {
    var out: [Entry] = []
    let base = root + "/entries"
    for shard in (try? FileManager.default.contentsOfDirectory(atPath: base)) ?? [] {
      let dir = base + "/" + shard
      for name in (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
      where !name.hasPrefix(".") {
        let path = dir + "/" + name
        var st = stat()
        guard stat(path, &st) == 0 else { continue }
        out.append(
          Entry(
            path: path, size: UInt64(st.st_size),
            modified: (st.st_mtim.tv_sec, st.st_mtim.tv_nsec)))
      }
    }
    return out
  }

  /// Deletes `.tmp-PID-…` files (in `entries/*/` and `objects/`) whose writer process is gone.
  func removeStaleTemporaries() -> Int {
    var removed = 0
    var directories = [root + "/objects"]
    let base = root + "/entries"
    for shard in (try? FileManager.default.contentsOfDirectory(atPath: base)) ?? [] {
      directories.append(base + "/" + shard)
    }
    for dir in directories {
      for name in (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
      where name.hasPrefix(".tmp-") {
        let pidText = name.dropFirst(5).prefix { $0.isNumber }
        guard let pid = pid_t(pidText) else { continue }
        // A live writer (this process or another) may still rename its file.
        if kill(pid, 0) == 0 || errno != ESRCH { continue }
        if unlink(dir + "/" + name) == 0 { removed += 1 }
      }
    }
    return removed
  }

  private func scanTotal() -> Int { Int(listEntries().reduce(0) { $0 + $1.size }) }

  /// Deletes least recently used entries until the total is at most 90% of the cap. Holds an
  /// exclusive `flock` so concurrent processes evict one at a time.
  private func evict() {
    let lockFD = open(root + "/lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
    if lockFD >= 0 { flock(lockFD, LOCK_EX) }
    defer {
      if lockFD >= 0 {
        flock(lockFD, LOCK_UN)
        close(lockFD)
      }
    }
    var entries = listEntries()
    var total = entries.reduce(0) { $0 + $1.size }
    if total > capacity {
      entries.sort { $0.modified < $1.modified }
      let target = capacity / 10 * 9
      for entry in entries where total > target {
        if unlink(entry.path) == 0 { total -= entry.size }
      }
    }
    approximateBytes.store(Int(total), ordering: .relaxed)
  }

  // MARK: files

  private func readFile(_ path: String) -> [UInt8]? {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var st = stat()
    guard fstat(fd, &st) == 0, st.st_size < 1 << 34 else { return nil }
    var bytes = [UInt8](repeating: 0, count: Int(st.st_size))
    var done = 0
    while done < bytes.count {
      let n = bytes.withUnsafeMutableBytes {
        pread(fd, $0.baseAddress! + done, $0.count - done, off_t(done))
      }
      if n < 0 && errno == EINTR { continue }
      if n <= 0 { return nil }
      done += n
    }
    return bytes
  }

  /// Temp file + rename (no fsync: a torn entry after a crash fails its checksum and is
  /// refetched, so durability is not needed for correctness).
  private func writeAtomically(_ bytes: [UInt8], to path: String) -> Bool {
    let dir = String(path[..<path.lastIndex(of: "/")!])
    mkdir(dir, 0o755)
    let temporary = "\(dir)/.tmp-\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
    let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
    guard fd >= 0 else { return false }
    var offset = 0
    var ok = true
    while offset < bytes.count {
      let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + offset, $0.count - offset) }
      if n < 0 && errno == EINTR { continue }
      if n <= 0 {
        ok = false
        break
      }
      offset += n
    }
    close(fd)
    if ok && rename(temporary, path) == 0 { return true }
    unlink(temporary)
    return false
  }

  private func appendInteger(_ bytes: inout [UInt8], _ value: UInt64) {
    for i in 0..<8 { bytes.append(UInt8(truncatingIfNeeded: value >> (8 * UInt64(i)))) }
  }
}

/// A cache directory problem (cannot create, cannot clear), naming the path.
public struct TileCacheError: Error, CustomStringConvertible, Sendable {
  public var path: String
  public var message: String
  public init(path: String, message: String) {
    self.path = path
    self.message = message
  }
  public var description: String { "\(path): \(message)" }
}
