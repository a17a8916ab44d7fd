import CConvKernels
import Foundation

/// 2-D convolution (cross-correlation, zero padding), PyTorch `nn.Conv2d` semantics.
///
/// Stride-1 convolutions on large maps run as shifted GEMMs on a padded copy of the input
/// (``PaddedGrid``, see ``method``); everything else as im2col + `cblas_sgemm`. Images are
/// processed in groups of `g` so that each GEMM has at least ``minimumColumns`` output columns:
/// for large feature maps `g = 1` and the GEMM writes straight into the output; for small
/// late-stage maps several images are folded into one wider GEMM (then the `[K, g·OH·OW]`
/// result is scattered back to NCHW). Columns are recomputed in backward instead of stored, so
/// the only memory besides activations is one shared workspace.
///
/// Shapes: x `[N, C, H, W]` → y `[N, K, OH, OW]`, `OH = (H + 2·padH − kH) / strideH + 1`;
/// weight `[K, C, kH, kW]`, bias `[K]`.
public final class Conv2d {
  /// The `state_dict` prefix (`s1.layer2.0.conv1`).
  public let name: String
  /// Input channels C.
  public let inChannels: Int
  /// Output channels K.
  public let outChannels: Int
  /// Kernel (height, width).
  public let kernel: (h: Int, w: Int)
  /// Stride (height, width).
  public let stride: (h: Int, w: Int)
  /// Zero padding (height, width).
  public let padding: (h: Int, w: Int)
  /// When false, backward skips dx (e.g. the stem, whose input is data).
  public var computesInputGradient = true
  /// Smallest GEMM width (N dimension) before images are folded together.
  public var minimumColumns = 1024
  /// Output columns per im2col block on large maps (the block's columns stay in L2).
  public var blockColumns = 512
  /// How stride-1 convolutions (not 1×1) are computed.
  public enum Method: Sendable {
    /// Shifted GEMMs where the map is large enough (see ``PaddedGrid``), else im2col.
    case automatic
    /// Shifted GEMMs whenever the padding allows it (tests).
    case shiftedGEMM
    /// im2col + GEMM, the reference path.
    case im2col
  }
  /// The method for stride-1 convolutions; other strides always use im2col.
  public var method = Method.automatic
  /// Whether the shifted path sums its taps with the direct AVX-512 kernel (on CPUs that have
  /// it, for a multiple of 4 output channels) instead of one sgemm per tap. Default: on, unless
  /// the environment sets `TANDEM_CONV_KERNEL=sgemm` (for A/B benchmarks).
  public var directKernel = Conv2d.directKernelDefault
  /// `TANDEM_CONV_KERNEL` is not `sgemm`.
  public static let directKernelDefault =
    ProcessInfo.processInfo.environment["TANDEM_CONV_KERNEL"] != "sgemm"
  /// Whether this CPU runs the direct kernel (AVX-512F).
  public static var directKernelAvailable: Bool { tandem_conv_taps_available() != 0 }

  let weight: ParamRef
  let bias: ParamRef?
  let workspace: Workspace
  /// The output `[N, K, OH, OW]`, reused between steps.
  public let output = Tensor(shape: [0])
  /// The input gradient, reused between steps.
  public let inputGradient = Tensor(shape: [0])
  private(set) var input: Tensor?
  private let flipped = Tensor(shape: [0])
  /// Weights as taps `[kh·kw][K][C]` (forward) and flipped taps `[kh·kw][C][K]` (input
  /// gradient) for the shifted-GEMM path.
  private let taps = Tensor(shape: [0])
  /// Optional fine-grained timing (im2col, gemm, col2im) for benchmarks.
  var timer: LayerTimer?

