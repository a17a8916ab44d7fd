import CTIFF
import CTandemShims
import Foundation
import RangeIO
import TandemBase
import Testing

@testable import GeoTIFF

/// The libdeflate + Swift predictor path must produce exactly what libtiff produces, block for
/// block, for every predictor, sample size, band layout and block shape it takes on; and it must
/// actually be taken for those files.
@Suite("Deflate fast path")
struct DeflateFastPathTests {
  /// A sample type as libtiff writes it.
  struct Kind: Sendable, CustomStringConvertible {
    var bits: Int
    var format: Int  // 1 unsigned, 2 signed, 3 float
    var description: String { "\(format == 3 ? "f" : format == 2 ? "i" : "u")\(bits)" }
  }

  struct Case: Sendable, CustomStringConvertible {
    var kind: Kind
    var predictor: Int
    var samples: Int
    var separate: Bool
    var tiled: Bool
    var description: String {
      "\(kind) predictor \(predictor), \(samples) band(s)\(separate ? " planar" : ""), "
        + (tiled ? "tiles" : "strips")
    }
  }

  /// 64-bit integers are not a sample type Tandem reads; f64 with predictor 2 covers the 64-bit
  /// horizontal predictor.
  static let kinds = [
    Kind(bits: 8, format: 1), Kind(bits: 8, format: 2), Kind(bits: 16, format: 1),
    Kind(bits: 16, format: 2), Kind(bits: 32, format: 1), Kind(bits: 32, format: 2),
    Kind(bits: 16, format: 3), Kind(bits: 32, format: 3),
    Kind(bits: 64, format: 3),
  ]

  static let cases: [Case] = {
    var out: [Case] = []
    for kind in kinds {
      for predictor in kind.format == 3 ? [1, 2, 3] : [1, 2] {
        for (samples, separate) in [(1, false), (3, false), (3, true)] {
          for tiled in [true, false] {
            out.append(
              Case(
                kind: kind, predictor: predictor, samples: samples, separate: separate,
                tiled: tiled))
          }
        }
      }
    }
    return out
  }()

  /// Writes a 77×70 image (edge tiles and a short last strip) with libtiff.
  static func write(_ c: Case, to path: String) throws {
    var diagnostics = tandem_tiff_diagnostics()
    let tif = try #require(tandem_tiff_open_path(path, "w", &diagnostics, 0))
    defer { TIFFClose(tif) }
    let (width, height) = (77, 70)
    _ = tandem_tiff_set_u32(tif, UInt32(TIFFTAG_IMAGEWIDTH), UInt32(width))
    _ = tandem_tiff_set_u32(tif, UInt32(TIFFTAG_IMAGELENGTH), UInt32(height))
    _ = tandem_tiff_set_u16(tif, UInt32(TIFFTAG_BITSPERSAMPLE), UInt16(c.kind.bits))
    _ = tandem_tiff_set_u16(tif, UInt32(TIFFTAG_SAMPLESPERPIXEL), UInt16(c.samples))
    _ = tandem_tiff_set_u16(tif, UInt32(TIFFTAG_SAMPLEFORMAT), UInt16(c.kind.format))
    _ = tandem_tiff_set_u16(
      tif, UInt32(TIFFTAG_PLANARCONFIG),
      UInt16(c.separate ? PLANARCONFIG_SEPARATE : PLANARCONFIG_CONTIG))
    _ = tandem_tiff_set_u16(
      tif, UInt32(TIFFTAG_PHOTOMETRIC),
      UInt16(c.samples == 3 ? PHOTOMETRIC_RGB : PHOTOMETRIC_MINISBLACK))
    _ = tandem_tiff_set_u16(tif, UInt32(TIFFTAG_COMPRESSION), UInt16(COMPRESSION_ADOBE_DEFLATE))
    _ = tandem_tiff_set_u16(tif, UInt32(TIFFTAG_PREDICTOR), UInt16(c.predictor))
    let blockWidth = c.tiled ? 32 : width
    let blockHeight = c.tiled ? 32 : 16
    if c.tiled {
      _ = tandem_tiff_set_u32(tif, UInt32(TIFFTAG_TILEWIDTH), 32)
      _ = tandem_tiff_set_u32(tif, UInt32(TIFFTAG_TILELENGTH), 32)
    } else {
      _ = tandem_tiff_set_u32(tif, UInt32(TIFFTAG_ROWSPERSTRIP), 16)
    }
    let perBlock = c.separate ? 1 : c.samples
    let bytes = c.kind.bits / 8
    var rng = SeededGenerator(seed: UInt64(c.description.utf8.count * 7919 + c.predictor))
    let across = (width + blockWidth - 1) / blockWidth
    let down = (height + blockHeight - 1) / blockHeight
    for plane in 0..<(c.separate ? c.samples : 1) {
      for index in 0..<(across * down) {
        let rows = c.tiled ? blockHeight : min(blockHeight, height - (index / across) * blockHeight)
        var block = [UInt8](repeating: 0, count: blockWidth * rows * perBlock * bytes)
        // Smooth ramps plus noise, written as the sample type's bytes (little-endian host).
        for p in 0..<(blockWidth * rows * perBlock) {
          let v = Double(p % (blockWidth * perBlock)) * 3.5 + Double(rng.next() % 17)
          var raw: [UInt8]
          switch (c.kind.format, c.kind.bits) {
          case (3, 16): raw = withUnsafeBytes(of: Float16(v / 7)) { Array($0) }
          case (3, 32): raw = withUnsafeBytes(of: Float(v / 7)) { Array($0) }
          case (3, 64): raw = withUnsafeBytes(of: v / 7) { Array($0) }
          default:
            raw = withUnsafeBytes(of: UInt64(v * 977).littleEndian) { Array($0.prefix(bytes)) }
          }
          for k in 0..<bytes { block[p * bytes + k] = raw[k] }
        }
        let strile = UInt32(plane * across * down + index)
        let written = block.withUnsafeMutableBytes { b in
          c.tiled
            ? TIFFWriteEncodedTile(tif, strile, b.baseAddress, tmsize_t(b.count))
            : TIFFWriteEncodedStrip(tif, strile, b.baseAddress, tmsize_t(b.count))
        }
        #expect(written > 0, "libtiff could not write block \(strile) of \(c)")
      }
    }
    #expect(TIFFWriteDirectory(tif) == 1)
  }

