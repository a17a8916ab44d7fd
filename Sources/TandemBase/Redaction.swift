import Synchronization

/// Keeps secrets out of everything Tandem prints or writes: URL credentials, signed-URL query
/// parameters (S3 `X-Amz-*`, Azure SAS `sig`/`se`/…, GCS `X-Goog-*`, CloudFront `Signature`,
/// OAuth `access_token`, any `…token…`/`…secret…` parameter), `Authorization` and similar header
/// values, and the literal values of secrets the process was given (``register(secret:)``).
///
/// There is one rule for URLs (``url(_:)``), used for messages, run files and cache keys alike,
/// and one scrubber for free text (``text(_:)``) that applies it to every URL inside a message.
public enum Redaction {
  /// What a redacted header value or JSON member becomes.
  public static let placeholder = "REDACTED"

  /// Query parameter names (lowercased) that are secrets or change with every signing, so they
  /// are dropped from URLs. Names starting with `x-amz-` or `x-goog-`, and names containing
  /// `token`, `secret`, `signature`, `credential`, `password` or `apikey`/`api_key`/`api-key`,
  /// are dropped too (``isSecretParameter(_:)``).
  public static let secretParameters: Set<String> = [
    "sig", "se", "st", "sp", "sv", "sr", "spr", "skoid", "sktid", "skt", "ske", "sks", "skv",
    "signature", "expires", "key-pair-id", "policy", "token", "access_token", "googleaccessid",
    "awsaccesskeyid", "x-amz-security-token", "code", "auth", "password", "passwd",
    // API keys in query strings: Google-style `key=`, Azure API Management (Planetary Computer).
    "key", "subscription-key", "apikey", "api_key",
  ]

  /// Header names (lowercased) whose values are secrets.
  public static let secretHeaders: Set<String> = [
    "authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key", "api-key",
    "x-amz-security-token", "x-goog-api-key", "x-auth-token", "private-token",
    "ocp-apim-subscription-key",
  ]

  private static let registered = Mutex<[String]>([])

  /// Remembers a secret value (a header value, an access key) so ``text(_:)`` removes it wherever
  /// it appears. Values shorter than 4 characters are ignored (they would match everywhere).
  public static func register(secret: String) {
    let value = secret.trimmingSpaces
    guard value.utf8.count >= 4 else { return }
    registered.withLock { if !$0.contains(value) { $0.append(value) } }
  }

  /// Registers the value of a `Name: value` header when the name is a secret header (and, for
  /// `Authorization: Scheme credentials`, the credentials alone too).
  public static func register(header: String) {
    guard let colon = header.firstIndex(of: ":") else { return }
    let name = header[..<colon].trimmingSpaces.lowercased()
    guard secretHeaders.contains(name) || isSecretParameter(name) else { return }
    let value = String(header[header.index(after: colon)...]).trimmingSpaces
    register(secret: value)
    if let space = value.firstIndex(of: " ") {
      register(secret: String(value[value.index(after: space)...]))
    }
  }

  /// Whether a query parameter (or JSON member) name carries a secret or a per-signing value.
  public static func isSecretParameter(_ name: String) -> Bool {
    let n = name.lowercased()
    if secretParameters.contains(n) || n.hasPrefix("x-amz-") || n.hasPrefix("x-goog-") {
      return true
    }
    for part in ["token", "secret", "signature", "credential", "password", "apikey", "api_key"]
    where n.contains(part) {
      return true
    }
    return n.contains("api-key")
  }

