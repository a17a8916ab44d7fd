import Foundation
import Synchronization

/// The collectives data-parallel training needs, over the processes ("ranks") of one job. Every
/// rank must call the same collectives in the same order; each call blocks until all ranks have
/// made it. Implementations: ``SingleProcessCommunicator`` (one rank; every collective is the
/// identity) and `MPICommunicator` (module `CollectiveMPI`, Open MPI).
///
/// Calls come from one thread at a time (MPI is initialized `MPI_THREAD_SERIALIZED`).
public protocol Communicator: AnyObject, Sendable {
  /// This process's rank, `0 ..< worldSize`.
  var rank: Int { get }
  /// Number of ranks.
  var worldSize: Int { get }
  /// A short description for logs, e.g. `Open MPI v4.1.4, 2 ranks`.
  var backendDescription: String { get }

  /// Replaces `buffer[0 ..< count]` by its element-wise sum over all ranks.
  func allreduceSum(
    _ buffer: UnsafeMutablePointer<Float>, count: Int, label: String
  ) throws(CollectiveError)

  /// Replaces `buffer[0 ..< count]` by its element-wise sum over all ranks.
  func allreduceSum(
    _ buffer: UnsafeMutablePointer<Double>, count: Int, label: String
  ) throws(CollectiveError)

  /// Every rank contributes `values` (the same count on every rank); returns them by rank.
  func allgather(_ values: [Int64], label: String) throws(CollectiveError) -> [[Int64]]

  /// Every rank `r` contributes `counts[r]` floats from `send`; `receive` gets them all,
  /// rank-major (rank 0's first), `counts.reduce(0, +)` floats.
  func allgather(
    _ send: UnsafePointer<Float>, counts: [Int], into receive: UnsafeMutablePointer<Float>,
    label: String
  ) throws(CollectiveError)

  /// Rank `root`'s `bytes` on every rank (the other ranks' argument is ignored).
  func broadcast(_ bytes: [UInt8], root: Int, label: String) throws(CollectiveError) -> [UInt8]

  /// Time and traffic spent in collectives so far.
  var statistics: CollectiveStatistics { get }
}

/// Counters of a communicator: calls, seconds blocked in them (waiting for slower ranks
/// included) and payload bytes, in total and per label.
public struct CollectiveStatistics: Sendable, Equatable {
  public var calls = 0
  public var seconds = 0.0
  public var bytes = 0
  /// Seconds per operation label (`gradients`, `control`, `bn`, `embeddings` …).
  public var secondsByLabel: [String: Double] = [:]

  public init() {}

  /// Adds one call.
  public mutating func record(label: String, seconds s: Double, bytes b: Int) {
    calls += 1
    seconds += s
    bytes += b
    secondsByLabel[label, default: 0] += s
  }
}

extension Communicator {
  /// Whether more than one rank takes part.
  public var isDistributed: Bool { worldSize > 1 }

  /// Makes every rank learn whether any rank failed a phase (setup, a resume check …) so they
  /// all stop instead of some waiting forever in the next collective. Rethrows `failure` on the
  /// rank that had it; the others throw ``CollectiveError/Code/peerFailed`` naming the ranks.
  public func agree(after failure: (any Error)?, phase: String) throws {
    let flags = try allgather([failure == nil ? 0 : 1], label: "agree")
    if let failure { throw failure }
    let failed = flags.indices.filter { flags[$0][0] != 0 }
    if !failed.isEmpty {
      throw CollectiveError(
        code: .peerFailed, rank: rank, worldSize: worldSize, operation: phase,
        message: "rank \(failed.map(String.init).joined(separator: ", ")) failed (see "
          + "\(failed.count == 1 ? "its" : "their") error); stopping")
    }
  }

  /// Runs `body` on every rank and then ``agree(after:phase:)``: all ranks return or all throw.
  public func together<T>(_ phase: String, _ body: () throws -> T) throws -> T {
    var result: T?
    var failure: (any Error)?
    do { result = try body() } catch { failure = error }
    try agree(after: failure, phase: phase)
    return result!
  }

  /// Checks that every rank holds the same value (a configuration or weight hash); the error
  /// lists the values by rank.
  public func checkSame(_ value: UInt64, what: String) throws(CollectiveError) {
    let all = try allgather([Int64(bitPattern: value)], label: "check")
    if Set(all.map { $0[0] }).count > 1 {
      let list = all.enumerated().map {
        "rank \($0.offset): \(String(UInt64(bitPattern: $0.element[0]), radix: 16))"
      }
      throw CollectiveError(
        code: .mismatch, rank: rank, worldSize: worldSize, operation: "check(\(what))",
        message: "ranks disagree on \(what): \(list.joined(separator: ", "))")
    }
  }
}

/// One process: rank 0 of 1. Sums and gathers are the identity, so code written against
/// ``Communicator`` runs unchanged (and bit-identically) without MPI.
public final class SingleProcessCommunicator: Communicator {
  public init() {}
  public var rank: Int { 0 }
  public var worldSize: Int { 1 }
  public var backendDescription: String { "single process" }
  public var statistics: CollectiveStatistics { CollectiveStatistics() }

  public func allreduceSum(
    _ buffer: UnsafeMutablePointer<Float>, count: Int, label: String
  ) throws(CollectiveError) {}

  public func allreduceSum(
    _ buffer: UnsafeMutablePointer<Double>, count: Int, label: String
  ) throws(CollectiveError) {}

  public func allgather(_ values: [Int64], label: String) throws(CollectiveError) -> [[Int64]] {
    [values]
  }

  public func allgather(
    _ send: UnsafePointer<Float>, counts: [Int], into receive: UnsafeMutablePointer<Float>,
    label: String
  ) throws(CollectiveError) {
    guard counts.count == 1 else {
      throw CollectiveError(
        code: .invalidArgument, rank: 0, worldSize: 1, operation: "allgather(\(label))",
        message: "\(counts.count) counts for 1 rank")
    }
    if receive != UnsafeMutablePointer(mutating: send) {
      receive.update(from: send, count: counts[0])
    }
  }

  public func broadcast(
    _ bytes: [UInt8], root: Int, label: String
  ) throws(CollectiveError) -> [UInt8] { bytes }
}