  /// Registers `name.weight` (and `name.bias`) in `store`.
  init(
    _ name: String, store: ParameterStore, workspace: Workspace, inChannels: Int,
    outChannels: Int, kernel: (Int, Int), stride: (Int, Int) = (1, 1), padding: (Int, Int) = (0, 0),
    bias: Bool = false
  ) {
    precondition(kernel.0 > 0 && kernel.1 > 0 && stride.0 > 0 && stride.1 > 0)
    precondition(padding.0 >= 0 && padding.1 >= 0)
    self.name = name
    self.inChannels = inChannels
    self.outChannels = outChannels
    self.kernel = (kernel.0, kernel.1)
    self.stride = (stride.0, stride.1)
    self.padding = (padding.0, padding.1)
    self.workspace = workspace
    let fanOut = Float(outChannels * kernel.0 * kernel.1)
    let fanIn = Float(inChannels * kernel.0 * kernel.1)
    // Kaiming normal (fan_out, ReLU) as torchvision's ResNet; bias like PyTorch's default.
    weight = store.param(
      name + ".weight", [outChannels, inChannels, kernel.0, kernel.1],
      .normal(std: (2 / fanOut).squareRoot()), decay: true)
    self.bias =
      bias
      ? store.param(
        name + ".bias", [outChannels], .uniform(bound: 1 / fanIn.squareRoot()), decay: false)
      : nil
  }

  /// Convenience for square kernels, strides and paddings.
  convenience init(
    _ name: String, store: ParameterStore, workspace: Workspace, inChannels: Int,
    outChannels: Int, kernel: Int, stride: Int = 1, padding: Int = 0, bias: Bool = false
  ) {
    self.init(
      name, store: store, workspace: workspace, inChannels: inChannels, outChannels: outChannels,
      kernel: (kernel, kernel), stride: (stride, stride), padding: (padding, padding), bias: bias)
  }

  /// Output spatial size for an input of `h`×`w`.
  public func outputSize(h: Int, w: Int) -> (h: Int, w: Int) {
    ((h + 2 * padding.h - kernel.h) / stride.h + 1, (w + 2 * padding.w - kernel.w) / stride.w + 1)
  }

  /// Multiply-accumulates ×2 of one forward pass for an input of `n`×`h`×`w`.
  public func forwardFLOPs(n: Int, h: Int, w: Int) -> Double {
    let o = outputSize(h: h, w: w)
    return 2 * Double(n * o.h * o.w * outChannels * inChannels * kernel.h * kernel.w)
  }

  private var isPointwise: Bool {
    kernel == (1, 1) && stride == (1, 1) && padding == (0, 0)
  }

  /// Whether the shifted-GEMM path runs on input `x`: stride 1, not pointwise, padding small
  /// enough that the input gradient is itself a (padded) stride-1 convolution, and a map large
  /// enough that the padded grid's junk positions (computed, then dropped) add at most 20 % to
  /// the GEMMs. Measured on tandem-small (one core, thread CPU time): 64×64 and 32×32 maps
  /// (6–14 % junk) gain, 16×16 (31 %) breaks even, 8×8 (75 %) is 1.5× slower than im2col.
  func usesShiftedGEMM(_ x: Tensor) -> Bool {
    guard
      method != .im2col && stride == (1, 1) && !isPointwise && padding.h < kernel.h
        && padding.w < kernel.w
    else { return false }
    let g = grid(x)
    return method == .shiftedGEMM || g.plane * 5 <= g.oh * g.ow * 6
  }

  private func grid(_ x: Tensor) -> PaddedGrid {
    PaddedGrid(
      c: x.shape[1], h: x.shape[2], w: x.shape[3], ph: padding.h, pw: padding.w, kh: kernel.h,
      kw: kernel.w)
  }

  /// Fills ``taps`` with the weights as `[a][b][K][C]` (`flip` false) or `W[k][c][kh−1−a][kw−1−b]`
  /// as `[a][b][C][K]` (`flip` true).
  private func makeTaps(flip: Bool) {
    let (c, k, kh, kw, wt) = (inChannels, outChannels, kernel.h, kernel.w, weight.value)
    taps.resize([kh * kw * k * c])
    let t = taps.data
    for ko in 0..<k {
      for ci in 0..<c {
        for a in 0..<kh {
          for b in 0..<kw {
            let v = wt[((ko * c + ci) * kh + a) * kw + b]
            if flip {
              t[(((kh - 1 - a) * kw + (kw - 1 - b)) * c + ci) * k + ko] = v
            } else {
              t[((a * kw + b) * k + ko) * c + ci] = v
            }
          }
        }
      }
    }
  }

  private func geometry(_ x: Tensor) -> ConvGeometry {
    let (oh, ow) = outputSize(h: x.shape[2], w: x.shape[3])
    return ConvGeometry(
      c: x.shape[1], h: x.shape[2], w: x.shape[3], kh: kernel.h, kw: kernel.w, sh: stride.h,
      sw: stride.w, ph: padding.h, pw: padding.w, oh: oh, ow: ow)
  }

