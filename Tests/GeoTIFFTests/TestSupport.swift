import Foundation
import GeoTIFF
import RangeIO
import Synchronization
import TandemBase

/// Helpers shared by the GeoTIFF tests.
enum Support {
  static let env = ProcessInfo.processInfo.environment
  static var work: String? { env["TANDEM_TEST_WORK"] }

  /// Path of a committed fixture.
  static func fixture(_ name: String) -> String {
    Bundle.module.path(forResource: "Fixtures/" + name, ofType: nil)
      ?? (Bundle.module.resourcePath! + "/Fixtures/" + name)
  }

  static func open(_ path: String, headerSize: Int? = nil) async throws -> COGDataset {
    try await COGDataset.open(FileSource(path: path), headerSize: headerSize)
  }

  /// Raster bytes as the dtype GDAL returns (float16 widened to float32).
  static func bytesAsGDAL(_ r: Raster) -> [UInt8] {
    guard r.sampleType == .float16 else { return r.bytes }
    var out: [UInt8] = []
    out.reserveCapacity(r.bytes.count * 2)
    r.bytes.withUnsafeBytes { raw in
      for i in 0..<(r.bytes.count / 2) {
        let f = Float(
          Float16(bitPattern: raw.loadUnaligned(fromByteOffset: i * 2, as: UInt16.self)))
        withUnsafeBytes(of: f) { out.append(contentsOf: $0) }
      }
    }
    return out
  }

  /// Index of the first differing element (NaN equals NaN for floats), or nil when equal.
  static func firstDifference(_ a: [UInt8], _ b: [UInt8], elementSize: Int, isFloat: Bool) -> Int? {
    guard a.count == b.count else { return -1 }
    if a == b { return nil }
    let n = a.count / elementSize
    return a.withUnsafeBytes { pa in
      b.withUnsafeBytes { pb in
        for i in 0..<n {
          let o = i * elementSize
          if memcmp(pa.baseAddress! + o, pb.baseAddress! + o, elementSize) == 0 { continue }
          if isFloat {
            let nanA: Bool
            let nanB: Bool
            if elementSize == 4 {
              nanA = pa.loadUnaligned(fromByteOffset: o, as: Float.self).isNaN
              nanB = pb.loadUnaligned(fromByteOffset: o, as: Float.self).isNaN
            } else {
              nanA = pa.loadUnaligned(fromByteOffset: o, as: Double.self).isNaN
              nanB = pb.loadUnaligned(fromByteOffset: o, as: Double.self).isNaN
            }
            if nanA && nanB { continue }
          }
          return i
        }
        return nil
      }
    }
  }
}

/// A ByteSource wrapper recording every `read` call (one call = one round trip).
final class CountingSource: ByteSource {
  let inner: any ByteSource
  private let log = Mutex<[[ByteRange]]>([])
  init(_ inner: any ByteSource) { self.inner = inner }
  var location: String { inner.location }
  var stats: IOStats { inner.stats }
  /// The ranges of every `read` call so far.
  var calls: [[ByteRange]] { log.withLock { $0 } }
  func reset() { log.withLock { $0 = [] } }
  func size() async throws(RangeIOError) -> UInt64 { try await inner.size() }
  func read(_ ranges: [ByteRange]) async throws(RangeIOError) -> [[UInt8]] {
    log.withLock { $0.append(ranges) }
    return try await inner.read(ranges)
  }
}

/// Builds tiny classic little-endian TIFFs (one uint8 strip) with chosen defects.
struct TinyTIFF {
  var width: UInt32 = 4
  var height: UInt32 = 4
  var compression: UInt32 = 1
  /// Byte count stored for the strip (default: width × height).
  var stripByteCount: UInt32?
  /// Stored strip offset (default: right after the header).
  var stripOffset: UInt32 = 8
  /// Point the next-IFD field back at this IFD.
  var loop = false
  /// Tags added (or replacing the default entry with the same tag): type, value count and the
  /// little-endian value bytes, stored after the IFD when longer than 4.
  var tags: [UInt16: (type: UInt16, count: UInt32, value: [UInt8])] = [:]

  static func le16(_ values: [UInt16]) -> [UInt8] {
    values.flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] }
  }

  static func le64(_ values: [UInt64]) -> [UInt8] {
    values.flatMap { v in (0..<8).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) } }
  }

  func bytes() -> [UInt8] {
    var out: [UInt8] = [0x49, 0x49, 42, 0]
    func u16(_ v: UInt16, _ into: inout [UInt8]) { into += [UInt8(v & 0xFF), UInt8(v >> 8)] }
    func u32(_ v: UInt32, _ into: inout [UInt8]) {
      into += [UInt8(v & 0xFF), UInt8((v >> 8) & 0xFF), UInt8((v >> 16) & 0xFF), UInt8(v >> 24)]
    }
    let area = UInt64(width) * UInt64(height)
    let pixels = Int(min(area, 4096))
    let ifdOffset = UInt32(8 + pixels)
    u32(ifdOffset, &out)
    out += (0..<pixels).map { UInt8($0 & 0xFF) }
    let defaults: [(UInt16, UInt16, UInt32)] = [
      (256, 4, width), (257, 4, height), (258, 3, 8), (259, 3, compression), (262, 3, 1),
      (273, 4, stripOffset), (277, 3, 1), (278, 4, height),
      (279, 4, stripByteCount ?? UInt32(min(area, UInt64(UInt32.max)))),
    ]
    var entries = tags
    for (tag, type, value) in defaults where entries[tag] == nil {
      var bytes: [UInt8] = []
      if type == 3 { u16(UInt16(value), &bytes) } else { u32(value, &bytes) }
      entries[tag] = (type, 1, bytes)
    }
    u16(UInt16(entries.count), &out)
    var overflow: [UInt8] = []
    let overflowStart = ifdOffset + 2 + 12 * UInt32(entries.count) + 4
    for (tag, entry) in entries.sorted(by: { $0.key < $1.key }) {
      u16(tag, &out)
      u16(entry.type, &out)
      u32(entry.count, &out)
      if entry.value.count <= 4 {
        out += entry.value + [UInt8](repeating: 0, count: 4 - entry.value.count)
      } else {
        u32(overflowStart + UInt32(overflow.count), &out)
        overflow += entry.value
      }
    }
    u32(loop ? ifdOffset : 0, &out)
    return out + overflow
  }

  /// Writes the bytes to a temporary file and returns its path.
  func write(_ name: String) throws -> String {
    try Support.temporaryFile(name, bytes())
  }
}

extension Support {
  static func temporaryFile(_ name: String, _ bytes: [UInt8]) throws -> String {
    let dir = NSTemporaryDirectory() + "tandem-geotiff-tests-\(getpid())"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    let path = dir + "/" + name
    try Data(bytes).write(to: URL(fileURLWithPath: path))
    return path
  }
}
