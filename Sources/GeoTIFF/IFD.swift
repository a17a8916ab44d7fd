import RangeIO

/// The element type of decoded samples.
public enum SampleType: String, Sendable, Codable, CaseIterable {
  case uint8, int8, uint16, int16, uint32, int32, float16, float32, float64

  /// Bytes per decoded element.
  public var size: Int {
    switch self {
    case .uint8, .int8: 1
    case .uint16, .int16, .float16: 2
    case .uint32, .int32, .float32: 4
    case .float64: 8
    }
  }

  /// Whether the type is a floating-point type (NaN-aware comparisons).
  public var isFloatingPoint: Bool { self == .float16 || self == .float32 || self == .float64 }
}

/// How multi-band samples are stored.
public enum Interleave: String, Sendable, Codable {
  /// PlanarConfiguration 1: all bands of a pixel together ("PIXEL" in GDAL).
  case pixel
  /// PlanarConfiguration 2: one plane per band ("BAND" in GDAL).
  case band
}

/// One parsed TIFF directory: an image, reduced-resolution overview or mask.
public struct TIFFImage: Sendable {
  /// Position in the dataset's image list (main chain first, then SubIFDs).
  public var index: Int
  /// File offset of the IFD.
  public var offset: UInt64
  /// Whether the IFD was reached through a SubIFDs tag rather than the main chain.
  public var isSubIFD: Bool
  /// For SubIFDs: the index of the image whose SubIFDs tag led here.
  public var parentIndex: Int?
  /// NewSubfileType (bit 0 reduced resolution, bit 2 transparency mask).
  public var newSubfileType: UInt32
  /// Size in pixels.
  public var width: Int
  public var height: Int
  /// Bands (samples per pixel).
  public var samplesPerPixel: Int
  /// Bits per sample (the same for every sample).
  public var bitsPerSample: Int
  /// SampleFormat: 1 unsigned, 2 signed, 3 IEEE float.
  public var sampleFormat: Int
  /// The type of decoded samples (1-bit images decode to `uint8`).
  public var sampleType: SampleType
  /// PhotometricInterpretation (1 min-is-black, 2 RGB, 4 mask, 6 YCbCr, …).
  public var photometric: Int
  /// TIFF Compression tag value.
  public var compression: Int
  /// Predictor (1 none, 2 horizontal, 3 floating point).
  public var predictor: Int
  /// Pixel or band interleave (PlanarConfiguration).
  public var interleave: Interleave
  /// Tiles (TileWidth/TileLength) rather than strips.
  public var isTiled: Bool
  /// Tile size, or (width, rows per strip) for strips.
  public var blockWidth: Int
  public var blockHeight: Int
  /// ExtraSamples values (e.g. 2 = unassociated alpha).
  public var extraSamples: [Int]
  /// FillOrder 2 (LSB first): libtiff reverses the input bits in place before decoding.
  var reversesInputBits: Bool
  /// Why the image cannot be decoded (sample layout), or nil.
  public var unsupportedReason: String?

  /// Reduced-resolution image (NewSubfileType bit 0).
  public var isReducedResolution: Bool { newSubfileType & 1 != 0 }
  /// Transparency mask (NewSubfileType bit 2 or photometric 4).
  public var isMask: Bool { newSubfileType & 4 != 0 || photometric == 4 }
  /// Compression name as GDAL spells it.
  public var compressionName: String { Compression.name(compression) }
  /// Blocks per row and per column of one plane.
  public var blocksAcross: Int { (width + blockWidth - 1) / blockWidth }
  /// Blocks per column of one plane.
  public var blocksDown: Int { (height + blockHeight - 1) / blockHeight }
  /// Planes stored separately (1 for pixel interleave).
  public var planes: Int { interleave == .band ? samplesPerPixel : 1 }
  /// Number of tiles or strips.
  public var strileCount: Int { blocksAcross * blocksDown * planes }
  /// JPEG-compressed YCbCr, decoded to RGB by libtiff (as GDAL does).
  var isJPEGYCbCr: Bool { compression == 7 && photometric == 6 }

  // Strile arrays, loaded lazily (see StrileStore).
  var offsetsArray: TagRef
  var byteCountsArray: TagRef
  /// GeoTIFF and GDAL tags of this IFD.
  var geoTags: GeoTags
}

