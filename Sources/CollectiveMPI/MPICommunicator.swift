internal import CTandemMPI
import Collective
import Foundation
import Synchronization

#if canImport(Glibc)
  import Glibc
#endif

/// ``Communicator`` over Open MPI's `MPI_COMM_WORLD`. Created once per process with
/// ``start(timeout:)`` (which calls `MPI_Init_thread`) and ended with ``finish()``
/// (`MPI_Finalize`).
///
/// Errors are returned, not fatal (`MPI_ERRORS_RETURN`), and become ``CollectiveError``s naming
/// the rank and the operation. Every blocking call is watched by a ``CollectiveWatchdog``: when a
/// collective does not complete within the timeout (a rank died or hangs) the process prints
/// which operation was stuck and exits with status 1, and the launcher stops the other ranks.
public final class MPICommunicator: Communicator, @unchecked Sendable {
  public let rank: Int
  public let worldSize: Int
  public let backendDescription: String
  private let watchdog: CollectiveWatchdog
  private let stats = Mutex(CollectiveStatistics())
  private let finished = Atomic<Bool>(false)

  /// Initializes MPI (thread level `MPI_THREAD_SERIALIZED`: one thread at a time calls MPI) and
  /// reads rank and size. `timeout` bounds every collective (seconds, 0 = unbounded).
  public static func start(timeout: Double) throws(CollectiveError) -> MPICommunicator {
    guard tandem_mpi_is_initialized() == 0 else {
      throw CollectiveError(
        code: .initialization, rank: 0, worldSize: 0, operation: "MPI_Init_thread",
        message: "MPI is already initialized in this process")
    }
    var provided: Int32 = 0
    let rc = tandem_mpi_init(&provided)
    guard rc == 0 else {
      throw CollectiveError(
        code: .initialization, rank: 0, worldSize: 0, operation: "MPI_Init_thread",
        message: errorString(rc) + " (run under mpirun, e.g. mpirun -np 2 tandem train …)")
    }
    var r: Int32 = 0
    var s: Int32 = 0
    guard tandem_mpi_rank(&r) == 0, tandem_mpi_size(&s) == 0 else {
      throw CollectiveError(
        code: .initialization, rank: 0, worldSize: 0, operation: "MPI_Comm_rank/size",
        message: "cannot read the rank and size of MPI_COMM_WORLD")
    }
    guard provided >= tandem_mpi_thread_serialized() else {
      throw CollectiveError(
        code: .initialization, rank: Int(r), worldSize: Int(s), operation: "MPI_Init_thread",
        message: "the MPI library provides thread level \(provided); Tandem needs "
          + "MPI_THREAD_SERIALIZED (\(tandem_mpi_thread_serialized())) because the training "
          + "loop runs on its own thread")
    }
    return MPICommunicator(rank: Int(r), worldSize: Int(s), timeout: timeout)
  }

  private init(rank: Int, worldSize: Int, timeout: Double) {
    self.rank = rank
    self.worldSize = worldSize
    var buffer = [CChar](repeating: 0, count: 512)
    tandem_mpi_library_version(&buffer, Int32(buffer.count))
    let version = Self.string(buffer).split(separator: ",").first.map(String.init) ?? "MPI"
    backendDescription = "\(version.trimmingCharacters(in: .whitespaces)), \(worldSize) ranks"
    watchdog = CollectiveWatchdog(timeout: timeout) { label, seconds in
      let message =
        "error: rank \(rank) of \(worldSize): \(label) did not complete within "
        + "\(Int(seconds)) s (--collective-timeout \(Int(timeout))): another rank died or "
        + "hangs; exiting\n"
      FileHandle.standardError.write(Data(message.utf8))
      _exit(1)
    }
  }

  /// Ends MPI (`MPI_Finalize`, itself a collective); idempotent.
  public func finish() {
    guard !finished.exchange(true, ordering: .acquiringAndReleasing) else { return }
    watchdog.begin("MPI_Finalize")
    _ = tandem_mpi_finalize()
    watchdog.end()
    watchdog.stop()
  }

  /// Ends every rank of the job at once (`MPI_Abort`), for fatal errors outside collectives.
  public func abort(code: Int32) -> Never {
    _ = tandem_mpi_abort(code)
    _exit(code)
  }

  public var statistics: CollectiveStatistics { stats.withLock { $0 } }

  private static func string(_ buffer: [CChar]) -> String {
    let bytes = buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
    return String(decoding: bytes, as: UTF8.self)
  }

