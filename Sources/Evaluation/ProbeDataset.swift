import Foundation
import GeoTIFF
import Pipeline
import RangeIO
import STAC
import TandemBase

/// The downstream task a probe is trained for.
public enum ProbeTask: String, Sendable, CaseIterable, Codable {
  /// Dominant land-cover class of a window (6 classes, `labels/landcover-TILE`).
  case landcover
  /// Per-pixel water mask on the S1 acquisition day (`labels/water-TILE-DATE`).
  case flood

  /// Class names in label order (label value − 1 for land cover, the value for water).
  public var classNames: [String] {
    switch self {
    case .landcover: ["water", "forest", "cropland", "grassland", "urban", "bare"]
    case .flood: ["land", "water"]
    }
  }

  /// The label asset key of the task's label items.
  var assetKey: String { self == .landcover ? "landcover" : "water" }

  /// Maps a raw label value to a class index, or −1 for no-data (255, −1, anything else).
  func classIndex(_ raw: Double) -> Int {
    switch self {
    case .landcover: return raw >= 1 && raw <= 6 && raw.rounded() == raw ? Int(raw) - 1 : -1
    case .flood: return raw == 0 || raw == 1 ? Int(raw) : -1
    }
  }
}

/// One labelled window: standardized S1 and S2 pixels (as `PairLoader` produces them for
/// training) and the per-pixel class indices (−1 = no data).
public struct ProbeWindow: Sendable {
  /// `tandem:tile` of the S1 item.
  public var tile: String
  /// S1 and S2 item ids of the pair the window was read from.
  public var s1ID: String
  public var s2ID: String
  /// Top-left corner in the S1 item's pixel grid and edge length.
  public var x: Int
  public var y: Int
  public var size: Int
  /// `[s1Channels, size, size]` and `[s2Channels, size, size]`, standardized.
  public var s1: [Float]
  public var s2: [Float]
  /// `[size, size]` class indices, −1 where the label is no-data.
  public var labels: [Int]

  /// Where a window is, independent of the acquisition date.
  public struct Location: Hashable, Comparable, Sendable {
    public var tile: String
    public var x: Int
    public var y: Int
    public static func < (a: Location, b: Location) -> Bool {
      (a.tile, a.y, a.x) < (b.tile, b.y, b.x)
    }
  }

  /// The window's location.
  public var location: Location { Location(tile: tile, x: x, y: y) }

  /// The most frequent valid class, or nil when fewer than half the pixels are labelled.
  public var dominantClass: Int? {
    var counts: [Int: Int] = [:]
    var valid = 0
    for l in labels where l >= 0 {
      counts[l, default: 0] += 1
      valid += 1
    }
    guard valid * 2 >= labels.count else { return nil }
    // Ties go to the smaller class index, so the result does not depend on dictionary order.
    return counts.max { a, b in a.value < b.value || (a.value == b.value && a.key > b.key) }?.key
  }
}

/// Labelled windows split by tile: `probe-train` tiles for fitting probes, `test` tiles for
/// scoring them. `pretrain` tiles are never read.
public struct ProbeSplit: Sendable {
  /// Windows of `probe-train` tiles.
  public var train: [ProbeWindow]
  /// Windows of `test` tiles.
  public var test: [ProbeWindow]
  /// Windows skipped, by reason (too much nodata or cloud, no label, …).
  public var skipped: [String: Int]

  /// Tiles the training windows come from.
  public var trainTiles: [String] { Array(Set(train.map(\.tile))).sorted() }
  /// Tiles the test windows come from.
  public var testTiles: [String] { Array(Set(test.map(\.tile))).sorted() }

