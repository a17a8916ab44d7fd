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

/// Growable scratch buffers for transient data (im2col columns, transposes, partial weight
/// gradients), one set per worker thread. Only one layer runs at a time, so one per model
/// suffices; each buffer grows to its largest request and is then reused every step. Workers
/// touch only their own slots, so no locking is needed.
final class Workspace {
  static let maxWorkers = 16
  static let slots = 5
  private let pointers: UnsafeMutablePointer<UnsafeMutablePointer<Float>?>
  private let capacities: UnsafeMutablePointer<Int>
  /// Threads the layers using this workspace may use (nil: ``BLAS/threads``). A model that runs
  /// its two encoders concurrently gives each encoder's workspace a share.
  var workerLimit: Int?

  /// The thread count for layers using this workspace.
  var workers: Int { min(workerLimit ?? Parallel.count, Self.maxWorkers) }

  init() {
    let n = Self.maxWorkers * Self.slots
    pointers = .allocate(capacity: n)
    pointers.initialize(repeating: nil, count: n)
    capacities = .allocate(capacity: n)
    capacities.initialize(repeating: 0, count: n)
  }

  deinit {
    for i in 0..<(Self.maxWorkers * Self.slots) { pointers[i]?.deallocate() }
    pointers.deallocate()
    capacities.deallocate()
  }

  /// Scratch `slot` of `worker` with room for at least `count` floats (contents undefined).
  func buffer(_ slot: Int, count: Int, worker: Int = 0) -> UnsafeMutablePointer<Float> {
    let i = worker * Self.slots + slot
    if count > capacities[i] || pointers[i] == nil {
      pointers[i]?.deallocate()
      pointers[i] = .allocate(capacity: max(count, 1))
      capacities[i] = max(count, 1)
    }
    return pointers[i]!
  }
}
