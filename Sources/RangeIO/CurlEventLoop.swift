internal import CCurl
internal import CTandemShims
import Foundation
import Synchronization
import TandemBase

#if canImport(Glibc)
  import Glibc
#endif

/// One HTTP request as the event loop sees it (a ranged GET, or a whole document by GET or
/// POST): everything needed to configure an easy handle. Plain Swift values only, so it can
/// cross from any task to the loop thread.
struct CurlRequest: Sendable {
  var url: String
  /// `GET` or `POST`.
  var method = "GET"
  /// The POST body (JSON for STAC searches).
  var body: [UInt8]? = nil
  /// Let the server compress and libcurl decode (documents); ranged reads must stay
  /// `identity`, since byte ranges address the stored representation.
  var decodeContent = false
  /// The `Range` header value without the `bytes=` prefix is not used: this is the full value
  /// (`bytes=0-99`) or `nil` for a plain GET.
  var rangeHeader: String?
  /// Extra request headers (`Name: value`), e.g. Authorization. Never logged.
  var headers: [String]
  /// The transfer is aborted once the body grows past this many bytes (bounded buffering).
  var maxBodyBytes: Int
  var httpVersion: HTTPOptions.Version
  var connectTimeoutMilliseconds: Int
  /// Abort when fewer than 1 byte/s arrived for this long (stalled or silent server).
  var lowSpeedSeconds: Int
  var maxRedirects: Int
  var netrc: Bool
  var caFile: String?
  /// `CURLOPT_AWS_SIGV4` provider string and `key:secret`, when signing for S3.
  var awsSigV4: (provider: String, userpwd: String)?
}

/// What came back for one ``CurlRequest``: the final response (after redirects) or a
/// transport failure.
struct CurlResponse: Sendable {
  /// libcurl result code (0 = transfer completed).
  var curlCode: Int
  /// libcurl's error text for `curlCode`, when non-zero.
  var curlMessage: String
  /// HTTP status of the final response, 0 when none arrived.
  var status: Int
  /// Headers of the final response, names lowercased; the last value of a repeated header wins.
  var headers: [String: String]
  var body: [UInt8]
  /// The body exceeded `maxBodyBytes` and the transfer was cut off on purpose.
  var exceededLimit: Bool
  /// Where a redirect that was not followed (`maxRedirects` 0) points, resolved by libcurl.
  var redirectURL: String? = nil

  var transportOK: Bool { curlCode == 0 || exceededLimit }

  /// The caller was cancelled (reported as CURLE_ABORTED_BY_CALLBACK).
  static let cancelled = CurlResponse(
    curlCode: Int(CURLE_ABORTED_BY_CALLBACK.rawValue), curlMessage: "cancelled", status: 0,
    headers: [:], body: [], exceededLimit: false)
}

/// Per-transfer state owned by the loop thread while the transfer runs.
private final class CurlTransfer {
  let id: UInt64
  let request: CurlRequest
  let completion: @Sendable (CurlResponse) -> Void
  var easy: UnsafeMutableRawPointer?
  var headerList: UnsafeMutablePointer<curl_slist>?
  let errorBuffer = UnsafeMutablePointer<CChar>.allocate(capacity: Int(CURL_ERROR_SIZE) + 1)
  var status = 0
  var headers: [String: String] = [:]
  var body: [UInt8] = []
  var exceededLimit = false

  init(id: UInt64, request: CurlRequest, completion: @escaping @Sendable (CurlResponse) -> Void) {
    self.id = id
    self.request = request
    self.completion = completion
    errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
  }

  deinit {
    errorBuffer.deallocate()
    if let headerList { curl_slist_free_all(headerList) }
  }
}

/// The multi handle, shared with submitters only for `curl_multi_wakeup`, which libcurl
/// documents as callable from any thread; every other use happens on the loop thread.
private struct MultiHandle: @unchecked Sendable {
  let pointer: UnsafeMutableRawPointer
}

/// Loop-thread-only state, boxed so the thread's entry closure can carry it.
private final class LoopState: @unchecked Sendable {
  var active: [UnsafeMutableRawPointer: CurlTransfer] = [:]
  var idleHandles: [UnsafeMutableRawPointer] = []
  /// The transfer limit CURLMOPT_MAXCONNECTS was last sized for.
  var connectionCap = 0
}

