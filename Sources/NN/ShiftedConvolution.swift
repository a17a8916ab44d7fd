import CConvKernels

/// Stride-1 convolutions without im2col ("shifted GEMMs").
///
/// The input is copied once into a zero-padded buffer whose rows are `Wp = W + 2·pw` wide. On
/// that grid, output pixel `(r, j)` sits at flat position `q = r·Wp + j` and reads input position
/// `q + a·Wp + b` for kernel tap `(a, b)`. So tap `(a, b)` contributes `W_ab[K, C] · X[C, q + s]`,
/// a GEMM whose B operand is the padded buffer itself shifted by `s = a·Wp + b`: no columns are
/// built, and `kh·kw` accumulating GEMMs give the output on the padded grid, `Wp − OW` junk
/// columns per row, which a final copy drops. The input gradient of a stride-1 convolution is a
/// stride-1 convolution of dy with the flipped, transposed kernel, so it uses the same routine.
///
/// The weight gradient uses a partial im2col: only the `kw` horizontal shifts are materialized
/// (`[C·kw, positions]`, a third of im2col's traffic for 3×3), and the `kh` vertical shifts are
/// again offsets, giving `kh` GEMMs with `C·kw` rows instead of one with `C·kh·kw` rows over
/// an `kh·kw`-times larger matrix.
///
/// Several small images are laid side by side per channel (`[C][g · plane]`) so one GEMM covers
/// a group; the junk between images is dropped too. Measured on layer1 of tandem-small
/// (`[32, 32, 64, 64]`, 3×3, one core, thread CPU time): forward 44 → 24 ms, weight gradient
/// 44 → 30 ms against im2col + GEMM.
struct PaddedGrid {
  /// Channels, input height and width, zero padding, kernel.
  let c, h, w, ph, pw, kh, kw: Int

  /// Padded height and width.
  var hp: Int { h + 2 * ph }
  var wp: Int { w + 2 * pw }
  /// Output height and width (stride 1).
  var oh: Int { hp - kh + 1 }
  var ow: Int { wp - kw + 1 }
  /// Floats per padded image plane: the grid plus room for the last tap's reads past the grid
  /// (junk positions of the last row), rounded up to 16.
  var plane: Int { (hp * wp + kw - 1 + 15) / 16 * 16 }
  /// GEMM width covering `g` images: every output position of the first `g − 1` planes and
  /// the output rows of the last.
  func columns(images g: Int) -> Int { (g - 1) * plane + oh * wp }
  /// Where tap (a, b) reads in a padded plane, relative to the output position, for the direct
  /// kernel: `a · Wp + b`, taps in row-major order.
  var tapOffsets: [Int] { (0..<kh).flatMap { a in (0..<kw).map { b in a * wp + b } } }

  /// NCHW `[g, C, H, W]` → `[C][g · plane]`, zero-padded (tails zeroed too).
  func pad(images g: Int, _ src: UnsafePointer<Float>, into dst: UnsafeMutablePointer<Float>) {
    for ch in 0..<c {
      pad(images: g, src + ch * h * w, into: dst + ch * g * plane, strideImages: c)
    }
  }

  /// Output on the grid `[M][g · plane]` → NCHW `[g, M, OH, OW]` (junk columns dropped).
  func compact(
    images g: Int, channels m: Int, _ src: UnsafePointer<Float>,
    into dst: UnsafeMutablePointer<Float>
  ) {
    let ld = g * plane
    let (oh, ow, wp) = (oh, ow, wp)
    for i in 0..<g {
      for k in 0..<m {
        let s = src + k * ld + i * plane
        let d = dst + (i * m + k) * oh * ow
        for r in 0..<oh { (d + r * ow).update(from: s + r * wp, count: ow) }
      }
    }
  }

  /// NCHW `[g, M, OH, OW]` → `[M][g · plane]` on the grid, zeros at junk positions: the
  /// output-shaped operand of the weight-gradient GEMMs.
  func expand(
    images g: Int, channels m: Int, _ src: UnsafePointer<Float>,
    into dst: UnsafeMutablePointer<Float>
  ) {
    let ld = g * plane
    let (oh, ow, wp) = (oh, ow, wp)
    for k in 0..<m {
      for i in 0..<g {
        let d = dst + k * ld + i * plane
        let s = src + (i * m + k) * oh * ow
        for r in 0..<oh {
          (d + r * wp).update(from: s + r * ow, count: ow)
          (d + r * wp + ow).update(repeating: 0, count: wp - ow)
        }
        (d + oh * wp).update(repeating: 0, count: plane - oh * wp)
      }
    }
  }

