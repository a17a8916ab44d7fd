import RangeIO

/// Limits and switches for loading STAC. Per-document limits (JSON size and nesting, items per
/// page) live in ``decode`` (``DecodeOptions``, ``JSONLimits``); these bound the whole walk.
public struct LoadOptions: Sendable, Hashable {
  /// Largest document accepted, in bytes.
  public var maxDocumentBytes: Int
  /// Deepest `child`/`item` link level followed from the start document (the start is level 0).
  public var maxDepth: Int
  /// Documents fetched at once while walking a catalog.
  public var maxConcurrency: Int
  /// Follow `next` links of item collections and search pages.
  public var followNext: Bool
  /// Most pages fetched per paged collection (the first page included).
  public var maxPages: Int
  /// Most items kept; loading stops (and says so) when reached.
  public var maxItems: Int
  /// How strictly each document is decoded.
  public var decode: DecodeOptions
  /// Fail on the first child document that cannot be fetched or decoded, instead of recording
  /// the error and carrying on with the rest of the catalog.
  public var failFast: Bool
  /// What documents fetched over HTTP may link to (children, items, pages, assets). A refused
  /// href always fails the load (whatever ``failFast`` says), naming the document and the href.
  public var remote: RemotePolicy

  /// Creates a value from its parts.
  public init(
    maxDocumentBytes: Int = 512 << 20, maxDepth: Int = 32, maxConcurrency: Int = 8,
    followNext: Bool = true, maxPages: Int = 10_000, maxItems: Int = 5_000_000,
    decode: DecodeOptions = DecodeOptions(), failFast: Bool = false,
    remote: RemotePolicy = RemotePolicy()
  ) {
    self.maxDocumentBytes = maxDocumentBytes
    self.maxDepth = maxDepth
    self.maxConcurrency = max(1, maxConcurrency)
    self.followNext = followNext
    self.maxPages = max(1, maxPages)
    self.maxItems = max(0, maxItems)
    self.decode = decode
    self.failFast = failFast
    self.remote = remote
  }
}

/// Everything a load produced: the items (deduplicated by collection and id, in discovery order)
/// and an account of what was read, skipped or cut short.
public struct LoadResult: Sendable {
  /// Items in document order.
  public var items: [Item] = []
  /// Collections met while walking.
  public var collections: [Collection] = []
  /// Documents fetched (catalogs, collections, items, pages).
  public var documents = 0
  /// Item-collection pages fetched.
  public var pages = 0
  /// Items dropped because an item with the same collection and id was already loaded.
  public var duplicateItems = 0
  /// Items skipped because they failed to decode (with ``DecodeOptions/skipInvalidItems``).
  public var skippedItems: [STACWarning] = []
  /// Lenient parses and other notes.
  public var warnings: [STACWarning] = []
  /// Child documents or pages that failed; the rest of the load went on.
  public var errors: [STACError] = []
  /// Why loading stopped early (item or page cap), or `nil` when it ran to the end.
  public var truncated: String?
  /// What the first item-collection page says the whole result holds (`numberMatched`, or
  /// the older `context.matched`), when it says.
  public var numberMatched: Int?

  /// Creates a value from its parts.
  public init() {}
}

/// Loads STAC from a path or URL: single items, item collections (following `next` links with
/// GET or POST like a STAC API client), and static catalogs (walking `child` and `item` links
/// with bounded concurrency, cycle detection and a depth limit).
public struct STACLoader: Sendable {
  /// Fetches documents (GET/POST).
  public var fetcher: any DocumentFetcher
  /// Options for opening sources (statistics, HTTP settings, cache).
  public var options: LoadOptions

  /// Creates a value from its parts.
  public init(
    fetcher: any DocumentFetcher = ByteSourceFetcher(), options: LoadOptions = LoadOptions()
  ) {
    self.fetcher = fetcher
    self.options = options
  }

  /// Fetches and decodes one document.
  public func document(
    _ request: DocumentRequest
  ) async throws(STACError) -> (STACDocument, [STACWarning]) {
    let bytes = try await fetcher.fetch(request, maxBytes: options.maxDocumentBytes)
    var decodeOptions = options.decode
    decodeOptions.json.maxDocumentBytes = min(
      decodeOptions.json.maxDocumentBytes, options.maxDocumentBytes)
    var decoder = STACDecoder(location: request.url, options: decodeOptions)
    let doc = try decoder.decodeDocument(bytes: bytes)
    return (doc, decoder.warnings)
  }

  /// ``document(_:)`` as a value, for task-group children.
  func documentResult(
    _ request: DocumentRequest
  ) async -> Result<(STACDocument, [STACWarning]), STACError> {
    do throws(STACError) {
      return .success(try await document(request))
    } catch {
      return .failure(error)
    }
  }

