import Foundation
import TandemBase

/// A STAC API item search (`/search`, STAC API - Item Search 1.0 with the Query, Filter and Sort
/// extensions): the parameters pystac-client users know, validated, and turned into the first
/// request of a search (POST with a JSON body, or GET with a query string). The pages after it
/// are followed by ``STACLoader`` through the `next` links the server returns.
public struct STACSearch: Sendable, Hashable, Codable {
  /// `[west, south, east, north]` (or 6 numbers with heights), WGS 84 degrees. `west > east`
  /// crosses the antimeridian.
  public var bbox: [Double]?
  /// A GeoJSON geometry the items must intersect (instead of `bbox`).
  public var intersects: JSONValue?
  /// An RFC 3339 instant, or an interval `start/end` with `..` (or nothing) for an open end.
  public var datetime: String?
  public var collections: [String]
  public var ids: [String]
  /// The Query extension's object, e.g. `{"eo:cloud_cover": {"lt": 30}}`.
  public var query: JSONValue?
  /// A CQL2 filter: a JSON object (cql2-json) or text (cql2-text).
  public var filter: Filter?
  /// Items per page (the server may cap it).
  public var limit: Int?
  /// Sort fields, `+field` (ascending, the default) or `-field`.
  public var sortby: [String]

  /// A CQL2 expression in one of its two encodings.
  public enum Filter: Sendable, Hashable, Codable {
    case json(JSONValue)
    case text(String)

    /// A filter given without its language: a JSON object is cql2-json (pystac-client writes
    /// the language; a hand-written option or URL may not), anything else cql2-text.
    public static func inferring(_ text: String) -> Filter {
      if let value = try? JSONParser.parse(Array(text.utf8)), value.objectValue != nil {
        return .json(value)
      }
      return .text(text)
    }

    /// The `filter-lang` value.
    public var language: String {
      switch self {
      case .json: "cql2-json"
      case .text: "cql2-text"
      }
    }
  }

  public enum Method: String, Sendable, Hashable, Codable { case get = "GET", post = "POST" }

  public init(
    bbox: [Double]? = nil, intersects: JSONValue? = nil, datetime: String? = nil,
    collections: [String] = [], ids: [String] = [], query: JSONValue? = nil,
    filter: Filter? = nil, limit: Int? = nil, sortby: [String] = []
  ) {
    self.bbox = bbox
    self.intersects = intersects
    self.datetime = datetime
    self.collections = collections
    self.ids = ids
    self.query = query
    self.filter = filter
    self.limit = limit
    self.sortby = sortby
  }

  /// Why the parameters cannot form a search (`nil` when they can); the message names the
  /// parameter, as a usage error would.
  public var problem: String? {
    if let bbox {
      guard bbox.count == 4 || bbox.count == 6 else {
        return "bbox needs 4 numbers (west,south,east,north) or 6, got \(bbox.count)"
      }
      guard bbox.allSatisfy(\.isFinite) else { return "bbox values must be finite" }
      let (south, north) = bbox.count == 4 ? (bbox[1], bbox[3]) : (bbox[1], bbox[4])
      let (west, east) = bbox.count == 4 ? (bbox[0], bbox[2]) : (bbox[0], bbox[3])
      guard (-90...90).contains(south), (-90...90).contains(north), south <= north else {
        return "bbox latitudes must lie in [-90, 90] with south <= north"
      }
      guard (-180...180).contains(west), (-180...180).contains(east) else {
        return "bbox longitudes must lie in [-180, 180]"
      }
      if intersects != nil { return "bbox and intersects cannot be combined" }
    }
    if let intersects {
      guard case .object(let o) = intersects, o["type"]?.stringValue != nil else {
        return "intersects must be a GeoJSON geometry object with a type"
      }
    }
    if let datetime, let why = Self.datetimeProblem(datetime) { return why }
    if let query, query.objectValue == nil { return "query must be a JSON object" }
    if case .json(let f)? = filter, f.objectValue == nil {
      return "a cql2-json filter must be a JSON object"
    }
    if case .text(let t)? = filter, t.allSatisfy(\.isWhitespace) { return "filter is empty" }
    if let limit, !(1...10_000).contains(limit) { return "limit must be in 1…10000" }
    for field in sortby where field.trimmingPrefixes.isEmpty {
      return "sortby fields must not be empty"
    }
    return nil
  }