/// TIFF compression codes and names.
public enum Compression {
  /// The name GDAL uses for a Compression tag value.
  public static func name(_ code: Int) -> String {
    switch code {
    case 1: "NONE"
    case 5: "LZW"
    case 6: "OJPEG"
    case 7: "JPEG"
    case 8, 32946: "DEFLATE"
    case 32773: "PACKBITS"
    case 34925: "LZMA"
    case 34887: "LERC"
    case 50000: "ZSTD"
    case 50001: "WEBP"
    case 50002: "JXL"
    default: "\(code)"
    }
  }
}

/// Where a tag's values live in the file.
struct TagRef: Sendable {
  var tag: UInt16
  var type: UInt16
  var count: UInt64
  /// Absolute offset of the values (inside the IFD entry when they fit inline).
  var dataOffset: UInt64

  static let typeSizes: [Int] = [0, 1, 1, 2, 4, 8, 1, 1, 2, 4, 8, 4, 8, 4, 0, 0, 8, 8, 8]
  var elementSize: Int { Int(type) < TagRef.typeSizes.count ? TagRef.typeSizes[Int(type)] : 0 }
  var byteCount: UInt64 { count * UInt64(elementSize) }
}

/// The GeoTIFF / GDAL tag values of one IFD.
struct GeoTags: Sendable {
  var pixelScale: [Double]?
  var tiepoints: [Double]?
  var transformation: [Double]?
  var geoKeys: [UInt64]?
  var geoDoubles: [Double]?
  var geoAscii: String?
  var gdalMetadata: String?
  var gdalNodata: String?
}

/// Safety limits for reading untrusted TIFFs: every structure size a file declares is checked
/// against these before anything is allocated or fetched, and a violation is a
/// ``GeoTIFFError`` with code `.limitExceeded` naming the file and the limit (never a trap).
///
/// The defaults accept every real GeoTIFF/COG we know of (Sentinel-1/2 COGs, GDAL's output with
/// tiles up to 4096², 64-band files) while bounding memory per block to a few hundred MiB. Pass
/// your own to ``COGDataset/open(_:headerSize:limits:)``; the dataset applies them to every
/// later plan and decode.
public struct GeoTIFFLimits: Sendable, Hashable {
  /// Most IFDs followed in total (main chain plus SubIFDs and their chains).
  public var maxIFDs = 1024
  /// Most IFDs in one chain (followed through next-IFD offsets). Loops are always an error.
  public var maxChainLength = 1024
  /// Most entries in one IFD.
  public var maxEntries = 4096
  /// Largest image width or height.
  public var maxDimension = 1 << 24
  /// Largest tile width or height (TileWidth/TileLength).
  public var maxTileDimension = 1 << 16
  /// Most tiles or strips in one IFD.
  public var maxStriles = 1 << 26
  /// Largest decoded tile or strip in bytes (known from the header: width × rows × samples ×
  /// bits); this bounds what any codec may produce from one block.
  public var maxBlockBytes = 256 << 20
  /// Largest compressed tile or strip in bytes (its TileByteCounts/StripByteCounts entry).
  public var maxCompressedBlockBytes = 320 << 20
  /// Decompression-bomb guard: a block whose decoded size exceeds ``compressionRatioFloor`` may
  /// be at most this many times its compressed size. Smaller blocks are not checked (a constant
  /// 1024² float32 tile compresses to a few dozen bytes with ZSTD or LERC).
  public var maxCompressionRatio = 65_536
  /// Decoded block size above which ``maxCompressionRatio`` applies.
  public var compressionRatioFloor = 4 << 20
  /// Most header bytes fetched (IFDs and tag values, excluding strile arrays).
  public var maxHeaderBytes = 64 << 20

  /// The defaults described on each property.
  public init() {}
}

/// The former name of ``GeoTIFFLimits``.
public typealias ParseLimits = GeoTIFFLimits

