/// Decoded pixels: `bands × height × width` samples in C order (`[band][row][column]`), in the
/// machine's native byte order.
public struct Raster: Sendable, Equatable {
  /// Element type of ``bytes``.
  public var sampleType: SampleType
  /// Shape `[bands, height, width]`.
  public var bands: Int
  public var height: Int
  public var width: Int
  /// `bands * height * width * sampleType.size` bytes.
  public var bytes: [UInt8]

  public init(sampleType: SampleType, bands: Int, height: Int, width: Int, bytes: [UInt8]) {
    precondition(bytes.count == bands * height * width * sampleType.size, "raster size mismatch")
    self.sampleType = sampleType
    self.bands = bands
    self.height = height
    self.width = width
    self.bytes = bytes
  }

  /// A raster with every sample set to `value` (converted to the sample type; values that do not
  /// fit, such as NaN for integer types, become 0).
  public init(sampleType: SampleType, bands: Int, height: Int, width: Int, filledWith value: Double)
  {
    let count = bands * height * width
    let pattern = Raster.bitPattern(value, sampleType)
    var bytes = [UInt8](repeating: 0, count: count * sampleType.size)
    if count > 0, pattern.contains(where: { $0 != 0 }) {
      // One element, then double the filled prefix with memcpy.
      bytes.withUnsafeMutableBytes { raw in
        for (k, b) in pattern.enumerated() { raw[k] = b }
        var filled = pattern.count
        while filled < raw.count {
          let n = min(filled, raw.count - filled)
          (raw.baseAddress! + filled).copyMemory(from: raw.baseAddress!, byteCount: n)
          filled += n
        }
      }
    }
    self.init(sampleType: sampleType, bands: bands, height: height, width: width, bytes: bytes)
  }

  /// The sample at `(band, row, column)` as a `Double`.
  public func value(band: Int, row: Int, column: Int) -> Double {
    let i = ((band * height + row) * width + column) * sampleType.size
    return bytes.withUnsafeBytes { raw in
      switch sampleType {
      case .uint8: Double(raw.load(fromByteOffset: i, as: UInt8.self))
      case .int8: Double(raw.load(fromByteOffset: i, as: Int8.self))
      case .uint16: Double(raw.loadUnaligned(fromByteOffset: i, as: UInt16.self))
      case .int16: Double(raw.loadUnaligned(fromByteOffset: i, as: Int16.self))
      case .uint32: Double(raw.loadUnaligned(fromByteOffset: i, as: UInt32.self))
      case .int32: Double(raw.loadUnaligned(fromByteOffset: i, as: Int32.self))
      case .float16:
        Double(Float(Float16(bitPattern: raw.loadUnaligned(fromByteOffset: i, as: UInt16.self))))
      case .float32: Double(raw.loadUnaligned(fromByteOffset: i, as: Float.self))
      case .float64: raw.loadUnaligned(fromByteOffset: i, as: Double.self)
      }
    }
  }

  /// Native-endian bytes of `value` as one sample of `type`; 0 when it does not fit.
  static func bitPattern(_ value: Double, _ type: SampleType) -> [UInt8] {
    func bytes<T>(_ v: T) -> [UInt8] { withUnsafeBytes(of: v) { Array($0) } }
    func integer<T: FixedWidthInteger>(_: T.Type) -> [UInt8] {
      guard value.isFinite, value.rounded() == value, let v = T(exactly: value) else {
        return bytes(T.zero)
      }
      return bytes(v)
    }
    switch type {
    case .uint8: return integer(UInt8.self)
    case .int8: return integer(Int8.self)
    case .uint16: return integer(UInt16.self)
    case .int16: return integer(Int16.self)
    case .uint32: return integer(UInt32.self)
    case .int32: return integer(Int32.self)
    case .float16: return bytes(Float16(value))
    case .float32: return bytes(Float(value))
    case .float64: return bytes(value)
    }
  }
}
