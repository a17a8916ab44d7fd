import Synchronization
import TandemBase

/// What every HTTP request of Tandem shares, ranged reads (``HTTPSource``) and whole documents
/// (``HTTPDocumentClient``, STAC catalogs and searches) alike: requests built from one
/// ``HTTPOptions`` (headers, TANDEM_AUTHORIZATION, `.netrc`, CA file, SigV4, protocol,
/// timeouts), sent on the shared libcurl event loop with the remote-catalog policy checked hop
/// by hop, retried with jittered backoff or the server's Retry-After within the per-request and
/// global budgets, and failures classified into ``RangeIOError`` codes.
final class HTTPTransport: Sendable {
  let url: String
  /// The URL without secrets, for messages.
  let location: String
  let options: HTTPOptions
  let stats: IOStats
  private let loop: CurlEventLoop
  private let jitter: Mutex<SeededGenerator>

  init(url: String, location: String, options: HTTPOptions, stats: IOStats) {
    self.url = url
    self.location = location
    self.options = options
    self.stats = stats
    loop = CurlEventLoop.shared
    loop.setMaxInFlight(options.maxConcurrentTransfers)
    jitter = Mutex(SeededGenerator(seed: FNV1a64.hash(location)))
  }

  /// A request for this URL with the options' headers, auth and limits.
  func makeRequest(
    rangeHeader: String? = nil, maxBody: Int, method: String = "GET", body: [UInt8]? = nil,
    extraHeaders: [String] = [], decodeContent: Bool = false
  ) -> CurlRequest {
    var headers = options.headers + extraHeaders
    var aws: (String, String)?
    if let sig = options.awsSigV4 {
      aws = ("aws:amz:\(sig.region):\(sig.service)", "\(sig.accessKeyID):\(sig.secretAccessKey)")
      if let token = sig.sessionToken { headers.append("x-amz-security-token: \(token)") }
    }
    return CurlRequest(
      url: url, method: method, body: body, decodeContent: decodeContent,
      rangeHeader: rangeHeader, headers: headers, maxBodyBytes: maxBody,
      httpVersion: options.version,
      connectTimeoutMilliseconds: Int(options.connectTimeout * 1000),
      lowSpeedSeconds: Int(options.stallTimeout.rounded(.up)),
      // With a host allow-list every hop is checked here (``perform(_:)``), not by libcurl.
      maxRedirects: options.remote.restrictsHosts ? 0 : options.maxRedirects,
      netrc: options.netrc, caFile: options.caFile, awsSigV4: aws)
  }

  /// Sends `request` until `evaluate` accepts a response or a failure is final. Retries
  /// transient failures (connection errors, 408/429/5xx, short bodies) with jittered
  /// exponential backoff or the server's Retry-After, within the per-request and global budgets.
  func withRetries<T>(
    _ request: CurlRequest, evaluate: (CurlResponse) throws(RangeIOError) -> T
  ) async throws(RangeIOError) -> T {
    var attempt = 0
    while true {
      stats.requests.add(1, ordering: .relaxed)
      let response = try await perform(request)
      stats.bytesFetched.add(response.body.count, ordering: .relaxed)
      do {
        let value = try evaluate(response)
        options.retryBudget.recordSuccess()
        return value
      } catch let failure {
        guard failure.isRetryable, attempt < options.maxRetries, !Task.isCancelled,
          options.retryBudget.take()
        else {
          stats.failures.add(1, ordering: .relaxed)
          var final = failure
          if failure.isRetryable && attempt > 0 {
            final.message += " (after \(attempt) retr\(attempt == 1 ? "y" : "ies"))"
          }
          throw final
        }
        stats.retries.add(1, ordering: .relaxed)
        let delay = backoff(attempt: attempt, retryAfter: response.headers["retry-after"])
        attempt += 1
        try? await Task.sleep(for: .milliseconds(Int(delay * 1000)))
      }
    }
  }

