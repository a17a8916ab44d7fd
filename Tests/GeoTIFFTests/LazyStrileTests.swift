import Foundation
import GeoTIFF
import RangeIO
import TandemBase
import Testing

/// Strile arrays outside the header are loaded lazily: only the entries a window needs when the
/// arrays are large, all at once when they are small, and never the whole file.
@Suite("Lazy strile arrays")
struct LazyStrileTests {
  /// A 4-pixel-wide uint8 image with one row per strip; the IFD and its strile arrays come after
  /// the pixels (as libtiff writes striped files). Pixel (r, c) = (4r + c) mod 256.
  static func stripedFile(rows: Int) throws -> String {
    var out: [UInt8] = [0x49, 0x49, 42, 0]
    func u16(_ v: Int) { out += [UInt8(v & 0xFF), UInt8((v >> 8) & 0xFF)] }
    func u32(_ v: Int) { out += (0..<4).map { UInt8((v >> (8 * $0)) & 0xFF) } }
    let pixels = rows * 4
    let ifd = 8 + pixels
    let entries = 9
    let offsetsAt = ifd + 2 + entries * 12 + 4
    let countsAt = offsetsAt + rows * 4
    u32(ifd)
    out += (0..<pixels).map { UInt8($0 & 0xFF) }
    u16(entries)
    for (tag, type, count, value) in [
      (256, 3, 1, 4), (257, 4, 1, rows), (258, 3, 1, 8), (259, 3, 1, 1), (262, 3, 1, 1),
      (273, 4, rows, offsetsAt), (277, 3, 1, 1), (278, 3, 1, 1), (279, 4, rows, countsAt),
    ] {
      u16(tag)
      u16(type)
      u32(count)
      if type == 3 && count == 1 {
        u16(value)
        u16(0)
      } else {
        u32(value)
      }
    }
    u32(0)
    for r in 0..<rows { u32(8 + r * 4) }
    for _ in 0..<rows { u32(4) }
    return try Support.temporaryFile("striped-\(rows).tif", out)
  }

  @Test func largeArraysLoadOnlyTheNeededEntries() async throws {
    let rows = 50_000
    let path = try Self.stripedFile(rows: rows)
    let counting = CountingSource(try FileSource(path: path))
    let ds = try await COGDataset.open(counting)
    let headerCalls = counting.calls.count
    #expect(ds.headerBytesFetched < 64 << 10)
    counting.reset()

    let raster = try await ds.read(window: PixelWindow(x: 1, y: 30_000, width: 3, height: 5))
    let offsetsAt = UInt64(8 + rows * 4 + 2 + 9 * 12 + 4)
    let countsAt = offsetsAt + UInt64(rows * 4)
    // One call for the 5 offset entries and 5 byte-count entries, one for the 5 strips.
    let entries: [ByteRange] = [
      ByteRange(offset: offsetsAt + 120_000, length: 20),
      ByteRange(offset: countsAt + 120_000, length: 20),
    ]
    let strips: [ByteRange] = (0..<5).map { ByteRange(offset: UInt64(120_008 + $0 * 4), length: 4) }
    #expect(counting.calls == [entries, strips])
    for r in 0..<5 {
      for c in 0..<3 {
        let expected: Int = (4 * (30_000 + r) + 1 + c) & 0xFF
        #expect(raster.value(band: 0, row: r, column: c) == Double(expected))
      }
    }
    // Entries are cached: the same strips again cost only the strip read.
    counting.reset()
    _ = try await ds.read(window: PixelWindow(x: 0, y: 30_001, width: 4, height: 2))
    #expect(counting.calls.count == 1)
    #expect(headerCalls <= 2)
  }

  @Test func smallArraysOutsideTheHeaderAreFetchedWhole() async throws {
    let rows = 6000
    let path = try Self.stripedFile(rows: rows)
    let counting = CountingSource(try FileSource(path: path))
    let ds = try await COGDataset.open(counting, headerSize: 1024)
    counting.reset()
    _ = try await ds.read(window: PixelWindow(x: 0, y: 3000, width: 4, height: 1))
    let offsetsAt = UInt64(8 + rows * 4 + 2 + 9 * 12 + 4)
    // Both arrays whole (48 KB together, under the 256 KiB limit), then the strip.
    #expect(
      counting.calls.first == [
        ByteRange(offset: offsetsAt, length: UInt64(rows * 4)),
        ByteRange(offset: offsetsAt + UInt64(rows * 4), length: UInt64(rows * 4)),
      ])
    #expect(counting.calls.count == 2)
    counting.reset()
    let raster = try await ds.read(window: PixelWindow(x: 0, y: 5999, width: 4, height: 3))
    #expect(counting.calls.count == 1)
    let last: Int = (4 * 5999 + 3) & 0xFF
    #expect(raster.value(band: 0, row: 0, column: 3) == Double(last))
    #expect(raster.value(band: 0, row: 1, column: 0) == 0)  // past the bottom edge: 0
  }
}
