import Foundation
import GeoTIFF
import RangeIO
import TandemBase
import Testing

/// Each ``GeoTIFFLimits`` bound: a crafted file just over it fails with `.limitExceeded`, and the
/// error names the file and the limit; the same file passes with the limit raised.
@Suite("GeoTIFF limits", .timeLimit(.minutes(1)))
struct GeoTIFFLimitTests {
  /// Opens `bytes` (written to a temporary file) with `limits` and reads a window of the main
  /// image; returns the error.
  static func error(
    _ name: String, _ bytes: [UInt8], _ limits: GeoTIFFLimits,
    window: PixelWindow = PixelWindow(x: 0, y: 0, width: 4, height: 4)
  ) async throws -> GeoTIFFError? {
    let path = try Support.temporaryFile(name, bytes)
    do {
      let ds = try await COGDataset.open(FileSource(path: path), limits: limits)
      _ = try await ds.read(window: window)
      return nil
    } catch let error as GeoTIFFError {
      return error
    }
  }

  /// Expects `.limitExceeded` naming the file and `limit`.
  static func expectLimit(_ error: GeoTIFFError?, _ name: String, _ limit: String) throws {
    let error = try #require(error)
    #expect(error.code == .limitExceeded)
    #expect(error.location.hasSuffix(name))
    #expect(error.description.contains(name))
    #expect(error.description.contains(limit))
  }

  @Test func defaultsAreDocumentedValues() {
    let l = GeoTIFFLimits()
    #expect(l.maxIFDs == 1024 && l.maxChainLength == 1024 && l.maxEntries == 4096)
    #expect(l.maxDimension == 1 << 24 && l.maxTileDimension == 1 << 16)
    #expect(l.maxBlockBytes == 256 << 20 && l.maxCompressedBlockBytes == 320 << 20)
    #expect(l.maxCompressionRatio == 65_536 && l.compressionRatioFloor == 4 << 20)
  }

  @Test func imageDimension() async throws {
    var limits = GeoTIFFLimits()
    limits.maxDimension = 4096
    let over = TinyTIFF(width: 4097, height: 4).bytes()
    try Self.expectLimit(
      await Self.error("dim-over.tif", over, limits), "dim-over.tif", "maxDimension")
    let at = TinyTIFF(width: 4096, height: 1).bytes()
    #expect(try await Self.error("dim-at.tif", at, limits) == nil)
  }

  @Test func tileDimension() async throws {
    var limits = GeoTIFFLimits()
    limits.maxTileDimension = 64
    let over = TiledTIFF(tileWidth: 80, tileHeight: 16).bytes()
    try Self.expectLimit(
      await Self.error("tile-over.tif", over, limits), "tile-over.tif", "maxTileDimension")
    limits.maxTileDimension = 80
    #expect(try await Self.error("tile-at.tif", over, limits) == nil)
  }

  @Test func decodedBlockBytes() async throws {
    var limits = GeoTIFFLimits()
    // A 64×32 uint8 tile decodes to 2048 bytes.
    limits.maxBlockBytes = 2047
    let file = TiledTIFF(tileWidth: 64, tileHeight: 32).bytes()
    try Self.expectLimit(
      await Self.error("block-over.tif", file, limits), "block-over.tif", "maxBlockBytes")
    limits.maxBlockBytes = 2048
    #expect(try await Self.error("block-at.tif", file, limits) == nil)
  }

  @Test func hugeStripWithDefaults() async throws {
    // A 2^24 × 2^24 image in one strip: 256 TiB decoded, refused by the default limits.
    let tiff = TinyTIFF(width: 1 << 24, height: 1 << 24, stripByteCount: 16)
    let error = try await Self.error("huge-strip.tif", tiff.bytes(), GeoTIFFLimits())
    try Self.expectLimit(error, "huge-strip.tif", "maxBlockBytes")
  }

