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