  /// `url` without userinfo (`user:pass@`), fragment and secret query parameters. The result is
  /// stable across re-signings of the same object, so it also serves as a cache key.
  /// Text without `://` (a local path) is returned unchanged.
  public static func url(_ url: String) -> String {
    var text = url
    guard text.contains("://") else { return text }
    if let schemeEnd = text.firstRange(of: "://") {
      let afterScheme = text[schemeEnd.upperBound...]
      let authorityEnd =
        afterScheme.firstIndex(where: { $0 == "/" || $0 == "?" || $0 == "#" })
        ?? afterScheme.endIndex
      if let at = afterScheme[..<authorityEnd].lastIndex(of: "@") {
        text =
          String(text[..<schemeEnd.upperBound])
          + String(afterScheme[afterScheme.index(after: at)...])
      }
    }
    if let hash = text.firstIndex(of: "#") { text = String(text[..<hash]) }
    guard let question = text.firstIndex(of: "?") else { return text }
    let base = text[..<question]
    let kept = text[text.index(after: question)...].split(separator: "&").filter { pair in
      let name = pair.split(separator: "=", maxSplits: 1).first.map(String.init) ?? ""
      return !isSecretParameter(PercentDecoding.decoded(name))
    }
    return kept.isEmpty ? String(base) : base + "?" + kept.joined(separator: "&")
  }

  /// Query parameters (lowercased) that change with every signing of the same object and so
  /// are left out of cache identities (S3/GCS presigning, Azure SAS, CloudFront).
  public static let rotatingParameters: Set<String> = [
    "sig", "se", "st", "sp", "sv", "sr", "spr", "skoid", "sktid", "skt", "ske", "sks", "skv",
    "signature", "expires", "key-pair-id", "policy", "googleaccessid", "awsaccesskeyid",
  ]

  /// The identity of the object `url` names, for cache keys: like ``url(_:)``, but secret
  /// parameters that do *not* rotate with signing (`token`, `page_token`, `access_token`, …)
  /// keep a digest of their value (`token=~1a2b…`), so two pages or objects that differ only in
  /// such a parameter never share cache entries, while the secret itself is not stored.
  /// Signing parameters (``rotatingParameters``, `X-Amz-*`, `X-Goog-*`) are dropped, so a
  /// re-signed URL of the same object hits the same entries.
  public static func cacheIdentity(_ url: String) -> String {
    guard url.contains("://") else { return url }
    var text = url
    if let hash = text.firstIndex(of: "#") { text = String(text[..<hash]) }
    guard let question = text.firstIndex(of: "?") else { return Redaction.url(text) }
    let base = Redaction.url(String(text[..<question]))
    var kept: [String] = []
    for pair in text[text.index(after: question)...].split(separator: "&") {
      let parts = pair.split(separator: "=", maxSplits: 1)
      let name = PercentDecoding.decoded(parts.first.map(String.init) ?? "").lowercased()
      if rotatingParameters.contains(name) || name.hasPrefix("x-amz-") || name.hasPrefix("x-goog-")
      {
        continue
      }
      if isSecretParameter(name) {
        let value = parts.count > 1 ? String(parts[1]) : ""
        kept.append((parts.first.map(String.init) ?? "") + "=~" + digest(value))
      } else {
        kept.append(String(pair))
      }
    }
    return kept.isEmpty ? base : base + "?" + kept.joined(separator: "&")
  }

  /// 128 bits of two FNV-1a-64 passes (distinct offsets), hex: tells values apart without
  /// keeping them.
  static func digest(_ text: String) -> String {
    var a: UInt64 = 0xcbf2_9ce4_8422_2325
    var b: UInt64 = 0x6c62_272e_07bb_0142
    for byte in text.utf8 {
      a = (a ^ UInt64(byte)) &* 0x100_0000_01b3
      b = (b ^ UInt64(byte) ^ (a >> 29)) &* 0x100_0000_01b3
    }
    let hex = String(a, radix: 16) + String(b, radix: 16)
    return hex
  }

  /// `text` with every `http(s)://` URL passed through ``url(_:)``, the values of secret headers
  /// (`Authorization: …`), `Bearer …`/`Basic …` credentials, secret `name=value` pairs and JSON
  /// members (`"token": "…"`), and every registered secret replaced by ``placeholder``.
  public static func text(_ text: String) -> String {
    var out = redactURLs(in: text)
    out = redactPairs(in: out)
    for secret in registered.withLock({ $0 }) where out.contains(secret) {
      out = out.replacingAll(secret, with: placeholder)
    }
    return out
  }

  // MARK: scanning

