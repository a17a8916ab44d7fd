import Foundation
import GeoTIFF
import Pairing
import RangeIO
import STAC
import TandemBase

/// A failure to build the training data set: names the catalog or object and the cause.
public struct PipelineError: Error, CustomStringConvertible, Sendable {
  public var location: String
  public var message: String

  public init(location: String, message: String) {
    self.location = location
    self.message = message
  }

  public var description: String { Redaction.text("\(location): \(message)") }
}

/// One asset to read for a pair, with how its pixel grid relates to the pair's reference grid
/// (the S1 VV asset's window).
public struct AssetReader: Sendable, Hashable, Codable {
  /// Channel name (`VV`, `B04`, `SCL`).
  public var channel: String
  /// Resolved href of the COG.
  public var href: String
  /// STAC `file:header_size`, when given: sizes the first header read.
  public var headerSize: Int?
  /// Affine map from reference pixel coordinates to this asset's pixel coordinates:
  /// `u = scaleX * x + offsetX`, `v = scaleY * y + offsetY` (pixel corners, so pixel centres
  /// map with +0.5 on both sides).
  public var scaleX: Double
  public var offsetX: Double
  public var scaleY: Double
  public var offsetY: Double

  /// Largest ratio between a reference pixel and an asset pixel (either way) that is read:
  /// Sentinel-2's 10/20/60 m bands against 10 m S1 are within 6×.
  public static let maxScale = 16.0
  /// Largest offset, in asset pixels, between the reference grid and the asset's: far past any
  /// image, small enough that window corners computed from it stay exact in a Double.
  public static let maxOffset = Double(1 << 40)

  /// Whether the map is one a window can be read through: scales within 1/16…16 and finite
  /// offsets of sane size, so window corners and sizes stay small integers.
  public var hasPlausibleMapping: Bool {
    [scaleX, scaleY].allSatisfy { abs($0) >= 1 / Self.maxScale && abs($0) <= Self.maxScale }
      && [offsetX, offsetY].allSatisfy { abs($0) <= Self.maxOffset }
  }

  /// Whether reference pixels map one-to-one onto whole asset pixels (no resampling needed).
  public var isAligned: Bool {
    abs(scaleX - 1) < 1e-9 && abs(scaleY - 1) < 1e-9
      && abs(offsetX - offsetX.rounded()) < 1e-6 && abs(offsetY - offsetY.rounded()) < 1e-6
  }
}

/// A pair ready for sampling: its region (the common footprint in the reference grid) and the
/// assets to read.
public struct PairRegion: Sendable, Hashable, Codable {
  public var s1ID: String
  public var s2ID: String
  public var deltaHours: Double
  public var crs: String?
  /// Region size in reference pixels.
  public var width: Int
  public var height: Int
  /// S1 channels (VV, VH), S2 bands in the configured order.
  public var s1: [AssetReader]
  public var s2: [AssetReader]
  /// The S2 scene classification (SCL) asset when the item has one: used to reject cloudy
  /// windows (classes 3 shadow, 8–9 cloud, 10 cirrus).
  public var cloudMask: AssetReader?
}

/// How a pair data set is built from a catalog.
public struct PairDatasetOptions: Sendable {
  public var sourceOptions: SourceOptions
  public var pairing: PairingParameters
  public var rules: AssetRules
  public var load: LoadOptions
  /// `KEY=VALUE` conditions on item properties (e.g. `tandem:role=pretrain`): an item is used
  /// only if, for every key named, its property (as text) equals one of the values given for
  /// that key. Keeps pretraining off the locations an evaluation probes.
  public var itemFilters: [String]
  /// With the catalog a STAC API (landing page or `/search` URL): the item search to run.
  public var search: STACSearch?
  /// The search request's method (default: POST, or what the API's search link offers).
  public var searchMethod: STACSearch.Method?

  public init(
    sourceOptions: SourceOptions = SourceOptions(), pairing: PairingParameters = .init(),
    rules: AssetRules = AssetRules(), load: LoadOptions = LoadOptions(), itemFilters: [String] = [],
    search: STACSearch? = nil, searchMethod: STACSearch.Method? = nil
  ) {
    self.sourceOptions = sourceOptions
    self.pairing = pairing
    self.rules = rules
    self.load = load
    self.itemFilters = itemFilters
    self.search = search
    self.searchMethod = searchMethod
  }