  /// Fetches and decodes one document by location (GET).
  public func document(at location: String) async throws(STACError) -> STACDocument {
    try await document(DocumentRequest(url: location)).0
  }

  /// Loads every item reachable from `location`: the item itself, the collection's items and
  /// following pages, or the items of a catalog tree. Failures of the start document throw;
  /// failures further down are recorded in ``LoadResult/errors`` (unless ``LoadOptions/failFast``).
  public func loadItems(from location: String) async throws(STACError) -> LoadResult {
    try await loadItems(from: DocumentRequest(url: location))
  }

  /// Like ``loadItems(from:)-(String)`` for an arbitrary first request (e.g. a POST search).
  public func loadItems(from request: DocumentRequest) async throws(STACError) -> LoadResult {
    var state = LoadState()
    try permit(request.url, referrer: nil)
    let (doc, warnings) = try await document(request)
    state.result.documents = 1
    state.result.warnings += warnings
    state.visited.insert(Href.canonical(request.url))
    try await absorb(doc, request: request, depth: 0, state: &state)
    return state.result
  }

  struct LoadState {
    var result = LoadResult()
    var visited = Set<String>()
    var itemKeys = Set<String>()
    var full: Bool { result.truncated != nil }
  }

  /// Adds a fetched document's items, pages its `next` links, walks its children.
  func absorb(
    _ doc: STACDocument, request: DocumentRequest, depth: Int, state: inout LoadState
  )
    async throws(STACError)
  {
    switch doc {
    case .item(let item):
      try add([item], state: &state)
    case .itemCollection(let first):
      state.result.pages += 1
      try await followPages(first: first, request: request, state: &state)
    case .catalog, .collection:
      if case .collection(let c) = doc { state.result.collections.append(c) }
      try await walk(from: doc, url: request.url, depth: depth, state: &state)
    }
  }

  /// The one place the ``RemotePolicy`` is applied to what a document refers to.
  func permit(_ target: String, referrer: String?) throws(STACError) {
    do throws(RangeIOError) {
      try options.remote.check(target, referrer: referrer)
    } catch {
      throw STACError(
        .refused, location: error.location, message: error.message, underlying: error)
    }
  }

  /// Applies the policy to an item's assets: a local file referred to by a remote item fails
  /// the load; an asset on a host outside the allow-list is dropped with a warning (remote items
  /// often list thumbnails or alternates elsewhere).
  func permittedAssets(_ item: Item, state: inout LoadState) throws(STACError) -> Item {
    guard let source = item.sourceURL else { return item }
    var item = item
    var kept: [Asset] = []
    for asset in item.assets {
      let href = item.resolvedHref(of: asset)
      do throws(RangeIOError) {
        try options.remote.check(href, referrer: source)
        kept.append(asset)
      } catch {
        guard RemotePolicy.isHostRefusal(error) else {
          throw STACError(
            .refused, location: error.location, message: error.message, underlying: error)
        }
        state.result.warnings.append(
          STACWarning(
            location: error.location, path: nil,
            message: "asset '\(asset.key)' dropped: \(error.message)"))
      }
    }
    if kept.count != item.assets.count { item.assets = kept }
    return item
  }

  func add(_ items: [Item], state: inout LoadState) throws(STACError) {
    for item in items {
      let item = try permittedAssets(item, state: &state)
      guard state.result.items.count < options.maxItems else {
        state.result.truncated = "stopped at the item limit (\(options.maxItems) items)"
        return
      }
      let key = (item.collection ?? "") + "\u{0}" + item.id
      if state.itemKeys.insert(key).inserted {
        state.result.items.append(item)
      } else {
        state.result.duplicateItems += 1
      }
    }
  }

  // MARK: Paging

  /// The request a `next` link asks for, given the request that produced the page.
  public static func nextRequest(for link: Link, after previous: DocumentRequest) -> DocumentRequest
  {
    let url = Href.resolve(link.href, against: previous.url)
    let method = link.method ?? "GET"
    var headers: [String: String] = [:]
    for m in link.headers ?? JSONObject() {
      if let v = m.value.stringValue { headers[m.key] = v }
    }
    guard method == "POST" else {
      return DocumentRequest(url: url, method: method, headers: headers)
    }
    var body = link.body
    if link.merge, case .object(var merged)? = previous.body {
      if case .object(let update)? = link.body {
        for m in update { merged[m.key] = m.value }
      }
      body = .object(merged)
    }
    return DocumentRequest(url: url, method: method, body: body, headers: headers)
  }