  /// Decodes every block of `path`'s main image with both paths and compares the bytes;
  /// returns the number of blocks the fast path decoded.
  static func compareBlocks(_ path: String) async throws -> Int {
    let dataset = try await COGDataset.open(FileSource(path: path))
    let image = dataset.mainImage
    let plan = try await dataset.plan(
      window: PixelWindow(x: 0, y: 0, width: image.width, height: image.height))
    let fetched = try await dataset.fetch(plan)
    let fast = TileDecoder(maxHandles: 4, fastPath: true)
    let slow = TileDecoder(maxHandles: 4, fastPath: false)
    let samples = image.interleave == .pixel ? image.samplesPerPixel : 1
    let rowBytes = (image.blockWidth * samples * image.bitsPerSample + 7) / 8
    for (k, block) in plan.blocks.enumerated() where block.range != nil {
      var a = [UInt8](repeating: 0xA5, count: rowBytes * block.rows)
      var b = [UInt8](repeating: 0x5A, count: rowBytes * block.rows)
      try a.withUnsafeMutableBytes {
        try fast.decode(
          dataset: dataset, image: image, strile: block.strile, range: block.range,
          bytes: fetched.data[k], rows: block.rows, output: $0)
      }
      try b.withUnsafeMutableBytes {
        try slow.decode(
          dataset: dataset, image: image, strile: block.strile, range: block.range,
          bytes: fetched.data[k], rows: block.rows, output: $0)
      }
      #expect(a == b, "block \(block.strile) of \(path) differs from libtiff's decode")
      // Only some rows needed: those rows are still exactly libtiff's.
      let needed = (block.rows / 3)..<max(block.rows / 3 + 1, block.rows * 2 / 3)
      var c = [UInt8](repeating: 0x33, count: rowBytes * block.rows)
      try c.withUnsafeMutableBytes {
        try fast.decode(
          dataset: dataset, image: image, strile: block.strile, range: block.range,
          bytes: fetched.data[k], rows: block.rows, needed: needed, output: $0)
      }
      let part = (needed.lowerBound * rowBytes)..<(needed.upperBound * rowBytes)
      #expect(c[part] == b[part], "rows \(needed) of block \(block.strile) of \(path)")
    }
    #expect(slow.fastDecodes == 0)
    return fast.fastDecodes / 2
  }

  @Test("equals libtiff on every predictor, sample type and layout", arguments: cases)
  func generated(_ c: Case) async throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent(
      "tandem-fastpath-\(getpid())-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let path = dir.appendingPathComponent("case.tif").path
    try Self.write(c, to: path)
    let dataset = try await COGDataset.open(FileSource(path: path))
    // Every generated case (little-endian, deflate, whole-byte samples) takes the fast path.
    #expect(DeflateBlockDecoder.handles(dataset.mainImage, littleEndian: dataset.isLittleEndian))
    let fastBlocks = try await Self.compareBlocks(path)
    #expect(fastBlocks == dataset.mainImage.strileCount, "\(c) should take the fast path")
  }

  @Test("equals libtiff on the committed deflate files (GDAL, rasterio, async-tiff)")
  func committed() async throws {
    var fast = 0
    for name in [
      "async-tiff-geogtowgs_subset_USGS_13_s14w171.tif", "deflate-last-strip-extra-data.tiff",
      "random-fp16-pred3.tiff", "random-fp16.tiff", "rio-cogeo-valid_cog_gdal31.tif",
      "rio-tiler-cog_gcps_ovr.tif", "s2-l2a-cog-B01.tif", "seq-1c-32f-deflate-fpredict.tiff",
      "seq-1c-64f-deflate-fpredict.tiff",
    ] {
      fast += try await Self.compareBlocks(Support.fixture("tiff/" + name))
    }
    #expect(fast > 0)
  }

  @Test("a stream that does not inflate to a whole block falls back to libtiff")
  func truncatedStreamFallsBack() async throws {
    let path = Support.fixture("tiff/seq-1c-32f-deflate-fpredict.tiff")
    let dataset = try await COGDataset.open(FileSource(path: path))
    let image = dataset.mainImage
    let plan = try await dataset.plan(
      window: PixelWindow(x: 0, y: 0, width: image.width, height: image.height))
    let fetched = try await dataset.fetch(plan)
    let block = try #require(plan.blocks.first { $0.range != nil })
    let index = try #require(plan.blocks.firstIndex(of: block))
    let truncated = Array(fetched.data[index].prefix(fetched.data[index].count / 2))
    let rowBytes = image.blockWidth * image.bitsPerSample / 8
    var out = [UInt8](repeating: 0, count: rowBytes * block.rows)
    let fast = TileDecoder(maxHandles: 4, fastPath: true)
    // libtiff decides: it reports the truncated stream as a decode failure naming the block.
    #expect(throws: GeoTIFFError.self) {
      try out.withUnsafeMutableBytes {
        try fast.decode(
          dataset: dataset, image: image, strile: block.strile, range: block.range,
          bytes: truncated, rows: block.rows, output: $0)
      }
    }
    #expect(fast.fastDecodes == 0)
  }
}
