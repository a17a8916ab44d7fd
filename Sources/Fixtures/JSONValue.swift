/// A JSON document with ordered object keys and a fixed number format, so that catalogs are
/// written byte-identically for the same world and read naturally (STAC key order).
public indirect enum JSONValue: Sendable, Equatable, ExpressibleByStringLiteral,
  ExpressibleByIntegerLiteral, ExpressibleByFloatLiteral, ExpressibleByArrayLiteral,
  ExpressibleByBooleanLiteral
{
  case null
  case bool(Bool)
  case int(Int)
  case number(Double)
  case string(String)
  case array([JSONValue])
  case object([(String, JSONValue)])

  public init(stringLiteral value: String) { self = .string(value) }
  public init(integerLiteral value: Int) { self = .int(value) }
  public init(floatLiteral value: Double) { self = .number(value) }
  public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
  public init(booleanLiteral value: Bool) { self = .bool(value) }

  public static func == (a: JSONValue, b: JSONValue) -> Bool { a.serialized() == b.serialized() }

  /// Pretty-printed text (two-space indent) with a trailing newline at top level.
  public func serialized() -> String {
    var out = ""
    write(into: &out, indent: 0)
    return out
  }

  private func write(into out: inout String, indent: Int) {
    let pad = String(repeating: "  ", count: indent + 1)
    let close = String(repeating: "  ", count: indent)
    switch self {
    case .null: out += "null"
    case .bool(let b): out += b ? "true" : "false"
    case .int(let i): out += String(i)
    case .number(let d): out += Self.format(d)
    case .string(let s): Self.quote(s, into: &out)
    case .array(let items):
      if items.isEmpty {
        out += "[]"
        return
      }
      // Short arrays of scalars (bbox, transform, coordinates) stay on one line.
      if items.count <= 9, items.allSatisfy({ $0.isScalar }) {
        out += "["
        for (k, item) in items.enumerated() {
          if k > 0 { out += ", " }
          item.write(into: &out, indent: indent + 1)
        }
        out += "]"
        return
      }
      out += "[\n"
      for (k, item) in items.enumerated() {
        out += pad
        item.write(into: &out, indent: indent + 1)
        out += k + 1 < items.count ? ",\n" : "\n"
      }
      out += close + "]"
    case .object(let members):
      if members.isEmpty {
        out += "{}"
        return
      }
      out += "{\n"
      for (k, (key, value)) in members.enumerated() {
        out += pad
        Self.quote(key, into: &out)
        out += ": "
        value.write(into: &out, indent: indent + 1)
        out += k + 1 < members.count ? ",\n" : "\n"
      }
      out += close + "}"
    }
  }

  private var isScalar: Bool {
    switch self {
    case .array, .object: false
    default: true
    }
  }

  /// Shortest round-trip decimal form; integral values keep a `.0` only when needed to mark them
  /// as numbers (never for values written with `.int`).
  static func format(_ d: Double) -> String {
    precondition(d.isFinite, "JSON cannot hold non-finite numbers")
    if d == d.rounded() && abs(d) < 1e15 { return String(Int64(d)) }
    return "\(d)"
  }

  private static func quote(_ s: String, into out: inout String) {
    out += "\""
    for scalar in s.unicodeScalars {
      switch scalar {
      case "\"": out += "\\\""
      case "\\": out += "\\\\"
      case "\n": out += "\\n"
      case "\r": out += "\\r"
      case "\t": out += "\\t"
      default:
        if scalar.value < 0x20 {
          let hex = String(scalar.value, radix: 16)
          out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
        } else {
          out.unicodeScalars.append(scalar)
        }
      }
    }
    out += "\""
  }

  /// Member lookup for objects (nil for other kinds or a missing key).
  public subscript(key: String) -> JSONValue? {
    guard case .object(let members) = self else { return nil }
    return members.first(where: { $0.0 == key })?.1
  }
}
