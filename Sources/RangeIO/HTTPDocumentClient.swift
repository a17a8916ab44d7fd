import TandemBase

/// A request for a whole document over HTTP(S): a STAC catalog, collection or item collection
/// page (GET), or an item search (POST with a JSON body).
public struct HTTPDocumentRequest: Sendable, Hashable {
  public var url: String
  /// `GET` or `POST`.
  public var method: String
  /// `Name: value` lines, after the options' headers (a link's own `headers`).
  public var headers: [String]
  public var body: [UInt8]?

  public init(url: String, method: String = "GET", headers: [String] = [], body: [UInt8]? = nil) {
    self.url = url
    self.method = method.uppercased()
    self.headers = headers
    self.body = body
  }
}

/// Fetches whole documents with the same transport as the range reads: the options' headers
/// and credentials, the remote-catalog policy on every redirect hop, compressed transfer
/// (gzip/deflate/br/zstd decoded), and retries of 408/429/5xx, resets and truncated bodies with
/// backoff and Retry-After. Error responses keep the start of their body (STAC APIs explain
/// errors in JSON).
public struct HTTPDocumentClient: Sendable {
  public var options: HTTPOptions
  public var stats: IOStats

  public init(options: HTTPOptions = HTTPOptions(), stats: IOStats = IOStats()) {
    self.options = options
    self.stats = stats
  }

  /// The document's bytes; documents larger than `maxBytes` fail with `.limitExceeded` without
  /// being buffered further.
  public func fetch(
    _ request: HTTPDocumentRequest, maxBytes: Int
  ) async throws(RangeIOError) -> [UInt8] {
    guard request.method == "GET" || request.method == "POST" else {
      throw RangeIOError(
        .unsupportedLocation, location: URLRedaction.redact(request.url),
        message: "\(request.method) requests are not supported (only GET and POST)")
    }
    try options.remote.check(request.url, referrer: nil)
    let transport = HTTPTransport(
      url: request.url, location: URLRedaction.redact(request.url), options: options,
      stats: stats)
    var extra = request.headers
    extra.append("Accept: application/geo+json, application/json")
    if request.method == "POST" { extra.append("Content-Type: application/json") }
    let curlRequest = transport.makeRequest(
      maxBody: maxBytes, method: request.method, body: request.body, extraHeaders: extra,
      decodeContent: true)
    return try await transport.withRetries(curlRequest) { response throws(RangeIOError) in
      if response.exceededLimit {
        throw transport.error(
          .tooLarge, nil, "response exceeds \(maxBytes) bytes (raise --max-document-size)",
          response)
      }
      guard response.transportOK else {
        let (code, message) = transport.transportError(response)
        throw transport.error(code, nil, message, response)
      }
      guard (200..<300).contains(response.status) else {
        var text = String(decoding: response.body.prefix(300), as: UTF8.self)
        if response.body.count > 300 { text += "…" }
        throw transport.statusError(response, range: nil, detail: text)
      }
      return response.body
    }
  }
}