  /// Runs one request on the event loop. When ``HTTPOptions/remote`` restricts hosts, libcurl
  /// follows no redirects and each hop is checked against the policy here before it is sent.
  func perform(_ request: CurlRequest) async throws(RangeIOError) -> CurlResponse {
    var request = request
    var response = await loop.perform(request)
    guard options.remote.restrictsHosts else { return response }
    var hops = 0
    while (300..<400).contains(response.status), let next = response.redirectURL, !next.isEmpty {
      guard hops < options.maxRedirects else {
        throw RangeIOError(
          .limitExceeded, location: location,
          message: "too many redirects (limit \(options.maxRedirects))",
          httpStatus: response.status)
      }
      guard RemotePolicy.isHTTP(next) else {
        throw RangeIOError(
          .unsupportedLocation, location: location,
          message: "refused a redirect to '\(Redaction.url(next))' (only http/https)")
      }
      try options.remote.check(next, referrer: request.url)
      hops += 1
      if RemotePolicy.host(of: next).hostPort != RemotePolicy.host(of: request.url).hostPort {
        // Like libcurl: credentials are not sent on to another host.
        request.headers = request.headers.filter { header in
          let name = header.split(separator: ":", maxSplits: 1).first.map(String.init) ?? ""
          return !Redaction.secretHeaders.contains(name.lowercased())
        }
        request.awsSigV4 = nil
      }
      if response.status == 303 && request.method == "POST" {
        // See Other: the answer is fetched with GET (RFC 9110), as libcurl does itself.
        request.method = "GET"
        request.body = nil
      }
      request.url = next
      response = await loop.perform(request)
    }
    return response
  }

  private func backoff(attempt: Int, retryAfter: String?) -> Double {
    if let retryAfter, let seconds = parseRetryAfter(retryAfter, now: wallClockSeconds()) {
      return min(seconds, options.retryMaxDelay)
    }
    let ceiling = min(options.retryMaxDelay, options.retryBaseDelay * Double(1 << min(attempt, 20)))
    let unit = jitter.withLock { $0.nextUnitDouble() }
    // "Equal jitter": at least half the ceiling, so retries never hammer a struggling server.
    return ceiling / 2 + unit * ceiling / 2
  }

  // MARK: classification

  func error(
    _ code: RangeIOError.Code, _ range: ByteRange?, _ message: String, _ response: CurlResponse
  ) -> RangeIOError {
    RangeIOError(
      code, location: location, range: range, message: message,
      httpStatus: response.status == 0 ? nil : response.status)
  }

  /// The code and message of a transfer that did not complete.
  func transportError(_ response: CurlResponse) -> (RangeIOError.Code, String) {
    let detail = "libcurl error \(response.curlCode): \(response.curlMessage)"
    switch response.curlCode {
    case 28: return (.timeout, detail)
    case 42: return (.cancelled, "the reading task was cancelled")
    case 47:
      return (
        .limitExceeded,
        "too many redirects (limit maxRedirects = \(options.maxRedirects)); \(detail)"
      )
    case 1:
      return (
        .unsupportedLocation,
        "refused a redirect or URL with a scheme other than http/https; \(detail)"
      )
    default: return (.network, detail)
    }
  }

  /// The error for a response whose status is not what the request asked for; `detail` (e.g.
  /// the start of a STAC API's JSON error body) is appended.
  func statusError(
    _ response: CurlResponse, range: ByteRange?, detail: String = ""
  ) -> RangeIOError {
    let status = response.status
    let suffix = detail.isEmpty ? "" : ": \(detail)"
    switch status {
    case 404, 410:
      return error(.notFound, range, "HTTP \(status)" + suffix, response)
    case 401, 403:
      return error(.forbidden, range, "HTTP \(status)" + suffix, response)
    case 412:
      return error(.objectChanged, range, "HTTP 412 Precondition Failed" + suffix, response)
    case 300..<400:
      return error(
        .httpStatus, range, "HTTP \(status) redirect not followed (limit or missing Location)",
        response)
    default:
      return error(.httpStatus, range, "HTTP \(status)" + suffix, response)
    }
  }
}

extension RangeIOError {
  /// Whether a request that failed like this may succeed when sent again.
  var isRetryable: Bool {
    switch code {
    case .network, .timeout: return true
    case .httpStatus: return [408, 429, 500, 502, 503, 504].contains(httpStatus ?? 0)
    case .badResponse:
      return message.hasPrefix("body ended") || message.hasPrefix("full-body answer ended")
    default: return false
    }
  }
}