  /// Images per GEMM so that it has at least ``minimumColumns`` columns.
  private func groupSize(_ n: Int, _ ohw: Int) -> Int {
    max(1, min(n, (minimumColumns + ohw - 1) / ohw))
  }

  /// x `[N, C, H, W]` → y `[N, K, OH, OW]`.
  ///
  /// The batch is split over the worker threads (``BLAS/setThreads(_:)``); each worker runs
  /// im2col and a single-threaded GEMM on its own images, which scales better on these
  /// short-and-wide GEMMs than splitting each GEMM across threads.
  @discardableResult
  public func forward(_ x: Tensor) -> Tensor {
    precondition(x.shape.count == 4 && x.shape[1] == inChannels, "conv input \(x.shape)")
    input = x
    let geo = geometry(x)
    precondition(geo.oh > 0 && geo.ow > 0, "conv input \(x.shape) smaller than kernel")
    let n = x.shape[0]
    output.resize([n, outChannels, geo.oh, geo.ow])
    if usesShiftedGEMM(x) {
      makeTaps(flip: false)
      let grid = grid(x)
      let (chw, khw) = (geo.c * geo.h * geo.w, outChannels * geo.oh * geo.ow)
      Parallel.forEachWorker(n, workers: workspace.workers) { worker, range in
        let g = groupSize(range.count, grid.plane)
        var n0 = range.lowerBound
        while n0 < range.upperBound {
          let gi = min(g, range.upperBound - n0)
          grid.convolve(
            images: gi, x.data + n0 * chw, taps: taps.data, outChannels: outChannels,
            into: output.data + n0 * khw,
            padded: workspace.buffer(0, count: geo.c * gi * grid.plane, worker: worker),
            grid: workspace.buffer(1, count: outChannels * gi * grid.plane, worker: worker),
            direct: directKernel, timer: worker == 0 ? timer : nil)
          n0 += gi
        }
      }
    } else {
      Parallel.forEachWorker(n, workers: workspace.workers) { worker, range in
        forwardImages(range, x: x, geo: geo, worker: worker)
      }
    }
    if let bias {
      let (b, y, ohw) = (bias.value, output.data, geo.oh * geo.ow)
      for i in 0..<n {
        for k in 0..<outChannels {
          let p = y + (i * outChannels + k) * ohw
          let v = b[k]
          for j in 0..<ohw { p[j] += v }
        }
      }
    }
    return output
  }

  private func forwardImages(_ range: Range<Int>, x: Tensor, geo: ConvGeometry, worker: Int) {
    let timer = worker == 0 ? self.timer : nil
    let (c, h, w, ohw) = (geo.c, geo.h, geo.w, geo.oh * geo.ow)
    let ckk = c * kernel.h * kernel.w
    let g = groupSize(range.count, ohw)
    var n0 = range.lowerBound
    while n0 < range.upperBound {
      let gi = min(g, range.upperBound - n0)
      let cols = gi * ohw
      if gi == 1 && !isPointwise && ohw > 2 * blockColumns {
        // Large map: im2col and GEMM a few output rows at a time so the columns stay in cache.
        let y = output.data + n0 * outChannels * ohw
        let rowsPerBlock = max(1, blockColumns / geo.ow)
        let col = workspace.buffer(0, count: ckk * rowsPerBlock * geo.ow, worker: worker)
        var r0 = 0
        while r0 < geo.oh {
          let r1 = min(geo.oh, r0 + rowsPerBlock)
          let bc = (r1 - r0) * geo.ow
          timer.time("conv.im2col") {
            geo.im2col(image: x.data + n0 * c * h * w, rows: r0..<r1, col: col, ld: bc)
          }
          timer.time("conv.gemm") {
            BLAS.sgemm(
              transA: false, transB: false, m: outChannels, n: bc, k: ckk, a: weight.value,
              lda: ckk, b: col, ldb: bc, beta: 0, c: y + r0 * geo.ow, ldc: ohw)
          }
          r0 = r1
        }
        n0 += 1
        continue
      }
      let col: UnsafeMutablePointer<Float>
      if isPointwise && gi == 1 {
        col = x.data + n0 * c * h * w
      } else {
        col = workspace.buffer(0, count: ckk * cols, worker: worker)
        timer.time("conv.im2col") {
          geo.im2col(images: gi, x.data + n0 * c * h * w, col: col, ld: cols)
        }
      }
      let y = output.data + n0 * outChannels * ohw
      let dst = gi == 1 ? y : workspace.buffer(1, count: outChannels * cols, worker: worker)
      timer.time("conv.gemm") {
        BLAS.sgemm(
          transA: false, transB: false, m: outChannels, n: cols, k: ckk, a: weight.value, lda: ckk,
          b: col, ldb: cols, beta: 0, c: dst, ldc: cols)
      }
      if gi > 1 {
        timer.time("conv.copy") {
          Self.scatter(dst, images: gi, channels: outChannels, plane: ohw, into: y)
        }
      }
      n0 += gi
    }
  }

