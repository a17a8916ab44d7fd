import Foundation
import STAC
import Synchronization
import Testing

/// Serves canned documents keyed by request (method, canonical URL, sorted body), counting what
/// was asked for. Unknown requests fail like a 404.
final class MappedFetcher: DocumentFetcher {
  let routes: [String: [UInt8]]
  let log = Mutex<[String]>([])

  init(_ routes: [(DocumentRequest, [UInt8])]) {
    var r: [String: [UInt8]] = [:]
    for (req, bytes) in routes { r[req.canonicalKey] = bytes }
    self.routes = r
  }

  func fetch(_ request: DocumentRequest, maxBytes: Int) async throws(STACError) -> [UInt8] {
    log.withLock { $0.append(request.description) }
    guard let bytes = routes[request.canonicalKey] else {
      throw STACError(.io, location: request.url, message: "no such page: \(request)")
    }
    return bytes
  }

  var requests: [String] { log.withLock { $0 } }
}

@Suite struct HrefTests {
  static let cases: [(String, String, String)] = [
    ("./child/catalog.json", "/data/cat/catalog.json", "/data/cat/child/catalog.json"),
    ("../../other/item.json", "/data/a/b/c.json", "/data/other/item.json"),
    ("item.json", "catalogs/x/catalog.json", "catalogs/x/item.json"),
    ("../item.json", "catalog.json", "../item.json"),
    ("/abs/path.json", "/data/cat.json", "/abs/path.json"),
    ("https://example.com/a.tif", "/data/cat.json", "https://example.com/a.tif"),
    ("./B04.tif", "https://host/stac/items/x.json", "https://host/stac/items/B04.tif"),
    ("../../y.json?token=1", "https://host/a/b/c/x.json?q=2", "https://host/a/y.json?token=1"),
    ("/v1/search", "https://Host.example/v1/collections/x/items", "https://Host.example/v1/search"),
    ("./b/c.json", "file:///data/a/cat.json", "file:///data/a/b/c.json"),
    ("../c.json", "file:///data/a/cat.json", "file:///data/c.json"),
    ("s3://bucket/key.tif", "https://host/x.json", "s3://bucket/key.tif"),
    ("?token=abc", "https://host/items?token=old", "https://host/items?token=abc"),
  ]

  @Test(arguments: cases)
  func resolves(_ href: String, _ base: String, _ expected: String) {
    #expect(Href.resolve(href, against: base) == expected)
  }

  @Test func canonicalFormsMatch() {
    #expect(Href.canonical("file:///data/a/../b.json") == "/data/b.json")
    #expect(Href.canonical("/data/./b.json") == "/data/b.json")
    #expect(Href.canonical("HTTPS://Host/x") == Href.canonical("https://host/x"))
  }
}

@Suite struct CatalogWalkTests {
  static let catalogs: [(String, Int, Int)] = [
    ("realdata/catalogs/eodag-static/catalog.json", 5, 0),
    ("realdata/catalogs/pystac-test-case-1/catalog.json", 8, 0),
    ("realdata/catalogs/stac-spec-1.1.0-examples/catalog.json", 2, 0),
    ("realdata/catalogs/stactools-sentinel1/rtc/catalog.json", 2, 0),
    ("realdata/catalogs/stactools-sentinel1/grd/collection.json", 2, 0),
    ("realdata/catalogs/stactools-sentinel2/catalog.json", 2, 0),
    ("realdata/broken/pystac-shared-id/catalog.json", 1, 0),
    ("realdata/broken/stac-validator/v100/catalog-with-bad-item.json", 1, 1),
    ("realdata/broken/stac-validator/v100/catalog-with-bad-child-collection.json", 0, 1),
  ]

