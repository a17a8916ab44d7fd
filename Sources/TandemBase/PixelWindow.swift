/// A rectangle of pixels in one raster's own grid: columns `[x, x + width)`, rows
/// `[y, y + height)`. The one window type of the package: the COG reader reads it (it may extend
/// past the image, or lie outside it; the uncovered part is nodata), pairing reports each
/// asset's share of a pair's common footprint with it, and `tandem read --window X,Y,W,H` takes it.
public struct PixelWindow: Sendable, Hashable, Codable, CustomStringConvertible {
  /// First column (may be negative for reads).
  public var x: Int
  /// First row (may be negative for reads).
  public var y: Int
  /// Columns (> 0 for reads).
  public var width: Int
  /// Rows (> 0 for reads).
  public var height: Int

  public init(x: Int, y: Int, width: Int, height: Int) {
    self.x = x
    self.y = y
    self.width = width
    self.height = height
  }

  /// `x,y,width,height`, as `--window` takes it.
  public var description: String { "\(x),\(y),\(width),\(height)" }
}
