import TandemBase

#if canImport(Glibc)
  import Glibc
#endif

/// All trainable parameters of a model in one contiguous Float32 block, all gradients in a second
/// block of the same layout, and the non-trainable buffers (BatchNorm running statistics) in a
/// third. Names follow PyTorch's `state_dict` (`s1.layer2.0.conv1.weight`), so a checkpoint loads
/// with `model.load_state_dict` of the reference model.
///
/// One block per kind means optimizers, gradient clipping and (later) an allreduce each make one
/// pass over one buffer. Layers register their tensors while the model is built; ``finalize(seed:)``
/// then allocates the blocks and initializes the values.
public final class ParameterStore {
  /// How a parameter is initialized before any checkpoint is loaded.
  public enum Initializer: Sendable, Equatable {
    /// Every element set to the value.
    case constant(Float)
    /// Normal(0, std²).
    case normal(std: Float)
    /// Uniform(−bound, bound).
    case uniform(bound: Float)
  }

  /// One named tensor inside a block.
  public struct Entry: Sendable, Equatable {
    /// The `state_dict` name.
    public var name: String
    /// The tensor shape (`[]` for a scalar).
    public var shape: [Int]
    /// Offset in floats from the start of the block.
    public var offset: Int
    /// Number of elements.
    public var count: Int
    /// Whether AdamW/SGD weight decay applies (conv and linear weights; not BN, biases, τ).
    public var decay: Bool
    /// Initial values.
    public var initializer: Initializer
  }

  /// Trainable parameters, in registration order.
  public private(set) var parameters: [Entry] = []
  /// Float buffers (running statistics), in registration order.
  public private(set) var buffers: [Entry] = []
  /// Integer counters saved as I64 scalars (`num_batches_tracked`), in registration order.
  public private(set) var counterNames: [String] = []
  /// Counter values, aligned with ``counterNames``. Stored behind a pointer so the two encoders
  /// of a model can update their own counters from two threads.
  public var counters: [Int64] {
    get { Array(UnsafeBufferPointer(start: counterStorage, count: counterNames.count)) }
    set {
      precondition(newValue.count == counterNames.count, "counter count")
      for (i, v) in newValue.enumerated() { counterStorage[i] = v }
    }
  }
  private var counterStorage: UnsafeMutablePointer<Int64> = .allocate(capacity: 1)
  /// Total number of trainable scalars.
  public private(set) var parameterCount = 0
  private(set) var bufferCount = 0

  /// The parameter block (valid after ``finalize(seed:)``).
  public private(set) var values: UnsafeMutablePointer<Float>
  /// The gradient block, same layout as ``values``.
  public private(set) var gradients: UnsafeMutablePointer<Float>
  /// The buffer block.
  public private(set) var bufferValues: UnsafeMutablePointer<Float>
  /// Whether the blocks are allocated.
  public private(set) var isFinalized = false

  /// An empty store; layers register into it.
  public init() {
    values = .allocate(capacity: 1)
    gradients = .allocate(capacity: 1)
    bufferValues = .allocate(capacity: 1)
  }

  deinit {
    values.deallocate()
    gradients.deallocate()
    bufferValues.deallocate()
    counterStorage.deallocate()
  }

  /// Adds one to counter `i` (thread-safe for distinct counters).
  func incrementCounter(_ i: Int) { counterStorage[i] += 1 }

  /// Registers a trainable tensor; returns its offset in the parameter block.
  func addParameter(
    _ name: String, shape: [Int], initializer: Initializer, decay: Bool
  ) -> Int {
    precondition(!isFinalized, "register parameters before finalize()")
    precondition(index(ofParameter: name) == nil, "duplicate parameter \(name)")
    let n = shape.reduce(1, *)
    parameters.append(
      Entry(
        name: name, shape: shape, offset: parameterCount, count: n, decay: decay,
        initializer: initializer))
    parameterCount += n
    return parameterCount - n
  }

  /// Registers a Float buffer; returns its offset in the buffer block.
  func addBuffer(_ name: String, shape: [Int], initializer: Initializer) -> Int {
    precondition(!isFinalized, "register buffers before finalize()")
    let n = shape.reduce(1, *)
    buffers.append(
      Entry(
        name: name, shape: shape, offset: bufferCount, count: n, decay: false,
        initializer: initializer))
    bufferCount += n
    return bufferCount - n
  }

