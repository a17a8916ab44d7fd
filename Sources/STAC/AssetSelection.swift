/// The two sensors Tandem pairs.
public enum Sensor: String, Sendable, Hashable, Codable, CaseIterable {
  case sentinel1 = "S1"
  case sentinel2 = "S2"
}

/// Which assets to pick from S1 and S2 items.
public struct AssetRules: Sendable, Hashable {
  /// S1 polarizations, in output order (default VV, VH).
  public var polarizations: [String]
  /// S2 bands, in output order, as band names (`B02`) or common names (`blue`); default
  /// B02, B03, B04, B08 (10 m blue, green, red, NIR).
  public var bands: [String]
  /// Explicit asset keys that win over every rule: `["VV": "vv", "B08": "nir"]`.
  public var overrides: [String: String]

  /// Creates a value from its parts.
  public init(
    polarizations: [String] = ["VV", "VH"], bands: [String] = ["B02", "B03", "B04", "B08"],
    overrides: [String: String] = [:]
  ) {
    self.polarizations = polarizations.map { $0.uppercased() }
    self.bands = bands.map { AssetRules.canonicalBand($0) }
    self.overrides = Dictionary(
      overrides.map { (AssetRules.canonicalBand($0.key), $0.value) }, uniquingKeysWith: { $1 })
  }

  /// Sentinel-2 band names and their STAC common names / Earth Search asset keys.
  public static let s2CommonNames: [String: String] = [
    "B01": "coastal", "B02": "blue", "B03": "green", "B04": "red", "B05": "rededge1",
    "B06": "rededge2", "B07": "rededge3", "B08": "nir", "B8A": "nir08", "B09": "nir09",
    "B10": "cirrus", "B11": "swir16", "B12": "swir22",
  ]

  /// `B4`, `b04`, `B04` → `B04`; `b8a` → `B8A`; a common name (`red`) → its band (`B04`);
  /// polarizations (`vv`) → upper case; anything else unchanged.
  public static func canonicalBand(_ name: String) -> String {
    let upper = name.uppercased()
    if upper.hasPrefix("B"), upper.count >= 2, upper.count <= 3 {
      let rest = upper.dropFirst()
      if rest == "8A" || rest == "08A" { return "B8A" }
      if let n = Int(rest), (1...12).contains(n) { return n < 10 ? "B0\(n)" : "B\(n)" }
    }
    if let band = s2CommonNames.first(where: { $0.value == name.lowercased() })?.key { return band }
    if ["VV", "VH", "HH", "HV"].contains(upper) { return upper }
    return name
  }
}

/// An asset picked for one channel (`VV`, `B04`), with its resolved href and effective grid.
public struct SelectedAsset: Sendable, Hashable, Codable {
  /// The channel: a polarization (`VV`) or band (`B04`).
  public var channel: String
  /// The asset key in the item.
  public var key: String
  /// The href resolved against the item's document.
  public var href: String
  /// The asset's `proj:*` fields over the item's.
  public var projection: Projection
  /// `file:header_size`, when given.
  public var headerSize: Int?
  /// Media type.
  public var type: String?
  /// Which rule matched (`override`, `key`, `band name`, `common name`, `sar:polarizations`).
  public var matchedBy: String

  /// Creates a value from its parts.
  public init(
    channel: String, key: String, href: String, projection: Projection, headerSize: Int? = nil,
    type: String? = nil, matchedBy: String
  ) {
    self.channel = channel
    self.key = key
    self.href = href
    self.projection = projection
    self.headerSize = headerSize
    self.type = type
    self.matchedBy = matchedBy
  }
}

/// The outcome of looking at one item: usable (sensor + assets) or skipped with a reason.
public enum Selection: Sendable, Hashable {
  case selected(Sensor, [SelectedAsset])
  case skipped(String)
}

/// Classifies items as S1 or S2 and picks their assets.
///
/// Classification looks, in order, at the collection id, `platform`, `constellation`, `sar:*`
/// properties and finally the id prefix (`S1A_`, `S2B_`). Assets are matched per channel by a
/// user override, then the asset key (`vv`, `B04`, `red`), then a single-band asset whose
/// `eo:bands`/`bands` name or common name matches, then (S1) an asset whose own
/// `sar:polarizations` is exactly that polarization. Cloud-optimized GeoTIFFs win over other
/// formats (JPEG 2000 copies) when several assets match equally well.
public struct AssetSelector: Sendable {
  /// Which channels to select and overrides.
  public var rules: AssetRules

  /// Creates a value from its parts.
  public init(rules: AssetRules = AssetRules()) { self.rules = rules }

