import Foundation
import GeoTIFF
import RangeIO
import TandemBase
import Testing

/// The GDAL matrix read over loopback nginx must give the same bytes as file reads, with only the
/// header and the touched tiles requested. Runs under `Scripts/test` once `ByteSources.open`
/// supports http:// (the HTTP helper's `HTTPSource`).
@Suite(
  "HTTP reads", .enabled(if: HTTPEnv.base != nil && HTTPEnv.httpAvailable), .timeLimit(.minutes(5)))
struct HTTPReadTests {
  static var base: String? { HTTPEnv.base }
  static var log: String? { HTTPEnv.log }

  @Test func matrixOverHTTPEqualsGDAL() async throws {
    let dir = try #require(GDALMatrixTests.matrixDirectory)
    let data = try Data(contentsOf: URL(fileURLWithPath: dir + "/manifest.json"))
    let manifest = try JSONDecoder().decode(GDALMatrixTests.Manifest.self, from: data)
    var datasets: [String: COGDataset] = [:]
    var failures: [String] = []
    for c in manifest.cases where !c.mask {
      do {
        let ds: COGDataset
        if let d = datasets[c.file] {
          ds = d
        } else {
          ds = try await COGDataset.open(try ByteSources.open(Self.base! + "/matrix/" + c.file))
          datasets[c.file] = ds
        }
        let raster = try await ds.read(
          window: PixelWindow(
            x: c.window[0], y: c.window[1], width: c.window[2], height: c.window[3]),
          bands: c.bands.map { $0 - 1 }, overview: c.overview)
        let expected = try NPY.decode(
          Array(try Data(contentsOf: URL(fileURLWithPath: dir + "/" + c.expected))))
        if Support.firstDifference(
          Support.bytesAsGDAL(raster), expected.data, elementSize: expected.dtype.size,
          isFloat: c.dtype.hasPrefix("float")) != nil
        {
          failures.append(c.expected)
        }
      } catch {
        failures.append("\(c.expected): \(error)")
      }
    }
    for f in failures.prefix(20) { Issue.record(Comment(rawValue: f)) }
    #expect(failures.isEmpty)
  }

  /// Lines of the nginx range log for `file`: (status, range header, body bytes).
  static func logLines(for file: String) throws -> [(status: Int, range: String, body: Int)] {
    guard let log else { return [] }
    let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
    return text.split(separator: "\n").compactMap { line in
      let parts = line.split(separator: " ")
      guard parts.count >= 6, parts[1].hasSuffix("/" + file) else { return nil }
      let range = line.split(separator: "\"").dropFirst().first.map(String.init) ?? ""
      return (Int(parts[2]) ?? 0, range, Int(parts.last!) ?? 0)
    }
  }

  @Test(.enabled(if: HTTPEnv.log != nil))
  func requestsAreHeaderThenTouchedTiles() async throws {
    let dir = try #require(GDALMatrixTests.matrixDirectory)
    let file = "m070_uint16_deflate_p2_256_pixel_ovr_cog.tif"
    let local = try await Support.open(dir + "/" + file)
    let before = try Self.logLines(for: file).count
    let ds = try await COGDataset.open(try ByteSources.open(Self.base! + "/matrix/" + file))
    let afterOpen = try Self.logLines(for: file)
    let openLines = afterOpen.dropFirst(before)
    #expect(openLines.count <= 2, "\(openLines)")
    for window in [
      PixelWindow(x: 300, y: 300, width: 100, height: 100),
      PixelWindow(x: 0, y: 256, width: 256, height: 256),
    ] {
      let plan = try await local.plan(window: window)
      let tileBytes = plan.ranges.filter { $0.end > UInt64(local.headerBytesFetched) }
        .reduce(0) { $0 + Int($1.length) }
      let start = try Self.logLines(for: file).count
      let raster = try await ds.read(window: window)
      #expect(raster == (try await local.read(window: window)))
      let lines = try Self.logLines(for: file).dropFirst(start)
      #expect(lines.count <= plan.ranges.count, "\(lines)")
      #expect(lines.allSatisfy { $0.status == 206 })
      let body = lines.reduce(0) { $0 + $1.body }
      #expect(Double(body) <= 1.05 * Double(tileBytes) + 1024, "\(lines)")
    }
  }
}

/// Environment of the HTTP tests, set by `Scripts/test`.
enum HTTPEnv {
  static let base = ProcessInfo.processInfo.environment["TANDEM_TEST_HTTP"]
  static let log = ProcessInfo.processInfo.environment["TANDEM_TEST_NGINX_LOG"]
  /// Whether this build can open http:// locations at all.
  static let httpAvailable: Bool = {
    do {
      _ = try ByteSources.open("http://127.0.0.1:9/probe.tif")
      return true
    } catch let error as RangeIOError {
      return error.code != .unsupportedLocation
    } catch {
      return false
    }
  }()
}
