internal import CTIFF
internal import CTandemShims
import RangeIO

/// Serves libtiff's reads from the header bytes of one object (a virtual file the size of the
/// object, of which only the header segments are readable). One per libtiff handle, since it
/// carries the handle's file position.
final class VirtualFile {
  let header: HeaderBytes
  let size: UInt64
  var position: UInt64 = 0

  init(header: HeaderBytes, size: UInt64) {
    self.header = header
    self.size = size
  }
}

private let virtualRead: tandem_tiff_read_proc = { client, buffer, size in
  guard let client, let buffer, size >= 0 else { return -1 }
  let file = Unmanaged<VirtualFile>.fromOpaque(client).takeUnretainedValue()
  // A short read (bytes outside the header segments) makes libtiff fail with an error, which
  // is what we want: it only reads directory structures we parsed ourselves.
  let n = file.header.copy(at: file.position, count: Int(size), into: buffer)
  file.position += UInt64(n)
  return Int64(n)
}

private let virtualSeek: tandem_tiff_seek_proc = { client, offset, whence in
  guard let client else { return -1 }
  let file = Unmanaged<VirtualFile>.fromOpaque(client).takeUnretainedValue()
  switch whence {
  case 0: file.position = offset
  case 1:
    file.position = UInt64(
      bitPattern: Int64(bitPattern: file.position) &+ Int64(bitPattern: offset))
  case 2:
    file.position = UInt64(bitPattern: Int64(bitPattern: file.size) &+ Int64(bitPattern: offset))
  default: return -1
  }
  return Int64(bitPattern: file.position)
}

private let virtualSize: tandem_tiff_size_proc = { client in
  guard let client else { return 0 }
  return Unmanaged<VirtualFile>.fromOpaque(client).takeUnretainedValue().size
}

/// Decodes tiles and strips with libtiff from bytes fetched elsewhere.
///
/// Thread-confined: use one decoder per worker thread (or hand it out exclusively, as
/// ``DecoderPool`` does). It keeps an LRU of libtiff handles, one per (object, IFD), each opened
/// over the object's header bytes with deferred strile loading and positioned on its IFD, so
/// decoding a tile is one `TIFFReadFromUserBuffer` call with no I/O.
public final class TileDecoder: @unchecked Sendable {
  private struct Key: Hashable {
    var dataset: UInt64
    var ifdOffset: UInt64
  }

  private final class Handle {
    let tiff: OpaquePointer
    let diagnostics: UnsafeMutablePointer<tandem_tiff_diagnostics>
    let file: Unmanaged<VirtualFile>
    var lastUse: Int = 0

    init(
      tiff: OpaquePointer, diagnostics: UnsafeMutablePointer<tandem_tiff_diagnostics>,
      file: Unmanaged<VirtualFile>
    ) {
      self.tiff = tiff
      self.diagnostics = diagnostics
      self.file = file
    }

    deinit {
      TIFFClose(tiff)
      file.release()
      diagnostics.deallocate()
    }
  }

  private var handles: [Key: Handle] = [:]
  /// libdeflate + Swift predictors for deflate blocks (nil when `TANDEM_DECODER=libtiff` or
  /// when made with `fastPath: false`).
  private let deflate: DeflateBlockDecoder?
  /// Blocks decoded by the fast path (for tests).
  private(set) var fastDecodes = 0
  /// Decoded-block buffer reused across calls (avoids a fresh allocation and page faults per
  /// window); grows to the largest block seen.
  private var scratch = UnsafeMutableRawBufferPointer(start: nil, count: 0)

  deinit { scratch.deallocate() }

  /// A buffer of at least `count` bytes, valid until the next call.
  func scratchBuffer(_ count: Int) -> UnsafeMutableRawBufferPointer {
    if scratch.count < count {
      scratch.deallocate()
      scratch = .allocate(byteCount: count, alignment: 64)
    }
    return UnsafeMutableRawBufferPointer(rebasing: scratch[0..<count])
  }
  private var clock = 0
  /// Most handles kept open.
  public let maxHandles: Int

  /// A decoder keeping at most `maxHandles` libtiff handles open.
  public init(maxHandles: Int = 64) {
    self.maxHandles = max(1, maxHandles)
    deflate = DeflateBlockDecoder()
  }

  /// A decoder that decodes every block with libtiff when `fastPath` is false (tests compare
  /// the two paths).
  init(maxHandles: Int = 64, fastPath: Bool) {
    self.maxHandles = max(1, maxHandles)
    deflate = fastPath ? DeflateBlockDecoder() : nil
  }

  /// Number of libtiff handles currently open.
  public var openHandles: Int { handles.count }

