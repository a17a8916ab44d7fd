import Synchronization

/// Tuning for HTTP(S) sources: concurrency, timeouts, retries, coalescing, protocol, auth.
/// Header values may hold secrets; they are sent but never printed, logged or used in keys.
public struct HTTPOptions: Sendable {
  /// Which HTTP version to ask for.
  public enum Version: String, Sendable {
    /// HTTP/1.1 only (keep-alive connections, one transfer per connection).
    case http1
    /// HTTP/2 over TLS when the server offers it (ALPN), HTTP/1.1 otherwise. The default.
    case http2
    /// HTTP/2 without negotiation, also over plain `http://` (h2c prior knowledge). With
    /// libcurl < 8.0 (Debian bookworm ships 7.88) connections are not reused in this mode,
    /// working around curl/curl#10634.
    case http2PriorKnowledge
  }

  /// Transfers in flight at once, process-wide (the event loop queues the rest).
  public var maxConcurrentTransfers: Int = 16
  /// Connect timeout, seconds.
  public var connectTimeout: Double = 10
  /// A transfer that receives nothing for this many seconds fails with `.timeout`.
  public var stallTimeout: Double = 30
  /// Retries per request after a transient failure (connection error, 408/429/5xx, short body).
  public var maxRetries: Int = 4
  /// Retries allowed across every request sharing this budget; once spent, failures are final.
  public var retryBudget: RetryBudget = RetryBudget(limit: 1000)
  /// First backoff delay, seconds; doubles per attempt with full jitter.
  public var retryBaseDelay: Double = 0.2
  /// Longest backoff or Retry-After wait honoured, seconds.
  public var retryMaxDelay: Double = 20
  /// Ranges whose gap is at most this many bytes are fetched as one request (0 = only touching
  /// or overlapping ranges; `nil` disables coalescing).
  public var coalesceGap: UInt64? = 64 * 1024
  /// A coalesced request never grows past this many bytes (a single requested range may).
  public var maxCoalescedLength: UInt64 = 16 * 1024 * 1024
  /// Send several ranges in one `bytes=a-b,c-d` request and parse `multipart/byteranges`.
  public var multiRange: Bool = false
  /// Size of the first ranged GET that learns the object's size and validators; the bytes are
  /// kept in memory and serve later reads of the object's header.
  public var probeLength: UInt64 = 16 * 1024
  /// When a server ignores `Range` (answers 200 with the whole object), ranges inside the first
  /// this-many bytes are still served from the body prefix; beyond it the read fails with
  /// `.rangeNotSupported`. The body is never buffered past this limit.
  public var ignoredRangePrefixLimit: UInt64 = 1024 * 1024
  /// Redirects followed (only to http/https).
  public var maxRedirects: Int = 5
  /// HTTP version preference.
  public var version: Version = .http2
  /// Extra request headers, `Name: value` (e.g. `Authorization: Bearer …`).
  public var headers: [String] = []
  /// PEM file of CA certificates to trust instead of the system store (e.g. a test server's
  /// self-signed certificate).
  public var caFile: String?
  /// Read credentials from `~/.netrc` when the URL has none.
  public var netrc: Bool = false
  /// Sign requests for S3 with AWS SigV4 (`CURLOPT_AWS_SIGV4`).
  public var awsSigV4: AWSSigV4?
  /// Which hosts requests (and redirects) may go to; see ``RemotePolicy``.
  public var remote: RemotePolicy = RemotePolicy()

  public init() {}

  /// AWS credentials and scope for SigV4 signing.
  public struct AWSSigV4: Sendable {
    public var accessKeyID: String
    public var secretAccessKey: String
    public var sessionToken: String?
    public var region: String
    public var service: String

    public init(
      accessKeyID: String, secretAccessKey: String, sessionToken: String? = nil,
      region: String, service: String = "s3"
    ) {
      self.accessKeyID = accessKeyID
      self.secretAccessKey = secretAccessKey
      self.sessionToken = sessionToken
      self.region = region
      self.service = service
    }

    /// Credentials from `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`,
    /// `AWS_REGION`/`AWS_DEFAULT_REGION`; `nil` when the key pair is not set.
    public static func fromEnvironment(_ env: [String: String]) -> AWSSigV4? {
      guard let key = env["AWS_ACCESS_KEY_ID"], !key.isEmpty,
        let secret = env["AWS_SECRET_ACCESS_KEY"], !secret.isEmpty
      else { return nil }
      return AWSSigV4(
        accessKeyID: key, secretAccessKey: secret, sessionToken: env["AWS_SESSION_TOKEN"],
        region: env["AWS_REGION"] ?? env["AWS_DEFAULT_REGION"] ?? "us-east-1")
    }
  }
}

/// A shared allowance of retries; every retry anywhere takes one, so a dead server cannot make
/// a run retry forever across thousands of requests. Successful requests earn retries back (one
/// per ``refillEvery`` successes, up to the limit), so a long run against a server that fails
/// now and then keeps its retries, while a server that only fails drains the budget.
public final class RetryBudget: Sendable {
  private let remaining: Atomic<Int>
  private let successes = Atomic<Int>(0)
  /// The most retries the budget holds.
  public let limit: Int
  /// Successful requests that earn one retry back (0 = never refilled).
  public let refillEvery: Int

  /// A budget of `limit` retries, refilled by one per `refillEvery` successful requests.
  public init(limit: Int, refillEvery: Int = 10) {
    remaining = Atomic(limit)
    self.limit = limit
    self.refillEvery = max(0, refillEvery)
  }

  /// Takes one retry; `false` when the budget is spent.
  public func take() -> Bool {
    while true {
      let current = remaining.load(ordering: .relaxed)
      if current <= 0 { return false }
      if remaining.compareExchange(
        expected: current, desired: current - 1, ordering: .relaxed
      ).exchanged {
        return true
      }
    }
  }

  /// Records a successful request (refills the budget, see the type's description).
  public func recordSuccess() {
    guard refillEvery > 0 else { return }
    let n = successes.add(1, ordering: .relaxed).newValue
    guard n % refillEvery == 0 else { return }
    while true {
      let current = remaining.load(ordering: .relaxed)
      if current >= limit { return }
      if remaining.compareExchange(
        expected: current, desired: current + 1, ordering: .relaxed
      ).exchanged {
        return
      }
    }
  }

  /// Retries still available.
  public var available: Int { remaining.load(ordering: .relaxed) }
}

/// Process-wide HTTP transfer concurrency beyond ``HTTPOptions/maxConcurrentTransfers``.
public enum HTTPConcurrency {
  /// Largest automatic limit: libcurl keeps 64 idle connections, and more transfers in flight
  /// than this only queue at the server.
  public static let maxAutomatic = 256

  /// Lets up to `transfers` HTTP transfers run at once (capped at ``maxAutomatic``) when that is
  /// more than the configured `--concurrency`; 0 returns to the configured limit. Used by the
  /// pipeline, which sizes transfers from its measured fetch depth.
  public static func setAutomaticLimit(_ transfers: Int) {
    CurlEventLoop.shared.setAutomaticInFlight(min(max(0, transfers), maxAutomatic))
  }
}
