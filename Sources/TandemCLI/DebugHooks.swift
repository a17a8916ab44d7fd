import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// Test and debugging hooks of distributed training, driven by environment variables (they are
/// off unless set):
///
/// - `TANDEM_DEBUG_GRADIENTS=DIR`: every rank writes its gradient block before and after the
///   allreduce of every step, as raw little-endian Float32:
///   `DIR/rank-R-step-S-local.f32` and `DIR/rank-R-step-S-reduced.f32`.
/// - `TANDEM_DEBUG_FAULT=RANK:STEP:ACTION`: rank RANK, in step STEP (0-based, after its
///   backward pass, before the allreduce), `kill`s itself with SIGKILL or `hang`s forever —
///   to test that the other ranks stop with an error instead of waiting.
enum DebugHooks {
  /// `TANDEM_DEBUG_CRASH=trap|segv`: fail a runtime check (force-unwrap of nil) or dereference
  /// null at start-up, to test the crash report (``CrashReport``).
  static func crashIfAsked(_ env: [String: String]) {
    switch env["TANDEM_DEBUG_CRASH"] {
    case "trap":
      let missing: Int? = env["TANDEM_DEBUG_CRASH_NEVER_SET"].flatMap { Int($0) }
      print(missing!)
    case "segv":
      // Address 8: never mapped.
      UnsafeMutablePointer<Int>(bitPattern: 8)?.pointee = 1
    default: break
    }
  }

  static func observer(rank: Int) -> ((Int, String, [Float]) -> Void)? {
    let env = ProcessInfo.processInfo.environment
    let directory = env["TANDEM_DEBUG_GRADIENTS"]
    var fault: (rank: Int, step: Int, action: String)?
    if let spec = env["TANDEM_DEBUG_FAULT"] {
      let parts = spec.split(separator: ":").map(String.init)
      if parts.count == 3, let r = Int(parts[0]), let s = Int(parts[1]) {
        fault = (r, s, parts[2])
      } else {
        FileHandle.standardError.write(
          Data("warning: TANDEM_DEBUG_FAULT='\(spec)' is not RANK:STEP:kill|hang; ignored\n".utf8))
      }
    }
    guard directory != nil || fault != nil else { return nil }
    return { step, phase, gradients in
      if let directory {
        let path = "\(directory)/rank-\(rank)-step-\(step)-\(phase).f32"
        let data = gradients.withUnsafeBufferPointer { Data(buffer: $0) }
        _ = FileManager.default.createFile(atPath: path, contents: data)
      }
      if let fault, fault.rank == rank, fault.step == step, phase == "local" {
        FileHandle.standardError.write(
          Data("rank \(rank): TANDEM_DEBUG_FAULT: \(fault.action) at step \(step)\n".utf8))
        if fault.action == "hang" {
          while true { sleep(3600) }
        }
        kill(getpid(), SIGKILL)
      }
    }
  }
}