/// Tags.
enum Tag {
  static let newSubfileType: UInt16 = 254
  static let imageWidth: UInt16 = 256
  static let imageLength: UInt16 = 257
  static let bitsPerSample: UInt16 = 258
  static let compression: UInt16 = 259
  static let photometric: UInt16 = 262
  static let stripOffsets: UInt16 = 273
  static let samplesPerPixel: UInt16 = 277
  static let rowsPerStrip: UInt16 = 278
  static let stripByteCounts: UInt16 = 279
  static let fillOrder: UInt16 = 266
  static let planarConfig: UInt16 = 284
  static let predictor: UInt16 = 317
  static let tileWidth: UInt16 = 322
  static let tileLength: UInt16 = 323
  static let tileOffsets: UInt16 = 324
  static let tileByteCounts: UInt16 = 325
  static let subIFDs: UInt16 = 330
  static let extraSamples: UInt16 = 338
  static let sampleFormat: UInt16 = 339
  static let modelPixelScale: UInt16 = 33550
  static let modelTiepoint: UInt16 = 33922
  static let modelTransformation: UInt16 = 34264
  static let geoKeyDirectory: UInt16 = 34735
  static let geoDoubleParams: UInt16 = 34736
  static let geoAsciiParams: UInt16 = 34737
  static let gdalMetadata: UInt16 = 42112
  static let gdalNodata: UInt16 = 42113
}

/// Parses the IFD chain (and SubIFDs) of an object through a ``HeaderReader``.
struct IFDParser {
  let reader: HeaderReader
  let header: TIFFHeader
  let limits: ParseLimits
  var location: String { reader.source.location }
  var order: ByteOrder { header.byteOrder }

  /// Every image in the file: the main chain in order, then SubIFDs (and their chains).
  func parseAll() async throws(GeoTIFFError) -> [TIFFImage] {
    var images: [TIFFImage] = []
    var visited = Set<UInt64>()
    var subIFDQueue: [(offset: UInt64, parent: Int)] = []
    var next = header.firstIFDOffset
    guard next != 0 else {
      throw GeoTIFFError(.malformed, location: location, message: "the file has no IFD")
    }
    var parent: Int?
    while true {
      var chainLength = 0
      while next != 0 {
        guard visited.insert(next).inserted else {
          throw GeoTIFFError(
            .malformed, location: location, ifd: images.count,
            range: ByteRange(offset: next, length: 2),
            message: "IFD loop: offset \(next) is visited twice")
        }
        guard images.count < limits.maxIFDs else {
          throw GeoTIFFError(
            .limitExceeded, location: location, ifd: images.count,
            message: "more than \(limits.maxIFDs) IFDs (limit maxIFDs)")
        }
        guard chainLength < limits.maxChainLength else {
          throw GeoTIFFError(
            .limitExceeded, location: location, ifd: images.count,
            message: "IFD chain longer than \(limits.maxChainLength) (limit maxChainLength)")
        }
        chainLength += 1
        var (image, following, subs) = try await parseIFD(
          at: next, index: images.count, isSubIFD: parent != nil)
        image.parentIndex = parent
        images.append(image)
        subIFDQueue.append(contentsOf: subs.map { ($0, image.index) })
        next = following
      }
      guard let sub = subIFDQueue.first else { break }
      subIFDQueue.removeFirst()
      parent = sub.parent
      next = sub.offset
    }
    return images
  }

