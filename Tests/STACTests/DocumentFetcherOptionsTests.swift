import Foundation
import RangeIO
import STAC
import TandemTestSupport
import Testing

/// Catalog and search documents go through the same HTTP options as range reads (issue 18):
/// headers and credentials on GET and POST, retries of transient failures, compressed bodies.
@Suite(.timeLimit(.minutes(1))) struct DocumentFetcherOptionsTests {
  static let page = Array(#"{"type":"FeatureCollection","features":[],"links":[]}"#.utf8)

  static func options() -> HTTPOptions {
    var o = HTTPOptions()
    o.headers = ["Authorization: Bearer T0KEN", "X-Api-Key: k1"]
    o.retryBaseDelay = 0.01
    o.maxRetries = 2
    return o
  }

  @Test(arguments: ["GET", "POST"])
  func headersAndRetriesApplyToDocuments(method: String) async throws {
    let server = try TestHTTPServer { request in
      request.index == 0
        ? TestHTTPServer.Response(status: 503, headers: [("Retry-After", "0")])
        : TestHTTPServer.Response(
          status: 200, headers: [("Content-Type", "application/geo+json")], body: Self.page)
    }
    defer { server.stop() }
    let fetcher = HTTPDocumentFetcher(options: Self.options())
    let body: JSONValue? = method == "POST" ? .fields([("limit", 5)]) : nil
    let bytes = try await fetcher.fetch(
      DocumentRequest(url: server.url("/search"), method: method, body: body), maxBytes: 1 << 20)
    #expect(bytes == Self.page)
    let received = server.received
    #expect(received.count == 2, "one retry after the 503")
    for request in received {
      #expect(request.method == method)
      #expect(request.headers["authorization"] == "Bearer T0KEN")
      #expect(request.headers["x-api-key"] == "k1")
    }
    if method == "POST" {
      #expect(String(decoding: received[1].body, as: UTF8.self) == #"{"limit":5}"#)
      #expect(received[1].headers["content-type"] == "application/json")
    }
  }

  /// A 4xx is final (no retry) and its message keeps the API's explanation, never the token.
  @Test func clientErrorsAreFinalAndExplained() async throws {
    let server = try TestHTTPServer { _ in
      TestHTTPServer.Response(
        status: 400, body: Array(#"{"code":"BadRequest","description":"bad bbox"}"#.utf8))
    }
    defer { server.stop() }
    let fetcher = HTTPDocumentFetcher(options: Self.options())
    do throws(STACError) {
      _ = try await fetcher.fetch(DocumentRequest(url: server.url("/search")), maxBytes: 1 << 20)
      Issue.record("no error")
    } catch {
      #expect(error.code == .io)
      #expect(error.description.contains("HTTP 400") && error.description.contains("bad bbox"))
      #expect(!error.description.contains("T0KEN"))
    }
    #expect(server.requests.load(ordering: .relaxed) == 1)
  }
}
