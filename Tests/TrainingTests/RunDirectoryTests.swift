import Foundation
import Pipeline
import Testing

@testable import Training

struct InjectedFailure: Error {}

@Suite struct RunDirectoryTests {
  func state(_ step: Int) -> CheckpointState {
    CheckpointState(
      step: step, cursor: SamplerCursor(epoch: 0, position: step * 4), configHash: "abc",
      rng: .init(seed: 1, scheme: "test"), samplesSeen: step * 4)
  }

  @Test func latestAlwaysNamesACompleteCheckpoint() throws {
    let dir = temporaryRun("latest")
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let run = RunDirectory(path: dir)
    #expect(try run.latestCheckpoint() == nil)
    _ = try run.writeCheckpoint(step: 3, state: state(3)) { d in
      try Data("weights-3".utf8).write(to: URL(fileURLWithPath: d + "/model.safetensors"))
    }
    #expect(try run.latestCheckpoint()?.state == state(3))
    // A crash while writing step 6 (simulated by a throwing writer) leaves latest at step 3,
    // complete, and no step-6 directory.
    #expect(throws: InjectedFailure.self) {
      _ = try run.writeCheckpoint(step: 6, state: state(6)) { d in
        try Data("partial".utf8).write(to: URL(fileURLWithPath: d + "/model.safetensors"))
        throw InjectedFailure()
      }
    }
    let latest = try #require(try run.latestCheckpoint())
    #expect(latest.state == state(3))
    #expect(run.checkpointSteps() == [3])
    #expect(
      FileManager.default.contents(atPath: latest.directory + "/model.safetensors")
        == Data("weights-3".utf8))
    // Rewriting the same step replaces it completely.
    _ = try run.writeCheckpoint(step: 3, state: state(3)) { d in
      try Data("weights-3b".utf8).write(to: URL(fileURLWithPath: d + "/model.safetensors"))
    }
    #expect(
      FileManager.default.contents(atPath: dir + "/step-3/model.safetensors")
        == Data("weights-3b".utf8))
  }

  @Test func oldCheckpointsArePruned() throws {
    let dir = temporaryRun("prune")
    defer { try? FileManager.default.removeItem(atPath: dir) }
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    let run = RunDirectory(path: dir)
    for s in 1...5 { _ = try run.writeCheckpoint(step: s, state: state(s), keep: 2) { _ in } }
    #expect(run.checkpointSteps() == [4, 5])
    #expect(try run.latestCheckpoint()?.state.step == 5)
  }

  @Test func corruptLatestIsReportedWithItsPath() throws {
    let dir = temporaryRun("corrupt")
    defer { try? FileManager.default.removeItem(atPath: dir) }
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    try Data("../../etc\n".utf8).write(to: URL(fileURLWithPath: dir + "/latest"))
    let error = #expect(throws: TrainingError.self) {
      try RunDirectory(path: dir).latestCheckpoint()
    }
    #expect(error?.path == dir + "/latest")
  }

  @Test func metricsAfterTheCheckpointAreDropped() throws {
    let dir = temporaryRun("metrics")
    defer { try? FileManager.default.removeItem(atPath: dir) }
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    let run = RunDirectory(path: dir)
    let text = (1...6).map { #"{"step":\#($0),"loss":1}"# + "\n" }.joined()
    try Data(text.utf8).write(to: URL(fileURLWithPath: run.metricsPath))
    try run.truncateMetrics(after: 4)
    let kept = try String(contentsOfFile: run.metricsPath, encoding: .utf8).split(separator: "\n")
    #expect(kept.count == 4)
  }

  /// States that trapped `train --resume`: a negative epoch, position or step (the sampler's
  /// `UInt64(epoch)` and position precondition), a position × world size or a sample count that
  /// overflows, a world size of 0 or rank cursors that do not match it.
  @Test(arguments: [
    "epoch", "position", "step", "samplesSeen", "worldSize", "rankCursors", "rankPosition",
  ])
  func implausibleCheckpointStateIsATypedErrorNamingStateJSON(field: String) throws {
    let dir = temporaryRun("bad-state-\(field)")
    defer { try? FileManager.default.removeItem(atPath: dir) }
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    var s = state(3)
    switch field {
    case "epoch": s.cursor.epoch = -1
    case "position": s.cursor.position = -5
    case "step": s.step = -1
    case "samplesSeen": s.samplesSeen = .max
    case "worldSize": s.worldSize = 0
    case "rankCursors":
      s.worldSize = 4
      s.rankCursors = [s.cursor]
    default:
      s.worldSize = 2
      s.rankCursors = [s.cursor, SamplerCursor(epoch: 0, position: .max / 2 + 1)]
    }
    let run = RunDirectory(path: dir)
    _ = try run.writeCheckpoint(step: 3, state: s) { _ in }
    let error = #expect(throws: TrainingError.self) { try run.latestCheckpoint() }
    #expect(error?.path == dir + "/step-3/state.json")
    #expect(error?.reason.hasPrefix("invalid checkpoint state") == true)
    #expect(state(3).validationError() == nil)
  }

  func writeNormalization(_ json: String, in dir: String) throws -> RunDirectory {
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    let run = RunDirectory(path: dir)
    try Data(json.utf8).write(to: URL(fileURLWithPath: run.normalizationPath))
    return run
  }

  /// Statistics the loaders cannot index or divide by: fewer S2 entries than bands, a zero
  /// or infinite std, a zero scale. They trapped eval, embed and `train --resume`.
  @Test(arguments: [
    #""s2Mean":[0.1],"s2Std":[1]"#, #""s2Mean":[0,0,0,0],"s2Std":[1,1,0,1]"#,
    #""s2Mean":[0,0,0,0],"s2Std":[1,1,1,1e39]"#, #""s2Mean":[0,0,0,0],"s2Std":[1,1,1]"#,
  ])
  func normalizationThatCannotStandardizeIsATypedErrorNamingIt(s2: String) throws {
    let dir = temporaryRun("bad-normalization")
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let run = try writeNormalization(
      #"{"s1ToDecibels":true,"s1Mean":[0,0],"s1Std":[1,1],"s2Scale":10000,"# + s2 + "}", in: dir)
    let error = #expect(throws: TrainingError.self) {
      try run.loadNormalization(s1Channels: 2, s2Channels: 4)
    }
    #expect(error?.path == run.normalizationPath)
  }

  @Test func validNormalizationLoadsAndChannelCountsAreOptional() throws {
    let dir = temporaryRun("good-normalization")
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let run = try writeNormalization(
      #"{"s1ToDecibels":true,"s1Mean":[0,0],"s1Std":[1,1],"s2Scale":10000,"#
        + #""s2Mean":[0,0,0],"s2Std":[1,1,1]}"#, in: dir)
    #expect(throws: TrainingError.self) { try run.loadNormalization(s1Channels: 2, s2Channels: 4) }
    #expect(try run.loadNormalization(s1Channels: 2, s2Channels: nil).s2Mean.count == 3)
  }

  /// A run's config.json with temperature 0 (InfoNCE's precondition) or a size past the bound
  /// is a TrainingError naming the file when eval or embed load it.
  @Test(arguments: [#"{"temperature":0}"#, #"{"size":4611686018427387904}"#])
  func invalidRunConfigIsATypedErrorNamingIt(json: String) throws {
    let dir = temporaryRun("bad-config")
    defer { try? FileManager.default.removeItem(atPath: dir) }
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    let run = RunDirectory(path: dir)
    try Data(json.utf8).write(to: URL(fileURLWithPath: run.configPath))
    let error = #expect(throws: TrainingError.self) { try run.loadConfig() }
    #expect(error?.path == run.configPath)
    #expect(error?.reason.hasPrefix("invalid run configuration") == true)
  }
}

/// What `kill -9` can leave behind mid-checkpoint (see Scripts/integration/check-crash.sh for
/// the real kills).
@Suite struct RunDirectoryCrashTests {
  func state(_ step: Int) -> CheckpointState {
    CheckpointState(
      step: step, cursor: SamplerCursor(epoch: 0, position: step * 4), configHash: "abc",
      rng: .init(seed: 1, scheme: "test"), samplesSeen: step * 4)
  }

  func write(_ state: CheckpointState, to directory: String) throws {
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    try JSONEncoder().encode(state).write(to: URL(fileURLWithPath: directory + "/state.json"))
  }

  @Test func killedWhileReplacingTheLatestStepIsRecovered() throws {
    let dir = temporaryRun("replace-kill")
    defer { try? FileManager.default.removeItem(atPath: dir) }
    // The old step-4 was moved aside, the process died before the new one was moved in.
    try write(state(4), to: dir + "/.step-4.old-999999")
    try write(state(4), to: dir + "/.step-4.tmp-999999")
    try "step-4\n".write(toFile: dir + "/latest", atomically: true, encoding: .utf8)
    let run = RunDirectory(path: dir)
    let latest = try #require(try run.latestCheckpoint())
    #expect(latest.state == state(4))
    #expect(latest.directory == dir + "/step-4")
    #expect(FileManager.default.fileExists(atPath: dir + "/step-4/state.json"))
  }

  @Test func staleTemporariesOfDeadWritersAreRemovedByTheNextCheckpoint() throws {
    let dir = temporaryRun("stale-tmp")
    defer { try? FileManager.default.removeItem(atPath: dir) }
    try write(state(2), to: dir + "/.step-6.tmp-999999")
    try FileManager.default.createDirectory(
      atPath: dir + "/.step-2.old-999998", withIntermediateDirectories: true)
    let run = RunDirectory(path: dir)
    _ = try run.writeCheckpoint(step: 8, state: state(8)) { _ in }
    let names = try FileManager.default.contentsOfDirectory(atPath: dir)
    #expect(!names.contains { $0.hasPrefix(".step-") }, "\(names)")
    #expect(try run.latestCheckpoint()?.state == state(8))
  }
}
