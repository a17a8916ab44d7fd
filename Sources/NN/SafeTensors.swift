import Foundation
import TandemBase

/// A safetensors file could not be read or written: names the file, the tensor or byte range,
/// and the cause.
public struct SafeTensorsError: Error, CustomStringConvertible, Sendable {
  /// The file (or `<memory>` for in-memory decoding).
  public var path: String
  /// What is wrong.
  public var reason: String

  public init(path: String, reason: String) {
    self.path = path
    self.reason = reason
  }

  public var description: String { "safetensors \(path): \(reason)" }
}

/// The safetensors format (huggingface/safetensors): an 8-byte little-endian header length N,
/// N bytes of JSON `{name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {…}}`,
/// then the little-endian tensor bytes, offsets relative to the end of the header.
public enum SafeTensors {
  /// Element types of the format.
  public enum DType: String, Sendable, CaseIterable {
    case bool = "BOOL"
    case u8 = "U8"
    case i8 = "I8"
    case i16 = "I16"
    case u16 = "U16"
    case f16 = "F16"
    case bf16 = "BF16"
    case i32 = "I32"
    case u32 = "U32"
    case f32 = "F32"
    case f64 = "F64"
    case i64 = "I64"
    case u64 = "U64"

    /// Bytes per element.
    public var size: Int {
      switch self {
      case .bool, .u8, .i8: 1
      case .i16, .u16, .f16, .bf16: 2
      case .i32, .u32, .f32: 4
      case .f64, .i64, .u64: 8
      }
    }
  }

  /// One tensor: element type, shape and raw little-endian bytes.
  public struct TensorData: Sendable, Equatable {
    public var dtype: DType
    public var shape: [Int]
    public var bytes: [UInt8]

    public init(dtype: DType, shape: [Int], bytes: [UInt8]) {
      self.dtype = dtype
      self.shape = shape
      self.bytes = bytes
    }

    /// A F32 tensor from values.
    public static func float32(shape: [Int], values: [Float]) -> TensorData {
      precondition(values.count == shape.reduce(1, *))
      return TensorData(
        dtype: .f32, shape: shape, bytes: values.withUnsafeBytes { Array($0) })
    }

    /// A F32 tensor from `shape.product` floats at `values`.
    static func float32(shape: [Int], values: UnsafePointer<Float>) -> TensorData {
      let n = shape.reduce(1, *)
      return TensorData(
        dtype: .f32, shape: shape,
        bytes: Array(UnsafeRawBufferPointer(start: values, count: n * 4)))
    }

    /// A I64 tensor from values.
    public static func int64(shape: [Int], values: [Int64]) -> TensorData {
      precondition(values.count == shape.reduce(1, *))
      return TensorData(dtype: .i64, shape: shape, bytes: values.withUnsafeBytes { Array($0) })
    }

    /// The elements as Float (F32 as is; F64, F16, BF16 and integer types converted).
    public func floats(
      name: String = "?", path: String = "<memory>"
    ) throws(SafeTensorsError)
      -> [Float]
    {
      let n = shape.reduce(1, *)
      return bytes.withUnsafeBytes { raw -> [Float] in
        switch dtype {
        case .f32: return (0..<n).map { raw.loadUnaligned(fromByteOffset: $0 * 4, as: Float.self) }
        case .f64:
          return (0..<n).map { Float(raw.loadUnaligned(fromByteOffset: $0 * 8, as: Double.self)) }
        case .f16:
          return (0..<n).map {
            Float(Float16(bitPattern: raw.loadUnaligned(fromByteOffset: $0 * 2, as: UInt16.self)))
          }
        case .bf16:
          return (0..<n).map {
            Float(
              bitPattern: UInt32(raw.loadUnaligned(fromByteOffset: $0 * 2, as: UInt16.self)) << 16)
          }
        case .i64:
          return (0..<n).map { Float(raw.loadUnaligned(fromByteOffset: $0 * 8, as: Int64.self)) }
        case .i32:
          return (0..<n).map { Float(raw.loadUnaligned(fromByteOffset: $0 * 4, as: Int32.self)) }
        case .u8, .bool: return (0..<n).map { Float(raw[$0]) }
        case .i8: return (0..<n).map { Float(Int8(bitPattern: raw[$0])) }
        case .i16:
          return (0..<n).map { Float(raw.loadUnaligned(fromByteOffset: $0 * 2, as: Int16.self)) }
        case .u16:
          return (0..<n).map { Float(raw.loadUnaligned(fromByteOffset: $0 * 2, as: UInt16.self)) }
        case .u32:
          return (0..<n).map { Float(raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self)) }
        case .u64:
          return (0..<n).map { Float(raw.loadUnaligned(fromByteOffset: $0 * 8, as: UInt64.self)) }
        }
      }
    }

