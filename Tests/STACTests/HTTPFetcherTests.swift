import Foundation
import STAC
import TandemTestSupport
import Testing

/// GET and POST paging over real HTTP, against a loopback server started by each test.
@Suite struct HTTPFetcherTests {
  typealias Route = (String, String, JSONValue?, RoutedResponse)

  /// A real page with its API origin replaced by the loopback server's.
  func page(_ name: String, origin: String) throws -> [UInt8] {
    let text = String(decoding: try Fixture.bytes("realdata/paging/" + name), as: UTF8.self)
    return Array(text.replacingOccurrences(of: origin, with: "{{BASE}}").utf8)
  }

  func requests(_ name: String) throws -> [JSONValue] {
    try JSONParser.parse(try Fixture.bytes("realdata/paging/" + name)).arrayValue ?? []
  }

  static func synthetic(ids: [String], next: String) -> [UInt8] {
    PagingTests.pageJSON(ids: ids, next: next)
  }

  @Test func postTokenPagesFromPlanetaryComputer() async throws {
    let origin = "https://planetarycomputer.microsoft.com"
    let reqs = try requests("pc-naip-post-token.requests.json")
    let routes: [Route] = try reqs.indices.map { i in
      (
        "POST", "/api/stac/v1/search", reqs[i]["body"],
        .init(status: 200, body: try page("pc-naip-post-token.page\(i + 1).json", origin: origin))
      )
    }
    let server = try TestHTTPServer(routes: routes)
    defer { server.stop() }
    let loader = STACLoader(fetcher: HTTPDocumentFetcher(), options: LoadOptions(maxPages: 3))
    let result = try await loader.loadItems(
      from: DocumentRequest(
        url: server.base + "/api/stac/v1/search", method: "POST", body: reqs[0]["body"]))
    #expect(result.pages == 3)
    #expect(result.items.count == 30)
    #expect(result.errors.isEmpty)
    #expect(server.requestKeys.count == 3)
    #expect(server.requestKeys[2].contains("next:naip:mt_m_4511355_sw_12_060_20231117_20240103"))
    #expect(result.truncated?.contains("page limit") == true)
  }

  @Test func postBodyNextFromEarthSearch() async throws {
    let origin = "https://earth-search.aws.element84.com"
    let reqs = try requests("earth-search-v1-cql2-filter.requests.json")
    let routes: [Route] = try reqs.indices.map { i in
      (
        "POST", "/v1/search", reqs[i]["body"],
        .init(
          status: 200,
          body: try page("earth-search-v1-cql2-filter.page\(i + 1).json", origin: origin))
      )
    }
    let server = try TestHTTPServer(routes: routes)
    defer { server.stop() }
    let loader = STACLoader(fetcher: HTTPDocumentFetcher(), options: LoadOptions(maxPages: 2))
    let result = try await loader.loadItems(
      from: DocumentRequest(url: server.base + "/v1/search", method: "POST", body: reqs[0]["body"]))
    #expect(result.items.count == 20)
    #expect(server.requestKeys.count == 2)
  }

  @Test func getTokenPagesFromPlanetaryComputer() async throws {
    let origin = "https://planetarycomputer.microsoft.com"
    let p1 = try page("rustac-pc-s2-items-get.page1.json", origin: origin)
    let nextHref = try JSONParser.parse(p1)["links"]!.arrayValue!.first {
      $0["rel"]?.stringValue == "next"
    }!["href"]!.stringValue!
    let target = String(nextHref.dropFirst("{{BASE}}".count))
    let server = try TestHTTPServer(routes: [
      (
        "GET", "/api/stac/v1/collections/sentinel-2-l2a/items?limit=1", nil,
        .init(status: 200, body: p1)
      ),
      (
        "GET", target, nil,
        .init(status: 200, body: try page("rustac-pc-s2-items-get.page2.json", origin: origin))
      ),
    ])
    defer { server.stop() }
    let loader = STACLoader(fetcher: HTTPDocumentFetcher(), options: LoadOptions(maxPages: 2))
    let result = try await loader.loadItems(
      from: server.base + "/api/stac/v1/collections/sentinel-2-l2a/items?limit=1")
    #expect(result.items.count == 2)
    #expect(server.requestKeys[1].contains("token=next:"))
  }

  @Test func postLoopStopsWithAnError() async throws {
    let next = #"{"rel":"next","href":"{{BASE}}/search","method":"POST","body":{"token":"same"}}"#
    let server = try TestHTTPServer(routes: [
      (
        "POST", "/search", .object(["limit": .int(1)]),
        .init(status: 200, body: Self.synthetic(ids: ["a"], next: next))
      ),
      (
        "POST", "/search", .object(["token": .string("same")]),
        .init(status: 200, body: Self.synthetic(ids: ["b"], next: next))
      ),
    ])
    defer { server.stop() }
    do throws(STACError) {
      _ = try await STACLoader(fetcher: HTTPDocumentFetcher()).loadItems(
        from: DocumentRequest(
          url: server.base + "/search", method: "POST", body: .object(["limit": .int(1)])))
      Issue.record("loop not detected")
    } catch {
      #expect(error.code == .pagingLoop)
      // The POST body is quoted with its `token` member redacted (it may be a credential).
      #expect(error.description.contains(#"{"token":"REDACTED"}"#))
      #expect(!error.description.contains("same"))
    }
    #expect(server.requestKeys.count == 2)
  }

  @Test func httpErrorsAndSizeLimit() async throws {
    let server = try TestHTTPServer(routes: [
      (
        "GET", "/broken", nil,
        .init(status: 500, body: Array(#"{"code":"ServerError","description":"boom"}"#.utf8))
      ),
      (
        "GET", "/big", nil,
        .init(
          status: 200,
          body: Self.synthetic(
            ids: Array(repeating: "x", count: 50).enumerated().map { "\($0.offset)" }, next: ""))
      ),
    ])
    defer { server.stop() }
    do throws(STACError) {
      _ = try await HTTPDocumentFetcher().fetch(
        DocumentRequest(url: server.base + "/broken"), maxBytes: 1 << 20)
      Issue.record("no error")
    } catch {
      #expect(error.code == .io)
      #expect(error.description.contains("HTTP 500"))
      #expect(error.description.contains("boom"))
    }
    do throws(STACError) {
      _ = try await HTTPDocumentFetcher().fetch(
        DocumentRequest(url: server.base + "/big"), maxBytes: 1000)
      Issue.record("no error")
    } catch {
      #expect(error.code == .tooLarge)
    }
    let ok = try await HTTPDocumentFetcher().fetch(
      DocumentRequest(url: server.base + "/big"), maxBytes: 1 << 20)
    #expect(ok.count > 1000)
    // Paths still go through the fallback fetcher.
    let local = try await HTTPDocumentFetcher().fetch(
      DocumentRequest(url: Fixture.path("realdata/misc/rustac-items.ndjson")), maxBytes: 1 << 20)
    #expect(local.count == 1413)
  }
}
