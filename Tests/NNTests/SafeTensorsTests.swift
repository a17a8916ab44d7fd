import Foundation
import TandemBase
import Testing

@testable import NN

/// safetensors encoding, decoding and rejection of malformed files.
struct SafeTensorsTests {
  static func header(_ json: String, data: [UInt8] = []) -> [UInt8] {
    let h = Array(json.utf8)
    var out: [UInt8] = (0..<8).map { UInt8((UInt64(h.count) >> (8 * UInt64($0))) & 0xFF) }
    out += h
    return out + data
  }

  @Test("round trip of several dtypes, scalar shapes and metadata")
  func roundTrip() throws {
    let tensors: [(name: String, tensor: SafeTensors.TensorData)] = [
      ("a.weight", .float32(shape: [2, 3], values: [1, 2, 3, 4, 5, -6.5])),
      ("b.num_batches_tracked", .int64(shape: [], values: [42])),
      ("c", SafeTensors.TensorData(dtype: .u8, shape: [3], bytes: [1, 2, 255])),
      (
        "d \"quoted\"",
        SafeTensors.TensorData(dtype: .f64, shape: [1], bytes: Array(repeating: 0, count: 8))
      ),
    ]
    let bytes = SafeTensors.encode(tensors, metadata: ["format": "pt", "step": "7"])
    #expect((8 + Int(bytes[0]) + Int(bytes[1]) << 8) % 8 == 0, "data must start 8-byte aligned")
    let file = try SafeTensors.decode(bytes)
    #expect(file.metadata == ["format": "pt", "step": "7"])
    #expect(file.names == tensors.map(\.name))
    for (name, t) in tensors { #expect(file.tensors[name] == t) }
    #expect(try file.tensors["a.weight"]!.floats() == [1, 2, 3, 4, 5, -6.5])
    #expect(try file.tensors["b.num_batches_tracked"]!.int64s() == [42])
    #expect(throws: SafeTensorsError.self) { try file.tensors["a.weight"]!.int64s() }
  }

  static let malformed: [(String, [UInt8], String)] = [
    ("too short", [1, 2, 3], "shorter than"),
    ("length past end", [0xFF, 0, 0, 0, 0, 0, 0, 0, 0x7B], "past the end"),
    ("huge length", [0, 0, 0, 0, 0, 0, 0, 0x10], "exceeds"),
    ("not json", header("{nope"), "not valid JSON"),
    ("not an object", header("[1]"), "not a JSON object"),
    (
      "bad dtype",
      header(#"{"x":{"dtype":"F7","shape":[1],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0]), "dtype"
    ),
    (
      "negative shape",
      header(#"{"x":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0]),
      "shape"
    ),
    (
      "size mismatch",
      header(#"{"x":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0]),
      "needs 8"
    ),
    (
      "gap", header(#"{"x":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}"#, data: [0, 0]),
      "gap or overlap"
    ),
    (
      "trailing bytes",
      header(#"{"x":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}"#, data: [0, 0]),
      "after the header"
    ),
    (
      "offsets past end",
      header(#"{"x":{"dtype":"U8","shape":[4],"data_offsets":[0,4]}}"#, data: [0]),
      "after the header"
    ),
    ("bad metadata", header(#"{"__metadata__":{"a":1}}"#), "not a string"),
  ]

  @Test("malformed files are rejected with a reason", arguments: malformed)
  func rejects(_ c: (String, [UInt8], String)) {
    do {
      _ = try SafeTensors.decode(c.1, path: "bad.safetensors")
      Issue.record("\(c.0): decoded without error")
    } catch {
      #expect(error.description.contains("bad.safetensors"))
      #expect(error.description.contains(c.2), "\(c.0): \(error.description)")
    }
  }

  @Test("missing file and missing tensors name the file and tensor")
  func missing() throws {
    #expect(throws: SafeTensorsError.self) { try SafeTensors.read("/nonexistent/x.safetensors") }
    let m = DualEncoder(config: .tiny(), seed: 1)
    let empty = try SafeTensors.decode(SafeTensors.encode([]), path: "e.safetensors")
    do {
      try m.store.load(empty)
      Issue.record("loaded an empty file")
    } catch {
      #expect(error.description.contains("missing tensor 's1.stem.conv.weight'"))
    }
  }
}

/// Checkpoints: model state and optimizer moments survive save/load exactly.
struct CheckpointTests {
  func batch(_ n: Int, _ c: Int, seed: UInt64) -> Tensor {
    randomTensor([n, c, 16, 16], seed: seed)
  }

  @Test("model and AdamW state round trip through safetensors files")
  func roundTrip() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("nn-ckpt-\(getpid())")
    defer { try? FileManager.default.removeItem(at: dir) }
    let (x1, x2) = (batch(4, 2, seed: 1), batch(4, 4, seed: 2))
    let a = DualEncoder(config: .tiny(), seed: 5)
    let optA = AdamW(store: a.store, learningRate: 1e-2)
    for _ in 0..<2 {
      a.trainStep(s1: x1, s2: x2)
      optA.step()
    }
    try a.store.save(to: dir.path + "/model.safetensors", metadata: ["step": "2"])
    try optA.save(to: dir.path + "/optimizer.safetensors")

    let b = DualEncoder(config: .tiny(), seed: 99)
    try b.store.load(contentsOf: dir.path + "/model.safetensors")
    let optB = AdamW(store: b.store, learningRate: 1e-2)
    try optB.load(SafeTensors.read(dir.path + "/optimizer.safetensors"))
    #expect(optB.stepCount == 2)
    #expect(b.store.counters == a.store.counters)
    // The next step matches. (Bit-identical with a fixed thread count; another test may switch
    // the worker count concurrently, which changes the summation order of weight gradients.)
    let la = a.trainStep(s1: x1, s2: x2).loss
    optA.step()
    let lb = b.trainStep(s1: x1, s2: x2).loss
    optB.step()
    #expect(abs(la - lb) < 1e-5)
    var worst: Float = 0
    for e in a.store.parameters {
      let d = zip(a.store.parameter(e.name)!, b.store.parameter(e.name)!).map { abs($0 - $1) }
      worst = max(worst, d.max() ?? 0)
    }
    #expect(worst < 1e-5, "parameters differ by \(worst) after one more step")
  }
}

/// Writes a trained tandem-tiny checkpoint and its eval embeddings for
/// `Scripts/reference/check_roundtrip.sh` (PyTorch side). Runs only when asked.
struct RoundTripExportTests {
  @Test(
    "export checkpoint for the PyTorch round trip",
    .enabled(if: ProcessInfo.processInfo.environment["TANDEM_NN_ROUNDTRIP_DIR"] != nil))
  func export() throws {
    let dir = ProcessInfo.processInfo.environment["TANDEM_NN_ROUNDTRIP_DIR"]!
    let x1 = randomTensor([5, 2, 24, 20], seed: 11)
    let x2 = randomTensor([5, 4, 24, 20], seed: 12)
    let m = DualEncoder(config: .tiny(), seed: 3)
    let opt = AdamW(store: m.store, learningRate: 1e-2)
    for _ in 0..<3 {
      m.trainStep(s1: x1, s2: x2)
      opt.step()
    }
    try m.store.save(to: dir + "/model.safetensors")
    m.isTraining = false
    let (z1, z2) = m.forward(s1: x1, s2: x2)
    try SafeTensors.write(
      [
        ("input.s1", .float32(shape: x1.shape, values: x1.values)),
        ("input.s2", .float32(shape: x2.shape, values: x2.values)),
        ("swift.z1", .float32(shape: z1.shape, values: z1.values)),
        ("swift.z2", .float32(shape: z2.shape, values: z2.values)),
      ], to: dir + "/io.safetensors")
  }
}
