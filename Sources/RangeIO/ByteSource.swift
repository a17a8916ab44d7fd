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
    try await read([range])[0]
  }
}
