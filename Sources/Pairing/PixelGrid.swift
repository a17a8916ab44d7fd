import STAC
import TandemBase

/// A north-up (axis-aligned) pixel grid from `proj:transform` and `proj:shape`.
public struct PixelGrid: Sendable, Hashable {
  /// CRS name, e.g. `EPSG:32633`.
  public var crs: String
  /// `[a, b, c, d, e, f]` as in STAC: `x = a·col + b·row + c`, `y = d·col + e·row + f`.
  public var transform: [Double]
  /// Number of rows.
  public var rows: Int
  /// Number of columns.
  public var cols: Int

  /// Why a projection does not give a usable grid.
  public enum Problem: Error, Sendable, Hashable {
    /// CRS, transform or shape absent.
    case unknown(String)
    /// Rotated or sheared transform.
    case rotated
  }

  /// The grid of an asset, or why there is none.
  public static func make(_ p: Projection) -> Result<PixelGrid, Problem> {
    guard let crs = p.crs else { return .failure(.unknown("no proj:epsg/proj:code")) }
    guard let t = p.transform, t.count >= 6, t.allSatisfy(\.isFinite) else {
      return .failure(.unknown("no proj:transform"))
    }
    guard let s = p.shape, s.count == 2, s[0] > 0, s[1] > 0 else {
      return .failure(.unknown("no proj:shape"))
    }
    guard t[1] == 0, t[3] == 0, t[0] != 0, t[4] != 0 else { return .failure(.rotated) }
    return .success(PixelGrid(crs: crs, transform: t, rows: s[0], cols: s[1]))
  }

  /// The grid's extent in CRS units.
  public var extent: Rect {
    let x0 = transform[2]
    let x1 = transform[2] + transform[0] * Double(cols)
    let y0 = transform[5]
    let y1 = transform[5] + transform[4] * Double(rows)
    return Rect(minX: min(x0, x1), minY: min(y0, y1), maxX: max(x0, x1), maxY: max(y0, y1))
  }

  /// The pixels lying wholly inside `region` (CRS units), clamped to the grid; `nil` if none.
  /// Rounding is inward so that the windows of two grids never reach outside their common area.
  public func window(inside region: Rect) -> PixelWindow? {
    let eps = 1e-9
    let c0 = (region.minX - transform[2]) / transform[0]
    let c1 = (region.maxX - transform[2]) / transform[0]
    let r0 = (region.minY - transform[5]) / transform[4]
    let r1 = (region.maxY - transform[5]) / transform[4]
    let colStart = max(0, Int((min(c0, c1) - eps).rounded(.up)))
    let colEnd = min(cols, Int((max(c0, c1) + eps).rounded(.down)))
    let rowStart = max(0, Int((min(r0, r1) - eps).rounded(.up)))
    let rowEnd = min(rows, Int((max(r0, r1) + eps).rounded(.down)))
    guard colEnd > colStart, rowEnd > rowStart else { return nil }
    return PixelWindow(
      x: colStart, y: rowStart, width: colEnd - colStart, height: rowEnd - rowStart)
  }
}
