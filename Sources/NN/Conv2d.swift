/// 2-D convolution (cross-correlation, zero padding), PyTorch `nn.Conv2d` semantics.
///
/// Implemented as im2col + `cblas_sgemm`. Images are processed in groups of `g` so that each
/// GEMM has at least ``minimumColumns`` output columns: for large feature maps `g = 1` and the
/// GEMM writes straight into the output; for small late-stage maps several images are folded into
/// one wider GEMM (then the `[K, g·OH·OW]` result is scattered back to NCHW). Columns are
/// recomputed in backward instead of stored, so the only memory besides activations is one
/// shared workspace.
///
/// Shapes: x `[N, C, H, W]` → y `[N, K, OH, OW]`, `OH = (H + 2·padH − kH) / strideH + 1`;
/// weight `[K, C, kH, kW]`, bias `[K]`.
public final class Conv2d {
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

  let weight: ParamRef
  let bias: ParamRef?
  let workspace: Workspace
  /// The output `[N, K, OH, OW]`, reused between steps.
  public let output = Tensor(shape: [0])
  /// The input gradient, reused between steps.
  public let inputGradient = Tensor(shape: [0])
  private var input: Tensor?

  /// Registers `name.weight` (and `name.bias`) in `store`.
  init(
    _ name: String, store: ParameterStore, workspace: Workspace, inChannels: Int,
    outChannels: Int, kernel: (Int, Int), stride: (Int, Int) = (1, 1), padding: (Int, Int) = (0, 0),
    bias: Bool = false
  ) {
    precondition(kernel.0 > 0 && kernel.1 > 0 && stride.0 > 0 && stride.1 > 0)
    precondition(padding.0 >= 0 && padding.1 >= 0)
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

  /// x `[N, C, H, W]` → y `[N, K, OH, OW]`.
  @discardableResult
  public func forward(_ x: Tensor) -> Tensor {
    precondition(x.shape.count == 4 && x.shape[1] == inChannels, "conv input \(x.shape)")
    input = x
    let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    let (oh, ow) = outputSize(h: h, w: w)
    precondition(oh > 0 && ow > 0, "conv input \(x.shape) smaller than kernel")
    output.resize([n, outChannels, oh, ow])
    let ohw = oh * ow
    let ckk = c * kernel.h * kernel.w
    let g = max(1, min(n, (minimumColumns + ohw - 1) / ohw))
    let y = output.data
    var n0 = 0
    while n0 < n {
      let gi = min(g, n - n0)
      let cols = gi * ohw
      let col: UnsafeMutablePointer<Float>
      if isPointwise && gi == 1 {
        col = x.data + n0 * c * h * w
      } else {
        col = workspace.buffer(0, count: ckk * cols)
        for i in 0..<gi {
          im2col(
            x.data + (n0 + i) * c * h * w, c: c, h: h, w: w, oh: oh, ow: ow, col: col + i * ohw,
            ld: cols)
        }
      }
      let dst =
        gi == 1 ? y + n0 * outChannels * ohw : workspace.buffer(1, count: outChannels * cols)
      BLAS.sgemm(
        transA: false, transB: false, m: outChannels, n: cols, k: ckk, a: weight.value, lda: ckk,
        b: col, ldb: cols, beta: 0, c: dst, ldc: cols)
      if gi > 1 {
        for k in 0..<outChannels {
          for i in 0..<gi {
            (y + ((n0 + i) * outChannels + k) * ohw).update(
              from: dst + k * cols + i * ohw, count: ohw)
          }
        }
      }
      n0 += gi
    }
    if let bias {
      let b = bias.value
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

  /// dy `[N, K, OH, OW]` → dx `[N, C, H, W]`; accumulates dW, db.
  @discardableResult
  public func backward(_ dy: Tensor) -> Tensor {
    guard let x = input else { preconditionFailure("Conv2d.backward before forward") }
    let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    let (oh, ow) = outputSize(h: h, w: w)
    precondition(dy.shape == [n, outChannels, oh, ow], "conv dy \(dy.shape)")
    let ohw = oh * ow
    let ckk = c * kernel.h * kernel.w
    let g = max(1, min(n, (minimumColumns + ohw - 1) / ohw))
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
    if computesInputGradient {
      inputGradient.resize(x.shape)
      inputGradient.zero()
    }
    var n0 = 0
    while n0 < n {
      let gi = min(g, n - n0)
      let cols = gi * ohw
      // dy for this group as [K, cols].
      let dyg: UnsafeMutablePointer<Float>
      if gi == 1 {
        dyg = dy.data + n0 * outChannels * ohw
      } else {
        dyg = workspace.buffer(1, count: outChannels * cols)
        for k in 0..<outChannels {
          for i in 0..<gi {
            (dyg + k * cols + i * ohw).update(
              from: dy.data + ((n0 + i) * outChannels + k) * ohw, count: ohw)
          }
        }
      }
      let pointwise = isPointwise && gi == 1
      let col: UnsafeMutablePointer<Float>
      if pointwise {
        col = x.data + n0 * c * h * w
      } else {
        col = workspace.buffer(0, count: ckk * cols)
        for i in 0..<gi {
          im2col(
            x.data + (n0 + i) * c * h * w, c: c, h: h, w: w, oh: oh, ow: ow, col: col + i * ohw,
            ld: cols)
        }
      }
      // dW[K, CKK] += dy[K, cols] · colᵀ
      BLAS.sgemm(
        transA: false, transB: true, m: outChannels, n: ckk, k: cols, a: dyg, lda: cols, b: col,
        ldb: cols, beta: 1, c: weight.grad, ldc: ckk)
      if computesInputGradient {
        // dcol[CKK, cols] = Wᵀ · dy, then scattered back (col2im) into dx.
        if pointwise {
          BLAS.sgemm(
            transA: true, transB: false, m: ckk, n: cols, k: outChannels, a: weight.value, lda: ckk,
            b: dyg, ldb: cols, beta: 0, c: inputGradient.data + n0 * c * h * w, ldc: cols)
        } else {
          BLAS.sgemm(
            transA: true, transB: false, m: ckk, n: cols, k: outChannels, a: weight.value, lda: ckk,
            b: dyg, ldb: cols, beta: 0, c: col, ldc: cols)
          for i in 0..<gi {
            col2im(
              col + i * ohw, ld: cols, c: c, h: h, w: w, oh: oh, ow: ow,
              dx: inputGradient.data + (n0 + i) * c * h * w)
          }
        }
      }
      n0 += gi
    }
    return inputGradient
  }

  /// Valid output columns `[start, end)` for kernel column offset `kj` (those reading inside).
  @inline(__always)
  private func validRange(k: Int, pad: Int, stride s: Int, size: Int, out: Int) -> (Int, Int) {
    // Need 0 <= o*s - pad + k <= size-1.
    let lo = pad - k
    let start = lo <= 0 ? 0 : (lo + s - 1) / s
    let hi = size - 1 + pad - k
    let end = hi < 0 ? 0 : min(out, hi / s + 1)
    return (min(start, out), max(end, min(start, out)))
  }

  /// One image x `[C, H, W]` → columns `[C·kH·kW, OH·OW]` with row stride `ld`.
  private func im2col(
    _ x: UnsafeMutablePointer<Float>, c: Int, h: Int, w: Int, oh: Int, ow: Int,
    col: UnsafeMutablePointer<Float>, ld: Int
  ) {
    let (kh, kw, sh, sw, ph, pw) = (kernel.h, kernel.w, stride.h, stride.w, padding.h, padding.w)
    for ci in 0..<c {
      for ki in 0..<kh {
        let (ohStart, ohEnd) = validRange(k: ki, pad: ph, stride: sh, size: h, out: oh)
        for kj in 0..<kw {
          let row = col + ((ci * kh + ki) * kw + kj) * ld
          let (owStart, owEnd) = validRange(k: kj, pad: pw, stride: sw, size: w, out: ow)
          if ohStart > 0 { row.update(repeating: 0, count: ohStart * ow) }
          if ohEnd < oh { (row + ohEnd * ow).update(repeating: 0, count: (oh - ohEnd) * ow) }
          for o in ohStart..<ohEnd {
            let d = row + o * ow
            let src = x + (ci * h + o * sh - ph + ki) * w - pw + kj
            if owStart > 0 { d.update(repeating: 0, count: owStart) }
            if owEnd < ow { (d + owEnd).update(repeating: 0, count: ow - owEnd) }
            if sw == 1 {
              (d + owStart).update(from: src + owStart, count: owEnd - owStart)
            } else {
              for q in owStart..<owEnd { d[q] = src[q * sw] }
            }
          }
        }
      }
    }
  }

  /// Columns `[C·kH·kW, OH·OW]` (row stride `ld`) accumulated back into dx `[C, H, W]`.
  private func col2im(
    _ col: UnsafeMutablePointer<Float>, ld: Int, c: Int, h: Int, w: Int, oh: Int, ow: Int,
    dx: UnsafeMutablePointer<Float>
  ) {
    let (kh, kw, sh, sw, ph, pw) = (kernel.h, kernel.w, stride.h, stride.w, padding.h, padding.w)
    for ci in 0..<c {
      for ki in 0..<kh {
        let (ohStart, ohEnd) = validRange(k: ki, pad: ph, stride: sh, size: h, out: oh)
        for kj in 0..<kw {
          let row = col + ((ci * kh + ki) * kw + kj) * ld
          let (owStart, owEnd) = validRange(k: kj, pad: pw, stride: sw, size: w, out: ow)
          for o in ohStart..<ohEnd {
            let s = row + o * ow
            let d = dx + (ci * h + o * sh - ph + ki) * w - pw + kj
            if sw == 1 {
              for q in owStart..<owEnd { d[q] += s[q] }
            } else {
              for q in owStart..<owEnd { d[q * sw] += s[q] }
            }
          }
        }
      }
    }
  }
}
