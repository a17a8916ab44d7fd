import Synchronization
import TandemBase

/// The identity of one version of an object: its size and the validators the server sent.
/// Pinned on first contact; any later response that disagrees means the object changed.
public struct ObjectVersion: Sendable, Codable, Equatable, Hashable {
  public var size: UInt64
  public var etag: String?
  public var lastModified: String?

  public init(size: UInt64, etag: String? = nil, lastModified: String? = nil) {
    self.size = size
    self.etag = etag
    self.lastModified = lastModified
  }

  /// The strongest validator (ETag, else Last-Modified), for cache keys; `nil` when neither.
  public var validator: String? { etag ?? lastModified.map { "lm:" + $0 } }
}

/// A byte source that can report which version of its object it reads.
public protocol VersionedByteSource: ByteSource {
  /// The pinned version (learned by the first request; later requests are checked against it).
  func version() async throws(RangeIOError) -> ObjectVersion
  /// What names the object in cache keys (no secrets; see `Redaction.cacheIdentity`).
  var cacheIdentity: String { get }
}

extension VersionedByteSource {
  /// The location, by default.
  public var cacheIdentity: String { location }
}

/// An object behind an `http://` or `https://` URL, read with ranged GETs on the shared libcurl
/// event loop. The first request (a ranged GET of ``HTTPOptions/probeLength`` bytes) learns the
/// size and pins the ETag/Last-Modified; its bytes serve later reads of the object's header.
/// Every response is validated (status, Content-Range, size, validators, body length) so wrong
/// bytes are never returned: a read either yields exactly the requested bytes or throws.
public final class HTTPSource: VersionedByteSource {
  /// The URL without credentials or signature parameters (safe to print).
  public let location: String
  /// The URL as cache keys know it: signing parameters dropped, other secrets digested.
  public let cacheIdentity: String
  public let stats: IOStats
  private let url: String
  private let options: HTTPOptions
  private let transport: HTTPTransport
  private let probeState = Mutex<ProbeState>(.idle)

  private struct Probe: Sendable {
    var version: ObjectVersion
    /// The object's first bytes (the probe body, or the prefix of a body that ignored Range).
    var prefix: [UInt8]
    /// The server answered the probe with 200: nothing past `prefix` can be fetched.
    var rangesIgnored: Bool
  }

  private enum ProbeState: Sendable {
    case idle
    case running(Task<Result<Probe, RangeIOError>, Never>)
    case done(Probe)
  }

  /// Prepares a source; makes no request until the first `size()` or `read`.
  public init(url: String, options: HTTPOptions = HTTPOptions(), stats: IOStats = IOStats()) {
    self.url = url
    self.location = URLRedaction.redact(url)
    self.cacheIdentity = Redaction.cacheIdentity(url)
    self.options = options
    self.stats = stats
    transport = HTTPTransport(url: url, location: location, options: options, stats: stats)
  }

  public func size() async throws(RangeIOError) -> UInt64 {
    try await probe().version.size
  }

  public func version() async throws(RangeIOError) -> ObjectVersion {
    try await probe().version
  }

  public func read(_ ranges: [ByteRange]) async throws(RangeIOError) -> [[UInt8]] {
    guard !ranges.isEmpty else { return [] }
    let started = ContinuousClock.now
    defer {
      let waited = ContinuousClock.now - started
      stats.waitNanoseconds.add(
        Int(waited.components.seconds) * 1_000_000_000
          + Int(waited.components.attoseconds / 1_000_000_000), ordering: .relaxed)
    }
    let probe = try await self.probe()
    let size = probe.version.size
    var results = [[UInt8]?](repeating: nil, count: ranges.count)
    var remote: [Int] = []
    for (i, range) in ranges.enumerated() {
      // Compare without computing `end`, which would overflow for absurd offsets.
      guard range.offset <= size, range.length <= size - range.offset else {
        throw RangeIOError(
          .outOfBounds, location: location, range: range, message: "object is \(size) bytes long")
      }
      if range.length == 0 {
        results[i] = []
      } else if range.end <= UInt64(probe.prefix.count) {
        results[i] = Array(probe.prefix[Int(range.offset)..<Int(range.end)])
      } else if probe.rangesIgnored {
        throw RangeIOError(
          .rangeNotSupported, location: location, range: range,
          message:
            "the server ignores Range (answered 200 with the whole object) and the range lies past the first \(probe.prefix.count) bytes kept in memory"
        )
      } else {
        remote.append(i)
      }
    }
    if !remote.isEmpty {
      let wanted = remote.map { ranges[$0] }
      let groups =
        options.coalesceGap.map {
          RangeCoalescing.plan(wanted, gap: $0, maxLength: options.maxCoalescedLength)
        } ?? RangeCoalescing.plan(wanted, gap: 0, maxLength: 0)
      let fetched = try await fetchGroups(groups.map(\.merged), version: probe.version)
      for (g, group) in groups.enumerated() {
        for member in group.members {
          results[remote[member]] = RangeCoalescing.slice(
            fetched[g], of: group.merged, range: wanted[member])
        }
      }
    }
    return try ByteReads.complete(results, for: ranges, location: location)
  }