  /// y `[g, M, OH, OW]` = Σ_taps `taps[a·kw + b]` `[M, C]` · shift(x): the forward pass of a
  /// stride-1 convolution of x `[g, C, H, W]`. `padded` needs `C · g · plane` floats, `grid`
  /// `M · g · plane`. With `direct`, the direct AVX-512 kernel sums the taps in registers
  /// (reading the padded input in place, writing each output once) where the CPU has it; else
  /// one accumulating sgemm per tap, each packing its shifted view of the input again.
  func convolve(
    images g: Int, _ x: UnsafePointer<Float>, taps: UnsafePointer<Float>, outChannels m: Int,
    into y: UnsafeMutablePointer<Float>, padded: UnsafeMutablePointer<Float>,
    grid: UnsafeMutablePointer<Float>, direct: Bool = false, timer: LayerTimer?
  ) {
    let ld = g * plane
    timer.time("conv.copy") { pad(images: g, x, into: padded) }
    let n = columns(images: g)
    timer.time("conv.gemm") {
      if direct {
        let done = tapOffsets.withUnsafeBufferPointer { off in
          tandem_conv_taps(padded, ld, c, taps, m, off.baseAddress, kh * kw, grid, ld, n) == 0
        }
        if done { return }
      }
      for a in 0..<kh {
        for b in 0..<kw {
          let t = a * kw + b
          BLAS.sgemm(
            transA: false, transB: false, m: m, n: n, k: c, a: taps + t * m * c, lda: c,
            b: padded + a * wp + b, ldb: ld, beta: t == 0 ? 0 : 1, c: grid, ldc: ld)
        }
      }
    }
    timer.time("conv.copy") { compact(images: g, channels: m, grid, into: y) }
  }

  /// Whether ``weightGradient(images:_:_:outChannels:into:shifted:gradient:direct:timer:)``
  /// runs the direct kernel for `m` output channels (else sgemm).
  func directWeightGradient(outChannels m: Int) -> Bool {
    tandem_conv_taps_available() != 0 && c % 2 == 0 && m % 4 == 0
  }

  /// Weight gradient of a stride-1 convolution of x `[g, C, H, W]` with output gradient dy
  /// `[g, M, OH, OW]`: accumulates `dWt[a][c][b][m] += Σ_q x_pad[c][q + a·Wp + b] · dy[m][q]`,
  /// or with `direct` (only when ``directWeightGradient(outChannels:)``) the same sums as
  /// `dWt[a][b][c][m]` from the direct kernel, which reads the padded input in place instead of
  /// materializing its `kw` shifts. `shifted` needs `C · kw · g · plane` floats, `gradient`
  /// `M · g · plane`.
  func weightGradient(
    images g: Int, _ x: UnsafePointer<Float>, _ dy: UnsafePointer<Float>, outChannels m: Int,
    into dWt: UnsafeMutablePointer<Float>, shifted: UnsafeMutablePointer<Float>,
    gradient: UnsafeMutablePointer<Float>, direct: Bool = false, timer: LayerTimer?
  ) {
    let ld = g * plane
    if direct {
      timer.time("conv.copy") {
        pad(images: g, x, into: shifted)
        expand(images: g, channels: m, dy, into: gradient)
      }
      let status = timer.time("conv.gemm") {
        tapOffsets.withUnsafeBufferPointer { off in
          tandem_conv_taps_weight_gradient(
            shifted, ld, c, gradient, ld, m, off.baseAddress, kh * kw, dWt, columns(images: g))
        }
      }
      precondition(status == 0, "direct weight-gradient kernel refused its arguments")
      return
    }
    timer.time("conv.copy") {
      // Row (c, 0) is the padded plane; rows (c, b) are it shifted left by b.
      for ch in 0..<c {
        pad(images: g, x + ch * h * w, into: shifted + ch * kw * ld, strideImages: c)
        let base = shifted + ch * kw * ld
        for b in 1..<max(kw, 1) {
          (base + b * ld).update(from: base + b, count: ld - b)
          (base + b * ld + ld - b).update(repeating: 0, count: b)
        }
      }
      expand(images: g, channels: m, dy, into: gradient)
    }
    let n = columns(images: g)
    timer.time("conv.gemm") {
      for a in 0..<kh {
        BLAS.sgemm(
          transA: false, transB: true, m: c * kw, n: m, k: n, a: shifted + a * wp, lda: ld,
          b: gradient, ldb: ld, beta: 1, c: dWt + a * c * kw * m, ldc: m)
      }
    }
  }

  /// One channel of `g` images (image i at `src + i · strideImages · H · W`) → one padded row
  /// `[g · plane]`.
  private func pad(
    images g: Int, _ src: UnsafePointer<Float>, into dst: UnsafeMutablePointer<Float>,
    strideImages: Int
  ) {
    for i in 0..<g {
      let p = dst + i * plane
      let s = src + i * strideImages * h * w
      p.update(repeating: 0, count: ph * wp + pw)
      for r in 0..<h {
        let row = p + (r + ph) * wp + pw
        row.update(from: s + r * w, count: w)
        if r + 1 < h { (row + w).update(repeating: 0, count: 2 * pw) }
      }
      let tail = (h + ph) * wp - pw
      (p + tail).update(repeating: 0, count: plane - tail)
    }
  }
}
