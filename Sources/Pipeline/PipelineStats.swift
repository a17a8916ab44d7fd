/// Counters of a pipeline run, for progress lines, metrics and the final summary.
public struct PipelineStats: Sendable, Codable, Equatable {
  /// Samples handed to the consumer.
  public var samplesDelivered = 0
  /// Windows rejected (clouds, nodata) and replaced, by reason.
  public var rejected: [String: Int] = [:]
  /// Samples given up after errors (`--on-error skip`) or too many rejections.
  public var skipped = 0
  /// Fetch or decode failures (each skipped sample counts once per failed attempt).
  public var failures = 0
  /// The first few failure messages, for the summary.
  public var failureMessages: [String] = []
  /// Seconds spent fetching (sum over samples) and number of fetches, for the mean latency.
  public var fetchSeconds = 0.0
  public var fetches = 0
  /// Seconds spent decoding (sum over samples).
  public var decodeSeconds = 0.0
  /// Seconds the consumer waited for data.
  public var consumerWaitSeconds = 0.0
  /// Seconds since the pipeline started.
  public var elapsedSeconds = 0.0
  /// Samples ready and waiting for the consumer.
  public var queued = 0
  /// Slots (samples in flight or ready) in total.
  public var slots = 0
  /// Samples fetched at once now (chosen by ``InFlightController`` unless fixed).
  public var fetchDepth = 0
  /// Whether `fetchDepth` is chosen automatically.
  public var fetchDepthIsAutomatic = false
  /// What the depth is chosen from: a sample's fetch time (10th percentile of the recent ones)
  /// and its decode CPU time on one worker (moving average), in seconds (0 before the first
  /// sample).
  public var recentFetchSeconds = 0.0
  public var recentDecodeSeconds = 0.0

  public init() {}

  /// Mean fetch latency in seconds.
  public var meanFetchSeconds: Double { fetches == 0 ? 0 : fetchSeconds / Double(fetches) }

  /// Fraction of wall time the consumer waited (the trainer's stall), 0…1.
  public var stallFraction: Double {
    elapsedSeconds <= 0 ? 0 : min(1, consumerWaitSeconds / elapsedSeconds)
  }

  /// The in-flight part of a progress line: `in flight 12 (auto: fetch 54 ms, decode 6.1 ms ×
  /// 2)`.
  public func inFlightSummary(threads: Int) -> String {
    let mode =
      fetchDepthIsAutomatic
      ? "auto: fetch \(Int((recentFetchSeconds * 1000).rounded())) ms, decode "
        + "\((recentDecodeSeconds * 10_000).rounded() / 10) ms CPU × \(threads)" : "fixed"
    return "in flight \(fetchDepth) (\(mode))"
  }

  /// Samples delivered per second of wall time.
  public var samplesPerSecond: Double {
    elapsedSeconds <= 0 ? 0 : Double(samplesDelivered) / elapsedSeconds
  }
}
