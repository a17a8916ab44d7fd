internal import CTIFF
internal import CTandemShims
import Foundation
import RangeIO

#if canImport(Glibc)
  import Glibc
#endif

/// Decodes a given list of tiles of local files three ways and reports the CPU seconds of each:
/// libtiff reading and decoding them from the file (`TIFFReadEncodedTile`: what a local libtiff
/// reader spends, including the copy out of the page cache); libtiff decoding bytes already in
/// memory (`TIFFReadFromUserBuffer`: the least CPU libtiff needs for them — the "libtiff decode
/// limit"); and Tandem's ``TileDecoder`` on the same bytes. Used by `tandem bench decode` on
/// exactly the tiles a pipeline run fetched.
public enum TileReplay {
  /// One tile to decode: the image's IFD offset and the tile (strile) index.
  public struct Tile: Sendable, Hashable {
    public var ifdOffset: UInt64
    public var strile: Int

    public init(ifdOffset: UInt64, strile: Int) {
      self.ifdOffset = ifdOffset
      self.strile = strile
    }
  }

  /// CPU seconds of the timed loops (opening files and preloading bytes are not counted).
  public struct Measurement: Sendable {
    public var tiles = 0
    public var compressedBytes = 0
    public var decodedBytes = 0
    /// libtiff decoding bytes in memory.
    public var libtiffSeconds = 0.0
    /// libtiff reading each tile from the file and decoding it.
    public var libtiffReadSeconds = 0.0
    /// Tandem's decoder on bytes in memory.
    public var tandemSeconds = 0.0

    public init() {}
  }

  /// Replays `tiles` of the file at `path`, `passes` times each, and adds to `into`.
  public static func measure(
    path: String, tiles: [Tile], passes: Int = 1, into m: inout Measurement
  ) async throws(GeoTIFFError) {
    let dataset: COGDataset
    do {
      dataset = try await COGDataset.open(FileSource(path: path))
    } catch let error as GeoTIFFError {
      throw error
    } catch let error as RangeIOError {
      throw GeoTIFFError(error)
    } catch {
      throw GeoTIFFError(.io, location: path, message: "\(error)")
    }
    var diagnostics = tandem_tiff_diagnostics()
    guard image0IsReadable(dataset), let tif = tandem_tiff_open_path(path, "r", &diagnostics, 0)
    else {
      throw GeoTIFFError(.decodeFailed, location: path, message: "libtiff cannot open the file")
    }
    defer { TIFFClose(tif) }
    let decoder = TileDecoder(maxHandles: 4)
    for (offset, group) in Dictionary(grouping: tiles, by: \.ifdOffset) {
      guard let image = dataset.images.first(where: { $0.offset == offset }) else {
        throw GeoTIFFError(
          .invalidRequest, location: path, message: "no image at IFD offset \(offset)")
      }
      guard TIFFSetSubDirectory(tif, offset) == 1 else {
        throw GeoTIFFError(
          .decodeFailed, location: path, ifd: image.index,
          message: "libtiff cannot read the IFD at \(offset)")
      }
      let samples = image.interleave == .pixel ? image.samplesPerPixel : 1
      let rowBytes = (image.blockWidth * samples * image.bitsPerSample + 7) / 8
      let capacity = rowBytes * image.blockHeight
      let output = UnsafeMutableRawBufferPointer.allocate(
        byteCount: max(capacity, 1), alignment: 64)
      defer { output.deallocate() }
      // libtiff reading from the file (first, before anything else touched these bytes here).
      for _ in 0..<max(1, passes) {
        let t0 = threadCPUSeconds()
        for tile in group {
          let got =
            image.isTiled
            ? TIFFReadEncodedTile(tif, UInt32(tile.strile), output.baseAddress, tmsize_t(capacity))
            : TIFFReadEncodedStrip(
              tif, UInt32(tile.strile), output.baseAddress, tmsize_t(capacity))
          guard got > 0 else {
            throw GeoTIFFError(
              .decodeFailed, location: path, ifd: image.index, strile: tile.strile,
              message: "libtiff could not read and decode the block")
          }
        }
        m.libtiffReadSeconds += threadCPUSeconds() - t0
      }
      // Compressed bytes, read up front with libtiff (outside the timed loops).
      var raw: [(strile: Int, bytes: [UInt8], rows: Int)] = []
      for tile in group {
        let size = Int(TIFFGetStrileByteCount(tif, UInt32(tile.strile)))
        guard size > 0 else { continue }
        var bytes = [UInt8](repeating: 0, count: size)
        let got = bytes.withUnsafeMutableBytes {
          image.isTiled
            ? TIFFReadRawTile(tif, UInt32(tile.strile), $0.baseAddress, tmsize_t(size))
            : TIFFReadRawStrip(tif, UInt32(tile.strile), $0.baseAddress, tmsize_t(size))
        }
        guard got == size else {
          throw GeoTIFFError(
            .decodeFailed, location: path, ifd: image.index, strile: tile.strile,
            message: "libtiff read \(got) of \(size) compressed bytes")
        }
        let row = (tile.strile % (image.blocksAcross * image.blocksDown)) / image.blocksAcross
        let rows =
          image.isTiled
          ? image.blockHeight : min(image.blockHeight, image.height - row * image.blockHeight)
        raw.append((tile.strile, bytes, rows))
      }
      for _ in 0..<max(1, passes) {
        // libtiff alone.
        let t0 = threadCPUSeconds()
        for tile in raw {
          // libtiff reads its input in place (it reverses bits only for FillOrder 2, which the
          // replayed COGs do not use), so no copy is made inside the timed loop.
          let ok = tile.bytes.withUnsafeBytes { input in
            TIFFReadFromUserBuffer(
              tif, UInt32(tile.strile), UnsafeMutableRawPointer(mutating: input.baseAddress),
              tmsize_t(input.count), output.baseAddress, tmsize_t(rowBytes * tile.rows))
          }
          guard ok == 1 else {
            throw GeoTIFFError(
              .decodeFailed, location: path, ifd: image.index, strile: tile.strile,
              message: "libtiff could not decode the tile")
          }
        }
        let t1 = threadCPUSeconds()
        // Tandem's decoder.
        for tile in raw {
          try decoder.decode(
            dataset: dataset, image: image, strile: tile.strile, range: nil, bytes: tile.bytes,
            rows: tile.rows,
            output: UnsafeMutableRawBufferPointer(rebasing: output[0..<(rowBytes * tile.rows)]))
        }
        let t2 = threadCPUSeconds()
        m.libtiffSeconds += t1 - t0
        m.tandemSeconds += t2 - t1
        m.tiles += raw.count
        m.compressedBytes += raw.reduce(0) { $0 + $1.bytes.count }
        m.decodedBytes += raw.reduce(0) { $0 + rowBytes * $1.rows }
      }
    }
  }

  /// Whether the replay supports the file: FillOrder 1 (libtiff decodes in place otherwise).
  static func image0IsReadable(_ dataset: COGDataset) -> Bool {
    !dataset.images.contains { $0.reversesInputBits }
  }

  /// CPU seconds of the calling thread.
  static func threadCPUSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
  }
}