  /// Windows read with `Normalization.identity` (units only, invalid pixels NaN) standardized
  /// with `normalization` exactly as `PairLoader` does — `(v − mean) · (1/std)`, S2 first
  /// scaled by `1/s2Scale` — and invalid pixels set to the standardized mean 0.
  /// `normalization` must use the same S1 units and S2 scale as the windows.
  public func standardized(with normalization: Normalization) -> ProbeSplit {
    func convert(_ w: ProbeWindow) -> ProbeWindow {
      var w = w
      let plane = w.size * w.size
      for c in 0..<(w.s1.count / plane) {
        let (mean, inv) = (normalization.s1Mean[c], 1 / normalization.s1Std[c])
        for i in (c * plane)..<((c + 1) * plane) {
          w.s1[i] = w.s1[i].isNaN ? 0 : (w.s1[i] - mean) * inv
        }
      }
      for c in 0..<(w.s2.count / plane) {
        let (mean, inv) = (normalization.s2Mean[c], 1 / normalization.s2Std[c])
        for i in (c * plane)..<((c + 1) * plane) {
          w.s2[i] = w.s2[i].isNaN ? 0 : (w.s2[i] - mean) * inv
        }
      }
      return w
    }
    return ProbeSplit(train: train.map(convert), test: test.map(convert), skipped: skipped)
  }

  /// Distinct locations (tile, x, y) of training and test windows: several pairs (dates) of one
  /// tile cover the same ground, so locations, not windows, are the independent samples.
  public var trainLocations: Int { Set(train.map(\.location)).count }
  public var testLocations: Int { Set(test.map(\.location)).count }

  /// The training windows of a seeded subset of `fraction` of the training locations (at least
  /// one); every window (date) of a chosen location is kept, so dates of one place never end up
  /// split between chosen and dropped. Order of the kept windows is unchanged.
  public func subsetOfTrainLocations(fraction: Double, seed: UInt64) -> [ProbeWindow] {
    let locations = Array(Set(train.map(\.location))).sorted()
    guard fraction < 1, !locations.isEmpty else { return train }
    // Rank locations by a seeded hash of their coordinates: the subset for a smaller fraction
    // is contained in the subset for a larger one.
    func rank(_ l: ProbeWindow.Location) -> UInt64 {
      var g = SeededGenerator(seed: seed, stream: 0x4652_4143, UInt64(l.x), UInt64(l.y))
      var h = g.next()
      for byte in l.tile.utf8 { h = (h ^ UInt64(byte)) &* 0x100_0000_01B3 }
      return h
    }
    let keep = max(1, Int((fraction * Double(locations.count)).rounded(.down)))
    let chosen = Set(locations.sorted { (rank($0), $0) < (rank($1), $1) }.prefix(keep))
    return train.filter { chosen.contains($0.location) }
  }
}

