import TandemBase
import Testing

@testable import NN

/// The shifted-GEMM convolution (``PaddedGrid``) against the im2col reference path: same
/// output, input gradient and parameter gradients on random shapes (odd sizes, batch 1,
/// non-square kernels, paddings 0 to k−1, images folded per GEMM or not, one or two workers),
/// plus finite differences on the shifted path itself.
struct ConvolutionMethodTests {
  struct Case: CustomStringConvertible, Sendable {
    var n, c, k, h, w: Int
    var kernel, padding: (Int, Int)
    var minimumColumns: Int
    var workers: Int
    var description: String {
      "n\(n) c\(c)→\(k) \(h)×\(w) k\(kernel) p\(padding) cols \(minimumColumns) workers \(workers)"
    }
  }

  static let cases: [Case] = [
    Case(
      n: 3, c: 5, k: 7, h: 9, w: 11, kernel: (3, 3), padding: (1, 1), minimumColumns: 1, workers: 1),
    Case(
      n: 1, c: 3, k: 4, h: 6, w: 5, kernel: (3, 3), padding: (1, 1), minimumColumns: 1, workers: 1),
    Case(
      n: 4, c: 6, k: 3, h: 7, w: 7, kernel: (3, 3), padding: (1, 1), minimumColumns: 10_000,
      workers: 2),
    Case(
      n: 5, c: 4, k: 6, h: 8, w: 6, kernel: (3, 3), padding: (0, 0), minimumColumns: 100, workers: 2
    ),
    Case(
      n: 2, c: 3, k: 2, h: 5, w: 9, kernel: (3, 3), padding: (2, 2), minimumColumns: 1, workers: 1),
    Case(
      n: 3, c: 2, k: 5, h: 6, w: 7, kernel: (2, 3), padding: (1, 0), minimumColumns: 50, workers: 1),
    Case(
      n: 2, c: 4, k: 3, h: 7, w: 4, kernel: (1, 3), padding: (0, 1), minimumColumns: 1, workers: 2),
    Case(
      n: 3, c: 3, k: 4, h: 9, w: 8, kernel: (5, 5), padding: (2, 2), minimumColumns: 1, workers: 1),
    Case(
      n: 2, c: 16, k: 16, h: 17, w: 15, kernel: (3, 3), padding: (1, 1), minimumColumns: 1024,
      workers: 2),
  ]

  /// A convolution with seeded weights and bias, and the given method.
  static func conv(_ cs: Case, _ method: Conv2d.Method) -> (Conv2d, ParameterStore) {
    let store = ParameterStore()
    let workspace = Workspace()
    workspace.workerLimit = cs.workers
    let conv = Conv2d(
      "c", store: store, workspace: workspace, inChannels: cs.c, outChannels: cs.k,
      kernel: cs.kernel, stride: (1, 1), padding: cs.padding, bias: true)
    conv.method = method
    conv.minimumColumns = cs.minimumColumns
    store.finalize(seed: 5)
    return (conv, store)
  }

  /// max |a − b| / max |b|.
  static func scaledError(_ a: [Float], _ b: [Float]) -> Float {
    #expect(a.count == b.count)
    let scale = max(b.map(abs).max() ?? 0, 1e-12)
    return (zip(a, b).map { abs($0 - $1) }.max() ?? 0) / scale
  }

  @Test("shifted GEMMs match im2col: output, input and parameter gradients", arguments: cases)
  func matchesIm2col(_ cs: Case) {
    let x = randomTensor([cs.n, cs.c, cs.h, cs.w], seed: 21)
    let (shifted, s1) = Self.conv(cs, .shiftedGEMM)
    let (reference, s2) = Self.conv(cs, .im2col)
    let y1 = shifted.forward(x).values
    let y2 = reference.forward(x).values
    #expect(Self.scaledError(y1, y2) < 1e-5, "forward")
    let dy = randomTensor(shifted.output.shape, seed: 22)
    // Twice, to check that gradients accumulate (and workspaces are reused) the same way.
    for _ in 0..<2 {
      shifted.backward(dy)
      reference.backward(dy)
    }
    #expect(Self.scaledError(shifted.inputGradient.values, reference.inputGradient.values) < 1e-5)
    #expect(Self.scaledError(s1.gradient("c.weight")!, s2.gradient("c.weight")!) < 1e-5)
    #expect(Self.scaledError(s1.gradient("c.bias")!, s2.gradient("c.bias")!) < 1e-5)
  }

