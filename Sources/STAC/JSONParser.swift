#if canImport(Glibc)
  import Glibc
#endif

/// A fast, strict JSON (RFC 8259) parser producing ``JSONValue`` trees.
///
/// Foundation's decoders allocate a dictionary per object and report errors by coding path
/// only after the fact; STAC item collections run to hundreds of megabytes, so this parser walks
/// the UTF-8 bytes once, keeps object members in order, and reports the byte offset, line and
/// column of malformed input. Size and nesting are limited (``JSONLimits``) so hostile input
/// cannot exhaust memory or overflow the stack.
public struct JSONParser {
  /// Deepest nesting accepted by default (``JSONLimits/maxDepth``).
  public static let maxDepth = JSONLimits().maxDepth

  /// A syntax error at a byte offset.
  public struct SyntaxError: Error, Sendable, CustomStringConvertible {
    /// Byte offset of the error.
    public var offset: Int
    /// 1-based line.
    public var line: Int
    /// 1-based column (bytes).
    public var column: Int
    /// What is wrong.
    public var message: String
    /// The ``JSONLimits`` property the input exceeded (e.g. `maxDepth`), or nil for a syntax
    /// error.
    public var limit: String?
    /// Description.
    public var description: String { "line \(line), column \(column) (byte \(offset)): \(message)" }
  }

  /// Parses one JSON value that must span the whole input (surrounding whitespace allowed).
  public static func parse(
    _ bytes: [UInt8], limits: JSONLimits = JSONLimits()
  ) throws(SyntaxError) -> JSONValue {
    guard bytes.count <= limits.maxDocumentBytes else {
      throw SyntaxError(
        offset: 0, line: 1, column: 1,
        message:
          "document is \(bytes.count) bytes, over \(limits.maxDocumentBytes) (limit maxDocumentBytes)",
        limit: "maxDocumentBytes")
    }
    var result: Result<JSONValue, SyntaxError> = .success(.null)
    bytes.withUnsafeBufferPointer { buffer in
      var parser = _Parser(buffer, maxDepth: limits.maxDepth)
      do throws(JSONParser.SyntaxError) {
        parser.skipSpace()
        let value = try parser.parseValue(depth: 0)
        parser.skipSpace()
        if parser.pos != buffer.count { throw parser.fail("unexpected data after the JSON value") }
        result = .success(value)
      } catch {
        result = .failure(error)
      }
    }
    return try result.get()
  }

  /// Parses newline-delimited JSON: one value per non-blank line. Returns the values with their
  /// 1-based line numbers.
  public static func parseLines(
    _ bytes: [UInt8], limits: JSONLimits = JSONLimits()
  ) throws(SyntaxError) -> [(line: Int, value: JSONValue)] {
    guard bytes.count <= limits.maxDocumentBytes else {
      throw SyntaxError(
        offset: 0, line: 1, column: 1,
        message:
          "document is \(bytes.count) bytes, over \(limits.maxDocumentBytes) (limit maxDocumentBytes)",
        limit: "maxDocumentBytes")
    }
    var out: [(Int, JSONValue)] = []
    var start = 0
    var line = 1
    while start < bytes.count {
      var end = start
      while end < bytes.count && bytes[end] != 0x0A { end += 1 }
      let slice = Array(bytes[start..<end])
      if slice.contains(where: { $0 != 0x20 && $0 != 0x09 && $0 != 0x0D }) {
        do {
          out.append((line, try parse(slice, limits: limits)))
        } catch {
          var e = error
          e.message = "ndjson line \(line): " + e.message
          e.line = line
          e.offset += start
          throw e
        }
      }
      start = end + 1
      line += 1
    }
    return out
  }
}

/// Limits for parsing untrusted JSON (STAC documents from the internet). Exceeding one is a
/// ``JSONParser/SyntaxError`` whose ``JSONParser/SyntaxError/limit`` names it; the STAC decoder
/// turns that into a ``STACError`` with code `.limitExceeded` naming the document.
public struct JSONLimits: Sendable, Hashable {
  /// Largest document parsed, in bytes (the loader also refuses to fetch a larger one; see
  /// ``LoadOptions/maxDocumentBytes``).
  public var maxDocumentBytes: Int
  /// Deepest nesting of arrays and objects. The parser recurses once per level, so this also
  /// bounds its stack use (STAC documents nest about 8 levels; GeoJSON polygons 5).
  public var maxDepth: Int

