import Foundation

/// How strictly documents are read.
public struct DecodeOptions: Sendable, Hashable {
  /// In an item collection, skip items that fail to decode (recording why in
  /// ``ItemCollection/skipped``) instead of failing the whole document.
  public var skipInvalidItems: Bool
  /// Size and nesting limits for the JSON.
  public var json: JSONLimits
  /// Most items in one document (an ItemCollection page, a bare array or newline-delimited
  /// items); more is a `.limitExceeded` error naming the document. The loader's
  /// ``LoadOptions/maxItems`` caps the items of a whole catalog walk instead (a soft stop).
  public var maxItemsPerDocument: Int

  /// Creates a value from its parts.
  public init(
    skipInvalidItems: Bool = false, json: JSONLimits = JSONLimits(),
    maxItemsPerDocument: Int = 1_000_000
  ) {
    self.skipInvalidItems = skipInvalidItems
    self.json = json
    self.maxItemsPerDocument = maxItemsPerDocument
  }
}

/// Turns JSON into STAC models, checking what matters (ids, datetimes, bboxes, asset hrefs,
/// `proj:*` shapes) and tolerating everything else: unknown fields and extensions are kept.
/// Every error names the document and the JSON path.
public struct STACDecoder {
  /// The document being decoded (path or URL), for messages and href resolution.
  public var location: String
  /// Options for opening sources (statistics, HTTP settings, cache).
  public var options: DecodeOptions
  /// Lenient parses (datetime without zone, missing geometry, …).
  public private(set) var warnings: [STACWarning] = []

  /// Creates a value from its parts.
  public init(location: String, options: DecodeOptions = DecodeOptions()) {
    self.location = location
    self.options = options
  }

  // MARK: Entry points

  /// Parses bytes and decodes whatever STAC document they hold. Newline-delimited items are
  /// recognised when the text holds several top-level objects, one per line.
  public mutating func decodeDocument(bytes: [UInt8]) throws(STACError) -> STACDocument {
    let value: JSONValue
    do {
      value = try JSONParser.parse(bytes, limits: options.json)
    } catch {
      if error.message.hasPrefix("unexpected data after") {
        let lines: [(line: Int, value: JSONValue)]?
        do {
          lines = try JSONParser.parseLines(bytes, limits: options.json)
        } catch let lineError where lineError.limit != nil {
          throw STACError(.limitExceeded, location: location, message: lineError.description)
        } catch {
          lines = nil
        }
        if let lines, lines.count > 1 {
          return .itemCollection(try decodeLines(lines))
        }
      }
      throw STACError(
        error.limit != nil ? .limitExceeded : .invalidJSON, location: location,
        message: error.description)
    }
    return try decodeDocument(value)
  }

  /// Decodes a parsed JSON value as the STAC document it is.
  public mutating func decodeDocument(_ value: JSONValue) throws(STACError) -> STACDocument {
    switch value {
    case .array(let elements):
      return .itemCollection(
        try decodeItemArray(elements, path: { .root }, links: [], extra: JSONObject()))
    case .object(let o):
      let type = o["type"]?.stringValue
      switch type {
      case "Feature": return .item(try decodeItem(value, path: .root))
      case "FeatureCollection": return .itemCollection(try decodeItemCollection(o))
      case "Catalog": return .catalog(try decodeCatalog(o))
      case "Collection": return .collection(try decodeCollection(o))
      case nil:
        // STAC < 1.0 catalogs and collections have no `type`.
        if o["extent"] != nil { return .collection(try decodeCollection(o)) }
        if o["links"] != nil && o["id"] != nil && o["assets"] == nil {
          return .catalog(try decodeCatalog(o))
        }
        if o["assets"] != nil || o["properties"] != nil {
          return .item(try decodeItem(value, path: .root))
        }
        throw STACError(
          .notSTAC, location: location, path: JSONPath.root.key("type"),
          message: "no 'type' member and not recognisable as a Catalog, Collection or Item")
      case let other?:
        throw STACError(
          .notSTAC, location: location, path: JSONPath.root.key("type"),
          message: "type '\(other)' is not Feature, FeatureCollection, Catalog or Collection")
      }
    default:
      throw STACError(
        .notSTAC, location: location, path: .root,
        message: "expected a JSON object or array, found \(value.kindName)")
    }
  }

  func checkItemCount(_ count: Int, path: JSONPath) throws(STACError) {
    guard count <= options.maxItemsPerDocument else {
      throw STACError(
        .limitExceeded, location: location, path: path,
        message:
          "\(count) items in one document, over \(options.maxItemsPerDocument) (limit maxItemsPerDocument)"
      )
    }
  }

