import TandemBase
import Testing

@testable import NN

/// The U-Net probe's decoder: channel concatenation, shapes, and finite-difference gradients.
struct UNetDecoderTests {
  @Test func concatenatesAndSplitsChannels() {
    let a = Tensor(shape: [2, 1, 1, 2], values: [1, 2, 3, 4])
    let b = Tensor(shape: [2, 2, 1, 2], values: [10, 11, 12, 13, 20, 21, 22, 23])
    let concat = ChannelConcat()
    let y = concat.forward(a, b)
    #expect(y.shape == [2, 3, 1, 2])
    #expect(y.values == [1, 2, 10, 11, 12, 13, 3, 4, 20, 21, 22, 23])
    let dy = Tensor(shape: [2, 3, 1, 2], values: (0..<12).map(Float.init))
    concat.backward(dy)
    #expect(concat.gradientA.shape == [2, 1, 1, 2])
    #expect(concat.gradientA.values == [0, 1, 6, 7])
    #expect(concat.gradientB.values == [2, 3, 4, 5, 8, 9, 10, 11])
  }

  /// Stage maps of a 16×16 window at strides 2, 4, 8 (finest first).
  static func maps(n: Int, seed: UInt64) -> [Tensor] {
    [
      randomTensor([n, 3, 8, 8], seed: seed), randomTensor([n, 4, 4, 4], seed: seed + 1),
      randomTensor([n, 5, 2, 2], seed: seed + 2),
    ]
  }

  @Test func shapesAndParameterNames() {
    let decoder = UNetDecoder(
      stageChannels: [3, 4, 5], width: 6, classes: 2, outputSize: (16, 16), seed: 1)
    let y = decoder.forward(Self.maps(n: 3, seed: 5))
    #expect(y.shape == [3, 2, 16, 16])
    let names = Set(decoder.store.parameters.map(\.name))
    #expect(
      names == [
        "up1.conv.weight", "up1.bn.weight", "up1.bn.bias", "up2.conv.weight", "up2.bn.weight",
        "up2.bn.bias", "classifier.weight", "classifier.bias",
      ])
    // Level 1 reads the coarsest map (5) and the next stage (4); level 2 its output and stage 0.
    #expect(decoder.store.parameter("up1.conv.weight")?.count == 6 * (5 + 4) * 9)
    #expect(decoder.store.parameter("up2.conv.weight")?.count == 6 * (6 + 3) * 9)
    let grads = decoder.backward(Tensor(shape: y.shape))
    #expect(grads.map(\.shape) == [[3, 3, 8, 8], [3, 4, 4, 4], [3, 5, 2, 2]])
  }

  @Test("UNetDecoder gradients (parameters and every stage map)")
  func gradients() {
    let decoder = UNetDecoder(
      stageChannels: [3, 4, 5], width: 4, classes: 3, outputSize: (11, 13), seed: 2)
    let maps = Self.maps(n: 2, seed: 11)
    var skipGradients: [Tensor] = []
    let errors = gradientError(
      forward: { decoder.forward(maps) },
      backward: {
        decoder.store.zeroGradients()
        skipGradients = decoder.backward($0)
      },
      variables: [
        parameterVariable(decoder.store, "up1.conv.weight"),
        parameterVariable(decoder.store, "up2.conv.weight"),
        parameterVariable(decoder.store, "up2.bn.weight"),
        parameterVariable(decoder.store, "classifier.weight"),
        parameterVariable(decoder.store, "classifier.bias"),
        Variable(
          name: "finest map", values: maps[0].data, count: maps[0].count,
          gradient: { skipGradients[0].values }),
        Variable(
          name: "middle map", values: maps[1].data, count: maps[1].count,
          gradient: { skipGradients[1].values }),
        Variable(
          name: "coarsest map", values: maps[2].data, count: maps[2].count,
          gradient: { skipGradients[2].values }),
      ], step: 1e-3)
    for (name, e) in errors { #expect(e < 1e-2, "\(name): relative error \(e)") }
  }
}
