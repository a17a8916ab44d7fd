/// ResNet basic block (torchvision `BasicBlock`; the ReLUs and the residual add are fused into
/// the BatchNorms):
/// `relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x))`, 3×3 convolutions without bias; the
/// shortcut is the identity, or `downsample.0` (1×1 conv, stride s) + `downsample.1` (BN) when
/// the stride or width changes.
///
/// Shapes: x `[N, Cin, H, W]` → y `[N, Cout, H/s, W/s]`.
public final class BasicBlock {
  let conv1: Conv2d
  let bn1: BatchNorm2d
  let conv2: Conv2d
  let bn2: BatchNorm2d
  let downConv: Conv2d?
  let downBN: BatchNorm2d?
  /// The input gradient, reused between steps.
  public let inputGradient = Tensor(shape: [0])
  let workspace: Workspace

  init(
    _ name: String, store: ParameterStore, workspace: Workspace, inChannels: Int,
    outChannels: Int, stride: Int
  ) {
    conv1 = Conv2d(
      name + ".conv1", store: store, workspace: workspace, inChannels: inChannels,
      outChannels: outChannels, kernel: 3, stride: stride, padding: 1)
    self.workspace = workspace
    bn1 = BatchNorm2d(
      name + ".bn1", store: store, channels: outChannels, fusedReLU: true, workspace: workspace)
    conv2 = Conv2d(
      name + ".conv2", store: store, workspace: workspace, inChannels: outChannels,
      outChannels: outChannels, kernel: 3, stride: 1, padding: 1)
    // bn2 also adds the shortcut and applies the block's final ReLU.
    bn2 = BatchNorm2d(
      name + ".bn2", store: store, channels: outChannels, fusedReLU: true, workspace: workspace)
    if stride != 1 || inChannels != outChannels {
      downConv = Conv2d(
        name + ".downsample.0", store: store, workspace: workspace, inChannels: inChannels,
        outChannels: outChannels, kernel: 1, stride: stride)
      downBN = BatchNorm2d(
        name + ".downsample.1", store: store, channels: outChannels, workspace: workspace)
    } else {
      downConv = nil
      downBN = nil
    }
  }

  var convs: [Conv2d] { [conv1, conv2] + (downConv.map { [$0] } ?? []) }
  var norms: [BatchNorm2d] { [bn1, bn2] + (downBN.map { [$0] } ?? []) }

  /// The output of the last forward pass.
  public var output: Tensor { bn2.output }

  /// x `[N, Cin, H, W]` → y `[N, Cout, OH, OW]`.
  @discardableResult
  public func forward(_ x: Tensor, timer: LayerTimer? = nil) -> Tensor {
    var h = timer.time("conv") { conv1.forward(x) }
    h = timer.time("bn") { bn1.forward(h) }
    h = timer.time("conv") { conv2.forward(h) }
    var sc = x
    if let downConv, let downBN {
      sc = timer.time("conv") { downConv.forward(x) }
      sc = timer.time("bn") { downBN.forward(sc) }
    }
    precondition(sc.shape == h.shape)
    return timer.time("bn") { bn2.forward(h, residual: sc) }
  }

  /// dy → dx; accumulates all parameter gradients.
  @discardableResult
  public func backward(_ dy: Tensor, timer: LayerTimer? = nil) -> Tensor {
    var d = timer.time("bn") { bn2.backward(dy) }
    let dSum = bn2.residualGradient
    d = timer.time("conv") { conv2.backward(d) }
    d = timer.time("bn") { bn1.backward(d) }
    let dMain = timer.time("conv") { conv1.backward(d) }
    var dShort = dSum
    if let downConv, let downBN {
      dShort = timer.time("bn") { downBN.backward(dSum) }
      dShort = timer.time("conv") { downConv.backward(dShort) }
    }
    timer.time("add") {
      inputGradient.resize(dMain.shape)
      let (a, b, dx) = (dMain.data, dShort.data, inputGradient.data)
      Parallel.forEachChunk(dMain.count, workers: workspace.workers, minimumPerChunk: 1 << 16) {
        r in
        Kernels.add(a, b, dx, r)
      }
    }
    return inputGradient
  }
}

/// Accumulates wall time per layer kind (conv, bn, relu, …) for benchmark breakdowns.
public final class LayerTimer {
  /// Seconds per kind.
  public private(set) var seconds: [String: Double] = [:]

  /// Whether durations are CPU time of the calling thread rather than wall time.
  public let threadCPUTime: Bool

  /// An empty timer measuring wall time, or (`threadCPUTime`) CPU time of the calling thread,
  /// which is steadier on a busy machine but only complete when all work runs on that thread.
  public init(threadCPUTime: Bool = false) { self.threadCPUTime = threadCPUTime }

  /// Runs `body`, adding its duration under `kind`.
  @inline(__always)
  public func time<T>(_ kind: String, _ body: () -> T) -> T {
    let t0 = threadCPUTime ? Clock.threadCPU() : Clock.now()
    let r = body()
    seconds[kind, default: 0] += (threadCPUTime ? Clock.threadCPU() : Clock.now()) - t0
    return r
  }

  /// Clears all totals.
  public func reset() { seconds = [:] }
}

extension Optional where Wrapped == LayerTimer {
  /// Times `body` when a timer is present, else just runs it.
  @inline(__always)
  func time<T>(_ kind: String, _ body: () -> T) -> T {
    switch self {
    case .some(let t): return t.time(kind, body)
    case .none: return body()
    }
  }
}
