import Foundation
import GeoTIFF
import RangeIO
import Synchronization
import TandemBase

/// Per-channel standardization applied after unit conversion: `(x - mean) / std`.
public struct Normalization: Sendable, Codable, Equatable {
  /// Convert S1 backscatter from linear power to decibels (10·log10) before standardizing.
  /// Off for data already in dB (e.g. Sen1Floods11).
  public var s1ToDecibels: Bool
  public var s1Mean: [Float]
  public var s1Std: [Float]
  /// S2 values are divided by `s2Scale` (10000 for L2A reflectance) before standardizing.
  public var s2Scale: Float
  public var s2Mean: [Float]
  public var s2Std: [Float]

  public init(
    s1ToDecibels: Bool, s1Mean: [Float], s1Std: [Float], s2Scale: Float = 10_000,
    s2Mean: [Float], s2Std: [Float]
  ) {
    self.s1ToDecibels = s1ToDecibels
    self.s1Mean = s1Mean
    self.s1Std = s1Std
    self.s2Scale = s2Scale
    self.s2Mean = s2Mean
    self.s2Std = s2Std
  }

  /// Why these statistics cannot standardize `s1Channels` S1 and `s2Channels` S2 channels
  /// (`nil`: any count, but means and stds must pair up), or `nil`: loaders index them by
  /// channel and multiply by 1/std, so every channel needs a finite mean and a finite
  /// positive std, and the S2 scale must be finite and positive.
  public func validationError(s1Channels: Int?, s2Channels: Int?) -> String? {
    for (name, mean, std, channels) in [
      ("S1", s1Mean, s1Std, s1Channels), ("S2", s2Mean, s2Std, s2Channels),
    ] {
      if mean.count != std.count {
        return "\(name) has \(mean.count) means but \(std.count) standard deviations"
      }
      if let channels, mean.count != channels {
        return "\(name) has statistics for \(mean.count) channels, the data has \(channels)"
      }
      if !mean.allSatisfy(\.isFinite) || !std.allSatisfy({ $0.isFinite && $0 > 0 }) {
        return "\(name) means must be finite and standard deviations finite and positive"
      }
    }
    if !(s2Scale.isFinite && s2Scale > 0) { return "s2Scale must be finite and positive" }
    return nil
  }

  /// Sentinel-1 value before standardization: linear power → dB when `toDecibels` (floored at
  /// 1e-5 so zeros stay finite), clipped to [−50, 30] either way. The loader and the
  /// statistics pass both use this, so the statistics describe what the loader standardizes.
  @inline(__always)
  public static func s1Units(_ value: Float, toDecibels: Bool) -> Float {
    let v = toDecibels ? 10 * log10f(max(value, 1e-5)) : value
    return min(max(v, -50), 30)
  }

  /// No standardization (mean 0, std 1): the unit conversion only.
  public static func identity(
    s1Channels: Int, s2Channels: Int, s1ToDecibels: Bool = true
  )
    -> Normalization
  {
    Normalization(
      s1ToDecibels: s1ToDecibels, s1Mean: Array(repeating: 0, count: s1Channels),
      s1Std: Array(repeating: 1, count: s1Channels),
      s2Mean: Array(repeating: 0, count: s2Channels),
      s2Std: Array(repeating: 1, count: s2Channels))
  }
}

/// Acceptance thresholds for sampled windows.
public struct WindowFilter: Sendable, Codable, Equatable {
  /// Largest fraction of pixels with nodata in any channel.
  public var maxNodata: Double
  /// Largest fraction of cloud or shadow pixels (from the SCL asset, when present).
  public var maxCloud: Double

  public init(maxNodata: Double = 0.2, maxCloud: Double = 0.2) {
    self.maxNodata = maxNodata
    self.maxCloud = maxCloud
  }
}

