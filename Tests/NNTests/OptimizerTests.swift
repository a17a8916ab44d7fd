import Foundation
import Testing

@testable import NN

/// Optimizers, schedule and clipping against hand-computed PyTorch semantics.
struct OptimizerTests {
  /// A store with one decayed weight [2] and one undecayed bias [1].
  func store() -> ParameterStore {
    let s = ParameterStore()
    _ = s.param("w", [2], .constant(1), decay: true)
    _ = s.param("b", [1], .constant(1), decay: false)
    s.finalize(seed: 0)
    return s
  }

  @Test("AdamW first step: decoupled decay, bias-corrected step of size lr")
  func adamW() {
    let s = store()
    for i in 0..<3 { s.gradients[i] = [0.5, -2, 3][i] }
    let opt = AdamW(store: s, learningRate: 0.1, weightDecay: 0.5)
    opt.step()
    // Step 1: m̂ = g, v̂ = g², update = lr·g/(|g| + ε) ≈ ±lr; decay multiplies w by 1 − lr·λ.
    let w = s.parameter("w")!
    #expect(abs(w[0] - (1 * 0.95 - 0.1)) < 1e-6)
    #expect(abs(w[1] - (1 * 0.95 + 0.1)) < 1e-6)
    #expect(abs(s.parameter("b")![0] - 0.9) < 1e-6)
    // Step 2 with zero gradient: m = 0.1·g0·0.9… reference from the closed form.
    s.zeroGradients()
    opt.step()
    let g: Double = 0.5
    let m = 0.9 * 0.1 * g
    let v = 0.999 * 0.001 * g * g
    let mhat = m / (1 - 0.81)
    let denom = (v / (1 - 0.998001)).squareRoot() + 1e-8
    let expected = (0.95 - 0.1) * 0.95 - 0.1 * mhat / denom
    #expect(abs(Double(s.parameter("w")![0]) - expected) < 1e-5)
  }

  @Test("SGD with momentum and coupled weight decay")
  func sgd() {
    let s = store()
    for i in 0..<3 { s.gradients[i] = 1 }
    let opt = SGD(store: s, learningRate: 0.1, momentum: 0.9, weightDecay: 0.1)
    opt.step()
    #expect(abs(s.parameter("w")![0] - (1 - 0.1 * 1.1)) < 1e-6)
    #expect(abs(s.parameter("b")![0] - 0.9) < 1e-6)
    opt.step()
    // b: buf = 0.9·1 + 1 = 1.9 → 0.9 − 0.19
    #expect(abs(s.parameter("b")![0] - 0.71) < 1e-6)
  }

  @Test("cosine schedule with linear warmup")
  func schedule() {
    let c = CosineSchedule(
      baseLearningRate: 1, warmupSteps: 4, totalSteps: 14, minLearningRate: 0.1)
    #expect(c.learningRate(at: 0) == 0.25)
    #expect(c.learningRate(at: 3) == 1)
    #expect(abs(c.learningRate(at: 4) - 1) < 1e-6)
    #expect(abs(c.learningRate(at: 9) - 0.55) < 1e-6)
    #expect(abs(c.learningRate(at: 13) - (0.1 + 0.45 * (1 + Float(cos(Double.pi * 0.9))))) < 1e-6)
    #expect(c.learningRate(at: 14) == 0.1)
    #expect(c.learningRate(at: 1000) == 0.1)
  }

  @Test("gradient clipping by global norm")
  func clipping() {
    let s = store()
    for i in 0..<3 { s.gradients[i] = [3, 0, 4][i] }
    #expect(abs(s.clipGradients(maxNorm: 10) - 5) < 1e-9)
    #expect(s.gradient("w") == [3, 0])
    s.clipGradients(maxNorm: 1)
    #expect(abs(s.gradientNorm() - 1) < 1e-5)
  }

  @Test("parameter names follow the PyTorch state_dict of tandem-small")
  func names() {
    let m = DualEncoder(config: .small(), seed: 0)
    let names = Set(m.store.parameters.map(\.name))
    for n in [
      "s1.stem.conv.weight", "s1.stem.bn.weight", "s1.layer1.0.conv1.weight",
      "s1.layer2.0.downsample.0.weight", "s1.layer2.0.downsample.1.bias", "s2.layer4.0.bn2.weight",
      "s2.proj.0.weight", "s2.proj.2.bias", "log_temperature",
    ] {
      #expect(names.contains(n), "missing \(n)")
    }
    #expect(!names.contains("s1.layer1.0.downsample.0.weight"))
    #expect(m.store.buffers.contains { $0.name == "s1.layer3.0.bn1.running_var" })
    #expect(m.store.counterNames.contains("s2.stem.bn.num_batches_tracked"))
    #expect(m.store.parameters.first { $0.name == "s1.stem.conv.weight" }!.shape == [32, 2, 3, 3])
    #expect(m.store.parameters.first { $0.name == "s2.stem.conv.weight" }!.shape == [32, 4, 3, 3])
    #expect(m.store.parameters.first { $0.name == "s1.proj.2.weight" }!.shape == [128, 256])
    // Pooled features are 256-d for the probes.
    let x = Tensor(shape: [2, 2, 32, 32])
    #expect(m.s1.forwardFeatures(x).shape == [2, 256])
  }

  @Test("SimCLR model trains: loss decreases on a fixed batch")
  func simclr() {
    let m = SimCLRModel(config: .tiny(inChannels: 3), seed: 1)
    let v1 = randomTensor([6, 3, 16, 16], seed: 1)
    let v2 = randomTensor([6, 3, 16, 16], seed: 2)
    for i in 0..<v2.count { v2.data[i] = 0.8 * v1.data[i] + 0.2 * v2.data[i] }
    let opt = AdamW(store: m.store, learningRate: 1e-2)
    let first = m.trainStep(view1: v1, view2: v2).loss
    opt.step()
    var last = first
    for _ in 0..<8 {
      last = m.trainStep(view1: v1, view2: v2).loss
      opt.step()
    }
    #expect(last < first)
  }
}
