import STAC
import TandemTestSupport

/// A canned answer of a route table (see `TestHTTPServer.init(routes:)`).
struct RoutedResponse: Sendable {
  var status: Int
  var body: [UInt8]
  /// Extra header lines (`Location: …`); `{{BASE}}` becomes the server's base URL.
  var headers: [String] = []
  /// A `Location` header (redirects).
  var location: String? = nil
}

extension TestHTTPServer {
  /// A server answering from a table keyed by method, request target and JSON body (keys
  /// sorted), for paging tests; anything else is a STAC-style 404. `{{BASE}}` in bodies and
  /// headers becomes the server's own base URL (its port is known only once bound).
  convenience init(routes: [(String, String, JSONValue?, RoutedResponse)]) throws {
    var table: [String: RoutedResponse] = [:]
    for (method, target, body, response) in routes {
      table[Self.routeKey(method, target, body)] = response
    }
    try self.init { [table] request in
      let body = request.body.isEmpty ? nil : try? JSONParser.parse(request.body)
      let routed =
        table[Self.routeKey(request.method, request.path, body)]
        ?? RoutedResponse(
          status: 404, body: Array(#"{"code":"NotFound","description":"no route"}"#.utf8))
      func expand(_ text: String) -> String {
        text.replacingOccurrences(of: "{{BASE}}", with: request.base)
      }
      var headers: [(String, String)] = [
        ("Content-Type", "application/json"), ("Connection", "close"),
      ]
      for line in routed.headers {
        let parts = expand(line).split(separator: ":", maxSplits: 1)
        headers.append(
          (String(parts[0]), parts.count > 1 ? String(parts[1].drop { $0 == " " }) : ""))
      }
      if let location = routed.location { headers.append(("Location", location)) }
      return Response(
        status: routed.status, headers: headers,
        body: Array(expand(String(decoding: routed.body, as: UTF8.self)).utf8))
    }
  }

  /// Requests served so far, as `METHOD target body` (the route table's keys).
  var requestKeys: [String] {
    received.map { request in
      Self.routeKey(
        request.method, request.path,
        request.body.isEmpty ? nil : try? JSONParser.parse(request.body))
    }
  }

  static func routeKey(_ method: String, _ target: String, _ body: JSONValue?) -> String {
    "\(method) \(target)" + (body.map { " " + $0.serialized(sortedKeys: true) } ?? "")
  }
}