  /// Why `text` is not an RFC 3339 datetime or interval, or `nil`.
  static func datetimeProblem(_ text: String) -> String? {
    let ends = text.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
    guard ends.count == 1 || ends.count == 2 else {
      return "datetime '\(text)' must be an instant or start/end"
    }
    if ends.count == 2 && ends.allSatisfy({ $0.isEmpty || $0 == ".." }) {
      return "datetime '\(text)' has no bound at all"
    }
    for end in ends where !(ends.count == 2 && (end.isEmpty || end == "..")) {
      guard RFC3339.parse(end) != nil else {
        return "datetime '\(end)' is not RFC 3339 (e.g. 2024-05-01T00:00:00Z)"
      }
    }
    if ends.count == 2, let a = RFC3339.parse(ends[0]), let b = RFC3339.parse(ends[1]),
      a.date > b.date
    {
      return "datetime interval '\(text)' ends before it starts"
    }
    return nil
  }

  /// A `bbox` as the CLI and search URLs write it, `w,s,e,n` (or 6 numbers in 3-D), or `nil`
  /// when it is empty or not all numbers; the number of values is checked by ``problem``.
  public static func parsingBBox(_ text: String) -> [Double]? {
    let values = text.split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces)) }
    guard !values.isEmpty, values.allSatisfy({ $0 != nil }) else { return nil }
    return values.compactMap { $0 }
  }

  /// A comma list (`collections`, `ids`, `sortby`): items trimmed, empty ones dropped.
  public static func parsingList(_ text: String) -> [String] {
    text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter {
      !$0.isEmpty
    }
  }

  /// `datetime` with bare dates widened to whole days, as pystac-client does: `2024-05-01`
  /// becomes `2024-05-01T00:00:00Z` as a start and `2024-05-01T23:59:59Z` as an end, and a lone
  /// date the interval of that day. Other text is returned unchanged.
  public static func expandingDates(_ text: String) -> String {
    func isDate(_ s: Substring) -> Bool {
      s.count == 10
        && s.enumerated().allSatisfy { i, c in i == 4 || i == 7 ? c == "-" : c.isASCII && c.isNumber
        }
    }
    let ends = text.split(separator: "/", omittingEmptySubsequences: false)
    if ends.count == 1, isDate(ends[0]) {
      return "\(ends[0])T00:00:00Z/\(ends[0])T23:59:59Z"
    }
    guard ends.count == 2 else { return text }
    let start = isDate(ends[0]) ? "\(ends[0])T00:00:00Z" : String(ends[0])
    let end = isDate(ends[1]) ? "\(ends[1])T23:59:59Z" : String(ends[1])
    return start + "/" + end
  }

  /// The POST body: only the parameters that are set.
  public var body: JSONValue {
    var o = JSONObject()
    if let bbox { o["bbox"] = .array(bbox.map(Self.number)) }
    if let intersects { o["intersects"] = intersects }
    if let datetime { o["datetime"] = .string(datetime) }
    if !collections.isEmpty { o["collections"] = .array(collections.map { .string($0) }) }
    if !ids.isEmpty { o["ids"] = .array(ids.map { .string($0) }) }
    if let query { o["query"] = query }
    switch filter {
    case .json(let f)?:
      o["filter"] = f
      o["filter-lang"] = .string("cql2-json")
    case .text(let t)?:
      o["filter"] = .string(t)
      o["filter-lang"] = .string("cql2-text")
    case nil: break
    }
    if let limit { o["limit"] = .int(Int64(limit)) }
    if !sortby.isEmpty {
      o["sortby"] = .array(
        sortby.map { field in
          .object(
            JSONObject([
              "field": .string(field.trimmingPrefixes),
              "direction": .string(field.hasPrefix("-") ? "desc" : "asc"),
            ]))
        })
    }
    return .object(o)
  }

  /// The GET query items, in the STAC API's encoding (comma lists, JSON for objects).
  public var queryItems: [(String, String)] {
    var items: [(String, String)] = []
    if let bbox {
      items.append(("bbox", bbox.map { Self.number($0).serialized() }.joined(separator: ",")))
    }
    if let intersects { items.append(("intersects", intersects.serialized(sortedKeys: false))) }
    if let datetime { items.append(("datetime", datetime)) }
    if !collections.isEmpty { items.append(("collections", collections.joined(separator: ","))) }
    if !ids.isEmpty { items.append(("ids", ids.joined(separator: ","))) }
    if let query { items.append(("query", query.serialized(sortedKeys: false))) }
    switch filter {
    case .json(let f)?:
      items.append(("filter", f.serialized(sortedKeys: false)))
      items.append(("filter-lang", "cql2-json"))
    case .text(let t)?:
      items.append(("filter", t))
      items.append(("filter-lang", "cql2-text"))
    case nil: break
    }
    if let limit { items.append(("limit", String(limit))) }
    if !sortby.isEmpty { items.append(("sortby", sortby.joined(separator: ","))) }
    return items
  }

  /// The first request of this search against `endpoint` (the `/search` URL).
  public func request(endpoint: String, method: Method = .post) -> DocumentRequest {
    switch method {
    case .post:
      return DocumentRequest(url: endpoint, method: "POST", body: body)
    case .get:
      let query = queryItems.map { "\($0.0)=\(Self.percentEncoded($0.1))" }.joined(separator: "&")
      guard !query.isEmpty else { return DocumentRequest(url: endpoint) }
      return DocumentRequest(url: endpoint + (endpoint.contains("?") ? "&" : "?") + query)
    }
  }

  /// Whole numbers as JSON integers (`10`, not `10.0`), like the clients servers are tested with.
  static func number(_ d: Double) -> JSONValue {
    if d == d.rounded(), abs(d) < 1e15 { return .int(Int64(d)) }
    return .double(d)
  }

  /// RFC 3986 percent-encoding of a query value (unreserved characters and `,:` kept).
  static func percentEncoded(_ text: String) -> String {
    var out = ""
    for byte in text.utf8 {
      switch byte {
      case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
        UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."),
        UInt8(ascii: "_"), UInt8(ascii: "~"), UInt8(ascii: ","), UInt8(ascii: ":"):
        out.unicodeScalars.append(Unicode.Scalar(byte))
      default:
        out += "%" + (byte < 16 ? "0" : "") + String(byte, radix: 16, uppercase: true)
      }
    }
    return out
  }
}

