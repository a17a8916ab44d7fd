import CommandLineKit
import Foundation
import RangeIO
import TandemBase
import TileCache

/// Options shared by every command that reads data (`info`, `read`, `bench read`, `catalog …`,
/// `train`): HTTP tuning, retries, the tile cache, offline mode. Commands append `IOOptions.specs`
/// to their own options and build their sources with `IOOptions.sourceOptions(from:)`.
///
/// The tile cache is on when `--cache`, `--cache-size` or `--offline` is given (directory
/// defaults to `$XDG_CACHE_HOME/tandem`, else `~/.cache/tandem`). Secrets given with `--header`,
/// `TANDEM_AUTHORIZATION`, `.netrc` or `AWS_*` are sent to the server but never printed, and URL
/// credentials and signature parameters are stripped from messages and cache keys.
enum IOOptions {
  static let defaultCacheSize: UInt64 = 10 * 1_073_741_824

  static let specs: [OptionSpec] = [
    .value(
      "cache", valueName: "dir",
      help: "Cache fetched byte ranges in DIR (default: $XDG_CACHE_HOME/tandem or ~/.cache/tandem)."
    ),
    .value(
      "cache-size", valueName: "size",
      help:
        "Byte cap of the tile cache, least recently used entries evicted first (default: 10GiB)."),
    .flag(
      "offline", help: "Serve remote data only from the tile cache; fail listing what is missing."),
    .value(
      "concurrency", valueName: "n", help: "HTTP transfers in flight at once.", default: "16"),
    .value(
      "timeout", valueName: "seconds",
      help: "Fail a transfer that receives nothing for this long (connect timeout: at most 10s).",
      default: "30"),
    .value(
      "retries", valueName: "n",
      help: "Retries per request on connection errors, 408/429/5xx and short bodies.",
      default: "4"),
    .value(
      "coalesce-gap", valueName: "size",
      help: "Merge requests for ranges at most this far apart ('off' to disable).",
      default: "64KiB"),
    .flag("multi-range", help: "Send several ranges per request (multipart/byteranges)."),
    .flag("http1", help: "Use HTTP/1.1 only."),
    .flag("http2", help: "Use HTTP/2 over TLS when offered (the default)."),
    .flag("h2c", help: "Use HTTP/2 without negotiation, also for http:// (prior knowledge)."),
    .value(
      "header", valueName: "'Name: value'",
      help: "Extra request header; TANDEM_AUTHORIZATION sets Authorization.", repeating: true),
    .flag("netrc", help: "Read credentials from ~/.netrc."),
    .value("ca-file", valueName: "pem", help: "Trust the CA certificates in this PEM file."),
    .flag(
      "aws-sigv4",
      help: "Sign requests for S3 with AWS SigV4 (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, …)."),
    .flag(
      "allow-local-assets",
      help: "Let catalogs fetched over HTTP refer to local files (refused by default)."),
    .value(
      "allowed-hosts", valueName: "h1,h2",
      help: "Only contact these hosts (host or host:port) for catalogs, pages, assets, redirects."
    ),
  ]

  static func sourceOptions(from parsed: ParsedArguments) throws -> SourceOptions {
    try sourceOptions(from: parsed, environment: ProcessInfo.processInfo.environment)
  }

