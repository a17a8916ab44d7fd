import RangeIO
import TandemBase

/// Fetches STAC documents over HTTP(S), GET and POST (STAC API search paging needs request
/// bodies, which `ByteSource` does not model), through RangeIO's ``HTTPDocumentClient``: the
/// run's HTTP options (headers, TANDEM_AUTHORIZATION, `.netrc`, CA file), retries with backoff,
/// compressed transfer, the remote-catalog policy on every redirect hop. Other locations (paths,
/// `file://`) go to `fallback`.
public struct HTTPDocumentFetcher: DocumentFetcher {
  public var client: HTTPDocumentClient
  /// Used for locations that are not `http(s)://`.
  public var fallback: any DocumentFetcher

  public init(
    options: HTTPOptions = HTTPOptions(), stats: IOStats = IOStats(),
    fallback: any DocumentFetcher = ByteSourceFetcher()
  ) {
    client = HTTPDocumentClient(options: options, stats: stats)
    self.fallback = fallback
  }

  /// Fetches one document (see ``DocumentFetcher``).
  public func fetch(_ request: DocumentRequest, maxBytes: Int) async throws(STACError) -> [UInt8] {
    guard RemotePolicy.isHTTP(request.url) else {
      return try await fallback.fetch(request, maxBytes: maxBytes)
    }
    guard request.method == "GET" || request.method == "POST" else {
      throw STACError(
        .unsupported, location: request.url,
        message: "\(request.method): only GET and POST are supported")
    }
    let body =
      request.method == "POST"
      ? Array((request.body ?? .object(JSONObject())).serialized().utf8) : nil
    let headers = request.headers.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }
    do throws(RangeIOError) {
      return try await client.fetch(
        HTTPDocumentRequest(url: request.url, method: request.method, headers: headers, body: body),
        maxBytes: maxBytes)
    } catch {
      let code: STACError.Code
      switch error.code {
      case .refused, .unsupportedLocation: code = .refused
      case .tooLarge: code = .tooLarge
      case .limitExceeded: code = .limitExceeded
      default: code = .io
      }
      var message = "\(request.method): "
      if code == .io { message += "\(error.code): " }
      message += error.message
      throw STACError(code, location: request.url, message: message, underlying: error)
    }
  }
}
