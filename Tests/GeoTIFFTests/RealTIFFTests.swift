import Foundation
import GeoTIFF
import RangeIO
import TandemBase
import Testing

/// Real-world TIFFs (codecs, layouts, georeferencing) against expectations written by GDAL
/// (`Scripts/reference/real_tiffs.py`), committed so these tests need no GDAL.
@Suite("Real TIFFs")
struct RealTIFFTests {
  struct Entry: Decodable, CustomTestStringConvertible, Sendable {
    struct Case: Decodable, Sendable {
      var window: [Int]
      var overview: Int
      var expected: String
      var mask: Bool
    }
    var file: String
    var width: Int?
    var height: Int?
    var bands: Int?
    var dtype: String?
    var epsg: Int?
    var geotransform: [Double]?
    var nodata: String?
    var overviews: [[Int]]?
    var gcps: Int?
    var mask: Bool?
    var cases: [Case]?
    var testDescription: String { file }
  }

  static let entries: [Entry] = {
    let path = Support.fixture("expected/expected.json")
    guard let data = FileManager.default.contents(atPath: path),
      let list = try? JSONDecoder().decode([Entry].self, from: data)
    else { return [] }
    return list
  }()

  /// Files Tandem rejects on purpose (GDAL reads them): 24-bit integer samples.
  static let unsupported: Set<String> = ["seq-3c-24b-contig.tiff"]

  @Test func expectationsAreLoaded() {
    #expect(Self.entries.count >= 40)
  }

  @Test("metadata and windows equal GDAL", arguments: entries)
  func matchesGDAL(_ e: Entry) async throws {
    let path = Support.fixture("tiff/" + e.file)
    if Self.unsupported.contains(e.file) {
      await #expect(throws: GeoTIFFError.self) {
        let ds = try await Support.open(path)
        _ = try await ds.read(window: PixelWindow(x: 0, y: 0, width: 4, height: 4))
      }
      return
    }
    let ds = try await Support.open(path)
    let main = ds.mainImage
    #expect(main.width == e.width)
    #expect(main.height == e.height)
    #expect(main.samplesPerPixel == e.bands)
    #expect(main.sampleType.rawValue == e.dtype)
    if let epsg = e.epsg { #expect(ds.georeference.epsg == epsg) }
    if let gt = e.geotransform {
      let ours = try #require(ds.georeference.geoTransform)
      for (a, b) in zip(ours, gt) { #expect(abs(a - b) <= 1e-9 * max(1, abs(b))) }
    } else if (e.gcps ?? 0) == 0 {
      #expect(ds.georeference.geoTransform == nil)
    }
    if let nodata = e.nodata, let v = Double(nodata) ?? (nodata == "nan" ? .nan : nil) {
      let ours = try #require(ds.nodata)
      // GDAL reports nodata rounded to the band type.
      let same = main.sampleType == .float32 ? Float(ours) == Float(v) : ours == v
      #expect(same || (ours.isNaN && v.isNaN))
    } else {
      #expect(ds.nodata == nil)
    }
    let sizes = { (l: [[Int]]) in l.sorted { $0[0] > $1[0] } }
    #expect(sizes(ds.overviews.map { [$0.width, $0.height] }) == sizes(e.overviews ?? []))
    #expect((ds.georeference.gcpCount > 0) == ((e.gcps ?? 0) > 0))
    #expect(!ds.masks.isEmpty == (e.mask ?? false))
    for c in e.cases ?? [] {
      let window = PixelWindow(
        x: c.window[0], y: c.window[1], width: c.window[2], height: c.window[3])
      let raster: Raster
      if c.mask {
        let mask = try #require(ds.masks.first)
        raster = try await ds.read(ds.plan(window: window, image: mask))
      } else {
        raster = try await ds.read(window: window, overview: c.overview)
      }
      let data = try #require(
        FileManager.default.contents(atPath: Support.fixture("expected/" + c.expected)))
      let expected = try NPY.decode(Array(data))
      #expect(expected.shape == [raster.bands, raster.height, raster.width], "\(c.expected)")
      let diff = Support.firstDifference(
        Support.bytesAsGDAL(raster), expected.data, elementSize: expected.dtype.size,
        isFloat: raster.sampleType.isFloatingPoint)
      #expect(diff == nil, "\(c.expected): first difference at element \(diff ?? 0)")
    }
  }

  @Test func georeferenceDetails() async throws {
    let rotated = try await Support.open(Support.fixture("tiff/rasterio-rotated.tif"))
    #expect(rotated.georeference.isRotated)
    let south = try await Support.open(Support.fixture("tiff/rio-tiler-inverted_lat_south_up.tif"))
    #expect((south.georeference.geoTransform?[5] ?? 0) > 0)
    let gcps = try await Support.open(Support.fixture("tiff/rio-tiler-cog_gcps_ovr.tif"))
    #expect(gcps.georeference.gcpCount > 1)
    #expect(gcps.georeference.geoTransform == nil)
    let cog = try await Support.open(Support.fixture("tiff/rio-cogeo-valid_cog_gdal31.tif"))
    let layout = try await cog.cogLayout()
    #expect(layout.isValid && layout.ifdsBeforeData && layout.hasGhostArea, "\(layout)")
    #expect(cog.structuralMetadata?["LAYOUT"] == "IFDS_BEFORE_DATA")
    let strips = try await Support.open(Support.fixture("tiff/pillow-strip_planar_16bit_RGB.tiff"))
    #expect(!strips.mainImage.isTiled && strips.mainImage.interleave == .band)
    let sub = try await Support.open(Support.fixture("tiff/tiff_with_subifd_chain.tif"))
    #expect(sub.images.contains { $0.isSubIFD })
    let scaled = try await Support.open(Support.fixture("tiff/rio-cogeo-image_with_offsets.tif"))
    #expect(scaled.georeference.scales == [0: 0.0001])
    #expect(scaled.georeference.offsets == [0: 1000])
    let be = try await Support.open(Support.fixture("tiff/BigTIFFMotorola.tif"))
    #expect(be.isBigTIFF && !be.isLittleEndian)
  }

  @Test func sparseTilesAreFilled() async throws {
    let ds = try await Support.open(Support.fixture("tiff/rio-cogeo-cog_partially_sparse.tif"))
    let plan = try await ds.plan(
      window: PixelWindow(x: 0, y: 0, width: ds.mainImage.width, height: ds.mainImage.height))
    #expect(plan.blocks.contains { $0.range == nil })
    #expect(plan.blocks.contains { $0.range != nil })
  }
}
