internal import CTIFF
internal import CTandemShims

/// Reads back what `COGWriter` wrote, through libtiff (an independent decoder): structure of every
/// directory, GeoTIFF tags and the decoded pixels. Used by tests and by `tandem fixtures` checks.
struct TIFFInspector {
  /// One image file directory as libtiff sees it.
  struct Directory: Equatable {
    var width: Int
    var height: Int
    var tileWidth: Int
    var tileHeight: Int
    var bitsPerSample: Int
    var sampleFormat: Int
    var compression: Int
    var predictor: Int
    var subfileType: Int
  }

  var directories: [Directory] = []
  /// GeoKeyDirectory values of the first directory.
  var geoKeys: [UInt16] = []
  var pixelScale: [Double] = []
  var tiepoint: [Double] = []
  /// Decoded full-resolution pixels, little-endian bytes, row-major.
  var pixels: [UInt8] = []

  init(path: String) throws(FixturesError) {
    tandem_tiff_register_geotiff_tags()
    var diagnostics = tandem_tiff_diagnostics()
    guard let tif = tandem_tiff_open_path(path, "r", &diagnostics, 0) else {
      throw FixturesError(.encoding, path: path, reason: "libtiff cannot open the file")
    }
    defer { TIFFClose(tif) }
    repeat {
      var w: UInt32 = 0
      var h: UInt32 = 0
      var tw: UInt32 = 0
      var th: UInt32 = 0
      var subfile: UInt32 = 0
      var bits: UInt16 = 0
      var format: UInt16 = 1
      var compression: UInt16 = 0
      var predictor: UInt16 = 1
      _ = tandem_tiff_get_u32(tif, UInt32(TIFFTAG_IMAGEWIDTH), &w)
      _ = tandem_tiff_get_u32(tif, UInt32(TIFFTAG_IMAGELENGTH), &h)
      _ = tandem_tiff_get_u32(tif, UInt32(TIFFTAG_TILEWIDTH), &tw)
      _ = tandem_tiff_get_u32(tif, UInt32(TIFFTAG_TILELENGTH), &th)
      _ = tandem_tiff_get_u32(tif, UInt32(TIFFTAG_SUBFILETYPE), &subfile)
      _ = tandem_tiff_get_u16(tif, UInt32(TIFFTAG_BITSPERSAMPLE), &bits)
      _ = tandem_tiff_get_u16(tif, UInt32(TIFFTAG_SAMPLEFORMAT), &format)
      _ = tandem_tiff_get_u16(tif, UInt32(TIFFTAG_COMPRESSION), &compression)
      _ = tandem_tiff_get_u16(tif, UInt32(TIFFTAG_PREDICTOR), &predictor)
      directories.append(
        Directory(
          width: Int(w), height: Int(h), tileWidth: Int(tw), tileHeight: Int(th),
          bitsPerSample: Int(bits), sampleFormat: Int(format), compression: Int(compression),
          predictor: Int(predictor), subfileType: Int(subfile)))
    } while TIFFReadDirectory(tif) != 0
    guard TIFFSetDirectory(tif, 0) != 0 else {
      throw FixturesError(.encoding, path: path, reason: "cannot return to the first directory")
    }
    var count16: UInt16 = 0
    var values: UnsafeRawPointer?
    if tandem_tiff_get_counted_u16(tif, 34735, &count16, &values) != 0, let values {
      geoKeys = Array(
        UnsafeBufferPointer(start: values.assumingMemoryBound(to: UInt16.self), count: Int(count16))
      )
    }
    if tandem_tiff_get_counted_u16(tif, 33550, &count16, &values) != 0, let values {
      pixelScale = Array(
        UnsafeBufferPointer(start: values.assumingMemoryBound(to: Double.self), count: Int(count16))
      )
    }
    if tandem_tiff_get_counted_u16(tif, 33922, &count16, &values) != 0, let values {
      tiepoint = Array(
        UnsafeBufferPointer(start: values.assumingMemoryBound(to: Double.self), count: Int(count16))
      )
    }

    // Decode every tile of the full-resolution image.
    let d = directories[0]
    let bytesPerSample = d.bitsPerSample / 8
    guard d.tileWidth > 0, d.tileHeight > 0 else {
      throw FixturesError(.encoding, path: path, reason: "not tiled")
    }
    let tileBytes = d.tileWidth * d.tileHeight * bytesPerSample
    var tile = [UInt8](repeating: 0, count: tileBytes)
    pixels = [UInt8](repeating: 0, count: d.width * d.height * bytesPerSample)
    let across = (d.width + d.tileWidth - 1) / d.tileWidth
    let down = (d.height + d.tileHeight - 1) / d.tileHeight
    for ty in 0..<down {
      for tx in 0..<across {
        let index = UInt32(ty * across + tx)
        let n = tile.withUnsafeMutableBytes { raw in
          TIFFReadEncodedTile(tif, index, raw.baseAddress, tmsize_t(tileBytes))
        }
        guard n == tileBytes else {
          throw FixturesError(.encoding, path: path, reason: "cannot decode tile \(index)")
        }
        let rows = min(d.tileHeight, d.height - ty * d.tileHeight)
        let cols = min(d.tileWidth, d.width - tx * d.tileWidth)
        for r in 0..<rows {
          let src = r * d.tileWidth * bytesPerSample
          let dst = ((ty * d.tileHeight + r) * d.width + tx * d.tileWidth) * bytesPerSample
          pixels.replaceSubrange(
            dst..<(dst + cols * bytesPerSample), with: tile[src..<(src + cols * bytesPerSample)])
        }
      }
    }
  }

  /// The decoded pixels as `T` (its size must match the sample size).
  func values<T>(as _: T.Type) -> [T] {
    pixels.withUnsafeBytes { raw in
      (0..<(raw.count / MemoryLayout<T>.stride)).map {
        raw.loadUnaligned(fromByteOffset: $0 * MemoryLayout<T>.stride, as: T.self)
      }
    }
  }
}