  /// The direct kernel (AVX-512; where the CPU lacks it both sides run the sgemms) against one
  /// sgemm per tap: full 96-position blocks, masked tails, 4 to 64 rows, forward, dx and dW
  /// (blocks of 3 taps and the remainder).
  @Test(
    "the direct tap kernel matches one sgemm per tap",
    arguments: [
      Case(
        n: 2, c: 32, k: 64, h: 33, w: 31, kernel: (3, 3), padding: (1, 1), minimumColumns: 1024,
        workers: 2),
      Case(
        n: 3, c: 8, k: 4, h: 12, w: 10, kernel: (3, 3), padding: (1, 1), minimumColumns: 1,
        workers: 1),
      Case(
        n: 1, c: 12, k: 8, h: 20, w: 23, kernel: (2, 3), padding: (1, 1), minimumColumns: 1,
        workers: 1),
      // 4 taps: one block of 3 and the single-tap remainder of the weight-gradient kernel.
      Case(
        n: 2, c: 4, k: 4, h: 9, w: 13, kernel: (2, 2), padding: (1, 1), minimumColumns: 1,
        workers: 2),
    ])
  func directKernelMatchesSgemm(_ cs: Case) {
    let x = randomTensor([cs.n, cs.c, cs.h, cs.w], seed: 31)
    let (direct, s1) = Self.conv(cs, .shiftedGEMM)
    let (sgemm, s2) = Self.conv(cs, .shiftedGEMM)
    direct.directKernel = true
    sgemm.directKernel = false
    #expect(Self.scaledError(direct.forward(x).values, sgemm.forward(x).values) < 1e-5)
    let dy = randomTensor(direct.output.shape, seed: 32)
    direct.backward(dy)
    sgemm.backward(dy)
    #expect(Self.scaledError(direct.inputGradient.values, sgemm.inputGradient.values) < 1e-5)
    #expect(Self.scaledError(s1.gradient("c.weight")!, s2.gradient("c.weight")!) < 1e-5)
  }

  @Test("shifted GEMMs pass finite differences", arguments: [cases[0], cases[5], cases[7]])
  func finiteDifferences(_ cs: Case) {
    let (conv, store) = Self.conv(cs, .shiftedGEMM)
    let x = randomTensor([cs.n, cs.c, cs.h, cs.w], seed: 23)
    let errors = gradientError(
      forward: { conv.forward(x) },
      backward: {
        store.zeroGradients()
        conv.backward($0)
      },
      variables: [
        parameterVariable(store, "c.weight"), parameterVariable(store, "c.bias"),
        inputVariable(x) { conv.inputGradient },
      ])
    for (name, e) in errors { #expect(e < 2e-3, "\(name): relative error \(e)") }
  }

  @Test("automatic picks shifted GEMMs on large maps only")
  func automatic() {
    let large = Case(
      n: 1, c: 2, k: 2, h: 34, w: 34, kernel: (3, 3), padding: (1, 1), minimumColumns: 1024,
      workers: 1)
    let (conv, _) = Self.conv(large, .automatic)
    let x = randomTensor([1, 2, 34, 34], seed: 1)
    #expect(conv.usesShiftedGEMM(x))
    #expect(!conv.usesShiftedGEMM(randomTensor([1, 2, 8, 8], seed: 1)))
    conv.method = .im2col
    #expect(!conv.usesShiftedGEMM(x))
  }
}

/// tandem-tiny with every stride-1 convolution on shifted GEMMs still gives PyTorch's loss and
/// gradients (the golden file; see ``GoldenParityTests``).
struct ShiftedGoldenTests {
  @Test("shifted-GEMM convolutions match PyTorch")
  func golden() throws {
    let file = try GoldenParityTests.golden()
    let m = try GoldenParityTests.model(file)
    m.convolutionMethod = .shiftedGEMM
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
