/// Bilinear resize to a fixed output size, PyTorch
/// `F.interpolate(x, size=(OH, OW), mode="bilinear", align_corners=False)`: source coordinate
/// `(o + 0.5)·in/out − 0.5`, clamped at 0, neighbours clamped at the edge.
///
/// Shapes: x `[N, C, H, W]` → y `[N, C, OH, OW]`.
public final class Upsample {
  /// Output height and width.
  public var size: (h: Int, w: Int)
  /// The output, reused between steps.
  public let output = Tensor(shape: [0])
  /// The input gradient, reused between steps.
  public let inputGradient = Tensor(shape: [0])
  private var inputShape: [Int] = []

  /// Resizes to `height`×`width`.
  public init(height: Int, width: Int) {
    precondition(height > 0 && width > 0)
    size = (height, width)
  }

  /// Per output index: the two source indices and the weight of the second.
  private static func taps(input: Int, output: Int) -> [(Int, Int, Float)] {
    let scale = Float(input) / Float(output)
    return (0..<output).map { o in
      let src = max((Float(o) + 0.5) * scale - 0.5, 0)
      let i0 = min(Int(src), input - 1)
      let i1 = min(i0 + 1, input - 1)
      return (i0, i1, src - Float(i0))
    }
  }

  /// x `[N, C, H, W]` → y `[N, C, OH, OW]`.
  @discardableResult
  public func forward(_ x: Tensor) -> Tensor {
    precondition(x.shape.count == 4, "upsample input \(x.shape)")
    inputShape = x.shape
    let (h, w, oh, ow) = (x.shape[2], x.shape[3], size.h, size.w)
    output.resize([x.shape[0], x.shape[1], oh, ow])
    let ty = Self.taps(input: h, output: oh)
    let tx = Self.taps(input: w, output: ow)
    for plane in 0..<(x.shape[0] * x.shape[1]) {
      let src = x.data + plane * h * w
      let dst = output.data + plane * oh * ow
      for i in 0..<oh {
        let (y0, y1, ly) = ty[i]
        for j in 0..<ow {
          let (x0, x1, lx) = tx[j]
          let top = src[y0 * w + x0] * (1 - lx) + src[y0 * w + x1] * lx
          let bottom = src[y1 * w + x0] * (1 - lx) + src[y1 * w + x1] * lx
          dst[i * ow + j] = top * (1 - ly) + bottom * ly
        }
      }
    }
    return output
  }

  /// dy `[N, C, OH, OW]` → dx `[N, C, H, W]` (the transpose of the interpolation).
  @discardableResult
  public func backward(_ dy: Tensor) -> Tensor {
    precondition(dy.shape == output.shape, "upsample dy \(dy.shape)")
    let (h, w, oh, ow) = (inputShape[2], inputShape[3], size.h, size.w)
    inputGradient.resize(inputShape)
    inputGradient.zero()
    let ty = Self.taps(input: h, output: oh)
    let tx = Self.taps(input: w, output: ow)
    for plane in 0..<(inputShape[0] * inputShape[1]) {
      let dx = inputGradient.data + plane * h * w
      let g = dy.data + plane * oh * ow
      for i in 0..<oh {
        let (y0, y1, ly) = ty[i]
        for j in 0..<ow {
          let (x0, x1, lx) = tx[j]
          let v = g[i * ow + j]
          dx[y0 * w + x0] += v * (1 - ly) * (1 - lx)
          dx[y0 * w + x1] += v * (1 - ly) * lx
          dx[y1 * w + x0] += v * ly * (1 - lx)
          dx[y1 * w + x1] += v * ly * lx
        }
      }
    }
    return inputGradient
  }
}