  /// Parses one IFD; returns the image, the next IFD offset and any SubIFD offsets.
  func parseIFD(
    at offset: UInt64, index: Int, isSubIFD: Bool
  ) async throws(GeoTIFFError) -> (
    TIFFImage, UInt64, [UInt64]
  ) {
    let big = header.isBigTIFF
    let countSize = big ? 8 : 2
    let entrySize = big ? 20 : 12
    let countBytes = try await reader.read(offset, countSize, ifd: index)
    let n = big ? order.u64(countBytes, 0) : UInt64(order.u16(countBytes, 0))
    guard n > 0 else {
      throw GeoTIFFError(
        .malformed, location: location, ifd: index, range: ByteRange(offset: offset, length: 2),
        message: "IFD has no entries")
    }
    guard n <= UInt64(limits.maxEntries) else {
      throw GeoTIFFError(
        .limitExceeded, location: location, ifd: index,
        range: ByteRange(offset: offset, length: UInt64(countSize)),
        message: "IFD declares \(n) entries (limit maxEntries = \(limits.maxEntries))")
    }
    let tableLength = Int(n) * entrySize + (big ? 8 : 4)
    let table = try await reader.read(offset + UInt64(countSize), tableLength, ifd: index)
    var refs: [UInt16: TagRef] = [:]
    for i in 0..<Int(n) {
      let e = i * entrySize
      let tag = order.u16(table, e)
      let type = order.u16(table, e + 2)
      let count = big ? order.u64(table, e + 4) : UInt64(order.u32(table, e + 4))
      var ref = TagRef(tag: tag, type: type, count: count, dataOffset: 0)
      let inlineSize = big ? 8 : 4
      let valueFieldOffset = offset + UInt64(countSize + e + (big ? 12 : 8))
      if ref.elementSize == 0 { continue }  // unknown type: libtiff ignores it too
      let (bytes, overflow) = count.multipliedReportingOverflow(by: UInt64(ref.elementSize))
      if overflow {
        throw GeoTIFFError(
          .malformed, location: location, ifd: index, message: "tag \(tag) count \(count) overflows"
        )
      }
      if bytes <= UInt64(inlineSize) {
        ref.dataOffset = valueFieldOffset
      } else {
        ref.dataOffset = big ? order.u64(table, e + 12) : UInt64(order.u32(table, e + 8))
      }
      refs[tag] = ref
    }
    let nextOffset =
      big ? order.u64(table, Int(n) * entrySize) : UInt64(order.u32(table, Int(n) * entrySize))

    // Every tag value libtiff will read when opening this directory must be held in the header
    // bytes, except the strile arrays which are loaded lazily.
    let lazy: Set<UInt16> = [
      Tag.stripOffsets, Tag.stripByteCounts, Tag.tileOffsets, Tag.tileByteCounts,
    ]
    for ref in refs.values.sorted(by: { $0.dataOffset < $1.dataOffset })
    where !lazy.contains(ref.tag) && ref.byteCount > UInt64(big ? 8 : 4) {
      guard ref.dataOffset <= reader.objectSize, ref.byteCount <= reader.objectSize - ref.dataOffset
      else {
        throw GeoTIFFError(
          .truncated, location: location, ifd: index,
          message: "tag \(ref.tag) declares \(ref.byteCount) bytes at offset \(ref.dataOffset), "
            + "past the end of the \(reader.objectSize)-byte object")
      }
      guard ref.byteCount <= UInt64(limits.maxHeaderBytes) else {
        throw GeoTIFFError(
          .limitExceeded, location: location, ifd: index,
          message: "tag \(ref.tag) holds \(ref.byteCount) bytes (limit maxHeaderBytes)")
      }
      try await reader.ensure(ref.dataOffset, Int(ref.byteCount), ifd: index)
    }

    func ints(_ tag: UInt16) async throws(GeoTIFFError) -> [UInt64]? {
      guard let ref = refs[tag] else { return nil }
      return try await integers(ref, ifd: index)
    }
    func one(_ tag: UInt16, default value: UInt64? = nil) async throws(GeoTIFFError) -> UInt64? {
      guard let v = try await ints(tag) else { return value }
      guard let first = v.first else {
        throw GeoTIFFError(
          .malformed, location: location, ifd: index, message: "tag \(tag) is empty")
      }
      return first
    }
    func required(_ tag: UInt16, _ name: String) async throws(GeoTIFFError) -> UInt64 {
      guard let v = try await one(tag) else {
        throw GeoTIFFError(
          .malformed, location: location, ifd: index, message: "missing required tag \(name)")
      }
      return v
    }

    let width = try await required(Tag.imageWidth, "ImageWidth")
    let height = try await required(Tag.imageLength, "ImageLength")
    guard width > 0, height > 0, width <= UInt64(limits.maxDimension),
      height <= UInt64(limits.maxDimension)
    else {
      throw GeoTIFFError(
        width == 0 || height == 0 ? .malformed : .limitExceeded, location: location, ifd: index,
        message:
          "image size \(width)×\(height) is outside 1…\(limits.maxDimension) (limit maxDimension)")
    }
    let spp = try await one(Tag.samplesPerPixel, default: 1)!
    guard spp >= 1, spp <= 65535 else {
      throw GeoTIFFError(
        .malformed, location: location, ifd: index, message: "SamplesPerPixel is \(spp)")
    }
    // Sample layouts we cannot decode make the image unreadable, not the file: `info` still
    // describes it and the other IFDs stay usable.
    var unsupported: String?
    let bpsValues = try await ints(Tag.bitsPerSample) ?? [1]
    let bps = bpsValues.first ?? 0
    guard bps >= 1, bps <= 64 else {
      throw GeoTIFFError(
        .malformed, location: location, ifd: index, message: "BitsPerSample is \(bpsValues)")
    }
    if !bpsValues.allSatisfy({ $0 == bps }) {
      unsupported = "BitsPerSample differs between samples (\(bpsValues))"
    }
    let formats = try await ints(Tag.sampleFormat) ?? [1]
    let format = formats.first ?? 0
    if formats.isEmpty || !formats.allSatisfy({ $0 == format }) {
      unsupported = "SampleFormat differs between samples (\(formats))"
    }
    let compression = try await one(Tag.compression, default: 1)!
    let photometric = try await one(Tag.photometric, default: 1)!
    let predictor = try await one(Tag.predictor, default: 1)!
    let planar = try await one(Tag.planarConfig, default: 1)!
    let subfile = try await one(Tag.newSubfileType, default: 0)!
    let extra = try await ints(Tag.extraSamples) ?? []
    let fillOrder = try await one(Tag.fillOrder, default: 1)!
    // TIFF defines these as SHORTs, but a file may store them as SSHORT (-1 sign-extends to
    // 2^64 - 1) or LONG8: values past 65535 are malformed, and would trap in `Int(_:)` below.
    let shorts =
      [
        ("SampleFormat", format), ("Compression", compression),
        ("PhotometricInterpretation", photometric), ("Predictor", predictor),
      ] + extra.map { ("ExtraSamples", $0) }
    for (name, value) in shorts where value > 65535 {
      throw GeoTIFFError(
        .malformed, location: location, ifd: index, message: "\(name) is \(value)")
    }

    var sampleType = SampleType.uint8
    switch (format, bps) {
    case (1, 1), (1, 8), (4, 8): sampleType = .uint8
    case (2, 8): sampleType = .int8
    case (1, 16), (4, 16): sampleType = .uint16
    case (2, 16): sampleType = .int16
    case (1, 32), (4, 32): sampleType = .uint32
    case (2, 32): sampleType = .int32
    case (3, 16): sampleType = .float16
    case (3, 32): sampleType = .float32
    case (3, 64): sampleType = .float64
    default:
      unsupported = unsupported ?? "sample format \(format) with \(bps) bits per sample"
    }
    if bps == 1 && spp != 1 {
      unsupported = "1-bit images with \(spp) samples per pixel"
    }
    guard planar == 1 || planar == 2 else {
      throw GeoTIFFError(
        .malformed, location: location, ifd: index, message: "PlanarConfiguration is \(planar)")
    }

    let tiled = refs[Tag.tileWidth] != nil || refs[Tag.tileOffsets] != nil
    var blockWidth: UInt64
    var blockHeight: UInt64
    let offsetsRef: TagRef?
    let countsRef: TagRef?
    if tiled {
      blockWidth = try await required(Tag.tileWidth, "TileWidth")
      blockHeight = try await required(Tag.tileLength, "TileLength")
      offsetsRef = refs[Tag.tileOffsets]
      countsRef = refs[Tag.tileByteCounts]
      guard blockWidth > 0, blockHeight > 0 else {
        throw GeoTIFFError(
          .malformed, location: location, ifd: index,
          message: "tile size \(blockWidth)×\(blockHeight) is invalid")
      }
      guard blockWidth <= UInt64(limits.maxTileDimension),
        blockHeight <= UInt64(limits.maxTileDimension)
      else {
        throw GeoTIFFError(
          .limitExceeded, location: location, ifd: index,
          message: "tile size \(blockWidth)×\(blockHeight) exceeds \(limits.maxTileDimension) "
            + "(limit maxTileDimension)")
      }
    } else {
      blockWidth = width
      blockHeight = min(try await one(Tag.rowsPerStrip, default: height)!, height)
      if blockHeight == 0 { blockHeight = height }
      offsetsRef = refs[Tag.stripOffsets]
      countsRef = refs[Tag.stripByteCounts]
    }
    guard let offsetsRef, let countsRef else {
      throw GeoTIFFError(
        .malformed, location: location, ifd: index,
        message: "missing \(tiled ? "TileOffsets/TileByteCounts" : "StripOffsets/StripByteCounts")")
    }
    let across = (width + blockWidth - 1) / blockWidth
    let down = (height + blockHeight - 1) / blockHeight
    let planes = planar == 2 ? spp : 1
    let (striles, o1) = across.multipliedReportingOverflow(by: down)
    let (total, o2) = striles.multipliedReportingOverflow(by: planes)
    guard !o1, !o2, total <= UInt64(limits.maxStriles) else {
      throw GeoTIFFError(
        .limitExceeded, location: location, ifd: index,
        message:
          "\(across)×\(down)×\(planes) blocks exceed \(limits.maxStriles) (limit maxStriles)")
    }
    // Width, rows, samples and bits are each bounded above, but their product can overflow.
    let (pixelsInBlock, o3) = blockWidth.multipliedReportingOverflow(by: blockHeight)
    let (samplesInBlock, o4) = pixelsInBlock.multipliedReportingOverflow(
      by: planar == 2 ? 1 : spp)
    let (bitsInBlock, o5) = samplesInBlock.multipliedReportingOverflow(by: bps)
    guard !o3, !o4, !o5, bitsInBlock / 8 <= UInt64(limits.maxBlockBytes) else {
      throw GeoTIFFError(
        .limitExceeded, location: location, ifd: index,
        message: "a \(blockWidth)×\(blockHeight) block of \(spp) \(bps)-bit samples decodes to "
          + "more than \(limits.maxBlockBytes) bytes (limit maxBlockBytes)")
    }
    guard offsetsRef.count >= total, countsRef.count >= total else {
      throw GeoTIFFError(
        .malformed, location: location, ifd: index,
        message: "strile arrays hold \(offsetsRef.count)/\(countsRef.count) entries, "
          + "\(total) needed")
    }
    for ref in [offsetsRef, countsRef] {
      guard [3, 4, 16, 13, 18].contains(ref.type) else {
        throw GeoTIFFError(
          .malformed, location: location, ifd: index,
          message: "strile array tag \(ref.tag) has type \(ref.type)")
      }
      guard ref.dataOffset <= reader.objectSize, ref.byteCount <= reader.objectSize - ref.dataOffset
      else {
        throw GeoTIFFError(
          .truncated, location: location, ifd: index,
          message: "strile array tag \(ref.tag) (\(ref.byteCount) bytes at \(ref.dataOffset)) "
            + "extends past the end of the \(reader.objectSize)-byte object")
      }
    }

    var geo = GeoTags()
    geo.pixelScale = try await refs[Tag.modelPixelScale].asyncMap { r throws(GeoTIFFError) in
      try await doubles(r, ifd: index)
    }
    geo.tiepoints = try await refs[Tag.modelTiepoint].asyncMap { r throws(GeoTIFFError) in
      try await doubles(r, ifd: index)
    }
    geo.transformation = try await refs[Tag.modelTransformation].asyncMap {
      r throws(GeoTIFFError) in try await doubles(r, ifd: index)
    }
    geo.geoKeys = try await ints(Tag.geoKeyDirectory)
    geo.geoDoubles = try await refs[Tag.geoDoubleParams].asyncMap { r throws(GeoTIFFError) in
      try await doubles(r, ifd: index)
    }
    geo.geoAscii = try await refs[Tag.geoAsciiParams].asyncMap { r throws(GeoTIFFError) in
      try await ascii(r, ifd: index)
    }
    geo.gdalMetadata = try await refs[Tag.gdalMetadata].asyncMap { r throws(GeoTIFFError) in
      try await ascii(r, ifd: index)
    }
    geo.gdalNodata = try await refs[Tag.gdalNodata].asyncMap { r throws(GeoTIFFError) in
      try await ascii(r, ifd: index)
    }

    var subs: [UInt64] = []
    if let ref = refs[Tag.subIFDs] {
      subs = try await integers(ref, ifd: index).filter { $0 != 0 }
    }

    let image = TIFFImage(
      index: index, offset: offset, isSubIFD: isSubIFD, parentIndex: nil,
      newSubfileType: UInt32(truncatingIfNeeded: subfile),
      width: Int(width), height: Int(height), samplesPerPixel: Int(spp), bitsPerSample: Int(bps),
      sampleFormat: Int(format), sampleType: sampleType, photometric: Int(photometric),
      compression: Int(compression), predictor: Int(predictor),
      interleave: planar == 2 ? .band : .pixel, isTiled: tiled, blockWidth: Int(blockWidth),
      blockHeight: Int(blockHeight), extraSamples: extra.map { Int($0) },
      reversesInputBits: fillOrder == 2, unsupportedReason: unsupported,
      offsetsArray: offsetsRef, byteCountsArray: countsRef, geoTags: geo)
    return (image, nextOffset, subs)
  }