/// One libcurl multi handle driven by one dedicated thread (`curl_multi_poll` +
/// `curl_multi_wakeup`), serving every HTTP transfer of the process. Callers submit requests
/// from any thread or task; completions run on the loop thread and must only hand the result
/// off (resume a continuation). Connections are cached by the multi handle and reused across
/// sources; HTTP/2 streams are multiplexed when the server offers h2.
final class CurlEventLoop: Sendable {
  /// The process-wide loop, started on first use.
  static let shared = CurlEventLoop()

  private struct Pending {
    var queue: [CurlTransferBox] = []
    var maxInFlight = 16
    /// A higher limit asked for by a consumer that measures its needs (the pipeline's fetch
    /// depth × requests per sample); the effective limit is the larger of the two.
    var automaticInFlight = 0
    /// Ids of attached transfers whose callers were cancelled; the loop aborts them.
    var cancelled: Set<UInt64> = []
  }

  private let nextID = Atomic<UInt64>(1)

  private let multi: MultiHandle
  private let pending = Mutex(Pending())
  /// Number of transfers currently attached to the multi handle (for tests and stats).
  let inFlight = Atomic<Int>(0)
  /// libcurl before 8.0 fails every reuse of an h2c prior-knowledge connection with "Error in
  /// the HTTP2 framing layer" (curl/curl#10634, fixed in 8.0.0); there such connections are
  /// used for one transfer each.
  let h2cReuseBroken: Bool

  private init() {
    curl_global_init(Int(CURL_GLOBAL_DEFAULT))
    guard let handle = curl_multi_init() else { fatalError("curl_multi_init failed") }
    multi = MultiHandle(pointer: handle)
    h2cReuseBroken = (curl_version_info(CURLVERSION_FOURTH)?.pointee.version_num ?? 0) < 0x08_00_00
    _ = tandem_curl_multi_setopt_long(handle, CURLMOPT_PIPELINING, CURLPIPE_MULTIPLEX)
    // Keep enough idle connections around for every transfer slot to find one again.
    _ = tandem_curl_multi_setopt_long(handle, CURLMOPT_MAXCONNECTS, 64)
    let state = LoopState()
    let multi = self.multi
    let thread = Thread { [self] in
      ThreadAccounting.nameCurrentThread("tandem-curl")
      self.run(multi: multi, state: state)
    }
    thread.name = "tandem-curl"
    thread.start()
  }

  /// Sets how many transfers may run at once (process-wide); the rest wait in a queue.
  func setMaxInFlight(_ count: Int) {
    pending.withLock { $0.maxInFlight = max(1, count) }
    curl_multi_wakeup(multi.pointer)
  }

  /// Sets (or with 0 clears) the automatic limit, which may only raise the configured one.
  func setAutomaticInFlight(_ count: Int) {
    pending.withLock { $0.automaticInFlight = max(0, count) }
    curl_multi_wakeup(multi.pointer)
  }

  /// Queues a request; `completion` is called exactly once, on the loop thread.
  @discardableResult
  func submit(
    _ request: CurlRequest, completion: @escaping @Sendable (CurlResponse) -> Void
  )
    -> UInt64
  {
    let id = nextID.add(1, ordering: .relaxed).oldValue
    pending.withLock {
      $0.queue.append(CurlTransferBox(id: id, request: request, completion: completion))
    }
    curl_multi_wakeup(multi.pointer)
    return id
  }

  /// Aborts transfer `id`: a queued one completes at once, a running one on the next loop turn,
  /// both with `CurlResponse.cancelled`. Unknown (finished) ids are ignored.
  func cancel(_ id: UInt64) {
    let queued: CurlTransferBox? = pending.withLock { p in
      if let index = p.queue.firstIndex(where: { $0.id == id }) {
        return p.queue.remove(at: index)
      }
      p.cancelled.insert(id)
      return nil
    }
    queued?.completion(.cancelled)
    curl_multi_wakeup(multi.pointer)
  }

  /// Runs `request` and suspends until it finishes; never blocks a cooperative thread. If the
  /// calling task is cancelled, the transfer is aborted and the response is `.cancelled`.
  func perform(_ request: CurlRequest) async -> CurlResponse {
    let id = Mutex<UInt64?>(nil)
    return await withTaskCancellationHandler {
      await withCheckedContinuation { (continuation: CheckedContinuation<CurlResponse, Never>) in
        let submitted = submit(request) { continuation.resume(returning: $0) }
        // Cancellation may have arrived before the id existed.
        let cancelNow = id.withLock { stored -> Bool in
          stored = submitted
          return Task.isCancelled
        }
        if cancelNow { cancel(submitted) }
      }
    } onCancel: {
      if let submitted = id.withLock({ $0 }) { cancel(submitted) }
    }
  }

