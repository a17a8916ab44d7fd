import Foundation
import RangeIO
import TandemBase
import Testing

@testable import GeoTIFF

/// Pins the exact byte ranges and round trips per window shape on a COG whose block offsets GDAL
/// recorded (`Scripts/reference/pin_cog.py`): the header read, then one call with the touched tiles.
@Suite("Request pinning")
struct RequestPinningTests {
  struct Blocks: Decodable {
    var size: Int
    var main: [String: [Int]]
    var overview1: [String: [Int]]
  }

  static let blocks: Blocks = {
    let data = FileManager.default.contents(atPath: Support.fixture("pin/pin_cog.json"))!
    return try! JSONDecoder().decode(Blocks.self, from: data)
  }()

  static let headerSize = 16384

  struct Shape: Sendable, CustomTestStringConvertible {
    var window: PixelWindow
    var overview: Int
    /// Tiles (column, row) touched, in row-major order.
    var tiles: [(Int, Int)]
    var testDescription: String { "\(window) ovr \(overview)" }
  }

  static let shapes: [Shape] = [
    Shape(
      window: PixelWindow(x: 768, y: 768, width: 256, height: 256), overview: 0, tiles: [(3, 3)]),
    Shape(
      window: PixelWindow(x: 700, y: 900, width: 200, height: 100), overview: 0,
      tiles: [(2, 3), (3, 3)]),
    Shape(
      window: PixelWindow(x: 200, y: 200, width: 100, height: 100), overview: 0,
      tiles: [(0, 0), (1, 0), (0, 1), (1, 1)]),
    Shape(
      window: PixelWindow(x: 1000, y: 1000, width: 100, height: 100), overview: 0, tiles: [(3, 3)]),
    Shape(window: PixelWindow(x: 300, y: 600, width: 1, height: 1), overview: 0, tiles: [(1, 2)]),
    Shape(window: PixelWindow(x: -50, y: -50, width: 10, height: 10), overview: 0, tiles: []),
    Shape(
      window: PixelWindow(x: 250, y: 250, width: 20, height: 20), overview: 1,
      tiles: [(0, 0), (1, 0), (0, 1), (1, 1)]),
  ]

  @Test("header read, then one call for the touched tiles", arguments: shapes)
  func pinned(_ shape: Shape) async throws {
    let counting = CountingSource(try FileSource(path: Support.fixture("pin/pin_cog.tif")))
    let ds = try await COGDataset.open(counting, headerSize: Self.headerSize)
    #expect(counting.calls == [[ByteRange(offset: 0, length: UInt64(Self.headerSize))]])
    counting.reset()

    _ = try await ds.read(window: shape.window, overview: shape.overview)
    let table = shape.overview == 0 ? Self.blocks.main : Self.blocks.overview1
    let touched = shape.tiles.map { t -> ByteRange in
      let e = table["\(t.0),\(t.1)"]!
      return ByteRange(offset: UInt64(e[0]), length: UInt64(e[1]))
    }
    // Tiles wholly inside the header read are not fetched again.
    let remote = touched.filter { $0.end > UInt64(Self.headerSize) }
    let expectedCalls: [[ByteRange]] = remote.isEmpty ? [] : [remote]
    #expect(counting.calls == expectedCalls)
    // ≤ 2 round trips per cold window, bytes ≤ 1.05 × (touched tiles + header).
    #expect(1 + counting.calls.count <= 2)
    let fetched = Self.headerSize + counting.calls.joined().reduce(0) { $0 + Int($1.length) }
    let minimum = Self.headerSize + touched.reduce(0) { $0 + Int($1.length) }
    #expect(Double(fetched) <= 1.05 * Double(minimum))
  }

  @Test func smallHeaderHintExtendsWithDoublingReads() async throws {
    let counting = CountingSource(try FileSource(path: Support.fixture("pin/pin_cog.tif")))
    let ds = try await COGDataset.open(counting, headerSize: 64)
    let calls = counting.calls
    // 64 bytes, then misses with doubling read-ahead: a handful of single-range reads, never
    // fetching a byte twice.
    #expect(calls.count >= 2 && calls.count <= 8, "\(calls)")
    #expect(calls.allSatisfy { $0.count == 1 })
    let sorted = calls.joined().sorted()
    #expect(zip(sorted, sorted.dropFirst()).allSatisfy { $0.end <= $1.offset }, "\(calls)")
    #expect(calls.dropFirst().allSatisfy { $0[0].length >= 64 })
    // Never the whole file.
    #expect(ds.headerBytesFetched < Self.blocks.size)
    let raster = try await ds.read(window: PixelWindow(x: 0, y: 0, width: 8, height: 8))
    let expected: Int = (2 * 7 + 1 * 3) % 4000
    #expect(raster.value(band: 0, row: 1, column: 2) == Double(expected))
  }