  /// `[K, g·P]` (image-major columns) → NCHW `[g, K, P]`.
  private static func scatter(
    _ src: UnsafeMutablePointer<Float>, images g: Int, channels k: Int, plane p: Int,
    into dst: UnsafeMutablePointer<Float>
  ) {
    for ch in 0..<k {
      for i in 0..<g { (dst + (i * k + ch) * p).update(from: src + ch * g * p + i * p, count: p) }
    }
  }

  /// NCHW `[g, K, P]` → `[K, g·P]`.
  private static func gather(
    _ src: UnsafeMutablePointer<Float>, images g: Int, channels k: Int, plane p: Int,
    into dst: UnsafeMutablePointer<Float>
  ) {
    for ch in 0..<k {
      for i in 0..<g { (dst + ch * g * p + i * p).update(from: src + (i * k + ch) * p, count: p) }
    }
  }

  /// dy `[N, K, OH, OW]` → dx `[N, C, H, W]`; accumulates dW, db.
  ///
  /// dW = dy·colᵀ (per worker into a private buffer, then summed). For stride 1 the input
  /// gradient is itself a convolution of dy with the flipped, transposed kernel, so it is
  /// computed as im2col(dy) + GEMM (copies only); other strides use GEMM + col2im (scatter-add).
  @discardableResult
  public func backward(_ dy: Tensor) -> Tensor {
    guard let x = input else { preconditionFailure("Conv2d.backward before forward") }
    let geo = geometry(x)
    let n = x.shape[0]
    precondition(dy.shape == [n, outChannels, geo.oh, geo.ow], "conv dy \(dy.shape)")
    let ohw = geo.oh * geo.ow
    let ckk = geo.c * kernel.h * kernel.w
    if let bias {
      let db = bias.grad
      for i in 0..<n {
        for k in 0..<outChannels {
          let p = dy.data + (i * outChannels + k) * ohw
          var s: Float = 0
          for j in 0..<ohw { s += p[j] }
          db[k] += s
        }
      }
    }
    if usesShiftedGEMM(x) {
      backwardShifted(x: x, dy: dy, geo: geo)
      return inputGradient
    }
    let transposed = ConvGeometry(
      c: outChannels, h: geo.oh, w: geo.ow, kh: kernel.h, kw: kernel.w, sh: 1, sw: 1,
      ph: kernel.h - 1 - padding.h, pw: kernel.w - 1 - padding.w, oh: geo.h, ow: geo.w)
    let useTransposed =
      computesInputGradient && !isPointwise && stride == (1, 1) && transposed.ph >= 0
      && transposed.pw >= 0
    if useTransposed {
      // W'[c][k][a][b] = W[k][c][kh−1−a][kw−1−b]
      flipped.resize([ckk * outChannels])
      let (c, kh, kw, wt, f) = (geo.c, kernel.h, kernel.w, weight.value, flipped.data)
      for k in 0..<outChannels {
        for ci in 0..<c {
          for a in 0..<kh {
            for b in 0..<kw {
              f[((ci * outChannels + k) * kh + a) * kw + b] =
                wt[((k * c + ci) * kh + (kh - 1 - a)) * kw + (kw - 1 - b)]
            }
          }
        }
      }
    }
    if computesInputGradient {
      inputGradient.resize(x.shape)
      if !useTransposed { inputGradient.zero() }
    }
    let workers = min(workspace.workers, n)
    // With few output channels the GEMM for dW [K, CKK] has only K rows and runs at ~55 % of
    // peak; its transpose dWᵀ [CKK, K] = col · dyᵀ runs at ~85 % (measured with
    // `tandem bench train --gemm-shapes`), so it is computed that way and transposed back.
    let transposeDW = outChannels < 128
    Parallel.forEachWorker(n, workers: workers) { worker, range in
      let direct = worker == 0 && !transposeDW
      let dW = direct ? weight.grad : workspace.buffer(3, count: outChannels * ckk, worker: worker)
      if !direct { dW.update(repeating: 0, count: outChannels * ckk) }
      backwardImages(
        range, x: x, dy: dy, geo: geo, transposed: useTransposed ? transposed : nil, dW: dW,
        transposeDW: transposeDW, worker: worker)
    }
    let g = weight.grad
    for worker in (transposeDW ? 0 : 1)..<max(workers, 1) {
      let p = workspace.buffer(3, count: outChannels * ckk, worker: worker)
      if transposeDW {
        for j in 0..<ckk {
          for k in 0..<outChannels { g[k * ckk + j] += p[j * outChannels + k] }
        }
      } else {
        for i in 0..<(outChannels * ckk) { g[i] += p[i] }
      }
    }
    return inputGradient
  }

