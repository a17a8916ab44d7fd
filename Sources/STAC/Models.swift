import Foundation

/// A longitude/latitude position in degrees (WGS 84, GeoJSON axis order).
public struct LonLat: Sendable, Hashable, Codable {
  /// Longitude in degrees.
  public var lon: Double
  /// Latitude in degrees.
  public var lat: Double
  /// Creates a value from its parts.
  public init(_ lon: Double, _ lat: Double) {
    self.lon = lon
    self.lat = lat
  }
}

/// A GeoJSON geometry. Polygons and MultiPolygons are parsed into rings (`polygons`); other types
/// keep only their raw coordinates.
public struct Geometry: Sendable, Hashable {
  /// GeoJSON type, e.g. `Polygon`.
  public var type: String
  /// For Polygon/MultiPolygon: polygons → rings (outer first, then holes) → positions.
  public var polygons: [[[LonLat]]]
  /// The `coordinates` member as read.
  public var coordinates: JSONValue

  /// Creates a value from its parts.
  public init(type: String, polygons: [[[LonLat]]], coordinates: JSONValue) {
    self.type = type
    self.polygons = polygons
    self.coordinates = coordinates
  }

  /// A polygon geometry from one outer ring (closed automatically).
  public init(ring: [LonLat]) {
    var r = ring
    if let f = r.first, r.last != f { r.append(f) }
    type = "Polygon"
    polygons = [[r]]
    coordinates = .array([.array(r.map { .array([.double($0.lon), .double($0.lat)]) })])
  }
}

/// A bounding box: `[west, south, east, north]` (2D) or with min/max elevation (3D).
/// `west > east` means the box crosses the antimeridian.
public struct BBox: Sendable, Hashable, Codable {
  /// Western longitude (greater than `east` when crossing the antimeridian).
  public var west: Double
  /// Southern latitude.
  public var south: Double
  /// Eastern longitude.
  public var east: Double
  /// Northern latitude.
  public var north: Double

  /// Creates a value from its parts.
  public init(west: Double, south: Double, east: Double, north: Double) {
    self.west = west
    self.south = south
    self.east = east
    self.north = north
  }

  /// Whether the box crosses the antimeridian (`west > east`).
  public var crossesAntimeridian: Bool { west > east }
}

/// A band description from `eo:bands` (STAC 1.0) or `bands` (STAC 1.1).
public struct Band: Sendable, Hashable, Codable {
  /// `name`, e.g. `B04`.
  public var name: String?
  /// `eo:common_name` / `common_name`, e.g. `red`.
  public var commonName: String?

  /// Creates a value from its parts.
  public init(name: String?, commonName: String?) {
    self.name = name
    self.commonName = commonName
  }
}

/// Projection-extension fields (`proj:*`) of an item or an asset.
public struct Projection: Sendable, Hashable, Codable {
  /// EPSG code from `proj:epsg` or from a `proj:code` of the form `EPSG:n`.
  public var epsg: Int?
  /// `proj:code` as written (may name another authority), or `EPSG:n` built from `proj:epsg`.
  public var code: String?
  /// `proj:transform`: the first six affine coefficients `[a, b, c, d, e, f]` with
  /// `x = a·col + b·row + c`, `y = d·col + e·row + f` (GDAL order differs; this is STAC's).
  public var transform: [Double]?
  /// `proj:shape`: `[rows, cols]`.
  public var shape: [Int]?
  /// `proj:bbox` in the projection's units.
  public var bbox: [Double]?

  /// Creates a value from its parts.
  public init(
    epsg: Int? = nil, code: String? = nil, transform: [Double]? = nil, shape: [Int]? = nil,
    bbox: [Double]? = nil
  ) {
    self.epsg = epsg
    self.code = code
    self.transform = transform
    self.shape = shape
    self.bbox = bbox
  }

  /// Whether no field is set.
  public var isEmpty: Bool {
    epsg == nil && code == nil && transform == nil && shape == nil && bbox == nil
  }

  /// A canonical CRS name (`EPSG:32633`), or `nil` when unknown.
  public var crs: String? {
    if let epsg { return "EPSG:\(epsg)" }
    return code
  }

  /// These fields, with unset ones taken from `fallback` (asset-level fields override the item's).
  public func overriding(_ fallback: Projection) -> Projection {
    var p = self
    if p.epsg == nil && p.code == nil {
      p.epsg = fallback.epsg
      p.code = fallback.code
    }
    p.transform = p.transform ?? fallback.transform
    p.shape = p.shape ?? fallback.shape
    p.bbox = p.bbox ?? fallback.bbox
    return p
  }
}

/// A link object (`rel`, `href`, and for STAC API paging `method`, `body`, `merge`, `headers`).
public struct Link: Sendable, Hashable {
  /// Relation type (`self`, `child`, `item`, `next`, …).
  public var rel: String
  /// Target URL or path as written.
  public var href: String
  /// Media type.
  public var type: String?
  /// Human-readable title.
  public var title: String?
  /// HTTP method for API links; `nil` means GET.
  public var method: String?
  /// Request body for POST links.
  public var body: JSONValue?
  /// Whether `body` is merged into the previous request's body (STAC API paging).
  public var merge: Bool
  /// Extra request headers.
  public var headers: JSONObject?
  /// Members not modelled above.
  public var extra: JSONObject

