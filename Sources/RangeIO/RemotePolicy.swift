import TandemBase

/// What a document fetched from the network may point at. A remote STAC catalog is untrusted:
/// without this policy a catalog on some web server could make Tandem read `file:///etc/…` or
/// any host it likes. The rule, applied by ``check(_:referrer:)`` (the one place it is
/// enforced):
///
/// - A target referred to by an `http(s)://` document (a link, an asset, a `next` page, a
///   redirect) must not be local, unless ``allowLocalAssets`` is set: `file://` URLs and
///   anything ``SourceLocation`` would open as a path (`/etc/passwd`, `C:x`, `foo:bar`) are
///   refused. Relative hrefs resolve against the document's URL and so stay remote. Other URL
///   schemes (`s3://`, common as alternate assets) are not local; RangeIO cannot open them.
/// - With ``allowedHosts`` set, every `http(s)://` target (the start location included) must be
///   on one of those hosts.
///
/// Documents read from the local filesystem may refer to anything (the user chose them).
public struct RemotePolicy: Sendable, Hashable, CustomStringConvertible {
  /// Let remote documents refer to local files (`--allow-local-assets`).
  public var allowLocalAssets: Bool
  /// Hosts (lowercased, optionally `host:port`) that HTTP requests may go to; `nil` = any
  /// (`--allowed-hosts`).
  public var allowedHosts: Set<String>?

  /// Creates a value from its parts.
  public init(allowLocalAssets: Bool = false, allowedHosts: Set<String>? = nil) {
    self.allowLocalAssets = allowLocalAssets
    self.allowedHosts = allowedHosts.map { Set($0.map { $0.lowercased() }) }
  }

  /// Anything goes (library callers that read only trusted data).
  public static let unrestricted = RemotePolicy(allowLocalAssets: true)

  /// Whether the hosts are restricted (redirects must then be checked hop by hop).
  public var restrictsHosts: Bool { allowedHosts != nil }

  /// Throws ``RangeIOError/Code/refused`` when `referrer` (the document or URL that pointed at
  /// `target`, `nil` for a location the user typed) may not lead to `target`. The error names
  /// both, redacted.
  public func check(_ target: String, referrer: String?) throws(RangeIOError) {
    let remoteTarget = RemotePolicy.isHTTP(target)
    if let referrer, RemotePolicy.isHTTP(referrer), RemotePolicy.isLocal(target),
      !allowLocalAssets
    {
      throw RangeIOError(
        .refused, location: Redaction.url(referrer),
        message:
          "refused href '\(Redaction.url(target))': a remote document may not refer to local files (pass --allow-local-assets to trust it with them)"
      )
    }
    if remoteTarget, let allowedHosts {
      let (host, hostPort) = RemotePolicy.host(of: target)
      guard allowedHosts.contains(host) || allowedHosts.contains(hostPort) else {
        let from = referrer.map { "referred to by \(Redaction.url($0)): " } ?? ""
        throw RangeIOError(
          .refused, location: referrer.map(Redaction.url) ?? Redaction.url(target),
          message:
            "\(from)refused href '\(Redaction.url(target))': host '\(hostPort)' is not in --allowed-hosts (\(allowedHosts.sorted().joined(separator: ",")))"
        )
      }
    }
  }

  /// `true` for locations ``ByteSources`` would open from the local filesystem.
  public static func isLocal(_ location: String) -> Bool {
    guard let parsed = try? SourceLocation(location) else { return false }
    if case .file = parsed { return true }
    return false
  }

  /// Whether `error` is a host refusal (as opposed to a local-file one).
  public static func isHostRefusal(_ error: RangeIOError) -> Bool {
    error.code == .refused && error.message.contains("--allowed-hosts")
  }

  /// `true` for `http://` and `https://` locations.
  public static func isHTTP(_ location: String) -> Bool {
    let lower = location.prefix(8).lowercased()
    return lower.hasPrefix("http://") || lower.hasPrefix("https://")
  }

  /// The host of an http(s) URL, lowercased, without and with the port (`[::1]` keeps its
  /// brackets).
  public static func host(of url: String) -> (host: String, hostPort: String) {
    guard let schemeEnd = url.firstRange(of: "://") else { return ("", "") }
    let rest = url[schemeEnd.upperBound...]
    var authority = rest[
      ..<(rest.firstIndex(where: { $0 == "/" || $0 == "?" || $0 == "#" }) ?? rest.endIndex)]
    if let at = authority.lastIndex(of: "@") {
      authority = authority[authority.index(after: at)...]
    }
    let hostPort = authority.lowercased()
    var host = hostPort
    if host.hasPrefix("[") {
      if let close = host.firstIndex(of: "]") { host = String(host[...close]) }
    } else if let colon = host.lastIndex(of: ":") {
      host = String(host[..<colon])
    }
    return (host, hostPort)
  }

  /// `allow-local-assets` and the host list, for messages.
  public var description: String {
    var parts: [String] = []
    if allowLocalAssets { parts.append("local assets allowed") }
    if let allowedHosts { parts.append("hosts: " + allowedHosts.sorted().joined(separator: ",")) }
    return parts.isEmpty ? "remote documents refer to http(s) only" : parts.joined(separator: "; ")
  }
}
