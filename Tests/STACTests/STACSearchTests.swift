import Foundation
import STAC
import TandemTestSupport
import Testing

/// The item-search parameters as STAC API servers expect them (POST bodies and GET query
/// strings as pystac-client sends them), validation, and endpoint discovery.
@Suite struct STACSearchTests {
  static let full = STACSearch(
    bbox: [5.5, 45, 6.25, 46], datetime: "2024-05-01T00:00:00Z/..",
    collections: ["sentinel-1-grd", "sentinel-2-l2a"], ids: ["a", "b"],
    query: .object(JSONObject(["eo:cloud_cover": .object(JSONObject(["lt": .int(30)]))])),
    filter: .text("platform = 'sentinel-2a'"), limit: 100, sortby: ["-properties.datetime", "id"])

  @Test func postBodyHoldsWhatIsSet() throws {
    let body = Self.full.body.serialized(sortedKeys: true)
    #expect(
      body
        == #"{"bbox":[5.5,45,6.25,46],"collections":["sentinel-1-grd","sentinel-2-l2a"],"datetime":"2024-05-01T00:00:00Z/..","filter":"platform = 'sentinel-2a'","filter-lang":"cql2-text","ids":["a","b"],"limit":100,"query":{"eo:cloud_cover":{"lt":30}},"sortby":[{"direction":"desc","field":"properties.datetime"},{"direction":"asc","field":"id"}]}"#
    )
    #expect(STACSearch().body.serialized() == "{}")
    let request = Self.full.request(endpoint: "https://api/search")
    #expect(request.method == "POST" && request.url == "https://api/search")
  }

  @Test func getQueryIsPercentEncoded() {
    let request = Self.full.request(endpoint: "https://api/search", method: .get)
    #expect(request.method == "GET")
    #expect(
      request.url
        == "https://api/search?bbox=5.5,45,6.25,46&datetime=2024-05-01T00:00:00Z%2F..&collections=sentinel-1-grd,sentinel-2-l2a&ids=a,b&query=%7B%22eo:cloud_cover%22:%7B%22lt%22:30%7D%7D&filter=platform%20%3D%20%27sentinel-2a%27&filter-lang=cql2-text&limit=100&sortby=-properties.datetime,id"
    )
    #expect(
      STACSearch().request(endpoint: "https://api/search", method: .get).url == "https://api/search"
    )
  }

  @Test(arguments: [
    (STACSearch(bbox: [1, 2, 3]), "4 numbers"),
    (STACSearch(bbox: [0, 50, 1, 40]), "south <= north"),
    (STACSearch(bbox: [0, 0, 200, 1]), "longitudes"),
    (STACSearch(bbox: [0, 0, .nan, 1]), "finite"),
    (STACSearch(intersects: .string("POINT(1 2)")), "GeoJSON"),
    (STACSearch(datetime: "yesterday"), "RFC 3339"),
    (STACSearch(datetime: "2024-05-02T00:00:00Z/2024-05-01T00:00:00Z"), "ends before"),
    (STACSearch(datetime: "../.."), "no bound"),
    (STACSearch(query: .array([])), "query"),
    (STACSearch(filter: .json(.string("x"))), "cql2-json"),
    (STACSearch(limit: 0), "limit"),
  ])
  func invalidSearchesNameTheParameter(search: STACSearch, message: String) {
    #expect(search.problem?.contains(message) == true, "\(search.problem ?? "no problem")")
  }

  @Test func validSearchesHaveNoProblem() {
    #expect(Self.full.problem == nil)
    #expect(STACSearch(bbox: [170, -10, -170, 10]).problem == nil)  // across the antimeridian
    #expect(STACSearch(datetime: "../2024-01-01T00:00:00Z").problem == nil)
  }

  @Test func bareDatesBecomeWholeDays() {
    #expect(
      STACSearch.expandingDates("2024-05-01") == "2024-05-01T00:00:00Z/2024-05-01T23:59:59Z")
    #expect(
      STACSearch.expandingDates("2024-05-01/2024-05-31")
        == "2024-05-01T00:00:00Z/2024-05-31T23:59:59Z")
    #expect(STACSearch.expandingDates("2024-05-01/..") == "2024-05-01T00:00:00Z/..")
    #expect(STACSearch.expandingDates("2024-05-01T10:00:00Z") == "2024-05-01T10:00:00Z")
  }

  @Test func codableRoundTrip() throws {
    let data = try JSONEncoder().encode(Self.full)
    #expect(try JSONDecoder().decode(STACSearch.self, from: data) == Self.full)
  }

  /// The endpoint comes from the landing page's `search` link for the wanted method.
  @Test func landingPageSearchLinkIsTheEndpoint() async throws {
    let landing = #"""
      {"type":"Catalog","stac_version":"1.0.0","id":"api","description":"d","links":[
      {"rel":"search","href":"{{BASE}}/api/search","type":"application/geo+json","method":"GET"},
      {"rel":"search","href":"{{BASE}}/api/search","type":"application/geo+json","method":"POST"}]}
      """#
    let page = #"{"type":"FeatureCollection","features":[],"links":[],"numberMatched":0}"#
    let search = STACSearch(collections: ["c"], limit: 5)
    let server = try TestHTTPServer(routes: [
      ("GET", "/api/", nil, RoutedResponse(status: 200, body: Array(landing.utf8))),
      ("POST", "/api/search", search.body, RoutedResponse(status: 200, body: Array(page.utf8))),
      (
        "GET", "/api/search?collections=c&limit=5", nil,
        RoutedResponse(status: 200, body: Array(page.utf8))
      ),
      ("GET", "/static.json", nil, RoutedResponse(status: 200, body: Array(page.utf8))),
    ])
    defer { server.stop() }
    let loader = STACLoader(fetcher: HTTPDocumentFetcher())
    let post = try await loader.searchRequest(search, at: server.url("/api/"))
    #expect(post.method == "POST" && post.url == server.url("/api/search"))
    let get = try await loader.searchRequest(search, at: server.url("/api/"), method: .get)
    #expect(get.url == server.url("/api/search?collections=c&limit=5"))
    for request in [post, get] {
      let result = try await loader.loadItems(from: request)
      #expect(result.numberMatched == 0 && result.items.isEmpty)
    }
    await #expect(throws: STACError.self) {
      _ = try await loader.searchRequest(search, at: server.url("/static.json"))
    }
  }
}
