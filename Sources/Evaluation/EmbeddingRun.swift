import Foundation
import NN
import Pairing
import Pipeline
import RangeIO
import STAC
import TandemBase
import Training

/// Which encoders `tandem embed` runs.
public enum EmbeddingModalities: String, Sendable, CaseIterable {
  case s1, s2, both

  /// The encoders, S1 first.
  public var modalities: [Modality] {
    switch self {
    case .s1: [.s1]
    case .s2: [.s2]
    case .both: [.s1, .s2]
    }
  }
}

/// Everything `tandem embed` needs, as values.
public struct EmbeddingRequest: Sendable {
  /// `RUN_DIR` of a `tandem train` run, or `random`.
  public var checkpoint: String
  /// STAC catalog with S1/S2 imagery.
  public var catalog: String
  /// Output directory.
  public var output: String
  /// Encoders to run (nil: both for a multimodal run or random, the run's own for SimCLR).
  public var modalities: EmbeddingModalities?
  /// Window edge (nil: the run's `--size`; 128 for random) and grid step (nil: the edge).
  public var windowSize: Int?
  public var stride: Int?
  /// `KEY=VALUE` item property filters, as `tandem train --where`.
  public var itemFilters: [String]
  /// Windows per encoder forward pass.
  public var batch: Int
  /// Model size and seed of `random`.
  public var model: ModelSize?
  public var seed: UInt64
  /// I/O options for the catalog and COGs.
  public var sourceOptions: SourceOptions

  /// Creates a request.
  public init(
    checkpoint: String, catalog: String, output: String, modalities: EmbeddingModalities? = nil,
    windowSize: Int? = nil, stride: Int? = nil, itemFilters: [String] = [], batch: Int = 16,
    model: ModelSize? = nil, seed: UInt64 = 0, sourceOptions: SourceOptions = SourceOptions()
  ) {
    self.checkpoint = checkpoint
    self.catalog = catalog
    self.output = output
    self.modalities = modalities
    self.windowSize = windowSize
    self.stride = stride
    self.itemFilters = itemFilters
    self.batch = batch
    self.model = model
    self.seed = seed
    self.sourceOptions = sourceOptions
  }
}

/// What one `tandem embed` wrote (also saved as `DIR/summary.json`).
public struct EmbeddingSummary: Sendable, Codable, Equatable {
  public var checkpoint: String
  /// `RUN/step-N` or `random(seed N)`.
  public var origin: String
  public var modalities: [String]
  public var windowSize: Int
  public var stride: Int
  public var featureDimension: Int
  /// Usable S1/S2 pairs and grid windows over them.
  public var pairs: Int
  public var windows: Int
  /// Rows written (windows accepted) and windows skipped, by reason.
  public var rows: Int
  public var skipped: [String: Int]
  /// Files written, relative to the output directory.
  public var files: [String]
  public var seconds: Double

  enum CodingKeys: String, CodingKey {
    case checkpoint, origin, modalities, stride, pairs, windows, rows, skipped, files, seconds
    case windowSize = "window_size"
    case featureDimension = "feature_dimension"
  }
}

/// `tandem embed`: pooled encoder features for every window of a grid over every usable pair,
/// streamed to `.npy` files and a JSON Lines index with bounded memory.
///
/// Memory: two batch buffers (`batch × channels × size²`), up to ``prefetch`` fetched windows, the
/// loader's compressed (64 MiB) and decoded (256 MiB) tile caches, and one batch of index lines;
/// rows go to disk after every batch.
public enum EmbeddingRun {
  /// Windows fetched ahead of the one being decoded.
  public static let prefetch = 8

  /// `embeddings-MOD.npy` for each modality.
  public static func embeddingsFile(_ modality: Modality) -> String {
    "embeddings-\(modality.rawValue).npy"
  }