  func integers(_ ref: TagRef, ifd: Int) async throws(GeoTIFFError) -> [UInt64] {
    guard ref.count <= 1 << 20 else {
      throw GeoTIFFError(
        .limitExceeded, location: location, ifd: ifd,
        message: "tag \(ref.tag) has \(ref.count) values")
    }
    let b = try await reader.read(ref.dataOffset, Int(ref.byteCount), ifd: ifd)
    return decodeIntegers(b, type: ref.type, count: Int(ref.count), order: order) ?? []
  }

  func doubles(_ ref: TagRef, ifd: Int) async throws(GeoTIFFError) -> [Double] {
    guard ref.count <= 1 << 20 else {
      throw GeoTIFFError(
        .limitExceeded, location: location, ifd: ifd,
        message: "tag \(ref.tag) has \(ref.count) values")
    }
    let b = try await reader.read(ref.dataOffset, Int(ref.byteCount), ifd: ifd)
    let n = Int(ref.count)
    switch ref.type {
    case 12: return (0..<n).map { Double(bitPattern: order.u64(b, $0 * 8)) }
    case 11: return (0..<n).map { Double(Float(bitPattern: order.u32(b, $0 * 4))) }
    case 5:
      return (0..<n).map {
        let d = order.u32(b, $0 * 8 + 4)
        return d == 0 ? .nan : Double(order.u32(b, $0 * 8)) / Double(d)
      }
    default:
      return (decodeIntegers(b, type: ref.type, count: n, order: order) ?? []).map { Double($0) }
    }
  }

