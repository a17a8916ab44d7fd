/// A JSON value as parsed by ``JSONParser``: the lossless, order-preserving tree that STAC models
/// keep for fields they do not model themselves (extensions, vendor properties).
///
/// Integers that fit `Int64` stay exact (`.int`); other numbers are `.double`.
public enum JSONValue: Sendable, Hashable {
  case null
  case bool(Bool)
  case int(Int64)
  case double(Double)
  case string(String)
  case array([JSONValue])
  case object(JSONObject)

  /// The string, if this is one.
  public var stringValue: String? {
    if case .string(let s) = self { return s }
    return nil
  }

  /// The number as `Double`, for `.int` and `.double`.
  public var doubleValue: Double? {
    switch self {
    case .int(let v): Double(v)
    case .double(let v): v
    default: nil
    }
  }

  /// The number as `Int`, for `.int` and for `.double` values that are whole.
  public var intValue: Int? {
    switch self {
    case .int(let v): Int(exactly: v)
    case .double(let v): v.rounded() == v ? Int(exactly: v) : nil
    default: nil
    }
  }

  /// The Boolean, if this is one.
  public var boolValue: Bool? {
    if case .bool(let b) = self { return b }
    return nil
  }

  /// The elements, if this is an array.
  public var arrayValue: [JSONValue]? {
    if case .array(let a) = self { return a }
    return nil
  }

  /// The object, if this is one.
  public var objectValue: JSONObject? {
    if case .object(let o) = self { return o }
    return nil
  }

  /// Whether this is `null`.
  public var isNull: Bool {
    if case .null = self { return true }
    return false
  }

  /// A short name of the kind of value, for error messages.
  public var kindName: String {
    switch self {
    case .null: "null"
    case .bool: "a boolean"
    case .int, .double: "a number"
    case .string: "a string"
    case .array: "an array"
    case .object: "an object"
    }
  }

  /// Member lookup for objects; `nil` for other kinds or absent keys.
  public subscript(key: String) -> JSONValue? {
    if case .object(let o) = self { return o[key] }
    return nil
  }
}

/// A JSON object that keeps its members in document order. Lookup is a linear scan, which is
/// faster than hashing for the small objects STAC is made of.
public struct JSONObject: Sendable, Hashable, Sequence {
  /// One `"key": value` pair.
  public struct Member: Sendable, Hashable {
    /// The member name.
    public var key: String
    /// The member value.
    public var value: JSONValue
    /// Creates a value from its parts.
    public init(key: String, value: JSONValue) {
      self.key = key
      self.value = value
    }
  }

  /// The members in document order. Duplicate keys are kept; lookup returns the last one, like
  /// most JSON parsers.
  public var members: [Member]

  /// Creates a value from its parts.
  public init(_ members: [Member] = []) { self.members = members }

  /// Builds an object from pairs, in order.
  public init(_ pairs: KeyValuePairs<String, JSONValue>) {
    members = pairs.map { Member(key: $0.key, value: $0.value) }
  }

  /// Number of members.
  public var count: Int { members.count }
  /// Whether there are no members.
  public var isEmpty: Bool { members.isEmpty }
  /// Member names in order.
  public var keys: [String] { members.map(\.key) }

  public func makeIterator() -> IndexingIterator<[Member]> { members.makeIterator() }

  /// The value for `key` (the last one if the key repeats), or `nil`.
  public subscript(key: String) -> JSONValue? {
    get {
      var i = members.count - 1
      while i >= 0 {
        if members[i].key == key { return members[i].value }
        i -= 1
      }
      return nil
    }
    set {
      if let i = members.lastIndex(where: { $0.key == key }) {
        if let newValue { members[i].value = newValue } else { members.remove(at: i) }
      } else if let newValue {
        members.append(Member(key: key, value: newValue))
      }
    }
  }

  /// A copy without the given keys (used to keep only the fields a model does not own).
  func removing(_ keys: Set<String>) -> JSONObject {
    JSONObject(members.filter { !keys.contains($0.key) })
  }
}

// MARK: - Serialization

