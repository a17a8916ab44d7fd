/// Architecture of one modality's encoder (ResNet-style):
/// stem 3×3 conv stride 2 → `stemWidth`, BN, ReLU; one stage per entry of `widths` with
/// `blocksPerStage` ``BasicBlock``s (the first block of stage i > 0 has stride 2); global
/// average pool → `widths.last` features; projection head Linear → `projectionHidden`, ReLU,
/// Linear → `projectionOutput`; L2 normalization.
public struct EncoderConfig: Sendable, Codable, Equatable {
  /// Input bands (2 for S1 VV/VH, 4 for S2 B02/B03/B04/B08, …).
  public var inChannels: Int
  /// Stem output width.
  public var stemWidth: Int
  /// Width of each stage.
  public var widths: [Int]
  /// Basic blocks per stage.
  public var blocksPerStage: Int
  /// Hidden width of the projection head.
  public var projectionHidden: Int
  /// Embedding dimension.
  public var projectionOutput: Int

  public init(
    inChannels: Int, stemWidth: Int, widths: [Int], blocksPerStage: Int = 1,
    projectionHidden: Int, projectionOutput: Int
  ) {
    self.inChannels = inChannels
    self.stemWidth = stemWidth
    self.widths = widths
    self.blocksPerStage = blocksPerStage
    self.projectionHidden = projectionHidden
    self.projectionOutput = projectionOutput
  }

  /// tandem-small: stem 32; stages 32, 64, 128, 256; features 256; projection 256 → 256 → 128.
  public static func small(inChannels: Int) -> EncoderConfig {
    EncoderConfig(
      inChannels: inChannels, stemWidth: 32, widths: [32, 64, 128, 256],
      projectionHidden: 256, projectionOutput: 128)
  }

  /// tandem-tiny (tests): stem 8; stages 8, 16, 16, 32; features 32; projection 32 → 32 → 16.
  public static func tiny(inChannels: Int) -> EncoderConfig {
    EncoderConfig(
      inChannels: inChannels, stemWidth: 8, widths: [8, 16, 16, 32],
      projectionHidden: 32, projectionOutput: 16)
  }

  /// Dimension of the pooled features (input of the projection head).
  public var featureDimension: Int { widths.last ?? stemWidth }
}

/// One modality's encoder; parameters are named `<prefix>stem.conv.weight`,
/// `<prefix>layer2.0.conv1.weight`, `<prefix>proj.0.weight`, … (see ``EncoderConfig``).
public final class Encoder {
  /// The architecture.
  public let config: EncoderConfig
  let stemConv: Conv2d
  let stemBN: BatchNorm2d
  let blocks: [BasicBlock]
  let pool = GlobalAvgPool()
  let proj1: Linear
  let projReLU = ReLU()
  let proj2: Linear
  let norm = L2Normalize()
  private var inputShape: [Int] = []

  init(prefix: String, config: EncoderConfig, store: ParameterStore, workspace: Workspace) {
    self.config = config
    stemConv = Conv2d(
      prefix + "stem.conv", store: store, workspace: workspace, inChannels: config.inChannels,
      outChannels: config.stemWidth, kernel: 3, stride: 2, padding: 1)
    stemConv.computesInputGradient = false
    stemBN = BatchNorm2d(
      prefix + "stem.bn", store: store, channels: config.stemWidth, fusedReLU: true,
      workspace: workspace)
    var blocks: [BasicBlock] = []
    var width = config.stemWidth
    for (s, w) in config.widths.enumerated() {
      for b in 0..<config.blocksPerStage {
        blocks.append(
          BasicBlock(
            prefix + "layer\(s + 1).\(b)", store: store, workspace: workspace, inChannels: width,
            outChannels: w, stride: s > 0 && b == 0 ? 2 : 1))
        width = w
      }
    }
    self.blocks = blocks
    proj1 = Linear(
      prefix + "proj.0", store: store, inFeatures: width, outFeatures: config.projectionHidden)
    proj2 = Linear(
      prefix + "proj.2", store: store, inFeatures: config.projectionHidden,
      outFeatures: config.projectionOutput)
  }

  /// Training (batch statistics) or evaluation (running statistics) mode for every BN.
  public var isTraining: Bool = true {
    didSet { for bn in batchNorms { bn.isTraining = isTraining } }
  }

  var batchNorms: [BatchNorm2d] { [stemBN] + blocks.flatMap(\.norms) }

  /// Synchronized BatchNorm over replicas (see ``BatchNorm2d/replicaSum``), or local statistics
  /// with `nil` (the default).
  public func synchronizeBatchNorm(_ sum: (any ReplicaSum)?) {
    for bn in batchNorms { bn.replicaSum = sum }
  }
  var convolutions: [Conv2d] { [stemConv] + blocks.flatMap(\.convs) }

