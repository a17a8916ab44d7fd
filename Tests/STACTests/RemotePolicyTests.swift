import Foundation
import RangeIO
import STAC
import TandemTestSupport
import Testing

/// Remote catalogs are untrusted: crafted catalogs served over loopback try to make the loader
/// read local files or contact other hosts (links, assets, `next` pages, redirects).
@Suite struct RemotePolicyTests {
  static func options(_ policy: RemotePolicy) -> HTTPOptions {
    var o = HTTPOptions()
    o.remote = policy
    return o
  }

  typealias Route = (String, String, JSONValue?, RoutedResponse)

  static func json(_ text: String) -> [UInt8] { Array(text.utf8) }

  static func catalog(links: [(rel: String, href: String)]) -> [UInt8] {
    let list = links.map { #"{"rel":"\#($0.rel)","href":"\#($0.href)"}"# }.joined(separator: ",")
    return json(
      #"{"type":"Catalog","stac_version":"1.0.0","id":"evil","description":"d","links":[\#(list)]}"#
    )
  }

  static func item(id: String = "i1", assetHref: String) -> [UInt8] {
    json(
      #"""
      {"type":"Feature","stac_version":"1.0.0","id":"\#(id)","geometry":null,"properties":{"datetime":"2024-01-01T00:00:00Z"},"links":[],"assets":{"B04":{"href":"\#(assetHref)"}}}
      """#)
  }

  static func page(ids: [String], assetHref: String, next: String?) -> [UInt8] {
    let features = ids.map { id in
      #"{"type":"Feature","stac_version":"1.0.0","id":"\#(id)","geometry":null,"properties":{"datetime":"2024-01-01T00:00:00Z"},"links":[],"assets":{"B04":{"href":"\#(assetHref)"}}}"#
    }.joined(separator: ",")
    let links = next.map { #"[{"rel":"next","href":"\#($0)"}]"# } ?? "[]"
    return json(#"{"type":"FeatureCollection","features":[\#(features)],"links":\#(links)}"#)
  }

  func load(
    _ server: TestHTTPServer, _ path: String, policy: RemotePolicy = RemotePolicy(),
    fetcher: (any DocumentFetcher)? = nil
  ) async throws(STACError) -> LoadResult {
    let loader = STACLoader(
      fetcher: fetcher ?? HTTPDocumentFetcher(options: Self.options(policy)),
      options: LoadOptions(remote: policy))
    return try await loader.loadItems(from: server.base + path)
  }

  func expectRefused(
    _ server: TestHTTPServer, _ path: String, policy: RemotePolicy = RemotePolicy(),
    document: String, href: String, sourceLocation: Testing.SourceLocation = #_sourceLocation
  ) async {
    do {
      let result = try await load(server, path, policy: policy)
      Issue.record(
        "loaded \(result.items.count) items instead of refusing \(href)",
        sourceLocation: sourceLocation)
    } catch {
      #expect(error.code == .refused, "\(error)", sourceLocation: sourceLocation)
      #expect(error.description.contains(document), "\(error)", sourceLocation: sourceLocation)
      #expect(error.description.contains(href), "\(error)", sourceLocation: sourceLocation)
    }
  }

  // MARK: the rule itself

  @Test(arguments: [
    ("file:///etc/passwd", "http://a.example/c.json", false),
    ("/etc/passwd", "https://a.example/c.json", false),
    ("relative/x.tif", "http://a.example/c.json", false),
    ("s3://bucket/x.tif", "http://a.example/c.json", true),
    ("foo:bar.tif", "http://a.example/c.json", false),
    ("file://localhost/etc/passwd", "http://a.example/c.json", false),
    ("http://b.example/x.tif", "http://a.example/c.json", true),
    ("HTTPS://b.example/x.tif", "http://a.example/c.json", true),
    ("file:///data/x.tif", "/data/catalog.json", true),
    ("/data/x.tif", "file:///data/catalog.json", true),
    ("http://b.example/x.tif", "/data/catalog.json", true),
  ])
  func remoteDocumentsReferOnlyToHTTP(target: String, referrer: String, allowed: Bool) {
    let policy = RemotePolicy()
    #expect(((try? policy.check(target, referrer: referrer)) != nil) == allowed)
    // --allow-local-assets lifts the scheme rule.
    #expect((try? RemotePolicy(allowLocalAssets: true).check(target, referrer: referrer)) != nil)
  }

  @Test func allowedHostsMatchHostOrHostAndPort() {
    let policy = RemotePolicy(allowedHosts: ["data.example", "127.0.0.1:8080", "[::1]"])
    func ok(_ url: String) -> Bool { (try? policy.check(url, referrer: nil)) != nil }
    #expect(ok("https://data.example/a.tif"))
    #expect(ok("https://DATA.example:443/a.tif"))
    #expect(ok("http://user:pw@data.example/a.tif"))
    #expect(ok("http://127.0.0.1:8080/a.tif"))
    #expect(!ok("http://127.0.0.1:8081/a.tif"))
    #expect(ok("http://[::1]:9000/a.tif"))
    #expect(!ok("https://data.example.evil.com/a.tif"))
    #expect(!ok("https://evil.com/data.example/a.tif"))
    #expect(!ok("https://evil.com/?h=data.example"))
    // Local paths are not hosts: the host list does not forbid them.
    #expect(ok("/tmp/x.tif"))
  }

  @Test func refusalRedactsSecrets() {
    do {
      try RemotePolicy().check(
        "file:///etc/passwd", referrer: "https://a.example/c.json?sig=SECRET123&x=1")
      Issue.record("not refused")
    } catch {
      #expect(error.code == .refused)
      #expect(!error.description.contains("SECRET123"))
      #expect(error.description.contains("https://a.example/c.json?x=1"))
    }
  }

  // MARK: crafted catalogs over loopback

  @Test func childLinkToLocalFileIsRefused() async throws {
    let server = try TestHTTPServer(routes: [
      (
        "GET", "/catalog.json", nil,
        .init(
          status: 200,
          body: Self.catalog(links: [
            (rel: "child", href: "file:///etc/passwd")
          ]))
      )
    ])
    defer { server.stop() }
    await expectRefused(
      server, "/catalog.json", document: server.base + "/catalog.json", href: "file:///etc/passwd")
    #expect(server.requestKeys.count == 1)
  }

  @Test func itemAssetOnLocalDiskIsRefusedUnlessAllowed() async throws {
    let local = FileManager.default.temporaryDirectory.appendingPathComponent("tandem-secret.tif")
    let server = try TestHTTPServer(routes: [
      (
        "GET", "/catalog.json", nil,
        .init(
          status: 200,
          body: Self.catalog(links: [
            (rel: "item", href: "./items/i1.json")
          ]))
      ),
      (
        "GET", "/items/i1.json", nil,
        .init(status: 200, body: Self.item(assetHref: "file://" + local.path))
      ),
    ])
    defer { server.stop() }
    await expectRefused(
      server, "/catalog.json", document: server.base + "/items/i1.json",
      href: "file://" + local.path)
    let allowed = try await load(
      server, "/catalog.json", policy: RemotePolicy(allowLocalAssets: true))
    #expect(allowed.items.map(\.id) == ["i1"])
  }

  @Test func absoluteAndDotDotPathsStayOnTheServer() async throws {
    let server = try TestHTTPServer(routes: [
      (
        "GET", "/a/b/catalog.json", nil,
        .init(
          status: 200,
          body: Self.catalog(links: [
            (rel: "item", href: "../../../../../etc/i1.json"),
            (rel: "item", href: "/etc/i2.json"),
          ]))
      ),
      (
        "GET", "/etc/i1.json", nil,
        .init(status: 200, body: Self.item(id: "i1", assetHref: "../../../etc/passwd"))
      ),
      (
        "GET", "/etc/i2.json", nil,
        .init(status: 200, body: Self.item(id: "i2", assetHref: "/etc/shadow"))
      ),
    ])
    defer { server.stop() }
    let result = try await load(server, "/a/b/catalog.json")
    #expect(result.items.map(\.id) == ["i1", "i2"])
    let hrefs = result.items.map { $0.resolvedHref(of: $0.assets[0]) }
    #expect(hrefs == [server.base + "/etc/passwd", server.base + "/etc/shadow"])
  }

  @Test func schemeLikeHrefsThatOpenAsPathsAreRefused() async throws {
    let server = try TestHTTPServer(routes: [
      ("GET", "/item.json", nil, .init(status: 200, body: Self.item(assetHref: "foo:bar.tif"))),
      ("GET", "/s3.json", nil, .init(status: 200, body: Self.item(assetHref: "s3://bucket/x.tif"))),
    ])
    defer { server.stop() }
    // `foo:bar.tif` is not a URL RangeIO knows: it would be opened as a relative path.
    await expectRefused(
      server, "/item.json", document: server.base + "/item.json", href: "foo:bar.tif")
    // s3:// alternates (common in real catalogs) are not local: kept (RangeIO cannot open them).
    let s3 = try await load(server, "/s3.json")
    #expect(s3.items.first?.assets.first?.href == "s3://bucket/x.tif")
  }

  @Test func nextPageToLocalFileOrForeignHostIsRefused() async throws {
    let server = try TestHTTPServer(routes: [
      (
        "GET", "/p1.json", nil,
        .init(
          status: 200, body: Self.page(ids: ["a"], assetHref: "a.tif", next: "file:///etc/p2.json"))
      ),
      (
        "GET", "/q1.json", nil,
        .init(
          status: 200,
          body: Self.page(ids: ["a"], assetHref: "a.tif", next: "http://localhost:1/q2.json"))
      ),
    ])
    defer { server.stop() }
    await expectRefused(
      server, "/p1.json", document: server.base + "/p1.json", href: "file:///etc/p2.json")
    await expectRefused(
      server, "/q1.json", policy: RemotePolicy(allowedHosts: ["127.0.0.1"]),
      document: server.base + "/q1.json", href: "http://localhost:1/q2.json")
    // Without a host list the foreign page is followed (and fails to connect, recorded).
    let open = try await load(server, "/q1.json")
    #expect(open.items.map(\.id) == ["a"])
    #expect(open.errors.count == 1)
  }

  @Test func allowedHostsCoverStartChildrenAndAssets() async throws {
    let server = try TestHTTPServer(routes: [
      (
        "GET", "/catalog.json", nil,
        .init(
          status: 200,
          body: Self.catalog(links: [
            (rel: "item", href: "./i1.json")
          ]))
      ),
      (
        "GET", "/i1.json", nil,
        .init(status: 200, body: Self.item(assetHref: "http://cdn.example/x.tif"))
      ),
      (
        "GET", "/child.json", nil,
        .init(
          status: 200,
          body: Self.catalog(links: [
            (rel: "child", href: "http://localhost:2/c.json")
          ]))
      ),
    ])
    defer { server.stop() }
    let hosts = RemotePolicy(allowedHosts: ["127.0.0.1"])
    // An asset on another host is dropped (with a warning naming the item and the href).
    let dropped = try await load(server, "/catalog.json", policy: hosts)
    #expect(dropped.items.count == 1)
    #expect(dropped.items.first?.assets.isEmpty == true)
    #expect(
      dropped.warnings.contains {
        $0.location == server.base + "/i1.json"
          && $0.message.contains("refused href 'http://cdn.example/x.tif'")
      })
    await expectRefused(
      server, "/child.json", policy: hosts, document: server.base + "/child.json",
      href: "http://localhost:2/c.json")
    let both = try await load(
      server, "/catalog.json", policy: RemotePolicy(allowedHosts: ["127.0.0.1", "cdn.example"]))
    #expect(both.items.first?.assets.count == 1)
    // The start location itself must be on the list.
    do {
      _ = try await load(server, "/catalog.json", policy: RemotePolicy(allowedHosts: ["other"]))
      Issue.record("start location on a foreign host was fetched")
    } catch {
      #expect(error.code == .refused)
    }
    // …and is refused before it is fetched: only the two accepted loads reached the server.
    #expect(server.requestKeys.filter { $0.contains("catalog.json") }.count == 2)
  }

  @Test func redirectsToForeignHostsAreRefused() async throws {
    let server = try TestHTTPServer(routes: [
      (
        "GET", "/moved.json", nil,
        .init(status: 302, body: [], headers: ["Location: http://localhost:3/x.json"])
      ),
      (
        "GET", "/local.json", nil,
        .init(status: 302, body: [], headers: ["Location: {{BASE}}/item.json"])
      ),
      ("GET", "/item.json", nil, .init(status: 200, body: Self.item(assetHref: "x.tif"))),
      (
        "GET", "/cog.tif", nil,
        .init(status: 302, body: [], headers: ["Location: http://localhost:4/cog.tif"])
      ),
    ])
    defer { server.stop() }
    let hosts = RemotePolicy(allowedHosts: ["127.0.0.1"])
    // Document fetches (HTTPDocumentFetcher).
    do {
      _ = try await load(server, "/moved.json", policy: hosts)
      Issue.record("followed a redirect to a foreign host")
    } catch {
      #expect(error.code == .refused, "\(error)")
      #expect(error.description.contains("http://localhost:3/x.json"), "\(error)")
    }
    // A redirect on the same host is followed.
    let ok = try await load(server, "/local.json", policy: hosts)
    #expect(ok.items.map(\.id) == ["i1"])
    // Range reads (HTTPSource, also the path of ByteSourceFetcher).
    var options = SourceOptions()
    options.remote = hosts
    options.http.maxRetries = 0
    let source = try ByteSources.open(server.base + "/cog.tif", options: options)
    do {
      _ = try await source.size()
      Issue.record("HTTPSource followed a redirect to a foreign host")
    } catch {
      #expect(error.code == .refused, "\(error)")
      #expect(error.description.contains("http://localhost:4/cog.tif"), "\(error)")
    }
    #expect(!server.requestKeys.contains { $0.contains("x.json") })
    // And opening a foreign host directly is refused before any request.
    #expect(throws: RangeIOError.self) {
      _ = try ByteSources.open("http://localhost:5/a.tif", options: options)
    }
  }

  // MARK: CLI

  @Test(.enabled(if: TandemCLI.binary != nil, "tandem binary not built"))
  func cliRefusesAndAllowsWithFlags() async throws {
    let server = try TestHTTPServer(routes: [
      (
        "GET", "/catalog.json", nil,
        .init(
          status: 200,
          body: Self.catalog(links: [
            (rel: "item", href: "./i1.json")
          ]))
      ),
      (
        "GET", "/i1.json", nil, .init(status: 200, body: Self.item(assetHref: "file:///etc/passwd"))
      ),
    ])
    defer { server.stop() }
    let url = server.base + "/catalog.json"
    let refused = try TandemCLI.run(["catalog", "inspect", url])
    #expect(refused.status == 1)
    #expect(refused.stderr.contains("refused href 'file:///etc/passwd'"), "\(refused.stderr)")
    #expect(refused.stderr.contains(server.base + "/i1.json"), "\(refused.stderr)")
    let allowed = try TandemCLI.run(["catalog", "inspect", url, "--allow-local-assets"])
    #expect(allowed.status == 0, "\(allowed.stderr)")
    let hosts = try TandemCLI.run([
      "catalog", "inspect", url, "--allow-local-assets", "--allowed-hosts", "example.com",
    ])
    #expect(hosts.status == 1)
    #expect(hosts.stderr.contains("not in --allowed-hosts"), "\(hosts.stderr)")
    // train takes the same flags (IOOptions) and refuses before training anything.
    let run = FileManager.default.temporaryDirectory.appendingPathComponent(
      "tandem-policy-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: run) }
    let train = try TandemCLI.run(["train", "--catalog", url, "--out", run.path])
    #expect(train.status != 0)
    #expect(train.stderr.contains("refused href 'file:///etc/passwd'"), "\(train.stderr)")
  }
}