  /// Loads the encoder(s), reads the grid and writes `embeddings-*.npy`, `index.jsonl` and
  /// `summary.json` into the output directory. `log` gets progress. When `stop` is set the run
  /// ends after the current window with ``EmbeddingInterrupted``, and its temporary files are
  /// deleted (no output file is written or replaced).
  public static func run(
    _ request: EmbeddingRequest, stop: StopFlag? = nil, log: (String) -> Void = { _ in }
  ) async throws -> EmbeddingSummary {
    let started = Date()
    let isRandom = request.checkpoint == "random"
    // Encoders.
    var modalities = request.modalities?.modalities ?? []
    if request.modalities == nil {
      if !isRandom, let config = try? Self.runConfig(request.checkpoint), config.mode == .simclr {
        modalities = [config.modality]
      } else {
        modalities = [.s1, .s2]
      }
    }
    let encoders: [FrozenEncoder] = try modalities.map { m in
      isRandom
        ? FrozenEncoder.random(
          model: request.model ?? .small, modality: m, s2Bands: TrainingConfig().s2Bands,
          seed: request.seed)
        : try FrozenEncoder.load(runDirectory: request.checkpoint, modality: m)
    }
    let config = encoders[0].config
    let size = request.windowSize ?? (isRandom ? 128 : config.size)
    let stride = request.stride ?? size
    guard size >= 16 && size % 16 == 0 else {
      throw TrainingError(
        path: request.checkpoint, reason: "window size \(size) is not a multiple of 16")
    }
    guard stride >= 1, request.batch >= 1 else {
      throw TrainingError(path: request.checkpoint, reason: "stride and batch must be positive")
    }

    let dataset = try await config.openPairs(
      catalog: request.catalog, sourceOptions: request.sourceOptions,
      itemFilters: request.itemFilters)
    let items = try await STACLoader(
      fetcher: ByteSourceFetcher(options: request.sourceOptions),
      options: LoadOptions(remote: request.sourceOptions.remote)
    )
    .loadItems(from: request.catalog).items
    var tiles: [String: String] = [:]
    for item in items where tiles[item.id] == nil {
      if let tile = item.properties["tandem:tile"]?.stringValue { tiles[item.id] = tile }
    }
    let normalization = try await Self.normalization(
      request: request, dataset: dataset, size: size, isRandom: isRandom, log: log)
    let filter = WindowFilter(maxNodata: 0.2, maxCloud: modalities.contains(.s2) ? 0.2 : 1)
    let loader = PairLoader(
      dataset: dataset, windowSize: size, normalization: normalization, filter: filter,
      sourceOptions: request.sourceOptions, workers: 1, memoryCacheBytes: 64 << 20,
      decodedCacheBytes: 256 << 20)
    if isRandom {
      log("calibrating BatchNorm statistics of the random encoder(s) on up to 64 windows…")
      let windows = try await calibrationWindows(
        dataset: dataset, loader: loader, size: size, seed: request.seed)
      for e in encoders { e.calibrateBatchNorm(on: windows) }
    }

    // The grid, lazily: region by region, rows then columns.
    var geometry: [PairGeometry] = []
    for region in dataset.regions {
      guard let g = PairGeometry(region: region, index: dataset.index) else {
        throw PipelineError(
          location: dataset.catalog,
          message: "pair \(region.s1ID)/\(region.s2ID) has no S1 grid (proj:transform)")
      }
      geometry.append(g)
    }
    var totalWindows = 0
    for region in dataset.regions where region.width >= size && region.height >= size {
      totalWindows += ((region.width - size) / stride + 1) * ((region.height - size) / stride + 1)
    }
    log(
      "embedding \(totalWindows) windows (\(size) px, stride \(stride)) of \(dataset.regions.count) pairs "
        + "with the \(modalities.map(\.rawValue).joined(separator: "+")) encoder(s) from \(encoders[0].origin)…"
    )
    var sampleIterator = GridSamples(
      regions: dataset.regions.map { ($0.width, $0.height) }, size: size, stride: stride)

    // Writers (temporary files until the end).
    let featureDimension = encoders[0].featureDimension
    let writers = try modalities.map { m in
      try NPYRowWriter(
        path: request.output + "/" + embeddingsFile(m), columns: featureDimension)
    }
    let index = try StreamingFile(path: request.output + "/index.jsonl")

    // Batch buffers: decoded inputs of up to `batch` accepted windows.
    let s1Channels = loader.layout.channels[0]
    let s2Channels = loader.layout.channels[1]
    let plane = size * size
    let s1Batch = Tensor(shape: [request.batch, s1Channels, size, size])
    let s2Batch = Tensor(shape: [request.batch, s2Channels, size, size])
    var pending: [(sample: WindowSample, meta: JSONObject)] = []
    var rows = 0
    var skipped: [String: Int] = [:]

    func flush() throws {
      guard !pending.isEmpty else { return }
      let k = pending.count
      for (m, encoder) in zip(modalities, encoders) {
        let full = m == .s1 ? s1Batch : s2Batch
        let input: Tensor
        if k == request.batch {
          input = full
        } else {
          let channels = m == .s1 ? s1Channels : s2Channels
          input = Tensor(shape: [k, channels, size, size])
          input.data.update(from: full.data, count: k * channels * plane)
        }
        let features = encoder.encoder.forwardFeatures(input)
        precondition(features.count == k * featureDimension)
        try writers[modalities.firstIndex(of: m)!].append(
          UnsafeBufferPointer(start: features.data, count: features.count))
      }
      var bytes: [UInt8] = []
      for (i, p) in pending.enumerated() {
        var o = JSONObject([.init(key: "row", value: .int(Int64(rows + i)))])
        for member in p.meta { o[member.key] = member.value }
        JSONValue.object(o).write(to: &bytes)
        bytes.append(0x0A)
      }
      try index.append(bytes)
      rows += k
      pending.removeAll(keepingCapacity: true)
    }

    var inFlight: [(WindowSample, Task<PairLoader.Fetched, any Error>)] = []
    func refill() {
      while inFlight.count < prefetch, let sample = sampleIterator.next() {
        inFlight.append((sample, Task { try await loader.fetch(sample) }))
      }
    }
    defer { for (_, task) in inFlight { task.cancel() } }
    refill()
    var done = 0
    while !inFlight.isEmpty {
      if stop?.isSet == true {
        throw EmbeddingInterrupted(output: request.output, windows: done, total: totalWindows)
      }
      let (sample, task) = inFlight.removeFirst()
      refill()
      let fetched = try await task.value
      let k = pending.count
      let verdict = try loader.decode(
        fetched, sample: sample, worker: 0,
        into: [
          UnsafeMutableBufferPointer(
            start: s1Batch.data + k * s1Channels * plane, count: s1Channels * plane),
          UnsafeMutableBufferPointer(
            start: s2Batch.data + k * s2Channels * plane, count: s2Channels * plane),
        ])
      done += 1
      if case .rejected(let reason) = verdict {
        skipped[reason, default: 0] += 1
      } else {
        let region = dataset.regions[sample.region]
        pending.append(
          (
            sample,
            Self.indexEntry(
              sample: sample, region: region, geometry: geometry[sample.region],
              tile: tiles[region.s1ID])
          ))
        if pending.count == request.batch { try flush() }
      }
      if done % 500 == 0 { log("\(done)/\(totalWindows) windows, \(rows + pending.count) rows") }
    }
    try flush()

    for w in writers { try w.finish() }
    try index.finish()
    let files = modalities.map(embeddingsFile) + ["index.jsonl"]
    let summary = EmbeddingSummary(
      checkpoint: request.checkpoint, origin: encoders[0].origin,
      modalities: modalities.map(\.rawValue), windowSize: size, stride: stride,
      featureDimension: featureDimension, pairs: dataset.regions.count, windows: totalWindows,
      rows: rows, skipped: skipped, files: files, seconds: Date().timeIntervalSince(started))
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    try AtomicFile.write(Array(try encoder.encode(summary)), to: request.output + "/summary.json")
    return summary
  }

