import Foundation
import Testing

@testable import TandemBase

@Suite struct NPYTests {
  @Test(arguments: [[3], [2, 3], [1, 4, 5], [2, 1, 1, 7]])
  func headerIsAlignedAndRoundTrips(shape: [Int]) throws {
    let count = shape.reduce(1, *)
    let values = (0..<count).map { Float($0) * 0.5 - 1 }
    let data = values.withUnsafeBytes { Array($0) }
    let bytes = NPY.encode(dtype: .float32, shape: shape, data: data)
    let headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
    #expect((10 + headerLength) % 64 == 0)
    #expect(bytes[10 + headerLength - 1] == UInt8(ascii: "\n"))
    let decoded = try NPY.decode(bytes)
    #expect(decoded.shape == shape)
    #expect(decoded.dtype == .float32)
    #expect(decoded.elements(as: Float.self) == values)
  }

  @Test func headerTextMatchesNumPy() {
    let header = NPY.header(dtype: .uint16, shape: [4, 256, 256])
    let text = String(decoding: header[10...], as: UTF8.self)
    #expect(text.hasPrefix("{'descr': '<u2', 'fortran_order': False, 'shape': (4, 256, 256), }"))
  }

  @Test func rejectsTruncatedData() {
    var bytes = NPY.encode(dtype: .uint8, shape: [10], data: Array(repeating: 7, count: 10))
    bytes.removeLast()
    #expect(throws: NPY.DecodeError.self) { try NPY.decode(bytes) }
    #expect(throws: NPY.DecodeError.self) { try NPY.decode(Array("not numpy".utf8)) }
  }

  /// A version 1.0 `.npy` with a hand-written header dictionary and `data`.
  static func npy(header text: String, data: [UInt8]) -> [UInt8] {
    var header = Array(text.utf8)
    while (10 + header.count + 1) % 64 != 0 { header.append(0x20) }
    header.append(0x0A)
    return [0x93] + Array("NUMPY".utf8) + [
      1, 0, UInt8(header.count & 0xFF), UInt8(header.count >> 8),
    ]
      + header + data
  }

  // Found by `Scripts/fuzz npy`: shape products overflowed (a trap) and negative or non-numeric
  // dimensions were accepted or silently dropped.
  @Test(arguments: [
    "(9223372036854775807, 2)", "(4611686018427387904, 4)", "(3037000500, 3037000500, 2)",
    "(-1, -1)", "(-8,)", "(2, x)", "(2,, 3)", "(,)", "[2, 3]", "(100000000000000000000, 2, 2)",
  ])
  func rejectsHostileShapes(shape: String) {
    let bytes = Self.npy(
      header: "{'descr': '<f8', 'fortran_order': False, 'shape': \(shape), }",
      data: Array(repeating: 0, count: 32))
    #expect(throws: NPY.DecodeError.self) { try NPY.decode(bytes) }
  }

  @Test(arguments: [("()", [Int]()), ("(3,)", [3]), ("(1, 2)", [1, 2]), ("( 2 , 1 )", [2, 1])])
  func acceptsNumPyShapeSpellings(shape: String, expected: [Int]) throws {
    let count = expected.reduce(1, *)
    let bytes = Self.npy(
      header: "{'descr': '<f4', 'fortran_order': False, 'shape': \(shape), }",
      data: Array(repeating: 0, count: count * 4))
    #expect(try NPY.decode(bytes).shape == expected)
  }
}

@Suite struct AtomicFileTests {
  @Test func writesAndReplacesWithoutLeavingTemporaries() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent(
      "tandem-atomic-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: dir) }
    let path = dir.appendingPathComponent("nested/out.bin").path
    try AtomicFile.write([1, 2, 3], to: path)
    try AtomicFile.write(string: "hello", to: path)
    #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == Data("hello".utf8))
    let leftovers = try FileManager.default.contentsOfDirectory(
      atPath: dir.appendingPathComponent("nested").path)
    #expect(leftovers == ["out.bin"])
  }

  @Test func reportsUnwritableDestination() {
    #expect(throws: FileWriteError.self) {
      try AtomicFile.write([1], to: "/proc/tandem-cannot-write/x")
    }
  }
}

@Suite struct SeededGeneratorTests {
  @Test func sameSeedSameStreamDifferentSeedDifferentStream() {
    var a = SeededGenerator(seed: 42)
    var b = SeededGenerator(seed: 42)
    var c = SeededGenerator(seed: 43)
    let sa = (0..<8).map { _ in a.next() }
    let sb = (0..<8).map { _ in b.next() }
    let sc = (0..<8).map { _ in c.next() }
    #expect(sa == sb)
    #expect(sa != sc)
  }

  @Test func streamsAreIndependentAndStateRestores() throws {
    var s1 = SeededGenerator(seed: 7, stream: 1)
    let s2 = SeededGenerator(seed: 7, stream: 2)
    #expect(s1 != s2)
    _ = s1.next()
    var restored = SeededGenerator(state: s1.stateWords)
    #expect(restored.next() == s1.next())
    let encoded = try JSONEncoder().encode(s1)
    var decoded = try JSONDecoder().decode(SeededGenerator.self, from: encoded)
    #expect(decoded.next() == s1.next())
  }

  @Test func unitAndGaussianMoments() {
    var g = SeededGenerator(seed: 1)
    let n = 200_000
    var sum = 0.0
    var sumSq = 0.0
    var minU = 1.0
    var maxU = 0.0
    for _ in 0..<n {
      let u = g.nextUnitDouble()
      minU = min(minU, u)
      maxU = max(maxU, u)
      let z = g.nextGaussian()
      sum += z
      sumSq += z * z
    }
    #expect(minU >= 0 && maxU < 1)
    #expect(abs(sum / Double(n)) < 0.01)
    #expect(abs(sumSq / Double(n) - 1) < 0.02)
  }
}