extension STACSearch {
  /// The search parameters a search URL's query string holds (as pystac-client or a browser
  /// writes them: comma lists, JSON objects, `+` or `%20` for spaces), and the items it does not
  /// know, raw, in order (API keys, vendor parameters), which stay on the endpoint URL. Throws,
  /// naming `location`, when a known parameter is repeated or its value is invalid.
  public static func parsing(
    queryString: String, location: String
  ) throws(STACError) -> (search: STACSearch, others: [String]) {
    func fail(_ message: String) -> STACError {
      STACError(.invalidValue, location: location, message: "search URL: \(message)")
    }
    func json(_ name: String, _ text: String) throws(STACError) -> JSONValue {
      do { return try JSONParser.parse(Array(text.utf8)) } catch {
        throw fail("\(name) is not valid JSON: \(error)")
      }
    }
    var search = STACSearch()
    var others: [String] = []
    var seen: Set<String> = []
    var filterText: String?
    var filterLanguage: String?
    for raw in queryString.split(separator: "&") where !raw.isEmpty {
      let parts = raw.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
      let name = PercentDecoding.decoded(String(parts[0]), plusIsSpace: true)
      let value = PercentDecoding.decoded(
        parts.count > 1 ? String(parts[1]) : "", plusIsSpace: true)
      let known = [
        "bbox", "intersects", "datetime", "collections", "ids", "query", "filter", "filter-lang",
        "limit", "sortby",
      ]
      guard known.contains(name) else {
        others.append(String(raw))
        continue
      }
      guard seen.insert(name).inserted else { throw fail("\(name) is given twice") }
      switch name {
      case "bbox":
        guard let bbox = parsingBBox(value) else {
          throw fail("bbox '\(value)' is not a list of numbers w,s,e,n")
        }
        search.bbox = bbox
      case "intersects": search.intersects = try json(name, value)
      case "datetime": search.datetime = expandingDates(value)
      case "collections": search.collections = parsingList(value)
      case "ids": search.ids = parsingList(value)
      case "query": search.query = try json(name, value)
      case "filter": filterText = value
      case "filter-lang": filterLanguage = value.lowercased()
      case "limit":
        guard let limit = Int(value) else { throw fail("limit '\(value)' is not an integer") }
        search.limit = limit
      default: search.sortby = parsingList(value)  // sortby
      }
    }
    switch (filterText, filterLanguage) {
    case (let text?, "cql2-json"?): search.filter = .json(try json("filter", text))
    case (let text?, "cql2-text"?): search.filter = .text(text)
    case (let text?, nil): search.filter = .inferring(text)
    case (_?, let other?): throw fail("filter-lang '\(other)' is not cql2-json or cql2-text")
    case (nil, _?): throw fail("filter-lang without filter")
    case (nil, nil): break
    }
    if let problem = search.problem { throw fail(problem) }
    return (search, others)
  }

