import Synchronization

/// Counts the compressed tiles a ``PairLoader`` fetches to decode, so a benchmark can show that
/// no cache could have served them (the fraction of tile reads that read a tile again) and
/// compare the bytes on the wire with the bytes of the tiles themselves. Optionally keeps the
/// list of tiles read while ``recording`` is on, for replaying exactly those tiles through
/// another decoder (the libtiff decode limit).
public final class TileReadLog: Sendable {
  /// One tile read: the object, the image's IFD offset and the tile (strile) index, its bytes.
  public struct Entry: Sendable, Hashable {
    public var href: String
    public var ifdOffset: UInt64
    public var strile: Int
    public var length: UInt64
  }

  /// Counters at one moment.
  public struct Counts: Sendable, Equatable {
    /// Samples fetched (each a set of tiles).
    public var samples = 0
    /// Tile reads (a tile read by two samples counts twice).
    public var reads = 0
    /// Reads of a tile that had been read before in this run.
    public var repeats = 0
    /// Compressed bytes of the tiles read.
    public var tileBytes = 0

    /// Counts accumulated since `earlier`.
    public func since(_ earlier: Counts) -> Counts {
      Counts(
        samples: samples - earlier.samples, reads: reads - earlier.reads,
        repeats: repeats - earlier.repeats, tileBytes: tileBytes - earlier.tileBytes)
    }

    /// Fraction of tile reads that read a tile again.
    public var repeatFraction: Double { reads == 0 ? 0 : Double(repeats) / Double(reads) }
  }

  private struct TileID: Hashable {
    var href: String
    var ifdOffset: UInt64
    var strile: Int
  }

  private struct State {
    var counts = Counts()
    var seen: Set<TileID> = []
    var recording = false
    var entries: [Entry] = []
    var recordedSamples = 0
  }

  private let state = Mutex(State())
  /// Most entries kept while recording (the rest are counted, not listed).
  public let maxEntries: Int

  public init(maxEntries: Int = 1 << 20) {
    self.maxEntries = maxEntries
  }

  /// The counters so far.
  public var counts: Counts { state.withLock { $0.counts } }

  /// Starts or stops listing tiles (and samples) as they are read.
  public func setRecording(_ on: Bool) {
    state.withLock { $0.recording = on }
  }

  /// The tiles listed while recording, and the samples fetched meanwhile.
  public func recorded() -> (entries: [Entry], samples: Int) {
    state.withLock { s in (s.entries, s.recordedSamples) }
  }

  func recordSample() {
    state.withLock { s in
      s.counts.samples += 1
      if s.recording { s.recordedSamples += 1 }
    }
  }

  func record(href: String, ifdOffset: UInt64, strile: Int, length: UInt64) {
    state.withLock { s in
      s.counts.reads += 1
      s.counts.tileBytes += Int(length)
      if !s.seen.insert(TileID(href: href, ifdOffset: ifdOffset, strile: strile)).inserted {
        s.counts.repeats += 1
      }
      if s.recording && s.entries.count < maxEntries {
        s.entries.append(Entry(href: href, ifdOffset: ifdOffset, strile: strile, length: length))
      }
    }
  }
}
