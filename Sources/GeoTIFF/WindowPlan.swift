import RangeIO
import TandemBase

/// The tiles or strips a window needs, with the bytes to fetch and where each decoded block goes.
///
/// Made by ``WindowPlan/make(image:window:bands:fill:location:limits:striles:)``, a pure function of the image
/// layout and the strile entries, so tests can pin the exact ranges for a window shape.
public struct WindowPlan: Sendable {
  /// One tile or strip and how its pixels land in the output.
  public struct Block: Sendable, Equatable {
    /// Tile or strip index within the IFD (what libtiff calls a strile).
    public var strile: Int
    /// Plane (band) for band-interleaved images, 0 for pixel interleave.
    public var plane: Int
    /// The compressed bytes, or `nil` for a sparse block (offset or byte count 0).
    public var range: ByteRange?
    /// Rows the block decodes to (the last strip may be shorter; tiles are always full).
    public var rows: Int
    /// The part of the block copied: its top-left pixel inside the block…
    public var sourceX: Int
    public var sourceY: Int
    /// …the top-left pixel it lands on in the output window…
    public var destinationX: Int
    public var destinationY: Int
    /// …and its size.
    public var copyWidth: Int
    public var copyHeight: Int
  }

  /// The image (IFD) read.
  public var image: TIFFImage
  /// The window requested, in the image's pixel grid.
  public var window: PixelWindow
  /// Bands read, 0-based sample indices, in output order.
  public var bands: [Int]
  /// The touched blocks, plane by plane in row-major order.
  public var blocks: [Block]
  /// The value of pixels outside the image and in sparse blocks (nodata, or 0).
  public var fill: Double

  /// Byte ranges of the non-sparse blocks, in block order.
  public var ranges: [ByteRange] { blocks.compactMap(\.range) }

  /// Largest compressed tile or strip accepted by default (a bound on memory per block); see
  /// ``GeoTIFFLimits/maxCompressedBlockBytes``.
  public static let maxCompressedBlockBytes = UInt64(GeoTIFFLimits().maxCompressedBlockBytes)

  /// The strile indices a window touches, for loading strile entries before ``make``.
  public static func striles(image: TIFFImage, window: PixelWindow, bands: [Int]) -> [Int] {
    layout(image: image, window: window, bands: bands).map(\.strile)
  }

  /// Bytes one block of `rows` rows decodes to (libtiff's output for the tile or strip).
  static func decodedBytes(image: TIFFImage, rows: Int) -> Int {
    let samples = image.interleave == .pixel ? image.samplesPerPixel : 1
    return (image.blockWidth * samples * image.bitsPerSample + 7) / 8 * rows
  }

  /// Plans a read. `striles` returns the (offset, byte count) entry of a strile index. Each
  /// block's byte count is checked against `limits` (compressed size, compression ratio).
  public static func make(
    image: TIFFImage, window: PixelWindow, bands: [Int], fill: Double = 0, location: String,
    limits: GeoTIFFLimits = GeoTIFFLimits(),
    striles: (Int) -> (offset: UInt64, byteCount: UInt64)
  ) throws(GeoTIFFError) -> WindowPlan {
    try validate(image: image, window: window, bands: bands, location: location)
    var blocks = layout(image: image, window: window, bands: bands)
    let maxCompressed = UInt64(max(limits.maxCompressedBlockBytes, 0))
    for i in blocks.indices {
      let (offset, count) = striles(blocks[i].strile)
      guard !offset.addingReportingOverflow(count).overflow else {
        throw GeoTIFFError(
          .malformed, location: location, ifd: image.index, strile: blocks[i].strile,
          message: "block entry offset \(offset), byte count \(count) is not plausible")
      }
      guard count <= maxCompressed else {
        throw GeoTIFFError(
          .limitExceeded, location: location, ifd: image.index, strile: blocks[i].strile,
          message: "block of \(count) compressed bytes at offset \(offset) exceeds "
            + "\(maxCompressed) (limit maxCompressedBlockBytes)")
      }
      if offset != 0 && count != 0 {
        // Decompression-bomb guard: the decoded size is known from the header.
        let decoded = decodedBytes(image: image, rows: blocks[i].rows)
        if decoded > limits.compressionRatioFloor,
          UInt64(decoded) / count >= UInt64(max(limits.maxCompressionRatio, 1))
        {
          throw GeoTIFFError(
            .limitExceeded, location: location, ifd: image.index, strile: blocks[i].strile,
            range: ByteRange(offset: offset, length: count),
            message: "block of \(count) compressed bytes would decode to \(decoded) bytes, a ratio "
              + "over \(limits.maxCompressionRatio) (limit maxCompressionRatio)")
        }
        blocks[i].range = ByteRange(offset: offset, length: count)
      }
    }
    return WindowPlan(image: image, window: window, bands: bands, blocks: blocks, fill: fill)
  }

