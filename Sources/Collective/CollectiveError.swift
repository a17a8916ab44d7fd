/// A collective operation failed. Names the rank, the operation (with what it carried) and the
/// cause, e.g. `rank 1 of 2: allreduce(gradients, 1234 floats): timed out after 300 s …`.
public struct CollectiveError: Error, CustomStringConvertible, Sendable, Equatable {
  /// What went wrong.
  public enum Code: Sendable, Equatable {
    /// The MPI library returned this error code.
    case mpi(Int32)
    /// MPI could not be initialized (not started under `mpirun`, library missing …).
    case initialization
    /// The operation did not complete in time: another rank died or hangs.
    case timeout
    /// Another rank reported a failure (its own error is printed by that rank).
    case peerFailed
    /// The ranks disagree (sizes, configuration, weights).
    case mismatch
    /// An argument is out of range (e.g. more elements than MPI's `int` counts allow).
    case invalidArgument
  }

  public var code: Code
  /// This process's rank and the world size.
  public var rank: Int
  public var worldSize: Int
  /// The operation, e.g. `allreduce(gradients, 1234 floats)`.
  public var operation: String
  /// Human explanation (MPI's error string, the ranks that failed, …).
  public var message: String

  public init(code: Code, rank: Int, worldSize: Int, operation: String, message: String) {
    self.code = code
    self.rank = rank
    self.worldSize = worldSize
    self.operation = operation
    self.message = message
  }

  public var description: String { "rank \(rank) of \(worldSize): \(operation): \(message)" }
}