  /// Backward on the shifted-GEMM path: per worker, dWᵀ by taps into a private buffer (summed
  /// afterwards) and dx as the stride-1 convolution of dy with the flipped kernel.
  private func backwardShifted(x: Tensor, dy: Tensor, geo: ConvGeometry) {
    let n = x.shape[0]
    let (c, k, kh, kw) = (geo.c, outChannels, kernel.h, kernel.w)
    let grid = grid(x)
    let gridT = PaddedGrid(
      c: k, h: geo.oh, w: geo.ow, ph: kh - 1 - padding.h, pw: kw - 1 - padding.w, kh: kh, kw: kw)
    precondition(gridT.oh == geo.h && gridT.ow == geo.w)
    if computesInputGradient {
      makeTaps(flip: true)
      inputGradient.resize(x.shape)
    }
    let workers = min(workspace.workers, n)
    let tapsCount = kh * kw * c * k
    // The direct kernel leaves dWᵀ as [a][b][C][K] instead of [a][C][b][K].
    let directGrad = directKernel && grid.directWeightGradient(outChannels: k)
    let (chw, khw) = (c * geo.h * geo.w, k * geo.oh * geo.ow)
    Parallel.forEachWorker(n, workers: workers) { worker, range in
      let timer = worker == 0 ? self.timer : nil
      let dWt = workspace.buffer(3, count: tapsCount, worker: worker)
      dWt.update(repeating: 0, count: tapsCount)
      let g = groupSize(range.count, grid.plane)
      var n0 = range.lowerBound
      while n0 < range.upperBound {
        let gi = min(g, range.upperBound - n0)
        grid.weightGradient(
          images: gi, x.data + n0 * chw, dy.data + n0 * khw, outChannels: k, into: dWt,
          shifted: workspace.buffer(0, count: c * kw * gi * grid.plane, worker: worker),
          gradient: workspace.buffer(1, count: k * gi * grid.plane, worker: worker),
          direct: directGrad, timer: timer)
        if computesInputGradient {
          gridT.convolve(
            images: gi, dy.data + n0 * khw, taps: taps.data, outChannels: c,
            into: inputGradient.data + n0 * chw,
            padded: workspace.buffer(2, count: k * gi * gridT.plane, worker: worker),
            grid: workspace.buffer(4, count: c * gi * gridT.plane, worker: worker),
            direct: directKernel, timer: timer)
        }
        n0 += gi
      }
    }
    // dW[k][c][a][b] += Σ_workers dWt[a][c][b][k]
    let g = weight.grad
    for worker in 0..<max(workers, 1) {
      let p = workspace.buffer(3, count: tapsCount, worker: worker)
      for a in 0..<kh {
        for ci in 0..<c {
          for b in 0..<kw {
            let src = p + (directGrad ? ((a * kw + b) * c + ci) * k : ((a * c + ci) * kw + b) * k)
            for ko in 0..<k { g[((ko * c + ci) * kh + a) * kw + b] += src[ko] }
          }
        }
      }
    }
  }

