import Foundation
import STAC
import TandemBase

/// Pairs S1 items with S2 items by footprint overlap, time difference and cloud cover.
///
/// Rules (see `Docs/CATALOG.md`): an S1 item and an S2 item pair when
/// `|t₂ − t₁| ≤ maxDays` (times from `datetime`, else the middle of start/end), the S2 item's
/// `eo:cloud_cover ≤ maxCloud`, and their lon/lat footprints share an area of at least
/// `minOverlap` of the smaller footprint. A matching pair is then checked on the pixel grids
/// from `proj:*`: all assets in one CRS → exact windows (`aligned`); some grid unknown → kept
/// as `unknown`; different CRSs or rotated grids → rejected and counted by reason.
///
/// ``pair(_:)`` finds candidates with a spatial grid index whose cells hold S2 entries sorted
/// by time, so each S1 item only looks at S2 items nearby in space and time; the work grows
/// with the number of items, not its square. ``pairBruteForce(_:)`` is the O(n²) reference.
public struct Pairer: Sendable {
  /// Settings used.
  public var parameters: PairingParameters
  /// Classifies items and picks assets.
  public var selector: AssetSelector

  /// Creates a value from its parts.
  public init(
    parameters: PairingParameters = PairingParameters(), selector: AssetSelector = AssetSelector()
  ) {
    self.parameters = parameters
    self.selector = selector
  }

  /// An item ready for pairing.
  struct Entry {
    var item: Int
    var id: String
    var collection: String?
    var time: Double
    var footprint: Footprint
    var envelope: Rect
    var cloud: Double?
    var assets: [SelectedAsset]
    var grids: [PixelGrid]
    /// Set when some asset has no usable grid.
    var gridProblem: PixelGrid.Problem?
  }

  struct Prepared {
    var s1: [Entry] = []
    var s2: [Entry] = []
    var skipped: [SkippedItem] = []
  }

  func prepare(_ items: [Item]) -> Prepared {
    var out = Prepared()
    for (index, item) in items.enumerated() {
      func skip(_ reason: String) {
        out.skipped.append(SkippedItem(id: item.id, collection: item.collection, reason: reason))
      }
      let sensor: Sensor
      let assets: [SelectedAsset]
      switch selector.select(item) {
      case .skipped(let why):
        skip(why)
        continue
      case .selected(let s, let a):
        sensor = s
        assets = a
      }
      guard let date = item.nominalDate else {
        skip("no datetime")
        continue
      }
      guard let footprint = Footprint(item: item) else {
        skip("no footprint (geometry and bbox missing or without area)")
        continue
      }
      let cloud = item.cloudCover
      if sensor == .sentinel2 {
        if let cloud {
          if cloud > parameters.maxCloud {
            skip("eo:cloud_cover above the maximum (\(cloud) > \(parameters.maxCloud))")
            continue
          }
        } else if parameters.maxCloud < 100 {
          skip("no eo:cloud_cover (needed while max cloud \(parameters.maxCloud) < 100)")
          continue
        }
      }
      var grids: [PixelGrid] = []
      var problem: PixelGrid.Problem?
      for a in assets {
        switch PixelGrid.make(a.projection) {
        case .success(let g): grids.append(g)
        case .failure(let p): if problem == nil || p == .rotated { problem = p }
        }
      }
      let entry = Entry(
        item: index, id: item.id, collection: item.collection, time: date.timeIntervalSince1970,
        footprint: footprint, envelope: footprint.envelope, cloud: cloud, assets: assets,
        grids: grids,
        gridProblem: problem)
      if sensor == .sentinel1 { out.s1.append(entry) } else { out.s2.append(entry) }
    }
    return out
  }

  enum Outcome {
    case none
    case pair(Pair)
    case rejected(String)
  }