  /// Creates limits; the defaults accept any real STAC document.
  public init(maxDocumentBytes: Int = 512 << 20, maxDepth: Int = 512) {
    self.maxDocumentBytes = maxDocumentBytes
    self.maxDepth = maxDepth
  }
}

struct _Parser {
  let buf: UnsafeBufferPointer<UInt8>
  var pos = 0
  var scratch: [UInt8] = []
  // Members and elements of the containers being parsed are collected on shared stacks and
  // copied once into an exactly sized array when the container closes: one allocation per
  // object or array instead of a chain of growing reallocations.
  var memberStack: [JSONObject.Member] = []
  var valueStack: [JSONValue] = []

  let maxDepth: Int

  init(_ buf: UnsafeBufferPointer<UInt8>, maxDepth: Int = JSONParser.maxDepth) {
    self.buf = buf
    self.maxDepth = maxDepth
  }

  func fail(
    _ message: String, at offset: Int? = nil, limit: String? = nil
  ) -> JSONParser.SyntaxError {
    let at = min(offset ?? pos, buf.count)
    var line = 1
    var lineStart = 0
    for i in 0..<at where buf[i] == 0x0A {
      line += 1
      lineStart = i + 1
    }
    return JSONParser.SyntaxError(
      offset: at, line: line, column: at - lineStart + 1, message: message, limit: limit)
  }

  @inline(__always) mutating func skipSpace() {
    while pos < buf.count {
      let c = buf[pos]
      if c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 { pos += 1 } else { return }
    }
  }

  mutating func parseValue(depth: Int) throws(JSONParser.SyntaxError) -> JSONValue {
    guard pos < buf.count else { throw fail("unexpected end of input") }
    switch buf[pos] {
    case UInt8(ascii: "{"): return try parseObject(depth: depth + 1)
    case UInt8(ascii: "["): return try parseArray(depth: depth + 1)
    case UInt8(ascii: "\""): return .string(try parseString())
    case UInt8(ascii: "t"): try literal("true"); return .bool(true)
    case UInt8(ascii: "f"): try literal("false"); return .bool(false)
    case UInt8(ascii: "n"): try literal("null"); return .null
    case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try parseNumber()
    default:
      throw fail("unexpected character '\(printable(buf[pos]))'")
    }
  }

  func printable(_ c: UInt8) -> String {
    c >= 0x20 && c < 0x7F ? String(UnicodeScalar(c)) : "\\x" + String(c, radix: 16)
  }

  mutating func literal(_ word: StaticString) throws(JSONParser.SyntaxError) {
    let n = word.utf8CodeUnitCount
    guard pos + n <= buf.count else { throw fail("unexpected end of input") }
    let w = word.utf8Start
    for i in 0..<n where buf[pos + i] != w[i] { throw fail("invalid literal") }
    pos += n
  }

  mutating func parseObject(depth: Int) throws(JSONParser.SyntaxError) -> JSONValue {
    guard depth <= maxDepth else {
      throw fail("nesting deeper than \(maxDepth) (limit maxDepth)", limit: "maxDepth")
    }
    pos += 1
    skipSpace()
    if pos < buf.count && buf[pos] == UInt8(ascii: "}") {
      pos += 1
      return .object(JSONObject([]))
    }
    let base = memberStack.count
    while true {
      skipSpace()
      guard pos < buf.count, buf[pos] == UInt8(ascii: "\"") else {
        throw fail("expected a string key")
      }
      let key = try parseString()
      skipSpace()
      guard pos < buf.count, buf[pos] == UInt8(ascii: ":") else { throw fail("expected ':'") }
      pos += 1
      skipSpace()
      let value = try parseValue(depth: depth)
      memberStack.append(JSONObject.Member(key: key, value: value))
      skipSpace()
      guard pos < buf.count else { throw fail("unterminated object") }
      if buf[pos] == UInt8(ascii: ",") {
        pos += 1
        continue
      }
      if buf[pos] == UInt8(ascii: "}") {
        pos += 1
        let members = Array(memberStack[base...])
        memberStack.removeSubrange(base...)
        return .object(JSONObject(members))
      }
      throw fail("expected ',' or '}' in object")
    }
  }

