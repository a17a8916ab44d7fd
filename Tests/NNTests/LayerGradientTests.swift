import TandemBase
import Testing

@testable import NN

/// Finite-difference checks of every layer's backward pass, on odd sizes and stride/padding edges.
struct LayerGradientTests {
  struct ConvCase: CustomStringConvertible, Sendable {
    var n, c, k, h, w: Int
    var kernel, stride, padding: (Int, Int)
    var bias: Bool
    var minimumColumns: Int
    var description: String {
      "n\(n) c\(c)→\(k) \(h)×\(w) k\(kernel) s\(stride) p\(padding) bias \(bias) cols \(minimumColumns)"
    }
  }

  static let convCases: [ConvCase] = [
    ConvCase(
      n: 2, c: 3, k: 4, h: 5, w: 7, kernel: (3, 3), stride: (1, 1), padding: (1, 1), bias: true,
      minimumColumns: 1),
    ConvCase(
      n: 3, c: 2, k: 3, h: 7, w: 6, kernel: (3, 3), stride: (2, 2), padding: (1, 1), bias: false,
      minimumColumns: 1),
    ConvCase(
      n: 3, c: 2, k: 3, h: 7, w: 6, kernel: (3, 3), stride: (2, 2), padding: (1, 1), bias: true,
      minimumColumns: 1000),
    ConvCase(
      n: 2, c: 2, k: 3, h: 4, w: 5, kernel: (1, 1), stride: (1, 1), padding: (0, 0), bias: false,
      minimumColumns: 1),
    ConvCase(
      n: 3, c: 2, k: 3, h: 4, w: 5, kernel: (1, 1), stride: (1, 1), padding: (0, 0), bias: true,
      minimumColumns: 1000),
    ConvCase(
      n: 2, c: 3, k: 2, h: 5, w: 5, kernel: (1, 1), stride: (2, 2), padding: (0, 0), bias: true,
      minimumColumns: 1),
    ConvCase(
      n: 2, c: 1, k: 2, h: 6, w: 7, kernel: (2, 3), stride: (2, 1), padding: (0, 2), bias: true,
      minimumColumns: 1),
    ConvCase(
      n: 2, c: 2, k: 2, h: 9, w: 8, kernel: (5, 5), stride: (3, 3), padding: (2, 2), bias: false,
      minimumColumns: 8),
    ConvCase(
      n: 1, c: 2, k: 2, h: 3, w: 3, kernel: (3, 3), stride: (1, 1), padding: (2, 2), bias: true,
      minimumColumns: 1),
    // Stride 2 with rows longer than one SIMD vector (vectorized gather and scatter-add).
    ConvCase(
      n: 2, c: 2, k: 3, h: 21, w: 37, kernel: (3, 3), stride: (2, 2), padding: (1, 1), bias: false,
      minimumColumns: 1),
    ConvCase(
      n: 2, c: 3, k: 2, h: 9, w: 40, kernel: (1, 1), stride: (2, 2), padding: (0, 0), bias: true,
      minimumColumns: 1000),
    // ≥ 128 output channels: dW computed directly rather than as dWᵀ.
    ConvCase(
      n: 3, c: 2, k: 128, h: 5, w: 4, kernel: (3, 3), stride: (1, 1), padding: (1, 1), bias: false,
      minimumColumns: 1),
  ]

  /// Direct (naive) convolution as the forward reference.
  static func directConv(_ x: Tensor, _ wt: [Float], _ b: [Float]?, _ cs: ConvCase) -> [Float] {
    let oh = (cs.h + 2 * cs.padding.0 - cs.kernel.0) / cs.stride.0 + 1
    let ow = (cs.w + 2 * cs.padding.1 - cs.kernel.1) / cs.stride.1 + 1
    var out = [Float](repeating: 0, count: cs.n * cs.k * oh * ow)
    for n in 0..<cs.n {
      for k in 0..<cs.k {
        for i in 0..<oh {
          for j in 0..<ow {
            var s = Double(b?[k] ?? 0)
            for c in 0..<cs.c {
              for a in 0..<cs.kernel.0 {
                for q in 0..<cs.kernel.1 {
                  let y = i * cs.stride.0 - cs.padding.0 + a
                  let xx = j * cs.stride.1 - cs.padding.1 + q
                  if y < 0 || y >= cs.h || xx < 0 || xx >= cs.w { continue }
                  let wv = wt[((k * cs.c + c) * cs.kernel.0 + a) * cs.kernel.1 + q]
                  s += Double(wv) * Double(x.data[((n * cs.c + c) * cs.h + y) * cs.w + xx])
                }
              }
            }
            out[((n * cs.k + k) * oh + i) * ow + j] = Float(s)
          }
        }
      }
    }
    return out
  }