  // MARK: probe (size + validators)

  private func probe() async throws(RangeIOError) -> Probe {
    enum Step {
      case ready(Probe)
      case wait(Task<Result<Probe, RangeIOError>, Never>)
    }
    // One probe per object even when many tasks ask at once; later calls return the pinned one.
    let step: Step = probeState.withLock { state in
      switch state {
      case .done(let probe): return .ready(probe)
      case .running(let task): return .wait(task)
      case .idle:
        let task = Task { await self.runProbe() }
        state = .running(task)
        return .wait(task)
      }
    }
    let task: Task<Result<Probe, RangeIOError>, Never>
    switch step {
    case .ready(let probe): return probe
    case .wait(let running): task = running
    }
    let result = await task.value
    probeState.withLock { state in
      switch result {
      case .success(let probe): state = .done(probe)
      // A failed probe is not remembered: a later call may succeed once the server recovers.
      case .failure: if case .running = state { state = .idle }
      }
    }
    return try result.get()
  }

  private func runProbe() async -> Result<Probe, RangeIOError> {
    let wanted = ByteRange(offset: 0, length: max(1, options.probeLength))
    let limit = max(wanted.length, options.ignoredRangePrefixLimit)
    do {
      let request = transport.makeRequest(
        rangeHeader: wanted.httpHeaderValue, maxBody: Int(limit))
      let probe = try await transport.withRetries(request) {
        response throws(RangeIOError) -> Probe in
        try self.evaluateProbe(response, wanted: wanted)
      }
      return .success(probe)
    } catch {
      return .failure(error)
    }
  }

  private func evaluateProbe(
    _ response: CurlResponse, wanted: ByteRange
  ) throws(RangeIOError)
    -> Probe
  {
    try checkCommon(response, range: wanted)
    let etag = response.headers["etag"]
    let lastModified = response.headers["last-modified"]
    switch response.status {
    case 206:
      guard let header = response.headers["content-range"], let cr = ContentRange(header),
        let got = cr.range, let total = cr.total
      else {
        throw error(.badResponse, wanted, "206 without a valid Content-Range", response)
      }
      try checkPlausibleSize(total, "Content-Range", wanted, response)
      let expected = ByteRange(offset: 0, length: min(wanted.length, total))
      guard got == expected else {
        throw error(
          .badResponse, wanted, "Content-Range says \(got) of \(total), expected \(expected)",
          response)
      }
      guard !response.exceededLimit, response.body.count == Int(expected.length) else {
        throw error(
          .badResponse, wanted,
          "body has \(response.body.count)\(response.exceededLimit ? "+" : "") bytes, Content-Range says \(expected.length)",
          response)
      }
      return Probe(
        version: ObjectVersion(size: total, etag: etag, lastModified: lastModified),
        prefix: response.body, rangesIgnored: false)
    case 200:
      // The server ignored Range. Keep at most the prefix limit; the size comes from
      // Content-Length (or the body, when it arrived whole).
      let declared = response.headers["content-length"].flatMap { UInt64($0) }
      if !response.exceededLimit, let declared, declared != UInt64(response.body.count) {
        throw error(
          .badResponse, wanted,
          "body ended after \(response.body.count) of \(declared) bytes (Content-Length)",
          response)
      }
      guard let size = response.exceededLimit ? declared : UInt64(response.body.count) else {
        throw error(
          .rangeNotSupported, wanted,
          "the server ignores Range and sent no Content-Length for its full-body answer",
          response)
      }
      try checkPlausibleSize(size, "Content-Length", wanted, response)
      return Probe(
        version: ObjectVersion(size: size, etag: etag, lastModified: lastModified),
        prefix: response.body, rangesIgnored: true)
    case 416:
      // Only an empty object cannot satisfy bytes=0-…
      if let header = response.headers["content-range"], let cr = ContentRange(header),
        cr.total == 0
      {
        return Probe(
          version: ObjectVersion(size: 0, etag: etag, lastModified: lastModified), prefix: [],
          rangesIgnored: false)
      }
      throw error(.badResponse, wanted, "416 for the first bytes of a non-empty object", response)
    default:
      throw transport.statusError(response, range: wanted)
    }
  }