extension JSONValue {
  /// Compact JSON text. With `sortedKeys`, object members are sorted by key, which gives a
  /// canonical form (used to recognise a repeated POST body).
  public func serialized(sortedKeys: Bool = false) -> String {
    var out: [UInt8] = []
    out.reserveCapacity(256)
    write(to: &out, sortedKeys: sortedKeys)
    return String(decoding: out, as: UTF8.self)
  }

  /// Appends compact JSON text to `out`.
  public func write(to out: inout [UInt8], sortedKeys: Bool = false) {
    switch self {
    case .null: out.append(contentsOf: "null".utf8)
    case .bool(let b): out.append(contentsOf: (b ? "true" : "false").utf8)
    case .int(let v): out.append(contentsOf: String(v).utf8)
    case .double(let v):
      if v.isFinite {
        if v.rounded() == v && abs(v) < 1e15 {
          out.append(contentsOf: String(Int64(v)).utf8)
        } else {
          out.append(contentsOf: "\(v)".utf8)
        }
      } else {
        out.append(contentsOf: "null".utf8)
      }
    case .string(let s): JSONValue.writeString(s, to: &out)
    case .array(let a):
      out.append(UInt8(ascii: "["))
      for (i, v) in a.enumerated() {
        if i > 0 { out.append(UInt8(ascii: ",")) }
        v.write(to: &out, sortedKeys: sortedKeys)
      }
      out.append(UInt8(ascii: "]"))
    case .object(let o):
      out.append(UInt8(ascii: "{"))
      let members = sortedKeys ? o.members.sorted { $0.key < $1.key } : o.members
      for (i, m) in members.enumerated() {
        if i > 0 { out.append(UInt8(ascii: ",")) }
        JSONValue.writeString(m.key, to: &out)
        out.append(UInt8(ascii: ":"))
        m.value.write(to: &out, sortedKeys: sortedKeys)
      }
      out.append(UInt8(ascii: "}"))
    }
  }

  static func writeString(_ s: String, to out: inout [UInt8]) {
    out.append(UInt8(ascii: "\""))
    for b in s.utf8 {
      switch b {
      case UInt8(ascii: "\""): out.append(contentsOf: [92, 34])
      case UInt8(ascii: "\\"): out.append(contentsOf: [92, 92])
      case 0x0A: out.append(contentsOf: [92, UInt8(ascii: "n")])
      case 0x0D: out.append(contentsOf: [92, UInt8(ascii: "r")])
      case 0x09: out.append(contentsOf: [92, UInt8(ascii: "t")])
      case 0..<0x20:
        let hex = Array("0123456789abcdef".utf8)
        out.append(contentsOf: [92, UInt8(ascii: "u"), 48, 48, hex[Int(b >> 4)], hex[Int(b & 15)]])
      default: out.append(b)
      }
    }
    out.append(UInt8(ascii: "\""))
  }
}

// MARK: - Building and pretty printing (documents Tandem writes: fixture catalogs)