  func ascii(_ ref: TagRef, ifd: Int) async throws(GeoTIFFError) -> String {
    guard ref.count <= 1 << 24 else {
      throw GeoTIFFError(
        .limitExceeded, location: location, ifd: ifd, message: "tag \(ref.tag) is too long")
    }
    let b = try await reader.read(ref.dataOffset, Int(ref.byteCount), ifd: ifd)
    var bytes = Array(b)
    while bytes.last == 0 { bytes.removeLast() }
    return String(decoding: bytes, as: UTF8.self)
  }
}

/// Decodes integer-typed tag values (BYTE, SHORT, LONG, LONG8, IFD, IFD8 and signed forms).
func decodeIntegers(
  _ b: ArraySlice<UInt8>, type: UInt16, count n: Int, order: ByteOrder
)
  -> [UInt64]?
{
  switch type {
  case 1, 7: return b.prefix(n).map { UInt64($0) }
  case 6: return b.prefix(n).map { UInt64(bitPattern: Int64(Int8(bitPattern: $0))) }
  case 3: return (0..<n).map { UInt64(order.u16(b, $0 * 2)) }
  case 8: return (0..<n).map { UInt64(bitPattern: Int64(Int16(bitPattern: order.u16(b, $0 * 2)))) }
  case 4, 13: return (0..<n).map { UInt64(order.u32(b, $0 * 4)) }
  case 9: return (0..<n).map { UInt64(bitPattern: Int64(Int32(bitPattern: order.u32(b, $0 * 4)))) }
  case 16, 17, 18: return (0..<n).map { order.u64(b, $0 * 8) }
  default: return nil
  }
}

extension Optional {
  /// `map` with an async, typed-throwing transform.
  func asyncMap<U>(
    _ transform: (Wrapped) async throws(GeoTIFFError) -> U
  ) async throws(GeoTIFFError)
    -> U?
  {
    switch self {
    case .some(let w): return try await transform(w)
    case .none: return nil
    }
  }
}
