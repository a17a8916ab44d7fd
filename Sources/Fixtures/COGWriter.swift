internal import CTIFF
internal import CTandemShims
import Foundation
import Synchronization
import TandemBase

#if _endian(big)
  #error("COGWriter assumes a little-endian host")
#endif

/// Writes single-band cloud-optimized GeoTIFFs with the layout GDAL's COG driver produces.
///
/// libtiff compresses the tiles (deflate with predictor 2 for integers, 3 for floats) into a
/// scratch TIFF; the raw compressed tiles are read back with `TIFFReadRawTile` and the final file
/// is assembled here, because libtiff always writes IFDs after the image data, while a COG needs
/// everything a reader must parse up front:
///
/// ```
/// header | GDAL ghost area | IFD main, its arrays | IFD ov 2×, arrays | … | tiles of the smallest
/// overview … tiles of full resolution (each tile: uint32 size leader, data, last 4 bytes again)
/// ```
///
/// The ghost area (`GDAL_STRUCTURAL_METADATA`) declares that layout so GDAL reports
/// `LAYOUT=COG` and readers such as cogeotiff may use the tile leaders.
public enum COGWriter {
  /// Tile edge in pixels.
  public static let tileSize = 256

  /// Overview decimation factors for a `width`×`height` image: 2, 4, … while the level is at
  /// least 32 pixels on its long side, and at least down to one tile, as GDAL does.
  public static func overviewFactors(width: Int, height: Int) -> [Int] {
    var factors: [Int] = []
    var factor = 2
    while true {
      let longSide = (max(width, height) + factor - 1) / factor
      let previousLongSide = (max(width, height) + factor / 2 - 1) / (factor / 2)
      guard longSide >= 32, factors.count < 2 || previousLongSide > tileSize else { break }
      factors.append(factor)
      factor *= 2
    }
    return factors
  }

  /// The structural metadata GDAL writes right after the TIFF header of a COG.
  static let ghostArea: [UInt8] = {
    let body =
      "LAYOUT=IFDS_BEFORE_DATA\nBLOCK_ORDER=ROW_MAJOR\nBLOCK_LEADER=SIZE_AS_UINT4\n"
      + "BLOCK_TRAILER=LAST_4_BYTES_REPEATED\nKNOWN_INCOMPATIBLE_EDITION=NO\n "
    let size = String(body.utf8.count)
    let padded = String(repeating: "0", count: 6 - size.count) + size
    return Array("GDAL_STRUCTURAL_METADATA_SIZE=\(padded) bytes\n\(body)".utf8)
  }()

  /// Encodes `image` as COG bytes.
  public static func encode(
    _ image: RasterImage, name: String = "raster"
  ) throws(FixturesError)
    -> [UInt8]
  {
    var levels = [image]
    for _ in overviewFactors(width: image.width, height: image.height) {
      levels.append(levels[levels.count - 1].halved())
    }
    let tiles = try compressTiles(levels, name: name)
    return try assemble(levels: levels, tiles: tiles, name: name)
  }

  /// Encodes `image` as COG bytes, with overview levels or without (a full-resolution-only COG),
  /// and returns the header size too: the bytes before the first tile (header, GDAL ghost
  /// area, every IFD with its arrays), as STAC `file:header_size` records it.
  public static func encode(
    _ image: RasterImage, name: String = "raster", overviews: Bool
  ) throws(FixturesError) -> (bytes: [UInt8], headerSize: Int) {
    var levels = [image]
    if overviews {
      for _ in overviewFactors(width: image.width, height: image.height) {
        levels.append(levels[levels.count - 1].halved())
      }
    }
    let tiles = try compressTiles(levels, name: name)
    return (try assemble(levels: levels, tiles: tiles, name: name), headerSize(levels: levels))
  }

  /// Bytes before the first tile leader of a COG of `levels` (IFD sizes do not depend on the
  /// tile offsets, which are all LONG).
  static func headerSize(levels: [RasterImage]) -> Int {
    var cursor = 8 + ghostArea.count
    cursor += cursor & 1
    for (i, image) in levels.enumerated() {
      let count =
        ((image.width + tileSize - 1) / tileSize) * ((image.height + tileSize - 1) / tileSize)
      cursor += ifdSize(
        entries(
          for: image, isOverview: i > 0, offsets: Array(repeating: 0, count: count),
          counts: Array(repeating: 0, count: count)))
    }
    return cursor
  }

