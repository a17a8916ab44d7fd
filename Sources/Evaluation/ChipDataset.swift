import Foundation
import GeoTIFF
import Pipeline
import RangeIO
import STAC
import TandemBase

/// Probe windows from labelled chips in the Sen1Floods11 layout: one STAC item per chip with
/// assets `S1Hand` (σ0 in **dB**, band 1 VV, band 2 VH, NaN no-data) and `LabelHand` (1 water,
/// 0 land, −1 no data) on the same grid — e.g. `Catalogs/real/`. Such catalogs have no S1/S2
/// pairs and no tiles with roles, so the split is spatial inside each chip: windows of a
/// non-overlapping grid whose left edge is in the chip's west half fit the probe, those in the
/// east half score it (the halves share a border but no pixel).
public enum ChipDatasetBuilder {
  /// Asset keys of the layout.
  static let s1Key = "S1Hand"
  static let labelKey = "LabelHand"

  /// Items in the layout (both assets present).
  public static func chips(in items: [Item]) -> [Item] {
    items.filter { item in
      item.assets.contains { $0.key == s1Key } && item.assets.contains { $0.key == labelKey }
    }
  }

  /// Every chip's windows on a non-overlapping grid, split west/east, with S1 in dB as stored
  /// (`Normalization.s1Units` without conversion: clipped to [−50, 30]) and NaN where no data —
  /// standardize with ``ProbeSplit/standardized(with:)``. Windows with more than `maxNodata` of
  /// their pixels invalid are skipped.
  public static func build(
    chips: [Item], windowSize: Int, sourceOptions: SourceOptions, maxNodata: Double = 0.2
  ) async throws -> ProbeSplit {
    var split = ProbeSplit(train: [], test: [], skipped: [:])
    let plane = windowSize * windowSize
    for item in chips {
      let location = item.sourceURL ?? item.id
      guard let s1Asset = item.assets.first(where: { $0.key == s1Key }),
        let labelAsset = item.assets.first(where: { $0.key == labelKey })
      else { continue }
      let s1 = try await COGDataset.open(
        try ByteSources.open(item.resolvedHref(of: s1Asset), options: sourceOptions),
        headerSize: s1Asset.headerSize)
      let labels = try await COGDataset.open(
        try ByteSources.open(item.resolvedHref(of: labelAsset), options: sourceOptions),
        headerSize: labelAsset.headerSize)
      let image = s1.mainImage
      let labelImage = labels.mainImage
      guard image.samplesPerPixel >= 2 else {
        throw PipelineError(
          location: location,
          message: "\(s1Key) has \(image.samplesPerPixel) band(s); expected VV and VH")
      }
      guard image.width == labelImage.width && image.height == labelImage.height else {
        throw PipelineError(
          location: location,
          message:
            "\(s1Key) is \(image.width)×\(image.height) but \(labelKey) is "
            + "\(labelImage.width)×\(labelImage.height) (they must share the grid)")
      }
      let half = image.width / 2
      for y in stride(from: 0, through: image.height - windowSize, by: windowSize) {
        for x in stride(from: 0, through: image.width - windowSize, by: windowSize) {
          let window = PixelWindow(x: x, y: y, width: windowSize, height: windowSize)
          // West half trains, east half tests; a window straddling the middle is dropped.
          let west = x + windowSize <= half
          guard west || x >= half else {
            split.skipped["straddles the west/east split", default: 0] += 1
            continue
          }
          let raster = try await s1.read(window: window, bands: [0, 1])
          var values = [Float](repeating: .nan, count: 2 * plane)
          var invalid = 0
          for band in 0..<2 {
            for row in 0..<windowSize {
              for column in 0..<windowSize {
                let v = raster.value(band: band, row: row, column: column)
                let i = band * plane + row * windowSize + column
                if v.isFinite && v != s1.nodata {
                  values[i] = Normalization.s1Units(Float(v), toDecibels: false)
                } else if band == 0 || !values[row * windowSize + column].isNaN {
                  invalid += 1
                }
              }
            }
          }
          if Double(invalid) > maxNodata * Double(plane) {
            split.skipped["nodata", default: 0] += 1
            continue
          }
          let label = try await labels.read(window: window, bands: [0])
          var classes = [Int](repeating: -1, count: plane)
          for row in 0..<windowSize {
            for column in 0..<windowSize {
              classes[row * windowSize + column] = ProbeTask.flood.classIndex(
                label.value(band: 0, row: row, column: column))
            }
          }
          let w = ProbeWindow(
            tile: item.id + (west ? "/west" : "/east"), s1ID: item.id, s2ID: "", x: x, y: y,
            size: windowSize, s1: values, s2: [], labels: classes)
          if west { split.train.append(w) } else { split.test.append(w) }
        }
      }
    }
    return split
  }

  /// Per-band mean and standard deviation of the finite S1 values of `windows` (dB).
  public static func s1Statistics(_ windows: [ProbeWindow]) -> (mean: [Float], std: [Float]) {
    var sum = [Double](repeating: 0, count: 2)
    var sumSq = [Double](repeating: 0, count: 2)
    var count = [Double](repeating: 0, count: 2)
    for w in windows {
      let plane = w.size * w.size
      for band in 0..<2 {
        for v in w.s1[(band * plane)..<((band + 1) * plane)] where !v.isNaN {
          sum[band] += Double(v)
          sumSq[band] += Double(v) * Double(v)
          count[band] += 1
        }
      }
    }
    var mean = [Float](repeating: 0, count: 2)
    var std = [Float](repeating: 1, count: 2)
    for band in 0..<2 where count[band] > 0 {
      let m = sum[band] / count[band]
      mean[band] = Float(m)
      std[band] = Float(max(sumSq[band] / count[band] - m * m, 1e-12).squareRoot())
    }
    return (mean, std)
  }
}
