import RangeIO

/// One request for a STAC document: a GET of a URL or path, or a POST with a JSON body (STAC API
/// search paging).
public struct DocumentRequest: Sendable, Hashable, CustomStringConvertible {
  /// Path, `file://` URL or `http(s)://` URL.
  public var url: String
  /// `GET` or `POST` (upper case).
  public var method: String
  /// The JSON body of a POST.
  public var body: JSONValue?
  /// Extra headers from the link (`headers` member).
  public var headers: [String: String]

  /// Creates a value from its parts.
  public init(
    url: String, method: String = "GET", body: JSONValue? = nil, headers: [String: String] = [:]
  ) {
    self.url = url
    self.method = method.uppercased()
    self.body = body
    self.headers = headers
  }

  /// Identifies the request for loop detection: method, canonical URL and the body with sorted
  /// keys (so `{"a":1,"b":2}` and `{"b":2,"a":1}` are the same request).
  public var canonicalKey: String {
    var key = method + " " + Href.canonical(url)
    if let body { key += " " + body.serialized(sortedKeys: true) }
    return key
  }

  /// `POST https://…/search {"token":"…"}` (body shortened).
  public var description: String {
    guard let body else { return "\(method) \(url)" }
    var text = body.serialized(sortedKeys: true)
    if text.count > 200 { text = String(text.prefix(200)) + "…" }
    return "\(method) \(url) \(text)"
  }
}

/// Fetches whole STAC documents. The loader talks only to this protocol, so HTTP GET/POST,
/// local files and canned test responses are interchangeable.
public protocol DocumentFetcher: Sendable {
  /// Returns the document's bytes; fails with ``STACError`` (`.io`, `.tooLarge`, `.unsupported`)
  /// naming the request. Documents larger than `maxBytes` are refused without reading them.
  func fetch(_ request: DocumentRequest, maxBytes: Int) async throws(STACError) -> [UInt8]
}

/// Fetches documents through `RangeIO.ByteSources`: paths, `file://` URLs and (once RangeIO's
/// HTTP source lands) `http(s)://` URLs, for GET requests.
///
/// POST is not available through `ByteSource` (it models ranged reads of objects), so POST
/// requests fail with `.unsupported`; an HTTP fetcher that can send bodies is wired in by the
/// CLI once RangeIO offers one.
public struct ByteSourceFetcher: DocumentFetcher {
  /// Options for opening sources (statistics, HTTP settings, cache).
  public var options: SourceOptions

  /// Creates a value from its parts.
  public init(options: SourceOptions = SourceOptions()) {
    self.options = options
  }

  /// Fetches one document (see ``DocumentFetcher``).
  public func fetch(_ request: DocumentRequest, maxBytes: Int) async throws(STACError) -> [UInt8] {
    guard request.method == "GET" else {
      throw STACError(
        .unsupported, location: request.url,
        message:
          "\(request.method) requests need an HTTP fetcher with request bodies (not available through RangeIO yet)"
      )
    }
    do {
      let source = try ByteSources.open(request.url, options: options)
      let size = try await source.size()
      guard size <= UInt64(maxBytes) else {
        throw STACError(
          .tooLarge, location: request.url,
          message: "document is \(size) bytes; the limit is \(maxBytes) (raise --max-document-size)"
        )
      }
      if size == 0 { return [] }
      return try await source.read(ByteRange(offset: 0, length: size))
    } catch let error as RangeIOError {
      // The location is already the document's; keep only the range and the cause.
      var message = error.range.map { "(\($0)) " } ?? ""
      message += error.code.description
      if !error.message.isEmpty { message += ": " + error.message }
      throw STACError(.io, location: request.url, message: message, underlying: error)
    } catch let error as STACError {
      throw error
    } catch {
      throw STACError(.io, location: request.url, message: String(describing: error))
    }
  }
}

/// The fetcher every command uses: documents over HTTP(S) with GET and POST (search paging)
/// and the run's HTTP options (retries, headers, credentials), local paths and `file://`
/// through RangeIO. With a tile cache configured, GET documents go through it too (so
/// `--offline` serves a catalog that was read before); a POST search is never cached.
public struct STACDocumentFetcher: DocumentFetcher {
  public var options: SourceOptions
  let http: HTTPDocumentFetcher
  let sources: ByteSourceFetcher

  public init(options: SourceOptions = SourceOptions()) {
    self.options = options
    sources = ByteSourceFetcher(options: options)
    http = HTTPDocumentFetcher(options: options.http, stats: options.stats, fallback: sources)
  }

  public func fetch(_ request: DocumentRequest, maxBytes: Int) async throws(STACError) -> [UInt8] {
    let remote = RemotePolicy.isHTTP(request.url)
    if !remote || (request.method == "GET" && options.cache != nil) {
      return try await sources.fetch(request, maxBytes: maxBytes)
    }
    if options.cache?.offline == true {
      throw STACError(
        .io, location: request.url,
        message:
          "offline: a \(request.method) search request cannot be served from the tile cache (only GET documents are cached)"
      )
    }
    return try await http.fetch(request, maxBytes: maxBytes)
  }
}
