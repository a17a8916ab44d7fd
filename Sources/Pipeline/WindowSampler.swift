import TandemBase

/// Where the sampler is in the stream: a checkpoint stores this and resume continues from it.
public struct SamplerCursor: Codable, Sendable, Hashable {
  /// Zero-based epoch.
  public var epoch: Int
  /// Position within this rank's share of the epoch.
  public var position: Int

  public init(epoch: Int = 0, position: Int = 0) {
    self.epoch = epoch
    self.position = position
  }
}

/// One window to read: which pair, where in the pair's common footprint, and which attempt
/// (a window rejected for clouds or nodata is replaced by attempt + 1 of the same sample).
public struct WindowSample: Sendable, Hashable, Codable {
  /// Index of the pair in the sampler's region list.
  public var region: Int
  /// Top-left corner inside the region, in the region's reference pixel grid.
  public var x: Int
  public var y: Int
  /// Window size in pixels.
  public var size: Int
  /// Global sample identity (epoch, slot within epoch) and attempt number.
  public var epoch: Int
  public var slot: Int
  public var attempt: Int

  public init(
    region: Int, x: Int, y: Int, size: Int, epoch: Int = 0, slot: Int = 0, attempt: Int = 0
  ) {
    self.region = region
    self.x = x
    self.y = y
    self.size = size
    self.epoch = epoch
    self.slot = slot
    self.attempt = attempt
  }
}

/// Draws windows from regions (the common footprints of S1/S2 pairs) as a pure function of
/// (seed, epoch, rank, worldSize, position, attempt): the order never depends on thread count,
/// network timing or how the run was interrupted, so resume is exact (MosaicML-style).
///
/// An epoch has one slot per window-sized tile of every region (at least one per region). Slots
/// are shuffled per epoch; rank `r` of `worldSize` takes every `worldSize`-th slot, truncated so
/// all ranks see the same number of samples. Each slot's window position is drawn uniformly
/// inside its region from a stream keyed by (seed, epoch, slot, attempt).
public struct WindowSampler: Sendable {
  /// Width and height of each region in pixels.
  public let regions: [(width: Int, height: Int)]
  public let windowSize: Int
  public let seed: UInt64
  public let rank: Int
  public let worldSize: Int
  /// Region index for each slot of an (unshuffled) epoch.
  private let slotRegions: [Int]

  /// Creates a sampler. Regions smaller than `windowSize` in either direction are excluded
  /// (they cannot hold a window); see `excludedRegions`.
  public init(
    regions: [(width: Int, height: Int)], windowSize: Int, seed: UInt64,
    rank: Int = 0, worldSize: Int = 1
  ) {
    precondition(windowSize > 0, "window size must be positive")
    precondition(worldSize >= 1 && rank >= 0 && rank < worldSize, "invalid rank/worldSize")
    self.regions = regions
    self.windowSize = windowSize
    self.seed = seed
    self.rank = rank
    self.worldSize = worldSize
    var slots: [Int] = []
    for (index, region) in regions.enumerated()
    where region.width >= windowSize && region.height >= windowSize {
      let count = max(1, (region.width / windowSize) * (region.height / windowSize))
      slots.append(contentsOf: repeatElement(index, count: count))
    }
    slotRegions = slots
  }

  /// Regions too small for one window.
  public var excludedRegions: [Int] {
    regions.indices.filter { regions[$0].width < windowSize || regions[$0].height < windowSize }
  }

  /// Samples per epoch for this rank.
  public var samplesPerEpoch: Int { slotRegions.count / worldSize }

  /// The shuffled slot order of `epoch` (all ranks).
  public func permutation(epoch: Int) -> [Int] {
    var order = Array(slotRegions.indices)
    var rng = SeededGenerator(seed: seed, stream: 0x5A4D_504C, UInt64(epoch))
    // Fisher–Yates with our generator (stdlib shuffle's algorithm is not guaranteed stable).
    if order.count > 1 {
      for i in stride(from: order.count - 1, to: 0, by: -1) {
        let j = Int(rng.next() % UInt64(i + 1))
        order.swapAt(i, j)
      }
    }
    return order
  }

  /// The sample at `cursor` (attempt 0) — convenience for tests; the pipeline uses an epoch
  /// plan to avoid recomputing the permutation.
  public func sample(at cursor: SamplerCursor, attempt: Int = 0) -> WindowSample {
    EpochPlan(sampler: self, epoch: cursor.epoch).sample(
      position: cursor.position, attempt: attempt)
  }

  /// The samples of one epoch for this rank.
  public struct EpochPlan: Sendable {
    public let sampler: WindowSampler
    public let epoch: Int
    private let order: [Int]

    public init(sampler: WindowSampler, epoch: Int) {
      self.sampler = sampler
      self.epoch = epoch
      order = sampler.permutation(epoch: epoch)
    }

    /// Number of samples this rank draws in the epoch.
    public var count: Int { sampler.samplesPerEpoch }

    /// The sample at `position` (0 ..< count) for the given attempt.
    public func sample(position: Int, attempt: Int = 0) -> WindowSample {
      precondition(position >= 0 && position < count, "position \(position) outside epoch")
      let slot = order[position * sampler.worldSize + sampler.rank]
      let region = sampler.slotRegions[slot]
      let (w, h) = sampler.regions[region]
      var rng = SeededGenerator(
        seed: sampler.seed, stream: 0x57_494E, UInt64(epoch), UInt64(slot), UInt64(attempt))
      let x = Int(rng.next() % UInt64(w - sampler.windowSize + 1))
      let y = Int(rng.next() % UInt64(h - sampler.windowSize + 1))
      return WindowSample(
        region: region, x: x, y: y, size: sampler.windowSize, epoch: epoch, slot: slot,
        attempt: attempt)
    }
  }
}
