internal import CCurl
internal import CTandemShims
import Dispatch
import RangeIO
import TandemBase

/// Fetches STAC documents over HTTP(S) with libcurl: GET, and POST with a JSON body as STAC API
/// search paging requires (`ByteSource` models ranged reads and cannot send a body). Other
/// locations (paths, `file://`) go to `fallback`.
///
/// Each request is one blocking libcurl easy transfer run off the cooperative thread pool;
/// documents are fetched one at a time per page chain, so connection reuse matters little here.
/// Redirects are followed (at most ``maxRedirects``, only to http/https; more is a
/// `.limitExceeded` error), responses are decompressed, HTTP errors ≥ 400 fail with the start of
/// the body (STAC APIs explain errors in JSON).
public struct HTTPDocumentFetcher: DocumentFetcher {
  /// Whole-request time limit.
  public var timeoutSeconds: Int
  /// Extra headers for every request (e.g. `Authorization`); a link's own headers win.
  public var headers: [String: String]
  /// Used for locations that are not `http(s)://`.
  public var fallback: any DocumentFetcher
  /// Redirects followed per request.
  public var maxRedirects: Int
  /// Hosts requests and redirects may go to (checked hop by hop when restricted).
  public var remote: RemotePolicy

  /// Creates a value from its parts.
  public init(
    timeoutSeconds: Int = 60, headers: [String: String] = [:],
    fallback: any DocumentFetcher = ByteSourceFetcher(), maxRedirects: Int = 5,
    remote: RemotePolicy = RemotePolicy()
  ) {
    self.timeoutSeconds = timeoutSeconds
    self.headers = headers
    self.fallback = fallback
    self.maxRedirects = max(0, maxRedirects)
    self.remote = remote
  }

  /// A fetcher with the run's HTTP options: extra headers (`--header`, TANDEM_AUTHORIZATION),
  /// redirect limit and remote-catalog policy.
  public init(options: HTTPOptions, fallback: any DocumentFetcher = ByteSourceFetcher()) {
    var headers: [String: String] = [:]
    for line in options.headers {
      let parts = line.split(separator: ":", maxSplits: 1)
      guard parts.count == 2 else { continue }
      headers[String(parts[0]).trimmingCharacters(in: .whitespaces)] =
        String(parts[1]).trimmingCharacters(in: .whitespaces)
    }
    self.init(
      timeoutSeconds: max(60, Int(options.stallTimeout.rounded(.up))), headers: headers,
      fallback: fallback, maxRedirects: options.maxRedirects, remote: options.remote)
  }

  static let globalInit: Bool = {
    curl_global_init(Int(CURL_GLOBAL_DEFAULT))
    return true
  }()

  /// Fetches one document (see ``DocumentFetcher``).
  public func fetch(_ request: DocumentRequest, maxBytes: Int) async throws(STACError) -> [UInt8] {
    let lower = request.url.lowercased()
    guard lower.hasPrefix("http://") || lower.hasPrefix("https://") else {
      return try await fallback.fetch(request, maxBytes: maxBytes)
    }
    do throws(RangeIOError) {
      try remote.check(request.url, referrer: nil)
    } catch {
      throw STACError(.refused, location: error.location, message: error.message, underlying: error)
    }
    let this = self
    let result: Result<[UInt8], STACError> = await withCheckedContinuation { continuation in
      DispatchQueue.global().async {
        continuation.resume(returning: this.perform(request, maxBytes: maxBytes))
      }
    }
    return try result.get()
  }