  /// The index line of one window (without `row`).
  static func indexEntry(
    sample: WindowSample, region: PairRegion, geometry: PairGeometry, tile: String?
  ) -> JSONObject {
    var o = JSONObject()
    o["pair"] = .int(Int64(sample.region))
    o["s1"] = .string(region.s1ID)
    o["s2"] = .string(region.s2ID)
    if let tile { o["tile"] = .string(tile) }
    o["s1_datetime"] = .string(geometry.s1Datetime)
    o["s2_datetime"] = .string(geometry.s2Datetime)
    o["x"] = .int(Int64(geometry.column + sample.x))
    o["y"] = .int(Int64(geometry.row + sample.y))
    o["size"] = .int(Int64(sample.size))
    if let crs = geometry.crs { o["crs"] = .string(crs) }
    let native = geometry.crsBounds(x: sample.x, y: sample.y, size: sample.size)
    o["crs_bounds"] = .array(native.map { .double(($0 * 1000).rounded() / 1000) })
    if let wgs = GeographicBounds.wgs84(native, epsg: GeographicBounds.epsg(geometry.crs)) {
      o["bounds"] = .array(wgs.map { .double(($0 * 1e9).rounded() / 1e9) })
    } else {
      o["bounds"] = .null
    }
    return o
  }

