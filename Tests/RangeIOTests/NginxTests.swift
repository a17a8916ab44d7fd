import Foundation
import TandemTestSupport
import Testing

@testable import RangeIO

/// A loopback nginx started by the test: plain HTTP/1.1, h2c (prior knowledge) and TLS with
/// HTTP/2 over ALPN, using a self-signed certificate trusted through `HTTPOptions.caFile`.
/// The access log records the connection serial and protocol of every request.
final class LoopbackNginx {
  let dir: String
  let http1Port: Int
  let h2cPort: Int
  let tlsPort: Int
  let blob: [UInt8]

  static var available: Bool {
    FileManager.default.isExecutableFile(atPath: "/usr/sbin/nginx")
      && FileManager.default.isExecutableFile(atPath: "/usr/bin/openssl")
  }

  init(blob: [UInt8]) throws {
    self.blob = blob
    dir = NSTemporaryDirectory() + "tandem-nginx-\(UUID().uuidString)"
    try FileManager.default.createDirectory(
      atPath: dir + "/www", withIntermediateDirectories: true)
    try FileManager.default.createDirectory(
      atPath: dir + "/tmp", withIntermediateDirectories: true)
    try Data(blob).write(to: URL(fileURLWithPath: dir + "/www/blob.bin"))
    http1Port = try LoopbackNginx.freePort()
    h2cPort = try LoopbackNginx.freePort()
    tlsPort = try LoopbackNginx.freePort()
    try LoopbackNginx.run(
      "/usr/bin/openssl",
      [
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", dir + "/key.pem", "-out",
        dir + "/cert.pem", "-days", "2", "-subj", "/CN=127.0.0.1", "-addext",
        "subjectAltName=IP:127.0.0.1",
      ])
    let config = """
      worker_processes 1;
      daemon on;
      pid \(dir)/nginx.pid;
      error_log \(dir)/error.log warn;
      events { worker_connections 256; }
      http {
        log_format t '$connection $server_protocol $status "$http_range" $body_bytes_sent';
        access_log \(dir)/access.log t;
        client_body_temp_path \(dir)/tmp;
        proxy_temp_path \(dir)/tmp;
        fastcgi_temp_path \(dir)/tmp;
        uwsgi_temp_path \(dir)/tmp;
        scgi_temp_path \(dir)/tmp;
        default_type application/octet-stream;
        keepalive_requests 100000;
        http2_max_concurrent_streams 128;
        server { listen 127.0.0.1:\(http1Port); root \(dir)/www; }
        server { listen 127.0.0.1:\(h2cPort) http2; root \(dir)/www; }
        server {
          listen 127.0.0.1:\(tlsPort) ssl http2;
          ssl_certificate \(dir)/cert.pem;
          ssl_certificate_key \(dir)/key.pem;
          root \(dir)/www;
        }
      }
      """
    try config.write(toFile: dir + "/nginx.conf", atomically: true, encoding: .utf8)
    try LoopbackNginx.run("/usr/sbin/nginx", ["-c", dir + "/nginx.conf", "-p", dir])
  }

  func stop() {
    if let pid = try? String(contentsOfFile: dir + "/nginx.pid", encoding: .utf8),
      let value = Int32(pid.trimmingCharacters(in: .whitespacesAndNewlines))
    {
      kill(value, SIGTERM)
      usleep(100_000)
    }
    try? FileManager.default.removeItem(atPath: dir)
  }

  /// (connection serial, protocol, status, range) per logged request.
  func log() -> [(connection: String, proto: String, status: String, range: String)] {
    let text = (try? String(contentsOfFile: dir + "/access.log", encoding: .utf8)) ?? ""
    return text.split(separator: "\n").map { line in
      let f = line.split(separator: " ", maxSplits: 4).map(String.init)
      return (f[0], f[1], f[2], f[3].trimmingCharacters(in: CharacterSet(charactersIn: "\"")))
    }
  }