  @Test func fetchIsSeparateFromDecode() async throws {
    let ds = try await Support.open(Support.fixture("pin/pin_cog.tif"))
    let plan = try await ds.plan(
      window: PixelWindow(x: 600, y: 600, width: 300, height: 300), bands: [1])
    #expect(plan.blocks.count == 4)
    let fetched = try await ds.fetch(plan)
    #expect(fetched.byteCount == plan.ranges.reduce(0) { $0 + Int($1.length) })
    // libtiff keeps one handle per (object, IFD) and reuses it.
    let decoder = TileDecoder(maxHandles: 2, fastPath: false)
    let a = try ds.decode(plan, fetched, using: decoder)
    let b = try ds.decode(plan, fetched, using: decoder)
    #expect(a == b)
    #expect(decoder.openHandles == 1)
    // The deflate fast path decodes the same bytes without opening any libtiff handle.
    let fast = TileDecoder(maxHandles: 2)
    #expect(try ds.decode(plan, fetched, using: fast) == a)
    #expect(fast.openHandles == 0 && fast.fastDecodes == 4)
    let expected: Int = (600 / 9 + 600 / 5) % 300
    #expect(a.value(band: 0, row: 0, column: 0) == Double(expected))
  }
}

/// ``WindowPlan`` is a pure function of the layout and strile entries.
@Suite("Window plan")
struct WindowPlanTests {
  @Test(arguments: [
    (PixelWindow(x: 0, y: 0, width: 256, height: 256), [0]),
    (PixelWindow(x: 255, y: 255, width: 2, height: 2), [0, 1, 4, 5]),
    (PixelWindow(x: -10, y: 1020, width: 20, height: 20), [12]),
    (PixelWindow(x: 1024, y: 0, width: 5, height: 5), []),
    (PixelWindow(x: 0, y: 0, width: 1024, height: 1024), Array(0..<16)),
  ])
  func striles(window: PixelWindow, expected: [Int]) async throws {
    let ds = try await Support.open(Support.fixture("pin/pin_cog.tif"))
    let plan = try WindowPlan.make(
      image: ds.mainImage, window: window, bands: [1, 0], location: "test"
    ) { i in (UInt64(100_000 + i * 1000), i == 5 ? 0 : 900) }
    #expect(plan.blocks.map(\.strile) == expected)
    for b in plan.blocks {
      #expect(
        b.range
          == (b.strile == 5
            ? nil : ByteRange(offset: UInt64(100_000 + b.strile * 1000), length: 900)))
      #expect(b.copyWidth > 0 && b.copyHeight > 0)
      #expect(b.destinationX >= 0 && b.destinationX + b.copyWidth <= window.width)
      #expect(b.destinationY >= 0 && b.destinationY + b.copyHeight <= window.height)
    }
    // Copies cover exactly the part of the window inside the image.
    let inside =
      max(0, min(window.x + window.width, 1024) - max(window.x, 0))
      * max(0, min(window.y + window.height, 1024) - max(window.y, 0))
    #expect(plan.blocks.reduce(0) { $0 + $1.copyWidth * $1.copyHeight } == inside)
  }

  @Test func bandInterleavedPlansOnlyRequestedPlanes() async throws {
    let ds = try await Support.open(Support.fixture("tiff/pillow-tiled_planar_16bit_RGB.tiff"))
    let image = ds.mainImage
    #expect(image.interleave == .band)
    let plan = try WindowPlan.make(
      image: image, window: PixelWindow(x: 0, y: 0, width: 1, height: 1), bands: [2], location: "t"
    ) { _ in (1, 1) }
    #expect(plan.blocks.map(\.plane) == [2])
    #expect(plan.blocks.map(\.strile) == [2 * image.blocksAcross * image.blocksDown])
  }
}