/// Reads paired S1/S2 windows from COGs: `fetch` plans and fetches the tiles of every asset at
/// once (async, through RangeIO); `decode` runs libtiff on a pool worker, maps each asset onto
/// the reference (S1) grid — a straight copy when the grids align, bilinear resampling (nearest
/// for the cloud mask) otherwise — converts units, standardizes and screens nodata and clouds.
///
/// Each COG's header is parsed once per run and kept (bounded by `maxOpenDatasets`).
public final class PairLoader: SampleLoader, Sendable {
  public let dataset: PairDataset
  public let layout: SampleLayout
  public let normalization: Normalization
  public let filter: WindowFilter
  /// Leave the few invalid pixels of an accepted window NaN instead of the standardized mean 0
  /// (for callers that standardize again later, e.g. probes sharing windows across checkpoints).
  public let keepsInvalidAsNaN: Bool
  private let sourceOptions: SourceOptions
  private let datasets = Mutex<[String: Task<COGDataset, any Error>]>([:])
  private let decoders: [TileDecoder]
  private let maxOpenDatasets: Int
  /// Recently fetched compressed tiles, shared by all assets (nearby windows reuse tiles).
  public let memoryCache: MemoryCache?
  /// Recently decoded tiles as Float32 (nodata as NaN): a window is assembled from them, so a
  /// tile is decoded once however many windows touch it while it stays in the cache.
  public let tileCache: LRUCache<TileKey, [Float]>
  /// Bypasses (and empties) `tileCache` while windows rarely share tiles, e.g. on a catalog far
  /// larger than the cache, where caching costs more than it saves; nil with no cache or when
  /// the cache is always used.
  public let tileReuse: TileReuseMonitor<TileKey>?
  /// Counts (and optionally lists) the compressed tiles fetched for decoding.
  public let readLog: TileReadLog?

  /// One fetched asset, ready to decode: decoded tiles already cached, plus the compressed
  /// bytes of the missing tiles (one plan over their tile-aligned bounding box).
  public struct FetchedAsset: Sendable {
    let dataset: COGDataset
    let reader: AssetReader
    /// The read window in asset pixels (may extend past the image).
    let u0: Int
    let v0: Int
    let width: Int
    let height: Int
    let tileWidth: Int
    let tileHeight: Int
    /// Decoded tiles (row-major floats of the tile's in-image part) found in the cache.
    let hits: [TileKey: [Float]]
    let missingPlan: WindowPlan?
    let missingBlocks: FetchedBlocks?
    /// No decoded-tile cache: `missingPlan` covers exactly the asset window, and its blocks are
    /// converted straight into the output (no per-tile arrays, no intermediate raster).
    var direct = false
    /// Newly decoded tiles go into the decoded-tile cache (false while it is bypassed).
    var cachesTiles = true
  }

  /// A decoded tile: object, tile column and row (full-resolution image, first band).
  public struct TileKey: Hashable, Sendable {
    var href: String
    var column: Int
    var row: Int
  }

  /// Everything one sample needs: S1 assets, S2 assets, and the cloud mask.
  public struct Fetched: Sendable {
    let s1: [FetchedAsset]
    let s2: [FetchedAsset]
    let cloudMask: FetchedAsset?
  }

  /// Creates a loader for windows of `windowSize` pixels; `workers` must be at least the
  /// decode pool's thread count (one libtiff decoder per worker).
  public init(
    dataset: PairDataset, windowSize: Int, normalization: Normalization,
    filter: WindowFilter = WindowFilter(), sourceOptions: SourceOptions, workers: Int,
    maxOpenDatasets: Int = 4096, memoryCacheBytes: Int = 256 << 20,
    decodedCacheBytes: Int = 1 << 30, decodedCachePolicy: DecodedCachePolicy = .adaptive(),
    keepsInvalidAsNaN: Bool = false, readLog: TileReadLog? = nil
  ) {
    self.readLog = readLog
    self.keepsInvalidAsNaN = keepsInvalidAsNaN
    self.dataset = dataset
    self.layout = SampleLayout(
      channels: [dataset.channels.s1, dataset.channels.s2], size: windowSize)
    self.normalization = normalization
    self.filter = filter
    self.sourceOptions = sourceOptions
    self.decoders = (0..<max(1, workers)).map { _ in TileDecoder() }
    self.maxOpenDatasets = maxOpenDatasets
    self.memoryCache = memoryCacheBytes > 0 ? MemoryCache(capacity: memoryCacheBytes) : nil
    self.tileCache = LRUCache(capacity: decodedCacheBytes)
    if case .adaptive(let window, let offBelow, let onAt) = decodedCachePolicy,
      decodedCacheBytes > 0
    {
      self.tileReuse = TileReuseMonitor(
        capacityBytes: decodedCacheBytes, window: window, offBelow: offBelow, onAt: onAt)
    } else {
      self.tileReuse = nil
    }
  }

