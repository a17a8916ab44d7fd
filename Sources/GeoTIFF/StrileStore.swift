import RangeIO
import Synchronization

/// The tile/strip offset and byte-count entries of one IFD, loaded lazily: parsed from the header
/// bytes when the arrays lie there (COGs), otherwise fetched whole when small, or entry by entry
/// for the striles a window needs.
final class StrileStore: Sendable {
  struct State: Sendable {
    var offsets: [UInt64]?
    var counts: [UInt64]?
    var partial: [Int: (UInt64, UInt64)] = [:]

    func entry(_ i: Int) -> (UInt64, UInt64)? {
      if let offsets, let counts { return (offsets[i], counts[i]) }
      return partial[i]
    }
  }

  let offsetsRef: TagRef
  let countsRef: TagRef
  let count: Int
  let state = Mutex(State())
  /// Arrays up to this many bytes are fetched whole.
  static let wholeArrayLimit: UInt64 = 256 << 10

  init(image: TIFFImage) {
    offsetsRef = image.offsetsArray
    countsRef = image.byteCountsArray
    count = image.strileCount
  }

  /// The entries for `indices`, loading what is missing (at most one `read` call).
  func entries(
    _ indices: [Int], header: HeaderBytes, source: any ByteSource, order: ByteOrder, ifd: Int
  ) async throws(GeoTIFFError) -> [Int: (offset: UInt64, byteCount: UInt64)] {
    let missing = state.withLock { s in indices.filter { s.entry($0) == nil } }
    if !missing.isEmpty {
      try await load(missing, header: header, source: source, order: order, ifd: ifd)
    }
    return state.withLock { s in
      var out: [Int: (offset: UInt64, byteCount: UInt64)] = [:]
      for i in indices { if let e = s.entry(i) { out[i] = (e.0, e.1) } }
      return out
    }
  }

  /// Loads the whole arrays (for layout checks).
  func loadAll(
    header: HeaderBytes, source: any ByteSource, order: ByteOrder, ifd: Int
  )
    async throws(GeoTIFFError) -> (offsets: [UInt64], counts: [UInt64])
  {
    if let both = state.withLock({ s in s.offsets.flatMap { o in s.counts.map { (o, $0) } } }) {
      return both
    }
    let o = try await fetchWhole(offsetsRef, header: header, source: source, order: order, ifd: ifd)
    let c = try await fetchWhole(countsRef, header: header, source: source, order: order, ifd: ifd)
    state.withLock { s in
      s.offsets = o
      s.counts = c
    }
    return (o, c)
  }

  private func fetchWhole(
    _ ref: TagRef, header: HeaderBytes, source: any ByteSource, order: ByteOrder, ifd: Int
  ) async throws(GeoTIFFError) -> [UInt64] {
    let length = Int(UInt64(count) * UInt64(ref.elementSize))
    let bytes: ArraySlice<UInt8>
    if let held = header.slice(ref.dataOffset, length) {
      bytes = held
    } else {
      do {
        let range = ByteRange(offset: ref.dataOffset, length: UInt64(length))
        // Checked to be one buffer of `length` bytes: `decodeIntegers` indexes it unchecked.
        let data = try ByteReads.complete(
          try await source.read([range]), for: [range], location: source.location)
        bytes = ArraySlice(data[0])
      } catch {
        throw GeoTIFFError(error, ifd: ifd)
      }
    }
    guard let values = decodeIntegers(bytes, type: ref.type, count: count, order: order) else {
      throw GeoTIFFError(
        .malformed, location: source.location, ifd: ifd,
        message: "strile array tag \(ref.tag) has type \(ref.type)")
    }
    return values
  }