  /// Rejects an object size no array or offset in this process can address: every later
  /// range is checked against the pinned size, so bounding it here keeps the `Int` conversions
  /// of ranges and sizes below from trapping (`bytes 0-16383/18446744073709551615`).
  private func checkPlausibleSize(
    _ size: UInt64, _ header: String, _ wanted: ByteRange, _ response: CurlResponse
  ) throws(RangeIOError) {
    guard size <= UInt64(Int.max) else {
      throw error(
        .badResponse, wanted, "\(header) claims an object of \(size) bytes (more than \(Int.max))",
        response)
    }
  }

  // MARK: ranged fetches

  /// Fetches every range (already coalesced), in parallel on the event loop.
  private func fetchGroups(
    _ merged: [ByteRange], version: ObjectVersion
  ) async throws(RangeIOError)
    -> [[UInt8]]
  {
    var out = [[UInt8]?](repeating: nil, count: merged.count)
    var pending = Array(merged.indices)
    if options.multiRange && merged.count > 1 {
      let found = await fetchMultiRange(merged, version: version)
      if case .failure(let error) = found { throw error }
      if case .success(let parts) = found {
        for (i, bytes) in parts { out[i] = bytes }
        pending = pending.filter { out[$0] == nil }
      }
    }
    if pending.count == 1 {
      out[pending[0]] = try await fetch(merged[pending[0]], version: version)
    } else if !pending.isEmpty {
      // Each child awaits its result into a local before building the (index, result) tuple.
      // Swift 6.3's optimizer corrupts a tuple whose first element is written before a
      // suspension and the rest after it (swiftlang/swift#91911, reverted in #92155): written
      // as `return (i, .success(try await …))`, release builds returned index 0 from every
      // child and the missing slots trapped. `Scripts/lint-async-tuples` keeps the pattern out.
      let results = await withTaskGroup(of: (Int, Result<[UInt8], RangeIOError>).self) { group in
        for i in pending {
          group.addTask {
            let result = await self.fetchResult(merged[i], version: version)
            return (i, result)
          }
        }
        var collected: [(Int, Result<[UInt8], RangeIOError>)] = []
        for await item in group { collected.append(item) }
        return collected
      }
      for (i, result) in results {
        switch result {
        case .success(let bytes): out[i] = bytes
        case .failure(let error): throw error
        }
      }
    }
    return try ByteReads.complete(out, for: merged, location: location)
  }

  /// ``fetch(_:version:)`` as a value, for task-group children.
  private func fetchResult(
    _ range: ByteRange, version: ObjectVersion
  ) async -> Result<[UInt8], RangeIOError> {
    do throws(RangeIOError) {
      return .success(try await fetch(range, version: version))
    } catch {
      return .failure(error)
    }
  }

  /// One request for one range, with retries; the bytes are validated against `version`.
  private func fetch(
    _ range: ByteRange, version: ObjectVersion
  ) async throws(RangeIOError)
    -> [UInt8]
  {
    // A server that ignores Range sends the whole object: keep only what this range needs,
    // and only when that prefix is small.
    let maxBody =
      range.end <= options.ignoredRangePrefixLimit
      ? Int(max(range.end, range.length)) : Int(range.length)
    let request = transport.makeRequest(rangeHeader: range.httpHeaderValue, maxBody: maxBody)
    return try await transport.withRetries(request) {
      response throws(RangeIOError) -> [UInt8] in
      try self.evaluateRange(response, range: range, version: version)
    }
  }

  private func evaluateRange(
    _ response: CurlResponse, range: ByteRange, version: ObjectVersion
  )
    throws(RangeIOError) -> [UInt8]
  {
    try checkCommon(response, range: range)
    try checkVersion(response, range: range, version: version)
    switch response.status {
    case 206:
      if let type = response.headers["content-type"], type.lowercased().hasPrefix("multipart/") {
        throw error(.badResponse, range, "multipart answer to a single-range request", response)
      }
      guard let header = response.headers["content-range"], let cr = ContentRange(header),
        let got = cr.range
      else {
        throw error(.badResponse, range, "206 without a valid Content-Range", response)
      }
      if let total = cr.total, total != version.size {
        throw error(
          .objectChanged, range, "size is now \(total) bytes, was \(version.size)", response)
      }
      guard got == range else {
        throw error(
          .badResponse, range, "server sent \(got) (Content-Range) instead of the requested range",
          response)
      }
      if UInt64(response.body.count) < range.length && !response.exceededLimit {
        throw error(
          .badResponse, range, "body ended after \(response.body.count) of \(range.length) bytes",
          response)
      }
      guard UInt64(response.body.count) == range.length && !response.exceededLimit else {
        throw error(
          .badResponse, range, "body is longer than the \(range.length) bytes of Content-Range",
          response)
      }
      return response.body
    case 200:
      if UInt64(response.body.count) >= range.end {
        return Array(response.body[Int(range.offset)..<Int(range.end)])
      }
      if !response.exceededLimit, UInt64(response.body.count) < version.size {
        throw error(
          .badResponse, range,
          "full-body answer ended after \(response.body.count) of \(version.size) bytes", response)
      }
      throw error(
        .rangeNotSupported, range,
        "the server ignores Range (answered 200 with the whole object); ranges past the first \(options.ignoredRangePrefixLimit) bytes are not buffered",
        response)
    case 416:
      throw error(
        .objectChanged, range,
        "416 Range Not Satisfiable for a range inside the pinned size \(version.size)",
        response)
    default:
      throw transport.statusError(response, range: range)
    }
  }

