/// A half-open range of bytes `[offset, offset + length)` within one object.
public struct ByteRange: Hashable, Sendable, Comparable, CustomStringConvertible, Codable {
  public var offset: UInt64
  public var length: UInt64

  public init(offset: UInt64, length: UInt64) {
    self.offset = offset
    self.length = length
  }

  /// One past the last byte (saturating at `UInt64.max`, so absurd ranges from corrupt input
  /// are reported, not trapped on).
  public var end: UInt64 {
    let (sum, overflow) = offset.addingReportingOverflow(length)
    return overflow ? .max : sum
  }

  /// The HTTP form, e.g. `bytes=0-16383` (inclusive end).
  public var httpHeaderValue: String { "bytes=\(offset)-\(end - 1)" }

  /// `bytes 0-16383` (inclusive end, as in Content-Range) for messages.
  public var description: String {
    length == 0 ? "bytes \(offset)-(empty)" : "bytes \(offset)-\(end - 1)"
  }

  public static func < (a: ByteRange, b: ByteRange) -> Bool {
    (a.offset, a.length) < (b.offset, b.length)
  }

  /// Whether `other` lies entirely inside this range.
  public func contains(_ other: ByteRange) -> Bool {
    other.offset >= offset && other.end <= end
  }
}
