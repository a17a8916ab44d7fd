/// A dense Float32 array in row-major (C) order; images are NCHW.
///
/// Storage is owned, contiguous and manually allocated (llm.c style): layers keep their output
/// and gradient tensors between steps and `resize` them, which only reallocates when a larger
/// shape arrives, so steady-state training allocates nothing. `Tensor` is a reference type: a
/// layer's output is the next layer's input without copying. It is not `Sendable`; hand data
/// across threads as `[Float]` and copy it in with ``copy(from:)``.
public final class Tensor {
  /// The dimensions, outermost first (`[N, C, H, W]` for images, `[N, D]` for features).
  public private(set) var shape: [Int]
  /// The number of elements (product of `shape`).
  public private(set) var count: Int
  private var capacity: Int
  /// The elements; valid for `count` floats.
  public private(set) var data: UnsafeMutablePointer<Float>

  /// A zero-filled tensor of the given shape.
  public init(shape: [Int]) {
    precondition(shape.allSatisfy { $0 >= 0 }, "negative dimension in \(shape)")
    self.shape = shape
    self.count = shape.reduce(1, *)
    self.capacity = max(count, 1)
    self.data = .allocate(capacity: capacity)
    data.initialize(repeating: 0, count: capacity)
  }

  /// A tensor holding `values` (whose count must match `shape`).
  public convenience init(shape: [Int], values: [Float]) {
    self.init(shape: shape)
    copy(from: values)
  }

  deinit { data.deallocate() }

  /// Dimension `i` (negative counts from the end).
  public func dim(_ i: Int) -> Int { i < 0 ? shape[shape.count + i] : shape[i] }

  /// The elements as an array (a copy).
  public var values: [Float] { Array(UnsafeBufferPointer(start: data, count: count)) }

  /// Overwrites the elements with `values` (same count).
  public func copy(from values: [Float]) {
    precondition(values.count == count, "copy of \(values.count) values into tensor \(shape)")
    values.withUnsafeBufferPointer { data.update(from: $0.baseAddress!, count: count) }
  }

  /// Overwrites the elements with another tensor's (same count).
  public func copy(from other: Tensor) {
    precondition(other.count == count, "copy of tensor \(other.shape) into tensor \(shape)")
    data.update(from: other.data, count: count)
  }

  /// Element `i` in flat order.
  public subscript(i: Int) -> Float {
    get { data[i] }
    set { data[i] = newValue }
  }

  /// Sets every element to zero.
  public func zero() { data.update(repeating: 0, count: count) }

  /// Changes the shape; storage is reused when large enough, otherwise reallocated (contents are
  /// then undefined; callers overwrite them). Returns `self` for chaining.
  @discardableResult
  public func resize(_ newShape: [Int]) -> Tensor {
    if newShape == shape { return self }
    let n = newShape.reduce(1, *)
    if n > capacity {
      data.deallocate()
      capacity = n
      data = .allocate(capacity: n)
      data.initialize(repeating: 0, count: n)
    }
    shape = newShape
    count = n
    return self
  }

  /// Reinterprets the elements under a new shape with the same element count.
  public func reshape(_ newShape: [Int]) {
    precondition(newShape.reduce(1, *) == count, "cannot reshape \(shape) to \(newShape)")
    shape = newShape
  }
}

/// A growable scratch buffer shared by layers for transient data (im2col columns, transposes).
/// Only one layer uses it at a time, so one per model suffices; it grows to the largest request
/// and is then reused every step.
final class Workspace {
  private(set) var buffers: [UnsafeMutablePointer<Float>] = []
  private var capacities: [Int] = []

  init(slots: Int = 2) {
    for _ in 0..<slots {
      buffers.append(.allocate(capacity: 1))
      capacities.append(1)
    }
  }

  deinit { for b in buffers { b.deallocate() } }

  /// Scratch slot `slot` with room for at least `count` floats (contents undefined).
  func buffer(_ slot: Int, count: Int) -> UnsafeMutablePointer<Float> {
    if count > capacities[slot] {
      buffers[slot].deallocate()
      buffers[slot] = .allocate(capacity: count)
      capacities[slot] = count
    }
    return buffers[slot]
  }
}
