import RangeIO
import Synchronization
import TandemBase

/// Compressed bytes of a plan's blocks, fetched and not yet decoded.
public struct FetchedBlocks: Sendable {
  /// One entry per ``WindowPlan/blocks`` element, empty for sparse blocks.
  public var data: [[UInt8]]
  /// Total compressed bytes.
  public var byteCount: Int { data.reduce(0) { $0 + $1.count } }
}

/// A (Cloud Optimized) GeoTIFF opened from a ``ByteSource``: parsed header, images, georeference;
/// reads windows as plan → fetch (async, all blocks in flight at once) → decode (synchronous,
/// libtiff, on the caller's thread).
///
/// The header is parsed once and kept; reading a window afterwards costs one `read` call for the
/// touched tiles (plus, for non-COG files whose strile arrays lie outside the header, one for the
/// strile entries the first time).
public final class COGDataset: Sendable {
  /// The source the bytes come from.
  public let source: any ByteSource
  /// Path or URL, for messages.
  public var location: String { source.location }
  /// Object size in bytes.
  public let size: UInt64
  /// BigTIFF (version 43) rather than classic TIFF.
  public let isBigTIFF: Bool
  /// Byte order of the file (`II`); libtiff hands decoded samples back in native order anyway.
  public let isLittleEndian: Bool
  /// Every IFD: the main chain in order, then SubIFDs.
  public let images: [TIFFImage]
  /// Georeferencing of the main image.
  public let georeference: Georeference
  /// GDAL's structural metadata ("ghost area") after the header, when present.
  public let structuralMetadata: [String: String]?
  /// Round trips (`read` calls) and bytes spent parsing the header.
  public let headerRequests: Int
  /// Bytes fetched while parsing the header.
  public let headerBytesFetched: Int
  /// The limits the header was checked against; plans check each block against them too.
  public let limits: GeoTIFFLimits

  let headerBytes: HeaderBytes
  let byteOrder: ByteOrder
  let striles: [StrileStore]
  let pool = DecoderPool()
  /// Index of ``mainImage`` in ``images``.
  public let mainIndex: Int
  /// Unique per opened dataset (never reused, unlike an object address), keying decoder handles.
  let identity: UInt64 = COGDataset.nextIdentity.add(1, ordering: .relaxed).newValue
  private static let nextIdentity = Atomic<UInt64>(0)

  /// Parses the header of `source`. The first read is `headerSize` bytes (default 16 KiB; pass
  /// STAC `file:header_size` when known) and is extended on demand. `limits` bound what the
  /// file may declare (here and in every later plan); see ``GeoTIFFLimits``.
  public static func open(
    _ source: any ByteSource, headerSize: Int? = nil, limits: GeoTIFFLimits = GeoTIFFLimits()
  ) async throws(GeoTIFFError) -> COGDataset {
    let size: UInt64
    do {
      size = try await source.size()
    } catch {
      throw GeoTIFFError(error)
    }
    guard size >= 8 else {
      throw GeoTIFFError(
        size >= 2 ? .truncated : .notTIFF, location: source.location,
        message: "object is only \(size) bytes long")
    }
    let reader = HeaderReader(
      source: source, objectSize: size, initialSize: headerSize ?? 16384,
      maxHeaderBytes: limits.maxHeaderBytes)
    var first = try await reader.read(0, 8)
    // Check the signature before asking for the BigTIFF header's extra bytes.
    _ = try TIFFHeader.parse(first + [0, 0, 0, 0, 0, 0, 0, 0], location: source.location)
    if first[first.startIndex + 2] == 43 || first[first.startIndex + 3] == 43 {
      first = try await reader.read(0, 16)
    }
    let header = try TIFFHeader.parse(first, location: source.location)
    let parser = IFDParser(reader: reader, header: header, limits: limits)
    let images = try await parser.parseAll()

    // GDAL's ghost area: "GDAL_STRUCTURAL_METADATA_SIZE=000140 bytes\n" then KEY=VALUE lines.
    var ghost: [String: String]?
    let ghostStart: UInt64 = header.isBigTIFF ? 16 : 8
    let prefix = "GDAL_STRUCTURAL_METADATA_SIZE="
    if let b = reader.bytes.slice(ghostStart, 43),
      String(decoding: b.prefix(prefix.utf8.count), as: UTF8.self) == prefix
    {
      let line = String(decoding: b, as: UTF8.self)
      let digits = line.dropFirst(prefix.utf8.count).prefix(while: { $0.isNumber })
      if let n = Int(digits), n < 65536, ghostStart + 43 + UInt64(n) <= size {
        let body = try await reader.read(ghostStart + 43, n)
        var dict: [String: String] = [:]
        for l in String(decoding: body, as: UTF8.self).split(separator: "\n") {
          let kv = l.split(separator: "=", maxSplits: 1)
          if kv.count == 2 { dict[String(kv[0])] = String(kv[1]) }
        }
        ghost = dict
      }
    }
    return COGDataset(
      source: source, size: size, header: header, images: images, headerBytes: reader.bytes,
      structuralMetadata: ghost, headerRequests: reader.roundTrips, limits: limits)
  }