  /// These parameters with every one `options` sets replaced by the option's value (the
  /// spatial filter, `bbox` or `intersects`, is replaced as one; so is the filter with its
  /// language).
  public func overridden(by options: STACSearch) -> STACSearch {
    var merged = self
    if options.bbox != nil || options.intersects != nil {
      merged.bbox = options.bbox
      merged.intersects = options.intersects
    }
    if let datetime = options.datetime { merged.datetime = datetime }
    if !options.collections.isEmpty { merged.collections = options.collections }
    if !options.ids.isEmpty { merged.ids = options.ids }
    if let query = options.query { merged.query = query }
    if let filter = options.filter { merged.filter = filter }
    if let limit = options.limit { merged.limit = limit }
    if !options.sortby.isEmpty { merged.sortby = options.sortby }
    return merged
  }
}

extension STACLoader {
  /// The first request of `search` against `source`: a `/search` URL itself, or an API landing
  /// page whose `search` link (for `method` when given, else POST when offered) is the endpoint.
  /// The method defaults to POST at a bare `/search` URL. Search parameters in the endpoint's
  /// query string are kept, each replaced by the same parameter of `search` when that sets it;
  /// other query items (API keys, vendor parameters) stay on the URL for GET and POST.
  public func searchRequest(
    _ search: STACSearch, at source: String, method requested: STACSearch.Method? = nil
  ) async throws(STACError) -> DocumentRequest {
    func base(_ url: String) -> String {
      url.split(separator: "?", maxSplits: 1).first.map(String.init) ?? url
    }
    /// The request at `endpoint`, with its query string merged into `search`.
    func merged(
      _ endpoint: String, _ method: STACSearch.Method
    ) throws(STACError)
      -> DocumentRequest
    {
      let parts = endpoint.split(separator: "?", maxSplits: 1)
      guard parts.count == 2 else { return search.request(endpoint: endpoint, method: method) }
      let (fromURL, others) = try STACSearch.parsing(
        queryString: String(parts[1]), location: endpoint)
      let combined = fromURL.overridden(by: search)
      if let problem = combined.problem {
        throw STACError(
          .invalidValue, location: endpoint,
          message: "the search URL's parameters with the search options: \(problem)")
      }
      let kept = String(parts[0]) + (others.isEmpty ? "" : "?" + others.joined(separator: "&"))
      return combined.request(endpoint: kept, method: method)
    }
    if base(source).hasSuffix("/search") {
      return try merged(source, requested ?? .post)
    }
    let landing = try await document(at: source)
    let links = landing.links.filter { $0.rel == "search" }
    guard !links.isEmpty else {
      throw STACError(
        .notSTAC, location: source,
        message:
          "search options need a STAC API: this \(landing.kind) has no 'search' link (give the API's landing page or its /search URL)"
      )
    }
    func offered(_ link: Link) -> STACSearch.Method {
      STACSearch.Method(rawValue: (link.method ?? "GET").uppercased()) ?? .get
    }
    let chosen =
      links.first { requested != nil && offered($0) == requested }
      ?? links.first { requested == nil && offered($0) == .post } ?? links[0]
    return try merged(
      Href.resolve(chosen.href, against: source), requested ?? offered(chosen))
  }
}

extension String {
  /// The sort field without its `+`/`-` direction prefix.
  fileprivate var trimmingPrefixes: String {
    String(drop { $0 == "+" || $0 == "-" }).trimmingCharacters(in: .whitespaces)
  }
}
