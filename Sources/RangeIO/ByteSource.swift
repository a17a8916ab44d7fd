/// Random access to the bytes of one object: a local file, or an object behind an HTTP(S) URL.
///
/// Reads are batched: `read(_:)` takes every range a caller needs at once so that an
/// implementation can coalesce nearby ranges, run transfers in parallel and retry failures. The
/// returned buffers correspond one-to-one, in order, to the requested ranges and always have
/// exactly the requested lengths; anything else is an error, never a short read.
public protocol ByteSource: Sendable {
  /// Where the bytes come from, for messages: a path or a URL without credentials or signatures.
  var location: String { get }

  /// The object's total size in bytes.
  func size() async throws(RangeIOError) -> UInt64

  /// Reads the given ranges. Ranges may overlap and need not be sorted.
  func read(_ ranges: [ByteRange]) async throws(RangeIOError) -> [[UInt8]]

  /// Counters for the requests this source made.
  var stats: IOStats { get }
}

extension ByteSource {
  /// Reads one range.
  public func read(_ range: ByteRange) async throws(RangeIOError) -> [UInt8] {
    let buffers = try await read([range])
    return try ByteReads.complete(buffers, for: [range], location: location)[0]
  }
}

/// Checks on the result of a batched read, shared by the sources that assemble one from parts
/// (memory, cache, coalesced network requests).
public enum ByteReads {
  /// `slots` as the read's result: one buffer per range, each exactly the range's length. A
  /// missing or misfit slot (a source that broke the ``ByteSource`` contract, or an internal
  /// bug) is a typed error naming the range, never a trap or a silently short buffer.
  public static func complete(
    _ slots: [[UInt8]?], for ranges: [ByteRange], location: String
  ) throws(RangeIOError) -> [[UInt8]] {
    guard slots.count == ranges.count else {
      throw RangeIOError(
        .incomplete, location: location,
        message:
          "\(slots.count) buffers for \(ranges.count) requested ranges (internal error; please report it)"
      )
    }
    var out: [[UInt8]] = []
    out.reserveCapacity(slots.count)
    for (slot, range) in zip(slots, ranges) {
      // Compared in UInt64: a range from corrupt input may be longer than Int.max.
      guard let bytes = slot, UInt64(bytes.count) == range.length else {
        let got = slot.map { "\($0.count) bytes were" } ?? "no bytes were"
        throw RangeIOError(
          .incomplete, location: location, range: range,
          message: "\(got) assigned to this range (internal error; please report it)")
      }
      out.append(bytes)
    }
    return out
  }

  /// ``complete(_:for:location:)`` for a read that came back whole from another source.
  public static func complete(
    _ buffers: [[UInt8]], for ranges: [ByteRange], location: String
  ) throws(RangeIOError) -> [[UInt8]] {
    try complete(buffers.map(Optional.some), for: ranges, location: location)
  }
}