  private init(
    source: any ByteSource, size: UInt64, header: TIFFHeader, images: [TIFFImage],
    headerBytes: HeaderBytes, structuralMetadata: [String: String]?, headerRequests: Int,
    limits: GeoTIFFLimits
  ) {
    self.source = source
    self.limits = limits
    self.size = size
    self.isBigTIFF = header.isBigTIFF
    self.isLittleEndian = header.byteOrder.littleEndian
    self.byteOrder = header.byteOrder
    self.images = images
    self.headerBytes = headerBytes
    self.structuralMetadata = structuralMetadata
    self.headerRequests = headerRequests
    self.headerBytesFetched = headerBytes.byteCount
    self.striles = images.map(StrileStore.init(image:))
    let main = images.firstIndex { !$0.isSubIFD && !$0.isMask && !$0.isReducedResolution } ?? 0
    self.mainIndex = main
    self.georeference = Georeference(tags: images[main].geoTags)
  }

  /// The full-resolution image.
  public var mainImage: TIFFImage { images[mainIndex] }

  /// Reduced-resolution images of the main image, largest first (overview 1, 2, …).
  public var overviews: [TIFFImage] {
    let main = mainImage
    // Reduced-resolution images of the main chain, and SubIFDs of the main image (not those of
    // later pages), as GDAL counts them.
    return images.filter {
      $0.isReducedResolution && !$0.isMask && $0.samplesPerPixel == main.samplesPerPixel
        && $0.width <= main.width && $0.index != main.index
        && (!$0.isSubIFD || $0.parentIndex == main.index)
    }.sorted { $0.width > $1.width }
  }

  /// Transparency masks (full resolution first, then those of the overviews).
  public var masks: [TIFFImage] {
    images.filter(\.isMask).sorted { $0.width > $1.width }
  }

  /// Nodata from GDAL_NODATA.
  public var nodata: Double? { georeference.nodata }

  /// The image for overview level `overview` (0 = full resolution).
  public func image(overview: Int) throws(GeoTIFFError) -> TIFFImage {
    if overview == 0 { return mainImage }
    let ovr = overviews
    guard overview > 0, overview <= ovr.count else {
      throw GeoTIFFError(
        .invalidRequest, location: location,
        message: "overview \(overview) does not exist (the file has \(ovr.count))")
    }
    return ovr[overview - 1]
  }

  /// Plans a read of `window` (in the overview's pixel grid) for `bands` (0-based; all when nil).
  public func plan(
    window: PixelWindow, bands: [Int]? = nil, overview: Int = 0
  )
    async throws(GeoTIFFError) -> WindowPlan
  {
    try await plan(window: window, bands: bands, image: image(overview: overview))
  }

  /// Plans a read from any image (e.g. a mask or a later page).
  public func plan(
    window: PixelWindow, bands: [Int]? = nil, image: TIFFImage
  )
    async throws(GeoTIFFError) -> WindowPlan
  {
    let bands = bands ?? Array(0..<image.samplesPerPixel)
    if let reason = image.unsupportedReason {
      throw GeoTIFFError(.unsupported, location: location, ifd: image.index, message: reason)
    }
    guard Codecs.isSupported(image.compression) else {
      throw GeoTIFFError(
        .unsupported, location: location, ifd: image.index,
        message: "compression \(image.compressionName) is not supported by the installed libtiff")
    }
    try WindowPlan.validate(image: image, window: window, bands: bands, location: location)
    let needed = WindowPlan.striles(image: image, window: window, bands: bands)
    let entries = try await striles[image.index].entries(
      needed, header: headerBytes, source: source, order: byteOrder, ifd: image.index)
    let fill = image.isMask ? 0 : (nodata ?? 0)
    return try WindowPlan.make(
      image: image, window: window, bands: bands, fill: fill, location: location, limits: limits
    ) { i in entries[i] ?? (0, 0) }
  }