  func followPages(
    first: ItemCollection, request: DocumentRequest, state: inout LoadState
  )
    async throws(STACError)
  {
    var current = first
    var currentRequest = request
    var seen = [request.canonicalKey: 1]
    state.result.numberMatched = first.numberMatched
    var pageNumber = 1
    state.result.skippedItems += current.skipped
    try add(current.items, state: &state)
    while options.followNext, !state.full, !current.items.isEmpty, let next = current.nextLink {
      guard pageNumber < options.maxPages else {
        state.result.truncated =
          "stopped at the page limit (\(options.maxPages) pages) of \(request.url)"
        return
      }
      let nextRequest = STACLoader.nextRequest(for: next, after: currentRequest)
      try permit(nextRequest.url, referrer: currentRequest.url)
      if let earlier = seen[nextRequest.canonicalKey] {
        throw STACError(
          .pagingLoop, location: currentRequest.url,
          message:
            "page \(pageNumber) (\(currentRequest)) links next to \(nextRequest), which was already fetched as page \(earlier); stopping"
        )
      }
      pageNumber += 1
      seen[nextRequest.canonicalKey] = pageNumber
      let doc: STACDocument
      do {
        let (d, warnings) = try await document(nextRequest)
        doc = d
        state.result.warnings += warnings
        state.result.documents += 1
      } catch {
        if options.failFast { throw error }
        state.result.errors.append(error)
        state.result.truncated = "page \(pageNumber) could not be loaded (\(nextRequest))"
        return
      }
      guard case .itemCollection(let c) = doc else {
        throw STACError(
          .notSTAC, location: nextRequest.url,
          message: "page \(pageNumber) is a \(doc.kind), not an ItemCollection (\(nextRequest))")
      }
      state.result.pages += 1
      state.result.skippedItems += c.skipped
      try add(c.items, state: &state)
      current = c
      currentRequest = nextRequest
    }
  }

  // MARK: Walking

  struct Pending: Sendable {
    var url: String
    var rel: String
    var from: String
  }

  func walk(
    from root: STACDocument, url: String, depth: Int, state: inout LoadState
  )
    async throws(STACError)
  {
    var level = try children(of: root, url: url, depth: depth, state: &state)
    var levelDepth = depth + 1
    while !level.isEmpty, !state.full {
      // Fetch one level with at most `maxConcurrency` documents in flight, keep link order.
      let fetched = await fetchAll(level)
      var nextLevel: [Pending] = []
      for (pending, outcome) in zip(level, fetched) {
        switch outcome {
        case .failure(let error):
          if options.failFast { throw error }
          state.result.errors.append(error)
        case .success(let (doc, warnings)):
          state.result.documents += 1
          state.result.warnings += warnings
          switch doc {
          case .item(let item):
            try add([item], state: &state)
          case .itemCollection:
            try await absorb(
              doc, request: DocumentRequest(url: pending.url), depth: levelDepth, state: &state)
          case .catalog, .collection:
            if case .collection(let c) = doc { state.result.collections.append(c) }
            nextLevel += try children(of: doc, url: pending.url, depth: levelDepth, state: &state)
          }
        }
        if state.full { return }
      }
      level = nextLevel
      levelDepth += 1
    }
  }

  /// Unvisited `child` and `item` links of a catalog or collection, resolved.
  func children(
    of doc: STACDocument, url: String, depth: Int, state: inout LoadState
  ) throws(STACError) -> [Pending] {
    var out: [Pending] = []
    for link in doc.links where link.rel == "child" || link.rel == "item" {
      let target = Href.resolve(link.href, against: url)
      try permit(target, referrer: url)
      let key = Href.canonical(target)
      guard !state.visited.contains(key) else { continue }
      guard depth + 1 <= options.maxDepth else {
        state.result.warnings.append(
          STACWarning(
            location: url, path: nil,
            message:
              "not following \(link.rel) link to \(target): deeper than the limit (\(options.maxDepth))"
          ))
        continue
      }
      state.visited.insert(key)
      out.append(Pending(url: target, rel: link.rel, from: url))
    }
    return out
  }

  func fetchAll(_ level: [Pending]) async -> [Result<(STACDocument, [STACWarning]), STACError>] {
    var results = [Result<(STACDocument, [STACWarning]), STACError>?](
      repeating: nil, count: level.count)
    await withTaskGroup(of: (Int, Result<(STACDocument, [STACWarning]), STACError>).self) { group in
      var next = 0
      func launch() {
        let i = next
        let request = DocumentRequest(url: level[i].url)
        group.addTask {
          // The result is awaited into a local before the tuple is built: Swift 6.3's optimizer
          // corrupts a tuple written partly before and partly after a suspension
          // (swiftlang/swift#91911; `Scripts/lint-async-tuples` keeps the pattern out).
          let result = await self.documentResult(request)
          return (i, result)
        }
        next += 1
      }
      while next < level.count && next < options.maxConcurrency { launch() }
      while let (i, r) = await group.next() {
        if results.indices.contains(i) { results[i] = r }
        if next < level.count { launch() }
      }
    }
    return results.enumerated().map { i, result in
      result
        ?? .failure(
          STACError(
            .io, location: level[i].url,
            message: "the document was never fetched (internal error; please report it)"))
    }
  }
}