  /// The pairing predicate shared by the indexed and the brute-force search.
  func evaluate(_ a: Entry, _ b: Entry) -> Outcome {
    let dt = b.time - a.time
    guard abs(dt) <= parameters.maxDays * 86400 else { return .none }
    guard a.envelope.touches(b.envelope) else { return .none }
    let shared = a.footprint.intersectionArea(with: b.footprint)
    guard shared > 0 else { return .none }
    let overlap = min(1, shared / min(a.footprint.area, b.footprint.area))
    guard overlap >= parameters.minOverlap else { return .none }

    func side(_ e: Entry, windows: [PixelWindow?]) -> PairedItem {
      PairedItem(
        id: e.id, collection: e.collection,
        datetime: RFC3339.format(Date(timeIntervalSince1970: e.time)), cloudCover: e.cloud,
        assets: zip(e.assets, windows).map { asset, window in
          PairedAsset(
            channel: asset.channel, key: asset.key, href: asset.href, crs: asset.projection.crs,
            transform: asset.projection.transform, shape: asset.projection.shape, window: window,
            headerSize: asset.headerSize)
        })
    }
    if a.gridProblem == .rotated || b.gridProblem == .rotated {
      return .rejected("rotated or sheared pixel grid")
    }
    if a.gridProblem != nil || b.gridProblem != nil {
      return .pair(
        Pair(
          s1: side(a, windows: Array(repeating: nil, count: a.assets.count)),
          s2: side(b, windows: Array(repeating: nil, count: b.assets.count)), deltaHours: dt / 3600,
          overlap: overlap, crs: nil, grid: .unknown, commonBounds: nil))
    }
    // Empty only for asset rules that select no channel (e.g. no polarizations): nothing to
    // align, so no pair rather than an index trap.
    guard let first = a.grids.first, !b.grids.isEmpty else {
      return .rejected("no assets with a pixel grid")
    }
    let crs = first.crs
    guard (a.grids + b.grids).allSatisfy({ $0.crs == crs }) else {
      return .rejected("different CRS")
    }
    var common = first.extent
    for g in a.grids.dropFirst() + b.grids { common = common.intersection(g.extent) }
    guard !common.isEmpty else { return .rejected("pixel grids do not intersect") }
    let wa = a.grids.map { $0.window(inside: common) }
    let wb = b.grids.map { $0.window(inside: common) }
    guard !wa.contains(nil), !wb.contains(nil) else {
      return .rejected("pixel grids do not intersect")
    }
    return .pair(
      Pair(
        s1: side(a, windows: wa), s2: side(b, windows: wb), deltaHours: dt / 3600, overlap: overlap,
        crs: crs, grid: .aligned, commonBounds: common.array))
  }

  /// Pairs with the space × time index.
  public func pair(_ items: [Item]) -> PairIndex {
    let prepared = prepare(items)
    var index = PairIndex(
      parameters: parameters, skipped: prepared.skipped, s1Items: prepared.s1.count,
      s2Items: prepared.s2.count)
    guard !prepared.s1.isEmpty, !prepared.s2.isEmpty else { return index }
    let largest =
      (prepared.s1 + prepared.s2).map { max($0.envelope.width, $0.envelope.height) }.max() ?? 1
    let grid = SpaceTimeIndex(prepared.s2, minimumCellSize: largest / 256)
    let maxSeconds = parameters.maxDays * 86400
    var stamp = [Int32](repeating: -1, count: prepared.s2.count)
    var candidates: [Int32] = []
    for (i, a) in prepared.s1.enumerated() {
      candidates.removeAll(keepingCapacity: true)
      for bounds in a.footprint.bounds {
        grid.visit(bounds, from: a.time - maxSeconds - 0.001, to: a.time + maxSeconds + 0.001) {
          j in
          if stamp[Int(j)] != Int32(i) {
            stamp[Int(j)] = Int32(i)
            candidates.append(j)
          }
        }
      }
      candidates.sort()
      index.candidates += candidates.count
      for j in candidates {
        record(evaluate(a, prepared.s2[Int(j)]), into: &index)
      }
    }
    return index
  }

  /// The O(n²) reference: every S1 item against every S2 item.
  public func pairBruteForce(_ items: [Item]) -> PairIndex {
    let prepared = prepare(items)
    var index = PairIndex(
      parameters: parameters, skipped: prepared.skipped, s1Items: prepared.s1.count,
      s2Items: prepared.s2.count)
    for a in prepared.s1 {
      for b in prepared.s2 {
        index.candidates += 1
        record(evaluate(a, b), into: &index)
      }
    }
    return index
  }

