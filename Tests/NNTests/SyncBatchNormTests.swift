import Foundation
import Synchronization
import Testing

@testable import NN

/// Two replicas in one process: each thread's `sumOverReplicas` waits for the other's values and
/// both get the element-wise sum (the same contract as an MPI allreduce).
final class TwoReplicaSum: @unchecked Sendable {
  private let condition = NSCondition()
  private var pending: [Double]?
  private var result: [Double]?
  private var generation = 0

  func sum(_ values: UnsafeMutablePointer<Double>, count: Int) {
    condition.lock()
    defer { condition.unlock() }
    let mine = Array(UnsafeBufferPointer(start: values, count: count))
    if let other = pending {
      let total = zip(mine, other).map { $0 + $1 }
      pending = nil
      result = total
      generation += 1
      condition.broadcast()
      values.update(from: total, count: count)
    } else {
      pending = mine
      let g = generation
      while generation == g { condition.wait() }
      values.update(from: result!, count: count)
    }
  }

  /// The `ReplicaSum` of one replica.
  final class Side: ReplicaSum, @unchecked Sendable {
    let shared: TwoReplicaSum
    init(_ shared: TwoReplicaSum) { self.shared = shared }
    func sumOverReplicas(_ values: UnsafeMutablePointer<Double>, count: Int) {
      shared.sum(values, count: count)
    }
  }
}

/// Copies images `range` of an NCHW tensor.
func images(_ t: Tensor, _ range: Range<Int>) -> Tensor {
  let per = t.count / t.shape[0]
  var shape = t.shape
  shape[0] = range.count
  return Tensor(
    shape: shape, values: Array(t.values[(range.lowerBound * per)..<(range.upperBound * per)]))
}

@Suite struct SyncBatchNormTests {
  /// A batch split over two replicas with synchronized BatchNorm gives what one BatchNorm gives
  /// on the whole batch: outputs, input gradients, summed dγ/dβ and running statistics.
  @Test(arguments: [(false, false), (true, false), (true, true)])
  func splitBatchEqualsWholeBatch(relu: Bool, residual: Bool) throws {
    let x = randomTensor([4, 3, 5, 5], seed: 3, scale: 2)
    let dy = randomTensor([4, 3, 5, 5], seed: 4)
    let r = residual ? randomTensor([4, 3, 5, 5], seed: 5) : nil

    let wholeStore = ParameterStore()
    let whole = BatchNorm2d("bn", store: wholeStore, channels: 3, fusedReLU: relu)
    wholeStore.finalize(seed: 1)
    let y = whole.forward(x, residual: r).values
    wholeStore.zeroGradients()
    let dx = whole.backward(dy).values
    let wholeGradients = Array(UnsafeBufferPointer(start: wholeStore.gradients, count: 6))

    let shared = TwoReplicaSum()
    let results = Mutex<[Int: (y: [Float], dx: [Float], grads: [Float], runningVar: [Float])]>([:])
    let shape = x.shape
    let (xs, dys, rs) = (x.values, dy.values, r?.values)
    let group = DispatchGroup()
    for replica in 0..<2 {
      group.enter()
      let thread = Thread {
        let (x, dy) = (Tensor(shape: shape, values: xs), Tensor(shape: shape, values: dys))
        let r = rs.map { Tensor(shape: shape, values: $0) }
        let store = ParameterStore()
        let bn = BatchNorm2d("bn", store: store, channels: 3, fusedReLU: relu)
        store.finalize(seed: 1)
        bn.replicaSum = TwoReplicaSum.Side(shared)
        let part = (2 * replica)..<(2 * replica + 2)
        let out = bn.forward(images(x, part), residual: r.map { images($0, part) }).values
        store.zeroGradients()
        let din = bn.backward(images(dy, part)).values
        let grads = Array(UnsafeBufferPointer(start: store.gradients, count: 6))
        let rv = store.buffer("bn.running_var")!
        results.withLock { $0[replica] = (out, din, grads, rv) }
        group.leave()
      }
      thread.start()
    }
    #expect(group.wait(timeout: .now() + 60) == .success, "replicas deadlocked")
    let all = results.withLock { $0 }
    let (a, b) = (all[0]!, all[1]!)
    /// Largest |a − b| / max(1, |b|) (infinity when the counts differ).
    func error(_ a: [Float], _ b: [Float]) -> Float {
      guard a.count == b.count else { return .infinity }
      return zip(a, b).map { abs($0 - $1) / max(1, abs($1)) }.max() ?? 0
    }
    let outputError = error(a.y + b.y, y)
    let inputGradientError = error(a.dx + b.dx, dx)
    let parameterGradientError = error(zip(a.grads, b.grads).map { $0 + $1 }, wholeGradients)
    let runningVarError = error(a.runningVar, wholeStore.buffer("bn.running_var")!)
    #expect(outputError <= 1e-5)
    #expect(inputGradientError <= 1e-5)
    #expect(parameterGradientError <= 1e-5)
    #expect(runningVarError <= 1e-6)
    let sameRunningVar = a.runningVar == b.runningVar
    #expect(sameRunningVar)
    // Not vacuous: a replica's local statistics differ from the whole batch's.
    let localStore = ParameterStore()
    let local = BatchNorm2d("bn", store: localStore, channels: 3, fusedReLU: relu)
    localStore.finalize(seed: 1)
    let alone = local.forward(images(x, 0..<2), residual: r.map { images($0, 0..<2) }).values
    let localError = error(alone, a.y)
    #expect(localError > 1e-3)
  }
}