  /// Encodes `image` and writes it atomically to `path`.
  public static func write(_ image: RasterImage, to path: String) throws(FixturesError) {
    let bytes = try encode(image, name: path)
    do {
      try AtomicFile.write(bytes, to: path)
    } catch {
      throw FixturesError(.write, path: path, reason: error.reason)
    }
  }

  // MARK: - Compression through libtiff

  private static let scratchCounter = Atomic<Int>(0)

  /// Compresses every tile of every level with libtiff and returns the raw compressed bytes,
  /// `[level][tile]` in row-major tile order.
  static func compressTiles(
    _ levels: [RasterImage], name: String
  ) throws(FixturesError)
    -> [[[UInt8]]]
  {
    let n = scratchCounter.add(1, ordering: .relaxed).newValue
    let scratch = FileManager.default.temporaryDirectory.appendingPathComponent(
      "tandem-cog-\(getpid())-\(n).tif"
    ).path
    defer { unlink(scratch) }
    var diagnostics = tandem_tiff_diagnostics()
    func failure(_ what: String) -> FixturesError {
      let cause = withUnsafeBytes(of: diagnostics.first_error) { raw in
        String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
      }
      return FixturesError(.encoding, path: name, reason: "\(what): \(cause)")
    }

    guard let out = tandem_tiff_open_path(scratch, "w", &diagnostics, 0) else {
      throw failure("cannot open scratch TIFF \(scratch)")
    }
    var writeFailed: String?
    for image in levels where writeFailed == nil {
      let tilesAcross = (image.width + tileSize - 1) / tileSize
      let tilesDown = (image.height + tileSize - 1) / tileSize
      let isFloat: Bool
      if case .float32 = image.pixels { isFloat = true } else { isFloat = false }
      _ = tandem_tiff_set_u32(out, UInt32(TIFFTAG_IMAGEWIDTH), UInt32(image.width))
      _ = tandem_tiff_set_u32(out, UInt32(TIFFTAG_IMAGELENGTH), UInt32(image.height))
      _ = tandem_tiff_set_u16(
        out, UInt32(TIFFTAG_BITSPERSAMPLE), UInt16(image.pixels.bytesPerSample * 8))
      _ = tandem_tiff_set_u16(out, UInt32(TIFFTAG_SAMPLESPERPIXEL), 1)
      _ = tandem_tiff_set_u16(
        out, UInt32(TIFFTAG_SAMPLEFORMAT), UInt16(isFloat ? SAMPLEFORMAT_IEEEFP : SAMPLEFORMAT_UINT)
      )
      _ = tandem_tiff_set_u16(out, UInt32(TIFFTAG_PLANARCONFIG), UInt16(PLANARCONFIG_CONTIG))
      _ = tandem_tiff_set_u16(out, UInt32(TIFFTAG_PHOTOMETRIC), UInt16(PHOTOMETRIC_MINISBLACK))
      _ = tandem_tiff_set_u16(out, UInt32(TIFFTAG_COMPRESSION), UInt16(COMPRESSION_ADOBE_DEFLATE))
      _ = tandem_tiff_set_u16(
        out, UInt32(TIFFTAG_PREDICTOR),
        UInt16(isFloat ? PREDICTOR_FLOATINGPOINT : PREDICTOR_HORIZONTAL))
      _ = tandem_tiff_set_u32(out, UInt32(TIFFTAG_TILEWIDTH), UInt32(tileSize))
      _ = tandem_tiff_set_u32(out, UInt32(TIFFTAG_TILELENGTH), UInt32(tileSize))
      for ty in 0..<tilesDown {
        for tx in 0..<tilesAcross {
          var buffer = tileBuffer(image, tx: tx, ty: ty)
          let index = UInt32(ty * tilesAcross + tx)
          let written = buffer.withUnsafeMutableBytes { raw in
            TIFFWriteEncodedTile(out, index, raw.baseAddress, tmsize_t(raw.count))
          }
          if written < 0 {
            writeFailed = "cannot encode tile \(index)"
            break
          }
        }
        if writeFailed != nil { break }
      }
      if writeFailed == nil && TIFFWriteDirectory(out) == 0 {
        writeFailed = "cannot write scratch directory"
      }
    }
    TIFFClose(out)
    if let writeFailed { throw failure(writeFailed) }

    guard let input = tandem_tiff_open_path(scratch, "r", &diagnostics, 0) else {
      throw failure("cannot reopen scratch TIFF")
    }
    defer { TIFFClose(input) }
    var result: [[[UInt8]]] = []
    for (levelIndex, image) in levels.enumerated() {
      guard TIFFSetDirectory(input, tdir_t(levelIndex)) != 0 else {
        throw failure("cannot read back scratch directory \(levelIndex)")
      }
      let count =
        ((image.width + tileSize - 1) / tileSize) * ((image.height + tileSize - 1) / tileSize)
      var tiles: [[UInt8]] = []
      tiles.reserveCapacity(count)
      for index in 0..<count {
        let size = Int(TIFFGetStrileByteCount(input, UInt32(index)))
        guard size > 0 else { throw failure("empty compressed tile \(index)") }
        var raw = [UInt8](repeating: 0, count: size)
        let got = raw.withUnsafeMutableBytes { p in
          TIFFReadRawTile(input, UInt32(index), p.baseAddress, tmsize_t(size))
        }
        guard got == size else { throw failure("short raw read of tile \(index)") }
        tiles.append(raw)
      }
      result.append(tiles)
    }
    return result
  }