  private static func errorString(_ code: Int32) -> String {
    var buffer = [CChar](repeating: 0, count: 512)
    tandem_mpi_error_string(code, &buffer, Int32(buffer.count))
    let text = Self.string(buffer)
    return text.isEmpty ? "MPI error \(code)" : "\(text) (MPI error \(code))"
  }

  /// Runs one MPI call under the watchdog, records its time, maps a failure to a typed error.
  private func call(
    _ operation: @autoclosure () -> String, label: String, bytes: Int, _ body: () -> Int32
  ) throws(CollectiveError) {
    let t0 = CollectiveWatchdog.now()
    watchdog.begin("\(label) (\(operation()))")
    let rc = body()
    watchdog.end()
    let t1 = CollectiveWatchdog.now()
    stats.withLock { $0.record(label: label, seconds: t1 - t0, bytes: bytes) }
    guard rc == 0 else {
      throw CollectiveError(
        code: .mpi(rc), rank: rank, worldSize: worldSize, operation: operation(),
        message: Self.errorString(rc))
    }
  }

  private func count32(_ count: Int, _ operation: String) throws(CollectiveError) -> Int32 {
    guard count >= 0, count <= Int(Int32.max) else {
      throw CollectiveError(
        code: .invalidArgument, rank: rank, worldSize: worldSize, operation: operation,
        message: "count \(count) outside MPI's int range")
    }
    return Int32(count)
  }

  public func allreduceSum(
    _ buffer: UnsafeMutablePointer<Float>, count: Int, label: String
  ) throws(CollectiveError) {
    let op = "allreduce(\(label), \(count) floats)"
    let n = try count32(count, op)
    try call(op, label: label, bytes: 4 * count) { tandem_mpi_allreduce_sum_float(buffer, n) }
  }

  public func allreduceSum(
    _ buffer: UnsafeMutablePointer<Double>, count: Int, label: String
  ) throws(CollectiveError) {
    let op = "allreduce(\(label), \(count) doubles)"
    let n = try count32(count, op)
    try call(op, label: label, bytes: 8 * count) { tandem_mpi_allreduce_sum_double(buffer, n) }
  }

  public func allgather(_ values: [Int64], label: String) throws(CollectiveError) -> [[Int64]] {
    let op = "allgather(\(label), \(values.count) int64)"
    let n = try count32(values.count, op)
    var received = [Int64](repeating: 0, count: values.count * worldSize)
    try call(op, label: label, bytes: 8 * values.count) {
      values.withUnsafeBufferPointer { send in
        received.withUnsafeMutableBufferPointer {
          tandem_mpi_allgather_int64(send.baseAddress, n, $0.baseAddress)
        }
      }
    }
    return (0..<worldSize).map { Array(received[($0 * values.count)..<(($0 + 1) * values.count)]) }
  }

  public func allgather(
    _ send: UnsafePointer<Float>, counts: [Int], into receive: UnsafeMutablePointer<Float>,
    label: String
  ) throws(CollectiveError) {
    let op = "allgatherv(\(label), \(counts.reduce(0, +)) floats)"
    guard counts.count == worldSize else {
      throw CollectiveError(
        code: .invalidArgument, rank: rank, worldSize: worldSize, operation: op,
        message: "\(counts.count) counts for \(worldSize) ranks")
    }
    guard counts.reduce(0, +) <= Int(Int32.max) else {
      throw CollectiveError(
        code: .invalidArgument, rank: rank, worldSize: worldSize, operation: op,
        message: "more floats than MPI's int displacements allow")
    }
    let c32 = counts.map { Int32($0) }
    var displacements: [Int32] = []
    var offset: Int32 = 0
    for c in c32 {
      displacements.append(offset)
      offset += c
    }
    let mine = c32[rank]
    try call(op, label: label, bytes: 4 * counts[rank]) {
      tandem_mpi_allgatherv_float(send, mine, receive, c32, displacements)
    }
  }

  public func broadcast(
    _ bytes: [UInt8], root: Int, label: String
  ) throws(CollectiveError) -> [UInt8] {
    let op = "broadcast(\(label) from rank \(root))"
    var length = [Int64(bytes.count)]
    try call(op, label: label, bytes: 8) {
      length.withUnsafeMutableBytes { tandem_mpi_broadcast_bytes($0.baseAddress, 8, Int32(root)) }
    }
    let n = try count32(Int(length[0]), op)
    var data = rank == root ? bytes : [UInt8](repeating: 0, count: Int(n))
    try call(op, label: label, bytes: Int(n)) {
      data.withUnsafeMutableBytes { tandem_mpi_broadcast_bytes($0.baseAddress, n, Int32(root)) }
    }
    return data
  }
}
