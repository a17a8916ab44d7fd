// libFuzzer target: STAC's JSON parser (single documents and newline-delimited) and the STAC
// decoder (items, item collections, catalogs, collections) on arbitrary bytes. Any outcome but a
// value or a typed error is a finding.
import STAC

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSTAC(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
  let bytes = input(data, size)
  if let value = try? JSONParser.parse(bytes) {
    // Serialising and re-parsing must round-trip.
    let text = value.serialized(sortedKeys: false)
    guard let again = try? JSONParser.parse(Array(text.utf8)), same(again, value) else {
      fatalError("JSON round trip failed")
    }
  }
  _ = try? JSONParser.parseLines(bytes)
  var decoder = STACDecoder(location: "https://example.test/fuzz.json")
  if let doc = try? decoder.decodeDocument(bytes: bytes) {
    _ = doc.links.count
  }
  var lenient = STACDecoder(
    location: "fuzz.json", options: DecodeOptions(skipInvalidItems: true))
  _ = try? lenient.decodeDocument(bytes: bytes)
  return 0
}

/// Equality up to what serialisation does on purpose: whole doubles are written as integers
/// (so `.double(2)` comes back as `.int(2)`) and non-finite doubles as `null`.
func same(_ a: JSONValue, _ b: JSONValue) -> Bool {
  switch (a, b) {
  case (.array(let x), .array(let y)):
    return x.count == y.count && zip(x, y).allSatisfy { same($0, $1) }
  case (.object(let x), .object(let y)):
    return x.count == y.count
      && zip(x, y).allSatisfy { $0.key == $1.key && same($0.value, $1.value) }
  case (.double(let d), .null), (.null, .double(let d)):
    return !d.isFinite
  default:
    if let p = a.doubleValue, let q = b.doubleValue { return p == q }
    return a == b
  }
}