  /// One tile's pixels as little-endian bytes, padded with the nodata value (or zero) past the
  /// image edge.
  static func tileBuffer(_ image: RasterImage, tx: Int, ty: Int) -> [UInt8] {
    func fill<T>(_ v: [T], _ pad: T) -> [UInt8] {
      var tile = [T](repeating: pad, count: tileSize * tileSize)
      let x0 = tx * tileSize
      let y0 = ty * tileSize
      let w = min(tileSize, image.width - x0)
      let h = min(tileSize, image.height - y0)
      for row in 0..<h {
        let src = (y0 + row) * image.width + x0
        tile.replaceSubrange(row * tileSize..<(row * tileSize + w), with: v[src..<(src + w)])
      }
      return tile.withUnsafeBytes { Array($0) }
    }
    let pad = image.nodata ?? 0
    switch image.pixels {
    case .uint8(let v): return fill(v, UInt8(clamping: Int(pad)))
    case .uint16(let v): return fill(v, UInt16(clamping: Int(pad)))
    case .float32(let v): return fill(v, Float(pad))
    }
  }

  // MARK: - File assembly

  /// A TIFF directory entry before layout: tag, field type, count and little-endian value bytes.
  struct Entry {
    var tag: UInt16
    var type: UInt16
    var count: Int
    var bytes: [UInt8]
  }

  static func shorts(_ tag: UInt16, _ values: [UInt16]) -> Entry {
    Entry(tag: tag, type: 3, count: values.count, bytes: values.flatMap { le($0) })
  }
  static func longs(_ tag: UInt16, _ values: [UInt32]) -> Entry {
    Entry(tag: tag, type: 4, count: values.count, bytes: values.flatMap { le($0) })
  }
  static func doubles(_ tag: UInt16, _ values: [Double]) -> Entry {
    Entry(tag: tag, type: 12, count: values.count, bytes: values.flatMap { le($0.bitPattern) })
  }
  static func ascii(_ tag: UInt16, _ text: String) -> Entry {
    let bytes = Array(text.utf8) + [0]
    return Entry(tag: tag, type: 2, count: bytes.count, bytes: bytes)
  }
  static func le<T: FixedWidthInteger>(_ v: T) -> [UInt8] {
    withUnsafeBytes(of: v.littleEndian) { Array($0) }
  }

  /// GDAL_NODATA text as GDAL writes it ("0", "-32768", "nan").
  static func nodataText(_ v: Double) -> String {
    if v.isNaN { return "nan" }
    if v == v.rounded() && abs(v) < 1e15 { return String(Int64(v)) }
    return String(v)
  }