  // MARK: loop thread

  private func run(multi: MultiHandle, state: LoopState) {
    let m = multi.pointer
    while true {
      // Attach queued transfers up to the in-flight limit.
      let limit = pending.withLock { max($0.maxInFlight, $0.automaticInFlight) }
      if limit != state.connectionCap {
        // Keep an idle connection for every transfer slot, or transfers beyond the cache's size
        // would reconnect every time.
        state.connectionCap = limit
        _ = tandem_curl_multi_setopt_long(m, CURLMOPT_MAXCONNECTS, max(64, limit))
      }
      let free = limit - state.active.count
      if free > 0 {
        let batch: [CurlTransferBox] = pending.withLock { p in
          let n = min(free, p.queue.count)
          let taken = Array(p.queue.prefix(n))
          p.queue.removeFirst(n)
          return taken
        }
        for box in batch { start(box, multi: m, state: state) }
      }
      abortCancelled(multi: m, state: state)
      var running: Int32 = 0
      _ = curl_multi_perform(m, &running)
      var remaining: Int32 = 0
      while let message = curl_multi_info_read(m, &remaining) {
        guard tandem_curl_msg_is_done(message) != 0, let easy = tandem_curl_msg_easy(message)
        else { continue }
        let code = tandem_curl_msg_result(message)
        finish(easy: easy, code: Int(code.rawValue), multi: m, state: state)
      }
      inFlight.store(state.active.count, ordering: .relaxed)
      if !state.active.isEmpty || pending.withLock({ $0.queue.isEmpty }) {
        var fds: Int32 = 0
        _ = curl_multi_poll(m, nil, 0, state.active.isEmpty ? 10_000 : 100, &fds)
      }
    }
  }

  /// Removes transfers whose callers were cancelled. Every id in the set is either attached now
  /// or already finished (queued ones were completed by `cancel`), so the set is emptied.
  private func abortCancelled(multi m: UnsafeMutableRawPointer, state: LoopState) {
    let ids: Set<UInt64> = pending.withLock { p in
      defer { p.cancelled.removeAll() }
      return p.cancelled
    }
    guard !ids.isEmpty else { return }
    for (easy, transfer) in state.active where ids.contains(transfer.id) {
      _ = curl_multi_remove_handle(m, easy)
      state.active.removeValue(forKey: easy)
      _ = tandem_curl_setopt_pointer(easy, CURLOPT_ERRORBUFFER, nil)
      _ = tandem_curl_setopt_slist(easy, CURLOPT_HTTPHEADER, nil)
      state.idleHandles.append(easy)
      transfer.completion(.cancelled)
    }
  }

  private func start(_ box: CurlTransferBox, multi m: UnsafeMutableRawPointer, state: LoopState) {
    let transfer = CurlTransfer(id: box.id, request: box.request, completion: box.completion)
    let easy: UnsafeMutableRawPointer
    if let reused = state.idleHandles.popLast() {
      curl_easy_reset(reused)
      easy = reused
    } else if let fresh = curl_easy_init() {
      easy = fresh
    } else {
      transfer.completion(
        CurlResponse(
          curlCode: Int(CURLE_OUT_OF_MEMORY.rawValue), curlMessage: "curl_easy_init failed",
          status: 0, headers: [:], body: [], exceededLimit: false))
      return
    }
    transfer.easy = easy
    configure(easy, transfer)
    state.active[easy] = transfer
    _ = curl_multi_add_handle(m, easy)
  }