  @Test func blockSizeProductDoesNotOverflow() async throws {
    // One 2^24 × 2^24 strip of 65,535 float64 samples per pixel: width × rows × samples × bits
    // is 2^70, which trapped (UInt64 overflow) before the product was checked.
    let file = OneIFDTIFF(entries: [
      (256, 4, 1 << 24), (257, 4, 1 << 24), (258, 3, 64), (339, 3, 3), (277, 3, 65535),
      (278, 4, 1 << 24), (273, 4, 8), (279, 4, 8),
    ]).bytes()
    try Self.expectLimit(
      await Self.error("overflow.tif", file, GeoTIFFLimits()), "overflow.tif", "maxBlockBytes")
  }

  @Test func compressedBlockBytes() async throws {
    var limits = GeoTIFFLimits()
    limits.maxCompressedBlockBytes = 15
    let file = TinyTIFF(stripByteCount: 16).bytes()
    let error = try await Self.error("compressed-over.tif", file, limits)
    try Self.expectLimit(error, "compressed-over.tif", "maxCompressedBlockBytes")
    #expect(error?.strile == 0)
    limits.maxCompressedBlockBytes = 16
    #expect(try await Self.error("compressed-at.tif", file, limits) == nil)
  }

  @Test func decompressionBomb() async throws {
    // A 2048×2048 uint8 strip (4 MiB decoded) declared as 10 DEFLATE bytes: refused when
    // planned, before anything is fetched or inflated.
    var limits = GeoTIFFLimits()
    limits.compressionRatioFloor = 1 << 20
    limits.maxCompressionRatio = 1000
    let bomb = TinyTIFF(width: 2048, height: 2048, compression: 8, stripByteCount: 10).bytes()
    let error = try await Self.error("bomb.tif", bomb, limits)
    try Self.expectLimit(error, "bomb.tif", "maxCompressionRatio")
    #expect(error?.range == ByteRange(offset: 8, length: 10))
    // Below the floor any ratio is accepted (constant tiles compress to almost nothing): the
    // plan goes through and the 10 bytes then fail to inflate instead.
    limits.compressionRatioFloor = 4 << 20
    let decodeError = try #require(await Self.error("bomb-floor.tif", bomb, limits))
    #expect(decodeError.code == .decodeFailed)
  }

  @Test func ifdCount() async throws {
    var limits = GeoTIFFLimits()
    limits.maxIFDs = 4
    let five = ChainTIFF(count: 5).bytes()
    try Self.expectLimit(
      await Self.error("ifds-over.tif", five, limits), "ifds-over.tif", "maxIFDs")
    let four = ChainTIFF(count: 4).bytes()
    #expect(try await Self.error("ifds-at.tif", four, limits) == nil)
  }

  @Test func chainLength() async throws {
    var limits = GeoTIFFLimits()
    limits.maxChainLength = 2
    let three = ChainTIFF(count: 3).bytes()
    try Self.expectLimit(
      await Self.error("chain-over.tif", three, limits), "chain-over.tif", "maxChainLength")
  }

  @Test(arguments: [0, 1, 3])
  func loopBackToEarlierIFD(target: Int) async throws {
    // IFD 3 of 4 points back at IFD `target`.
    let file = ChainTIFF(count: 4, loopTo: target).bytes()
    let path = try Support.temporaryFile("loop-\(target).tif", file)
    await #expect {
      _ = try await COGDataset.open(FileSource(path: path))
    } throws: { error in
      guard let error = error as? GeoTIFFError else { return false }
      return error.code == .malformed && error.message.contains("loop")
        && error.description.contains("loop-\(target).tif")
    }
  }

  @Test func entriesPerIFD() async throws {
    var limits = GeoTIFFLimits()
    limits.maxEntries = 8
    let file = TinyTIFF().bytes()  // 9 entries
    try Self.expectLimit(await Self.error("entries.tif", file, limits), "entries.tif", "maxEntries")
  }

  @Test func datasetKeepsItsLimits() async throws {
    var limits = GeoTIFFLimits()
    limits.maxCompressedBlockBytes = 1234
    let path = try Support.temporaryFile("keeps.tif", TinyTIFF().bytes())
    let ds = try await COGDataset.open(FileSource(path: path), limits: limits)
    #expect(ds.limits == limits)
  }
}

