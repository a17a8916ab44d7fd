/// Rectified linear unit, elementwise on any shape: y = max(x, 0).
public final class ReLU {
  /// The output, reused between steps.
  public let output = Tensor(shape: [0])
  /// The input gradient, reused between steps.
  public let inputGradient = Tensor(shape: [0])

  /// Creates a ReLU (no parameters).
  public init() {}

  /// x (any shape) → y (same shape).
  @discardableResult
  public func forward(_ x: Tensor) -> Tensor {
    output.resize(x.shape)
    let (p, y) = (x.data, output.data)
    Parallel.forEachChunk(x.count, minimumPerChunk: 1 << 16) { r in
      Kernels.relu(p, y, r)
    }
    return output
  }

  /// dy → dx = dy where y > 0, else 0.
  @discardableResult
  public func backward(_ dy: Tensor) -> Tensor {
    precondition(dy.count == output.count, "relu dy \(dy.shape) vs \(output.shape)")
    inputGradient.resize(dy.shape)
    let (y, d, dx) = (output.data, dy.data, inputGradient.data)
    Parallel.forEachChunk(dy.count, minimumPerChunk: 1 << 16) { r in
      Kernels.reluBackward(y, d, dx, r)
    }
    return inputGradient
  }
}