  /// The parsed COG behind `href` (opened once; concurrent callers share the same open).
  func open(_ reader: AssetReader) async throws -> COGDataset {
    let task = datasets.withLock { open -> Task<COGDataset, any Error> in
      if let t = open[reader.href] { return t }
      if open.count >= maxOpenDatasets { open.removeAll(keepingCapacity: true) }
      let options = sourceOptions
      let cache = memoryCache
      let t = Task<COGDataset, any Error> {
        var source = try ByteSources.open(reader.href, options: options)
        if let cache { source = MemoryCachedSource(source, cache: cache) }
        return try await COGDataset.open(source, headerSize: reader.headerSize)
      }
      open[reader.href] = t
      return t
    }
    return try await task.value
  }

  func fetchAsset(_ reader: AssetReader, sample: WindowSample) async throws -> FetchedAsset {
    // `PairDataset.region(for:items:)` leaves implausible mappings out; regions built or
    // decoded elsewhere are checked here, before the window's corners become Ints.
    guard reader.hasPlausibleMapping else {
      throw PipelineError(
        location: reader.href,
        message: "pixel mapping (scale \(reader.scaleX) × \(reader.scaleY), offset "
          + "\(reader.offsetX), \(reader.offsetY)) is implausible: scales must be within "
          + "1/16…16 of the S1 pixel")
    }
    let dataset = try await open(reader)
    let n = sample.size
    let u0: Int
    let v0: Int
    let width: Int
    let height: Int
    if reader.isAligned {
      u0 = Int(reader.offsetX.rounded()) + sample.x
      v0 = Int(reader.offsetY.rounded()) + sample.y
      width = n
      height = n
    } else {
      // Pixel centres of the window in asset coordinates, plus one pixel for interpolation.
      let ua = reader.scaleX * (Double(sample.x) + 0.5) + reader.offsetX - 0.5
      let ub = reader.scaleX * (Double(sample.x + n) - 0.5) + reader.offsetX - 0.5
      let va = reader.scaleY * (Double(sample.y) + 0.5) + reader.offsetY - 0.5
      let vb = reader.scaleY * (Double(sample.y + n) - 0.5) + reader.offsetY - 0.5
      guard [ua, ub, va, vb].allSatisfy({ abs($0) < 0x1p52 }) else {
        throw PipelineError(
          location: reader.href, message: "window \(sample) maps outside the asset's pixel range")
      }
      u0 = Int(min(ua, ub).rounded(.down))
      v0 = Int(min(va, vb).rounded(.down))
      width = Int(max(ua, ub).rounded(.down)) - u0 + 2
      height = Int(max(va, vb).rounded(.down)) - v0 + 2
    }
    let image = try dataset.image(overview: 0)
    let tw = image.blockWidth
    let th = image.blockHeight
    // Tiles of the image the window touches.
    let c0 = max(0, floorDiv(u0, tw))
    let c1 = min(image.blocksAcross - 1, floorDiv(u0 + width - 1, tw))
    let r0 = max(0, floorDiv(v0, th))
    let r1 = min(image.blocksDown - 1, floorDiv(v0 + height - 1, th))
    var hits: [TileKey: [Float]] = [:]
    var missing: (c0: Int, c1: Int, r0: Int, r1: Int)?
    var useCache = tileCache.capacity > 0
    if useCache, let tileReuse, c0 <= c1 && r0 <= r1 {
      let keys = (r0...r1).lazy.flatMap { r in
        (c0...c1).lazy.map { c in TileKey(href: reader.href, column: c, row: r) }
      }
      let decision = tileReuse.touch(keys, cost: tw * th * 4 + 64)
      useCache = decision.useCache
      if decision.change == .switchedOff { tileCache.removeAll() }
    }
    if !useCache && image.bitsPerSample % 8 == 0 {
      // Nothing is cached: plan the asset window itself (blocks map straight into it).
      var plan: WindowPlan?
      var blocks: FetchedBlocks?
      if c0 <= c1 && r0 <= r1 {
        let p = try await dataset.plan(
          window: PixelWindow(x: u0, y: v0, width: width, height: height), bands: [0])
        blocks = try await dataset.fetch(p)
        plan = p
        recordReads(p, href: reader.href, image: image)
      }
      var asset = FetchedAsset(
        dataset: dataset, reader: reader, u0: u0, v0: v0, width: width, height: height,
        tileWidth: tw, tileHeight: th, hits: [:], missingPlan: plan, missingBlocks: blocks)
      asset.direct = true
      return asset
    }
    if c0 <= c1 && r0 <= r1 {
      for r in r0...r1 {
        for c in c0...c1 {
          let key = TileKey(href: reader.href, column: c, row: r)
          if useCache, let tile = tileCache.get(key) {
            hits[key] = tile
          } else if let m = missing {
            missing = (min(m.c0, c), max(m.c1, c), min(m.r0, r), max(m.r1, r))
          } else {
            missing = (c, c, r, r)
          }
        }
      }
    }
    var plan: WindowPlan?
    var blocks: FetchedBlocks?
    if let m = missing {
      let x = m.c0 * tw
      let y = m.r0 * th
      let window = PixelWindow(
        x: x, y: y, width: min((m.c1 + 1) * tw, image.width) - x,
        height: min((m.r1 + 1) * th, image.height) - y)
      let p = try await dataset.plan(window: window, bands: [0])
      plan = p
      blocks = try await dataset.fetch(p)
      recordReads(p, href: reader.href, image: image)
    }
    var asset = FetchedAsset(
      dataset: dataset, reader: reader, u0: u0, v0: v0, width: width, height: height,
      tileWidth: tw, tileHeight: th, hits: hits, missingPlan: plan, missingBlocks: blocks)
    asset.cachesTiles = useCache
    return asset
  }