  mutating func decodeLines(
    _ lines: [(line: Int, value: JSONValue)]
  ) throws(STACError)
    -> ItemCollection
  {
    try checkItemCount(lines.count, path: .root)
    var items: [Item] = []
    var skipped: [STACWarning] = []
    for (n, (_, value)) in lines.enumerated() {
      do {
        items.append(try item(value, path: { JSONPath.root.index(n) }))
      } catch {
        guard options.skipInvalidItems else { throw error }
        skipped.append(STACWarning(location: location, path: error.path, message: error.message))
      }
    }
    return ItemCollection(items: items, skipped: skipped)
  }

  mutating func decodeItemArray(
    _ elements: [JSONValue], path: () -> JSONPath, links: [Link], extra: JSONObject
  ) throws(STACError) -> ItemCollection {
    try checkItemCount(elements.count, path: path())
    var items: [Item] = []
    items.reserveCapacity(elements.count)
    var skipped: [STACWarning] = []
    for (i, element) in elements.enumerated() {
      do {
        items.append(try item(element, path: { path().index(i) }))
      } catch {
        guard options.skipInvalidItems else { throw error }
        skipped.append(
          STACWarning(
            location: location, path: error.path, message: "\(error.code): \(error.message)"))
      }
    }
    return ItemCollection(items: items, links: links, extra: extra, skipped: skipped)
  }

  /// Decodes a FeatureCollection object.
  public mutating func decodeItemCollection(_ o: JSONObject) throws(STACError) -> ItemCollection {
    guard let features = o["features"] else {
      throw fail(.missingField, .root, "FeatureCollection without 'features'")
    }
    guard case .array(let elements) = features else {
      throw fail(
        .invalidValue, JSONPath.root.key("features"),
        "expected an array, found \(features.kindName)")
    }
    let links = try decodeLinks(o["links"], path: { JSONPath.root.key("links") })
    return try decodeItemArray(
      elements, path: { JSONPath.root.key("features") }, links: links,
      extra: o.removing(["type", "features", "links"]))
  }

  /// Decodes a Catalog object.
  public mutating func decodeCatalog(_ o: JSONObject) throws(STACError) -> Catalog {
    let id = try requireID(o, path: { .root })
    guard let version = o["stac_version"]?.stringValue else {
      throw fail(
        .missingField, JSONPath.root.key("stac_version"), "Catalog '\(id)' has no stac_version")
    }
    return Catalog(
      id: id, title: o["title"]?.stringValue, description: o["description"]?.stringValue,
      stacVersion: version,
      links: try decodeLinks(o["links"], path: { JSONPath.root.key("links") }),
      extra: o.removing(["type", "id", "title", "description", "stac_version", "links"]))
  }

  /// Decodes a Collection object.
  public mutating func decodeCollection(_ o: JSONObject) throws(STACError) -> Collection {
    let id = try requireID(o, path: { .root })
    guard let version = o["stac_version"]?.stringValue else {
      throw fail(
        .missingField, JSONPath.root.key("stac_version"), "Collection '\(id)' has no stac_version")
    }
    return Collection(
      id: id, title: o["title"]?.stringValue, description: o["description"]?.stringValue,
      stacVersion: version, license: o["license"]?.stringValue, extent: o["extent"],
      links: try decodeLinks(o["links"], path: { JSONPath.root.key("links") }),
      extra: o.removing([
        "type", "id", "title", "description", "stac_version", "license", "extent", "links",
      ]))
  }

  // MARK: Item

  static let itemKeys: Set<String> = [
    "type", "id", "collection", "stac_version", "stac_extensions", "geometry", "bbox", "properties",
    "assets", "links",
  ]

  /// Decodes one Item at `path`.
  public mutating func decodeItem(_ value: JSONValue, path: JSONPath) throws(STACError) -> Item {
    try item(value, path: { path })
  }