  @Test(arguments: catalogs)
  func walksStaticCatalogs(_ file: String, _ items: Int, _ errors: Int) async throws {
    for concurrency in [1, 4] {
      let loader = STACLoader(options: LoadOptions(maxConcurrency: concurrency))
      let result = try await loader.loadItems(from: Fixture.path(file))
      #expect(result.items.count == items, "\(file)")
      #expect(result.errors.count == errors, "\(result.errors)")
      #expect(result.truncated == nil)
      for item in result.items { #expect(item.sourceURL?.hasPrefix(Fixture.root) == true) }
    }
  }

  @Test func badItemErrorNamesFileAndPath() async throws {
    let result = try await STACLoader().loadItems(
      from: Fixture.path("realdata/broken/stac-validator/v100/catalog-with-bad-item.json"))
    let error = try #require(result.errors.first)
    #expect(error.location.hasSuffix("v100/bad-item.json"))
    #expect(error.path?.description == "id")
    #expect(result.items.map(\.id) == ["CS3-20160503_132131_08"])
  }

  @Test func failFastThrows() async {
    let loader = STACLoader(options: LoadOptions(failFast: true))
    await #expect(throws: STACError.self) {
      try await loader.loadItems(
        from: Fixture.path("realdata/broken/stac-validator/v100/catalog-with-bad-item.json"))
    }
  }

  @Test func fileURLAndRelativeAssetHrefs() async throws {
    let url = "file://" + Fixture.path("realdata/catalogs/stactools-sentinel2/catalog.json")
    let result = try await STACLoader().loadItems(from: url)
    #expect(result.items.count == 2)
    let item = try #require(result.items.first)
    let asset = try #require(item.assets.first { !$0.href.hasPrefix("http") })
    let resolved = item.resolvedHref(of: asset)
    #expect(resolved.hasPrefix("file://" + Fixture.root))
    #expect(!resolved.contains("/./") && !resolved.contains("/../"))
  }

  @Test func depthLimitStopsAndWarns() async throws {
    let loader = STACLoader(options: LoadOptions(maxDepth: 2))
    let result = try await loader.loadItems(
      from: Fixture.path("realdata/catalogs/eodag-static/catalog.json"))
    #expect(result.items.isEmpty)
    #expect(result.warnings.contains { $0.message.contains("deeper than the limit") })
  }

  @Test func cyclesTerminate() async throws {
    // a → b → a (child links both ways) and a self link as child.
    let a =
      #"{"type":"Catalog","stac_version":"1.0.0","id":"a","description":"","links":[{"rel":"child","href":"./b.json"},{"rel":"child","href":"./a.json"},{"rel":"item","href":"./i.json"}]}"#
    let b =
      #"{"type":"Catalog","stac_version":"1.0.0","id":"b","description":"","links":[{"rel":"child","href":"../x/a.json"},{"rel":"item","href":"i.json"}]}"#
    let i =
      #"{"type":"Feature","stac_version":"1.0.0","id":"i","geometry":null,"properties":{"datetime":"2020-01-01T00:00:00Z"},"links":[],"assets":{}}"#
    let fetcher = MappedFetcher([
      (DocumentRequest(url: "/x/a.json"), Array(a.utf8)),
      (DocumentRequest(url: "/x/b.json"), Array(b.utf8)),
      (DocumentRequest(url: "/x/i.json"), Array(i.utf8)),
    ])
    let result = try await STACLoader(fetcher: fetcher).loadItems(from: "/x/a.json")
    #expect(result.items.map(\.id) == ["i"])
    #expect(fetcher.requests.count == 3)
    #expect(result.errors.isEmpty)
  }

  @Test func documentSizeLimit() async {
    let loader = STACLoader(options: LoadOptions(maxDocumentBytes: 1000))
    do throws(STACError) {
      _ = try await loader.loadItems(from: Fixture.path("realdata/s2/pc-two-sentinel-2-items.json"))
      Issue.record("loaded")
    } catch {
      #expect(error.code == .tooLarge)
    }
  }

  @Test func missingFileIsIOError() async {
    do throws(STACError) {
      _ = try await STACLoader().loadItems(from: "/nonexistent/catalog.json")
      Issue.record("loaded")
    } catch {
      #expect(error.code == .io)
      #expect(error.underlying?.code == .notFound)
    }
  }
}