/// Builds probe windows from a catalog with `labels` items (see `Docs/EVALUATION.md`).
public enum ProbeDatasetBuilder {
  /// Reads every window of a non-overlapping `windowSize` grid over each usable pair whose S1
  /// item is on a `probe-train` or `test` tile, with the label raster of `task` for that tile
  /// (land cover) or that S1 day (flood).
  ///
  /// - Parameters:
  ///   - items: the catalog's items (imagery and labels), as `STACLoader` returns them.
  ///   - requireClearS2: reject windows whose S2 is cloudy (probes on S2); S1-only probes keep them.
  public static func build(
    task: ProbeTask, dataset: PairDataset, items: [Item], normalization: Normalization,
    windowSize: Int, sourceOptions: SourceOptions, requireClearS2: Bool,
    keepsInvalidAsNaN: Bool = false
  ) async throws -> ProbeSplit {
    var byID: [String: Item] = [:]
    for item in items where byID[item.id] == nil { byID[item.id] = item }
    let labelItems = items.filter { item in item.assets.contains { $0.key == task.assetKey } }
    let loader = PairLoader(
      dataset: dataset, windowSize: windowSize, normalization: normalization,
      filter: WindowFilter(maxNodata: 0.2, maxCloud: requireClearS2 ? 0.2 : 1),
      sourceOptions: sourceOptions, workers: 1, keepsInvalidAsNaN: keepsInvalidAsNaN)
    var labelDatasets: [String: COGDataset] = [:]
    var split = ProbeSplit(train: [], test: [], skipped: [:])
    var slot = 0
    for (r, region) in dataset.regions.enumerated() {
      guard let s1 = byID[region.s1ID] else {
        throw PipelineError(location: dataset.catalog, message: "S1 item \(region.s1ID) not found")
      }
      guard let tile = s1.properties["tandem:tile"]?.stringValue,
        let role = s1.properties["tandem:role"]?.stringValue
      else {
        throw PipelineError(
          location: s1.sourceURL ?? region.s1ID,
          message: "no tandem:tile / tandem:role property; the split by tile needs them")
      }
      guard role == "probe-train" || role == "test" else { continue }
      guard let labelItem = labelItem(for: task, s1: s1, tile: tile, in: labelItems),
        let asset = labelItem.assets.first(where: { $0.key == task.assetKey })
      else {
        split.skipped["no \(task.assetKey) label for \(region.s1ID)", default: 0] += 1
        continue
      }
      // Labels are read on the S1 grid: the label raster must share it.
      let labelProjection = labelItem.projection(of: asset)
      let s1Href = region.s1.first?.href
      guard let s1Asset = s1.assets.first(where: { s1.resolvedHref(of: $0) == s1Href }),
        let reader = region.s1.first, reader.isAligned,
        sameGrid(labelProjection, s1.projection(of: s1Asset))
      else {
        throw PipelineError(
          location: labelItem.sourceURL ?? labelItem.id,
          message:
            "label grid differs from the S1 grid of \(region.s1ID) (resampling labels is not supported)"
        )
      }
      let href = labelItem.resolvedHref(of: asset)
      let labels: COGDataset
      if let open = labelDatasets[href] {
        labels = open
      } else {
        labels = try await COGDataset.open(
          try ByteSources.open(href, options: sourceOptions), headerSize: asset.headerSize)
        labelDatasets[href] = labels
      }
      let plane = windowSize * windowSize
      for y in stride(from: 0, through: region.height - windowSize, by: windowSize) {
        for x in stride(from: 0, through: region.width - windowSize, by: windowSize) {
          let sample = WindowSample(region: r, x: x, y: y, size: windowSize, slot: slot)
          slot += 1
          var a = [Float](repeating: 0, count: region.s1.count * plane)
          var b = [Float](repeating: 0, count: region.s2.count * plane)
          let fetched = try await loader.fetch(sample)
          let verdict = try a.withUnsafeMutableBufferPointer { pa in
            try b.withUnsafeMutableBufferPointer { pb in
              try loader.decode(fetched, sample: sample, worker: 0, into: [pa, pb])
            }
          }
          if case .rejected(let reason) = verdict {
            split.skipped[reason, default: 0] += 1
            continue
          }
          // Position in the S1 item's pixel grid (the pair region may start inside it).
          let gridX = x + Int(reader.offsetX.rounded())
          let gridY = y + Int(reader.offsetY.rounded())
          let raster = try await labels.read(
            window: PixelWindow(x: gridX, y: gridY, width: windowSize, height: windowSize),
            bands: [0])
          var classes = [Int](repeating: -1, count: plane)
          for row in 0..<windowSize {
            for column in 0..<windowSize {
              classes[row * windowSize + column] = task.classIndex(
                raster.value(band: 0, row: row, column: column))
            }
          }
          let window = ProbeWindow(
            tile: tile, s1ID: region.s1ID, s2ID: region.s2ID, x: gridX, y: gridY, size: windowSize,
            s1: a, s2: b, labels: classes)
          if role == "test" { split.test.append(window) } else { split.train.append(window) }
        }
      }
    }
    return split
  }

  /// Land cover: the item of the same tile. Flood: the item whose `source` link names the S1 item.
  static func labelItem(for task: ProbeTask, s1: Item, tile: String, in labels: [Item]) -> Item? {
    switch task {
    case .landcover:
      return labels.first { $0.properties["tandem:tile"]?.stringValue == tile }
    case .flood:
      return labels.first { item in
        item.links.contains { link in
          link.rel == "source"
            && (link.title == s1.id || link.href.hasSuffix("/\(s1.id).json")
              || link.href.hasSuffix("/\(s1.id)/\(s1.id).json"))
        }
      }
    }
  }

  /// Same CRS, transform (to a millimetre) and shape.
  static func sameGrid(_ a: Projection, _ b: Projection) -> Bool {
    guard a.epsg == b.epsg, a.shape == b.shape, let ta = a.transform, let tb = b.transform,
      ta.count == tb.count
    else { return false }
    return zip(ta, tb).allSatisfy { abs($0 - $1) < 1e-3 }
  }
}
