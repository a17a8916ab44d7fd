/// Whether a file is laid out as a Cloud Optimized GeoTIFF, with the reasons when it is not.
/// Follows GDAL's `validate_cloud_optimized_geotiff.py`.
public struct COGLayout: Sendable, Codable, Equatable {
  /// No errors (warnings allowed).
  public var isValid: Bool
  /// Every IFD (and its tag data) lies before the first tile or strip.
  public var ifdsBeforeData: Bool
  /// Blocks of smaller overviews come first, and blocks within each image are in row-major order.
  public var blocksOrdered: Bool
  /// GDAL's structural metadata block is present after the header.
  public var hasGhostArea: Bool
  /// Problems that make the file not a COG.
  public var errors: [String]
  /// Deviations that do not (e.g. no overviews on a large image).
  public var warnings: [String]
}

extension COGDataset {
  /// Checks the COG layout; loads every strile array (a few requests for non-COG files).
  public func cogLayout() async throws(GeoTIFFError) -> COGLayout {
    var errors: [String] = []
    var warnings: [String] = []
    let main = mainImage
    let chain = images.filter { !$0.isSubIFD }
    if !main.isTiled && (main.width > 512 || main.height > 512) {
      errors.append("the main image is not tiled (\(main.width)×\(main.height) > 512)")
    }
    if (main.width > 512 || main.height > 512) && overviews.isEmpty {
      warnings.append("no internal overviews on an image larger than 512 pixels")
    }
    for o in overviews where !o.isTiled {
      errors.append("overview IFD \(o.index) is not tiled")
    }
    // As GDAL's validator: IFD offsets ascending and first blocks descending along main +
    // overviews (largest first); masks are not part of these two checks.
    let levels = [main] + overviews
    for (a, b) in zip(levels, levels.dropFirst()) where b.offset < a.offset {
      errors.append(
        "IFD \(b.index) (offset \(b.offset)) comes before IFD \(a.index) (offset \(a.offset))")
    }
    // Data after every IFD.
    let maxIFD = images.map(\.offset).max() ?? 0
    var firstData = UInt64.max
    var firstOffsets: [(TIFFImage, UInt64)] = []
    var ordered = true
    for image in chain {
      let (offsets, counts) = try await allStriles(image)
      var last: UInt64 = 0
      var first: UInt64?
      for (o, c) in zip(offsets, counts) where o != 0 && c != 0 {
        if first == nil { first = o }
        firstData = min(firstData, o)
        if o < last {
          ordered = false
        }
        last = o
      }
      if let first, levels.contains(where: { $0.index == image.index }) {
        firstOffsets.append((image, first))
      }
    }
    if !ordered {
      errors.append("tiles or strips within an image are not in row-major order")
    }
    // Smaller images' data before larger ones': first blocks in descending order along the chain.
    for (a, b) in zip(firstOffsets, firstOffsets.dropFirst()) where b.1 > a.1 {
      ordered = false
      errors.append(
        "data of IFD \(b.0.index) (at \(b.1)) comes after data of IFD \(a.0.index) (at \(a.1)); "
          + "smaller overviews should come first")
    }
    let before = firstData == .max || maxIFD < firstData
    if !before {
      errors.append(
        "an IFD (offset \(maxIFD)) lies after the first tile data (offset \(firstData))")
    }
    let ghost = structuralMetadata != nil
    if !ghost {
      warnings.append("no GDAL structural metadata (ghost area)")
    } else if structuralMetadata?["LAYOUT"] != "IFDS_BEFORE_DATA" {
      warnings.append("ghost area does not declare LAYOUT=IFDS_BEFORE_DATA")
    }
    return COGLayout(
      isValid: errors.isEmpty, ifdsBeforeData: before, blocksOrdered: ordered, hasGhostArea: ghost,
      errors: errors, warnings: warnings)
  }
}
