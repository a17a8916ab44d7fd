import STAC
import TandemBase

/// Settings for pairing.
public struct PairingParameters: Sendable, Hashable, Codable {
  /// Largest |Δt| between the S1 and S2 acquisitions, in days (inclusive).
  public var maxDays: Double
  /// Largest S2 `eo:cloud_cover` in percent (inclusive). S2 items without cloud cover are
  /// skipped unless this is 100 or more.
  public var maxCloud: Double
  /// Smallest shared area as a fraction of the smaller footprint (inclusive; the shared area
  /// must also be positive).
  public var minOverlap: Double

  /// Creates a value from its parts.
  public init(maxDays: Double = 3, maxCloud: Double = 20, minOverlap: Double = 0.1) {
    self.maxDays = maxDays
    self.maxCloud = maxCloud
    self.minOverlap = minOverlap
  }

  enum CodingKeys: String, CodingKey {
    case maxDays = "max_days"
    case maxCloud = "max_cloud"
    case minOverlap = "min_overlap"
  }
}

/// Whether a pair's pixel windows are known.
public enum GridStatus: String, Sendable, Hashable, Codable {
  /// Every asset has `proj:*` grid info in one CRS; the windows are exact.
  case aligned
  /// Some asset lacks `proj:epsg`/`proj:transform`/`proj:shape` (e.g. S1 GRD in radar geometry).
  /// The pair is kept, windows are `nil`, and the consumer must georeference from the COG
  /// headers (and reject the pair there if the CRSs differ).
  case unknown
}

/// One asset of a pair: where to read it and which pixels cover the common footprint.
public struct PairedAsset: Sendable, Hashable, Codable {
  /// The channel (`VV`, `VH`, `B02`…).
  public var channel: String
  /// Asset key in the item.
  public var key: String
  /// Resolved href (URL or path) of the COG.
  public var href: String
  /// The asset's CRS (`EPSG:32633`), when known.
  public var crs: String?
  /// `proj:transform` (6 coefficients), when known.
  public var transform: [Double]?
  /// `proj:shape` `[rows, cols]`, when known.
  public var shape: [Int]?
  /// The common footprint as pixels of this asset's grid; `nil` when the grid is unknown.
  public var window: PixelWindow?
  /// `file:header_size`, to size the first read.
  public var headerSize: Int?

  /// Creates a value from its parts.
  public init(
    channel: String, key: String, href: String, crs: String?, transform: [Double]?, shape: [Int]?,
    window: PixelWindow?, headerSize: Int?
  ) {
    self.channel = channel
    self.key = key
    self.href = href
    self.crs = crs
    self.transform = transform
    self.shape = shape
    self.window = window
    self.headerSize = headerSize
  }

  enum CodingKeys: String, CodingKey {
    case channel, key, href, crs, transform, shape, window
    case headerSize = "header_size"
  }
}

/// One side of a pair.
public struct PairedItem: Sendable, Hashable, Codable {
  /// Identifier.
  public var id: String
  /// Collection id.
  public var collection: String?
  /// RFC 3339 acquisition time used for Δt.
  public var datetime: String
  /// `eo:cloud_cover`, for S2.
  public var cloudCover: Double?
  /// The assets in channel order (S1: VV, VH; S2: the configured bands).
  public var assets: [PairedAsset]

  /// Creates a value from its parts.
  public init(
    id: String, collection: String?, datetime: String, cloudCover: Double?, assets: [PairedAsset]
  ) {
    self.id = id
    self.collection = collection
    self.datetime = datetime
    self.cloudCover = cloudCover
    self.assets = assets
  }

  enum CodingKeys: String, CodingKey {
    case id, collection, datetime, assets
    case cloudCover = "cloud_cover"
  }
}

/// A usable S1/S2 pair: what the streaming pipeline consumes.
///
/// For every pair the pipeline reads, from each asset in `s1.assets` (VV, VH) and `s2.assets`
/// (bands), the pixels of `window`. All windows cover the same ground (the intersection of the
/// assets' grid extents, rounded inward to whole pixels in each grid), so windows sampled at the
/// same relative position line up across sensors as long as the grids share the CRS, which
/// `grid == .aligned` guarantees. With `grid == .unknown` the windows are `nil` and the pipeline
/// must derive them from the COG georeferencing.
public struct Pair: Sendable, Hashable, Codable {
  /// The Sentinel-1 side (VV, VH).
  public var s1: PairedItem
  /// The Sentinel-2 side (bands).
  public var s2: PairedItem
  /// S2 time minus S1 time, in hours (negative when S2 was earlier).
  public var deltaHours: Double
  /// Shared lon/lat footprint area as a fraction of the smaller footprint.
  public var overlap: Double
  /// The common CRS (`EPSG:32633`), when the grid is aligned.
  public var crs: String?
  /// Whether the windows are known (`aligned`) or must come from the COGs (`unknown`).
  public var grid: GridStatus
  /// The common area in CRS units `[minX, minY, maxX, maxY]`, when aligned.
  public var commonBounds: [Double]?