  /// Registers an Int64 counter; returns its index.
  func addCounter(_ name: String) -> Int {
    precondition(!isFinalized, "register counters before finalize()")
    counterNames.append(name)
    return counterNames.count - 1
  }

  /// Allocates the blocks and draws initial values from a generator seeded with `seed`.
  public func finalize(seed: UInt64) {
    precondition(!isFinalized, "finalize() called twice")
    values.deallocate()
    gradients.deallocate()
    bufferValues.deallocate()
    values = .allocate(capacity: max(parameterCount, 1))
    gradients = .allocate(capacity: max(parameterCount, 1))
    bufferValues = .allocate(capacity: max(bufferCount, 1))
    counterStorage.deallocate()
    counterStorage = .allocate(capacity: max(counterNames.count, 1))
    counterStorage.initialize(repeating: 0, count: max(counterNames.count, 1))
    gradients.initialize(repeating: 0, count: max(parameterCount, 1))
    var rng = SeededGenerator(seed: seed)
    for e in parameters { Self.fill(values + e.offset, e, &rng) }
    for e in buffers { Self.fill(bufferValues + e.offset, e, &rng) }
    isFinalized = true
  }

  private static func fill(
    _ p: UnsafeMutablePointer<Float>, _ e: Entry, _ rng: inout SeededGenerator
  ) {
    switch e.initializer {
    case .constant(let v): p.initialize(repeating: v, count: e.count)
    case .normal(let std):
      for i in 0..<e.count { p[i] = Float(rng.nextGaussian()) * std }
    case .uniform(let bound):
      for i in 0..<e.count { p[i] = (2 * rng.nextUnitFloat() - 1) * bound }
    }
  }

  /// Index of the parameter named `name`.
  public func index(ofParameter name: String) -> Int? {
    parameters.firstIndex { $0.name == name }
  }

  /// The values of parameter `name` (a copy).
  public func parameter(_ name: String) -> [Float]? {
    guard let i = index(ofParameter: name) else { return nil }
    let e = parameters[i]
    return Array(UnsafeBufferPointer(start: values + e.offset, count: e.count))
  }

  /// The gradient of parameter `name` (a copy).
  public func gradient(_ name: String) -> [Float]? {
    guard let i = index(ofParameter: name) else { return nil }
    let e = parameters[i]
    return Array(UnsafeBufferPointer(start: gradients + e.offset, count: e.count))
  }

  /// The values of buffer `name` (a copy).
  public func buffer(_ name: String) -> [Float]? {
    guard let e = buffers.first(where: { $0.name == name }) else { return nil }
    return Array(UnsafeBufferPointer(start: bufferValues + e.offset, count: e.count))
  }

  /// Sets all gradients to zero (call before each backward pass; layers accumulate).
  public func zeroGradients() {
    gradients.update(repeating: 0, count: parameterCount)
  }

  /// The L2 norm of the whole gradient block (accumulated in Double).
  public func gradientNorm() -> Double {
    var s = 0.0
    for i in 0..<parameterCount {
      let g = Double(gradients[i])
      s += g * g
    }
    return s.squareRoot()
  }

  /// Scales gradients so that their global L2 norm is at most `maxNorm` (PyTorch
  /// `clip_grad_norm_` semantics: coefficient `maxNorm / (norm + 1e-6)`, capped at 1).
  /// Returns the norm before clipping.
  @discardableResult
  public func clipGradients(maxNorm: Double) -> Double {
    let norm = gradientNorm()
    let coefficient = maxNorm / (norm + 1e-6)
    if coefficient < 1 {
      let c = Float(coefficient)
      for i in 0..<parameterCount { gradients[i] *= c }
    }
    return norm
  }

  // MARK: - state_dict

