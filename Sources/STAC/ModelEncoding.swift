import Foundation

// JSON forms of the models, and Codable conformances that go through them so that `JSONEncoder`
// and `JSONDecoder` round-trip every field, known or not.

extension Link {
  /// The link as a JSON object.
  public var jsonValue: JSONValue {
    var o = JSONObject(["rel": .string(rel), "href": .string(href)])
    if let type { o["type"] = .string(type) }
    if let title { o["title"] = .string(title) }
    if let method { o["method"] = .string(method) }
    if let body { o["body"] = body }
    if merge { o["merge"] = .bool(true) }
    if let headers { o["headers"] = .object(headers) }
    o.members.append(contentsOf: extra.members)
    return .object(o)
  }
}

extension Asset {
  /// The asset object (all fields as read; the modelled fields written over them).
  public var jsonValue: JSONValue {
    var o = fields
    o["href"] = .string(href)
    if let type { o["type"] = .string(type) }
    if let title { o["title"] = .string(title) }
    if !roles.isEmpty { o["roles"] = .array(roles.map { .string($0) }) }
    return .object(o)
  }
}

extension Geometry {
  /// The GeoJSON geometry object.
  public var jsonValue: JSONValue {
    .object(JSONObject(["type": .string(type), "coordinates": coordinates]))
  }
}

extension BBox {
  /// `[west, south, east, north]`.
  public var jsonValue: JSONValue { .array([west, south, east, north].map { .double($0) }) }
}

extension Item {
  /// The item as a GeoJSON Feature.
  public var jsonValue: JSONValue {
    var o = JSONObject(["type": .string("Feature")])
    if let stacVersion { o["stac_version"] = .string(stacVersion) }
    if !stacExtensions.isEmpty { o["stac_extensions"] = .array(stacExtensions.map { .string($0) }) }
    o["id"] = .string(id)
    if let collection { o["collection"] = .string(collection) }
    o["geometry"] = geometry?.jsonValue ?? .null
    if let bbox { o["bbox"] = bbox.jsonValue }
    var p = properties
    if p["datetime"] == nil || (p["datetime"]?.isNull == true && datetime != nil) {
      p["datetime"] = datetime.map { .string(RFC3339.format($0)) } ?? .null
    }
    o["properties"] = .object(p)
    o["links"] = .array(links.map(\.jsonValue))
    o["assets"] = .object(
      JSONObject(assets.map { JSONObject.Member(key: $0.key, value: $0.jsonValue) }))
    o.members.append(contentsOf: extra.members)
    return .object(o)
  }
}

extension ItemCollection {
  /// The collection as a GeoJSON FeatureCollection.
  public var jsonValue: JSONValue {
    var o = JSONObject(["type": .string("FeatureCollection")])
    o["features"] = .array(items.map(\.jsonValue))
    if !links.isEmpty { o["links"] = .array(links.map(\.jsonValue)) }
    o.members.append(contentsOf: extra.members)
    return .object(o)
  }
}

extension Catalog {
  /// The catalog object.
  public var jsonValue: JSONValue {
    var o = JSONObject([
      "type": .string("Catalog"), "stac_version": .string(stacVersion), "id": .string(id),
    ])
    if let title { o["title"] = .string(title) }
    if let description { o["description"] = .string(description) }
    o["links"] = .array(links.map(\.jsonValue))
    o.members.append(contentsOf: extra.members)
    return .object(o)
  }
}

extension Collection {
  /// The collection object.
  public var jsonValue: JSONValue {
    var o = JSONObject([
      "type": .string("Collection"), "stac_version": .string(stacVersion), "id": .string(id),
    ])
    if let title { o["title"] = .string(title) }
    if let description { o["description"] = .string(description) }
    if let license { o["license"] = .string(license) }
    if let extent { o["extent"] = extent }
    o["links"] = .array(links.map(\.jsonValue))
    o.members.append(contentsOf: extra.members)
    return .object(o)
  }
}

/// Decodes a model through ``STACDecoder`` from any `Decoder` (the JSON path of a failure is
/// relative to the value being decoded).
private func viaSTAC<T>(
  _ decoder: any Decoder, _ body: (inout STACDecoder, JSONValue) throws(STACError) -> T
) throws -> T {
  let value = try JSONValue(from: decoder)
  var d = STACDecoder(location: "<Decoder>")
  return try body(&d, value)
}

extension Item: Codable {
  public init(from decoder: any Decoder) throws {
    self = try viaSTAC(decoder) { (d, v) throws(STACError) in try d.decodeItem(v, path: .root) }
  }
  public func encode(to encoder: any Encoder) throws { try jsonValue.encode(to: encoder) }
}

extension ItemCollection: Codable {
  public init(from decoder: any Decoder) throws {
    self = try viaSTAC(decoder) { (d, v) throws(STACError) in
      guard case .itemCollection(let c) = try d.decodeDocument(v) else {
        throw STACError(
          .notSTAC, location: d.location, path: .root, message: "not an ItemCollection")
      }
      return c
    }
  }
  public func encode(to encoder: any Encoder) throws { try jsonValue.encode(to: encoder) }
}

extension Catalog: Codable {
  public init(from decoder: any Decoder) throws {
    self = try viaSTAC(decoder) { (d, v) throws(STACError) in
      guard case .object(let o) = v else {
        throw STACError(.notSTAC, location: d.location, path: .root, message: "not an object")
      }
      return try d.decodeCatalog(o)
    }
  }
  public func encode(to encoder: any Encoder) throws { try jsonValue.encode(to: encoder) }
}

extension Collection: Codable {
  public init(from decoder: any Decoder) throws {
    self = try viaSTAC(decoder) { (d, v) throws(STACError) in
      guard case .object(let o) = v else {
        throw STACError(.notSTAC, location: d.location, path: .root, message: "not an object")
      }
      return try d.decodeCollection(o)
    }
  }
  public func encode(to encoder: any Encoder) throws { try jsonValue.encode(to: encoder) }
}

extension Link: Codable {
  public init(from decoder: any Decoder) throws {
    self = try viaSTAC(decoder) { (d, v) throws(STACError) in
      try d.decodeLinks(.array([v]), path: { .root })[0]
    }
  }
  public func encode(to encoder: any Encoder) throws { try jsonValue.encode(to: encoder) }
}
