import Foundation
import Synchronization

/// Runs the built `tandem` binary for CLI tests: `TANDEM_BIN` when set (Scripts/test sets it),
/// else `.build/debug/tandem` under the package root.
public enum TandemCLI {
  /// The package root, found from this file's path.
  public static let packageRoot: URL = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

  /// Path of the binary, or `nil` when it has not been built.
  public static let binary: String? = {
    if let b = ProcessInfo.processInfo.environment["TANDEM_BIN"] { return b }
    let path = packageRoot.appendingPathComponent(".build/debug/tandem").path
    return FileManager.default.isExecutableFile(atPath: path) ? path : nil
  }()

  /// Exit status and captured output of one run.
  public struct Result: Sendable {
    public var status: Int32
    public var stdout: String
    public var stderr: String
  }

  public struct NotBuilt: Error, CustomStringConvertible {
    public var description: String { "the tandem binary is not built (run swift build)" }
  }

  /// Runs `tandem arguments…` to completion. Both pipes are drained concurrently so a chatty
  /// command cannot block on a full pipe.
  public static func run(
    _ arguments: [String], environment: [String: String]? = nil, currentDirectory: URL? = nil
  ) throws -> Result {
    guard let binary else { throw NotBuilt() }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: binary)
    process.arguments = arguments
    if let environment {
      process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
    }
    if let currentDirectory { process.currentDirectoryURL = currentDirectory }
    let out = Pipe()
    let err = Pipe()
    process.standardOutput = out
    process.standardError = err
    process.standardInput = FileHandle.nullDevice
    try process.run()
    let stderrBox = Mutex(Data())
    let group = DispatchGroup()
    group.enter()
    DispatchQueue.global().async {
      let data = err.fileHandleForReading.readDataToEndOfFile()
      stderrBox.withLock { $0 = data }
      group.leave()
    }
    let stdoutData = out.fileHandleForReading.readDataToEndOfFile()
    group.wait()
    let stderrData = stderrBox.withLock { $0 }
    process.waitUntilExit()
    return Result(
      status: process.terminationStatus, stdout: String(decoding: stdoutData, as: UTF8.self),
      stderr: String(decoding: stderrData, as: UTF8.self))
  }
}
