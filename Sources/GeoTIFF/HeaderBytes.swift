import RangeIO

/// The parts of an object fetched while parsing its header: sorted, non-overlapping segments.
///
/// libtiff decodes through a virtual file that serves its directory reads from these segments, so
/// they must hold every IFD and every tag value except the strile (offset/bytecount) arrays.
struct HeaderBytes: Sendable {
  struct Segment: Sendable {
    var offset: UInt64
    var bytes: [UInt8]
    var end: UInt64 { offset + UInt64(bytes.count) }
  }

  private(set) var segments: [Segment] = []

  /// Total bytes held.
  var byteCount: Int { segments.reduce(0) { $0 + $1.bytes.count } }

  /// The bytes `[offset, offset + length)` when held in one segment.
  func slice(_ offset: UInt64, _ length: Int) -> ArraySlice<UInt8>? {
    // Segments are few (usually one); a linear scan is fine.
    let (end, overflow) = offset.addingReportingOverflow(UInt64(length))
    if overflow { return nil }
    for s in segments where offset >= s.offset && end <= s.end {
      let start = Int(offset - s.offset)
      return s.bytes[start..<(start + length)]
    }
    return nil
  }

  /// Copies up to `count` bytes at `offset` into `out`; returns how many were available
  /// contiguously (0 when `offset` is not held).
  func copy(at offset: UInt64, count: Int, into out: UnsafeMutableRawPointer) -> Int {
    for s in segments where offset >= s.offset && offset < s.end {
      let start = Int(offset - s.offset)
      let n = min(count, s.bytes.count - start)
      s.bytes.withUnsafeBytes { raw in
        out.copyMemory(from: raw.baseAddress! + start, byteCount: n)
      }
      return n
    }
    return 0
  }

  /// The parts of `[offset, end)` not held, in order (non-empty when the range is not held).
  func gaps(_ offset: UInt64, _ end: UInt64) -> [ByteRange] {
    var out: [ByteRange] = []
    var cursor = offset
    for s in segments where s.end > cursor && s.offset < end {
      if s.offset > cursor { out.append(ByteRange(offset: cursor, length: s.offset - cursor)) }
      cursor = max(cursor, s.end)
      if cursor >= end { break }
    }
    if cursor < end { out.append(ByteRange(offset: cursor, length: end - cursor)) }
    return out
  }

  /// The first held byte in `[offset, limit)`, or `limit` (where read-ahead must stop so that no
  /// byte is fetched twice).
  func heldStart(from offset: UInt64, upTo limit: UInt64) -> UInt64 {
    var result = limit
    for s in segments where s.end > offset && s.offset < result { result = max(offset, s.offset) }
    return result
  }

  /// Adds bytes read at `offset`, merging with overlapping or touching segments.
  mutating func insert(offset: UInt64, bytes: [UInt8]) {
    var merged = Segment(offset: offset, bytes: bytes)
    var kept: [Segment] = []
    for s in segments {
      if s.end < merged.offset || s.offset > merged.end {
        kept.append(s)
        continue
      }
      let start = min(s.offset, merged.offset)
      let end = max(s.end, merged.end)
      var combined = [UInt8](repeating: 0, count: Int(end - start))
      combined.replaceSubrange(
        Int(s.offset - start)..<Int(s.end - start), with: s.bytes)
      combined.replaceSubrange(
        Int(merged.offset - start)..<Int(merged.end - start), with: merged.bytes)
      merged = Segment(offset: start, bytes: combined)
    }
    kept.append(merged)
    kept.sort { $0.offset < $1.offset }
    segments = kept
  }
}

/// Reads header structures from a source with read-ahead: the first read is `initialSize` bytes
/// (16 KiB or a catalog's `file:header_size`); each miss fetches at least twice the previous
/// read-ahead, so a header needs few round trips and the whole object is never read.
final class HeaderReader {
  let source: any ByteSource
  let objectSize: UInt64
  var bytes = HeaderBytes()
  private var readAhead: UInt64
  /// Upper bound on header bytes fetched, against files whose IFDs or tags claim huge sizes.
  let maxHeaderBytes: Int
  /// Number of `read` calls made (round trips), for tests and stats.
  private(set) var roundTrips = 0

  init(source: any ByteSource, objectSize: UInt64, initialSize: Int, maxHeaderBytes: Int) {
    self.source = source
    self.objectSize = objectSize
    // Clamped to the header limit: `initialSize` may come from a catalog's `file:header_size`,
    // and 1000000000000 there must not fetch the whole object into one array.
    self.readAhead = UInt64(max(min(initialSize, maxHeaderBytes), 16))
    self.maxHeaderBytes = maxHeaderBytes
  }

