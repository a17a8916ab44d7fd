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

  /// A search URL's query string is read back into the same search (every parameter, both
  /// encodings of a space), and the items it does not know are kept raw.
  @Test func queryStringParsesBackToTheSearch() throws {
    let url = Self.full.request(endpoint: "https://api/search", method: .get).url
    let query = String(url.split(separator: "?", maxSplits: 1)[1])
    let parsed = try STACSearch.parsing(queryString: query, location: url)
    #expect(parsed.search == Self.full && parsed.others.isEmpty)
    // As Python's urlencode (requests, pystac-client) writes it: `+` for spaces, %2C, %3A.
    let python =
      "token=s%2Bcret&collections=sentinel-2-l2a%2Csentinel-1-grd&filter=eo%3Acloud_cover+%3C+10"
      + "&datetime=2024-05-01&limit=7&sortby=-datetime&x"
    let (search, others) = try STACSearch.parsing(queryString: python, location: "u")
    #expect(search.collections == ["sentinel-2-l2a", "sentinel-1-grd"])
    #expect(search.filter == .text("eo:cloud_cover < 10"))
    #expect(search.datetime == "2024-05-01T00:00:00Z/2024-05-01T23:59:59Z")
    #expect(search.limit == 7 && search.sortby == ["-datetime"])
    #expect(others == ["token=s%2Bcret", "x"])
    let json = try STACSearch.parsing(
      queryString: #"filter={"op":"=","args":[{"property":"id"},"a"]}&filter-lang=cql2-json"#,
      location: "u")
    #expect(json.search.filter?.language == "cql2-json")
    // Stray or malformed escapes stay as they are; `+` inside an escape is not a sign.
    let stray = try STACSearch.parsing(queryString: "ids=a%2,b%+f,c%4,100%25", location: "u")
    #expect(stray.search.ids == ["a%2", "b% f", "c%4", "100%"])
    let unlabelled = try STACSearch.parsing(queryString: #"filter={"op":"isNull"}"#, location: "u")
    #expect(unlabelled.search.filter?.language == "cql2-json")
  }

  @Test(arguments: [
    ("limit=5&limit=6", "limit is given twice"),
    ("bbox=1,2,x,4", "bbox '1,2,x,4'"),
    ("bbox=1,2,3", "4 numbers"),
    ("query=%7Bnot", "query is not valid JSON"),
    ("filter=a&filter-lang=cql3", "filter-lang 'cql3'"),
    ("filter-lang=cql2-text", "filter-lang without filter"),
    ("limit=ten", "limit 'ten'"),
    ("datetime=yesterday", "RFC 3339"),
  ])
  func invalidQueryStringsNameTheURL(query: String, message: String) {
    let url = "https://api/search?" + query
    do {
      _ = try STACSearch.parsing(queryString: query, location: url)
      Issue.record("\(query) parsed")
    } catch {
      #expect(error.location == url && "\(error)".contains(message), "\(error)")
    }
  }

  /// `catalog search URL/search?…`: the URL's parameters are merged with the options (an option
  /// replaces the URL's parameter of that name), other items stay on the URL for GET and POST.
  @Test func searchURLQueryIsMergedWithTheOptions() async throws {
    let loader = STACLoader(fetcher: HTTPDocumentFetcher())
    let at = "https://api/search?key=k1&collections=c&limit=5&bbox=0,0,1,1"
    let get = try await loader.searchRequest(
      STACSearch(limit: 10), at: at, method: .get)
    #expect(get.method == "GET")
    #expect(get.url == "https://api/search?key=k1&bbox=0,0,1,1&collections=c&limit=10")
    let post = try await loader.searchRequest(
      STACSearch(intersects: .object(JSONObject(["type": .string("Point")]))), at: at)
    #expect(post.method == "POST" && post.url == "https://api/search?key=k1")
    #expect(
      post.body?.serialized(sortedKeys: true)
        == #"{"collections":["c"],"intersects":{"type":"Point"},"limit":5}"#)
    // No options at all: the URL's search, by POST as for any bare /search URL.
    let bare = try await loader.searchRequest(STACSearch(), at: "https://api/search?ids=a,b")
    #expect(bare.url == "https://api/search")
    #expect(bare.body?.serialized(sortedKeys: true) == #"{"ids":["a","b"]}"#)
    await #expect(throws: STACError.self) {
      _ = try await loader.searchRequest(STACSearch(), at: "https://api/search?limit=0")
    }
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
