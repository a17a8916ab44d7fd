import Synchronization
import TandemTestSupport
import Testing

@testable import RangeIO

@Suite(.timeLimit(.minutes(1))) struct AuthTests {
  static let blob = testBlob(50_000, seed: 4)

  @Test func authorizationHeaderIsSentButNeverReported() async throws {
    let server = try TestHTTPServer { request in
      request.headers["authorization"] == "Bearer s3cr3t-token"
        ? serveRange(AuthTests.blob, request)
        : TestHTTPServer.Response(status: 401, headers: [], body: [])
    }
    defer { server.stop() }
    var options = fastOptions()
    options.headers = ["Authorization: Bearer s3cr3t-token"]
    let ok = HTTPSource(url: server.url("/private.tif"), options: options)
    let range = ByteRange(offset: 40_000, length: 100)
    #expect(try await ok.read(range) == slice(AuthTests.blob, range))

    options.headers = ["Authorization: Bearer wrong-s3cr3t"]
    let denied = HTTPSource(url: server.url("/private.tif"), options: options)
    let error = await expectError(.forbidden) { _ = try await denied.size() }
    #expect(error?.description.contains("s3cr3t") == false)
    #expect(error?.httpStatus == 401)
  }

  @Test func awsSigV4SignsEveryRequest() async throws {
    let seen = Mutex<[String]>([])
    let server = try TestHTTPServer { request in
      seen.withLock { $0.append(request.headers["authorization"] ?? "") }
      return serveRange(AuthTests.blob, request)
    }
    defer { server.stop() }
    var options = fastOptions()
    options.awsSigV4 = HTTPOptions.AWSSigV4.fromEnvironment([
      "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG",
      "AWS_SESSION_TOKEN": "tok", "AWS_REGION": "eu-central-1",
    ])
    let source = HTTPSource(url: server.url("/bucket/key.tif"), options: options)
    let range = ByteRange(offset: 30_000, length: 10)
    #expect(try await source.read(range) == slice(AuthTests.blob, range))
    let headers = seen.withLock { $0 }
    #expect(headers.count == 2)
    for header in headers {
      #expect(header.hasPrefix("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/"))
      #expect(header.contains("/eu-central-1/s3/aws4_request"))
      #expect(!header.contains("wJalrXUtnFEMI"))
    }
    #expect(HTTPOptions.AWSSigV4.fromEnvironment(["AWS_ACCESS_KEY_ID": "x"]) == nil)
  }
}