  mutating func parseArray(depth: Int) throws(JSONParser.SyntaxError) -> JSONValue {
    guard depth <= maxDepth else {
      throw fail("nesting deeper than \(maxDepth) (limit maxDepth)", limit: "maxDepth")
    }
    pos += 1
    skipSpace()
    if pos < buf.count && buf[pos] == UInt8(ascii: "]") {
      pos += 1
      return .array([])
    }
    let base = valueStack.count
    while true {
      skipSpace()
      let element = try parseValue(depth: depth)
      valueStack.append(element)
      skipSpace()
      guard pos < buf.count else { throw fail("unterminated array") }
      if buf[pos] == UInt8(ascii: ",") {
        pos += 1
        continue
      }
      if buf[pos] == UInt8(ascii: "]") {
        pos += 1
        let elements = Array(valueStack[base...])
        valueStack.removeSubrange(base...)
        return .array(elements)
      }
      throw fail("expected ',' or ']' in array")
    }
  }

  mutating func parseString() throws(JSONParser.SyntaxError) -> String {
    let start = pos + 1
    var i = start
    // Fast path: no escapes.
    while i < buf.count {
      let c = buf[i]
      if c == UInt8(ascii: "\"") {
        pos = i + 1
        return String(decoding: UnsafeBufferPointer(rebasing: buf[start..<i]), as: UTF8.self)
      }
      if c == UInt8(ascii: "\\") { break }
      if c < 0x20 { throw fail("control character in string", at: i) }
      i += 1
    }
    guard i < buf.count else { throw fail("unterminated string", at: start - 1) }
    scratch.removeAll(keepingCapacity: true)
    scratch.append(contentsOf: UnsafeBufferPointer(rebasing: buf[start..<i]))
    while i < buf.count {
      let c = buf[i]
      if c == UInt8(ascii: "\"") {
        pos = i + 1
        return String(decoding: scratch, as: UTF8.self)
      }
      if c < 0x20 { throw fail("control character in string", at: i) }
      if c != UInt8(ascii: "\\") {
        scratch.append(c)
        i += 1
        continue
      }
      guard i + 1 < buf.count else { break }
      let e = buf[i + 1]
      i += 2
      switch e {
      case UInt8(ascii: "\""): scratch.append(0x22)
      case UInt8(ascii: "\\"): scratch.append(0x5C)
      case UInt8(ascii: "/"): scratch.append(0x2F)
      case UInt8(ascii: "b"): scratch.append(0x08)
      case UInt8(ascii: "f"): scratch.append(0x0C)
      case UInt8(ascii: "n"): scratch.append(0x0A)
      case UInt8(ascii: "r"): scratch.append(0x0D)
      case UInt8(ascii: "t"): scratch.append(0x09)
      case UInt8(ascii: "u"):
        var scalar = try hex4(at: i)
        i += 4
        if (0xD800..<0xDC00).contains(scalar), i + 6 <= buf.count, buf[i] == 0x5C,
          buf[i + 1] == UInt8(ascii: "u")
        {
          let low = try hex4(at: i + 2)
          if (0xDC00..<0xE000).contains(low) {
            scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
            i += 6
          }
        }
        let u = Unicode.Scalar(scalar) ?? "\u{FFFD}"
        scratch.append(contentsOf: Array(String(Character(u)).utf8))
      default:
        throw fail("invalid escape '\\\(printable(e))'", at: i - 2)
      }
    }
    throw fail("unterminated string", at: start - 1)
  }

