/// Resolution of link and asset hrefs against the URL of the document that holds them
/// (RFC 3986 §5.2 for URLs; plain path arithmetic for local paths).
public enum Href {
  /// Resolves `href` against `base` (a path, `file://` URL or `http(s)://` URL of a document).
  ///
  /// - An href with a scheme (`https:`, `s3:`, `file:`) is returned unchanged (normalised).
  /// - An absolute path (`/a/b.json`) keeps the base's scheme and host.
  /// - A relative href (`./x.json`, `../y/z.json`, `x.json?token=1`) replaces the base's last
  ///   path segment; `.` and `..` segments are removed.
  public static func resolve(_ href: String, against base: String) -> String {
    if hasScheme(href) { return hasDotSegment(href) ? normalize(href) : href }
    let (prefix, basePath) = split(base)
    var path: String
    var query = ""
    var target = href
    if let q = target.firstIndex(where: { $0 == "?" || $0 == "#" }) {
      query = String(target[q...])
      target = String(target[..<q])
    }
    if target.hasPrefix("/") {
      path = target
    } else if target.isEmpty {
      // Same document (maybe with a new query).
      var p = basePath
      if let q = p.firstIndex(where: { $0 == "?" || $0 == "#" }) { p = String(p[..<q]) }
      path = p
    } else {
      var dir = basePath
      if let q = dir.firstIndex(where: { $0 == "?" || $0 == "#" }) { dir = String(dir[..<q]) }
      if let slash = dir.lastIndex(of: "/") {
        dir = String(dir[...slash])
      } else {
        dir = ""
      }
      path = dir + target
    }
    return prefix + removeDotSegments(path) + query
  }

  /// A canonical form for recognising the same document twice (cycle detection): dot segments
  /// removed, `file://` URLs turned into paths, scheme and host lower-cased.
  public static func canonical(_ location: String) -> String {
    let n = normalize(location)
    if n.lowercased().hasPrefix("file://") {
      var path = String(n.dropFirst(7))
      if path.hasPrefix("localhost/") { path = String(path.dropFirst(9)) }
      return path
    }
    let (prefix, path) = split(n)
    return prefix.lowercased() + path
  }

  static func normalize(_ location: String) -> String {
    let (prefix, path) = split(location)
    var p = path
    var query = ""
    if let q = p.firstIndex(where: { $0 == "?" || $0 == "#" }) {
      query = String(p[q...])
      p = String(p[..<q])
    }
    return prefix + removeDotSegments(p) + query
  }

  static func hasScheme(_ text: String) -> Bool {
    // ASCII scan: scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) ":"; a Windows drive
    // letter ("C:") is not a scheme.
    var count = 0
    for b in text.utf8 {
      if b == UInt8(ascii: ":") { return count > 1 }
      let isAlpha = (b | 0x20) >= UInt8(ascii: "a") && (b | 0x20) <= UInt8(ascii: "z")
      let isOther =
        (b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9")) || b == UInt8(ascii: "+")
        || b == UInt8(ascii: "-") || b == UInt8(ascii: ".")
      guard isAlpha || (count > 0 && isOther) else { return false }
      count += 1
    }
    return false
  }

  /// Splits into (`scheme://authority`, path…) or ("", path) for plain paths.
  static func split(_ location: String) -> (String, String) {
    guard hasScheme(location), let colon = location.firstIndex(of: ":") else {
      return ("", location)
    }
    let afterColon = location[location.index(after: colon)...]
    if afterColon.hasPrefix("//") {
      let authorityStart = afterColon.index(afterColon.startIndex, offsetBy: 2)
      let rest = afterColon[authorityStart...]
      let pathStart =
        rest.firstIndex(where: { $0 == "/" || $0 == "?" || $0 == "#" }) ?? rest.endIndex
      return (String(location[..<pathStart]), String(rest[pathStart...]))
    }
    return (String(location[...colon]), String(afterColon))
  }

  /// Whether some segment is `.` or `..` (cheap check before splitting).
  static func hasDotSegment(_ path: String) -> Bool {
    var previous: UInt8 = UInt8(ascii: "/")
    var it = path.utf8.makeIterator()
    while let b = it.next() {
      if b == UInt8(ascii: ".") && previous == UInt8(ascii: "/") { return true }
      previous = b
    }
    return false
  }

  static func removeDotSegments(_ path: String) -> String {
    guard hasDotSegment(path) else { return path }
    let absolute = path.hasPrefix("/")
    let trailing = path.hasSuffix("/") || path.hasSuffix("/.") || path.hasSuffix("/..")
    var out: [Substring] = []
    var leadingUps = 0
    for segment in path.split(separator: "/", omittingEmptySubsequences: true) {
      if segment == "." { continue }
      if segment == ".." {
        if !out.isEmpty { out.removeLast() } else if !absolute { leadingUps += 1 }
        continue
      }
      out.append(segment)
    }
    var text = (absolute ? "/" : "") + String(repeating: "../", count: leadingUps)
    text += out.joined(separator: "/")
    if trailing && !out.isEmpty { text += "/" }
    return text
  }
}
