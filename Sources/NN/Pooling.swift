/// Max pooling over windows, PyTorch `nn.MaxPool2d` semantics (floor mode, implicit −∞ padding;
/// ties go to the first maximum in row-major window order).
///
/// Shapes: x `[N, C, H, W]` → y `[N, C, OH, OW]`, `OH = (H + 2·pad − k) / stride + 1`.
public final class MaxPool2d {
  /// Window size.
  public let kernel: Int
  /// Step between windows.
  public let stride: Int
  /// Implicit −∞ padding on each side.
  public let padding: Int
  /// The output, reused between steps.
  public let output = Tensor(shape: [0])
  /// The input gradient, reused between steps.
  public let inputGradient = Tensor(shape: [0])
  private var argmax: [Int32] = []
  private var inputShape: [Int] = []

  /// A max pool with the given window, stride (default: the window) and padding.
  public init(kernel: Int, stride: Int? = nil, padding: Int = 0) {
    precondition(kernel > 0 && padding >= 0 && padding * 2 <= kernel)
    self.kernel = kernel
    self.stride = stride ?? kernel
    self.padding = padding
  }

  /// x `[N, C, H, W]` → y `[N, C, OH, OW]`.
  @discardableResult
  public func forward(_ x: Tensor) -> Tensor {
    precondition(x.shape.count == 4, "maxpool input \(x.shape)")
    let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    let oh = (h + 2 * padding - kernel) / stride + 1
    let ow = (w + 2 * padding - kernel) / stride + 1
    precondition(oh > 0 && ow > 0, "maxpool input \(x.shape) smaller than window")
    inputShape = x.shape
    output.resize([n, c, oh, ow])
    if argmax.count < output.count { argmax = Array(repeating: 0, count: output.count) }
    for plane in 0..<(n * c) {
      let src = x.data + plane * h * w
      for i in 0..<oh {
        for j in 0..<ow {
          var best = -Float.infinity
          var at = -1
          for ki in 0..<kernel {
            let r = i * stride - padding + ki
            if r < 0 || r >= h { continue }
            for kj in 0..<kernel {
              let q = j * stride - padding + kj
              if q < 0 || q >= w { continue }
              let v = src[r * w + q]
              if v > best || at < 0 || v.isNaN {
                best = v
                at = r * w + q
              }
            }
          }
          let o = (plane * oh + i) * ow + j
          output.data[o] = best
          argmax[o] = Int32(at)
        }
      }
    }
    return output
  }

  /// dy `[N, C, OH, OW]` → dx `[N, C, H, W]` (each gradient goes to its window's maximum).
  @discardableResult
  public func backward(_ dy: Tensor) -> Tensor {
    precondition(dy.shape == output.shape, "maxpool dy \(dy.shape)")
    inputGradient.resize(inputShape)
    inputGradient.zero()
    let hw = inputShape[2] * inputShape[3]
    let ohw = output.shape[2] * output.shape[3]
    for plane in 0..<(output.shape[0] * output.shape[1]) {
      for o in 0..<ohw {
        let k = plane * ohw + o
        inputGradient.data[plane * hw + Int(argmax[k])] += dy.data[k]
      }
    }
    return inputGradient
  }
}

/// Global average pooling: x `[N, C, H, W]` → y `[N, C]`.
public final class GlobalAvgPool {
  /// The output `[N, C]`, reused between steps.
  public let output = Tensor(shape: [0])
  /// The input gradient, reused between steps.
  public let inputGradient = Tensor(shape: [0])
  private var inputShape: [Int] = []

  /// Creates the pool (no parameters).
  public init() {}

  /// x `[N, C, H, W]` → y `[N, C]`.
  @discardableResult
  public func forward(_ x: Tensor) -> Tensor {
    precondition(x.shape.count == 4, "global pool input \(x.shape)")
    inputShape = x.shape
    let (nc, hw) = (x.shape[0] * x.shape[1], x.shape[2] * x.shape[3])
    output.resize([x.shape[0], x.shape[1]])
    let inv = 1 / Float(hw)
    for k in 0..<nc {
      let p = x.data + k * hw
      var s: Float = 0
      for j in 0..<hw { s += p[j] }
      output.data[k] = s * inv
    }
    return output
  }

  /// dy `[N, C]` → dx `[N, C, H, W]` = dy / (H·W) broadcast.
  @discardableResult
  public func backward(_ dy: Tensor) -> Tensor {
    precondition(dy.shape == output.shape, "global pool dy \(dy.shape)")
    inputGradient.resize(inputShape)
    let hw = inputShape[2] * inputShape[3]
    let inv = 1 / Float(hw)
    for k in 0..<dy.count {
      (inputGradient.data + k * hw).update(repeating: dy.data[k] * inv, count: hw)
    }
    return inputGradient
  }
}