@Suite struct PagingTests {
  func page(_ name: String) throws -> [UInt8] { try Fixture.bytes("realdata/paging/" + name) }

  func requests(_ name: String) throws -> [DocumentRequest] {
    let v = try JSONParser.parse(try Fixture.bytes("realdata/paging/" + name))
    return (v.arrayValue ?? []).map {
      DocumentRequest(
        url: $0["uri"]!.stringValue!, method: $0["method"]!.stringValue!,
        body: $0["body"].flatMap { $0.isNull ? nil : $0 })
    }
  }

  @Test func postBodyNextEarthSearch() async throws {
    let reqs = try requests("earth-search-v1-cql2-filter.requests.json")
    let fetcher = MappedFetcher([
      (reqs[0], try page("earth-search-v1-cql2-filter.page1.json")),
      (reqs[1], try page("earth-search-v1-cql2-filter.page2.json")),
    ])
    let loader = STACLoader(fetcher: fetcher, options: LoadOptions(maxPages: 2))
    let result = try await loader.loadItems(from: reqs[0])
    #expect(result.pages == 2)
    #expect(result.items.count == 20)
    #expect(result.truncated?.contains("page limit") == true)
    #expect(fetcher.requests.count == 2)
  }

  @Test func postTokenPlanetaryComputerThreePages() async throws {
    let reqs = try requests("pc-naip-post-token.requests.json")
    let fetcher = MappedFetcher([
      (reqs[0], try page("pc-naip-post-token.page1.json")),
      (reqs[1], try page("pc-naip-post-token.page2.json")),
      (reqs[2], try page("pc-naip-post-token.page3.json")),
    ])
    let result = try await STACLoader(fetcher: fetcher).loadItems(from: reqs[0])
    #expect(result.pages == 3)
    #expect(result.items.count == 30)
    // Page 3's next link has no route: recorded, loading stops with what it has.
    #expect(result.errors.count == 1)
    #expect(result.truncated?.contains("page 4") == true)
  }

  @Test func emptyPageStops() async throws {
    let reqs = try requests("earth-search-v1-multi-collection.requests.json")
    let fetcher = MappedFetcher([
      (reqs[0], try page("earth-search-v1-multi-collection.page1.json")),
      (reqs[1], try page("earth-search-v1-multi-collection.page2.json")),
    ])
    let result = try await STACLoader(fetcher: fetcher).loadItems(from: reqs[0])
    #expect(result.pages == 2)
    #expect(result.items.count == 2)
    #expect(result.truncated == nil && result.errors.isEmpty)
  }

  @Test func getTokenPages() async throws {
    let first =
      "https://planetarycomputer.microsoft.com/api/stac/v1/collections/sentinel-2-l2a/items?limit=1"
    let p1 = try page("rustac-pc-s2-items-get.page1.json")
    let next = try JSONParser.parse(p1)["links"]!.arrayValue!.first {
      $0["rel"]?.stringValue == "next"
    }!
    let fetcher = MappedFetcher([
      (DocumentRequest(url: first), p1),
      (
        DocumentRequest(url: next["href"]!.stringValue!),
        try page("rustac-pc-s2-items-get.page2.json")
      ),
    ])
    let result = try await STACLoader(fetcher: fetcher, options: LoadOptions(maxPages: 2))
      .loadItems(
        from: first)
    #expect(result.items.count == 2)
    #expect(fetcher.requests[1].contains("token=next:"))
  }

  static func pageJSON(ids: [String], next: String) -> [UInt8] {
    let features = ids.map {
      #"{"type":"Feature","stac_version":"1.0.0","id":"\#($0)","geometry":null,"properties":{"datetime":"2020-01-01T00:00:00Z"},"links":[],"assets":{}}"#
    }
    return Array(
      #"{"type":"FeatureCollection","features":[\#(features.joined(separator: ","))],"links":[\#(next)]}"#
        .utf8)
  }