  /// Creates a value from its parts.
  public init(
    rel: String, href: String, type: String? = nil, title: String? = nil, method: String? = nil,
    body: JSONValue? = nil, merge: Bool = false, headers: JSONObject? = nil,
    extra: JSONObject = JSONObject()
  ) {
    self.rel = rel
    self.href = href
    self.type = type
    self.title = title
    self.method = method
    self.body = body
    self.merge = merge
    self.headers = headers
    self.extra = extra
  }
}

/// An asset: one file of an item, under its key (`vv`, `B04`, `red`, …).
public struct Asset: Sendable, Hashable {
  /// The key in the item's `assets` object.
  public var key: String
  /// `href` as written (may be relative; see ``Item/resolvedHref(of:)``).
  public var href: String
  /// Media type.
  public var type: String?
  /// Human-readable title.
  public var title: String?
  /// Asset roles (`data`, `metadata`, `thumbnail`, …).
  public var roles: [String]
  /// `eo:bands` or STAC 1.1 `bands`.
  public var bands: [Band]
  /// Asset-level `proj:*` fields only (see ``Item/projection(of:)`` for the effective ones).
  public var projection: Projection
  /// Asset-level `sar:polarizations`.
  public var polarizations: [String]?
  /// `file:header_size`: bytes needed to read the file's header, when the catalog says.
  public var headerSize: Int?
  /// All members of the asset object as read (including the ones modelled above).
  public var fields: JSONObject

  /// Creates a value from its parts.
  public init(
    key: String, href: String, type: String? = nil, title: String? = nil, roles: [String] = [],
    bands: [Band] = [], projection: Projection = Projection(), polarizations: [String]? = nil,
    headerSize: Int? = nil, fields: JSONObject = JSONObject()
  ) {
    self.key = key
    self.href = href
    self.type = type
    self.title = title
    self.roles = roles
    self.bands = bands
    self.projection = projection
    self.polarizations = polarizations
    self.headerSize = headerSize
    self.fields = fields
  }
}

/// A STAC Item (GeoJSON Feature).
public struct Item: Sendable, Hashable {
  /// Identifier.
  public var id: String
  /// Collection id.
  public var collection: String?
  /// `stac_version`.
  public var stacVersion: String?
  /// `stac_extensions` schema URLs.
  public var stacExtensions: [String]
  /// `nil` when the geometry is `null` (or absent, which is tolerated with a warning).
  public var geometry: Geometry?
  /// Bounding box.
  public var bbox: BBox?
  /// `properties.datetime`; `nil` only when `start_datetime` and `end_datetime` are both set.
  public var datetime: Date?
  /// `properties.start_datetime`.
  public var startDatetime: Date?
  /// `properties.end_datetime`.
  public var endDatetime: Date?
  /// Item-level `proj:*` fields.
  public var projection: Projection
  /// All properties as read, including extension fields (`sar:*`, `s2:*`, …).
  public var properties: JSONObject
  /// Assets in document order.
  public var assets: [Asset]
  /// Links in document order.
  public var links: [Link]
  /// Top-level members not modelled above.
  public var extra: JSONObject
  /// The document this item was read from, used to resolve relative hrefs.
  public var sourceURL: String?

  /// Creates a value from its parts.
  public init(
    id: String, collection: String? = nil, stacVersion: String? = "1.0.0",
    stacExtensions: [String] = [], geometry: Geometry? = nil, bbox: BBox? = nil,
    datetime: Date? = nil, startDatetime: Date? = nil, endDatetime: Date? = nil,
    projection: Projection = Projection(), properties: JSONObject = JSONObject(),
    assets: [Asset] = [], links: [Link] = [], extra: JSONObject = JSONObject(),
    sourceURL: String? = nil
  ) {
    self.id = id
    self.collection = collection
    self.stacVersion = stacVersion
    self.stacExtensions = stacExtensions
    self.geometry = geometry
    self.bbox = bbox
    self.datetime = datetime
    self.startDatetime = startDatetime
    self.endDatetime = endDatetime
    self.projection = projection
    self.properties = properties
    self.assets = assets
    self.links = links
    self.extra = extra
    self.sourceURL = sourceURL
  }

  /// The instant used for pairing: `datetime`, else the midpoint of start/end.
  public var nominalDate: Date? {
    if let datetime { return datetime }
    if let s = startDatetime, let e = endDatetime {
      return Date(timeIntervalSince1970: (s.timeIntervalSince1970 + e.timeIntervalSince1970) / 2)
    }
    return startDatetime ?? endDatetime
  }

  /// The asset under `key`, if any.
  public func asset(_ key: String) -> Asset? { assets.first { $0.key == key } }

