import Foundation
import Synchronization

#if canImport(Glibc)
  import Glibc
#endif

/// The one HTTP/1.1 test server of the package, on 127.0.0.1 (ephemeral port): every request
/// goes to a handler that decides the response and which fault to inject (status, delay before
/// the first byte, truncated body, TCP reset, dropped connection). One thread accepts, one thread
/// per connection serves keep-alive requests (bodies read by Content-Length, for POST paging);
/// `stop()` ends them all. Range serving is ``serveRange(_:_:etag:multipart:)``; STAC tests build
/// a route table on top (STACTests/Routes.swift).
public final class TestHTTPServer: Sendable {
  public struct Request: Sendable {
    public var method: String
    /// The request target: path and query (`/search?token=2`).
    public var path: String
    /// Header names lower-cased.
    public var headers: [String: String]
    public var body: [UInt8]
    /// 0-based index of this request across the server's life.
    public var index: Int
    /// The server's own base URL (`http://127.0.0.1:PORT`), for documents that link back.
    public var base: String
  }

  /// What to send back.
  public struct Response: Sendable {
    public var status: Int
    public var headers: [(String, String)]
    public var body: [UInt8]
    /// Wait this long before sending anything (a slow first byte).
    public var delay: Double = 0
    /// Send only this many body bytes (headers still announce the full length), then close.
    public var truncateAfter: Int? = nil
    /// Like `truncateAfter`, but close with a TCP reset (SO_LINGER 0).
    public var resetAfter: Int? = nil
    /// Reset the connection without sending a byte (a load balancer dropping the request).
    public var dropConnection = false

    public init(
      status: Int, headers: [(String, String)] = [], body: [UInt8] = [], delay: Double = 0,
      truncateAfter: Int? = nil, resetAfter: Int? = nil, dropConnection: Bool = false
    ) {
      self.status = status
      self.headers = headers
      self.body = body
      self.delay = delay
      self.truncateAfter = truncateAfter
      self.resetAfter = resetAfter
      self.dropConnection = dropConnection
    }
  }

  public typealias Handler = @Sendable (Request) -> Response

  public let port: UInt16
  /// Connections accepted so far.
  public let connections = Atomic<Int>(0)
  /// Requests received so far.
  public let requests = Atomic<Int>(0)
  /// Body bytes written so far.
  public let bodyBytesSent = Atomic<Int>(0)
  private let listener: Int32
  private let stopped = Atomic<Bool>(false)
  private let handler: Handler
  private let maxRequests: Int
  private let log = Mutex<[Request]>([])

  /// Every request received, in arrival order.
  public var received: [Request] { log.withLock { $0 } }
  /// The `Range` header of every request, in arrival order ("" when absent).
  public var rangeHeaders: [String] { received.map { $0.headers["range"] ?? "" } }