  private func recordReads(_ plan: WindowPlan, href: String, image: TIFFImage) {
    guard let readLog else { return }
    for block in plan.blocks {
      guard let range = block.range else { continue }
      readLog.record(
        href: href, ifdOffset: image.offset, strile: block.strile, length: range.length)
    }
  }

  public func fetch(_ sample: WindowSample) async throws -> Fetched {
    readLog?.recordSample()
    let region = dataset.regions[sample.region]
    let readers = region.s1 + region.s2 + (region.cloudMask.map { [$0] } ?? [])
    let fetched = try await withThrowingTaskGroup(of: (Int, FetchedAsset).self) { group in
      for (i, reader) in readers.enumerated() {
        group.addTask {
          // Awaited into a local first: see `Scripts/lint-async-tuples` (Swift 6.3 corrupts a
          // tuple built across a suspension in release builds).
          let asset = try await self.fetchAsset(reader, sample: sample)
          return (i, asset)
        }
      }
      var out = [FetchedAsset?](repeating: nil, count: readers.count)
      for try await (i, asset) in group where out.indices.contains(i) { out[i] = asset }
      return try out.enumerated().map { i, asset in
        guard let asset else {
          throw PipelineError(
            location: readers[i].href,
            message: "no bytes were fetched for window \(sample) (internal error; please report it)"
          )
        }
        return asset
      }
    }
    let s1 = Array(fetched[0..<region.s1.count])
    let s2 = Array(fetched[region.s1.count..<(region.s1.count + region.s2.count)])
    return Fetched(s1: s1, s2: s2, cloudMask: region.cloudMask == nil ? nil : fetched.last)
  }

  /// Lets enough HTTP transfers run for `depth` samples in flight: each asset of a sample needs
  /// up to two requests (a window crosses at most two tile rows).
  public func fetchDepthDidChange(_ depth: Int) {
    guard let region = dataset.regions.first,
      dataset.regions.contains(where: { $0.s1.contains { $0.href.hasPrefix("http") } })
    else { return }
    let assets = region.s1.count + region.s2.count + (region.cloudMask == nil ? 0 : 1)
    HTTPConcurrency.setAutomaticLimit(depth * assets * 2)
  }