  private func backwardImages(
    _ range: Range<Int>, x: Tensor, dy: Tensor, geo: ConvGeometry, transposed: ConvGeometry?,
    dW: UnsafeMutablePointer<Float>, transposeDW: Bool, worker: Int
  ) {
    let timer = worker == 0 ? self.timer : nil
    let (c, ohw, hw) = (geo.c, geo.oh * geo.ow, geo.h * geo.w)
    let ckk = c * kernel.h * kernel.w
    let kkk = outChannels * kernel.h * kernel.w
    let g = groupSize(range.count, ohw)
    var n0 = range.lowerBound
    while n0 < range.upperBound {
      let gi = min(g, range.upperBound - n0)
      let cols = gi * ohw
      // dy for this group as [K, cols].
      let dyg: UnsafeMutablePointer<Float>
      if gi == 1 {
        dyg = dy.data + n0 * outChannels * ohw
      } else {
        dyg = workspace.buffer(1, count: outChannels * cols, worker: worker)
        timer.time("conv.copy") {
          Self.gather(
            dy.data + n0 * outChannels * ohw, images: gi, channels: outChannels, plane: ohw,
            into: dyg)
        }
      }
      let pointwise = isPointwise && gi == 1
      if gi == 1 && !isPointwise && ohw > 2 * blockColumns
        && (transposed != nil || !computesInputGradient)
      {
        backwardBlocked(
          image: n0, x: x, dy: dy, geo: geo, transposed: transposed, dW: dW,
          transposeDW: transposeDW, worker: worker, timer: timer)
        n0 += 1
        continue
      }
      let col: UnsafeMutablePointer<Float>
      if pointwise {
        col = x.data + n0 * c * hw
      } else {
        col = workspace.buffer(
          0, count: max(ckk * cols, transposed != nil ? kkk * gi * hw : 0), worker: worker)
        timer.time("conv.im2col") {
          geo.im2col(images: gi, x.data + n0 * c * hw, col: col, ld: cols)
        }
      }
      timer.time("conv.gemm") {
        if transposeDW {
          // dWᵀ[CKK, K] += col · dy[K, cols]ᵀ
          BLAS.sgemm(
            transA: false, transB: true, m: ckk, n: outChannels, k: cols, a: col, lda: cols,
            b: dyg, ldb: cols, beta: 1, c: dW, ldc: outChannels)
        } else {
          // dW[K, CKK] += dy[K, cols] · colᵀ
          BLAS.sgemm(
            transA: false, transB: true, m: outChannels, n: ckk, k: cols, a: dyg, lda: cols,
            b: col, ldb: cols, beta: 1, c: dW, ldc: ckk)
        }
      }
      if computesInputGradient {
        let dx = inputGradient.data + n0 * c * hw
        if let transposed {
          // dx[C, g·HW] = W'[C, K·kh·kw] · im2col(dy)
          let dcols = gi * hw
          timer.time("conv.im2col") {
            transposed.im2col(images: gi, dy.data + n0 * outChannels * ohw, col: col, ld: dcols)
          }
          let dst = gi == 1 ? dx : workspace.buffer(2, count: c * dcols, worker: worker)
          timer.time("conv.gemm") {
            BLAS.sgemm(
              transA: false, transB: false, m: c, n: dcols, k: kkk, a: flipped.data, lda: kkk,
              b: col, ldb: dcols, beta: 0, c: dst, ldc: dcols)
          }
          if gi > 1 {
            timer.time("conv.copy") {
              Self.scatter(dst, images: gi, channels: c, plane: hw, into: dx)
            }
          }
        } else if pointwise {
          timer.time("conv.gemm") {
            BLAS.sgemm(
              transA: true, transB: false, m: ckk, n: cols, k: outChannels, a: weight.value,
              lda: ckk, b: dyg, ldb: cols, beta: 0, c: dx, ldc: cols)
          }
        } else {
          // dcol[CKK, cols] = Wᵀ · dy, then scattered back (col2im) into dx.
          timer.time("conv.gemm") {
            BLAS.sgemm(
              transA: true, transB: false, m: ckk, n: cols, k: outChannels, a: weight.value,
              lda: ckk, b: dyg, ldb: cols, beta: 0, c: col, ldc: cols)
          }
          timer.time("conv.col2im") { geo.col2im(images: gi, col: col, ld: cols, dx: dx) }
        }
      }
      n0 += gi
    }
  }