  /// Creates a value from its parts.
  public init(
    s1: PairedItem, s2: PairedItem, deltaHours: Double, overlap: Double, crs: String?,
    grid: GridStatus, commonBounds: [Double]?
  ) {
    self.s1 = s1
    self.s2 = s2
    self.deltaHours = deltaHours
    self.overlap = overlap
    self.crs = crs
    self.grid = grid
    self.commonBounds = commonBounds
  }

  enum CodingKeys: String, CodingKey {
    case s1, s2, overlap, crs, grid
    case deltaHours = "dt_hours"
    case commonBounds = "common_bounds"
  }
}

/// An item that took no part in pairing, and why.
public struct SkippedItem: Sendable, Hashable, Codable {
  /// Identifier.
  public var id: String
  /// Collection id.
  public var collection: String?
  /// Why it was skipped.
  public var reason: String

  /// Creates a value from its parts.
  public init(id: String, collection: String?, reason: String) {
    self.id = id
    self.collection = collection
    self.reason = reason
  }
}

/// The result of pairing a catalog.
public struct PairIndex: Sendable, Hashable, Codable {
  /// Settings used.
  public var parameters: PairingParameters
  /// Pairs ordered by S1 item, then S2 item, in catalog order.
  public var pairs: [Pair]
  /// Items not used (not S1/S2, missing assets, no footprint, no datetime, too cloudy).
  public var skipped: [SkippedItem]
  /// Pairs that matched in time, space and cloud but were rejected, by reason (e.g.
  /// `different CRS`), with counts.
  public var rejected: [String: Int]
  /// Usable S1 items.
  public var s1Items: Int
  /// Usable S2 items (after the cloud filter).
  public var s2Items: Int
  /// S1×S2 combinations examined exactly after the index pruned the rest.
  public var candidates: Int

  /// Creates a value from its parts.
  public init(
    parameters: PairingParameters, pairs: [Pair] = [], skipped: [SkippedItem] = [],
    rejected: [String: Int] = [:], s1Items: Int = 0, s2Items: Int = 0, candidates: Int = 0
  ) {
    self.parameters = parameters
    self.pairs = pairs
    self.skipped = skipped
    self.rejected = rejected
    self.s1Items = s1Items
    self.s2Items = s2Items
    self.candidates = candidates
  }

  /// Pairs whose windows are not known (grid fallback).
  public var gridUnknownCount: Int { pairs.filter { $0.grid == .unknown }.count }

  enum CodingKeys: String, CodingKey {
    case parameters, pairs, skipped, rejected, candidates
    case s1Items = "s1_items"
    case s2Items = "s2_items"
  }
}

// MARK: Fast JSON (the same text as JSONEncoder with sorted keys, several times faster)

extension PixelWindow {
  /// `{"height":…,"width":…,"x":…,"y":…}` (the keys of its Codable form, sorted).
  public var jsonValue: JSONValue {
    let members: [JSONObject.Member] = [
      .init(key: "height", value: .int(Int64(height))),
      .init(key: "width", value: .int(Int64(width))),
      .init(key: "x", value: .int(Int64(x))), .init(key: "y", value: .int(Int64(y))),
    ]
    return .object(JSONObject(members))
  }
}

extension PairedAsset {
  /// The asset as a JSON object with sorted keys (absent optionals omitted).
  public var jsonValue: JSONValue {
    var o: JSONObject = ["channel": .string(channel)]
    if let crs { o["crs"] = .string(crs) }
    if let headerSize { o["header_size"] = .int(Int64(headerSize)) }
    o["href"] = .string(href)
    o["key"] = .string(key)
    if let shape { o["shape"] = .array(shape.map { .int(Int64($0)) }) }
    if let transform { o["transform"] = .array(transform.map { .double($0) }) }
    if let window { o["window"] = window.jsonValue }
    return .object(o)
  }
}

extension PairedItem {
  /// The item side as a JSON object with sorted keys.
  public var jsonValue: JSONValue {
    var o: JSONObject = ["assets": .array(assets.map(\.jsonValue))]
    if let cloudCover { o["cloud_cover"] = .double(cloudCover) }
    if let collection { o["collection"] = .string(collection) }
    o["datetime"] = .string(datetime)
    o["id"] = .string(id)
    return .object(o)
  }
}

extension Pair {
  /// The pair as a JSON object with sorted keys, as written to `pairs.jsonl`.
  public var jsonValue: JSONValue {
    var o = JSONObject()
    if let commonBounds { o["common_bounds"] = .array(commonBounds.map { .double($0) }) }
    if let crs { o["crs"] = .string(crs) }
    o["dt_hours"] = .double(deltaHours)
    o["grid"] = .string(grid.rawValue)
    o["overlap"] = .double(overlap)
    o["s1"] = s1.jsonValue
    o["s2"] = s2.jsonValue
    return .object(o)
  }
}
