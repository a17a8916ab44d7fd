/// Where a north-up raster sits on the Earth: a projected CRS (EPSG code) and an affine grid with
/// square pixels whose upper-left corner is at (`originX`, `originY`).
public struct GeoReference: Sendable, Hashable {
  /// EPSG code of the projected CRS, e.g. 32631 (WGS 84 / UTM zone 31N).
  public var epsg: Int
  /// Easting of the upper-left corner of the upper-left pixel, metres.
  public var originX: Double
  /// Northing of the upper-left corner of the upper-left pixel, metres.
  public var originY: Double
  /// Pixel size, metres (10 for Sentinel-2 10 m bands).
  public var pixelSize: Double

  /// A grid in `epsg` with its upper-left corner at (`originX`, `originY`) and square pixels.
  public init(epsg: Int, originX: Double, originY: Double, pixelSize: Double) {
    self.epsg = epsg
    self.originX = originX
    self.originY = originY
    self.pixelSize = pixelSize
  }

  /// The six affine coefficients in STAC `proj:transform` / rasterio order `[a, b, c, d, e, f]`
  /// (x = a·col + b·row + c, y = d·col + e·row + f).
  public var affine: [Double] { [pixelSize, 0, originX, 0, -pixelSize, originY] }

  /// The same grid coarsened by `factor` (an overview level).
  public func scaled(by factor: Int) -> GeoReference {
    GeoReference(
      epsg: epsg, originX: originX, originY: originY, pixelSize: pixelSize * Double(factor))
  }
}

/// Pixel values of a single-band raster, row-major, in one of the sample types the fixtures use.
public enum PixelData: Sendable, Equatable {
  /// Labels and masks.
  case uint8([UInt8])
  /// Sentinel-2 reflectance × 10000.
  case uint16([UInt16])
  /// Sentinel-1 linear backscatter.
  case float32([Float])

  /// Number of pixels.
  public var count: Int {
    switch self {
    case .uint8(let v): v.count
    case .uint16(let v): v.count
    case .float32(let v): v.count
    }
  }

  /// Bytes per sample.
  public var bytesPerSample: Int {
    switch self {
    case .uint8: 1
    case .uint16: 2
    case .float32: 4
    }
  }

  /// The NumPy-style data type name (`uint8`, `uint16`, `float32`), as used in STAC `raster:bands`.
  public var dataTypeName: String {
    switch self {
    case .uint8: "uint8"
    case .uint16: "uint16"
    case .float32: "float32"
    }
  }
}

/// How overview pixels are computed from the level above.
public enum OverviewResampling: Sendable {
  /// Mean of the valid (non-nodata) pixels of each 2×2 block: continuous measurements.
  case average
  /// The upper-left pixel of each 2×2 block: class labels and masks (no invented classes).
  case nearest
}

/// A single-band georeferenced raster ready to be written as a cloud-optimized GeoTIFF.
public struct RasterImage: Sendable {
  /// Columns.
  public var width: Int
  /// Rows.
  public var height: Int
  /// Row-major pixel values (`width`·`height` of them).
  public var pixels: PixelData
  /// The nodata value written to the GDAL_NODATA tag, if any.
  public var nodata: Double?
  /// Where the raster sits (written as GeoKeys, ModelPixelScale and ModelTiepoint).
  public var geo: GeoReference
  /// How overview levels are computed.
  public var resampling: OverviewResampling

  /// A raster; `pixels` must hold `width`·`height` values.
  public init(
    width: Int, height: Int, pixels: PixelData, nodata: Double?, geo: GeoReference,
    resampling: OverviewResampling
  ) {
    precondition(width > 0 && height > 0 && pixels.count == width * height, "raster size mismatch")
    self.width = width
    self.height = height
    self.pixels = pixels
    self.nodata = nodata
    self.geo = geo
    self.resampling = resampling
  }

  /// The raster reduced by 2 in each direction (odd trailing rows/columns fold into the last
  /// output pixel's block, which then averages fewer inputs).
  func halved() -> RasterImage {
    let w = (width + 1) / 2
    let h = (height + 1) / 2
    let reduced: PixelData
    switch pixels {
    case .uint8(let v):
      reduced = .uint8(Self.reduce(v, width, height, w, h, nodata, resampling, round: true))
    case .uint16(let v):
      reduced = .uint16(Self.reduce(v, width, height, w, h, nodata, resampling, round: true))
    case .float32(let v):
      reduced = .float32(Self.reduce(v, width, height, w, h, nodata, resampling, round: false))
    }
    return RasterImage(
      width: w, height: h, pixels: reduced, nodata: nodata, geo: geo.scaled(by: 2),
      resampling: resampling)
  }

  private static func reduce<T: BinaryFloatingPoint & Sendable>(
    _ v: [T], _ width: Int, _ height: Int, _ w: Int, _ h: Int, _ nodata: Double?,
    _ resampling: OverviewResampling, round: Bool
  ) -> [T] {
    reduceGeneric(v, width, height, w, h, nodata, resampling, { Double($0) }, { T($0) })
  }

  private static func reduce<T: FixedWidthInteger & Sendable>(
    _ v: [T], _ width: Int, _ height: Int, _ w: Int, _ h: Int, _ nodata: Double?,
    _ resampling: OverviewResampling, round: Bool
  ) -> [T] {
    reduceGeneric(
      v, width, height, w, h, nodata, resampling, { Double($0) },
      { T(clamping: Int(($0).rounded(.toNearestOrEven))) })
  }

  private static func reduceGeneric<T>(
    _ v: [T], _ width: Int, _ height: Int, _ w: Int, _ h: Int, _ nodata: Double?,
    _ resampling: OverviewResampling, _ toDouble: (T) -> Double, _ fromDouble: (Double) -> T
  ) -> [T] {
    var out = [T]()
    out.reserveCapacity(w * h)
    for oy in 0..<h {
      for ox in 0..<w {
        let x0 = ox * 2
        let y0 = oy * 2
        if resampling == .nearest {
          out.append(v[y0 * width + x0])
          continue
        }
        var sum = 0.0
        var n = 0
        for y in y0..<min(y0 + 2, height) {
          for x in x0..<min(x0 + 2, width) {
            let d = toDouble(v[y * width + x])
            if d.isNaN || d == nodata { continue }
            sum += d
            n += 1
          }
        }
        out.append(n == 0 ? fromDouble(nodata ?? 0) : fromDouble(sum / Double(n)))
      }
    }
    return out
  }
}