  /// Binds and starts serving; requests past `maxRequests` get a 500 (bounded load).
  public init(maxRequests: Int = 5000, handler: @escaping Handler) throws {
    self.handler = handler
    self.maxRequests = maxRequests
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw POSIXError(.EIO) }
    var one: Int32 = 1
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    let bound = withUnsafePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
      }
    }
    guard bound == 0, listen(fd, 64) == 0 else {
      close(fd)
      throw POSIXError(.EADDRINUSE)
    }
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    port = UInt16(bigEndian: address.sin_port)
    listener = fd
    let thread = Thread { [self] in acceptLoop() }
    thread.start()
  }

  deinit { stop() }

  public var base: String { "http://127.0.0.1:\(port)" }
  public func url(_ path: String) -> String { base + path }

  public func stop() {
    if stopped.exchange(true, ordering: .relaxed) { return }
    shutdown(listener, Int32(SHUT_RDWR))
    close(listener)
  }

  private func acceptLoop() {
    while !stopped.load(ordering: .relaxed) {
      guard waitReadable(listener) else { continue }
      let client = accept(listener, nil, nil)
      if client < 0 { continue }
      connections.add(1, ordering: .relaxed)
      let thread = Thread { [self] in serve(client) }
      thread.start()
    }
  }

  /// Polls for 100 ms so loops notice `stop()`.
  private func waitReadable(_ fd: Int32) -> Bool {
    var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
    return poll(&p, 1, 100) > 0
  }

  private func serve(_ fd: Int32) {
    defer { close(fd) }
    var buffer: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 16384)
    /// Reads more bytes into `buffer`; false when the peer closed or the server stopped.
    func fill() -> Bool {
      while !stopped.load(ordering: .relaxed) {
        guard waitReadable(fd) else { continue }
        let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if n <= 0 { return false }
        buffer.append(contentsOf: chunk[0..<n])
        return true
      }
      return false
    }
    while !stopped.load(ordering: .relaxed) {
      // Read until a full request head is buffered, then its body (Content-Length).
      guard let headEnd = Self.find(buffer, [13, 10, 13, 10]) else {
        if !fill() { return }
        continue
      }
      let head = String(decoding: buffer[0..<headEnd], as: UTF8.self)
      let lines = head.components(separatedBy: "\r\n")
      let start = lines[0].split(separator: " ")
      guard start.count >= 2 else { return }
      var headers: [String: String] = [:]
      for line in lines.dropFirst() {
        guard let colon = line.firstIndex(of: ":") else { continue }
        headers[line[..<colon].lowercased()] = line[line.index(after: colon)...]
          .trimmingCharacters(in: .whitespaces)
      }
      let bodyLength = headers["content-length"].flatMap { Int($0) } ?? 0
      while buffer.count < headEnd + 4 + bodyLength {
        if !fill() { return }
      }
      let body = Array(buffer[(headEnd + 4)..<(headEnd + 4 + bodyLength)])
      buffer.removeFirst(headEnd + 4 + bodyLength)
      let index = requests.add(1, ordering: .relaxed).oldValue
      let request = Request(
        method: String(start[0]), path: String(start[1]), headers: headers, body: body,
        index: index, base: base)
      log.withLock { $0.append(request) }
      let response =
        index >= maxRequests
        ? Response(status: 500, headers: [("Connection", "close")])
        : handler(request)
      if response.delay > 0 {
        let until = Date().addingTimeInterval(response.delay)
        while Date() < until && !stopped.load(ordering: .relaxed) { usleep(10_000) }
      }
      if response.dropConnection {
        reset(fd)
        return
      }
      var text = "HTTP/1.1 \(response.status) \(Self.reason(response.status))\r\n"
      var hasLength = false
      for (name, value) in response.headers {
        text += "\(name): \(value)\r\n"
        if name.lowercased() == "content-length" { hasLength = true }
      }
      if !hasLength { text += "Content-Length: \(response.body.count)\r\n" }
      text += "\r\n"
      guard sendAll(fd, Array(text.utf8)) else { return }
      let cut = response.truncateAfter ?? response.resetAfter
      let sent = cut.map { Array(response.body.prefix($0)) } ?? response.body
      if request.method != "HEAD" {
        guard sendAll(fd, sent) else { return }
        bodyBytesSent.add(sent.count, ordering: .relaxed)
      }
      if response.resetAfter != nil {
        reset(fd)
        return
      }
      if cut != nil { return }
      if response.headers.contains(where: {
        $0.0.lowercased() == "connection" && $0.1.lowercased() == "close"
      }) {
        return
      }
    }
  }

  /// Makes the coming `close` send a TCP reset instead of a FIN.
  private func reset(_ fd: Int32) {
    var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
  }

  private func sendAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
    var offset = 0
    while offset < bytes.count {
      let n = bytes.withUnsafeBytes { raw -> Int in
        guard let base = raw.baseAddress else { return 0 }
        return send(fd, base + offset, raw.count - offset, Int32(MSG_NOSIGNAL))
      }
      if n <= 0 { return false }
      offset += n
    }
    return true
  }

  private static func reason(_ status: Int) -> String {
    switch status {
    case 200: "OK"
    case 206: "Partial Content"
    case 301, 302, 307, 308: "Redirect"
    case 404: "Not Found"
    case 416: "Range Not Satisfiable"
    case 429: "Too Many Requests"
    case 503: "Service Unavailable"
    default: "Status"
    }
  }

  static func find(_ haystack: [UInt8], _ needle: [UInt8]) -> Int? {
    guard haystack.count >= needle.count else { return nil }
    for i in 0...(haystack.count - needle.count) where haystack[i] == needle[0] {
      if Array(haystack[i..<i + needle.count]) == needle { return i }
    }
    return nil
  }
}

/// A correct range-serving response for `blob` (single ranges as 206, several as
/// multipart/byteranges, none as 200), the building block fault handlers start from.
public func serveRange(
  _ blob: [UInt8], _ request: TestHTTPServer.Request, etag: String? = "\"v1\"",
  multipart: Bool = true
) -> TestHTTPServer.Response {
  var headers: [(String, String)] = [("Content-Type", "application/octet-stream")]
  if let etag { headers.append(("ETag", etag)) }
  guard let header = request.headers["range"], header.hasPrefix("bytes=") else {
    return TestHTTPServer.Response(status: 200, headers: headers, body: blob)
  }
  let specs = header.dropFirst(6).split(separator: ",").map { spec -> (Int, Int)? in
    let p = spec.split(separator: "-", omittingEmptySubsequences: false)
    guard p.count == 2, let a = Int(p[0]), a < blob.count else { return nil }
    let b = min(Int(p[1]) ?? (blob.count - 1), blob.count - 1)
    return b >= a ? (a, b) : nil
  }
  let ranges = specs.compactMap { $0 }
  guard !ranges.isEmpty, ranges.count == specs.count else {
    return TestHTTPServer.Response(
      status: 416, headers: headers + [("Content-Range", "bytes */\(blob.count)")])
  }
  if ranges.count == 1 || !multipart {
    let (a, b) = ranges[0]
    return TestHTTPServer.Response(
      status: 206, headers: headers + [("Content-Range", "bytes \(a)-\(b)/\(blob.count)")],
      body: Array(blob[a...b]))
  }
  let boundary = "TANDEMBOUNDARY"
  var body: [UInt8] = []
  for (a, b) in ranges {
    body += Array(
      "\r\n--\(boundary)\r\nContent-Type: application/octet-stream\r\nContent-Range: bytes \(a)-\(b)/\(blob.count)\r\n\r\n"
        .utf8)
    body += blob[a...b]
  }
  body += Array("\r\n--\(boundary)--\r\n".utf8)
  headers[0] = ("Content-Type", "multipart/byteranges; boundary=\(boundary)")
  return TestHTTPServer.Response(status: 206, headers: headers, body: body)
}

/// Deterministic test bytes.
public func testBlob(_ count: Int, seed: UInt64 = 1) -> [UInt8] {
  var state = seed &* 0x9E37_79B9_7F4A_7C15
  return (0..<count).map { _ in
    state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
    return UInt8(truncatingIfNeeded: state >> 33)
  }
}