  @Test func getLoopTerminatesWithError() async throws {
    let fetcher = MappedFetcher([
      (
        DocumentRequest(url: "https://api/items"),
        Self.pageJSON(ids: ["a"], next: #"{"rel":"next","href":"https://api/items?token=2"}"#)
      ),
      (
        DocumentRequest(url: "https://api/items?token=2"),
        Self.pageJSON(ids: ["b"], next: #"{"rel":"next","href":"./items?token=2"}"#)
      ),
    ])
    do throws(STACError) {
      _ = try await STACLoader(fetcher: fetcher).loadItems(from: "https://api/items")
      Issue.record("loop not detected")
    } catch {
      #expect(error.code == .pagingLoop)
      #expect(error.description.contains("page 2"))
      // `token` may be a credential: messages drop it (Docs/SAFETY.md), the request stays named.
      #expect(error.description.contains("GET https://api/items"))
      #expect(!error.description.contains("token=2"))
    }
    #expect(fetcher.requests.count == 2)
  }

  @Test func postBodyLoopTerminatesWithError() async throws {
    let start = DocumentRequest(
      url: "https://api/search", method: "POST", body: .object(JSONObject(["limit": .int(1)])))
    let next =
      #"{"rel":"next","href":"https://api/search","method":"POST","body":{"token":"t1"},"merge":true}"#
    let merged = DocumentRequest(
      url: "https://api/search", method: "POST",
      body: .object(JSONObject(["token": .string("t1"), "limit": .int(1)])))
    let fetcher = MappedFetcher([
      (start, Self.pageJSON(ids: ["a", "b"], next: next)),
      // Same next body again: the server is stuck.
      (merged, Self.pageJSON(ids: ["b", "c"], next: next)),
    ])
    do throws(STACError) {
      _ = try await STACLoader(fetcher: fetcher).loadItems(from: start)
      Issue.record("loop not detected")
    } catch {
      #expect(error.code == .pagingLoop)
      #expect(error.description.contains("already fetched as page 2"))
    }
  }

  @Test func mergeAndDedupe() async throws {
    let start = DocumentRequest(
      url: "https://api/search", method: "POST",
      body: .object(JSONObject(["limit": .int(2), "collections": .array([.string("s2")])])))
    let next =
      #"{"rel":"next","href":"https://api/search","method":"POST","body":{"token":"t1"},"merge":true}"#
    let merged = DocumentRequest(
      url: "https://api/search", method: "POST",
      body: .object(
        JSONObject([
          "collections": .array([.string("s2")]), "token": .string("t1"), "limit": .int(2),
        ])))
    let fetcher = MappedFetcher([
      (start, Self.pageJSON(ids: ["a", "b"], next: next)),
      (merged, Self.pageJSON(ids: ["b", "c"], next: "")),
    ])
    let result = try await STACLoader(fetcher: fetcher).loadItems(from: start)
    #expect(result.items.map(\.id) == ["a", "b", "c"])
    #expect(result.duplicateItems == 1)
  }

  @Test func itemCapStops() async throws {
    let fetcher = MappedFetcher([
      (
        DocumentRequest(url: "/p1"),
        Self.pageJSON(ids: ["a", "b", "c"], next: #"{"rel":"next","href":"/p2"}"#)
      )
    ])
    let result = try await STACLoader(fetcher: fetcher, options: LoadOptions(maxItems: 2))
      .loadItems(from: "/p1")
    #expect(result.items.count == 2)
    #expect(result.truncated?.contains("item limit") == true)
    #expect(fetcher.requests.count == 1)
  }

  @Test func postNeedsHTTPFetcher() async {
    let request = DocumentRequest(url: "/tmp/x.json", method: "POST", body: .object(JSONObject()))
    do throws(STACError) {
      _ = try await ByteSourceFetcher().fetch(request, maxBytes: 100)
      Issue.record("POST through ByteSource")
    } catch {
      #expect(error.code == .unsupported)
    }
  }
}