  /// `properties.platform` (e.g. `sentinel-2a`).
  public var platform: String? { properties["platform"]?.stringValue }
  /// `properties.constellation` (e.g. `sentinel-1`).
  public var constellation: String? { properties["constellation"]?.stringValue }
  /// `eo:cloud_cover` in percent.
  public var cloudCover: Double? { properties["eo:cloud_cover"]?.doubleValue }
  /// Item-level `sar:polarizations`.
  public var polarizations: [String]? {
    properties["sar:polarizations"]?.arrayValue?.compactMap(\.stringValue)
  }
  /// `sat:orbit_state` (`ascending` / `descending`).
  public var orbitState: String? { properties["sat:orbit_state"]?.stringValue }
  /// Item-level `eo:bands` / `bands`.
  public var bands: [Band] {
    STACDecoder.bands(in: properties)
  }

  /// The effective projection of an asset: its own `proj:*` fields over the item's.
  public func projection(of asset: Asset) -> Projection {
    asset.projection.overriding(projection)
  }

  /// The asset's href resolved against the document the item came from.
  public func resolvedHref(of asset: Asset) -> String {
    guard let sourceURL else { return asset.href }
    return Href.resolve(asset.href, against: sourceURL)
  }

  /// The first link with `rel`.
  public func link(_ rel: String) -> Link? { links.first { $0.rel == rel } }
}

/// A FeatureCollection of items (an API search page, a static item collection, a bare JSON array
/// of items, or newline-delimited items).
public struct ItemCollection: Sendable, Hashable {
  /// Items in document order.
  public var items: [Item]
  /// Links in document order.
  public var links: [Link]
  /// Top-level members not modelled (`context`, `numberMatched`, …).
  public var extra: JSONObject
  /// Items that failed to decode and were skipped (only with ``DecodeOptions/skipInvalidItems``).
  public var skipped: [STACWarning]

  /// Creates a value from its parts.
  public init(
    items: [Item], links: [Link] = [], extra: JSONObject = JSONObject(), skipped: [STACWarning] = []
  ) {
    self.items = items
    self.links = links
    self.extra = extra
    self.skipped = skipped
  }

  /// The `next` link, if any.
  public var nextLink: Link? { links.first { $0.rel == "next" } }

  /// `numberMatched` (STAC API 1.0), else the Context extension's `context.matched`.
  public var numberMatched: Int? {
    extra["numberMatched"]?.intValue ?? extra["context"]?["matched"]?.intValue
  }
}

/// A STAC Catalog.
public struct Catalog: Sendable, Hashable {
  /// Identifier.
  public var id: String
  /// Human-readable title.
  public var title: String?
  /// Description.
  public var description: String?
  /// `stac_version`.
  public var stacVersion: String
  /// Links in document order.
  public var links: [Link]
  /// Members not modelled above.
  public var extra: JSONObject

  /// Creates a value from its parts.
  public init(
    id: String, title: String? = nil, description: String? = nil, stacVersion: String = "1.0.0",
    links: [Link] = [], extra: JSONObject = JSONObject()
  ) {
    self.id = id
    self.title = title
    self.description = description
    self.stacVersion = stacVersion
    self.links = links
    self.extra = extra
  }
}

/// A STAC Collection: a catalog with extent, licence and summaries.
public struct Collection: Sendable, Hashable {
  /// Identifier.
  public var id: String
  /// Human-readable title.
  public var title: String?
  /// Description.
  public var description: String?
  /// `stac_version`.
  public var stacVersion: String
  /// `license` (SPDX id or `various`/`proprietary`).
  public var license: String?
  /// `extent` as read.
  public var extent: JSONValue?
  /// Links in document order.
  public var links: [Link]
  /// Members not modelled above (`summaries`, `item_assets`, …).
  public var extra: JSONObject

  /// Creates a value from its parts.
  public init(
    id: String, title: String? = nil, description: String? = nil, stacVersion: String = "1.0.0",
    license: String? = nil, extent: JSONValue? = nil, links: [Link] = [],
    extra: JSONObject = JSONObject()
  ) {
    self.id = id
    self.title = title
    self.description = description
    self.stacVersion = stacVersion
    self.license = license
    self.extent = extent
    self.links = links
    self.extra = extra
  }
}

/// Any STAC document.
public enum STACDocument: Sendable, Hashable {
  case item(Item)
  case itemCollection(ItemCollection)
  case catalog(Catalog)
  case collection(Collection)

  /// The document's links.
  public var links: [Link] {
    switch self {
    case .item(let i): i.links
    case .itemCollection(let c): c.links
    case .catalog(let c): c.links
    case .collection(let c): c.links
    }
  }

  /// `Item`, `ItemCollection`, `Catalog` or `Collection`.
  public var kind: String {
    switch self {
    case .item: "Item"
    case .itemCollection: "ItemCollection"
    case .catalog: "Catalog"
    case .collection: "Collection"
    }
  }
}