  func hex4(at i: Int) throws(JSONParser.SyntaxError) -> UInt32 {
    guard i + 4 <= buf.count else { throw fail("truncated \\u escape", at: i) }
    var v: UInt32 = 0
    for k in 0..<4 {
      let c = buf[i + k]
      let d: UInt32
      switch c {
      case UInt8(ascii: "0")...UInt8(ascii: "9"): d = UInt32(c - 48)
      case UInt8(ascii: "a")...UInt8(ascii: "f"): d = UInt32(c - 87)
      case UInt8(ascii: "A")...UInt8(ascii: "F"): d = UInt32(c - 55)
      default: throw fail("invalid \\u escape", at: i)
      }
      v = v << 4 | d
    }
    return v
  }

  mutating func parseNumber() throws(JSONParser.SyntaxError) -> JSONValue {
    let start = pos
    var negative = false
    if buf[pos] == UInt8(ascii: "-") {
      negative = true
      pos += 1
    }
    var mantissa: UInt64 = 0
    var digits = 0
    var firstDigitPos = pos
    while pos < buf.count, buf[pos] &- 48 < 10 {
      if digits < 19 { mantissa = mantissa &* 10 &+ UInt64(buf[pos] - 48) }
      digits += 1
      pos += 1
    }
    guard digits > 0 else { throw fail("invalid number", at: start) }
    if digits > 1 && buf[firstDigitPos] == UInt8(ascii: "0") {
      throw fail("leading zeros are not allowed", at: start)
    }
    var isInteger = true
    var fractionDigits = 0
    if pos < buf.count, buf[pos] == UInt8(ascii: ".") {
      isInteger = false
      pos += 1
      firstDigitPos = pos
      while pos < buf.count, buf[pos] &- 48 < 10 {
        if digits < 19 {
          mantissa = mantissa &* 10 &+ UInt64(buf[pos] - 48)
          fractionDigits += 1
        }
        digits += 1
        pos += 1
      }
      guard pos > firstDigitPos else {
        throw fail("invalid number: no digits after '.'", at: start)
      }
    }
    var exponent = 0
    if pos < buf.count, buf[pos] == UInt8(ascii: "e") || buf[pos] == UInt8(ascii: "E") {
      isInteger = false
      pos += 1
      var expNegative = false
      if pos < buf.count, buf[pos] == UInt8(ascii: "+") || buf[pos] == UInt8(ascii: "-") {
        expNegative = buf[pos] == UInt8(ascii: "-")
        pos += 1
      }
      let expStart = pos
      while pos < buf.count, buf[pos] &- 48 < 10 {
        if exponent < 100_000 { exponent = exponent * 10 + Int(buf[pos] - 48) }
        pos += 1
      }
      guard pos > expStart else { throw fail("invalid number: empty exponent", at: start) }
      if expNegative { exponent = -exponent }
    }
    if isInteger && digits <= 18 {
      let v = Int64(mantissa)
      return .int(negative ? -v : v)
    }
    // Clinger's fast path: exact when the mantissa and the power of ten are exact doubles.
    let scale = exponent - fractionDigits
    if digits <= 15 && scale >= -22 && scale <= 22 {
      var d = Double(mantissa)
      if scale < 0 { d /= _Parser.pow10[-scale] } else { d *= _Parser.pow10[scale] }
      return .double(negative ? -d : d)
    }
    // Slow path: let the C library round correctly. When a delimiter follows the number,
    // strtod stops exactly where the JSON grammar did, so it can read the buffer in place.
    if pos < buf.count {
      let d = UnsafeRawPointer(buf.baseAddress! + start).assumingMemoryBound(to: CChar.self)
      return .double(strtod(d, nil))
    }
    var text = Array(UnsafeBufferPointer(rebasing: buf[start..<pos]))
    text.append(0)
    let d = text.withUnsafeBufferPointer { p in
      p.baseAddress!.withMemoryRebound(to: CChar.self, capacity: p.count) { strtod($0, nil) }
    }
    return .double(d)
  }

  static let pow10: [Double] = (0...22).map { e in
    var v = 1.0
    for _ in 0..<e { v *= 10 }
    return v
  }
}