  /// The filters as key → accepted values; `nil` with the offending text when malformed.
  public static func parseFilters(
    _ filters: [String]
  ) -> Result<[String: Set<String>], PipelineError> {
    var out: [String: Set<String>] = [:]
    for f in filters {
      guard let eq = f.firstIndex(of: "="), eq != f.startIndex else {
        return .failure(PipelineError(location: f, message: "item filter must be KEY=VALUE"))
      }
      out[String(f[..<eq]), default: []].insert(String(f[f.index(after: eq)...]))
    }
    return .success(out)
  }
}

/// The S1/S2 pairs of a catalog, turned into sampling regions with per-asset pixel mappings.
public struct PairDataset: Sendable {
  /// Where the catalog came from.
  public var catalog: String
  /// The pairing result (including skipped items and rejected pairs, for messages).
  public var index: PairIndex
  /// Usable pairs.
  public var regions: [PairRegion]
  /// Pairs left out after pairing, by reason (e.g. unknown grid, no transform).
  public var excluded: [String: Int]
  /// Which regions show the same place (their S2 items' footprints), for the shuffled-pairing
  /// control.
  public var places = PlaceMap()

  /// S1 and S2 channels of a sample, as ``PairLoader`` lays them out (the first region's;
  /// every region comes from the same asset rules).
  public var channels: (s1: Int, s2: Int) {
    (regions.first?.s1.count ?? 2, regions.first?.s2.count ?? 4)
  }

  /// Loads the catalog, pairs S1 with S2 items and prepares regions.
  public static func open(
    catalog: String, options: PairDatasetOptions
  ) async throws -> PairDataset {
    // The source options' remote-catalog policy governs the walk too (one policy per run).
    var load = options.load
    load.remote = options.sourceOptions.remote
    let loader = STACLoader(
      fetcher: STACDocumentFetcher(options: options.sourceOptions), options: load)
    let result: LoadResult
    if let search = options.search {
      // A search must come back whole: a page that fails fails the open.
      var strict = loader
      strict.options.failFast = true
      result = try await strict.loadItems(
        from: try await strict.searchRequest(search, at: catalog, method: options.searchMethod))
    } else {
      result = try await loader.loadItems(from: catalog)
    }
    let filters = try PairDatasetOptions.parseFilters(options.itemFilters).get()
    let items = result.items.filter { item in
      filters.allSatisfy { key, accepted in
        guard let value = item.properties[key] else { return false }
        let text =
          value.stringValue ?? value.intValue.map(String.init) ?? value.boolValue.map(String.init)
        return text.map(accepted.contains) ?? false
      }
    }
    let pairer = Pairer(
      parameters: options.pairing, selector: AssetSelector(rules: options.rules))
    let index = pairer.pair(items)
    var byID: [String: Item] = [:]
    for item in items { byID[(item.collection ?? "") + "\u{1}" + item.id] = item }
    var regions: [PairRegion] = []
    var footprints: [Footprint?] = []
    var excluded: [String: Int] = [:]
    for pair in index.pairs {
      switch region(for: pair, items: byID) {
      case .success(let r):
        regions.append(r)
        footprints.append(
          byID[(pair.s2.collection ?? "") + "\u{1}" + pair.s2.id].flatMap(Footprint.init(item:)))
      case .failure(let reason): excluded[reason.message, default: 0] += 1
      }
    }
    return PairDataset(
      catalog: catalog, index: index, regions: regions, excluded: excluded,
      places: PlaceMap(footprints: footprints))
  }

  /// A sampler over the regions.
  public func sampler(
    windowSize: Int, seed: UInt64, rank: Int = 0, worldSize: Int = 1
  )
    -> WindowSampler
  {
    WindowSampler(
      regions: regions.map { ($0.width, $0.height) }, windowSize: windowSize, seed: seed,
      rank: rank, worldSize: worldSize)
  }