  // JSON paths are built only when a failure needs one: `path` closures are cheap, arrays of
  // path components per item were a measurable share of loading time.
  mutating func item(_ value: JSONValue, path: () -> JSONPath) throws(STACError) -> Item {
    guard case .object(let o) = value else {
      throw fail(.invalidValue, path(), "expected an Item object, found \(value.kindName)")
    }
    if let type = o["type"], type.stringValue != "Feature" {
      throw fail(
        .invalidValue, path().key("type"), "expected \"Feature\", found \(type.serialized())")
    }
    let id = try requireID(o, path: path)
    guard case .object(let properties)? = o["properties"] else {
      throw fail(
        o["properties"] == nil ? .missingField : .invalidValue, path().key("properties"),
        "Item '\(id)' needs a 'properties' object")
    }
    func propertiesPath() -> JSONPath { path().key("properties") }
    let datetime = try date(properties["datetime"], path: { propertiesPath().key("datetime") })
    let start = try date(
      properties["start_datetime"], path: { propertiesPath().key("start_datetime") })
    let end = try date(properties["end_datetime"], path: { propertiesPath().key("end_datetime") })
    if datetime == nil && (start == nil || end == nil) {
      throw fail(
        .missingField, propertiesPath().key("datetime"),
        "Item '\(id)': datetime is null or absent and start_datetime/end_datetime are not both set")
    }
    if let start, let end, start > end {
      throw fail(
        .invalidValue, propertiesPath().key("end_datetime"),
        "Item '\(id)': end_datetime is before start_datetime")
    }
    var geometry: Geometry?
    switch o["geometry"] {
    case nil:
      warn(path().key("geometry"), "Item '\(id)' has no geometry member (read as null)")
    case .null?: break
    case let g?: geometry = try decodeGeometry(g, path: { path().key("geometry") })
    }
    var bbox: BBox?
    if let b = o["bbox"], !b.isNull {
      bbox = try decodeBBox(b, path: { path().key("bbox") })
    } else if geometry != nil {
      warn(path().key("bbox"), "Item '\(id)' has a geometry but no bbox")
    }
    var assets: [Asset] = []
    switch o["assets"] {
    case nil: break
    case .object(let a)?:
      assets.reserveCapacity(a.count)
      for m in a.members {
        assets.append(
          try decodeAsset(m.value, key: m.key, path: { path().key("assets").key(m.key) }))
      }
    case let other?:
      throw fail(.invalidValue, path().key("assets"), "expected an object, found \(other.kindName)")
    }
    var extensions: [String] = []
    if case .array(let e)? = o["stac_extensions"] { extensions = e.compactMap(\.stringValue) }
    return Item(
      id: id, collection: o["collection"]?.stringValue, stacVersion: o["stac_version"]?.stringValue,
      stacExtensions: extensions, geometry: geometry, bbox: bbox, datetime: datetime,
      startDatetime: start, endDatetime: end,
      projection: try decodeProjection(properties, path: propertiesPath),
      properties: properties, assets: assets,
      links: try decodeLinks(o["links"], path: { path().key("links") }),
      extra: o.removing(STACDecoder.itemKeys),
      sourceURL: location)
  }

  mutating func requireID(_ o: JSONObject, path: () -> JSONPath) throws(STACError) -> String {
    guard let value = o["id"] else { throw fail(.missingField, path().key("id"), "no 'id'") }
    guard case .string(let id) = value else {
      throw fail(.invalidValue, path().key("id"), "expected a string id, found \(value.kindName)")
    }
    guard !id.isEmpty else { throw fail(.invalidValue, path().key("id"), "id is empty") }
    return id
  }

  mutating func date(_ value: JSONValue?, path: () -> JSONPath) throws(STACError) -> Date? {
    switch value {
    case nil, .null?: return nil
    case .string(let text)?:
      guard let parsed = RFC3339.parse(text) else {
        throw fail(.invalidValue, path(), "'\(text)' is not an RFC 3339 date-time")
      }
      if parsed.missingTimeZone {
        warn(path(), "'\(text)' has no time zone; read as UTC")
      }
      return parsed.date
    case let other?:
      throw fail(.invalidValue, path(), "expected an RFC 3339 string, found \(other.kindName)")
    }
  }

  mutating func decodeBBox(_ value: JSONValue, path: () -> JSONPath) throws(STACError) -> BBox {
    guard case .array(let a) = value else {
      throw fail(
        .invalidValue, path(), "expected an array of 4 or 6 numbers, found \(value.kindName)")
    }
    let numbers = a.compactMap(\.doubleValue)
    guard numbers.count == a.count, a.count == 4 || a.count == 6 else {
      throw fail(.invalidValue, path(), "expected 4 or 6 numbers, found \(value.serialized())")
    }
    guard numbers.allSatisfy(\.isFinite) else {
      throw fail(.invalidValue, path(), "non-finite value")
    }
    let half = a.count / 2
    let (w, s, e, n) = (numbers[0], numbers[1], numbers[half], numbers[half + 1])
    guard s <= n, s >= -90, n <= 90 else {
      throw fail(
        .invalidValue, path(),
        "latitudes must satisfy -90 ≤ south ≤ north ≤ 90, found \(value.serialized())")
    }
    guard w >= -180, w <= 180, e >= -180, e <= 180 else {
      throw fail(
        .invalidValue, path(), "longitudes must lie in [-180, 180], found \(value.serialized())")
    }
    return BBox(west: w, south: s, east: e, north: n)
  }