  func record(_ outcome: Outcome, into index: inout PairIndex) {
    switch outcome {
    case .none: break
    case .pair(let p): index.pairs.append(p)
    case .rejected(let why): index.rejected[why, default: 0] += 1
    }
  }
}

/// A uniform lon/lat grid whose cells list the S2 entries touching them, sorted by time, stored
/// compactly (one offsets array over all cells and one entry array: no per-cell allocation).
struct SpaceTimeIndex {
  let cellSize: Double
  let nx: Int
  let ny: Int
  /// Entries of cell `c` are `ids[offsets[c]..<offsets[c + 1]]`, with their times in `times`.
  var offsets: [Int32]
  var ids: [Int32]
  var times: [Double]

  /// At most this many cells, so the offsets array stays small whatever the footprint sizes.
  static let maxCells = 4_000_000

  /// `minimumCellSize` keeps the number of cells one huge footprint touches bounded.
  init(_ entries: [Pairer.Entry], minimumCellSize: Double) {
    // Cells about the size of a typical S2 footprint: each S1 query touches a handful of cells
    // and each cell holds few entries per time window.
    var sizes = entries.flatMap { $0.footprint.bounds.map { max($0.width, $0.height) } }
    sizes.sort()
    let median = sizes.isEmpty ? 1 : sizes[sizes.count / 2]
    let floorSize = (360.0 * 180.0 / Double(SpaceTimeIndex.maxCells)).squareRoot()
    let size = min(30, max(floorSize, median, minimumCellSize))
    cellSize = size
    nx = Int((360 / size).rounded(.up)) + 1
    ny = Int((180 / size).rounded(.up)) + 1
    // Fill in time order so that every cell's slice comes out sorted by time.
    let order = entries.indices.sorted { (entries[$0].time, $0) < (entries[$1].time, $1) }
    var counts = [Int32](repeating: 0, count: nx * ny + 1)
    var cellsOf: [[Int]] = Array(repeating: [], count: entries.count)
    for j in entries.indices {
      var cells: [Int] = []
      for b in entries[j].footprint.bounds {
        SpaceTimeIndex.forEachCell(b, size: size, nx: nx, ny: ny) { key in
          if !cells.contains(key) { cells.append(key) }
        }
      }
      for c in cells { counts[c + 1] += 1 }
      cellsOf[j] = cells
    }
    for c in 0..<(nx * ny) { counts[c + 1] += counts[c] }
    var cursor = counts
    var ids = [Int32](repeating: 0, count: Int(counts[nx * ny]))
    var times = [Double](repeating: 0, count: ids.count)
    for j in order {
      for c in cellsOf[j] {
        let at = Int(cursor[c])
        ids[at] = Int32(j)
        times[at] = entries[j].time
        cursor[c] += 1
      }
    }
    offsets = counts
    self.ids = ids
    self.times = times
  }

  static func forEachCell(_ b: Rect, size: Double, nx: Int, ny: Int, _ body: (Int) -> Void) {
    // Clamp in floating point first: coordinates far outside the globe must not trap in Int().
    func cx(_ x: Double) -> Int {
      Int(min(Double(nx - 1), max(0, ((x + 180) / size).rounded(.down))))
    }
    func cy(_ y: Double) -> Int {
      Int(min(Double(ny - 1), max(0, ((y + 90) / size).rounded(.down))))
    }
    for iy in cy(b.minY)...cy(b.maxY) {
      for ix in cx(b.minX)...cx(b.maxX) { body(iy * nx + ix) }
    }
  }

  /// Calls `body` with every entry in the cells touching `bounds` whose time is in `[t0, t1]`.
  func visit(_ bounds: Rect, from t0: Double, to t1: Double, _ body: (Int32) -> Void) {
    SpaceTimeIndex.forEachCell(bounds, size: cellSize, nx: nx, ny: ny) { key in
      var lo = Int(offsets[key])
      var hi = Int(offsets[key + 1])
      let end = hi
      while lo < hi {
        let mid = (lo + hi) / 2
        if times[mid] < t0 { lo = mid + 1 } else { hi = mid }
      }
      var k = lo
      while k < end && times[k] <= t1 {
        body(ids[k])
        k += 1
      }
    }
  }
}