  /// Makes sure `[offset, offset + length)` is held, fetching with read-ahead when not.
  func ensure(_ offset: UInt64, _ length: Int, ifd: Int? = nil) async throws(GeoTIFFError) {
    if bytes.slice(offset, length) != nil { return }
    let (end, overflow) = offset.addingReportingOverflow(UInt64(length))
    guard !overflow, end <= objectSize else {
      throw GeoTIFFError(
        .truncated, location: source.location, ifd: ifd,
        range: ByteRange(offset: offset, length: UInt64(length)),
        message: "structure extends past the end of the \(objectSize)-byte object")
    }
    guard bytes.byteCount + length <= maxHeaderBytes else {
      throw GeoTIFFError(
        .limitExceeded, location: source.location, ifd: ifd,
        range: ByteRange(offset: offset, length: UInt64(length)),
        message: "header structures exceed \(maxHeaderBytes) bytes")
    }
    // Fetch from the first byte not yet held, with read-ahead (doubling on every miss), clipped
    // to the object.
    var gaps = bytes.gaps(offset, end)
    let last = gaps.removeLast()
    let aheadEnd = min(objectSize, max(end, last.offset + readAhead))
    gaps.append(
      ByteRange(
        offset: last.offset,
        length: bytes.heldStart(from: last.offset, upTo: aheadEnd) - last.offset))
    if roundTrips > 0 { readAhead = min(readAhead * 2, 8 << 20) }
    roundTrips += 1
    do {
      let data = try ByteReads.complete(
        try await source.read(gaps), for: gaps, location: source.location)
      for (r, d) in zip(gaps, data) { bytes.insert(offset: r.offset, bytes: d) }
    } catch {
      throw GeoTIFFError(error, ifd: ifd)
    }
  }

  /// The bytes at `[offset, offset + length)`, fetched if needed.
  func read(
    _ offset: UInt64, _ length: Int, ifd: Int? = nil
  ) async throws(GeoTIFFError)
    -> ArraySlice<UInt8>
  {
    try await ensure(offset, length, ifd: ifd)
    return try held(offset, length, ifd: ifd)
  }

  /// The bytes at `[offset, offset + length)`, which ``ensure(_:_:ifd:)`` has fetched; missing
  /// bytes (an internal inconsistency) are a typed error, not a trap.
  func held(
    _ offset: UInt64, _ length: Int, ifd: Int? = nil
  ) throws(GeoTIFFError)
    -> ArraySlice<UInt8>
  {
    guard let slice = bytes.slice(offset, length) else {
      throw GeoTIFFError(
        .io, location: source.location, ifd: ifd,
        range: ByteRange(offset: offset, length: UInt64(length)),
        message: "header bytes missing after the read (internal error; please report it)")
    }
    return slice
  }
}

/// Integer decoding in the file's byte order.
struct ByteOrder: Sendable, Equatable {
  let littleEndian: Bool

  @inline(__always)
  func u16(_ b: ArraySlice<UInt8>, _ at: Int) -> UInt16 {
    let i = b.startIndex + at
    return littleEndian
      ? UInt16(b[i]) | UInt16(b[i + 1]) << 8 : UInt16(b[i]) << 8 | UInt16(b[i + 1])
  }

  @inline(__always)
  func u32(_ b: ArraySlice<UInt8>, _ at: Int) -> UInt32 {
    let i = b.startIndex + at
    var v: UInt32 = 0
    if littleEndian {
      for k in (0..<4).reversed() { v = v << 8 | UInt32(b[i + k]) }
    } else {
      for k in 0..<4 { v = v << 8 | UInt32(b[i + k]) }
    }
    return v
  }

  @inline(__always)
  func u64(_ b: ArraySlice<UInt8>, _ at: Int) -> UInt64 {
    let i = b.startIndex + at
    var v: UInt64 = 0
    if littleEndian {
      for k in (0..<8).reversed() { v = v << 8 | UInt64(b[i + k]) }
    } else {
      for k in 0..<8 { v = v << 8 | UInt64(b[i + k]) }
    }
    return v
  }
}

/// The 8-byte (classic) or 16-byte (BigTIFF) file header.
struct TIFFHeader: Sendable {
  var byteOrder: ByteOrder
  var isBigTIFF: Bool
  var firstIFDOffset: UInt64

  /// Parses the header from the first bytes of an object.
  static func parse(_ b: ArraySlice<UInt8>, location: String) throws(GeoTIFFError) -> TIFFHeader {
    guard b.count >= 8 else {
      throw GeoTIFFError(
        b.count >= 2 && (b.prefix(2) == [0x49, 0x49] || b.prefix(2) == [0x4D, 0x4D])
          ? .truncated : .notTIFF,
        location: location, range: ByteRange(offset: 0, length: 8),
        message: "object is only \(b.count) bytes long")
    }
    let s = b.startIndex
    let order: ByteOrder
    switch (b[s], b[s + 1]) {
    case (0x49, 0x49): order = ByteOrder(littleEndian: true)
    case (0x4D, 0x4D): order = ByteOrder(littleEndian: false)
    default:
      throw GeoTIFFError(
        .notTIFF, location: location, range: ByteRange(offset: 0, length: 2),
        message: "byte-order mark is not II or MM")
    }
    let version = order.u16(b, 2)
    switch version {
    case 42:
      return TIFFHeader(byteOrder: order, isBigTIFF: false, firstIFDOffset: UInt64(order.u32(b, 4)))
    case 43:
      guard b.count >= 16 else {
        throw GeoTIFFError(
          .truncated, location: location, range: ByteRange(offset: 0, length: 16),
          message: "BigTIFF header needs 16 bytes, object has \(b.count)")
      }
      guard order.u16(b, 4) == 8, order.u16(b, 6) == 0 else {
        throw GeoTIFFError(
          .malformed, location: location, range: ByteRange(offset: 4, length: 4),
          message: "BigTIFF offset size is not 8")
      }
      return TIFFHeader(byteOrder: order, isBigTIFF: true, firstIFDOffset: order.u64(b, 8))
    default:
      throw GeoTIFFError(
        .notTIFF, location: location, range: ByteRange(offset: 2, length: 2),
        message: "version is \(version), expected 42 (TIFF) or 43 (BigTIFF)")
    }
  }
}