  /// A human-readable account of why there are no (or few) usable pairs.
  public var rejectionSummary: String {
    var lines: [String] = []
    lines.append(
      "\(index.s1Items) usable S1 items, \(index.s2Items) usable S2 items, "
        + "\(index.pairs.count) pairs, \(regions.count) usable")
    var skipReasons: [String: Int] = [:]
    for s in index.skipped { skipReasons[s.reason, default: 0] += 1 }
    for (reason, n) in skipReasons.sorted(by: { $0.value > $1.value }).prefix(8) {
      lines.append("  skipped \(n) item(s): \(reason)")
    }
    for (reason, n) in index.rejected.sorted(by: { $0.value > $1.value }) {
      lines.append("  rejected \(n) pair(s): \(reason)")
    }
    for (reason, n) in excluded.sorted(by: { $0.value > $1.value }) {
      lines.append("  excluded \(n) pair(s): \(reason)")
    }
    let p = index.parameters
    lines.append(
      "  (thresholds: --max-days \(p.maxDays), --max-cloud \(p.maxCloud), "
        + "--min-overlap \(p.minOverlap))")
    return lines.joined(separator: "\n")
  }

  struct Reason: Error { var message: String }

  /// Maps every asset of `pair` into the S1 VV grid.
  static func region(for pair: Pair, items: [String: Item]) -> Result<PairRegion, Reason> {
    guard pair.grid == .aligned else {
      return .failure(Reason(message: "pixel grid unknown (no proj:transform/proj:shape)"))
    }
    guard let reference = pair.s1.assets.first, let rw = reference.window,
      let rt = reference.transform, rt.count >= 6
    else {
      return .failure(Reason(message: "S1 asset without a pixel window"))
    }
    guard rt[1] == 0, rt[3] == 0 else { return .failure(Reason(message: "rotated grid")) }
    func reader(_ a: PairedAsset) -> AssetReader? {
      guard let t = a.transform, t.count >= 6, t[1] == 0, t[3] == 0, t[0] != 0, t[4] != 0 else {
        return nil
      }
      // Reference pixel (x, y) inside the region → ground → this asset's pixel.
      // ground X = rt0 * (rw.x + x) + rt2 ; asset u = (X - t2) / t0.
      let sx = rt[0] / t[0]
      let ox = (rt[0] * Double(rw.x) + rt[2] - t[2]) / t[0]
      let sy = rt[4] / t[4]
      let oy = (rt[4] * Double(rw.y) + rt[5] - t[5]) / t[4]
      return AssetReader(
        channel: a.channel, href: a.href, headerSize: a.headerSize, scaleX: sx, offsetX: ox,
        scaleY: sy, offsetY: oy)
    }
    let s1 = pair.s1.assets.compactMap(reader)
    let s2 = pair.s2.assets.compactMap(reader)
    guard s1.count == pair.s1.assets.count, s2.count == pair.s2.assets.count else {
      return .failure(Reason(message: "asset without a usable proj:transform"))
    }
    var mask: AssetReader?
    if let item = items[(pair.s2.collection ?? "") + "\u{1}" + pair.s2.id],
      let scl = item.assets.first(where: { $0.key.uppercased() == "SCL" })
    {
      let projection = scl.projection.transform != nil ? scl.projection : item.projection
      if let t = projection.transform, t.count >= 6 {
        let base = item.sourceURL ?? ""
        let paired = PairedAsset(
          channel: "SCL", key: scl.key,
          href: base.isEmpty ? scl.href : Href.resolve(scl.href, against: base),
          crs: pair.crs, transform: t, shape: projection.shape, window: nil,
          headerSize: scl.headerSize)
        mask = reader(paired)
      }
    }
    // A pixel 1e9 times smaller than the reference pixel (a proj:transform with a tiny pixel
    // size) would make every window a terabyte read; such mappings are not resampled.
    for r in s1 + s2 + (mask.map { [$0] } ?? []) where !r.hasPlausibleMapping {
      return .failure(
        Reason(
          message:
            "asset pixel size more than \(Int(AssetReader.maxScale))× larger or smaller than the "
            + "S1 pixel (proj:transform)"))
    }
    return .success(
      PairRegion(
        s1ID: pair.s1.id, s2ID: pair.s2.id, deltaHours: pair.deltaHours, crs: pair.crs,
        width: rw.width, height: rw.height, s1: s1, s2: s2, cloudMask: mask))
  }
}