  /// The entries of one level; `offsets`/`counts` are the tile positions in the final file.
  static func entries(
    for image: RasterImage, isOverview: Bool, offsets: [UInt32], counts: [UInt32]
  ) -> [Entry] {
    let isFloat: Bool
    if case .float32 = image.pixels { isFloat = true } else { isFloat = false }
    var e: [Entry] = []
    if isOverview { e.append(longs(254, [1])) }  // NewSubfileType: reduced-resolution image
    e.append(longs(256, [UInt32(image.width)]))
    e.append(longs(257, [UInt32(image.height)]))
    e.append(shorts(258, [UInt16(image.pixels.bytesPerSample * 8)]))
    e.append(shorts(259, [8]))  // Adobe deflate
    e.append(shorts(262, [1]))  // min-is-black
    e.append(shorts(277, [1]))
    e.append(shorts(284, [1]))
    e.append(shorts(317, [isFloat ? 3 : 2]))
    e.append(shorts(322, [UInt16(tileSize)]))
    e.append(shorts(323, [UInt16(tileSize)]))
    e.append(longs(324, offsets))
    e.append(longs(325, counts))
    e.append(shorts(339, [isFloat ? 3 : 1]))
    if !isOverview {
      let g = image.geo
      e.append(doubles(33550, [g.pixelSize, g.pixelSize, 0]))
      e.append(doubles(33922, [0, 0, 0, g.originX, g.originY, 0]))
      // GeoKeyDirectory: version 1.1.0, 4 keys: projected model, pixel-is-area, the EPSG code
      // of the projected CRS, metre units.
      e.append(
        shorts(
          34735,
          [
            1, 1, 0, 4, 1024, 0, 1, 1, 1025, 0, 1, 1, 3072, 0, 1, UInt16(g.epsg), 3076, 0, 1, 9001,
          ]))
    }
    if let nodata = image.nodata { e.append(ascii(42113, nodataText(nodata))) }
    return e
  }

  /// Size of an IFD (entry table + out-of-line values, each value word-aligned).
  static func ifdSize(_ entries: [Entry]) -> Int {
    var size = 2 + entries.count * 12 + 4
    for e in entries where e.bytes.count > 4 {
      size += e.bytes.count + (e.bytes.count & 1)
    }
    return size
  }

  static func assemble(
    levels: [RasterImage], tiles: [[[UInt8]]], name: String
  )
    throws(FixturesError) -> [UInt8]
  {
    // Pass 1: IFD sizes do not depend on offset values (all LONG), so lay out headers first.
    let placeholder = levels.enumerated().map { i, image in
      entries(
        for: image, isOverview: i > 0,
        offsets: Array(repeating: 0, count: tiles[i].count),
        counts: Array(repeating: 0, count: tiles[i].count))
    }
    var ifdStarts: [Int] = []
    var cursor = 8 + ghostArea.count
    cursor += cursor & 1
    for e in placeholder {
      ifdStarts.append(cursor)
      cursor += ifdSize(e)
    }
    // Pass 2: tile data, smallest overview first, full resolution last.
    var offsets = tiles.map { [UInt32](repeating: 0, count: $0.count) }
    var counts = tiles.map { $0.map { UInt32($0.count) } }
    for level in stride(from: levels.count - 1, through: 0, by: -1) {
      for (t, tile) in tiles[level].enumerated() {
        cursor += 4  // leader
        offsets[level][t] = UInt32(truncatingIfNeeded: cursor)
        cursor += tile.count + 4  // data + trailer
      }
    }
    guard cursor < Int(UInt32.max) else {
      throw FixturesError(
        .tooLarge, path: name, reason: "\(cursor) bytes do not fit a classic TIFF")
    }
    counts = counts.map { $0 }

    var out = [UInt8]()
    out.reserveCapacity(cursor)
    out += [0x49, 0x49, 42, 0]
    out += le(UInt32(ifdStarts[0]))
    out += ghostArea
    if out.count & 1 == 1 { out.append(0) }
    for (i, image) in levels.enumerated() {
      precondition(out.count == ifdStarts[i])
      let e = entries(for: image, isOverview: i > 0, offsets: offsets[i], counts: counts[i])
      var valueCursor = ifdStarts[i] + 2 + e.count * 12 + 4
      var values = [UInt8]()
      out += le(UInt16(e.count))
      for entry in e {
        out += le(entry.tag)
        out += le(entry.type)
        out += le(UInt32(entry.count))
        if entry.bytes.count <= 4 {
          out += entry.bytes + [UInt8](repeating: 0, count: 4 - entry.bytes.count)
        } else {
          out += le(UInt32(valueCursor))
          values += entry.bytes
          if entry.bytes.count & 1 == 1 { values.append(0) }
          valueCursor += entry.bytes.count + (entry.bytes.count & 1)
        }
      }
      out += le(UInt32(i + 1 < levels.count ? ifdStarts[i + 1] : 0))
      out += values
    }
    for level in stride(from: levels.count - 1, through: 0, by: -1) {
      for tile in tiles[level] {
        out += le(UInt32(tile.count))
        out += tile
        out += tile.suffix(4)
      }
    }
    precondition(out.count == cursor)
    return out
  }
}
