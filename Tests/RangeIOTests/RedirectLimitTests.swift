import RangeIO
import TandemTestSupport
import Testing

/// ``HTTPOptions/maxRedirects`` bounds the redirects followed; going over is `.limitExceeded`
/// naming the URL and the limit.
@Suite struct RedirectLimitTests {
  @Test(arguments: [1, 2])
  func redirectChainOverTheLimit(limit: Int) async throws {
    // /r0 → /r1 → … → /r9: longer than any limit tested.
    let server = try TestHTTPServer { request in
      let n = Int(request.path.dropFirst(2)) ?? 0
      return TestHTTPServer.Response(status: 302, headers: [("Location", "/r\(n + 1)")], body: [])
    }
    defer { server.stop() }
    var options = fastOptions()
    options.maxRedirects = limit
    let url = server.url("/r0")
    let source = HTTPSource(url: url, options: options)
    let error = await expectError(.limitExceeded) { _ = try await source.size() }
    #expect(error?.location == url)
    #expect(error?.description.contains("maxRedirects = \(limit)") == true)
    // The first request plus `limit` redirects followed, no retry of a limit failure.
    #expect(server.requests.load(ordering: .relaxed) == limit + 1)
  }

  @Test func redirectChainWithinTheLimit() async throws {
    let body: [UInt8] = Array(0..<100)
    let server = try TestHTTPServer { request in
      switch request.path {
      case "/a": TestHTTPServer.Response(status: 301, headers: [("Location", "/b")], body: [])
      case "/b": TestHTTPServer.Response(status: 302, headers: [("Location", "/c")], body: [])
      default: serveRange(body, request)
      }
    }
    defer { server.stop() }
    var options = fastOptions()
    options.maxRedirects = 2
    let source = HTTPSource(url: server.url("/a"), options: options)
    #expect(try await source.read(ByteRange(offset: 10, length: 5)) == [10, 11, 12, 13, 14])
  }

  @Test func defaultIsFive() {
    #expect(HTTPOptions().maxRedirects == 5)
  }
}