  private func configure(_ easy: UnsafeMutableRawPointer, _ transfer: CurlTransfer) {
    let r = transfer.request
    _ = tandem_curl_setopt_string(easy, CURLOPT_URL, r.url)
    _ = tandem_curl_setopt_string(easy, CURLOPT_PROTOCOLS_STR, "http,https")
    _ = tandem_curl_setopt_string(easy, CURLOPT_REDIR_PROTOCOLS_STR, "http,https")
    _ = tandem_curl_setopt_long(easy, CURLOPT_FOLLOWLOCATION, r.maxRedirects > 0 ? 1 : 0)
    _ = tandem_curl_setopt_long(easy, CURLOPT_MAXREDIRS, r.maxRedirects)
    _ = tandem_curl_setopt_long(easy, CURLOPT_NOSIGNAL, 1)
    _ = tandem_curl_setopt_long(easy, CURLOPT_CONNECTTIMEOUT_MS, r.connectTimeoutMilliseconds)
    _ = tandem_curl_setopt_long(easy, CURLOPT_LOW_SPEED_LIMIT, 1)
    _ = tandem_curl_setopt_long(easy, CURLOPT_LOW_SPEED_TIME, max(1, r.lowSpeedSeconds))
    _ = tandem_curl_setopt_long(easy, CURLOPT_TCP_KEEPALIVE, 1)
    // Receive in 256 KiB reads instead of libcurl's 16 KiB: a COG tile is 100–300 KB, and at
    // 16 KiB the loop thread spent more CPU on recv calls and write callbacks than on anything
    // else (4 ms per paired sample of ~1.8 MB on loopback).
    _ = tandem_curl_setopt_long(easy, CURLOPT_BUFFERSIZE, 256 << 10)
    // Wait for a multiplexable h2 connection instead of opening a new one per stream.
    _ = tandem_curl_setopt_long(easy, CURLOPT_PIPEWAIT, 1)
    let version: Int
    switch r.httpVersion {
    case .http1: version = Int(CURL_HTTP_VERSION_1_1)
    case .http2: version = Int(CURL_HTTP_VERSION_2TLS)
    case .http2PriorKnowledge:
      version = Int(CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE)
      if h2cReuseBroken {
        // Multiplexing onto a live connection is reuse too: every transfer gets its own.
        _ = tandem_curl_setopt_long(easy, CURLOPT_FRESH_CONNECT, 1)
        _ = tandem_curl_setopt_long(easy, CURLOPT_FORBID_REUSE, 1)
        _ = tandem_curl_setopt_long(easy, CURLOPT_PIPEWAIT, 0)
      }
    }
    _ = tandem_curl_setopt_long(easy, CURLOPT_HTTP_VERSION, version)
    var list: UnsafeMutablePointer<curl_slist>? = nil
    if r.decodeContent {
      // Every encoding libcurl was built with (gzip, deflate, br, zstd), decoded on arrival.
      _ = tandem_curl_setopt_string(easy, CURLOPT_ACCEPT_ENCODING, "")
    } else {
      // Byte ranges address the stored representation: no compression, no decoding.
      list = curl_slist_append(list, "Accept-Encoding: identity")
    }
    if r.method == "POST" {
      let body = String(decoding: r.body ?? [], as: UTF8.self)
      _ = tandem_curl_setopt_long(easy, CURLOPT_POST, 1)
      _ = tandem_curl_setopt_off(easy, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(body.utf8.count))
      _ = tandem_curl_setopt_string(easy, CURLOPT_COPYPOSTFIELDS, body)
      // 301/302/307/308 keep the POST (CURL_REDIR_POST_ALL, a macro Swift cannot import); a
      // 303 turns it into a GET (RFC 9110).
      _ = tandem_curl_setopt_long(easy, CURLOPT_POSTREDIR, 7)
    }
    if let range = r.rangeHeader { list = curl_slist_append(list, "Range: \(range)") }
    for header in r.headers { list = curl_slist_append(list, header) }
    transfer.headerList = list
    _ = tandem_curl_setopt_slist(easy, CURLOPT_HTTPHEADER, list)
    if let caFile = r.caFile { _ = tandem_curl_setopt_string(easy, CURLOPT_CAINFO, caFile) }
    if r.netrc {
      _ = tandem_curl_setopt_long(easy, CURLOPT_NETRC, Int(CURL_NETRC_OPTIONAL.rawValue))
    }
    if let aws = r.awsSigV4 {
      _ = tandem_curl_setopt_string(easy, CURLOPT_AWS_SIGV4, aws.provider)
      _ = tandem_curl_setopt_string(easy, CURLOPT_USERPWD, aws.userpwd)
    }
    _ = tandem_curl_setopt_pointer(easy, CURLOPT_ERRORBUFFER, transfer.errorBuffer)
    let user = Unmanaged.passUnretained(transfer).toOpaque()
    _ = tandem_curl_setopt_pointer(easy, CURLOPT_WRITEDATA, user)
    _ = tandem_curl_setopt_pointer(easy, CURLOPT_HEADERDATA, user)
    _ = tandem_curl_setopt_write_function(easy, curlWriteCallback)
    _ = tandem_curl_setopt_header_function(easy, curlHeaderCallback)
  }

