import RangeIO
import STAC
import TandemTestSupport
import Testing

/// Each STAC/JSON limit: a crafted document over it fails with `.limitExceeded` naming the
/// document and the limit, and one at the limit passes.
@Suite struct STACLimitTests {
  static func redirects(_ n: Int) -> HTTPOptions {
    var o = HTTPOptions()
    o.maxRedirects = n
    return o
  }

  static func item(_ id: String) -> String {
    #"{"type":"Feature","stac_version":"1.0.0","id":"\#(id)","geometry":null,"properties":{"datetime":"2020-01-01T00:00:00Z"},"links":[],"assets":{}}"#
  }

  static func collection(_ n: Int) -> [UInt8] {
    let features = (0..<n).map { item("i\($0)") }.joined(separator: ",")
    return Array(#"{"type":"FeatureCollection","features":[\#(features)]}"#.utf8)
  }

  static func nested(_ depth: Int) -> [UInt8] {
    Array(String(repeating: "[", count: depth).utf8)
      + Array(String(repeating: "]", count: depth).utf8)
  }

  static func decodeError(
    _ bytes: [UInt8], _ options: DecodeOptions, location: String = "https://example.test/doc.json"
  ) -> STACError? {
    var decoder = STACDecoder(location: location, options: options)
    do throws(STACError) {
      _ = try decoder.decodeDocument(bytes: bytes)
      return nil
    } catch {
      return error
    }
  }

  static func expectLimit(_ error: STACError?, _ location: String, _ limit: String) throws {
    let error = try #require(error)
    #expect(error.code == .limitExceeded)
    #expect(error.location == location)
    #expect(error.description.contains(location))
    #expect(error.description.contains(limit))
  }

  @Test func defaults() {
    #expect(JSONLimits().maxDepth == 512)
    #expect(JSONLimits().maxDocumentBytes == 512 << 20)
    #expect(DecodeOptions().maxItemsPerDocument == 1_000_000)
    #expect(JSONParser.maxDepth == 512)
  }

  @Test func nestingDepthDefault() throws {
    // Hostile nesting far beyond the default fails cleanly (no stack overflow).
    let error = Self.decodeError(Self.nested(100_000), DecodeOptions())
    try Self.expectLimit(error, "https://example.test/doc.json", "maxDepth")
  }

  @Test func nestingDepthConfigured() throws {
    let options = DecodeOptions(json: JSONLimits(maxDepth: 8))
    try Self.expectLimit(
      Self.decodeError(Self.nested(9), options), "https://example.test/doc.json", "maxDepth")
    // At the limit the JSON parses (and is then not STAC).
    #expect(throws: Never.self) { try JSONParser.parse(Self.nested(8), limits: options.json) }
    #expect(Self.decodeError(Self.nested(8), options)?.code != .limitExceeded)
  }

  @Test func nestingDepthInNewlineDelimitedItems() throws {
    let options = DecodeOptions(json: JSONLimits(maxDepth: 4))
    let deep = #"{"type":"Feature","id":"x","properties":{"a":[[[[1]]]]}}"#
    let lines = Array((Self.item("a") + "\n" + deep + "\n").utf8)
    try Self.expectLimit(
      Self.decodeError(lines, options), "https://example.test/doc.json", "maxDepth")
  }

  @Test func documentSize() throws {
    let doc = Array(Self.item("a").utf8)
    let options = DecodeOptions(json: JSONLimits(maxDocumentBytes: doc.count - 1))
    try Self.expectLimit(
      Self.decodeError(doc, options, location: "/data/item.json"), "/data/item.json",
      "maxDocumentBytes")
    #expect(
      Self.decodeError(doc, DecodeOptions(json: JSONLimits(maxDocumentBytes: doc.count))) == nil)
  }

  @Test func documentSizeThroughTheLoader() async throws {
    // A fetcher that ignores `maxBytes` (as a misbehaving server might): the decoder still
    // refuses the document.
    let url = "https://example.test/items.json"
    let fetcher = MappedFetcher([(DocumentRequest(url: url), Self.collection(3))])
    let loader = STACLoader(fetcher: fetcher, options: LoadOptions(maxDocumentBytes: 100))
    await #expect {
      _ = try await loader.loadItems(from: url)
    } throws: { error in
      guard let error = error as? STACError else { return false }
      return error.code == .limitExceeded && error.location == url
        && error.description.contains("maxDocumentBytes")
    }
  }

  @Test func itemsPerDocument() throws {
    let options = DecodeOptions(maxItemsPerDocument: 4)
    try Self.expectLimit(
      Self.decodeError(Self.collection(5), options), "https://example.test/doc.json",
      "maxItemsPerDocument")
    #expect(Self.decodeError(Self.collection(4), options) == nil)
    // Newline-delimited items count too.
    let lines = Array((0..<5).map { Self.item("l\($0)") }.joined(separator: "\n").utf8)
    try Self.expectLimit(
      Self.decodeError(lines, options), "https://example.test/doc.json", "maxItemsPerDocument")
  }

  @Test func itemsPerCatalogWalkIsASoftStop() async throws {
    // A catalog linking 6 items, loaded with maxItems 4: the walk stops and says why.
    let links = (0..<6).map { #"{"rel":"item","href":"/c/i\#($0).json"}"# }.joined(separator: ",")
    let catalog = Array(
      #"{"type":"Catalog","stac_version":"1.0.0","id":"c","description":"d","links":[\#(links)]}"#
        .utf8)
    var routes = [(DocumentRequest(url: "/c/catalog.json"), catalog)]
    for i in 0..<6 {
      routes.append((DocumentRequest(url: "/c/i\(i).json"), Array(Self.item("i\(i)").utf8)))
    }
    let result = try await STACLoader(
      fetcher: MappedFetcher(routes), options: LoadOptions(maxItems: 4)
    )
    .loadItems(from: "/c/catalog.json")
    #expect(result.items.count == 4)
    #expect(result.truncated?.contains("item limit (4 items)") == true)
  }

  @Test func redirectsOverTheLimit() async throws {
    // /r0 → /r1 → … → /r9 → the page.
    var routes: [(String, String, JSONValue?, RoutedResponse)] = (0..<9).map {
      ("GET", "/r\($0)", nil, .init(status: 302, body: [], location: "/r\($0 + 1)"))
    }
    routes.append(("GET", "/r9", nil, .init(status: 200, body: Self.collection(1))))
    let server = try TestHTTPServer(routes: routes)
    defer { server.stop() }
    let url = server.base + "/r0"
    do throws(STACError) {
      _ = try await HTTPDocumentFetcher(options: Self.redirects(3)).fetch(
        DocumentRequest(url: url), maxBytes: 1 << 20)
      Issue.record("no error")
    } catch {
      try Self.expectLimit(error, url, "maxRedirects")
    }
    #expect(server.requestKeys.count == 4)
    let page = try await HTTPDocumentFetcher(options: Self.redirects(9)).fetch(
      DocumentRequest(url: url), maxBytes: 1 << 20)
    #expect(page == Self.collection(1))
  }
}