  /// S1, S2, or `nil` with the reason.
  public func classify(_ item: Item) -> (Sensor?, String) {
    func sensor(_ text: String?) -> Sensor? {
      guard let text else { return nil }
      let t = Array(text.lowercased().utf8)
      for (needle, s) in AssetSelector.sensorNames where AssetSelector.contains(t, needle) {
        return s
      }
      return nil
    }
    // Tokens such as `PEPS_S2_L1C` or platform `S2A`.
    func token(_ text: String?) -> Sensor? {
      guard let t = text?.lowercased() else { return nil }
      let parts = t.split(whereSeparator: { !$0.isLetter && !$0.isNumber })
      if parts.contains(where: { ["s1", "s1a", "s1b", "s1c"].contains($0) }) { return .sentinel1 }
      if parts.contains(where: { ["s2", "s2a", "s2b", "s2c"].contains($0) }) { return .sentinel2 }
      return nil
    }
    if let s = sensor(item.collection) ?? token(item.collection) {
      return (s, "collection \(item.collection!)")
    }
    if let s = sensor(item.platform) ?? token(item.platform) {
      return (s, "platform \(item.platform!)")
    }
    if let s = sensor(item.constellation) { return (s, "constellation \(item.constellation!)") }
    if item.properties.members.contains(where: { $0.key.hasPrefix("sar:") }) {
      return (.sentinel1, "sar:* properties")
    }
    let id = item.id.uppercased()
    if id.hasPrefix("S1A_") || id.hasPrefix("S1B_") || id.hasPrefix("S1C_") {
      return (.sentinel1, "id prefix")
    }
    if id.hasPrefix("S2A_") || id.hasPrefix("S2B_") || id.hasPrefix("S2C_") {
      return (.sentinel2, "id prefix")
    }
    var what: [String] = []
    if let c = item.collection { what.append("collection \(c)") }
    if let p = item.platform { what.append("platform \(p)") }
    if let c = item.constellation { what.append("constellation \(c)") }
    return (
      nil,
      "not Sentinel-1 or Sentinel-2" + (what.isEmpty ? "" : " (\(what.joined(separator: ", ")))")
    )
  }

  /// Classifies the item and picks one asset per channel, or says why it cannot be used.
  public func select(_ item: Item) -> Selection {
    let (sensor, reason) = classify(item)
    guard let sensor else { return .skipped(reason) }
    let channels = sensor == .sentinel1 ? rules.polarizations : rules.bands
    var picked: [SelectedAsset] = []
    var missing: [String] = []
    for channel in channels {
      if let (asset, how) = find(channel, sensor: sensor, in: item) {
        picked.append(
          SelectedAsset(
            channel: channel, key: asset.key, href: item.resolvedHref(of: asset),
            projection: item.projection(of: asset), headerSize: asset.headerSize, type: asset.type,
            matchedBy: how))
      } else {
        missing.append(channel)
      }
    }
    if !missing.isEmpty {
      var why = "\(sensor.rawValue) item lacks \(missing.joined(separator: ", "))"
      if sensor == .sentinel1, let pols = item.polarizations {
        why += " (sar:polarizations: \(pols.joined(separator: ", ")))"
      } else {
        let keys = item.assets.map(\.key).prefix(12).joined(separator: ", ")
        why += " (assets: \(keys.isEmpty ? "none" : keys))"
      }
      return .skipped(why)
    }
    return .selected(sensor, picked)
  }

  func find(_ channel: String, sensor: Sensor, in item: Item) -> (Asset, String)? {
    if let key = rules.overrides[channel] {
      return item.asset(key).map { ($0, "override") }
    }
    var keys = [channel.lowercased()]
    var commonName: String?
    if sensor == .sentinel2 {
      commonName = AssetRules.s2CommonNames[channel]
      if let c = commonName { keys.append(c) }
      if channel.hasPrefix("B0") { keys.append("b" + channel.dropFirst(2)) }  // B4
    }
    var best: (Asset, String, Int)?
    for asset in item.assets {
      let key = AssetSelector.asciiLowercased(asset.key)
      var rank: Int?
      var how = ""
      if keys.contains(key) {
        rank = 0
        how = "key"
      } else if asset.bands.count == 1,
        let name = asset.bands[0].name, AssetRules.canonicalBand(name) == channel
      {
        rank = 1
        how = "band name"
      } else if asset.bands.count == 1, let c = commonName,
        asset.bands[0].commonName?.lowercased() == c
      {
        rank = 2
        how = "common name"
      } else if sensor == .sentinel1, asset.polarizations?.map({ $0.uppercased() }) == [channel] {
        rank = 1
        how = "sar:polarizations"
      } else if sensor == .sentinel1,
        key.hasSuffix("-" + channel.lowercased()) || key.hasSuffix("_" + channel.lowercased()),
        asset.roles.contains("data") || isTIFF(asset)
      {
        rank = 3
        how = "key suffix"
      }
      guard var r = rank else { continue }
      if !isTIFF(asset) { r += 10 }
      if best == nil || r < best!.2 { best = (asset, how, r) }
    }
    return best.map { ($0.0, $0.1) }
  }

  /// Lower-cases ASCII keys without Unicode tables (asset keys are ASCII in practice).
  static func asciiLowercased(_ s: String) -> String {
    guard s.utf8.contains(where: { $0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z") }) else {
      return s
    }
    return s.lowercased()
  }

  static let sensorNames: [([UInt8], Sensor)] = {
    let names: [(String, Sensor)] = [
      ("sentinel-1", .sentinel1), ("sentinel1", .sentinel1), ("sentinel_1", .sentinel1),
      ("sentinel-2", .sentinel2), ("sentinel2", .sentinel2), ("sentinel_2", .sentinel2),
    ]
    return names.map { (Array($0.0.utf8), $0.1) }
  }()

  /// Byte substring search (Foundation's `contains` is much slower on Linux).
  static func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
    guard needle.count <= haystack.count else { return false }
    outer: for i in 0...(haystack.count - needle.count) {
      for j in 0..<needle.count where haystack[i + j] != needle[j] { continue outer }
      return true
    }
    return false
  }

  func isTIFF(_ asset: Asset) -> Bool {
    if let t = asset.type {
      return AssetSelector.contains(Array(t.lowercased().utf8), Array("tiff".utf8))
    }
    let h = asset.href.lowercased()
    return h.hasSuffix(".tif") || h.hasSuffix(".tiff")
  }
}