  /// Fetches the compressed bytes of a plan's blocks in one `read` call (all in flight together).
  public func fetch(_ plan: WindowPlan) async throws(GeoTIFFError) -> FetchedBlocks {
    let ranges = plan.ranges
    for r in ranges where r.end > size {
      throw GeoTIFFError(
        .truncated, location: location, ifd: plan.image.index,
        strile: plan.blocks.first { $0.range == r }?.strile, range: r,
        message: "block extends past the end of the \(size)-byte object")
    }
    // Blocks inside the header bytes already fetched (small files, COGs whose first tiles share
    // the header read) are served from memory; the rest go out in one call.
    let remote = ranges.filter { headerBytes.slice($0.offset, Int($0.length)) == nil }
    var data: [[UInt8]] = []
    if !remote.isEmpty {
      do {
        // One buffer per remote range, each its range's length, so `data[next]` below holds.
        data = try ByteReads.complete(
          try await source.read(remote), for: remote, location: location)
      } catch {
        throw GeoTIFFError(error, ifd: plan.image.index)
      }
    }
    var out: [[UInt8]] = []
    out.reserveCapacity(plan.blocks.count)
    var next = 0
    for block in plan.blocks {
      if let r = block.range {
        if let held = headerBytes.slice(r.offset, Int(r.length)) {
          out.append(Array(held))
        } else {
          out.append(data[next])
          next += 1
        }
      } else {
        out.append([])
      }
    }
    return FetchedBlocks(data: out)
  }

  /// Decodes each fetched block of `plan` into the decoder's reusable buffer and hands it to
  /// `body` with its row stride in bytes (rows of `blockWidth × samples-in-block` samples, as
  /// libtiff lays them out); sparse blocks are skipped. For callers that convert pixels straight
  /// into their own buffers, without the intermediate ``Raster`` of
  /// ``decode(_:_:using:)``. Only the block's rows the plan copies (`sourceY ..< sourceY +
  /// copyHeight`) are valid. Synchronous; the buffer is valid only during `body`.
  public func forEachDecodedBlock(
    _ plan: WindowPlan, _ fetched: FetchedBlocks, using decoder: TileDecoder,
    _ body: (WindowPlan.Block, UnsafeRawBufferPointer, _ rowBytes: Int) throws -> Void
  ) throws {
    let image = plan.image
    let samplesInBlock = image.interleave == .pixel ? image.samplesPerPixel : 1
    let rowBytes = (image.blockWidth * samplesInBlock * image.bitsPerSample + 7) / 8
    let scratch = decoder.scratchBuffer(max(rowBytes * image.blockHeight, 1))
    for (k, block) in plan.blocks.enumerated() {
      guard block.range != nil else { continue }
      let decodedBytes = rowBytes * block.rows
      let output = UnsafeMutableRawBufferPointer(rebasing: scratch[0..<decodedBytes])
      try decoder.decode(
        dataset: self, image: image, strile: block.strile, range: block.range,
        bytes: fetched.data[k], rows: block.rows,
        needed: block.sourceY..<(block.sourceY + block.copyHeight), output: output)
      try body(block, UnsafeRawBufferPointer(output), rowBytes)
    }
  }