  static func sourceOptions(
    from parsed: ParsedArguments, environment: [String: String]
  ) throws
    -> SourceOptions
  {
    var http = HTTPOptions()
    let concurrency = try parsed.value("concurrency", default: 16)
    guard (1...1024).contains(concurrency) else {
      throw parsed.usageError("--concurrency must be between 1 and 1024")
    }
    http.maxConcurrentTransfers = concurrency
    let timeout = try parsed.value("timeout", default: 30.0)
    // Bounded so the stall limit handed to libcurl (whole seconds, an Int) cannot overflow;
    // a day is far past any useful stall timeout.
    guard timeout > 0, timeout <= 86_400 else {
      throw parsed.usageError("--timeout must be positive and at most 86400 seconds (a day)")
    }
    http.stallTimeout = timeout
    http.connectTimeout = min(timeout, 10)
    let retries = try parsed.value("retries", default: 4)
    guard retries >= 0 else { throw parsed.usageError("--retries must not be negative") }
    http.maxRetries = retries
    if let gap = parsed.string("coalesce-gap") {
      if gap.lowercased() == "off" || gap.lowercased() == "none" {
        http.coalesceGap = nil
      } else {
        http.coalesceGap = try parsed.value("coalesce-gap", as: ByteSize.self)!.bytes
      }
    }
    http.multiRange = parsed.flag("multi-range")
    let versions = ["http1", "http2", "h2c"].filter { parsed.flag($0) }
    guard versions.count <= 1 else {
      throw parsed.usageError("choose one of --http1, --http2, --h2c")
    }
    switch versions.first {
    case "http1": http.version = .http1
    case "h2c": http.version = .http2PriorKnowledge
    default: http.version = .http2
    }
    for header in parsed.strings("header") {
      guard let colon = header.firstIndex(of: ":"), header.startIndex != colon,
        !header[..<colon].contains(" ")
      else {
        // The value may be a secret: name only what is wrong, not the text.
        throw parsed.usageError("--header must look like 'Name: value'")
      }
      http.headers.append(header)
      Redaction.register(header: header)
    }
    if let authorization = environment["TANDEM_AUTHORIZATION"], !authorization.isEmpty {
      http.headers.append("Authorization: \(authorization)")
      Redaction.register(header: "Authorization: \(authorization)")
    }
    http.remote = try remotePolicy(from: parsed)
    http.netrc = parsed.flag("netrc")
    http.caFile = parsed.string("ca-file")
    if parsed.flag("aws-sigv4") {
      guard let aws = HTTPOptions.AWSSigV4.fromEnvironment(environment) else {
        throw parsed.usageError(
          "--aws-sigv4 needs AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the environment")
      }
      http.awsSigV4 = aws
      Redaction.register(secret: aws.secretAccessKey)
      if let token = aws.sessionToken { Redaction.register(secret: token) }
    }

    var options = SourceOptions(http: http)
    let offline = parsed.flag("offline")
    if parsed.string("cache") != nil || parsed.string("cache-size") != nil || offline {
      let size = try parsed.value("cache-size", as: ByteSize.self)?.bytes ?? defaultCacheSize
      guard size > 0 else { throw parsed.usageError("--cache-size must be positive") }
      let directory = parsed.string("cache") ?? TileCache.defaultDirectory(environment: environment)
      options.cache = try TileCache(directory: directory, capacity: size, offline: offline)
    }
    return options
  }

  /// `--allow-local-assets` and `--allowed-hosts` as a policy (see ``RemotePolicy``).
  static func remotePolicy(from parsed: ParsedArguments) throws -> RemotePolicy {
    var hosts: Set<String>?
    if let list = parsed.string("allowed-hosts") {
      let names = list.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
      guard !names.isEmpty, names.allSatisfy({ !$0.isEmpty && !$0.contains("/") }) else {
        throw parsed.usageError(
          "--allowed-hosts takes host names separated by commas (e.g. example.com,127.0.0.1:8080)")
      }
      hosts = Set(names.map { $0.lowercased() })
    }
    return RemotePolicy(allowLocalAssets: parsed.flag("allow-local-assets"), allowedHosts: hosts)
  }

  /// One line per object an offline run could not find in the cache (empty when none).
  static func offlineReport(_ options: SourceOptions) -> [String] {
    guard let cache = options.cache as? TileCache else { return [] }
    return cache.missingObjects.map { object in
      object.ranges.isEmpty
        ? "missing from cache: \(object.location) (object metadata)"
        : "missing from cache: \(object.location) (\(object.ranges.count) range(s))"
    }
  }
}