  public func decode(
    _ fetched: Fetched, sample: WindowSample, worker: Int,
    into parts: [UnsafeMutableBufferPointer<Float>]
  ) throws -> SampleVerdict {
    let decoder = decoders[worker]
    let n = sample.size
    let plane = n * n
    var invalid = [Bool](repeating: false, count: plane)
    for (c, asset) in fetched.s1.enumerated() {
      let out = UnsafeMutableBufferPointer(rebasing: parts[0][(c * plane)..<((c + 1) * plane)])
      try render(asset, sample: sample, decoder: decoder, nearest: false, into: out)
      let mean = normalization.s1Mean[c]
      let inv = 1 / normalization.s1Std[c]
      let toDB = normalization.s1ToDecibels
      for i in 0..<plane {
        let v = out[i]
        if v.isNaN {
          invalid[i] = true
          continue
        }
        out[i] = (Normalization.s1Units(v, toDecibels: toDB) - mean) * inv
      }
    }
    for (c, asset) in fetched.s2.enumerated() {
      let out = UnsafeMutableBufferPointer(rebasing: parts[1][(c * plane)..<((c + 1) * plane)])
      try render(asset, sample: sample, decoder: decoder, nearest: false, into: out)
      let mean = normalization.s2Mean[c]
      let inv = 1 / normalization.s2Std[c]
      let scale = 1 / normalization.s2Scale
      for i in 0..<plane {
        let v = out[i]
        if v.isNaN {
          invalid[i] = true
          continue
        }
        out[i] = (v * scale - mean) * inv
      }
    }
    let bad = invalid.reduce(0) { $0 + ($1 ? 1 : 0) }
    if Double(bad) > filter.maxNodata * Double(plane) {
      return .rejected(reason: "nodata")
    }
    if bad > 0 && !keepsInvalidAsNaN {
      // Standardized mean for the few invalid pixels left.
      for part in parts {
        for i in part.indices where part[i].isNaN { part[i] = 0 }
      }
    }
    if let mask = fetched.cloudMask {
      var scl = [Float](repeating: 0, count: plane)
      try scl.withUnsafeMutableBufferPointer { buffer in
        try render(mask, sample: sample, decoder: decoder, nearest: true, into: buffer)
      }
      let cloudy = scl.reduce(0) { count, v in
        count + ((v == 3 || v == 8 || v == 9 || v == 10) ? 1 : 0)
      }
      if Double(cloudy) > filter.maxCloud * Double(plane) {
        return .rejected(reason: "cloud")
      }
    }
    return .accepted
  }

  /// The asset window's values (row-major `width × height`, NaN for nodata and outside the
  /// image), assembled from cached tiles and newly decoded ones (which are cached).
  func windowValues(_ asset: FetchedAsset, decoder: TileDecoder) throws -> [Float] {
    var tiles = asset.hits
    let tw = asset.tileWidth
    let th = asset.tileHeight
    if let plan = asset.missingPlan, let blocks = asset.missingBlocks {
      let raster = try asset.dataset.decode(plan, blocks, using: decoder)
      let values = RasterFloats.convert(raster, nodata: asset.dataset.nodata)
      let w = plan.window
      // Not when the cache was switched off since the fetch (it was emptied then).
      let caching = asset.cachesTiles && (tileReuse?.isActive ?? true)
      // Split the decoded box into tiles and cache them.
      var ty = w.y
      while ty < w.y + w.height {
        let h = min(th, w.y + w.height - ty)
        var tx = w.x
        while tx < w.x + w.width {
          let tileW = min(tw, w.x + w.width - tx)
          var tile = [Float](repeating: 0, count: tileW * h)
          for r in 0..<h {
            let src = (ty - w.y + r) * w.width + (tx - w.x)
            for c in 0..<tileW { tile[r * tileW + c] = values[src + c] }
          }
          let key = TileKey(href: asset.reader.href, column: tx / tw, row: ty / th)
          if caching { tileCache.put(key, tile, cost: tile.count * 4 + 64) }
          tiles[key] = tile
          tx += tileW
        }
        ty += h
      }
    }
    let image = try asset.dataset.image(overview: 0)
    var out = [Float](repeating: .nan, count: asset.width * asset.height)
    for (key, tile) in tiles {
      let tx = key.column * tw
      let ty = key.row * th
      // In-image tile extent (edge tiles are smaller).
      let ew = min(tw, image.width - tx)
      let eh = min(th, image.height - ty)
      let xa = max(tx, asset.u0)
      let xb = min(tx + ew, asset.u0 + asset.width)
      let ya = max(ty, asset.v0)
      let yb = min(ty + eh, asset.v0 + asset.height)
      guard xa < xb, ya < yb else { continue }
      for y in ya..<yb {
        let src = (y - ty) * ew + (xa - tx)
        let dst = (y - asset.v0) * asset.width + (xa - asset.u0)
        for k in 0..<(xb - xa) { out[dst + k] = tile[src + k] }
      }
    }
    return out
  }

