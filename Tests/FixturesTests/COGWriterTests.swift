import Foundation
import TandemBase
import Testing

@testable import Fixtures

@Suite struct COGWriterTests {
  enum Kind: String, CaseIterable { case uint8, uint16, float32 }

  static func image(_ kind: Kind, size: Int) -> RasterImage {
    var rng = SeededGenerator(seed: 99, stream: UInt64(size))
    let n = size * size
    let pixels: PixelData
    switch kind {
    case .uint8: pixels = .uint8((0..<n).map { UInt8(($0 / size + $0 % size) % 7) })
    case .uint16: pixels = .uint16((0..<n).map { _ in UInt16(rng.next() % 10000) + 1 })
    case .float32: pixels = .float32((0..<n).map { _ in Float(rng.nextUnitDouble()) * 0.3 })
    }
    return RasterImage(
      width: size, height: size, pixels: pixels,
      nodata: kind == .float32 ? -32768 : (kind == .uint8 ? 255 : 0),
      geo: GeoReference(epsg: 32631, originX: 440_000, originY: 5_420_000, pixelSize: 10),
      resampling: kind == .uint8 ? .nearest : .average)
  }

  static func littleEndianBytes(_ p: PixelData) -> [UInt8] {
    switch p {
    case .uint8(let v): v
    case .uint16(let v): v.withUnsafeBytes { Array($0) }
    case .float32(let v): v.withUnsafeBytes { Array($0) }
    }
  }

  @Test(arguments: Kind.allCases, [64, 300, 512])
  func libtiffDecodesWhatWasWritten(kind: Kind, size: Int) throws {
    let dir = TemporaryDirectory("cog")
    defer { dir.cleanup() }
    let image = Self.image(kind, size: size)
    let path = dir.path + "/x.tif"
    try COGWriter.write(image, to: path)
    let t = try TIFFInspector(path: path)
    #expect(t.pixels == Self.littleEndianBytes(image.pixels))
    let factors = COGWriter.overviewFactors(width: size, height: size)
    #expect(t.directories.count == 1 + factors.count)
    for (k, d) in t.directories.enumerated() {
      #expect(d.tileWidth == 256 && d.tileHeight == 256)
      #expect(d.compression == 8)
      #expect(d.predictor == (kind == .float32 ? 3 : 2))
      #expect(d.sampleFormat == (kind == .float32 ? 3 : 1))
      #expect(d.subfileType == (k == 0 ? 0 : 1))
      let f = k == 0 ? 1 : factors[k - 1]
      #expect(d.width == (size + f - 1) / f)
    }
    // GeoKeys: projected model, pixel-is-area, EPSG:32631, metres.
    let keys = stride(from: 4, to: t.geoKeys.count, by: 4).map {
      (t.geoKeys[$0], t.geoKeys[$0 + 3])
    }
    #expect(keys.contains { $0 == (1024, 1) })
    #expect(keys.contains { $0 == (1025, 1) })
    #expect(keys.contains { $0 == (3072, 32631) })
    #expect(t.pixelScale == [10, 10, 0])
    #expect(t.tiepoint == [0, 0, 0, 440_000, 5_420_000, 0])
  }

  @Test(arguments: [64, 320, 512, 700])
  func layoutIsCloudOptimized(size: Int) throws {
    let image = Self.image(.uint16, size: size)
    let bytes = try COGWriter.encode(image)
    let tiff = try RawTIFF(bytes)
    // Ghost area right after the header, first IFD right after it (even offset).
    let ghost = String(decoding: bytes[8..<(8 + 30)], as: UTF8.self)
    #expect(ghost == "GDAL_STRUCTURAL_METADATA_SIZE=")
    let text = String(decoding: bytes[8..<min(bytes.count, 400)], as: UTF8.self)
    #expect(text.contains("LAYOUT=IFDS_BEFORE_DATA"))
    let declared = Int(text.dropFirst(30).prefix(6))!
    let expectedFirstIFD = 8 + 43 + declared
    #expect(tiff.ifds[0].offset == expectedFirstIFD + expectedFirstIFD % 2)
    #expect(tiff.ifds.count == 1 + COGWriter.overviewFactors(width: size, height: size).count)
    // Every IFD and its values precede every tile.
    let headerEnd = tiff.ifds.map { $0.offset + $0.size }.max()!
    var levelStarts: [Int] = []
    for ifd in tiff.ifds {
      let offsets = tiff.ints(ifd, 324)
      let counts = tiff.ints(ifd, 325)
      #expect(offsets.count == counts.count && !offsets.isEmpty)
      #expect(offsets.min()! > headerEnd)
      #expect(offsets == offsets.sorted(), "tiles in row-major order")
      for (o, c) in zip(offsets, counts) {
        #expect(Int(tiff.u32(o - 4)) == c, "leader holds the tile size")
        #expect(Array(bytes[(o + c - 4)..<(o + c)]) == Array(bytes[(o + c)..<(o + c + 4)]))
      }
      levelStarts.append(offsets.min()!)
      #expect(tiff.ascii(ifd, 42113) == "0")
    }
    // Smallest overview first, full resolution last.
    #expect(levelStarts == levelStarts.sorted(by: >))
    #expect(tiff.ifds.map(\.offset) == tiff.ifds.map(\.offset).sorted())
  }

  @Test func overviewFactorsFollowGDAL() {
    #expect(COGWriter.overviewFactors(width: 64, height: 64) == [2])
    #expect(COGWriter.overviewFactors(width: 320, height: 320) == [2, 4])
    #expect(COGWriter.overviewFactors(width: 512, height: 512) == [2, 4])
    #expect(COGWriter.overviewFactors(width: 2048, height: 1000) == [2, 4, 8])
    #expect(COGWriter.overviewFactors(width: 40, height: 40) == [])
  }

  @Test func overviewsAverageValidPixelsAndKeepLabels() {
    let geo = GeoReference(epsg: 32631, originX: 0, originY: 0, pixelSize: 10)
    let avg = RasterImage(
      width: 3, height: 2, pixels: .uint16([10, 20, 7, 0, 40, 9]), nodata: 0, geo: geo,
      resampling: .average
    ).halved()
    #expect(avg.width == 2 && avg.height == 1)
    #expect(avg.pixels == .uint16([23, 8]))  // (10+20+40)/3 rounds to 23; nodata skipped
    #expect(avg.geo.pixelSize == 20)
    let labels = RasterImage(
      width: 2, height: 2, pixels: .uint8([3, 5, 5, 5]), nodata: 255, geo: geo,
      resampling: .nearest
    ).halved()
    #expect(labels.pixels == .uint8([3]))
  }

  @Test func nodataTextMatchesGDAL() {
    #expect(COGWriter.nodataText(0) == "0")
    #expect(COGWriter.nodataText(-32768) == "-32768")
    #expect(COGWriter.nodataText(.nan) == "nan")
    #expect(COGWriter.nodataText(0.5) == "0.5")
  }

  @Test func writeReportsTheFileOnFailure() {
    let image = Self.image(.uint8, size: 64)
    #expect {
      try COGWriter.write(image, to: "/proc/definitely/not/writable/x.tif")
    } throws: { error in
      guard let e = error as? FixturesError else { return false }
      return e.code == .write && e.path == "/proc/definitely/not/writable/x.tif"
    }
  }
}