    /// The elements as Int64 (integer types only).
    public func int64s(
      name: String = "?", path: String = "<memory>"
    ) throws(SafeTensorsError)
      -> [Int64]
    {
      let n = shape.reduce(1, *)
      guard [.i64, .i32, .u8, .bool].contains(dtype) else {
        throw SafeTensorsError(
          path: path, reason: "tensor '\(name)' has dtype \(dtype.rawValue), expected an integer")
      }
      return bytes.withUnsafeBytes { raw -> [Int64] in
        switch dtype {
        case .i64: return (0..<n).map { raw.loadUnaligned(fromByteOffset: $0 * 8, as: Int64.self) }
        case .i32:
          return (0..<n).map { Int64(raw.loadUnaligned(fromByteOffset: $0 * 4, as: Int32.self)) }
        default: return (0..<n).map { Int64(raw[$0]) }
        }
      }
    }
  }

  /// A decoded file: tensors by name, names in file order, and the `__metadata__` strings.
  public struct File: Sendable {
    /// Where the file came from (for error messages).
    public var path: String
    /// Tensor names in data-offset order.
    public var names: [String]
    /// Tensors by name.
    public var tensors: [String: TensorData]
    /// The `__metadata__` map (string to string).
    public var metadata: [String: String]
  }

  /// Largest header accepted (the reference implementation uses 100 MB).
  public static let maxHeaderSize = 100_000_000

  /// Encodes tensors (in the given order) and metadata into safetensors bytes. The header is
  /// padded with spaces so the data starts 8-byte aligned.
  public static func encode(
    _ tensors: [(name: String, tensor: TensorData)], metadata: [String: String] = [:]
  ) -> [UInt8] {
    var json = "{"
    var first = true
    if !metadata.isEmpty {
      json += "\"__metadata__\":{"
      json += metadata.keys.sorted().map { "\(quote($0)):\(quote(metadata[$0]!))" }
        .joined(separator: ",")
      json += "}"
      first = false
    }
    var offset = 0
    for (name, t) in tensors {
      precondition(t.bytes.count == t.shape.reduce(1, *) * t.dtype.size, "bad tensor \(name)")
      if !first { json += "," }
      first = false
      let shape = t.shape.map(String.init).joined(separator: ",")
      json +=
        "\(quote(name)):{\"dtype\":\"\(t.dtype.rawValue)\",\"shape\":[\(shape)],"
        + "\"data_offsets\":[\(offset),\(offset + t.bytes.count)]}"
      offset += t.bytes.count
    }
    json += "}"
    var header = Array(json.utf8)
    while (8 + header.count) % 8 != 0 { header.append(0x20) }
    var out: [UInt8] = []
    out.reserveCapacity(8 + header.count + offset)
    let n = UInt64(header.count)
    for i in 0..<8 { out.append(UInt8((n >> (8 * UInt64(i))) & 0xFF)) }
    out += header
    for (_, t) in tensors { out += t.bytes }
    return out
  }

  /// Writes tensors and metadata to `path` atomically (temporary file + rename).
  public static func write(
    _ tensors: [(name: String, tensor: TensorData)], metadata: [String: String] = [:],
    to path: String
  ) throws(SafeTensorsError) {
    do {
      try AtomicFile.write(encode(tensors, metadata: metadata), to: path)
    } catch {
      throw SafeTensorsError(path: path, reason: error.description)
    }
  }

  /// Reads and decodes a file.
  public static func read(_ path: String) throws(SafeTensorsError) -> File {
    guard let data = FileManager.default.contents(atPath: path) else {
      throw SafeTensorsError(path: path, reason: "cannot read file")
    }
    return try decode([UInt8](data), path: path)
  }

  /// Decodes safetensors bytes, validating the header length, JSON, dtypes, shapes and that the
  /// data offsets tile the data section exactly (no gaps, overlaps or trailing bytes).
  public static func decode(
    _ bytes: [UInt8], path: String = "<memory>"
  ) throws(SafeTensorsError)
    -> File
  {
    func fail(_ reason: String) -> SafeTensorsError { SafeTensorsError(path: path, reason: reason) }
    guard bytes.count >= 8 else {
      throw fail("file is \(bytes.count) bytes, shorter than the 8-byte header length")
    }
    var n: UInt64 = 0
    for i in 0..<8 { n |= UInt64(bytes[i]) << (8 * UInt64(i)) }
    guard n <= UInt64(maxHeaderSize) else { throw fail("header length \(n) exceeds the limit") }
    guard 8 + Int(n) <= bytes.count else {
      throw fail("header length \(n) runs past the end of the file (\(bytes.count) bytes)")
    }
    let headerEnd = 8 + Int(n)
    let object: Any
    do {
      object = try JSONSerialization.jsonObject(with: Data(bytes[8..<headerEnd]))
    } catch {
      throw fail("header bytes 8..<\(headerEnd) are not valid JSON: \(error.localizedDescription)")
    }
    guard let dict = object as? [String: Any] else { throw fail("header is not a JSON object") }
    var metadata: [String: String] = [:]
    var entries: [(name: String, dtype: DType, shape: [Int], begin: Int, end: Int)] = []
    for (name, value) in dict {
      if name == "__metadata__" {
        guard let m = value as? [String: Any] else { throw fail("__metadata__ is not an object") }
        for (k, v) in m {
          guard let s = v as? String else { throw fail("__metadata__.\(k) is not a string") }
          metadata[k] = s
        }
        continue
      }
      guard let info = value as? [String: Any] else { throw fail("\(name): not an object") }
      guard let dt = info["dtype"] as? String, let dtype = DType(rawValue: dt) else {
        throw fail("\(name).dtype: missing or unsupported (\(String(describing: info["dtype"])))")
      }
      guard let shapeArray = info["shape"] as? [Any] else { throw fail("\(name).shape: missing") }
      var shape: [Int] = []
      for d in shapeArray {
        guard let v = (d as? NSNumber)?.intValue, v >= 0, (d as? NSNumber)?.doubleValue == Double(v)
        else { throw fail("\(name).shape: \(shapeArray) is not a list of non-negative integers") }
        shape.append(v)
      }
      guard let offs = info["data_offsets"] as? [Any], offs.count == 2,
        let b = (offs[0] as? NSNumber)?.intValue, let e = (offs[1] as? NSNumber)?.intValue,
        b >= 0, e >= b
      else { throw fail("\(name).data_offsets: missing or not [begin, end]") }
      var elements = 1
      for d in shape {
        let (p, o) = elements.multipliedReportingOverflow(by: d)
        guard !o, p < Int(Int32.max) * 64 else { throw fail("\(name).shape \(shape) is too large") }
        elements = p
      }
      guard e - b == elements * dtype.size else {
        throw fail(
          "\(name): data_offsets [\(b), \(e)] hold \(e - b) bytes, shape \(shape) of "
            + "\(dtype.rawValue) needs \(elements * dtype.size)")
      }
      entries.append((name, dtype, shape, b, e))
    }
    entries.sort { ($0.begin, $0.end, $0.name) < ($1.begin, $1.end, $1.name) }
    let dataSize = bytes.count - headerEnd
    var expected = 0
    for e in entries {
      guard e.begin == expected else {
        throw fail(
          "\(e.name): data_offsets begin at \(e.begin), expected \(expected) "
            + "(gap or overlap in the data section)")
      }
      expected = e.end
    }
    guard expected == dataSize else {
      throw fail(
        "tensors cover \(expected) data bytes but the file has \(dataSize) after the header")
    }
    var tensors: [String: TensorData] = [:]
    for e in entries {
      tensors[e.name] = TensorData(
        dtype: e.dtype, shape: e.shape,
        bytes: Array(bytes[(headerEnd + e.begin)..<(headerEnd + e.end)]))
    }
    return File(path: path, names: entries.map(\.name), tensors: tensors, metadata: metadata)
  }

  private static func quote(_ s: String) -> String {
    var out = "\""
    for u in s.unicodeScalars {
      switch u {
      case "\"": out += "\\\""
      case "\\": out += "\\\\"
      case "\n": out += "\\n"
      case "\r": out += "\\r"
      case "\t": out += "\\t"
      default:
        if u.value < 0x20 {
          out += String(format: "\\u%04x", u.value)
        } else {
          out.unicodeScalars.append(u)
        }
      }
    }
    return out + "\""
  }
}