  /// Sends several ranges in one request; `.success` holds the groups it could serve (the rest
  /// are fetched one by one), `.failure` only for definite errors (object changed, 404, …).
  private func fetchMultiRange(
    _ merged: [ByteRange], version: ObjectVersion
  ) async -> Result<
    [(Int, [UInt8])], RangeIOError
  > {
    let header = "bytes=" + merged.map { "\($0.offset)-\($0.end - 1)" }.joined(separator: ",")
    // Saturating: the lengths lie inside the pinned size (at most Int.max), but their sum plus
    // the multipart framing allowance need not.
    let total = merged.reduce(UInt64(256 * merged.count + 4096)) {
      let (sum, overflow) = $0.addingReportingOverflow($1.length)
      return overflow ? .max : sum
    }
    let request = transport.makeRequest(
      rangeHeader: header, maxBody: Int(min(total, UInt64(Int.max))))
    stats.requests.add(1, ordering: .relaxed)
    let response: CurlResponse
    do {
      response = try await transport.perform(request)
    } catch {
      return .failure(error)
    }
    stats.bytesFetched.add(response.body.count, ordering: .relaxed)
    guard let first = merged.first, let last = merged.last else { return .success([]) }
    let span = ByteRange(offset: first.offset, length: last.end - first.offset)
    do {
      try checkCommon(response, range: span)
      try checkVersion(response, range: span, version: version)
    } catch {
      return error.code == .objectChanged ? .failure(error) : .success([])
    }
    guard response.transportOK, !response.exceededLimit, response.status == 206,
      let type = response.headers["content-type"],
      let boundary = MultipartByteranges.boundary(contentType: type),
      let parts = MultipartByteranges.parse(response.body, boundary: boundary)
    else { return .success([]) }
    var found: [(Int, [UInt8])] = []
    for (i, range) in merged.enumerated() {
      guard let part = parts.first(where: { $0.range.contains(range) }) else { continue }
      if let total = part.total, total != version.size {
        return .failure(
          error(.objectChanged, range, "size is now \(total) bytes, was \(version.size)", response))
      }
      found.append((i, RangeCoalescing.slice(part.bytes, of: part.range, range: range)))
    }
    return .success(found)
  }

  // MARK: classification

  private func error(
    _ code: RangeIOError.Code, _ range: ByteRange, _ message: String, _ response: CurlResponse
  ) -> RangeIOError {
    transport.error(code, range, message, response)
  }

  /// Transport failures and content encodings, common to every response.
  private func checkCommon(_ response: CurlResponse, range: ByteRange) throws(RangeIOError) {
    if !response.transportOK {
      let (code, message) = transport.transportError(response)
      throw RangeIOError(code, location: location, range: range, message: message)
    }
    if let encoding = response.headers["content-encoding"], encoding.lowercased() != "identity",
      response.status / 100 == 2
    {
      throw error(
        .badResponse, range,
        "server applied Content-Encoding '\(encoding)' to a byte range (identity requested)",
        response)
    }
  }

  private func checkVersion(
    _ response: CurlResponse, range: ByteRange, version: ObjectVersion
  )
    throws(RangeIOError)
  {
    guard response.status / 100 == 2 else { return }
    if let pinned = version.etag, let now = response.headers["etag"], now != pinned {
      throw error(.objectChanged, range, "ETag is now \(now), was \(pinned)", response)
    }
    if let pinned = version.lastModified, let now = response.headers["last-modified"],
      now != pinned
    {
      throw error(.objectChanged, range, "Last-Modified is now \(now), was \(pinned)", response)
    }
  }

}