/// A classic little-endian TIFF with one uint8 image of `count` IFDs chained (1×1 strips),
/// optionally with the last IFD's next pointer going back to IFD `loopTo`.
struct ChainTIFF {
  var count: Int
  var loopTo: Int?

  func bytes() -> [UInt8] {
    var out: [UInt8] = [0x49, 0x49, 42, 0, 8, 0, 0, 0]
    let entries: [(UInt16, UInt16, UInt32)] = [
      (256, 4, 1), (257, 4, 1), (258, 3, 8), (273, 4, 0), (277, 3, 1), (278, 4, 1), (279, 4, 1),
    ]
    let ifdSize = 2 + entries.count * 12 + 4
    let dataOffset = 8 + count * ifdSize
    for i in 0..<count {
      out += le16(UInt16(entries.count))
      for (tag, type, value) in entries {
        out += le16(tag) + le16(type) + le32(1)
        let v = tag == 273 ? UInt32(dataOffset) : value
        out += type == 3 ? le16(UInt16(v)) + [0, 0] : le32(v)
      }
      let next: Int
      if i == count - 1 {
        next = loopTo.map { 8 + $0 * ifdSize } ?? 0
      } else {
        next = 8 + (i + 1) * ifdSize
      }
      out += le32(UInt32(next))
    }
    return out + [7]
  }
}

/// A classic little-endian TIFF with one IFD of single-valued entries (tag, type, value) and 8
/// bytes of data at offset 8.
struct OneIFDTIFF {
  var entries: [(UInt16, UInt16, UInt32)]

  func bytes() -> [UInt8] {
    var out: [UInt8] = [0x49, 0x49, 42, 0] + le32(16) + [UInt8](repeating: 0, count: 8)
    out += le16(UInt16(entries.count))
    for (tag, type, value) in entries.sorted(by: { $0.0 < $1.0 }) {
      out += le16(tag) + le16(type) + le32(1)
      out += type == 3 ? le16(UInt16(value)) + [0, 0] : le32(value)
    }
    return out + le32(0)
  }
}

/// A classic little-endian tiled TIFF: one uint8 tile covering a 16×16 image (uncompressed).
struct TiledTIFF {
  var tileWidth: UInt32
  var tileHeight: UInt32

  func bytes() -> [UInt8] {
    let tileBytes = Int(tileWidth * tileHeight)
    var out: [UInt8] = [0x49, 0x49, 42, 0] + le32(UInt32(8 + tileBytes))
    out += (0..<tileBytes).map { UInt8($0 & 0xFF) }
    let entries: [(UInt16, UInt16, UInt32)] = [
      (256, 4, 16), (257, 4, 16), (258, 3, 8), (259, 3, 1), (262, 3, 1), (277, 3, 1),
      (322, 4, tileWidth), (323, 4, tileHeight), (324, 4, 8), (325, 4, UInt32(tileBytes)),
    ]
    out += le16(UInt16(entries.count))
    for (tag, type, value) in entries {
      out += le16(tag) + le16(type) + le32(1)
      out += type == 3 ? le16(UInt16(value)) + [0, 0] : le32(value)
    }
    return out + le32(0)
  }
}

private func le16(_ v: UInt16) -> [UInt8] { [UInt8(v & 0xFF), UInt8(v >> 8)] }
private func le32(_ v: UInt32) -> [UInt8] {
  [UInt8(v & 0xFF), UInt8((v >> 8) & 0xFF), UInt8((v >> 16) & 0xFF), UInt8(v >> 24)]
}
