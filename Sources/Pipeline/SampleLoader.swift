/// The shape of one sample: one Float32 tensor per part (e.g. S1 `[2,H,W]` and S2 `[4,H,W]`,
/// plus a label mask for evaluation), all of size `size × size`.
public struct SampleLayout: Sendable, Hashable, Codable {
  /// Channels of each part, in order.
  public var channels: [Int]
  /// Window edge in pixels.
  public var size: Int

  public init(channels: [Int], size: Int) {
    self.channels = channels
    self.size = size
  }

  /// Floats in part `i` of one sample.
  public func elements(part i: Int) -> Int { channels[i] * size * size }
}

/// Whether a decoded window is usable.
public enum SampleVerdict: Sendable, Equatable {
  case accepted
  /// Too much nodata, cloud, … — the sampler draws a replacement window (next attempt).
  case rejected(reason: String)
}

/// Turns a sampled window into tensors: an async fetch of compressed bytes (many in flight),
/// then a synchronous decode on a pool worker into preallocated buffers.
public protocol SampleLoader: Sendable {
  /// What `fetch` hands to `decode` (compressed tiles, plans).
  associatedtype Fetched: Sendable

  /// The tensors each sample fills.
  var layout: SampleLayout { get }

  /// Fetches what `sample` needs. Called concurrently for many samples.
  func fetch(_ sample: WindowSample) async throws -> Fetched

  /// Decodes `fetched` into `parts` (one buffer per layout part, already sized), on pool worker
  /// `worker` (use it to index thread-confined decoders).
  func decode(
    _ fetched: Fetched, sample: WindowSample, worker: Int,
    into parts: [UnsafeMutableBufferPointer<Float>]
  ) throws -> SampleVerdict

  /// Told when the pipeline changes how many samples it fetches at once, so the loader can size
  /// what serves the fetches (e.g. HTTP transfers in flight). The default does nothing.
  func fetchDepthDidChange(_ depth: Int)
}

extension SampleLoader {
  public func fetchDepthDidChange(_ depth: Int) {}
}
