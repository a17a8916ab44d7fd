import Foundation
import STAC
import Synchronization

#if canImport(Glibc)
  import Glibc
#endif

/// A minimal loopback HTTP/1.1 server for paging tests: answers each request from a table keyed
/// by method, request target and JSON body (keys sorted), one connection per request. `{{BASE}}`
/// in a response body becomes the server's own base URL (its port is known only once bound).
final class TinyHTTPServer: Sendable {
  struct Response: Sendable {
    var status: Int
    var body: [UInt8]
    /// Extra header lines (`Location: …`); `{{BASE}}` is replaced as in the body.
    var headers: [String] = []
    /// A `Location` header (redirects).
    var location: String? = nil
  }

  let port: UInt16
  private let socket: Int32
  private let routes: [String: Response]
  private let seen = Mutex<[String]>([])

  /// Routes: (method, target such as `/search?x=1`, JSON body or nil) → response.
  init(routes: [(String, String, JSONValue?, Response)]) throws {
    var table: [String: Response] = [:]
    for (method, target, body, response) in routes {
      table[TinyHTTPServer.key(method, target, body)] = response
    }
    self.routes = table
    let fd = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw POSIXError(.EIO) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    addr.sin_port = 0
    let bound = withUnsafePointer(to: &addr) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
      }
    }
    guard bound == 0, listen(fd, 16) == 0 else {
      close(fd)
      throw POSIXError(.EADDRINUSE)
    }
    var len = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &addr) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
    }
    port = UInt16(bigEndian: addr.sin_port)
    socket = fd
    let thread = Thread { [self] in self.serve() }
    thread.start()
  }

  var base: String { "http://127.0.0.1:\(port)" }

  /// Requests served so far, as `METHOD target body`.
  var requests: [String] { seen.withLock { $0 } }

  func stop() {
    shutdown(socket, Int32(SHUT_RDWR))
    close(socket)
  }

  static func key(_ method: String, _ target: String, _ body: JSONValue?) -> String {
    "\(method) \(target)" + (body.map { " " + $0.serialized(sortedKeys: true) } ?? "")
  }

  private func serve() {
    while true {
      let client = accept(socket, nil, nil)
      if client < 0 {
        if errno == EINTR { continue }
        return
      }
      handle(client)
      close(client)
    }
  }

  private func handle(_ client: Int32) {
    var data: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65536)
    var headerEnd: Int?
    var contentLength = 0
    while true {
      if let end = headerEnd, data.count >= end + contentLength { break }
      let n = read(client, &buffer, buffer.count)
      if n <= 0 { return }
      data += buffer[0..<n]
      if headerEnd == nil, let r = TinyHTTPServer.find(data, Array("\r\n\r\n".utf8)) {
        headerEnd = r + 4
        let head = String(decoding: data[0..<r], as: UTF8.self).lowercased()
        for line in head.split(separator: "\r\n") where line.hasPrefix("content-length:") {
          contentLength =
            Int(line.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) ?? 0
        }
      }
    }
    let head = String(decoding: data[0..<headerEnd!], as: UTF8.self)
    let parts = head.split(separator: " ", maxSplits: 2)
    let method = String(parts[0])
    let target = String(parts[1])
    let bodyBytes = Array(data[headerEnd!..<(headerEnd! + contentLength)])
    let body = bodyBytes.isEmpty ? nil : try? JSONParser.parse(bodyBytes)
    let key = TinyHTTPServer.key(method, target, body)
    seen.withLock { $0.append(key) }
    let response =
      routes[key]
      ?? Response(status: 404, body: Array(#"{"code":"NotFound","description":"no route"}"#.utf8))
    let reason = response.status == 200 ? "OK" : "Error"
    var out = Array(
      "HTTP/1.1 \(response.status) \(reason)\r\nContent-Type: application/json\r\nConnection: close\r\n"
        .utf8)
    for header in response.headers {
      out += Array((header.replacingOccurrences(of: "{{BASE}}", with: base) + "\r\n").utf8)
    }
    if let location = response.location { out += Array("Location: \(location)\r\n".utf8) }
    let text = String(decoding: response.body, as: UTF8.self)
    let payload = Array(text.replacingOccurrences(of: "{{BASE}}", with: base).utf8)
    out += Array("Content-Length: \(payload.count)\r\n\r\n".utf8)
    out += payload
    var sent = 0
    while sent < out.count {
      let n = out[sent...].withUnsafeBytes { write(client, $0.baseAddress, $0.count) }
      if n <= 0 { return }
      sent += n
    }
  }

  static func find(_ haystack: [UInt8], _ needle: [UInt8]) -> Int? {
    guard haystack.count >= needle.count else { return nil }
    for i in 0...(haystack.count - needle.count)
    where Array(haystack[i..<(i + needle.count)]) == needle {
      return i
    }
    return nil
  }
}