  private func load(
    _ missing: [Int], header: HeaderBytes, source: any ByteSource, order: ByteOrder, ifd: Int
  ) async throws(GeoTIFFError) {
    let oSize = UInt64(offsetsRef.elementSize)
    let cSize = UInt64(countsRef.elementSize)
    let oBytes = UInt64(count) * oSize
    let cBytes = UInt64(count) * cSize
    let inHeader =
      header.slice(offsetsRef.dataOffset, Int(oBytes)) != nil
      && header.slice(countsRef.dataOffset, Int(cBytes)) != nil
    if inHeader || oBytes + cBytes <= StrileStore.wholeArrayLimit {
      // One read for both arrays (none when they lie in the header).
      var ranges: [ByteRange] = []
      if header.slice(offsetsRef.dataOffset, Int(oBytes)) == nil {
        ranges.append(ByteRange(offset: offsetsRef.dataOffset, length: oBytes))
      }
      if header.slice(countsRef.dataOffset, Int(cBytes)) == nil {
        ranges.append(ByteRange(offset: countsRef.dataOffset, length: cBytes))
      }
      var local = header
      if !ranges.isEmpty {
        do {
          let data = try ByteReads.complete(
            try await source.read(ranges), for: ranges, location: source.location)
          for (r, d) in zip(ranges, data) { local.insert(offset: r.offset, bytes: d) }
        } catch {
          throw GeoTIFFError(error, ifd: ifd)
        }
      }
      let ob = try Self.held(local, offsetsRef.dataOffset, Int(oBytes), source: source, ifd: ifd)
      let cb = try Self.held(local, countsRef.dataOffset, Int(cBytes), source: source, ifd: ifd)
      let o = decodeIntegers(ob, type: offsetsRef.type, count: count, order: order)
      let c = decodeIntegers(cb, type: countsRef.type, count: count, order: order)
      guard let o, let c else {
        throw GeoTIFFError(
          .malformed, location: source.location, ifd: ifd, message: "bad strile array type")
      }
      state.withLock { s in
        s.offsets = o
        s.counts = c
      }
      return
    }
    // Large arrays outside the header: fetch only the entries needed, merged when they touch.
    var wanted: [ByteRange] = []
    for i in missing {
      wanted.append(ByteRange(offset: offsetsRef.dataOffset + UInt64(i) * oSize, length: oSize))
      wanted.append(ByteRange(offset: countsRef.dataOffset + UInt64(i) * cSize, length: cSize))
    }
    wanted.sort()
    var merged: [ByteRange] = []
    for r in wanted {
      if let last = merged.last, r.offset <= last.end + 64 {
        merged[merged.count - 1] = ByteRange(
          offset: last.offset, length: max(last.end, r.end) - last.offset)
      } else {
        merged.append(r)
      }
    }
    var local = HeaderBytes()
    do {
      let data = try ByteReads.complete(
        try await source.read(merged), for: merged, location: source.location)
      for (r, d) in zip(merged, data) { local.insert(offset: r.offset, bytes: d) }
    } catch {
      throw GeoTIFFError(error, ifd: ifd)
    }
    var loaded: [Int: (UInt64, UInt64)] = [:]
    for i in missing {
      let ob = try Self.held(
        local, offsetsRef.dataOffset + UInt64(i) * oSize, Int(oSize), source: source, ifd: ifd)
      let cb = try Self.held(
        local, countsRef.dataOffset + UInt64(i) * cSize, Int(cSize), source: source, ifd: ifd)
      guard let o = decodeIntegers(ob, type: offsetsRef.type, count: 1, order: order)?.first,
        let c = decodeIntegers(cb, type: countsRef.type, count: 1, order: order)?.first
      else {
        throw GeoTIFFError(
          .malformed, location: source.location, ifd: ifd, message: "bad strile array type")
      }
      loaded[i] = (o, c)
    }
    state.withLock { s in s.partial.merge(loaded) { _, new in new } }
  }

  /// The bytes at `[offset, offset + length)` of `bytes`, which the reads above fetched; missing
  /// bytes (an internal inconsistency) are a typed error, not a trap.
  private static func held(
    _ bytes: HeaderBytes, _ offset: UInt64, _ length: Int, source: any ByteSource, ifd: Int
  ) throws(GeoTIFFError) -> ArraySlice<UInt8> {
    guard let slice = bytes.slice(offset, length) else {
      throw GeoTIFFError(
        .io, location: source.location, ifd: ifd,
        range: ByteRange(offset: offset, length: UInt64(length)),
        message: "strile array bytes missing after the read (internal error; please report it)")
    }
    return slice
  }
}
