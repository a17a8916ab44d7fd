import Fixtures
import Foundation
import Pairing
import RangeIO
import Testing

@testable import Pipeline

/// S1 on a 10 m grid, S2 on a 20 m grid over the same ground: the loader must resample S2 onto
/// the S1 grid bilinearly. Pixel values are linear functions of ground coordinates, so bilinear
/// interpolation reproduces them exactly away from the raster border.
@Suite(.timeLimit(.minutes(1))) struct ResamplingTests {
  static let x0 = 500_000.0
  static let y0 = 5_000_000.0

  /// Writes the two items' COGs and an ItemCollection; returns the collection's path. The S2
  /// item's proj:transform pixel size and proj:shape can be overridden (the COGs stay 20 m).
  func makeCatalog(in dir: String, s2Pixel: Double = 20, s2Shape: Int = 32) throws -> String {
    func cog(_ name: String, _ image: RasterImage) throws {
      try COGWriter.write(image, to: "\(dir)/\(name).tif")
    }
    let s1Geo = GeoReference(epsg: 32631, originX: Self.x0, originY: Self.y0, pixelSize: 10)
    let s2Geo = GeoReference(epsg: 32631, originX: Self.x0, originY: Self.y0, pixelSize: 20)
    // S1: 64×64 at 10 m; VV follows the column, VH the row.
    var vv = [Float](repeating: 0, count: 64 * 64)
    var vh = [Float](repeating: 0, count: 64 * 64)
    for r in 0..<64 {
      for c in 0..<64 {
        // Quarter steps stay inside the loader's clip range ([-50, 30]).
        vv[r * 64 + c] = Float(c + 1) * 0.25
        vh[r * 64 + c] = Float(r + 1) * 0.25
      }
    }
    try cog(
      "vv",
      RasterImage(
        width: 64, height: 64, pixels: .float32(vv), nodata: nil, geo: s1Geo, resampling: .average))
    try cog(
      "vh",
      RasterImage(
        width: 64, height: 64, pixels: .float32(vh), nodata: nil, geo: s1Geo, resampling: .average))
    // S2: 32×32 at 20 m. g(X) = 100 + (X - x0) / 10 sampled at 20 m pixel centres is
    // 101 + 2·col; h(Y) = 100 + (y0 - Y) / 10 is 101 + 2·row.
    var b02 = [UInt16](repeating: 0, count: 32 * 32)
    var b03 = [UInt16](repeating: 0, count: 32 * 32)
    for r in 0..<32 {
      for c in 0..<32 {
        b02[r * 32 + c] = UInt16(101 + 2 * c)
        b03[r * 32 + c] = UInt16(101 + 2 * r)
      }
    }
    for (band, values) in [("B02", b02), ("B03", b03), ("B04", b02), ("B08", b03)] {
      try cog(
        band,
        RasterImage(
          width: 32, height: 32, pixels: .uint16(values), nodata: nil, geo: s2Geo,
          resampling: .average))
    }
    let corners = [(0.0, 0.0), (640.0, 0.0), (640.0, -640.0), (0.0, -640.0), (0.0, 0.0)].map {
      let p = UTM.lonLat(easting: Self.x0 + $0.0, northing: Self.y0 + $0.1, epsg: 32631)!
      return "[\(p.lon),\(p.lat)]"
    }
    let geometry = "{\"type\":\"Polygon\",\"coordinates\":[[\(corners.joined(separator: ","))]]}"
    func item(
      _ id: String, _ collection: String, _ datetime: String, _ props: String, _ assets: String
    ) -> String {
      """
      {"type":"Feature","stac_version":"1.0.0","id":"\(id)","collection":"\(collection)",
       "geometry":\(geometry),"bbox":null,
       "properties":{"datetime":"\(datetime)","proj:epsg":32631,\(props)},
       "links":[],"assets":{\(assets)}}
      """
    }
    let s1 = item(
      "S1-test", "sentinel-1-rtc", "2024-05-01T06:00:00Z",
      "\"platform\":\"sentinel-1a\",\"sar:polarizations\":[\"VV\",\"VH\"],\"proj:shape\":[64,64],\"proj:transform\":[10,0,\(Self.x0),0,-10,\(Self.y0)]",
      "\"vv\":{\"href\":\"./vv.tif\"},\"vh\":{\"href\":\"./vh.tif\"}")
    let s2 = item(
      "S2-test", "sentinel-2-l2a", "2024-05-02T10:00:00Z",
      "\"platform\":\"sentinel-2a\",\"eo:cloud_cover\":0,\"proj:shape\":[\(s2Shape),\(s2Shape)],\"proj:transform\":[\(s2Pixel),0,\(Self.x0),0,-\(s2Pixel),\(Self.y0)]",
      ["B02", "B03", "B04", "B08"].map { "\"\($0)\":{\"href\":\"./\($0).tif\"}" }.joined(
        separator: ","))
    let collection =
      "{\"type\":\"FeatureCollection\",\"features\":[\(s1.replacingOccurrences(of: "\"bbox\":null,", with: "")),\(s2.replacingOccurrences(of: "\"bbox\":null,", with: ""))]}"
    let path = "\(dir)/items.json"
    try Data(collection.utf8).write(to: URL(fileURLWithPath: path))
    return path
  }

  @Test func s2OnACoarserGridIsResampledBilinearlyOntoTheS1Grid() async throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent(
      "tandem-resample-\(UUID().uuidString)"
    ).path
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let catalog = try makeCatalog(in: dir)
    let dataset = try await PairDataset.open(
      catalog: catalog, options: PairDatasetOptions(pairing: PairingParameters(maxDays: 3)))
    #expect(dataset.regions.count == 1, "\(dataset.rejectionSummary)")
    guard let region = dataset.regions.first else { return }
    #expect(region.width == 64 && region.height == 64)
    #expect(region.s1.allSatisfy { $0.isAligned })
    #expect(region.s2.allSatisfy { !$0.isAligned && abs($0.scaleX - 0.5) < 1e-12 })

    var norm = Normalization.identity(s1Channels: 2, s2Channels: 4, s1ToDecibels: false)
    norm.s2Scale = 1
    // With and without the decoded-tile cache (without it, blocks go straight to the window).
    for cache in [1 << 30, 0] {
      try await checkResampledWindow(dataset: dataset, norm: norm, decodedCacheBytes: cache)
    }
  }

  func checkResampledWindow(
    dataset: PairDataset, norm: Normalization, decodedCacheBytes: Int
  ) async throws {
    let loader = PairLoader(
      dataset: dataset, windowSize: 32, normalization: norm, sourceOptions: SourceOptions(),
      workers: 1, decodedCacheBytes: decodedCacheBytes)
    let (verdict, s1, s2) = try await loader.load(WindowSample(region: 0, x: 8, y: 8, size: 32))
    #expect(verdict == .accepted)
    var s1Errors = 0
    var s2Errors = 0
    for i in 0..<32 {
      for j in 0..<32 {
        // S1 is copied: VV = (column + 1) / 4, VH = (row + 1) / 4 of the S1 grid.
        if s1[i * 32 + j] != Float(8 + j + 1) * 0.25
          || s1[1024 + i * 32 + j] != Float(8 + i + 1) * 0.25
        {
          s1Errors += 1
        }
        // S2 resampled: at the 10 m centre of column 8 + j, g = 100 + (8 + j) + 0.5.
        let g = Float(108.5 + Double(j))
        let h = Float(108.5 + Double(i))
        for (c, expected) in [g, h, g, h].enumerated()
        where abs(s2[c * 1024 + i * 32 + j] - expected) > 1e-4 {
          s2Errors += 1
        }
      }
    }
    #expect(s1Errors == 0)
    #expect(s2Errors == 0)
  }

  /// An S2 proj:transform whose pixel is 1e-8 m (the S1 pixel ÷ 1e9) over the same ground:
  /// the pair is excluded with a reason, where reading a window of it multiplied 3e10 × 3e10.
  @Test func assetPixelFarSmallerThanTheS1PixelIsExcluded() async throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent(
      "tandem-tiny-pixel-\(UUID().uuidString)"
    ).path
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let catalog = try makeCatalog(in: dir, s2Pixel: 1e-8, s2Shape: 64_000_000_000)
    let dataset = try await PairDataset.open(
      catalog: catalog, options: PairDatasetOptions(pairing: PairingParameters(maxDays: 3)))
    #expect(dataset.index.pairs.count == 1, "\(dataset.rejectionSummary)")
    #expect(dataset.regions.isEmpty)
    #expect(dataset.excluded.keys.contains { $0.contains("asset pixel size more than 16×") })
    // Whatever regions were built must read without a trap (this trapped when the pair was one).
    let loader = PairLoader(
      dataset: dataset, windowSize: 32,
      normalization: .identity(s1Channels: 2, s2Channels: 4, s1ToDecibels: false),
      sourceOptions: SourceOptions(), workers: 1)
    for region in dataset.regions.indices {
      _ = try await loader.load(WindowSample(region: region, x: 8, y: 8, size: 32))
    }
  }

  /// A region whose mapping did not come from `PairDataset.region` (built or decoded
  /// elsewhere) is checked by the loader before the window's corners become Ints.
  @Test func loaderRefusesAnImplausibleMappingWithATypedError() async throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent(
      "tandem-bad-mapping-\(UUID().uuidString)"
    ).path
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    var dataset = try await PairDataset.open(
      catalog: try makeCatalog(in: dir),
      options: PairDatasetOptions(pairing: PairingParameters(maxDays: 3)))
    try #require(dataset.regions.count == 1)
    dataset.regions[0].s2[0].scaleX = 1e9
    let loader = PairLoader(
      dataset: dataset, windowSize: 32,
      normalization: .identity(s1Channels: 2, s2Channels: 4, s1ToDecibels: false),
      sourceOptions: SourceOptions(), workers: 1)
    let error = await #expect(throws: PipelineError.self) {
      _ = try await loader.load(WindowSample(region: 0, x: 8, y: 8, size: 32))
    }
    #expect(error?.location == dataset.regions[0].s2[0].href)
  }
}
