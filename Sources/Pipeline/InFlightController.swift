/// Chooses how many samples the pipeline fetches at once from what it measures, by Little's
/// law: to keep the decode workers busy, samples must arrive at the rate they decode
/// (`threads ÷ decode seconds per sample`), and each spends the fetch latency in flight, so
/// `depth = rate × latency`, times a headroom for jitter, plus one per worker for the samples
/// being decoded. Bounded below by `minDepth` and above by `maxDepth` (the memory cap: every
/// sample in flight holds its compressed bytes and a tensor slot).
///
/// The latency it uses is a low quantile (the 10th percentile) of the last 64 fetch times, not
/// their mean or median: when the machine, not the network, is the bottleneck, extra depth makes
/// fetches queue (behind the event-loop thread, the server, the CPU), which raises their mean
/// and median and would ask for still more depth — measured here at load 8 on 2 cores, the
/// median ran the depth to its cap and cost CPU per sample (hundreds of transfers in flight).
/// The fast fetches keep showing what the network itself adds. The decode time is a moving
/// average of CPU seconds per sample (service time, without the waits for a core).
///
/// More depth only helps when the decode workers wait for data. So the depth is not raised while
/// fetched samples wait for a worker longer, on average, than a decode takes (a backlog in front
/// of busy workers: decode, not fetch, is the bottleneck — typical of a loaded machine, where
/// fetches also slow down and Little's law alone would ask for ever more depth). It may still be
/// lowered.
///
/// A pure value: the pipeline feeds it one observation per fetched-and-decoded sample; tests feed
/// it made-up numbers (no clock involved).
public struct InFlightController: Sendable, Equatable {
  /// Decode worker threads.
  public let threads: Int
  public let minDepth: Int
  public let maxDepth: Int
  /// Extra depth over the Little's-law figure, for fetches slower than the low quantile
  /// (2 = twice).
  public let headroom: Double
  /// Observations between two depth changes.
  public let interval: Int
  /// Weight of a new observation in the moving averages.
  public let smoothing: Double

  /// Samples fetched at once now.
  public private(set) var depth: Int
  /// A sample's fetch time (all its requests, in parallel) as the depth uses it: the 10th
  /// percentile of the recent ones, seconds.
  public private(set) var fetchSeconds: Double?
  /// The last fetch times (a ring of `window` entries).
  private var recent: [Double] = []
  private var next = 0
  /// Fetch times remembered for the quantile.
  public static let window = 64
  /// Which quantile of the recent fetch times stands for the latency.
  public static let quantile = 0.1
  /// Moving average of a sample's decode time on one worker (CPU seconds), seconds.
  public private(set) var decodeSeconds: Double?
  /// Moving average of the time a fetched sample waited for a decode worker, seconds.
  public private(set) var queueSeconds: Double?
  private var sinceUpdate = 0

  public init(
    threads: Int, initialDepth: Int? = nil, minDepth: Int = 2, maxDepth: Int = 64,
    headroom: Double = 2, interval: Int = 8, smoothing: Double = 0.1
  ) {
    precondition(threads >= 1 && minDepth >= 1 && maxDepth >= minDepth && headroom >= 1)
    self.threads = threads
    self.minDepth = minDepth
    self.maxDepth = maxDepth
    self.headroom = headroom
    self.interval = max(1, interval)
    self.smoothing = min(max(smoothing, 0.01), 1)
    depth = min(max(initialDepth ?? 2 * threads + 2, minDepth), maxDepth)
  }

  /// The depth Little's law asks for with these averages, within the bounds.
  public func target(fetchSeconds: Double, decodeSeconds: Double) -> Int {
    guard fetchSeconds.isFinite, decodeSeconds.isFinite, fetchSeconds >= 0 else { return depth }
    let rate = Double(threads) / max(decodeSeconds, 1e-6)
    let needed = (rate * fetchSeconds * headroom).rounded(.up) + Double(threads)
    return Int(min(max(needed, Double(minDepth)), Double(maxDepth)))
  }

  /// Whether fetched samples queue for the decode workers (longer than a decode, on average).
  public var decodeIsBacklogged: Bool {
    guard let q = queueSeconds, let d = decodeSeconds else { return false }
    return q > d
  }

  /// Records one sample's fetch time, decode CPU time and the time it waited for a decode worker;
  /// returns whether the depth changed.
  @discardableResult
  public mutating func observe(
    fetchSeconds fetch: Double, decodeSeconds decode: Double, queueSeconds queue: Double = 0
  ) -> Bool {
    guard fetch.isFinite, decode.isFinite, queue.isFinite, fetch >= 0, decode >= 0 else {
      return false
    }
    let waited = max(queue, 0)
    queueSeconds = queueSeconds.map { $0 + smoothing * (waited - $0) } ?? waited
    if recent.count < Self.window {
      recent.append(fetch)
    } else {
      recent[next] = fetch
      next = (next + 1) % Self.window
    }
    let sorted = recent.sorted()
    fetchSeconds = sorted[min(sorted.count - 1, Int(Double(sorted.count) * Self.quantile))]
    decodeSeconds = decodeSeconds.map { $0 + smoothing * (decode - $0) } ?? decode
    sinceUpdate += 1
    guard sinceUpdate >= interval, let f = fetchSeconds, let d = decodeSeconds else {
      return false
    }
    sinceUpdate = 0
    var next = target(fetchSeconds: f, decodeSeconds: d)
    if next > depth && decodeIsBacklogged { next = depth }
    guard next != depth else { return false }
    depth = next
    return true
  }
}
