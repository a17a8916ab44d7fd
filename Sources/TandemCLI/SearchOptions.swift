import CommandLineKit
import Foundation
import STAC

/// The STAC API item-search options (`--bbox`, `--datetime`, `--collections`, `--query`,
/// `--filter`, …, named as pystac-client names them), shared by `catalog search`, `catalog
/// inspect|pairs`, `train` and `bench pipeline`: with any of them, the source is a STAC API (its
/// landing page or its `/search` endpoint) and the items are what the search returns, page by
/// page.
enum SearchOptions {
  static let specs: [OptionSpec] = [
    .value(
      "bbox", valueName: "w,s,e,n",
      help: "Search: items intersecting this WGS 84 box (west > east crosses the antimeridian)."),
    .value(
      "intersects", valueName: "geojson|@file",
      help: "Search: items intersecting this GeoJSON geometry (inline or @file)."),
    .value(
      "datetime", valueName: "time|start/end",
      help:
        "Search: an RFC 3339 instant or interval ('..' for an open end; bare dates are whole days)."
    ),
    .value("collections", valueName: "c1,c2", help: "Search: only these collections."),
    .value("ids", valueName: "id1,id2", help: "Search: only these item ids."),
    .value(
      "query", valueName: "json|@file",
      help: "Search: Query extension object, e.g. '{\"eo:cloud_cover\":{\"lt\":30}}'."),
    .value(
      "filter", valueName: "cql2|@file",
      help: "Search: CQL2 filter, as JSON (cql2-json) or text (cql2-text), inline or @file."),
    .value(
      "filter-lang", valueName: "lang",
      help: "cql2-json or cql2-text (default: cql2-json when --filter is JSON, else cql2-text)."),
    .value("limit", valueName: "n", help: "Search: items per page (the server may cap it)."),
    .value("sortby", valueName: "±f1,±f2", help: "Search: sort fields (- for descending)."),
    .value(
      "method", valueName: "GET|POST",
      help: "Search request method (default: POST, or what the API's search link offers)."),
  ]

  /// The search the options describe, or `nil` when none of them is given. `--method` alone is
  /// accepted when `methodAlone` (`catalog search`, whose URL is always searched).
  static func search(_ parsed: ParsedArguments, methodAlone: Bool = false) throws -> STACSearch? {
    let names = [
      "bbox", "intersects", "datetime", "collections", "ids", "query", "filter", "limit",
      "sortby",
    ]
    guard names.contains(where: { parsed.string($0) != nil }) else {
      if parsed.string("filter-lang") != nil || (!methodAlone && parsed.string("method") != nil) {
        throw parsed.usageError("--filter-lang and --method need search options (--bbox, …)")
      }
      return nil
    }
    var search = STACSearch()
    if let text = parsed.string("bbox") {
      guard let bbox = STACSearch.parsingBBox(text) else {
        throw parsed.usageError("invalid value '\(text)' for --bbox: expected numbers w,s,e,n")
      }
      search.bbox = bbox
    }
    search.intersects = try json(parsed, "intersects")
    search.datetime = parsed.string("datetime").map(STACSearch.expandingDates)
    search.collections = list(parsed, "collections")
    search.ids = list(parsed, "ids")
    search.query = try json(parsed, "query")
    if let text = try inlineOrFile(parsed, "filter") {
      let language = parsed.string("filter-lang")?.lowercased()
      switch language {
      case "cql2-json":
        search.filter = .json(try json(parsed, "filter", text: text) ?? .null)
      case "cql2-text":
        search.filter = .text(text)
      case nil:
        search.filter = .inferring(text)
      case let other?:
        throw parsed.usageError(
          "invalid value '\(other)' for --filter-lang: expected cql2-json or cql2-text")
      }
    } else if parsed.string("filter-lang") != nil {
      throw parsed.usageError("--filter-lang needs --filter")
    }
    if parsed.string("limit") != nil { search.limit = try parsed.value("limit", default: 0) }
    search.sortby = list(parsed, "sortby")
    if let problem = search.problem { throw parsed.usageError(problem) }
    return search
  }

  /// The requested method, when given.
  static func method(_ parsed: ParsedArguments) throws -> STACSearch.Method? {
    guard let text = parsed.string("method") else { return nil }
    guard let method = STACSearch.Method(rawValue: text.uppercased()) else {
      throw parsed.usageError("invalid value '\(text)' for --method: expected GET or POST")
    }
    return method
  }

  /// The first request for `source`: the document itself, or, with search options, the
  /// search against the API's `/search` endpoint (found from the landing page's `search` link
  /// when `source` is not the endpoint already).
  static func firstRequest(
    _ source: String, parsed: ParsedArguments, loader: STACLoader
  ) async throws -> DocumentRequest {
    guard let search = try search(parsed) else { return DocumentRequest(url: source) }
    return try await loader.searchRequest(search, at: source, method: try method(parsed))
  }

  private static func list(_ parsed: ParsedArguments, _ name: String) -> [String] {
    STACSearch.parsingList(parsed.string(name) ?? "")
  }

  /// The option's text, or the contents of the file it names with `@`.
  private static func inlineOrFile(_ parsed: ParsedArguments, _ name: String) throws -> String? {
    guard let text = parsed.string(name) else { return nil }
    guard text.hasPrefix("@") else { return text }
    let path = String(text.dropFirst())
    guard let data = FileManager.default.contents(atPath: path) else {
      throw parsed.usageError("--\(name): cannot read '\(path)'")
    }
    return String(decoding: data, as: UTF8.self)
  }

  private static func json(
    _ parsed: ParsedArguments, _ name: String, text given: String? = nil
  ) throws -> JSONValue? {
    guard let text = try given ?? inlineOrFile(parsed, name) else { return nil }
    do {
      return try JSONParser.parse(Array(text.utf8))
    } catch {
      throw parsed.usageError("--\(name) is not valid JSON: \(error)")
    }
  }
}