  static func freePort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let ok = withUnsafeMutablePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0
      }
    }
    guard ok else { throw POSIXError(.EADDRINUSE) }
    return Int(UInt16(bigEndian: address.sin_port))
  }

  /// Runs a tool to completion with posix_spawn + waitpid (Foundation's `Process` can miss the
  /// exit of a parent that daemonizes, as nginx does).
  static func run(_ tool: String, _ arguments: [String]) throws {
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
    let argv = ([tool] + arguments).map { strdup($0) } + [nil]
    defer { argv.forEach { free($0) } }
    var pid: pid_t = 0
    guard posix_spawn(&pid, tool, &actions, nil, argv, environ) == 0 else {
      throw RangeIOError(.io, location: tool, message: "cannot start")
    }
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    guard status == 0 else {
      throw RangeIOError(.io, location: tool, message: "exit status \(status)")
    }
  }
}

@Suite(.serialized, .enabled(if: LoopbackNginx.available), .timeLimit(.minutes(1)))
struct NginxTests {
  static let blob = testBlob(1_000_000, seed: 5)

  /// 40 scattered ranges read from 8 tasks at once; returns whether every byte matched.
  func readConcurrently(_ source: HTTPSource) async -> Bool {
    await withTaskGroup(of: Bool.self) { group in
      for task in 0..<8 {
        group.addTask {
          for i in 0..<5 {
            let offset = UInt64((task * 5 + i) * 24_000 + 3000)
            let range = ByteRange(offset: offset, length: 10_000)
            let got: [UInt8]?
            do { got = try await source.read(range) } catch {
              Issue.record("\(error)")
              got = nil
            }
            guard got == slice(NginxTests.blob, range) else {
              return false
            }
          }
          return true
        }
      }
      return await group.reduce(true) { $0 && $1 }
    }
  }

  @Test(arguments: ["http1", "h2c", "tls-h2"])
  func sameBytesAsTheFileAndConnectionUse(mode: String) async throws {
    let nginx = try LoopbackNginx(blob: NginxTests.blob)
    defer { nginx.stop() }
    var options = fastOptions()
    options.caFile = nginx.dir + "/cert.pem"
    let url: String
    switch mode {
    case "http1":
      options.version = .http1
      url = "http://127.0.0.1:\(nginx.http1Port)/blob.bin"
    case "h2c":
      options.version = .http2PriorKnowledge
      url = "http://127.0.0.1:\(nginx.h2cPort)/blob.bin"
    default:
      options.version = .http2
      url = "https://127.0.0.1:\(nginx.tlsPort)/blob.bin"
    }
    let source = HTTPSource(url: url, options: options)
    #expect(try await source.size() == UInt64(NginxTests.blob.count))
    #expect(await readConcurrently(source))
    usleep(200_000)  // nginx writes the log line after the response
    let log = nginx.log()
    #expect(log.count == 41)
    #expect(log.allSatisfy { $0.status == "206" })
    let connections = Set(log.map(\.connection)).count
    if mode == "http1" {
      #expect(log.allSatisfy { $0.proto == "HTTP/1.1" })
      #expect(connections <= 16)
    } else if mode == "h2c" && CurlEventLoop.shared.h2cReuseBroken {
      // libcurl < 8.0: h2c connections are not reused (curl/curl#10634).
      #expect(log.allSatisfy { $0.proto == "HTTP/2.0" })
      #expect(connections == log.count)
    } else {
      // HTTP/2: every stream multiplexed over one connection.
      #expect(log.allSatisfy { $0.proto == "HTTP/2.0" })
      #expect(connections == 1)
    }
  }

  @Test func untrustedCertificateIsANetworkError() async throws {
    let nginx = try LoopbackNginx(blob: NginxTests.blob)
    defer { nginx.stop() }
    let source = HTTPSource(
      url: "https://127.0.0.1:\(nginx.tlsPort)/blob.bin", options: fastOptions(retries: 0))
    await expectError(.network) { _ = try await source.size() }
  }
}