  func perform(_ request: DocumentRequest, maxBytes: Int) -> Result<[UInt8], STACError> {
    _ = HTTPDocumentFetcher.globalInit
    func failure(_ code: STACError.Code, _ message: String) -> Result<[UInt8], STACError> {
      .failure(STACError(code, location: request.url, message: "\(request.method): " + message))
    }
    guard request.method == "GET" || request.method == "POST" else {
      return failure(.unsupported, "only GET and POST are supported")
    }
    guard let easy = curl_easy_init() else { return failure(.io, "libcurl could not start") }
    defer { curl_easy_cleanup(easy) }
    let sink = ResponseSink(limit: maxBytes)
    var list: UnsafeMutablePointer<curl_slist>?
    var allHeaders = headers.merging(request.headers) { $1 }
    allHeaders["Accept"] = allHeaders["Accept"] ?? "application/geo+json, application/json"
    if request.method == "POST" { allHeaders["Content-Type"] = "application/json" }
    for (k, v) in allHeaders.sorted(by: { $0.key < $1.key }) {
      list = curl_slist_append(list, "\(k): \(v)")
    }
    defer { curl_slist_free_all(list) }

    var url = request.url
    var method = request.method
    _ = tandem_curl_setopt_string(easy, CURLOPT_URL, url)
    _ = tandem_curl_setopt_string(easy, CURLOPT_PROTOCOLS_STR, "http,https")
    _ = tandem_curl_setopt_string(easy, CURLOPT_REDIR_PROTOCOLS_STR, "http,https")
    // With a host allow-list every hop is checked below instead of by libcurl.
    _ = tandem_curl_setopt_long(easy, CURLOPT_FOLLOWLOCATION, remote.restrictsHosts ? 0 : 1)
    _ = tandem_curl_setopt_long(easy, CURLOPT_MAXREDIRS, maxRedirects)
    // 303 after POST turns into GET (RFC 9110); 301/302/307/308 keep the POST.
    // CURL_REDIR_POST_ALL (7), a macro Swift cannot import.
    _ = tandem_curl_setopt_long(easy, CURLOPT_POSTREDIR, 7)
    _ = tandem_curl_setopt_long(easy, CURLOPT_NOSIGNAL, 1)
    _ = tandem_curl_setopt_long(easy, CURLOPT_TIMEOUT, max(1, timeoutSeconds))
    _ = tandem_curl_setopt_string(easy, CURLOPT_ACCEPT_ENCODING, "")
    _ = tandem_curl_setopt_slist(easy, CURLOPT_HTTPHEADER, list)
    if request.method == "POST" {
      let body = (request.body ?? .object(JSONObject())).serialized()
      _ = tandem_curl_setopt_long(easy, CURLOPT_POST, 1)
      _ = tandem_curl_setopt_off(easy, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(body.utf8.count))
      _ = tandem_curl_setopt_string(easy, CURLOPT_COPYPOSTFIELDS, body)
    }
    let user = Unmanaged.passUnretained(sink).toOpaque()
    _ = tandem_curl_setopt_pointer(easy, CURLOPT_WRITEDATA, user)
    _ = tandem_curl_setopt_write_function(easy, stacWriteCallback)
    var code = withExtendedLifetime(sink) { curl_easy_perform(easy) }
    var hops = 0
    while remote.restrictsHosts, code == CURLE_OK {
      var status = 0
      _ = tandem_curl_getinfo_long(easy, CURLINFO_RESPONSE_CODE, &status)
      var redirect: UnsafePointer<CChar>?
      _ = tandem_curl_getinfo_string(easy, CURLINFO_REDIRECT_URL, &redirect)
      guard (300..<400).contains(status), let redirect else { break }
      let next = String(cString: redirect)
      guard hops < maxRedirects else {
        return failure(.limitExceeded, "too many redirects (limit \(maxRedirects))")
      }
      guard RemotePolicy.isHTTP(next) else {
        return failure(.refused, "refused a redirect to '\(Redaction.url(next))' (only http/https)")
      }
      do throws(RangeIOError) {
        try remote.check(next, referrer: url)
      } catch {
        return .failure(
          STACError(.refused, location: error.location, message: error.message, underlying: error))
      }
      if RemotePolicy.host(of: next).hostPort != RemotePolicy.host(of: url).hostPort {
        // Like libcurl: no credentials for another host.
        curl_slist_free_all(list)
        list = nil
        for (k, v) in allHeaders.sorted(by: { $0.key < $1.key })
        where !Redaction.secretHeaders.contains(k.lowercased()) {
          list = curl_slist_append(list, "\(k): \(v)")
        }
        _ = tandem_curl_setopt_slist(easy, CURLOPT_HTTPHEADER, list)
      }
      if status == 303 && method == "POST" {
        method = "GET"
        _ = tandem_curl_setopt_long(easy, CURLOPT_HTTPGET, 1)
      }
      hops += 1
      url = next
      sink.body.removeAll()
      _ = tandem_curl_setopt_string(easy, CURLOPT_URL, url)
      code = withExtendedLifetime(sink) { curl_easy_perform(easy) }
    }
    if sink.exceeded {
      return failure(.tooLarge, "response exceeds \(maxBytes) bytes (raise --max-document-size)")
    }
    if code == CURLE_TOO_MANY_REDIRECTS {
      return failure(
        .limitExceeded, "more than \(maxRedirects) redirects (limit maxRedirects)")
    }
    guard code == CURLE_OK else {
      return failure(.io, String(cString: curl_easy_strerror(code)))
    }
    var status = 0
    _ = tandem_curl_getinfo_long(easy, CURLINFO_RESPONSE_CODE, &status)
    guard (200..<300).contains(status) else {
      var text = String(decoding: sink.body.prefix(300), as: UTF8.self)
      if sink.body.count > 300 { text += "…" }
      return failure(.io, "HTTP \(status)" + (text.isEmpty ? "" : ": \(text)"))
    }
    return .success(sink.body)
  }
}

/// Collects a response body up to a limit (touched only by the thread running the transfer).
final class ResponseSink {
  let limit: Int
  var body: [UInt8] = []
  var exceeded = false
  init(limit: Int) { self.limit = limit }
}

/// Returning less than offered makes libcurl abort the transfer (used for the size limit).
private let stacWriteCallback: tandem_curl_data_callback = { data, size, count, user in
  let sink = Unmanaged<ResponseSink>.fromOpaque(user!).takeUnretainedValue()
  let n = size * count
  guard n > 0, let data else { return n }
  guard sink.body.count + n <= sink.limit else {
    sink.exceeded = true
    return 0
  }
  data.withMemoryRebound(to: UInt8.self, capacity: n) {
    sink.body.append(contentsOf: UnsafeBufferPointer(start: $0, count: n))
  }
  return n
}