  @Test("Conv2d matches direct convolution and finite differences", arguments: convCases)
  func conv(_ cs: ConvCase) {
    let store = ParameterStore()
    let conv = Conv2d(
      "c", store: store, workspace: Workspace(), inChannels: cs.c, outChannels: cs.k,
      kernel: cs.kernel, stride: cs.stride, padding: cs.padding, bias: cs.bias)
    conv.minimumColumns = cs.minimumColumns
    // One image per GEMM also exercises the row-blocked path (blocks of a few output rows).
    if cs.minimumColumns == 1 { conv.blockColumns = 3 }
    store.finalize(seed: 3)
    if cs.bias {
      let e = store.parameters[1]
      for i in 0..<e.count { store.values[e.offset + i] = Float(i) * 0.1 - 0.2 }
    }
    let x = randomTensor([cs.n, cs.c, cs.h, cs.w], seed: 1)
    let y = conv.forward(x).values
    let reference = Self.directConv(x, store.parameter("c.weight")!, store.parameter("c.bias"), cs)
    #expect(y.count == reference.count)
    let maxDiff = zip(y, reference).map { abs($0 - $1) }.max() ?? 0
    #expect(maxDiff < 1e-5, "forward differs by \(maxDiff)")

    var vars = [parameterVariable(store, "c.weight"), inputVariable(x) { conv.inputGradient }]
    if cs.bias { vars.append(parameterVariable(store, "c.bias")) }
    let errors = gradientError(
      forward: { conv.forward(x) },
      backward: {
        store.zeroGradients(); conv.backward($0)
      }, variables: vars)
    for (name, e) in errors { #expect(e < 2e-3, "\(name): relative error \(e)") }
  }

  @Test(
    "BatchNorm2d gradients (train/eval, fused ReLU, fused residual add)",
    arguments: [
      (true, false, false), (false, false, false), (true, true, false), (true, true, true),
      (false, true, true), (true, false, true),
    ])
  func batchNorm(training: Bool, relu: Bool, residual: Bool) {
    let store = ParameterStore()
    let bn = BatchNorm2d("bn", store: store, channels: 3, fusedReLU: relu)
    store.finalize(seed: 1)
    let g = store.parameters[0]
    for i in 0..<3 { store.values[g.offset + i] = 0.5 + Float(i) * 0.4 }
    let b = store.parameters[1]
    for i in 0..<3 { store.values[b.offset + i] = 0.3 - Float(i) * 0.3 }
    bn.isTraining = training
    if !training {
      let rv = store.buffers[1]
      for i in 0..<3 { store.bufferValues[rv.offset + i] = 0.6 + Float(i) * 0.3 }
    }
    let x = randomTensor([2, 3, 3, 5], seed: 7, scale: 2)
    let r = residual ? randomTensor([2, 3, 3, 5], seed: 8) : nil
    var vars = [
      parameterVariable(store, "bn.weight"), parameterVariable(store, "bn.bias"),
      inputVariable(x) { bn.inputGradient },
    ]
    if let r {
      vars.append(
        Variable(
          name: "residual", values: r.data, count: r.count,
          gradient: { bn.residualGradient.values }))
    }
    let errors = gradientError(
      forward: { bn.forward(x, residual: r) },
      backward: {
        store.zeroGradients(); bn.backward($0)
      },
      variables: vars, step: relu ? 1e-3 : 1e-2)
    for (name, e) in errors { #expect(e < 2e-3, "\(name): relative error \(e)") }
  }

  @Test("BatchNorm2d running statistics follow PyTorch (unbiased variance, momentum)")
  func batchNormRunningStats() {
    let store = ParameterStore()
    let bn = BatchNorm2d("bn", store: store, channels: 1)
    store.finalize(seed: 1)
    let x = Tensor(shape: [2, 1, 1, 2], values: [1, 2, 3, 6])
    let y = bn.forward(x).values
    // mean 3, biased var 3.5, unbiased var 14/3.
    #expect(abs(store.buffer("bn.running_mean")![0] - 0.3) < 1e-6)
    #expect(abs(store.buffer("bn.running_var")![0] - (0.9 + 0.1 * 14 / 3)) < 1e-6)
    #expect(store.counters == [1])
    #expect(abs(y[0] - (1 - 3) / (3.5 + 1e-5).squareRoot()) < 1e-5)
    bn.isTraining = false
    let e = bn.forward(x).values
    #expect(abs(e[3] - (6 - 0.3) / (0.9 + 0.1 * 14 / 3 + 1e-5).squareRoot()) < 1e-5)
    #expect(store.counters == [1])
  }

  @Test("ReLU, GlobalAvgPool, L2Normalize, Upsample gradients")
  func elementwise() {
    let x = randomTensor([2, 3, 4, 5], seed: 11)
    let relu = ReLU()
    let e1 = gradientError(
      forward: { relu.forward(x) }, backward: { relu.backward($0) },
      variables: [inputVariable(x) { relu.inputGradient }], step: 1e-3)
    #expect(e1["input"]! < 2e-3)

    let pool = GlobalAvgPool()
    let e2 = gradientError(
      forward: { pool.forward(x) }, backward: { pool.backward($0) },
      variables: [inputVariable(x) { pool.inputGradient }])
    #expect(e2["input"]! < 2e-3)

    let v = randomTensor([3, 7], seed: 12)
    let norm = L2Normalize()
    let e3 = gradientError(
      forward: { norm.forward(v) }, backward: { norm.backward($0) },
      variables: [inputVariable(v) { norm.inputGradient }], step: 1e-3)
    #expect(e3["input"]! < 2e-3)

    for (oh, ow) in [(9, 11), (3, 2), (8, 10)] {
      let up = Upsample(height: oh, width: ow)
      let e4 = gradientError(
        forward: { up.forward(x) }, backward: { up.backward($0) },
        variables: [inputVariable(x) { up.inputGradient }])
      #expect(e4["input"]! < 2e-3, "upsample to \(oh)×\(ow)")
    }
  }

  @Test("Upsample matches PyTorch bilinear align_corners=False on a known case")
  func upsampleValues() {
    // F.interpolate(torch.tensor([[[[1., 2.], [3., 4.]]]]), size=(4, 4), mode="bilinear")
    let x = Tensor(shape: [1, 1, 2, 2], values: [1, 2, 3, 4])
    let y = Upsample(height: 4, width: 4).forward(x).values
    let expected: [Float] = [
      1.0, 1.25, 1.75, 2.0, 1.5, 1.75, 2.25, 2.5, 2.5, 2.75, 3.25, 3.5, 3.0, 3.25, 3.75, 4.0,
    ]
    #expect(zip(y, expected).allSatisfy { abs($0 - $1) < 1e-6 })
  }

  @Test("MaxPool2d values and gradients", arguments: [(2, 2, 0), (3, 2, 1), (3, 1, 1)])
  func maxPool(kernel: Int, stride: Int, padding: Int) {
    let x = randomTensor([2, 2, 5, 7], seed: 5)
    let pool = MaxPool2d(kernel: kernel, stride: stride, padding: padding)
    let y = pool.forward(x)
    let oh = (5 + 2 * padding - kernel) / stride + 1
    #expect(y.shape == [2, 2, oh, (7 + 2 * padding - kernel) / stride + 1])
    let e = gradientError(
      forward: { pool.forward(x) }, backward: { pool.backward($0) },
      variables: [inputVariable(x) { pool.inputGradient }], step: 1e-3)
    #expect(e["input"]! < 2e-3)
  }

  @Test("Linear gradients")
  func linear() {
    let store = ParameterStore()
    let lin = Linear("fc", store: store, inFeatures: 5, outFeatures: 3)
    store.finalize(seed: 2)
    let x = randomTensor([4, 5], seed: 3)
    let errors = gradientError(
      forward: { lin.forward(x) },
      backward: {
        store.zeroGradients(); lin.backward($0)
      },
      variables: [
        parameterVariable(store, "fc.weight"), parameterVariable(store, "fc.bias"),
        inputVariable(x) { lin.inputGradient },
      ])
    for (name, e) in errors { #expect(e < 2e-3, "\(name): relative error \(e)") }
  }

  @Test(
    "BasicBlock gradients (identity and downsample shortcut)", arguments: [(4, 4, 1), (3, 5, 2)])
  func basicBlock(cin: Int, cout: Int, stride: Int) {
    let store = ParameterStore()
    let block = BasicBlock(
      "b", store: store, workspace: Workspace(), inChannels: cin, outChannels: cout, stride: stride)
    store.finalize(seed: 4)
    let x = randomTensor([2, cin, 5, 5], seed: 6)
    var vars = [
      parameterVariable(store, "b.conv1.weight"), parameterVariable(store, "b.bn2.weight"),
      parameterVariable(store, "b.bn1.bias"), inputVariable(x) { block.inputGradient },
    ]
    if stride != 1 { vars.append(parameterVariable(store, "b.downsample.0.weight")) }
    let errors = gradientError(
      forward: { block.forward(x) },
      backward: {
        store.zeroGradients(); block.backward($0)
      },
      variables: vars, step: 1e-3)
    for (name, e) in errors { #expect(e < 1e-2, "\(name): relative error \(e)") }
  }

  @Test("SegmentationHead gradients")
  func segmentationHead() {
    let head = SegmentationHead(inChannels: 3, hidden: 4, classes: 2, outputSize: (7, 9), seed: 1)
    let f = randomTensor([2, 3, 3, 4], seed: 8)
    let errors = gradientError(
      forward: { head.forward(f) },
      backward: {
        head.store.zeroGradients(); head.backward($0)
      },
      variables: [
        parameterVariable(head.store, "conv1.weight"),
        parameterVariable(head.store, "classifier.bias"),
        inputVariable(f) { head.conv1.inputGradient },
      ], step: 1e-3)
    for (name, e) in errors { #expect(e < 1e-2, "\(name): relative error \(e)") }
  }
}
