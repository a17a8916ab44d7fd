/// Concatenation along channels of two NCHW tensors with the same N, H, W.
///
/// Shapes: a `[N, Ca, H, W]`, b `[N, Cb, H, W]` → y `[N, Ca + Cb, H, W]`.
public final class ChannelConcat {
  /// The output, reused between calls.
  public let output = Tensor(shape: [0])
  /// Gradients of the two inputs after ``backward(_:)``.
  public let gradientA = Tensor(shape: [0])
  public let gradientB = Tensor(shape: [0])
  private var shapes: ([Int], [Int]) = ([], [])

  /// A concatenation (no parameters).
  public init() {}

  /// a `[N, Ca, H, W]`, b `[N, Cb, H, W]` → `[N, Ca + Cb, H, W]`.
  @discardableResult
  public func forward(_ a: Tensor, _ b: Tensor) -> Tensor {
    precondition(
      a.shape.count == 4 && b.shape.count == 4 && a.dim(0) == b.dim(0) && a.dim(2) == b.dim(2)
        && a.dim(3) == b.dim(3), "concat inputs \(a.shape) and \(b.shape)")
    shapes = (a.shape, b.shape)
    let (n, ca, cb, plane) = (a.dim(0), a.dim(1), b.dim(1), a.dim(2) * a.dim(3))
    output.resize([n, ca + cb, a.dim(2), a.dim(3)])
    for i in 0..<n {
      let dst = output.data + i * (ca + cb) * plane
      dst.update(from: a.data + i * ca * plane, count: ca * plane)
      (dst + ca * plane).update(from: b.data + i * cb * plane, count: cb * plane)
    }
    return output
  }

  /// dy `[N, Ca + Cb, H, W]` → (da, db) in ``gradientA``, ``gradientB``.
  public func backward(_ dy: Tensor) {
    let (sa, sb) = shapes
    precondition(dy.shape == output.shape, "concat dy \(dy.shape) vs \(output.shape)")
    let (n, ca, cb, plane) = (sa[0], sa[1], sb[1], sa[2] * sa[3])
    gradientA.resize(sa)
    gradientB.resize(sb)
    for i in 0..<n {
      let src = dy.data + i * (ca + cb) * plane
      (gradientA.data + i * ca * plane).update(from: src, count: ca * plane)
      (gradientB.data + i * cb * plane).update(from: src + ca * plane, count: cb * plane)
    }
  }
}

/// A U-Net-style decoder over an encoder's stage outputs (the encoder stays frozen; only the
/// decoder is trained): starting from the coarsest map, each level upsamples bilinearly to the
/// next finer stage, concatenates that stage's map (the skip connection), and applies
/// 3×3 conv → BN → ReLU; a 1×1 conv (bias) gives class logits at the finest stage, upsampled
/// bilinearly to the output size.
///
/// Parameters: `up{k}.conv.weight`, `up{k}.bn.*` for k = 1 … levels (coarse to fine) and
/// `classifier.weight/bias`.
///
/// Shapes: maps `[N, C_i, H/2^(i+1), W/2^(i+1)]` finest first (e.g. strides 2, 4, 8, 16) →
/// logits `[N, classes, OH, OW]`.
public final class UNetDecoder {
  /// Its own parameters.
  public let store = ParameterStore()
  /// Channels of each stage map, finest first.
  public let stageChannels: [Int]
  let convs: [Conv2d]
  let norms: [BatchNorm2d]
  let relus: [ReLU]
  let ups: [Upsample]
  let concats: [ChannelConcat]
  let classifier: Conv2d
  let outputUpsample: Upsample
  let workspace = Workspace()
  private var mapShapes: [[Int]] = []

  /// A decoder for stage maps of `stageChannels` channels (finest first) with `width` channels
  /// per level and `classes` logits at `outputSize`.
  public init(
    stageChannels: [Int], width: Int, classes: Int, outputSize: (h: Int, w: Int), seed: UInt64
  ) {
    precondition(stageChannels.count >= 2, "a U-Net decoder needs at least two stages")
    self.stageChannels = stageChannels
    var convs: [Conv2d] = []
    var norms: [BatchNorm2d] = []
    var coarser = stageChannels.last!
    // Levels from coarse to fine: the skip is stage L-2, L-3, …, 0.
    for (k, skip) in stageChannels.dropLast().reversed().enumerated() {
      let conv = Conv2d(
        "up\(k + 1).conv", store: store, workspace: workspace, inChannels: coarser + skip,
        outChannels: width, kernel: 3, padding: 1)
      convs.append(conv)
      norms.append(BatchNorm2d("up\(k + 1).bn", store: store, channels: width))
      coarser = width
    }
    self.convs = convs
    self.norms = norms
    relus = convs.map { _ in ReLU() }
    ups = convs.map { _ in Upsample(height: 1, width: 1) }
    concats = convs.map { _ in ChannelConcat() }
    classifier = Conv2d(
      "classifier", store: store, workspace: workspace, inChannels: width, outChannels: classes,
      kernel: 1, bias: true)
    outputUpsample = Upsample(height: outputSize.h, width: outputSize.w)
    store.finalize(seed: seed)
  }

  /// Training (batch statistics) or evaluation mode of the decoder's BNs.
  public var isTraining: Bool {
    get { norms.first?.isTraining ?? false }
    set { for bn in norms { bn.isTraining = newValue } }
  }

  /// Parameters of the decoder.
  public var parameterCount: Int { store.parameters.reduce(0) { $0 + $1.count } }

  /// maps (finest first) → logits `[N, classes, OH, OW]`.
  @discardableResult
  public func forward(_ maps: [Tensor]) -> Tensor {
    precondition(maps.count == stageChannels.count, "\(maps.count) maps for \(stageChannels)")
    for (m, c) in zip(maps, stageChannels) {
      precondition(m.shape.count == 4 && m.dim(1) == c, "stage map \(m.shape), expected \(c) ch")
    }
    mapShapes = maps.map(\.shape)
    var h = maps.last!
    for (k, skip) in maps.dropLast().reversed().enumerated() {
      ups[k].size = (skip.dim(2), skip.dim(3))
      let up = ups[k].forward(h)
      let cat = concats[k].forward(up, skip)
      h = relus[k].forward(norms[k].forward(convs[k].forward(cat)))
    }
    return outputUpsample.forward(classifier.forward(h))
  }

  /// dlogits → accumulates the decoder's gradients; returns the gradients of the stage maps
  /// (finest first), which a frozen encoder ignores.
  @discardableResult
  public func backward(_ dy: Tensor) -> [Tensor] {
    var d = classifier.backward(outputUpsample.backward(dy))
    var skips: [Tensor] = []
    for k in stride(from: convs.count - 1, through: 0, by: -1) {
      let dcat = convs[k].backward(norms[k].backward(relus[k].backward(d)))
      concats[k].backward(dcat)
      skips.append(concats[k].gradientB)
      d = ups[k].backward(concats[k].gradientA)
    }
    // skips holds finest … second coarsest; d is the coarsest map's gradient.
    return skips + [d]
  }
}