  mutating func decodeGeometry(
    _ value: JSONValue, path: () -> JSONPath
  ) throws(STACError) -> Geometry {
    guard case .object(let o) = value, let type = o["type"]?.stringValue else {
      throw fail(.invalidValue, path(), "expected a GeoJSON geometry object with a 'type'")
    }
    let coordinates = o["coordinates"] ?? .null
    func ring(_ v: JSONValue, _ p: () -> JSONPath) throws(STACError) -> [LonLat] {
      guard case .array(let positions) = v, positions.count >= 4 else {
        throw fail(.invalidValue, p(), "a linear ring needs at least 4 positions")
      }
      var out: [LonLat] = []
      out.reserveCapacity(positions.count)
      for (i, pos) in positions.enumerated() {
        guard case .array(let xy) = pos, xy.count >= 2, let x = xy[0].doubleValue,
          let y = xy[1].doubleValue, x.isFinite, y.isFinite
        else {
          throw fail(.invalidValue, p().index(i), "expected a [lon, lat] position")
        }
        out.append(LonLat(x, y))
      }
      return out
    }
    func polygon(_ v: JSONValue, _ p: () -> JSONPath) throws(STACError) -> [[LonLat]] {
      guard case .array(let rings) = v, !rings.isEmpty else {
        throw fail(.invalidValue, p(), "a polygon needs at least one ring")
      }
      var out: [[LonLat]] = []
      for (i, r) in rings.enumerated() { out.append(try ring(r, { p().index(i) })) }
      return out
    }
    func cpath() -> JSONPath { path().key("coordinates") }
    switch type {
    case "Polygon":
      return Geometry(
        type: type, polygons: [try polygon(coordinates, cpath)], coordinates: coordinates)
    case "MultiPolygon":
      guard case .array(let polys) = coordinates else {
        throw fail(.invalidValue, cpath(), "expected an array of polygons")
      }
      var out: [[[LonLat]]] = []
      for (i, p) in polys.enumerated() { out.append(try polygon(p, { cpath().index(i) })) }
      return Geometry(type: type, polygons: out, coordinates: coordinates)
    default:
      return Geometry(type: type, polygons: [], coordinates: coordinates)
    }
  }

  mutating func decodeLinks(_ value: JSONValue?, path: () -> JSONPath) throws(STACError) -> [Link] {
    guard let value, !value.isNull else { return [] }
    guard case .array(let a) = value else {
      throw fail(.invalidValue, path(), "expected an array of links, found \(value.kindName)")
    }
    var links: [Link] = []
    links.reserveCapacity(a.count)
    for (i, element) in a.enumerated() {
      guard case .object(let o) = element else {
        throw fail(
          .invalidValue, path().index(i), "expected a link object, found \(element.kindName)")
      }
      guard let href = o["href"]?.stringValue else {
        throw fail(.missingField, path().index(i).key("href"), "link without a string 'href'")
      }
      guard let rel = o["rel"]?.stringValue else {
        throw fail(.missingField, path().index(i).key("rel"), "link without a string 'rel'")
      }
      var headers: JSONObject?
      if case .object(let h)? = o["headers"] { headers = h }
      links.append(
        Link(
          rel: rel, href: href, type: o["type"]?.stringValue, title: o["title"]?.stringValue,
          method: o["method"]?.stringValue?.uppercased(), body: o["body"],
          merge: o["merge"]?.boolValue ?? false, headers: headers,
          extra: o.count <= 3 ? JSONObject() : o.removing(STACDecoder.linkKeys)))
    }
    return links
  }

  static let linkKeys: Set<String> = [
    "rel", "href", "type", "title", "method", "body", "merge", "headers",
  ]

