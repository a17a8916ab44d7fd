/// A reusable batch of samples: one contiguous `[B, C, H, W]` Float32 array per layout part.
/// The consumer allocates it once and passes it to ``StreamingPipeline/next(into:)`` every step.
public final class Batch: @unchecked Sendable {
  public let layout: SampleLayout
  /// Maximum samples (B).
  public let capacity: Int
  /// Per part, `capacity × channels × size × size` floats; only the first `count` samples are
  /// valid.
  public var parts: [[Float]]
  /// Samples actually filled (equals `capacity` except possibly for the last batch of a run).
  public var count = 0
  /// The windows in the batch, in order.
  public var samples: [WindowSample] = []
  /// Where the sampler stands after this batch (store it in checkpoints to resume exactly).
  public var cursor = SamplerCursor()

  public init(layout: SampleLayout, capacity: Int) {
    self.layout = layout
    self.capacity = capacity
    parts = layout.channels.indices.map {
      [Float](repeating: 0, count: capacity * layout.elements(part: $0))
    }
    samples.reserveCapacity(capacity)
  }
}
