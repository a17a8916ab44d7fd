import Foundation
import Synchronization

/// The retryable faults a server or the path to it can produce, each as a change to the correct
/// response. A client must answer every one with the exact bytes (after retrying) or, once its
/// retry budget is spent, with a typed error: never a trap, a hang or wrong data.
public enum InjectedFault: String, CaseIterable, Sendable, CustomStringConvertible {
  case status500, status502, status503, status504, status408
  /// 429 without Retry-After (exponential backoff applies).
  case status429
  /// 429 with `Retry-After: 1` (the client must wait that long).
  case status429RetryAfter
  /// The connection is reset before any byte of the answer.
  case dropConnection
  /// A TCP reset after part of the body.
  case resetMidBody
  /// The body ends early (Content-Length announces more) and the connection closes.
  case truncatedBody
  /// The first byte comes late, but well within the transfer timeout: not a failure at all.
  case slowFirstByte

  public var description: String { rawValue }

  /// Whether the client has to send the request again to get the bytes.
  public var needsRetry: Bool { self != .slowFirstByte }

  /// The faulty answer in place of `correct`.
  public func apply(to correct: TestHTTPServer.Response) -> TestHTTPServer.Response {
    func status(_ code: Int, _ headers: [(String, String)] = []) -> TestHTTPServer.Response {
      TestHTTPServer.Response(
        status: code, headers: headers + [("Content-Type", "text/plain")],
        body: Array("injected \(code)\n".utf8))
    }
    var faulty = correct
    switch self {
    case .status500: return status(500)
    case .status502: return status(502)
    case .status503: return status(503)
    case .status504: return status(504)
    case .status408: return status(408)
    case .status429: return status(429)
    case .status429RetryAfter: return status(429, [("Retry-After", "1")])
    case .dropConnection: faulty.dropConnection = true
    case .resetMidBody: faulty.resetAfter = correct.body.count / 2
    case .truncatedBody: faulty.truncateAfter = correct.body.count / 2
    case .slowFirstByte: faulty.delay = 0.4
    }
    return faulty
  }
}

/// Which requests get a fault: the `at`-th request counted from `mark` (arrival order), or every
/// request from it on (`persistent`). Shared by a server's handler and the test that arms it.
public final class FaultPlan: Sendable {
  private struct State {
    var fault: InjectedFault?
    var first = 0
    var persistent = false
    var injected = 0
  }
  private let state = Mutex(State())

  public init() {}

  /// Arms `fault` for the request with server index `index` (and, when `persistent`, every later one).
  public func arm(_ fault: InjectedFault, atServerIndex index: Int, persistent: Bool = false) {
    state.withLock { $0 = State(fault: fault, first: index, persistent: persistent) }
  }

  public func disarm() { state.withLock { $0.fault = nil } }

  /// How many responses carried the fault.
  public var injected: Int { state.withLock { $0.injected } }

  /// The response for `request`: `correct`, or its faulty form when the plan says so.
  public func respond(
    _ request: TestHTTPServer.Request, correct: TestHTTPServer.Response
  ) -> TestHTTPServer.Response {
    let fault: InjectedFault? = state.withLock { s in
      guard let fault = s.fault,
        request.index == s.first || (s.persistent && request.index > s.first)
      else { return nil }
      s.injected += 1
      return fault
    }
    return fault?.apply(to: correct) ?? correct
  }
}

/// Serves the regular files under `root` (URL path below it; the query string is ignored) with
/// ranges, strong ETags and 404s, like a static object store. Files are read once and kept.
public final class FileTree: Sendable {
  public let root: String
  private let files = Mutex<[String: [UInt8]]>([:])

  public init(root: String) { self.root = root }

  public func respond(_ request: TestHTTPServer.Request) -> TestHTTPServer.Response {
    let path = String(request.path.split(separator: "?", maxSplits: 1).first ?? "")
    guard !path.contains(".."), let bytes = load(path) else {
      return TestHTTPServer.Response(status: 404, body: Array("not found\n".utf8))
    }
    var response = serveRange(bytes, request, etag: "\"\(bytes.count)-\(path.utf8.count)\"")
    if path.hasSuffix(".json") {
      response.headers = response.headers.map {
        $0.0 == "Content-Type" ? ("Content-Type", "application/json") : $0
      }
    }
    return response
  }

  private func load(_ path: String) -> [UInt8]? {
    if let held = files.withLock({ $0[path] }) { return held }
    guard let data = FileManager.default.contents(atPath: root + path) else { return nil }
    let bytes = Array(data)
    files.withLock { $0[path] = bytes }
    return bytes
  }
}
