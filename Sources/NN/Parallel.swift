import Dispatch
import Synchronization

/// Splits memory-bound loops (im2col, BatchNorm, ReLU) over the same number of threads as BLAS.
/// They never run at the same time as a GEMM, so the two pools do not oversubscribe the cores.
enum Parallel {
  /// Worker count; set by ``BLAS/setThreads(_:)``.
  static let workers = Atomic<Int>(1)

  /// Calls `body` on disjoint chunks covering `0..<count` (in parallel when worthwhile).
  /// `minimumPerChunk` keeps tiny loops on the calling thread.
  @inline(__always)
  static func forEachChunk(
    _ count: Int, workers limit: Int? = nil, minimumPerChunk: Int = 1,
    _ body: (Range<Int>) -> Void
  ) {
    let w = min(limit ?? Parallel.count, count / max(minimumPerChunk, 1))
    if w <= 1 {
      body(0..<count)
      return
    }
    withoutActuallyEscaping(body) { body in
      let box = UnsafeSendable(body)
      DispatchQueue.concurrentPerform(iterations: w) { i in
        let lo = count * i / w
        let hi = count * (i + 1) / w
        box.value(lo..<hi)
      }
    }
  }
}

extension Parallel {
  /// Calls `body(worker, range)` on up to `workers` contiguous chunks of `0..<count`, in
  /// parallel; `worker` indexes per-thread scratch space.
  static func forEachWorker(
    _ count: Int, workers limit: Int? = nil, _ body: (Int, Range<Int>) -> Void
  ) {
    let w = min(limit ?? Parallel.count, count, Workspace.maxWorkers)
    if w <= 1 {
      body(0, 0..<count)
      return
    }
    withoutActuallyEscaping(body) { body in
      let box = UnsafeSendable(body)
      DispatchQueue.concurrentPerform(iterations: w) { i in
        box.value(i, (count * i / w)..<(count * (i + 1) / w))
      }
    }
  }

  /// The current worker count.
  static var count: Int { min(workers.load(ordering: .relaxed), Workspace.maxWorkers) }
}

/// Carries a non-Sendable closure into `concurrentPerform`; callers guarantee the chunks touch
/// disjoint memory.
struct UnsafeSendable<T>: @unchecked Sendable {
  let value: T
  init(_ value: T) { self.value = value }
}