  /// The model state as named tensors: parameters and buffers as F32, counters as I64 scalars,
  /// in registration order. This is what `model.state_dict()` holds in PyTorch.
  public func stateDict() -> [(name: String, tensor: SafeTensors.TensorData)] {
    var out: [(String, SafeTensors.TensorData)] = []
    for e in parameters {
      out.append((e.name, .float32(shape: e.shape, values: values + e.offset)))
    }
    for e in buffers {
      out.append((e.name, .float32(shape: e.shape, values: bufferValues + e.offset)))
    }
    for (i, name) in counterNames.enumerated() {
      out.append((name, .int64(shape: [], values: [counterStorage[i]])))
    }
    return out.map { (name: $0.0, tensor: $0.1) }
  }

  /// Writes the state dict to a safetensors file atomically.
  public func save(to path: String, metadata: [String: String] = [:]) throws(SafeTensorsError) {
    try SafeTensors.write(stateDict(), metadata: metadata, to: path)
  }

  /// Loads parameters, buffers and counters from a decoded safetensors file. Every name in the
  /// store must be present with the same shape; extra tensors are an error unless
  /// `allowExtra` (use it to load e.g. one encoder out of a dual checkpoint with `prefix`).
  /// `prefix` is prepended to this store's names when looking them up in `file`.
  public func load(
    _ file: SafeTensors.File, prefix: String = "", allowExtra: Bool = false
  ) throws(SafeTensorsError) {
    func fetch(_ name: String, _ shape: [Int]) throws(SafeTensorsError) -> SafeTensors.TensorData {
      guard let t = file.tensors[prefix + name] else {
        throw SafeTensorsError(path: file.path, reason: "missing tensor '\(prefix + name)'")
      }
      guard t.shape == shape else {
        throw SafeTensorsError(
          path: file.path,
          reason: "tensor '\(prefix + name)' has shape \(t.shape), model expects \(shape)")
      }
      return t
    }
    var used = Set<String>()
    for e in parameters {
      let f = try fetch(e.name, e.shape).floats(name: prefix + e.name, path: file.path)
      f.withUnsafeBufferPointer {
        (values + e.offset).update(from: $0.baseAddress!, count: e.count)
      }
      used.insert(prefix + e.name)
    }
    for e in buffers {
      let f = try fetch(e.name, e.shape).floats(name: prefix + e.name, path: file.path)
      f.withUnsafeBufferPointer {
        (bufferValues + e.offset).update(from: $0.baseAddress!, count: e.count)
      }
      used.insert(prefix + e.name)
    }
    for (i, name) in counterNames.enumerated() {
      let v = try fetch(name, []).int64s(name: prefix + name, path: file.path)
      counterStorage[i] = v[0]
      used.insert(prefix + name)
    }
    if !allowExtra {
      let extra = file.tensors.keys.filter { $0.hasPrefix(prefix) && !used.contains($0) }.sorted()
      if !extra.isEmpty {
        throw SafeTensorsError(
          path: file.path, reason: "unexpected tensors not in the model: \(extra.prefix(5))")
      }
    }
  }

  /// Reads a safetensors checkpoint and loads it (see ``load(_:prefix:allowExtra:)``).
  public func load(
    contentsOf path: String, prefix: String = "", allowExtra: Bool = false
  ) throws(SafeTensorsError) {
    try load(SafeTensors.read(path), prefix: prefix, allowExtra: allowExtra)
  }
}

/// Where a layer's tensor lives in the store; layers keep these instead of pointers because the
/// blocks are allocated after registration.
struct ParamRef {
  unowned let store: ParameterStore
  let offset: Int
  let count: Int

  var value: UnsafeMutablePointer<Float> { store.values + offset }
  var grad: UnsafeMutablePointer<Float> { store.gradients + offset }
}

/// A registered Float buffer (running statistics).
struct BufferRef {
  unowned let store: ParameterStore
  let offset: Int
  var value: UnsafeMutablePointer<Float> { store.bufferValues + offset }
}

extension ParameterStore {
  func param(
    _ name: String, _ shape: [Int], _ initializer: Initializer, decay: Bool
  ) -> ParamRef {
    let off = addParameter(name, shape: shape, initializer: initializer, decay: decay)
    return ParamRef(store: self, offset: off, count: shape.reduce(1, *))
  }

  func buffer(_ name: String, _ shape: [Int], _ initializer: Initializer) -> BufferRef {
    BufferRef(store: self, offset: addBuffer(name, shape: shape, initializer: initializer))
  }
}