  /// Decodes fetched blocks into a raster (synchronous; run it on a worker thread).
  public func decode(
    _ plan: WindowPlan, _ fetched: FetchedBlocks, using decoder: TileDecoder
  )
    throws(GeoTIFFError) -> Raster
  {
    let image = plan.image
    let w = plan.window
    var raster = Raster(
      sampleType: image.sampleType, bands: plan.bands.count, height: w.height, width: w.width,
      filledWith: plan.fill)
    let samplesInBlock = image.interleave == .pixel ? image.samplesPerPixel : 1
    let rowBytes = (image.blockWidth * samplesInBlock * image.bitsPerSample + 7) / 8
    let es = image.sampleType.size
    // Decoded block buffer, owned by the (thread-confined) decoder and reused.
    let scratch = decoder.scratchBuffer(max(rowBytes * image.blockHeight, 1))
    for (k, block) in plan.blocks.enumerated() {
      guard block.range != nil else { continue }
      let bytes = fetched.data[k]
      let decodedBytes = rowBytes * block.rows
      try decoder.decode(
        dataset: self, image: image, strile: block.strile, range: block.range, bytes: bytes,
        rows: block.rows, output: UnsafeMutableRawBufferPointer(rebasing: scratch[0..<decodedBytes])
      )
      // Output bands this block provides, and the sample index of each inside the block.
      var targets: [(out: Int, sample: Int)] = []
      for (o, b) in plan.bands.enumerated() {
        if image.interleave == .pixel {
          targets.append((o, b))
        } else if b == block.plane {
          targets.append((o, 0))
        }
      }
      do {
        let src = UnsafeRawBufferPointer(scratch)
        raster.bytes.withUnsafeMutableBytes { dst in
          for t in targets {
            for r in 0..<block.copyHeight {
              let srcRow = (block.sourceY + r) * rowBytes
              let dstRow =
                ((t.out * w.height + block.destinationY + r) * w.width + block.destinationX)
              if image.bitsPerSample == 1 {
                let on: UInt8 = image.isMask ? 255 : 1
                for c in 0..<block.copyWidth {
                  let x = block.sourceX + c
                  let bit = (src[srcRow + x >> 3] >> (7 - UInt8(x & 7))) & 1
                  dst[dstRow + c] = bit == 0 ? 0 : on
                }
              } else if samplesInBlock == 1 {
                (dst.baseAddress! + dstRow * es).copyMemory(
                  from: src.baseAddress! + srcRow + block.sourceX * es,
                  byteCount: block.copyWidth * es)
              } else {
                let s = src.baseAddress! + srcRow + (block.sourceX * samplesInBlock + t.sample) * es
                let d = dst.baseAddress! + dstRow * es
                switch es {
                case 1: strided(UInt8.self, s, d, block.copyWidth, samplesInBlock)
                case 2: strided(UInt16.self, s, d, block.copyWidth, samplesInBlock)
                case 4: strided(UInt32.self, s, d, block.copyWidth, samplesInBlock)
                default: strided(UInt64.self, s, d, block.copyWidth, samplesInBlock)
                }
              }
            }
          }
        }
      }
    }
    return raster
  }

  /// Reads a window: plan, fetch, then decode with a pooled decoder.
  public func read(
    window: PixelWindow, bands: [Int]? = nil, overview: Int = 0
  )
    async throws(GeoTIFFError) -> Raster
  {
    let plan = try await plan(window: window, bands: bands, overview: overview)
    return try await read(plan)
  }

  /// Reads a planned window.
  public func read(_ plan: WindowPlan) async throws(GeoTIFFError) -> Raster {
    let fetched = try await fetch(plan)
    return try pool.withDecoder { d throws(GeoTIFFError) in try decode(plan, fetched, using: d) }
  }

  /// Loads the strile arrays of an image whole (for layout reports).
  func allStriles(
    _ image: TIFFImage
  ) async throws(GeoTIFFError) -> (offsets: [UInt64], counts: [UInt64]) {
    try await striles[image.index].loadAll(
      header: headerBytes, source: source, order: byteOrder, ifd: image.index)
  }
}

@inline(__always)
private func strided<T>(
  _: T.Type, _ src: UnsafeRawPointer, _ dst: UnsafeMutableRawPointer, _ count: Int, _ stride: Int
) {
  let s = src.assumingMemoryBound(to: T.self)
  let d = dst.assumingMemoryBound(to: T.self)
  for i in 0..<count { d[i] = s[i * stride] }
}

/// Decoders handed out exclusively to callers of ``COGDataset/read(window:bands:overview:)``.
final class DecoderPool: Sendable {
  private let idle = Mutex<[TileDecoder]>([])

  func withDecoder<R>(_ body: (TileDecoder) throws(GeoTIFFError) -> R) throws(GeoTIFFError) -> R {
    let decoder = idle.withLock { $0.popLast() } ?? TileDecoder(maxHandles: 16)
    defer { idle.withLock { if $0.count < 8 { $0.append(decoder) } } }
    return try body(decoder)
  }
}
