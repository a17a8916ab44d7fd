import Collective
import Foundation
import Pipeline
import Testing
import Training

struct Boom: Error {}

@Suite struct CollectiveUnitTests {
  @Test func agreeRethrowsTheLocalFailureAndPassesOtherwise() throws {
    let c = SingleProcessCommunicator()
    try c.agree(after: nil, phase: "setup")
    #expect(throws: Boom.self) { try c.agree(after: Boom(), phase: "setup") }
    #expect(try c.together("x") { 7 } == 7)
    try c.checkSame(42, what: "hash")
  }

  @Test func watchdogReportsOnlyOverdueOperations() {
    let w = CollectiveWatchdog(timeout: 10) { _, _ in }
    defer { w.stop() }
    let now = CollectiveWatchdog.now()
    #expect(w.overdue(at: now + 100) == nil, "nothing in flight")
    w.begin("allreduce(gradients)")
    #expect(w.overdue(at: now) == nil)
    let overdue = w.overdue(at: now + 11)
    #expect(overdue?.0 == "allreduce(gradients)")
    w.end()
    #expect(w.overdue(at: now + 100) == nil)
  }

  @Test func newDistributedFieldsLeaveOldConfigHashesAlone() throws {
    var c = TrainingConfig()
    #expect(!c.identity.contains("syncBatchNorm") && !c.identity.contains("gatherNegatives"))
    let before = c.hash
    c.gatherNegatives = true
    #expect(c.hash != before)
    #expect(c.differences(from: TrainingConfig()).count == 1)
    // A config.json written before the fields existed decodes to the same identity.
    let old = try TrainingConfig.decode(Data("{\"batch\": 32}".utf8), source: "old.json")
    #expect(old.hash == TrainingConfig().hash)
  }

  func state(world: Int?, cursors: [SamplerCursor]?) -> CheckpointState {
    CheckpointState(
      step: 4, cursor: cursors?.first ?? SamplerCursor(epoch: 1, position: 12), configHash: "x",
      rng: .init(seed: 0, scheme: "s"), samplesSeen: 0, worldSize: world, rankCursors: cursors)
  }

  @Test func resumeCursorSameWorldIsEachRanksOwn() {
    let s = state(
      world: 2,
      cursors: [SamplerCursor(epoch: 1, position: 12), SamplerCursor(epoch: 1, position: 13)])
    let r = s.resumeCursor(rank: 1, worldSize: 2)
    #expect(r.cursor == SamplerCursor(epoch: 1, position: 13))
    #expect(r.exact)
  }

  @Test(arguments: [
    // (old world, positions, new world) → (new position, exact)
    (2, [12, 12], 1, 24, true),
    (1, [24], 2, 12, true),
    (2, [12, 12], 4, 6, true),
    (2, [13, 13], 4, 6, false),  // 26 samples over 4 ranks: rounded down, 2 repeat
    (2, [12, 14], 1, 24, false),  // divergent cursors (skips): the slowest rank's position
  ])
  func resumeCursorOtherWorldKeepsTheGlobalPosition(
    old: Int, positions: [Int], new: Int, expected: Int, exact: Bool
  ) {
    let s = state(world: old, cursors: positions.map { SamplerCursor(epoch: 1, position: $0) })
    let r = s.resumeCursor(rank: 0, worldSize: new)
    #expect(r.cursor == SamplerCursor(epoch: 1, position: expected))
    #expect(r.exact == exact)
  }

  @Test func singleProcessCheckpointsOfEarlierVersionsResume() {
    let s = state(world: nil, cursors: nil)
    let same = s.resumeCursor(rank: 0, worldSize: 1)
    #expect(same.cursor == SamplerCursor(epoch: 1, position: 12))
    #expect(same.exact)
    #expect(s.resumeCursor(rank: 1, worldSize: 2).cursor == SamplerCursor(epoch: 1, position: 6))
  }
}
