import Foundation
import Testing

@testable import NN

/// Parity with PyTorch: `Scripts/reference/make_golden.py` builds tandem-tiny in PyTorch with a
/// fixed seed and records weights, a batch, outputs, the loss, every gradient, BN statistics and
/// five AdamW steps in `Fixtures/golden-tiny.safetensors`. The Swift model must match.
struct GoldenParityTests {
  static func golden() throws -> SafeTensors.File {
    let url = try #require(
      Bundle.module.url(
        forResource: "golden-tiny", withExtension: "safetensors", subdirectory: "Fixtures"))
    return try SafeTensors.read(url.path)
  }

  static func model(_ file: SafeTensors.File) throws -> DualEncoder {
    let m = DualEncoder(config: .tiny(), seed: 0)
    try m.store.load(file, prefix: "param.", allowExtra: true)
    return m
  }

  static func tensor(_ file: SafeTensors.File, _ name: String) throws -> Tensor {
    let t = try #require(file.tensors[name], "golden file lacks \(name)")
    return Tensor(shape: t.shape, values: try t.floats())
  }

  /// max |a − b| / (max |b| + tiny): error relative to the reference tensor's scale.
  static func scaledError(_ a: [Float], _ b: [Float]) -> Float {
    precondition(a.count == b.count)
    let scale = b.map(abs).max() ?? 0
    let diff = zip(a, b).map { abs($0 - $1) }.max() ?? 0
    return diff / max(scale, 1e-12)
  }

  @Test("forward, loss, gradients and BN statistics match PyTorch")
  func forwardBackward() throws {
    let file = try Self.golden()
    let m = try Self.model(file)
    let x1 = try Self.tensor(file, "input.s1")
    let x2 = try Self.tensor(file, "input.s2")
    let r = m.trainStep(s1: x1, s2: x2)
    let loss = try file.tensors["out.loss"]!.floats()[0]
    #expect(abs(r.loss - loss) < 1e-5, "loss \(r.loss) vs \(loss)")
    #expect(Self.scaledError(m.s1.embeddings.values, try file.tensors["out.z1"]!.floats()) < 1e-5)
    #expect(Self.scaledError(m.s2.embeddings.values, try file.tensors["out.z2"]!.floats()) < 1e-5)
    #expect(Self.scaledError(m.s1.features.values, try file.tensors["out.f1"]!.floats()) < 1e-5)
    #expect(Self.scaledError(m.s2.features.values, try file.tensors["out.f2"]!.floats()) < 1e-5)
    var worst: (String, Float) = ("", 0)
    for e in m.store.parameters {
      let reference = try #require(file.tensors["grad." + e.name], "no grad.\(e.name)").floats()
      let err = Self.scaledError(m.store.gradient(e.name)!, reference)
      if err > worst.1 { worst = (e.name, err) }
      #expect(err < 1e-4, "gradient \(e.name): scaled error \(err)")
    }
    print("golden: worst gradient error \(worst.1) at \(worst.0)")
    for e in m.store.buffers {
      let reference = try file.tensors["after." + e.name]!.floats()
      #expect(Self.scaledError(m.store.buffer(e.name)!, reference) < 1e-5, "buffer \(e.name)")
    }
    for (i, name) in m.store.counterNames.enumerated() {
      #expect(m.store.counters[i] == (try file.tensors["after." + name]!.int64s()[0]))
    }
  }

  @Test("eval-mode embeddings match PyTorch")
  func evalMode() throws {
    let file = try Self.golden()
    let m = try Self.model(file)
    m.isTraining = false
    let (z1, z2) = m.forward(
      s1: try Self.tensor(file, "input.s1"), s2: try Self.tensor(file, "input.s2"))
    #expect(Self.scaledError(z1.values, try file.tensors["eval.z1"]!.floats()) < 1e-5)
    #expect(Self.scaledError(z2.values, try file.tensors["eval.z2"]!.floats()) < 1e-5)
  }

  @Test("five AdamW steps give PyTorch's losses and parameters")
  func adamWSteps() throws {
    let file = try Self.golden()
    let m = try Self.model(file)
    let x1 = try Self.tensor(file, "input.s1")
    let x2 = try Self.tensor(file, "input.s2")
    let opt = AdamW(store: m.store, learningRate: 1e-2, weightDecay: 0.05)
    let reference = try file.tensors["adamw.losses"]!.floats()
    var losses: [Float] = []
    for _ in 0..<5 {
      losses.append(m.trainStep(s1: x1, s2: x2).loss)
      opt.step()
    }
    print("golden: adamw losses \(losses) vs \(reference)")
    for (a, b) in zip(losses, reference) { #expect(abs(a - b) < 1e-4, "loss \(a) vs \(b)") }
    for e in m.store.parameters {
      let ref = try file.tensors["final." + e.name]!.floats()
      #expect(Self.scaledError(m.store.parameter(e.name)!, ref) < 1e-3, "final \(e.name)")
    }
  }
}

/// The row-blocked convolution path (large maps) gives PyTorch's gradients too.
struct BlockedConvolutionTests {
  @Test("row-blocked im2col/GEMM matches PyTorch")
  func blocked() throws {
    let file = try GoldenParityTests.golden()
    let m = try GoldenParityTests.model(file)
    for c in m.s1.convolutions + m.s2.convolutions {
      c.blockColumns = 16
      c.minimumColumns = 1
    }
    let r = m.trainStep(
      s1: try GoldenParityTests.tensor(file, "input.s1"),
      s2: try GoldenParityTests.tensor(file, "input.s2"))
    #expect(abs(r.loss - (try file.tensors["out.loss"]!.floats()[0])) < 1e-5)
    for e in m.store.parameters {
      let reference = try file.tensors["grad." + e.name]!.floats()
      let err = GoldenParityTests.scaledError(m.store.gradient(e.name)!, reference)
      #expect(err < 1e-4, "gradient \(e.name): scaled error \(err)")
    }
  }
}

/// The threaded paths (batch split over workers, partial weight gradients summed) give the same
/// results as one thread.
struct ThreadingTests {
  @Test("two worker threads match PyTorch like one thread does")
  func twoThreads() throws {
    let file = try GoldenParityTests.golden()
    let m = try GoldenParityTests.model(file)
    BLAS.setThreads(2)
    defer { BLAS.setThreads(1) }
    #expect(BLAS.threads == 2)
    let r = m.trainStep(
      s1: try GoldenParityTests.tensor(file, "input.s1"),
      s2: try GoldenParityTests.tensor(file, "input.s2"))
    #expect(abs(r.loss - (try file.tensors["out.loss"]!.floats()[0])) < 1e-5)
    for e in m.store.parameters {
      let reference = try file.tensors["grad." + e.name]!.floats()
      let err = GoldenParityTests.scaledError(m.store.gradient(e.name)!, reference)
      #expect(err < 1e-4, "gradient \(e.name): scaled error \(err)")
    }
  }
}