  /// The pooled features `[N, featureDimension]` of the last forward pass (for probes).
  public var features: Tensor { pool.output }
  /// The last stage's feature map `[N, featureDimension, H/16, W/16]` of the last forward pass.
  public var featureMap: Tensor { blocks.last?.output ?? stemBN.output }
  /// Each stage's output `[N, widths[i], H/2^(i+1), W/2^(i+1)]` (strides 2, 4, 8, 16 for four
  /// stages) of the last forward pass, for multi-scale probes.
  public var stageMaps: [Tensor] {
    (0..<config.widths.count).map { blocks[($0 + 1) * config.blocksPerStage - 1].output }
  }
  /// The embeddings `[N, projectionOutput]` (unit rows) of the last forward pass.
  public var embeddings: Tensor { norm.output }

  /// x `[N, inChannels, H, W]` → z `[N, projectionOutput]`, L2-normalized.
  @discardableResult
  public func forward(_ x: Tensor, timer: LayerTimer? = nil) -> Tensor {
    precondition(
      x.shape.count == 4 && x.shape[1] == config.inChannels,
      "encoder input \(x.shape), expected [N, \(config.inChannels), H, W]")
    inputShape = x.shape
    for c in convolutions { c.timer = timer }
    var h = timer.time("conv") { stemConv.forward(x) }
    h = timer.time("bn") { stemBN.forward(h) }
    for b in blocks { h = b.forward(h, timer: timer) }
    return timer.time("head") {
      let f = pool.forward(h)
      return norm.forward(proj2.forward(projReLU.forward(proj1.forward(f))))
    }
  }

  /// Pooled features only (no projection), for embedding export and probes: x → `[N, features]`.
  @discardableResult
  public func forwardFeatures(_ x: Tensor) -> Tensor {
    var h = stemBN.forward(stemConv.forward(x))
    for b in blocks { h = b.forward(h) }
    return pool.forward(h)
  }

  /// dz `[N, projectionOutput]` → accumulates every parameter gradient (no input gradient).
  public func backward(_ dz: Tensor, timer: LayerTimer? = nil) {
    var d = timer.time("head") {
      pool.backward(proj1.backward(projReLU.backward(proj2.backward(norm.backward(dz)))))
    }
    for b in blocks.reversed() { d = b.backward(d, timer: timer) }
    d = timer.time("bn") { stemBN.backward(d) }
    timer.time("conv") { _ = stemConv.backward(d) }
  }

  /// FLOPs of the convolutions in one forward pass at `n`×`h`×`w`.
  public func convolutionFLOPs(n: Int, h: Int, w: Int) -> Double {
    var total = 0.0
    var size = (h: h, w: w)
    total += stemConv.forwardFLOPs(n: n, h: size.h, w: size.w)
    size = stemConv.outputSize(h: size.h, w: size.w)
    for b in blocks {
      total += b.conv1.forwardFLOPs(n: n, h: size.h, w: size.w)
      if let d = b.downConv { total += d.forwardFLOPs(n: n, h: size.h, w: size.w) }
      size = b.conv1.outputSize(h: size.h, w: size.w)
      total += b.conv2.forwardFLOPs(n: n, h: size.h, w: size.w)
    }
    return total
  }
}

/// A small segmentation head for downstream tasks (e.g. water masks): on a feature map,
/// `conv1` 3×3 (no bias) → `bn1` → ReLU → `classifier` 1×1 (bias) → bilinear upsample to the
/// input size. Shapes: f `[N, C, h, w]` → logits `[N, classes, H, W]`.
public final class SegmentationHead {
  /// Its own parameters (names `conv1.weight`, `bn1.*`, `classifier.weight/bias`).
  public let store = ParameterStore()
  let conv1: Conv2d
  let bn1: BatchNorm2d
  let relu = ReLU()
  let classifier: Conv2d
  let upsample: Upsample
  let workspace = Workspace()

  /// A head from `inChannels` features to `classes` logits at `outputSize`.
  public init(
    inChannels: Int, hidden: Int, classes: Int, outputSize: (h: Int, w: Int), seed: UInt64
  ) {
    conv1 = Conv2d(
      "conv1", store: store, workspace: workspace, inChannels: inChannels, outChannels: hidden,
      kernel: 3, padding: 1)
    bn1 = BatchNorm2d("bn1", store: store, channels: hidden)
    classifier = Conv2d(
      "classifier", store: store, workspace: workspace, inChannels: hidden, outChannels: classes,
      kernel: 1, bias: true)
    upsample = Upsample(height: outputSize.h, width: outputSize.w)
    store.finalize(seed: seed)
  }

  /// Training or evaluation mode of the head's BN.
  public var isTraining: Bool {
    get { bn1.isTraining }
    set { bn1.isTraining = newValue }
  }

  /// f `[N, C, h, w]` → logits `[N, classes, H, W]`.
  @discardableResult
  public func forward(_ f: Tensor) -> Tensor {
    upsample.forward(classifier.forward(relu.forward(bn1.forward(conv1.forward(f)))))
  }

  /// dlogits → df (the feature-map gradient); accumulates the head's gradients.
  @discardableResult
  public func backward(_ dy: Tensor) -> Tensor {
    conv1.backward(bn1.backward(relu.backward(classifier.backward(upsample.backward(dy)))))
  }
}