  private func handle(for dataset: COGDataset, image: TIFFImage) throws(GeoTIFFError) -> Handle {
    let key = Key(dataset: dataset.identity, ifdOffset: image.offset)
    clock += 1
    if let h = handles[key] {
      h.lastUse = clock
      return h
    }
    if handles.count >= maxHandles,
      let oldest = handles.min(by: { $0.value.lastUse < $1.value.lastUse })
    {
      handles[oldest.key] = nil
    }
    let diagnostics = UnsafeMutablePointer<tandem_tiff_diagnostics>.allocate(capacity: 1)
    diagnostics.initialize(to: tandem_tiff_diagnostics())
    let file = Unmanaged.passRetained(VirtualFile(header: dataset.headerBytes, size: dataset.size))
    // r: read; h: header only (we position on the IFD ourselves); D/O: deferred, lazy strile
    // arrays (never loaded: every tile comes with its bytes); c: no strip chopping.
    guard
      let tiff = tandem_tiff_client_open(
        dataset.location, "rhDOc", file.toOpaque(), virtualRead, nil, virtualSeek, virtualSize,
        diagnostics, 0)
    else {
      let message = TileDecoder.message(diagnostics)
      file.release()
      diagnostics.deallocate()
      throw GeoTIFFError(
        .decodeFailed, location: dataset.location, ifd: image.index,
        message: "libtiff could not open the header: \(message)")
    }
    let h = Handle(tiff: tiff, diagnostics: diagnostics, file: file)
    guard TIFFSetSubDirectory(tiff, image.offset) == 1 else {
      throw GeoTIFFError(
        .decodeFailed, location: dataset.location, ifd: image.index,
        message:
          "libtiff could not read the IFD at \(image.offset): \(TileDecoder.message(diagnostics))")
    }
    if image.isJPEGYCbCr {
      // Let libjpeg upsample and convert YCbCr to RGB, as GDAL does.
      _ = tandem_tiff_set_int(tiff, UInt32(TIFFTAG_JPEGCOLORMODE), JPEGCOLORMODE_RGB)
    }
    h.lastUse = clock
    handles[key] = h
    return h
  }

  private static func message(_ d: UnsafeMutablePointer<tandem_tiff_diagnostics>) -> String {
    withUnsafeBytes(of: &d.pointee.first_error) { raw in
      let bytes = raw.prefix(while: { $0 != 0 })
      return bytes.isEmpty ? "unknown libtiff error" : String(decoding: bytes, as: UTF8.self)
    }
  }

  /// Decodes one block's compressed bytes into `output` (`rows` rows of the block, packed as
  /// libtiff lays them out: pixel-interleaved samples, rows padded to whole bytes). With
  /// `needed`, only those rows are guaranteed (the fast path skips the predictor elsewhere).
  func decode(
    dataset: COGDataset, image: TIFFImage, strile: Int, range: ByteRange?, bytes: [UInt8],
    rows: Int, needed: Range<Int>? = nil, output: UnsafeMutableRawBufferPointer
  ) throws(GeoTIFFError) {
    if let deflate, rows > 0,
      DeflateBlockDecoder.handles(image, littleEndian: dataset.isLittleEndian)
    {
      let decoded = bytes.withUnsafeBytes { input in
        deflate.decode(
          input, image: image, rowBytes: output.count / rows, rows: rows, needed: needed,
          into: output)
      }
      if decoded {
        fastDecodes += 1
        return
      }
      // Not exactly a block's worth of data: libtiff decides (and reports) what it is.
    }
    let h = try handle(for: dataset, image: image)
    h.diagnostics.pointee.error_count = 0
    h.diagnostics.pointee.first_error.0 = 0
    let count = bytes.count
    let ok: Int32
    if image.reversesInputBits {
      // libtiff reverses the bits of the input in place: give it its own copy.
      var copy = bytes
      ok = copy.withUnsafeMutableBytes { input in
        TIFFReadFromUserBuffer(
          h.tiff, UInt32(strile), input.baseAddress, tmsize_t(count), output.baseAddress,
          tmsize_t(output.count))
      }
    } else {
      // libtiff only reads the input otherwise; avoid copying the (shared) fetched buffer.
      ok = bytes.withUnsafeBytes { input in
        TIFFReadFromUserBuffer(
          h.tiff, UInt32(strile), UnsafeMutableRawPointer(mutating: input.baseAddress),
          tmsize_t(count), output.baseAddress, tmsize_t(output.count))
      }
    }
    if ok != 1 || h.diagnostics.pointee.error_count > 0 {
      throw GeoTIFFError(
        .decodeFailed, location: dataset.location, ifd: image.index, strile: strile, range: range,
        message: "\(image.compressionName): \(TileDecoder.message(h.diagnostics))")
    }
  }
}

/// Which compressions the installed libtiff can decode.
public enum Codecs {
  /// Whether libtiff was built with the codec for a Compression tag value.
  public static func isSupported(_ compression: Int) -> Bool {
    guard compression >= 0, compression <= 65535 else { return false }
    return TIFFIsCODECConfigured(UInt16(compression)) == 1
  }
}