  private func finish(
    easy: UnsafeMutableRawPointer, code: Int, multi m: UnsafeMutableRawPointer, state: LoopState
  ) {
    _ = curl_multi_remove_handle(m, easy)
    guard let transfer = state.active.removeValue(forKey: easy) else { return }
    var status: Int = 0
    _ = tandem_curl_getinfo_long(easy, CURLINFO_RESPONSE_CODE, &status)
    if status == 0 { status = transfer.status }
    var redirect: UnsafePointer<CChar>?
    _ = tandem_curl_getinfo_string(easy, CURLINFO_REDIRECT_URL, &redirect)
    let redirectURL = redirect.map { String(cString: $0) }
    var message = String(cString: transfer.errorBuffer)
    if message.isEmpty && code != 0 {
      message = String(cString: curl_easy_strerror(CURLcode(UInt32(code))))
    }
    // Drop our pointers into the transfer before the handle goes back to the pool.
    _ = tandem_curl_setopt_pointer(easy, CURLOPT_ERRORBUFFER, nil)
    _ = tandem_curl_setopt_slist(easy, CURLOPT_HTTPHEADER, nil)
    state.idleHandles.append(easy)
    let response = CurlResponse(
      curlCode: code, curlMessage: message, status: status, headers: transfer.headers,
      body: transfer.body, exceededLimit: transfer.exceededLimit, redirectURL: redirectURL)
    transfer.completion(response)
  }
}

/// A queued transfer (request + completion); `Sendable` because both parts are.
private struct CurlTransferBox: Sendable {
  let id: UInt64
  let request: CurlRequest
  let completion: @Sendable (CurlResponse) -> Void
}

/// Appends body bytes; returning less than offered makes libcurl abort with CURLE_WRITE_ERROR,
/// which is how oversized bodies (a server ignoring Range) are cut off.
private let curlWriteCallback: tandem_curl_data_callback = { data, size, count, user in
  let transfer = Unmanaged<CurlTransfer>.fromOpaque(user!).takeUnretainedValue()
  let n = size * count
  guard n > 0, let data else { return n }
  let room = transfer.request.maxBodyBytes - transfer.body.count
  let take = min(n, max(0, room))
  data.withMemoryRebound(to: UInt8.self, capacity: n) { bytes in
    transfer.body.append(contentsOf: UnsafeBufferPointer(start: bytes, count: take))
  }
  if take < n {
    transfer.exceededLimit = true
    return 0
  }
  return n
}

/// Collects the final response's headers; a new status line (redirect) starts over.
private let curlHeaderCallback: tandem_curl_data_callback = { data, size, count, user in
  let transfer = Unmanaged<CurlTransfer>.fromOpaque(user!).takeUnretainedValue()
  let n = size * count
  guard n > 0, let data else { return n }
  let line = data.withMemoryRebound(to: UInt8.self, capacity: n) {
    String(decoding: UnsafeBufferPointer(start: $0, count: n), as: UTF8.self)
  }
  switch HTTPHeaderLine(line) {
  case .status(let status):
    transfer.headers = [:]
    if let status { transfer.status = status }
  case .field(let name, let value):
    transfer.headers[name] = value
    // Reserve the announced body size once it is known.
    if name == "content-length", let length = Int(value), length > 0, transfer.body.isEmpty {
      transfer.body.reserveCapacity(min(length, transfer.request.maxBodyBytes))
    }
  case .other: break
  }
  return n
}

/// Header text without surrounding spaces, tabs and line breaks.
func trimmedHeaderText(_ text: Substring) -> String {
  let blanks: Set<UInt8> = [0x20, 0x09, 0x0D, 0x0A]
  var bytes = Array(text.utf8)[...]
  while let f = bytes.first, blanks.contains(f) { bytes = bytes.dropFirst() }
  while let l = bytes.last, blanks.contains(l) { bytes = bytes.dropLast() }
  return String(decoding: bytes, as: UTF8.self)
}
