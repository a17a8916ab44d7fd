import Foundation
import GeoTIFF
import RangeIO
import TandemBase
import Testing

/// Bad input gives a typed error naming the source: no crash, no hang.
@Suite("Bad input", .timeLimit(.minutes(1)))
struct BadInputTests {
  /// Opens and reads every block of every image; returns the error thrown, if any.
  static func readEverything(_ path: String) async -> GeoTIFFError? {
    do {
      let ds = try await Support.open(path)
      for image in ds.images {
        let step = 1024
        for y in stride(from: 0, to: min(image.height, 8192), by: step) {
          for x in stride(from: 0, to: min(image.width, 8192), by: step) {
            let w = PixelWindow(
              x: x, y: y, width: min(step, image.width - x), height: min(step, image.height - y))
            _ = try await ds.read(ds.plan(window: w, bands: [0], image: image))
          }
        }
      }
      return nil
    } catch let error as GeoTIFFError {
      return error
    } catch {
      Issue.record("untyped error \(error)")
      return nil
    }
  }

  static let malformed: [String] = {
    let dir = Support.fixture("malformed")
    return ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).sorted()
  }()

  @Test func malformedFixturesArePresent() {
    #expect(Self.malformed.count >= 19)
  }

  @Test("malformed real files fail with a typed error naming the file", arguments: malformed)
  func malformedFile(_ name: String) async throws {
    let error = try #require(await Self.readEverything(Support.fixture("malformed/" + name)))
    #expect(error.location.hasSuffix(name))
    #expect(error.description.contains(name))
  }

  @Test func notATIFF() async throws {
    let path = try Support.temporaryFile(
      "not-a-tiff.txt", Array("hello, this is not a TIFF file at all".utf8))
    let error = try #require(await Self.readEverything(path))
    #expect(error.code == .notTIFF)
    #expect(error.location == path)
  }

  @Test(arguments: [0, 1, 5, 7])
  func truncatedHeader(length: Int) async throws {
    let full = TinyTIFF().bytes()
    let path = try Support.temporaryFile("truncated-\(length).tif", Array(full.prefix(length)))
    let error = try #require(await Self.readEverything(path))
    #expect(error.code == .truncated || error.code == .notTIFF)
  }

  @Test func truncatedIFD() async throws {
    let full = TinyTIFF().bytes()
    let path = try Support.temporaryFile("truncated-ifd.tif", Array(full.dropLast(30)))
    let error = try #require(await Self.readEverything(path))
    #expect(error.code == .truncated)
    #expect(error.ifd == 0)
  }

  @Test func truncatedTile() async throws {
    let path = try TinyTIFF(stripByteCount: 5000).write("truncated-tile.tif")
    let error = try #require(await Self.readEverything(path))
    #expect(error.code == .truncated)
    #expect(error.strile == 0)
    #expect(error.range == ByteRange(offset: 8, length: 5000))
  }

  @Test func truncatedCOG() async throws {
    let bytes = try Data(contentsOf: URL(fileURLWithPath: Support.fixture("pin/pin_cog.tif")))
    let path = try Support.temporaryFile(
      "truncated-cog.tif", Array(bytes.prefix(bytes.count - 2000)))
    let error = try #require(await Self.readEverything(path))
    #expect(error.code == .truncated)
    #expect(error.range != nil && error.strile != nil)
  }

  @Test func ifdLoop() async throws {
    let path = try TinyTIFF(loop: true).write("loop.tif")
    let error = try #require(await Self.readEverything(path))
    #expect(error.code == .malformed)
    #expect(error.message.contains("loop"))
  }

  @Test(arguments: [(UInt32(1) << 30, UInt32(4)), (4, 1 << 30), (0, 4)])
  func absurdDimensions(width: UInt32, height: UInt32) async throws {
    let path = try TinyTIFF(width: width, height: height).write("dims-\(width)x\(height).tif")
    let error = try #require(await Self.readEverything(path))
    #expect(error.code == (width == 0 ? .malformed : .limitExceeded))
  }

  @Test(arguments: [UInt32(9999), 50002])
  func unsupportedCompression(_ compression: UInt32) async throws {
    let path = try TinyTIFF(compression: compression).write("codec-\(compression).tif")
    let error = try #require(await Self.readEverything(path))
    #expect(error.code == .unsupported)
    #expect(error.message.contains("compression"))
  }

  /// SHORT tags stored as SSHORT -1 (sign-extended to 2^64 - 1) or as LONG8 2^63 are
  /// malformed: they trapped converting to Int when the IFD was parsed.
  @Test(
    arguments: [
      (259, "Compression", 8), (262, "PhotometricInterpretation", 8), (339, "SampleFormat", 8),
      (317, "Predictor", 8), (338, "ExtraSamples", 8), (259, "Compression", 16),
    ] as [(UInt16, String, UInt16)])
  func shortTagBeyond65535IsMalformed(tag: UInt16, name: String, type: UInt16) async throws {
    var tiff = TinyTIFF()
    tiff.tags[tag] =
      type == 8 ? (8, 1, TinyTIFF.le16([0xFFFF])) : (16, 1, TinyTIFF.le64([1 << 63]))
    let path = try tiff.write("short-\(tag)-\(type).tif")
    let error = try #require(await Self.readEverything(path))
    #expect(error.code == .malformed)
    #expect(error.location == path)
    #expect(error.message.contains(name), "\(error)")
  }

  /// A GeoKeyDirectory stored as SSHORT (key count -1) or LONG8 (count 2^62, a value 2^63)
  /// reads the entries present and skips impossible values: it trapped, or looped for ever.
  @Test(
    arguments: [
      (8, TinyTIFF.le16([1, 1, 0, 0xFFFF, 3072, 0, 1, 32633])),
      (16, TinyTIFF.le64([1, 1, 0, 1 << 62, 3072, 0, 1, 32633, 1024, 0, 1, 1 << 63])),
    ] as [(UInt16, [UInt8])])
  func geoKeyDirectoryWithImpossibleValuesIsRead(type: UInt16, value: [UInt8]) async throws {
    var tiff = TinyTIFF()
    tiff.tags[34735] = (type, UInt32(value.count / (type == 8 ? 2 : 8)), value)
    let ds = try await Support.open(try tiff.write("geokeys-\(type).tif"))
    #expect(ds.georeference.epsg == 32633)
    #expect(ds.georeference.modelType == nil)
  }

  /// A GDAL_METADATA scale for sample 9223372036854775807 is ignored (a TIFF has at most
  /// 65535 samples); `tandem info` trapped printing it 1-based.
  static func hugeSampleScaleTIFF() throws -> String {
    var tiff = TinyTIFF()
    let xml =
      #"<GDALMetadata><Item name="SCALE" sample="9223372036854775807" role="scale">2</Item>"#
      + #"<Item name="SCALE" sample="0" role="scale">0.5</Item></GDALMetadata>"#
    let ascii = Array(xml.utf8) + [0]
    tiff.tags[42112] = (2, UInt32(ascii.count), ascii)
    return try tiff.write("huge-sample-scale.tif")
  }

  @Test func scaleForImpossibleSampleIsIgnored() async throws {
    let ds = try await Support.open(try Self.hugeSampleScaleTIFF())
    #expect(ds.georeference.scales == [0: 0.5])
  }

  /// A window whose far edge overflows Int is an invalid request, not an overflow trap.
  @Test(arguments: [
    PixelWindow(x: .max, y: 0, width: 1, height: 1),
    PixelWindow(x: 0, y: .max, width: 1, height: 1),
    PixelWindow(x: .max - 2, y: .max - 2, width: 4, height: 4),
  ])
  func windowPastTheLargestCoordinateIsInvalid(window: PixelWindow) async throws {
    let path = try TinyTIFF().write("tiny-window.tif")
    let ds = try await Support.open(path)
    let error = await #expect(throws: GeoTIFFError.self) {
      _ = try await ds.read(window: window)
    }
    #expect(error?.code == .invalidRequest)
    #expect(error?.location == path)
  }

  /// `file:header_size` (the first read-ahead) is clamped to `maxHeaderBytes`: a catalog
  /// claiming 10^12 bytes fetched the whole object into one array.
  @Test func headerSizeIsClampedToTheHeaderLimit() async throws {
    let path = Support.fixture("pin/pin_cog.tif")
    let counted = CountingSource(try ByteSources.open(path))
    var limits = GeoTIFFLimits()
    limits.maxHeaderBytes = 16 * 1024
    let ds = try await COGDataset.open(counted, headerSize: 1_000_000_000_000, limits: limits)
    #expect(ds.size > 32 * 1024)
    #expect(ds.headerBytesFetched <= 16 * 1024)
    #expect(counted.calls.flatMap { $0 }.allSatisfy { $0.length <= 16 * 1024 })
  }

  @Test func corruptTileNamesTileAndRange() async throws {
    // rasterio's corrupt.tif: IFDs parse, the tile at (512, 512) does not decode.
    let ds = try await Support.open(Support.fixture("malformed/rasterio-corrupt.tif"))
    await #expect(throws: GeoTIFFError.self) {
      _ = try await ds.read(window: PixelWindow(x: 512, y: 512, width: 16, height: 16))
    }
    // The intact tiles still read.
    _ = try await ds.read(window: PixelWindow(x: 0, y: 0, width: 16, height: 16))
  }

  @Test func invalidRequests() async throws {
    let ds = try await Support.open(Support.fixture("pin/pin_cog.tif"))
    for (window, bands, overview) in [
      (PixelWindow(x: 0, y: 0, width: 0, height: 5), [0], 0),
      (PixelWindow(x: 0, y: 0, width: 5, height: 5), [2], 0),
      (PixelWindow(x: 0, y: 0, width: 5, height: 5), [0], 7),
      (PixelWindow(x: 0, y: 0, width: 1 << 20, height: 1 << 20), [0], 0),
    ] {
      await #expect(throws: GeoTIFFError.self) {
        _ = try await ds.read(window: window, bands: bands, overview: overview)
      }
    }
  }

  /// Seeded byte mutations of valid files (header area and anywhere): every read either
  /// succeeds or throws a ``GeoTIFFError``; no crash, no hang.
  @Test(arguments: [
    "pin/pin_cog.tif", "tiff/BigTIFFMotorola.tif", "tiff/seq-3c-8b-bigendian.tiff",
    "tiff/rio-tiler-cog_uint8_rgb_mask.tif", "tiff/pillow-strip_planar_16bit_RGB.tiff",
  ])
  func mutatedFiles(_ name: String) async throws {
    let original = Array(try Data(contentsOf: URL(fileURLWithPath: Support.fixture(name))))
    var rng = SeededGenerator(seed: 20_261_127, stream: UInt64(original.count))
    var errors = 0
    for k in 0..<60 {
      var bytes = original
      let flips = 1 + Int(rng.next() % 6)
      for _ in 0..<flips {
        let span = k % 2 == 0 ? min(bytes.count, 1024) : bytes.count
        bytes[Int(rng.next() % UInt64(span))] = UInt8(truncatingIfNeeded: rng.next())
      }
      let path = try Support.temporaryFile(
        "mutant-\(k)-" + name.replacingOccurrences(of: "/", with: "_"), bytes)
      if let error = await Self.readEverything(path) {
        #expect(error.location == path)
        errors += 1
      }
      try? FileManager.default.removeItem(atPath: path)
    }
    // Most mutants still read (flips in pixel data decode to other pixels); many must not.
    #expect(errors > 0)
  }
}