  /// The run's `config.json`, or nil.
  static func runConfig(_ path: String) throws -> TrainingConfig? {
    let run = RunDirectory(path: path)
    guard FileManager.default.fileExists(atPath: run.configPath) else { return nil }
    return try run.loadConfig()
  }

  /// The run's saved normalization, or for `random` an estimate from 32 seeded windows (as
  /// `tandem train` and `tandem eval` do).
  static func normalization(
    request: EmbeddingRequest, dataset: PairDataset, size: Int, isRandom: Bool,
    log: (String) -> Void
  ) async throws -> Normalization {
    if isRandom {
      log("estimating per-band normalization from 32 windows…")
      return try await NormalizationEstimator.estimate(
        dataset: dataset, windowSize: size, samples: 32, seed: request.seed,
        sourceOptions: request.sourceOptions)
    }
    return try RunDirectory(path: request.checkpoint).loadNormalization(
      s1Channels: dataset.channels.s1, s2Channels: dataset.channels.s2)
  }

  /// Up to 64 accepted windows of the seeded sampler (first epoch), for BatchNorm calibration.
  static func calibrationWindows(
    dataset: PairDataset, loader: PairLoader, size: Int, seed: UInt64
  ) async throws -> [ProbeWindow] {
    let plan = WindowSampler.EpochPlan(
      sampler: dataset.sampler(windowSize: size, seed: seed ^ 0x4341_4C49), epoch: 0)
    let plane = size * size
    var windows: [ProbeWindow] = []
    var position = 0
    while windows.count < 64 && position < min(plan.count, 256) {
      let sample = plan.sample(position: position)
      position += 1
      var a = [Float](repeating: 0, count: loader.layout.channels[0] * plane)
      var b = [Float](repeating: 0, count: loader.layout.channels[1] * plane)
      let fetched = try await loader.fetch(sample)
      let verdict = try a.withUnsafeMutableBufferPointer { pa in
        try b.withUnsafeMutableBufferPointer { pb in
          try loader.decode(fetched, sample: sample, worker: 0, into: [pa, pb])
        }
      }
      guard verdict == .accepted else { continue }
      let region = dataset.regions[sample.region]
      windows.append(
        ProbeWindow(
          tile: "", s1ID: region.s1ID, s2ID: region.s2ID, x: sample.x, y: sample.y, size: size,
          s1: a, s2: b, labels: []))
    }
    return windows
  }
}

/// `tandem embed` was stopped (SIGINT/SIGTERM) before it finished; nothing was written.
public struct EmbeddingInterrupted: Error, CustomStringConvertible, Sendable {
  /// The output directory.
  public var output: String
  /// Windows read so far, of the grid's total.
  public var windows: Int
  public var total: Int

  public var description: String {
    "\(output): interrupted after \(windows) of \(total) windows; no output written "
      + "(temporary files removed)"
  }
}

/// The windows of a regular grid over each region, in region, row, column order.
struct GridSamples: IteratorProtocol {
  /// Width and height of each region.
  let regions: [(width: Int, height: Int)]
  let size: Int
  let stride: Int
  private var region = 0
  private var x = 0
  private var y = 0
  private var slot = 0

  init(regions: [(width: Int, height: Int)], size: Int, stride: Int) {
    self.regions = regions
    self.size = size
    self.stride = stride
  }

  mutating func next() -> WindowSample? {
    while region < regions.count {
      let r = regions[region]
      if y + size <= r.height && x + size <= r.width {
        let sample = WindowSample(region: region, x: x, y: y, size: size, slot: slot)
        slot += 1
        x += stride
        if x + size > r.width {
          x = 0
          y += stride
        }
        return sample
      }
      region += 1
      x = 0
      y = 0
    }
    return nil
  }
}
