/// NumPy `.npy` (format version 1.0) encoding and decoding for C-ordered little-endian arrays.
///
/// Used by `tandem read` and `tandem embed` to hand arrays to Python users, and by tests to read
/// reference arrays written by GDAL or PyTorch scripts.
public enum NPY {
  /// Element types Tandem writes, with their NumPy descriptors.
  public enum DType: String, Sendable, CaseIterable, Codable {
    case uint8 = "|u1"
    case int8 = "|i1"
    case uint16 = "<u2"
    case int16 = "<i2"
    case uint32 = "<u4"
    case int32 = "<i4"
    case uint64 = "<u8"
    case int64 = "<i8"
    case float16 = "<f2"
    case float32 = "<f4"
    case float64 = "<f8"

    /// Bytes per element.
    public var size: Int {
      switch self {
      case .uint8, .int8: 1
      case .uint16, .int16, .float16: 2
      case .uint32, .int32, .float32: 4
      case .uint64, .int64, .float64: 8
      }
    }
  }

  /// The header bytes (magic, version, length, padded dictionary) for an array.
  public static func header(dtype: DType, shape: [Int]) -> [UInt8] {
    let shapeText: String
    if shape.count == 1 {
      shapeText = "(\(shape[0]),)"
    } else {
      shapeText = "(" + shape.map(String.init).joined(separator: ", ") + ")"
    }
    var dict = "{'descr': '\(dtype.rawValue)', 'fortran_order': False, 'shape': \(shapeText), }"
    // magic(6) + version(2) + length(2) + dict + '\n' must be a multiple of 64.
    let unpadded = 10 + dict.utf8.count + 1
    let padding = (64 - unpadded % 64) % 64
    dict += String(repeating: " ", count: padding) + "\n"
    var out: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 1, 0]
    let length = UInt16(dict.utf8.count)
    out.append(UInt8(length & 0xFF))
    out.append(UInt8(length >> 8))
    out.append(contentsOf: dict.utf8)
    return out
  }

  /// Encodes an array whose little-endian element bytes are `data`.
  public static func encode(dtype: DType, shape: [Int], data: [UInt8]) -> [UInt8] {
    precondition(
      shape.reduce(1, *) * dtype.size == data.count, "NPY data size does not match shape")
    return header(dtype: dtype, shape: shape) + data
  }

  /// Writes an array atomically to `path`.
  public static func write(
    dtype: DType, shape: [Int], data: [UInt8], to path: String
  ) throws(FileWriteError) {
    try AtomicFile.write(encode(dtype: dtype, shape: shape, data: data), to: path)
  }

  /// A decoded array: descriptor, shape and raw element bytes (little-endian, C order).
  public struct Array: Sendable {
    public var dtype: DType
    public var shape: [Int]
    public var data: [UInt8]

    /// The elements reinterpreted as `T` (whose size must equal the dtype's size).
    public func elements<T>(as _: T.Type) -> [T] {
      precondition(MemoryLayout<T>.stride == dtype.size)
      let count = data.count / dtype.size
      return data.withUnsafeBytes { raw in
        (0..<count).map { raw.loadUnaligned(fromByteOffset: $0 * dtype.size, as: T.self) }
      }
    }
  }

  /// Errors from decoding a malformed `.npy`.
  public struct DecodeError: Error, CustomStringConvertible, Sendable {
    public var reason: String
    public var description: String { "not a valid .npy array: \(reason)" }
  }

  /// Decodes `.npy` bytes (format 1.0 or 2.0, little-endian, C order).
  public static func decode(_ bytes: [UInt8]) throws(DecodeError) -> Array {
    guard bytes.count >= 10, bytes[0] == 0x93, bytes[1...5].elementsEqual("NUMPY".utf8) else {
      throw DecodeError(reason: "bad magic")
    }
    let major = bytes[6]
    var headerLength: Int
    var start: Int
    if major == 1 {
      headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
      start = 10
    } else if major == 2 || major == 3 {
      guard bytes.count >= 12 else { throw DecodeError(reason: "truncated header") }
      headerLength =
        Int(bytes[8]) | Int(bytes[9]) << 8 | Int(bytes[10]) << 16 | Int(bytes[11]) << 24
      start = 12
    } else {
      throw DecodeError(reason: "unsupported version \(major)")
    }
    guard start + headerLength <= bytes.count else { throw DecodeError(reason: "truncated header") }
    let text = String(decoding: bytes[start..<(start + headerLength)], as: UTF8.self)
    guard let descr = field("descr", in: text), let type = DType(rawValue: descr.trimmingQuotes())
    else {
      throw DecodeError(reason: "unsupported descr in \(text)")
    }
    if let fortran = field("fortran_order", in: text), fortran.hasPrefix("True") {
      throw DecodeError(reason: "Fortran order is not supported")
    }
    guard let shapeText = field("shape", in: text) else { throw DecodeError(reason: "no shape") }
    guard shapeText.first == "(" else { throw DecodeError(reason: "shape is not a tuple") }
    let inner = shapeText.dropFirst().prefix(while: { $0 != ")" })
    // Every dimension a non-negative integer (a trailing comma is allowed: `(3,)`), and the
    // element count must not overflow: hostile headers declare shapes like (10**20, 2).
    var shape: [Int] = []
    var count = type.size
    let parts =
      inner.allSatisfy { $0 == " " }
      ? [] : inner.split(separator: ",", omittingEmptySubsequences: false)
    for (i, part) in parts.enumerated() {
      let text = part.trimmingCharacters(in: " ")
      if text.isEmpty && i > 0 && shape.count == i { continue }
      guard let d = Int(text), d >= 0 else {
        throw DecodeError(reason: "shape (\(inner)) has a dimension that is not a count")
      }
      let (product, overflow) = count.multipliedReportingOverflow(by: d)
      guard !overflow else { throw DecodeError(reason: "shape (\(inner)) is too large") }
      count = product
      shape.append(d)
    }
    let dataStart = start + headerLength
    guard bytes.count - dataStart == count else {
      throw DecodeError(reason: "expected \(count) data bytes, found \(bytes.count - dataStart)")
    }
    return Array(dtype: type, shape: shape, data: Swift.Array(bytes[dataStart...]))
  }

  private static func field(_ key: String, in text: String) -> String? {
    guard let range = text.range(of: "'\(key)':") else { return nil }
    return String(text[range.upperBound...]).trimmingCharacters(in: " ")
  }
}

extension String {
  fileprivate func trimmingCharacters(in set: Character) -> String {
    var s = Substring(self)
    while s.first == set { s = s.dropFirst() }
    while s.last == set { s = s.dropLast() }
    return String(s)
  }

  fileprivate func trimmingQuotes() -> String {
    guard let first = firstIndex(of: "'") else { return self }
    let rest = self[index(after: first)...]
    guard let end = rest.firstIndex(of: "'") else { return self }
    return String(rest[..<end])
  }
}

extension Substring {
  fileprivate func trimmingCharacters(in set: Character) -> String {
    String(self).trimmingCharacters(in: set)
  }
}
