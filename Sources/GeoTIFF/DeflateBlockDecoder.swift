internal import CDeflate
import Foundation

/// The fast path for the commonest COG encoding: deflate (with or without a predictor) on 8-,
/// 16-, 32- or 64-bit samples. libdeflate inflates the block (the same library libtiff uses for
/// it), and the predictors are undone here with tight loops; libtiff's own predictor code
/// (byte-at-a-time through memory for the floating-point predictor) cost as much CPU as the
/// inflate itself on float32 COGs.
///
/// Produces exactly the bytes `TIFFReadFromUserBuffer` produces (tests compare both on every
/// predictor, sample size and band layout). Anything unusual — another compression, reversed
/// bit order, big-endian multi-byte samples, a stream that does not inflate to exactly the
/// block's size — is left to libtiff (``TileDecoder`` falls back), so errors and odd files keep
/// libtiff's behaviour.
///
/// Thread-confined, like ``TileDecoder`` which owns one.
final class DeflateBlockDecoder {
  private let decompressor: OpaquePointer
  /// One row of the floating-point predictor's byte planes.
  private var row = UnsafeMutableRawBufferPointer(start: nil, count: 0)

  /// Whether every decoder should leave all blocks to libtiff (`TANDEM_DECODER=libtiff`), for
  /// comparisons against libtiff's own decode.
  static let disabled: Bool = ProcessInfo.processInfo.environment["TANDEM_DECODER"] == "libtiff"

  init?() {
    guard !Self.disabled, let d = libdeflate_alloc_decompressor() else { return nil }
    decompressor = d
  }

  deinit {
    libdeflate_free_decompressor(decompressor)
    row.deallocate()
  }

  /// Whether blocks of `image` can take the fast path in a file of the given byte order.
  static func handles(_ image: TIFFImage, littleEndian: Bool) -> Bool {
    guard image.compression == 8 || image.compression == 32946, !image.reversesInputBits,
      [8, 16, 32, 64].contains(image.bitsPerSample)
    else { return false }
    switch image.predictor {
    case 1, 2:
      // libtiff swaps multi-byte samples of big-endian files after inflating (and before the
      // horizontal predictor); those stay with libtiff.
      return littleEndian || image.bitsPerSample == 8
    case 3:
      // The floating-point predictor is byte-order independent by construction.
      return image.sampleFormat == 3 && image.bitsPerSample >= 16
    default:
      return false
    }
  }

  /// Inflates `input` into `output` (exactly `output.count` bytes: `rows` rows of `rowBytes`)
  /// and undoes the predictor — on the rows in `needed` only, when given (both predictors work
  /// row by row, so a caller that reads a few rows of the block skips the rest; the other rows
  /// are left unspecified). Returns `false`, with `output` unspecified, when the stream does not
  /// inflate to exactly that size; the caller then decodes with libtiff.
  func decode(
    _ input: UnsafeRawBufferPointer, image: TIFFImage, rowBytes: Int, rows: Int,
    needed: Range<Int>? = nil, into output: UnsafeMutableRawBufferPointer
  ) -> Bool {
    guard rowBytes > 0, rows > 0, output.count == rowBytes * rows, let out = output.baseAddress
    else { return false }
    let result = libdeflate_zlib_decompress(
      decompressor, input.baseAddress, input.count, out, output.count, nil)
    guard result == LIBDEFLATE_SUCCESS else { return false }
    let stride = image.interleave == .pixel ? image.samplesPerPixel : 1
    let bytes = image.bitsPerSample / 8
    let predicted = needed.map { $0.clamped(to: 0..<rows) } ?? 0..<rows
    switch image.predictor {
    case 2:
      for r in predicted {
        let p = out + r * rowBytes
        switch bytes {
        case 1: Self.horizontal(p.assumingMemoryBound(to: UInt8.self), rowBytes, stride)
        case 2: Self.horizontal(p.assumingMemoryBound(to: UInt16.self), rowBytes / 2, stride)
        case 4: Self.horizontal(p.assumingMemoryBound(to: UInt32.self), rowBytes / 4, stride)
        default: Self.horizontal(p.assumingMemoryBound(to: UInt64.self), rowBytes / 8, stride)
        }
      }
    case 3:
      if row.count < rowBytes {
        row.deallocate()
        row = .allocate(byteCount: rowBytes, alignment: 64)
      }
      guard let tmp = row.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return false }
      for r in predicted {
        let p = (out + r * rowBytes).assumingMemoryBound(to: UInt8.self)
        Self.floatingPoint(p, tmp, rowBytes: rowBytes, bytes: bytes, stride: stride)
      }
    default:
      break
    }
    return true
  }

  /// Horizontal predictor: each sample adds the one `stride` samples before it (wrapping), as
  /// libtiff's horAcc8/16/32/64.
  @inline(__always)
  static func horizontal<T: FixedWidthInteger & UnsignedInteger>(
    _ p: UnsafeMutablePointer<T>, _ count: Int, _ stride: Int
  ) {
    guard count > stride else { return }
    if stride == 1 {
      var acc = p[0]
      for i in 1..<count {
        acc &+= p[i]
        p[i] = acc
      }
    } else {
      for i in stride..<count { p[i] &+= p[i - stride] }
    }
  }

  /// Floating-point predictor (libtiff's fpAcc): the row holds the samples' bytes as planes,
  /// most significant plane first, each plane horizontally differenced byte by byte with the
  /// sample stride across the whole row. Accumulates into `tmp`, then interleaves the planes back
  /// into little-endian samples in `p`.
  @inline(__always)
  static func floatingPoint(
    _ p: UnsafeMutablePointer<UInt8>, _ tmp: UnsafeMutablePointer<UInt8>, rowBytes: Int,
    bytes: Int, stride: Int
  ) {
    if stride == 1 {
      var acc: UInt8 = 0
      for i in 0..<rowBytes {
        acc &+= p[i]
        tmp[i] = acc
      }
    } else {
      for i in 0..<min(stride, rowBytes) { tmp[i] = p[i] }
      if rowBytes > stride {
        for i in stride..<rowBytes { tmp[i] = p[i] &+ tmp[i - stride] }
      }
    }
    let count = rowBytes / bytes
    switch bytes {
    case 4:
      let a = tmp
      let b = tmp + count
      let c = tmp + 2 * count
      let d = tmp + 3 * count
      let o = UnsafeMutableRawPointer(p)
      for k in 0..<count {
        let v =
          UInt32(a[k]) << 24 | UInt32(b[k]) << 16 | UInt32(c[k]) << 8 | UInt32(d[k])
        o.storeBytes(of: v.littleEndian, toByteOffset: k * 4, as: UInt32.self)
      }
    default:
      for k in 0..<count {
        for byte in 0..<bytes {
          p[bytes * k + byte] = tmp[(bytes - byte - 1) * count + k]
        }
      }
    }
  }
}