  mutating func decodeAsset(
    _ value: JSONValue, key: String, path: () -> JSONPath
  ) throws(STACError)
    -> Asset
  {
    guard case .object(let o) = value else {
      throw fail(.invalidValue, path(), "expected an asset object, found \(value.kindName)")
    }
    guard let hrefValue = o["href"] else {
      throw fail(.missingField, path().key("href"), "asset '\(key)' has no href")
    }
    guard case .string(let href) = hrefValue, !href.isEmpty else {
      throw fail(
        .invalidValue, path().key("href"), "asset '\(key)' href must be a non-empty string")
    }
    var roles: [String] = []
    if case .array(let r)? = o["roles"] { roles = r.compactMap(\.stringValue) }
    var headerSize: Int?
    if let h = o["file:header_size"] {
      guard let v = h.intValue, v >= 0 else {
        throw fail(.invalidValue, path().key("file:header_size"), "expected a non-negative integer")
      }
      headerSize = v
    }
    return Asset(
      key: key, href: href, type: o["type"]?.stringValue, title: o["title"]?.stringValue,
      roles: roles, bands: STACDecoder.bands(in: o),
      projection: try decodeProjection(o, path: path),
      polarizations: o["sar:polarizations"]?.arrayValue?.compactMap(\.stringValue),
      headerSize: headerSize, fields: o)
  }

  /// `eo:bands` (STAC 1.0) or `bands` (1.1; `eo:common_name` or `common_name`).
  static func bands(in o: JSONObject) -> [Band] {
    guard case .array(let a)? = o["bands"] ?? o["eo:bands"] else { return [] }
    return a.compactMap { b in
      guard case .object(let bo) = b else { return nil }
      return Band(
        name: bo["name"]?.stringValue,
        commonName: (bo["eo:common_name"] ?? bo["common_name"])?.stringValue)
    }
  }

  mutating func decodeProjection(
    _ o: JSONObject, path: () -> JSONPath
  ) throws(STACError) -> Projection {
    var p = Projection()
    // Fast exit: most objects have no proj:* member.
    guard o.members.contains(where: { $0.key.hasPrefix("proj:") }) else { return p }
    switch o["proj:epsg"] {
    case nil, .null?: break
    case let v?:
      guard let e = v.intValue, e > 0 else {
        throw fail(
          .invalidValue, path().key("proj:epsg"),
          "expected an integer EPSG code, found \(v.serialized())")
      }
      p.epsg = e
      p.code = "EPSG:\(e)"
    }
    switch o["proj:code"] {
    case nil, .null?: break
    case .string(let code)?:
      p.code = code
      let upper = code.uppercased()
      if upper.hasPrefix("EPSG:") {
        guard let e = Int(upper.dropFirst(5)), e > 0 else {
          throw fail(.invalidValue, path().key("proj:code"), "'\(code)' is not EPSG:<integer>")
        }
        if let existing = p.epsg, existing != e {
          throw fail(
            .invalidValue, path().key("proj:code"), "'\(code)' contradicts proj:epsg \(existing)")
        }
        p.epsg = e
      }
    case let v?:
      throw fail(.invalidValue, path().key("proj:code"), "expected a string, found \(v.kindName)")
    }
    if let t = o["proj:transform"], !t.isNull {
      guard let a = t.arrayValue, a.count == 6 || a.count == 9,
        case let n = a.compactMap(\.doubleValue), n.count == a.count, n.allSatisfy(\.isFinite)
      else {
        throw fail(
          .invalidValue, path().key("proj:transform"),
          "expected 6 or 9 numbers, found \(t.serialized())")
      }
      p.transform = Array(n.prefix(6))
    }
    if let s = o["proj:shape"], !s.isNull {
      guard let a = s.arrayValue, a.count == 2, case let n = a.compactMap(\.intValue), n.count == 2,
        n[0] > 0, n[1] > 0
      else {
        throw fail(
          .invalidValue, path().key("proj:shape"),
          "expected [rows, cols] positive integers, found \(s.serialized())")
      }
      p.shape = n
    }
    if let b = o["proj:bbox"], !b.isNull {
      // Not used for pairing, and some servers write it as a string: warn and drop.
      if let a = b.arrayValue, a.count == 4 || a.count == 6,
        case let n = a.compactMap(\.doubleValue), n.count == a.count
      {
        p.bbox = n
      } else {
        warn(path().key("proj:bbox"), "ignored: expected 4 or 6 numbers, found \(b.serialized())")
      }
    }
    return p
  }

  // MARK: Helpers

  func fail(_ code: STACError.Code, _ path: JSONPath, _ message: String) -> STACError {
    STACError(code, location: location, path: path, message: message)
  }

  mutating func warn(_ path: JSONPath, _ message: String) {
    // Bounded: a 100k-item page with the same flaw must not hold 100k messages.
    if warnings.count < 1000 {
      warnings.append(STACWarning(location: location, path: path, message: message))
    } else {
      suppressedWarnings += 1
    }
  }

  /// Warnings beyond the first 1000, counted but not kept.
  public private(set) var suppressedWarnings = 0
}