  /// Backward for one large image in blocks of output rows (see ``blockColumns``): dW from
  /// im2col(x) blocks, dx (stride 1) from im2col(dy) blocks of input rows.
  private func backwardBlocked(
    image n0: Int, x: Tensor, dy: Tensor, geo: ConvGeometry, transposed: ConvGeometry?,
    dW: UnsafeMutablePointer<Float>, transposeDW: Bool, worker: Int, timer: LayerTimer?
  ) {
    let (c, ohw, hw) = (geo.c, geo.oh * geo.ow, geo.h * geo.w)
    let ckk = c * kernel.h * kernel.w
    let kkk = outChannels * kernel.h * kernel.w
    let dyi = dy.data + n0 * outChannels * ohw
    let xi = x.data + n0 * c * hw
    var rowsPerBlock = max(1, blockColumns / geo.ow)
    var col = workspace.buffer(0, count: ckk * rowsPerBlock * geo.ow, worker: worker)
    var r0 = 0
    while r0 < geo.oh {
      let r1 = min(geo.oh, r0 + rowsPerBlock)
      let bc = (r1 - r0) * geo.ow
      timer.time("conv.im2col") { geo.im2col(image: xi, rows: r0..<r1, col: col, ld: bc) }
      timer.time("conv.gemm") {
        if transposeDW {
          BLAS.sgemm(
            transA: false, transB: true, m: ckk, n: outChannels, k: bc, a: col, lda: bc,
            b: dyi + r0 * geo.ow, ldb: ohw, beta: 1, c: dW, ldc: outChannels)
        } else {
          BLAS.sgemm(
            transA: false, transB: true, m: outChannels, n: ckk, k: bc, a: dyi + r0 * geo.ow,
            lda: ohw, b: col, ldb: bc, beta: 1, c: dW, ldc: ckk)
        }
      }
      r0 = r1
    }
    guard let transposed, computesInputGradient else { return }
    let dx = inputGradient.data + n0 * c * hw
    rowsPerBlock = max(1, blockColumns / geo.w)
    col = workspace.buffer(0, count: kkk * rowsPerBlock * geo.w, worker: worker)
    r0 = 0
    while r0 < geo.h {
      let r1 = min(geo.h, r0 + rowsPerBlock)
      let bc = (r1 - r0) * geo.w
      timer.time("conv.im2col") { transposed.im2col(image: dyi, rows: r0..<r1, col: col, ld: bc) }
      timer.time("conv.gemm") {
        BLAS.sgemm(
          transA: false, transB: false, m: c, n: bc, k: kkk, a: flipped.data, lda: kkk, b: col,
          ldb: bc, beta: 0, c: dx + r0 * geo.w, ldc: hw)
      }
      r0 = r1
    }
  }
}

/// Sizes of one convolution; im2col/col2im for a group of images.
struct ConvGeometry {
  let c, h, w, kh, kw, sh, sw, ph, pw, oh, ow: Int

  /// Valid outputs `[start, end)` along one axis for kernel offset `k` (those reading inside).
  @inline(__always)
  static func validRange(k: Int, pad: Int, stride s: Int, size: Int, out: Int) -> (Int, Int) {
    // Need 0 <= o·s − pad + k <= size − 1.
    let lo = pad - k
    let start = min(lo <= 0 ? 0 : (lo + s - 1) / s, out)
    let hi = size - 1 + pad - k
    let end = hi < 0 ? 0 : min(out, hi / s + 1)
    return (start, max(end, start))
  }

  /// `images` images x `[g, C, H, W]` → columns `[C·kh·kw, g·OH·OW]` with row stride `ld`
  /// (image i occupies columns `i·OH·OW ..< (i+1)·OH·OW`). Parallel over (image, channel).
  func im2col(
    images: Int, _ x: UnsafeMutablePointer<Float>, col: UnsafeMutablePointer<Float>, ld: Int
  ) {
    for i in 0..<images {
      im2col(image: x + i * c * h * w, rows: 0..<oh, col: col + i * oh * ow, ld: ld)
    }
  }

