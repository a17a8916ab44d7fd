import Foundation
import GeoTIFF
import RangeIO
import TandemBase
import Testing

/// Bit-exact cross-validation against GDAL on the matrix written by
/// `Scripts/reference/gdal_matrix.py` (via `Scripts/integration/prepare-gdal-matrix.sh`).
@Suite("GDAL matrix")
struct GDALMatrixTests {
  struct Manifest: Decodable {
    struct Case: Decodable {
      var file: String
      var window: [Int]
      var bands: [Int]
      var overview: Int
      var mask: Bool
      var expected: String
      var dtype: String
    }
    var files: Int
    var cases: [Case]
  }

  static var matrixDirectory: String? {
    Support.work.map { $0 + "/www/matrix" }
  }

  @Test(
    "every matrix case equals GDAL bit for bit",
    .enabled(if: Support.work != nil), .timeLimit(.minutes(5)))
  func matrix() async throws {
    let dir = try #require(Self.matrixDirectory)
    let data = try Data(contentsOf: URL(fileURLWithPath: dir + "/manifest.json"))
    let manifest = try JSONDecoder().decode(Manifest.self, from: data)
    #expect(manifest.files >= 60)
    #expect(manifest.cases.count >= 500)
    var datasets: [String: COGDataset] = [:]
    var failures: [String] = []
    var checked = 0
    for c in manifest.cases {
      do {
        let ds: COGDataset
        if let d = datasets[c.file] {
          ds = d
        } else {
          ds = try await Support.open(dir + "/" + c.file)
          datasets[c.file] = ds
        }
        let window = PixelWindow(
          x: c.window[0], y: c.window[1], width: c.window[2], height: c.window[3])
        let raster: Raster
        if c.mask {
          let mask = try #require(ds.masks.first { $0.width == ds.mainImage.width })
          raster = try await ds.read(ds.plan(window: window, bands: [0], image: mask))
        } else {
          raster = try await ds.read(
            window: window, bands: c.bands.map { $0 - 1 }, overview: c.overview)
        }
        let expected = try NPY.decode(
          Array(try Data(contentsOf: URL(fileURLWithPath: dir + "/" + c.expected))))
        let ours = Support.bytesAsGDAL(raster)
        let shape = [raster.bands, raster.height, raster.width]
        guard expected.shape == shape else {
          failures.append("\(c.expected): shape \(shape) != GDAL \(expected.shape)")
          continue
        }
        if let i = Support.firstDifference(
          ours, expected.data, elementSize: expected.dtype.size,
          isFloat: c.dtype.hasPrefix("float"))
        {
          failures.append("\(c.expected): first difference at element \(i)")
        }
        checked += 1
      } catch {
        failures.append("\(c.expected): \(error)")
      }
    }
    for f in failures.prefix(40) { Issue.record(Comment(rawValue: f)) }
    #expect(failures.isEmpty, "\(failures.count) of \(manifest.cases.count) cases differ")
    print(
      "GDAL matrix: \(manifest.files) files, \(checked) cases checked, \(failures.count) failures")
  }
}