extension JSONValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral,
  ExpressibleByFloatLiteral, ExpressibleByArrayLiteral, ExpressibleByBooleanLiteral
{
  public init(stringLiteral value: String) { self = .string(value) }
  public init(integerLiteral value: Int64) { self = .int(value) }
  public init(floatLiteral value: Double) { self = .double(value) }
  public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
  public init(booleanLiteral value: Bool) { self = .bool(value) }

  /// A number (whole values are written as integers).
  public static func number(_ value: Double) -> JSONValue { .double(value) }
  /// An integer.
  public static func integer(_ value: Int) -> JSONValue { .int(Int64(value)) }
  /// An object with these members, in this order.
  public static func fields(_ members: [(String, JSONValue)]) -> JSONValue {
    .object(JSONObject(members.map { JSONObject.Member(key: $0.0, value: $0.1) }))
  }

  /// Text for people and diffs: two-space indent, members in their order, short arrays of
  /// scalars (bbox, transform, coordinates: at most 9) on one line. The same value always gives
  /// the same bytes, so generated catalogs are reproducible.
  public func prettyPrinted() -> String {
    var out: [UInt8] = []
    out.reserveCapacity(1024)
    writePretty(to: &out, indent: 0)
    return String(decoding: out, as: UTF8.self)
  }

  private var isScalar: Bool {
    switch self {
    case .array, .object: false
    default: true
    }
  }

  private func writePretty(to out: inout [UInt8], indent: Int) {
    let pad = [UInt8](repeating: 0x20, count: 2 * (indent + 1))
    let close = [UInt8](repeating: 0x20, count: 2 * indent)
    switch self {
    case .array(let items) where items.isEmpty:
      out.append(contentsOf: "[]".utf8)
    case .array(let items) where items.count <= 9 && items.allSatisfy(\.isScalar):
      out.append(UInt8(ascii: "["))
      for (k, item) in items.enumerated() {
        if k > 0 { out.append(contentsOf: ", ".utf8) }
        item.write(to: &out)
      }
      out.append(UInt8(ascii: "]"))
    case .array(let items):
      out.append(contentsOf: "[\n".utf8)
      for (k, item) in items.enumerated() {
        out.append(contentsOf: pad)
        item.writePretty(to: &out, indent: indent + 1)
        out.append(contentsOf: (k + 1 < items.count ? ",\n" : "\n").utf8)
      }
      out.append(contentsOf: close)
      out.append(UInt8(ascii: "]"))
    case .object(let o) where o.members.isEmpty:
      out.append(contentsOf: "{}".utf8)
    case .object(let o):
      out.append(contentsOf: "{\n".utf8)
      for (k, m) in o.members.enumerated() {
        out.append(contentsOf: pad)
        JSONValue.writeString(m.key, to: &out)
        out.append(contentsOf: ": ".utf8)
        m.value.writePretty(to: &out, indent: indent + 1)
        out.append(contentsOf: (k + 1 < o.members.count ? ",\n" : "\n").utf8)
      }
      out.append(contentsOf: close)
      out.append(UInt8(ascii: "}"))
    default:
      write(to: &out)
    }
  }
}

// MARK: - Codable

extension JSONValue: Codable {
  public init(from decoder: any Decoder) throws {
    let c = try decoder.singleValueContainer()
    if c.decodeNil() {
      self = .null
    } else if let b = try? c.decode(Bool.self) {
      self = .bool(b)
    } else if let i = try? c.decode(Int64.self) {
      self = .int(i)
    } else if let d = try? c.decode(Double.self) {
      self = .double(d)
    } else if let s = try? c.decode(String.self) {
      self = .string(s)
    } else if let a = try? c.decode([JSONValue].self) {
      self = .array(a)
    } else {
      let d = try c.decode([String: JSONValue].self)
      self = .object(
        JSONObject(
          d.sorted { $0.key < $1.key }.map { JSONObject.Member(key: $0.key, value: $0.value) }))
    }
  }

  public func encode(to encoder: any Encoder) throws {
    switch self {
    case .null:
      var c = encoder.singleValueContainer()
      try c.encodeNil()
    case .bool(let b):
      var c = encoder.singleValueContainer()
      try c.encode(b)
    case .int(let i):
      var c = encoder.singleValueContainer()
      try c.encode(i)
    case .double(let d):
      var c = encoder.singleValueContainer()
      try c.encode(d)
    case .string(let s):
      var c = encoder.singleValueContainer()
      try c.encode(s)
    case .array(let a):
      var c = encoder.unkeyedContainer()
      for v in a { try c.encode(v) }
    case .object(let o):
      var c = encoder.container(keyedBy: AnyKey.self)
      for m in o.members { try c.encode(m.value, forKey: AnyKey(m.key)) }
    }
  }
}

struct AnyKey: CodingKey {
  var stringValue: String
  var intValue: Int? { nil }
  init(_ s: String) { stringValue = s }
  init?(stringValue: String) { self.stringValue = stringValue }
  init?(intValue: Int) { nil }
}

extension JSONObject: ExpressibleByDictionaryLiteral {
  /// `["datetime": .string("…"), "eo:cloud_cover": .double(3)]`, in the written order.
  public init(dictionaryLiteral elements: (String, JSONValue)...) {
    members = elements.map { Member(key: $0.0, value: $0.1) }
  }
}