  /// One image x `[C, H, W]`, output rows `rows` only → columns `[C·kh·kw, rows.count·OW]`
  /// with row stride `ld`.
  func im2col(
    image xi: UnsafeMutablePointer<Float>, rows: Range<Int>, col: UnsafeMutablePointer<Float>,
    ld: Int
  ) {
    let (r0, r1) = (rows.lowerBound, rows.upperBound)
    for ci in 0..<c {
      for ki in 0..<kh {
        var (ohStart, ohEnd) = Self.validRange(k: ki, pad: ph, stride: sh, size: h, out: oh)
        ohStart = min(max(ohStart, r0), r1)
        ohEnd = max(min(ohEnd, r1), ohStart)
        for kj in 0..<kw {
          let row = col + ((ci * kh + ki) * kw + kj) * ld - r0 * ow
          let (owStart, owEnd) = Self.validRange(k: kj, pad: pw, stride: sw, size: w, out: ow)
          if ohStart > r0 { (row + r0 * ow).update(repeating: 0, count: (ohStart - r0) * ow) }
          if ohEnd < r1 { (row + ohEnd * ow).update(repeating: 0, count: (r1 - ohEnd) * ow) }
          if sh == 1 && sw == 1 && ow == w {
            // The rows' sources are consecutive in x: one copy of the whole block (valid or
            // not), then the columns outside [owStart, owEnd) are zeroed. Small maps have
            // short rows, where per-row copies cost more than the data.
            let d0 = row + ohStart * ow
            let count = (ohEnd - ohStart) * ow
            let base = (ohStart - ph + ki) * w - pw + kj
            let lo = min(max(0, -base), count)
            let hi = max(min(count, h * w - base), lo)
            if lo > 0 { d0.update(repeating: 0, count: lo) }
            (d0 + lo).update(from: xi + ci * h * w + base + lo, count: hi - lo)
            if hi < count { (d0 + hi).update(repeating: 0, count: count - hi) }
            if owStart > 0 || owEnd < ow {
              for o in ohStart..<ohEnd {
                let d = row + o * ow
                for q in 0..<owStart { d[q] = 0 }
                for q in owEnd..<ow { d[q] = 0 }
              }
            }
            continue
          }
          for o in ohStart..<ohEnd {
            let d = row + o * ow
            let src = xi + (ci * h + o * sh - ph + ki) * w - pw + kj
            if owStart > 0 { d.update(repeating: 0, count: owStart) }
            if owEnd < ow { (d + owEnd).update(repeating: 0, count: ow - owEnd) }
            if sw == 1 {
              (d + owStart).update(from: src + owStart, count: owEnd - owStart)
            } else if sw == 2 {
              Kernels.gatherStride2(src + 2 * owStart, d + owStart, owEnd - owStart)
            } else {
              for q in owStart..<owEnd { d[q] = src[q * sw] }
            }
          }
        }
      }
    }
  }

  /// Columns `[C·kh·kw, g·OH·OW]` (row stride `ld`) accumulated into dx `[g, C, H, W]`.
  /// Parallel over (image, channel): each item writes one channel plane.
  func col2im(
    images: Int, col: UnsafeMutablePointer<Float>, ld: Int, dx: UnsafeMutablePointer<Float>
  ) {
    let ohw = oh * ow
    do {
      for item in 0..<(images * c) {
        let (i, ci) = (item / c, item % c)
        let dxi = dx + i * c * h * w
        let base = col + i * ohw
        for ki in 0..<kh {
          let (ohStart, ohEnd) = Self.validRange(k: ki, pad: ph, stride: sh, size: h, out: oh)
          for kj in 0..<kw {
            let row = base + ((ci * kh + ki) * kw + kj) * ld
            let (owStart, owEnd) = Self.validRange(k: kj, pad: pw, stride: sw, size: w, out: ow)
            for o in ohStart..<ohEnd {
              let s = row + o * ow
              let d = dxi + (ci * h + o * sh - ph + ki) * w - pw + kj
              if sw == 1 {
                for q in owStart..<owEnd { d[q] += s[q] }
              } else if sw == 2 {
                Kernels.scatterAddStride2(s + owStart, d + 2 * owStart, owEnd - owStart)
              } else {
                for q in owStart..<owEnd { d[q * sw] += s[q] }
              }
            }
          }
        }
      }
    }
  }
}