  /// Writes the asset window's values (row-major `width × height`, NaN for nodata and outside
  /// the image) into `out`, converting each decoded block's overlap straight from its sample
  /// type (the path without a decoded-tile cache).
  func windowValuesDirect(
    _ asset: FetchedAsset, decoder: TileDecoder, into out: UnsafeMutableBufferPointer<Float>
  ) throws {
    precondition(out.count == asset.width * asset.height)
    out.update(repeating: .nan)
    guard let plan = asset.missingPlan, let blocks = asset.missingBlocks,
      let base = out.baseAddress
    else { return }
    let image = plan.image
    let nodata = asset.dataset.nodata
    let samples = image.interleave == .pixel ? image.samplesPerPixel : 1
    let sample = image.interleave == .pixel ? plan.bands[0] : 0
    let w = asset.width
    // Sparse blocks read as the fill value: nodata (NaN here), or 0 without nodata.
    if nodata == nil {
      for block in plan.blocks where block.range == nil {
        for r in 0..<block.copyHeight {
          (base + (block.destinationY + r) * w + block.destinationX).update(
            repeating: 0, count: block.copyWidth)
        }
      }
    }
    try asset.dataset.forEachDecodedBlock(plan, blocks, using: decoder) {
      block, decoded, rowBytes in
      guard let src = decoded.baseAddress else { return }
      for r in 0..<block.copyHeight {
        let row = src + (block.sourceY + r) * rowBytes
        RasterFloats.convertRow(
          row, type: image.sampleType, first: block.sourceX * samples + sample, stride: samples,
          count: block.copyWidth, nodata: nodata,
          into: base + (block.destinationY + r) * w + block.destinationX)
      }
    }
  }

  /// Decodes one asset and writes its values on the reference grid (NaN for nodata).
  func render(
    _ asset: FetchedAsset, sample: WindowSample, decoder: TileDecoder, nearest: Bool,
    into out: UnsafeMutableBufferPointer<Float>
  ) throws {
    let n = sample.size
    let w = asset.width
    let h = asset.height
    let r = asset.reader
    if asset.direct && r.isAligned {
      precondition(w == n && h == n)
      try windowValuesDirect(asset, decoder: decoder, into: out)
      return
    }
    let values: [Float]
    if asset.direct {
      var buffer = [Float](repeating: 0, count: w * h)
      try buffer.withUnsafeMutableBufferPointer {
        try windowValuesDirect(asset, decoder: decoder, into: $0)
      }
      values = buffer
    } else {
      values = try windowValues(asset, decoder: decoder)
    }
    if r.isAligned {
      precondition(w == n && h == n)
      _ = out.update(fromContentsOf: values)
      return
    }
    for i in 0..<n {
      let v = r.scaleY * (Double(sample.y + i) + 0.5) + r.offsetY - 0.5 - Double(asset.v0)
      for j in 0..<n {
        let u = r.scaleX * (Double(sample.x + j) + 0.5) + r.offsetX - 0.5 - Double(asset.u0)
        if nearest {
          let uu = min(max(Int((u + 0.5).rounded(.down)), 0), w - 1)
          let vv = min(max(Int((v + 0.5).rounded(.down)), 0), h - 1)
          out[i * n + j] = values[vv * w + uu]
        } else {
          let u0 = min(max(Int(u.rounded(.down)), 0), w - 1)
          let v0 = min(max(Int(v.rounded(.down)), 0), h - 1)
          let u1 = min(u0 + 1, w - 1)
          let v1 = min(v0 + 1, h - 1)
          let fu = Float(min(max(u - Double(u0), 0), 1))
          let fv = Float(min(max(v - Double(v0), 0), 1))
          let a = values[v0 * w + u0]
          let b = values[v0 * w + u1]
          let c = values[v1 * w + u0]
          let d = values[v1 * w + u1]
          // NaN propagates: a pixel touching nodata counts as nodata.
          out[i * n + j] = (a * (1 - fu) + b * fu) * (1 - fv) + (c * (1 - fu) + d * fu) * fv
        }
      }
    }
  }
}

