import Foundation
import Synchronization

#if canImport(Glibc)
  import Glibc
#endif

/// A tiny HTTP/1.1 server on 127.0.0.1 (ephemeral port) for fault-injection tests: each request
/// goes to a handler that decides the response and which fault to inject. One thread accepts,
/// one thread per connection serves keep-alive requests; `stop()` ends them all.
final class FaultServer: Sendable {
  struct Request: Sendable {
    var method: String
    var path: String
    var headers: [String: String]
    /// 0-based index of this request across the server's life.
    var index: Int
  }

  /// What to send back.
  struct Response: Sendable {
    var status: Int
    var headers: [(String, String)]
    var body: [UInt8]
    /// Wait this long before sending anything.
    var delay: Double = 0
    /// Send only this many body bytes (headers still announce the full length), then close.
    var truncateAfter: Int? = nil
    /// Like `truncateAfter`, but close with a TCP reset (SO_LINGER 0).
    var resetAfter: Int? = nil
  }

  typealias Handler = @Sendable (Request) -> Response

  let port: UInt16
  /// Connections accepted so far.
  let connections = Atomic<Int>(0)
  /// Requests received so far.
  let requests = Atomic<Int>(0)
  /// Body bytes written so far.
  let bodyBytesSent = Atomic<Int>(0)
  private let listener: Int32
  private let stopped = Atomic<Bool>(false)
  private let handler: Handler
  private let maxRequests: Int
  private let ranges = Mutex<[String]>([])

  /// The `Range` header of every request, in arrival order ("" when absent).
  var rangeHeaders: [String] { ranges.withLock { $0 } }

  init(maxRequests: Int = 5000, handler: @escaping Handler) throws {
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

  func url(_ path: String) -> String { "http://127.0.0.1:\(port)\(path)" }

  func stop() {
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
    while !stopped.load(ordering: .relaxed) {
      // Read until a full request head is buffered.
      guard let headEnd = find(buffer, [13, 10, 13, 10]) else {
        guard waitReadable(fd) else { continue }
        let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if n <= 0 { return }
        buffer.append(contentsOf: chunk[0..<n])
        continue
      }
      let head = String(decoding: buffer[0..<headEnd], as: UTF8.self)
      buffer.removeFirst(headEnd + 4)
      let lines = head.components(separatedBy: "\r\n")
      let start = lines[0].split(separator: " ")
      guard start.count >= 2 else { return }
      var headers: [String: String] = [:]
      for line in lines.dropFirst() {
        guard let colon = line.firstIndex(of: ":") else { continue }
        headers[line[..<colon].lowercased()] = line[line.index(after: colon)...]
          .trimmingCharacters(in: .whitespaces)
      }
      let index = requests.add(1, ordering: .relaxed).oldValue
      ranges.withLock { $0.append(headers["range"] ?? "") }
      let request = Request(
        method: String(start[0]), path: String(start[1]), headers: headers, index: index)
      let response =
        index >= maxRequests
        ? Response(status: 500, headers: [("Connection", "close")], body: [])
        : handler(request)
      if response.delay > 0 {
        let until = Date().addingTimeInterval(response.delay)
        while Date() < until && !stopped.load(ordering: .relaxed) { usleep(10_000) }
      }
      var text = "HTTP/1.1 \(response.status) X\r\n"
      var hasLength = false
      for (name, value) in response.headers {
        text += "\(name): \(value)\r\n"
        if name.lowercased() == "content-length" { hasLength = true }
      }
      if !hasLength { text += "Content-Length: \(response.body.count)\r\n" }
      text += "\r\n"
      guard sendAll(fd, Array(text.utf8)) else { return }
      let cut = response.truncateAfter ?? response.resetAfter
      let body = cut.map { Array(response.body.prefix($0)) } ?? response.body
      if request.method != "HEAD" {
        guard sendAll(fd, body) else { return }
        bodyBytesSent.add(body.count, ordering: .relaxed)
      }
      if response.resetAfter != nil {
        var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
        return
      }
      if cut != nil { return }
      if response.headers.contains(where: { $0.0 == "Connection" && $0.1 == "close" }) { return }
    }
  }

  private func sendAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
    var offset = 0
    while offset < bytes.count {
      let n = bytes.withUnsafeBytes {
        send(fd, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL))
      }
      if n <= 0 { return false }
      offset += n
    }
    return true
  }

  private func find(_ haystack: [UInt8], _ needle: [UInt8]) -> Int? {
    guard haystack.count >= needle.count else { return nil }
    for i in 0...(haystack.count - needle.count) where haystack[i] == needle[0] {
      if Array(haystack[i..<i + needle.count]) == needle { return i }
    }
    return nil
  }
}

/// A correct range-serving response for `blob`, the building block handlers start from.
func serveRange(
  _ blob: [UInt8], _ request: FaultServer.Request, etag: String? = "\"v1\"",
  multipart: Bool = true
) -> FaultServer.Response {
  var headers: [(String, String)] = [("Content-Type", "application/octet-stream")]
  if let etag { headers.append(("ETag", etag)) }
  guard let header = request.headers["range"], header.hasPrefix("bytes=") else {
    return FaultServer.Response(status: 200, headers: headers, body: blob)
  }
  let specs = header.dropFirst(6).split(separator: ",").map { spec -> (Int, Int)? in
    let p = spec.split(separator: "-", omittingEmptySubsequences: false)
    guard p.count == 2, let a = Int(p[0]), a < blob.count else { return nil }
    let b = min(Int(p[1]) ?? (blob.count - 1), blob.count - 1)
    return b >= a ? (a, b) : nil
  }
  guard !specs.isEmpty, specs.allSatisfy({ $0 != nil }) else {
    return FaultServer.Response(
      status: 416, headers: headers + [("Content-Range", "bytes */\(blob.count)")], body: [])
  }
  let ranges = specs.map { $0! }
  if ranges.count == 1 || !multipart {
    let (a, b) = ranges[0]
    return FaultServer.Response(
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
  return FaultServer.Response(status: 206, headers: headers, body: body)
}

/// Deterministic test bytes.
func testBlob(_ count: Int, seed: UInt64 = 1) -> [UInt8] {
  var state = seed &* 0x9E37_79B9_7F4A_7C15
  return (0..<count).map { _ in
    state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
    return UInt8(truncatingIfNeeded: state >> 33)
  }
}