  private static func isURLTerminator(_ c: Character) -> Bool {
    c.isWhitespace || c == "\"" || c == "'" || c == "<" || c == ">" || c == "`" || c == "\\"
  }

  private static func redactURLs(in text: String) -> String {
    guard text.contains("://") else { return text }
    var out = ""
    var rest = Substring(text)
    while let r = rest.firstRange(of: "://") {
      // Walk back over the scheme letters.
      var start = r.lowerBound
      while start > rest.startIndex {
        let before = rest.index(before: start)
        let c = rest[before]
        guard c.isLetter || c.isNumber || c == "+" || c == "-" || c == "." else { break }
        start = before
      }
      var end = r.upperBound
      while end < rest.endIndex, !isURLTerminator(rest[end]) { end = rest.index(after: end) }
      out += rest[..<start]
      var candidate = String(rest[start..<end])
      // Keep trailing punctuation of the sentence outside the URL.
      var trailer = ""
      while let last = candidate.last, ")],.;:".contains(last), candidate.count > 1 {
        trailer = String(last) + trailer
        candidate.removeLast()
      }
      out += start == r.lowerBound ? candidate : url(candidate)
      out += trailer
      rest = rest[end...]
    }
    out += rest
    return out
  }

  /// Header lines, credentials after `Bearer`/`Basic`, `name=value` and `"name": "value"` pairs.
  private static func redactPairs(in text: String) -> String {
    var result = ""
    result.reserveCapacity(text.utf8.count)
    let chars = Array(text)
    var i = 0
    var word = ""  // the identifier just before position i
    var quotedWord = ""  // the identifier just before a closing quote at i - 1
    while i < chars.count {
      let c = chars[i]
      var secret = false
      var toLineEnd = false
      if c == "=" && !word.isEmpty && isSecretParameter(word) {
        secret = true
      } else if c == ":" && !word.isEmpty && secretHeaders.contains(word.lowercased()) {
        secret = true
        toLineEnd = true
      } else if c == ":" && !quotedWord.isEmpty && isSecretParameter(quotedWord) {
        secret = true
      }
      if secret {
        result.append(c)
        var j = i + 1
        while j < chars.count, chars[j] == " " || chars[j] == "\"" {
          result.append(chars[j])
          j += 1
        }
        let quoted = chars[j - 1] == "\""
        var k = j
        if quoted {
          while k < chars.count, chars[k] != "\"" { k += 1 }
        } else if toLineEnd {
          while k < chars.count, chars[k] != "\n", chars[k] != "\r" { k += 1 }
        } else {
          while k < chars.count, !(chars[k].isWhitespace || "&,;\"')]}".contains(chars[k])) {
            k += 1
          }
        }
        if k > j { result += placeholder }
        i = k
        word = ""
        quotedWord = ""
        continue
      }
      if c == " " && ["Bearer", "bearer", "Basic", "AWS4-HMAC-SHA256"].contains(word) {
        result.append(c)
        var k = i + 1
        while k < chars.count, !chars[k].isWhitespace, chars[k] != "\"" { k += 1 }
        if k > i + 1 { result += placeholder }
        i = k
        word = ""
        quotedWord = ""
        continue
      }
      if c.isLetter || c.isNumber || c == "-" || c == "_" {
        word.append(c)
        quotedWord = ""
      } else {
        quotedWord = c == "\"" ? word : ""
        word = ""
      }
      result.append(c)
      i += 1
    }
    return result
  }
}

extension StringProtocol {
  fileprivate var trimmingSpaces: String {
    var s = Substring(self)
    while let f = s.first, f == " " || f == "\t" { s = s.dropFirst() }
    while let l = s.last, l == " " || l == "\t" || l == "\r" || l == "\n" { s = s.dropLast() }
    return String(s)
  }
}

extension String {
  fileprivate func replacingAll(_ target: String, with replacement: String) -> String {
    var out = ""
    var rest = Substring(self)
    while let r = rest.firstRange(of: target) {
      out += rest[..<r.lowerBound]
      out += replacement
      rest = rest[r.upperBound...]
    }
    out += rest
    return out
  }
}