@inline(__always)
func floorDiv(_ a: Int, _ b: Int) -> Int {
  a >= 0 ? a / b : -((-a + b - 1) / b)
}

/// Conversion of decoded rasters (any sample type) to Float32, with nodata as NaN.
enum RasterFloats {
  /// Converts `count` samples of a decoded row (`type`, starting at sample `first`, every
  /// `stride`-th) to Float at `dst`, nodata as NaN. The row must be aligned for its type (decoded
  /// blocks are).
  static func convertRow(
    _ src: UnsafeRawPointer, type: SampleType, first: Int, stride: Int, count: Int,
    nodata: Double?, into dst: UnsafeMutablePointer<Float>
  ) {
    let nd: Float? = nodata.flatMap { $0.isNaN ? nil : Float($0) }
    @inline(__always)
    func copy<T>(_: T.Type, _ f: (T) -> Float) {
      let s = src.assumingMemoryBound(to: T.self) + first
      if stride == 1 {
        for i in 0..<count { dst[i] = f(s[i]) }
      } else {
        for i in 0..<count { dst[i] = f(s[i * stride]) }
      }
    }
    switch type {
    case .uint8: copy(UInt8.self) { Float($0) }
    case .int8: copy(Int8.self) { Float($0) }
    case .uint16: copy(UInt16.self) { Float($0) }
    case .int16: copy(Int16.self) { Float($0) }
    case .uint32: copy(UInt32.self) { Float($0) }
    case .int32: copy(Int32.self) { Float($0) }
    case .float16: copy(UInt16.self) { Float(Float16(bitPattern: $0)) }
    case .float32: copy(Float.self) { $0 }
    case .float64: copy(Double.self) { Float($0) }
    }
    if let nd {
      for i in 0..<count where dst[i] == nd { dst[i] = .nan }
    }
  }

  static func convert(_ raster: Raster, nodata: Double?) -> [Float] {
    let count = raster.bands * raster.height * raster.width
    var out = [Float](repeating: 0, count: count)
    raster.bytes.withUnsafeBytes { raw in
      out.withUnsafeMutableBufferPointer { dst in
        func copy<T>(_: T.Type, _ f: (T) -> Float) {
          let src = raw.bindMemory(to: T.self)
          for i in 0..<count { dst[i] = f(src[i]) }
        }
        switch raster.sampleType {
        case .uint8: copy(UInt8.self) { Float($0) }
        case .int8: copy(Int8.self) { Float($0) }
        case .uint16: copy(UInt16.self) { Float($0) }
        case .int16: copy(Int16.self) { Float($0) }
        case .uint32: copy(UInt32.self) { Float($0) }
        case .int32: copy(Int32.self) { Float($0) }
        case .float16: copy(UInt16.self) { Float(Float16(bitPattern: $0)) }
        case .float32: copy(Float.self) { $0 }
        case .float64: copy(Double.self) { Float($0) }
        }
      }
    }
    if let nodata {
      if nodata.isNaN {
        // NaN already reads as NaN.
      } else {
        let nd = Float(nodata)
        for i in 0..<count where out[i] == nd { out[i] = .nan }
      }
    }
    return out
  }
}