  static func validate(
    image: TIFFImage, window: PixelWindow, bands: [Int], location: String
  )
    throws(GeoTIFFError)
  {
    guard window.width > 0, window.height > 0 else {
      throw GeoTIFFError(
        .invalidRequest, location: location, ifd: image.index,
        message: "window \(window) is empty")
    }
    // `layout` computes the window's far edges; `--window 9223372036854775807,0,1,1` must be
    // an invalid request, not an overflow trap.
    guard !window.x.addingReportingOverflow(window.width).overflow,
      !window.y.addingReportingOverflow(window.height).overflow
    else {
      throw GeoTIFFError(
        .invalidRequest, location: location, ifd: image.index,
        message: "window \(window) extends past the largest pixel coordinate")
    }
    let maxBytes = 1 << 31
    let (pixels, o1) = window.width.multipliedReportingOverflow(by: window.height)
    let (bytes, o2) = pixels.multipliedReportingOverflow(
      by: max(bands.count, 1) * image.sampleType.size)
    guard !o1, !o2, bytes <= maxBytes else {
      throw GeoTIFFError(
        .limitExceeded, location: location, ifd: image.index,
        message: "window \(window) × \(bands.count) bands exceeds \(maxBytes) bytes")
    }
    guard !bands.isEmpty else {
      throw GeoTIFFError(.invalidRequest, location: location, ifd: image.index, message: "no bands")
    }
    for b in bands where b < 0 || b >= image.samplesPerPixel {
      throw GeoTIFFError(
        .invalidRequest, location: location, ifd: image.index,
        message: "band \(b + 1) does not exist (the image has \(image.samplesPerPixel))")
    }
  }

  /// The blocks overlapping the window, in plane / row / column order, without byte ranges.
  static func layout(image: TIFFImage, window: PixelWindow, bands: [Int]) -> [Block] {
    let x0 = max(window.x, 0)
    let y0 = max(window.y, 0)
    let x1 = min(window.x + window.width, image.width)
    let y1 = min(window.y + window.height, image.height)
    guard x0 < x1, y0 < y1 else { return [] }
    let bw = image.blockWidth
    let bh = image.blockHeight
    let planes: [Int]
    if image.interleave == .band {
      var seen = Set<Int>()
      planes = bands.filter { seen.insert($0).inserted }.sorted()
    } else {
      planes = [0]
    }
    let perPlane = image.blocksAcross * image.blocksDown
    var out: [Block] = []
    for plane in planes {
      for row in (y0 / bh)...((y1 - 1) / bh) {
        for col in (x0 / bw)...((x1 - 1) / bw) {
          let bx = col * bw
          let by = row * bh
          let sx0 = max(x0, bx)
          let sy0 = max(y0, by)
          let sx1 = min(x1, bx + bw)
          let sy1 = min(y1, by + bh)
          let rows = image.isTiled ? bh : min(bh, image.height - by)
          out.append(
            Block(
              strile: plane * perPlane + row * image.blocksAcross + col, plane: plane, range: nil,
              rows: rows, sourceX: sx0 - bx, sourceY: sy0 - by, destinationX: sx0 - window.x,
              destinationY: sy0 - window.y, copyWidth: sx1 - sx0, copyHeight: sy1 - sy0))
        }
      }
    }
    return out
  }
}
