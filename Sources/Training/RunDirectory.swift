import Foundation
import Pipeline
import TandemBase

/// What a checkpoint's `state.json` holds besides the tensors: enough to continue the run
/// bit-identically.
public struct CheckpointState: Codable, Sendable, Equatable {
  /// Optimizer steps taken.
  public var step: Int
  /// Where the sampler stands after the last consumed batch.
  public var cursor: SamplerCursor
  /// ``TrainingConfig/hash`` of the run that wrote it.
  public var configHash: String
  /// Random streams: augmentations draw from `SeededGenerator(seed, stream: AUG, step, sample,
  /// view)` and windows from the sampler's `(seed, epoch, slot, attempt)` streams, so the seed and
  /// the step/cursor are the whole RNG state; recorded explicitly for readers.
  public var rng: RNGState
  /// Samples trained on so far (all ranks).
  public var samplesSeen: Int
  /// Ranks of the run that wrote it (`nil`: a single-process run of an earlier version).
  public var worldSize: Int? = nil
  /// Every rank's sampler cursor, by rank (``cursor`` is rank 0's); `nil` for single-process
  /// checkpoints of earlier versions.
  public var rankCursors: [SamplerCursor]? = nil

  public init(
    step: Int, cursor: SamplerCursor, configHash: String, rng: RNGState, samplesSeen: Int,
    worldSize: Int? = nil, rankCursors: [SamplerCursor]? = nil
  ) {
    self.step = step
    self.cursor = cursor
    self.configHash = configHash
    self.rng = rng
    self.samplesSeen = samplesSeen
    self.worldSize = worldSize
    self.rankCursors = rankCursors
  }

  /// Where rank `rank` of `worldSize` continues. With the world size that wrote the checkpoint,
  /// each rank resumes exactly at its own cursor. With another world size, the run continues
  /// from the global sample position the slowest rank had reached (position × old world size),
  /// divided among the new ranks — rounded down, so at most `worldSize − 1` samples repeat and
  /// none is skipped; `exact` is false when rounding (or divergent per-rank cursors, after
  /// skipped samples) made the stream differ from an uninterrupted run's.
  public func resumeCursor(rank: Int, worldSize: Int) -> (cursor: SamplerCursor, exact: Bool) {
    let saved = self.worldSize ?? 1
    let cursors = rankCursors ?? [cursor]
    if saved == worldSize && cursors.count == worldSize { return (cursors[rank], true) }
    let slowest = cursors.min { ($0.epoch, $0.position) < ($1.epoch, $1.position) } ?? cursor
    let global = slowest.position * saved
    let exact = Set(cursors).count == 1 && global % worldSize == 0
    return (SamplerCursor(epoch: slowest.epoch, position: global / worldSize), exact)
  }

  /// Largest `samplesSeen` accepted: far beyond any run (steps and batch are bounded, see
  /// ``TrainingConfig/maxSteps``), so adding a step's samples cannot overflow.
  public static let maxSamplesSeen = 1 << 53

  /// Why a run cannot continue from this state, or `nil`. A damaged or hand-edited
  /// `state.json` must not reach the sampler (a negative epoch or position traps it) or the
  /// resume arithmetic (a position × world size or a sample count that overflows).
  public func validationError() -> String? {
    if step < 0 { return "step \(step) is negative" }
    if !(0...Self.maxSamplesSeen).contains(samplesSeen) {
      return "samplesSeen \(samplesSeen) is outside 0…\(Self.maxSamplesSeen)"
    }
    if let worldSize, worldSize < 1 { return "worldSize \(worldSize) is not positive" }
    let ranks = worldSize ?? 1
    if let rankCursors, rankCursors.count != ranks {
      return "rankCursors holds \(rankCursors.count) cursors for worldSize \(ranks)"
    }
    for c in [cursor] + (rankCursors ?? []) {
      if c.epoch < 0 || c.position < 0 {
        return "sampler cursor (epoch \(c.epoch), position \(c.position)) is negative"
      }
      if c.position.multipliedReportingOverflow(by: ranks).overflow {
        return "sampler position \(c.position) × worldSize \(ranks) overflows"
      }
    }
    return nil
  }

  /// See ``CheckpointState/rng``.
  public struct RNGState: Codable, Sendable, Equatable {
    public var seed: UInt64
    public var scheme: String

    public init(seed: UInt64, scheme: String) {
      self.seed = seed
      self.scheme = scheme
    }
  }
}

/// Layout of a run directory:
///
/// ```
/// RUN/config.json        the full TrainingConfig
/// RUN/metrics.jsonl      one JSON object per step
/// RUN/step-N/            model.safetensors, optimizer.safetensors, state.json
/// RUN/latest             "step-N" (replaced atomically after the checkpoint is complete)
/// RUN/summary.json       written when the run ends (completed or interrupted)
/// ```
public struct RunDirectory: Sendable {
  /// The directory path.
  public let path: String

  public init(path: String) { self.path = path }

  public var configPath: String { path + "/config.json" }
  public var metricsPath: String { path + "/metrics.jsonl" }
  public var normalizationPath: String { path + "/normalization.json" }
  public var latestPath: String { path + "/latest" }

  /// The run's saved `normalization.json`, for `s1Channels` S1 and `s2Channels` S2 channels
  /// (`nil`: any count); missing or invalid is a `TrainingError` naming it. Checked here because
  /// the loaders index the statistics by channel: a file with fewer entries, or a zero std,
  /// would trap (or poison every value) in eval, embed and `train --resume`.
  public func loadNormalization(s1Channels: Int?, s2Channels: Int?) throws -> Normalization {
    guard let data = FileManager.default.contents(atPath: normalizationPath) else {
      throw TrainingError(
        path: normalizationPath, reason: "missing (the run's saved normalization)")
    }
    let normalization: Normalization
    do {
      normalization = try JSONDecoder().decode(Normalization.self, from: data)
    } catch {
      throw TrainingError(path: normalizationPath, reason: "invalid normalization: \(error)")
    }
    if let message = normalization.validationError(s1Channels: s1Channels, s2Channels: s2Channels) {
      throw TrainingError(path: normalizationPath, reason: "invalid normalization: \(message)")
    }
    return normalization
  }

  /// The run's `config.json`, checked like a command line: a damaged or hand-edited value
  /// (temperature 0, a window of 2^62 pixels) is a `TrainingError` naming the file, not a trap
  /// in eval or embed.
  public func loadConfig() throws -> TrainingConfig {
    let config = try TrainingConfig.load(path: configPath)
    if let message = config.validationError() {
      throw TrainingError(path: configPath, reason: "invalid run configuration: \(message)")
    }
    return config
  }
  public var summaryPath: String { path + "/summary.json" }

  /// Path of the checkpoint directory of `step`.
  public func checkpointPath(step: Int) -> String { path + "/step-\(step)" }

  /// The checkpoint `latest` points to, or nil when there is none.
  public func latestCheckpoint() throws -> (directory: String, state: CheckpointState)? {
    guard FileManager.default.fileExists(atPath: latestPath) else { return nil }
    guard let data = FileManager.default.contents(atPath: latestPath) else {
      throw TrainingError(path: latestPath, reason: "cannot read")
    }
    let name = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    guard name.hasPrefix("step-"), !name.contains("/") else {
      throw TrainingError(path: latestPath, reason: "does not name a step-N directory: '\(name)'")
    }
    let directory = path + "/" + name
    recoverReplacedCheckpoint(name)
    let statePath = directory + "/state.json"
    guard let stateData = FileManager.default.contents(atPath: statePath) else {
      throw TrainingError(path: statePath, reason: "missing (checkpoint incomplete?)")
    }
    let state: CheckpointState
    do {
      state = try JSONDecoder().decode(CheckpointState.self, from: stateData)
    } catch {
      throw TrainingError(path: statePath, reason: "invalid checkpoint state: \(error)")
    }
    if let message = state.validationError() {
      throw TrainingError(path: statePath, reason: "invalid checkpoint state: \(message)")
    }
    return (directory, state)
  }

  /// A process killed while re-writing the checkpoint `latest` names (``writeCheckpoint``
  /// moves the old `step-N` aside before moving the new one in) leaves `step-N` missing and a
  /// complete `.step-N.old-PID` (or `.step-N.tmp-PID`) beside it: put a complete one back.
  func recoverReplacedCheckpoint(_ name: String) {
    let fm = FileManager.default
    let directory = path + "/" + name
    guard !fm.fileExists(atPath: directory) else { return }
    let names = (try? fm.contentsOfDirectory(atPath: path)) ?? []
    let candidates =
      names.filter { $0.hasPrefix(".\(name).old-") }
      + names.filter { $0.hasPrefix(".\(name).tmp-") }
    for candidate in candidates
    where fm.fileExists(atPath: path + "/" + candidate + "/state.json") {
      if rename(path + "/" + candidate, directory) == 0 { return }
    }
  }

  /// Writes a checkpoint: everything goes to a temporary directory that is renamed to `step-N`
  /// once complete, then `latest` is replaced atomically. A crash at any point leaves `latest`
  /// pointing at a complete checkpoint (the previous one). Keeps the newest `keep` checkpoints.
  public func writeCheckpoint(
    step: Int, state: CheckpointState, keep: Int = 3, writeTensors: (String) throws -> Void
  ) throws -> String {
    let fm = FileManager.default
    let final = checkpointPath(step: step)
    let temporary = path + "/.step-\(step).tmp-\(getpid())"
    try? fm.removeItem(atPath: temporary)
    do {
      try fm.createDirectory(atPath: temporary, withIntermediateDirectories: true)
    } catch {
      throw TrainingError(path: temporary, reason: "cannot create checkpoint directory: \(error)")
    }
    try writeTensors(temporary)
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    try AtomicFile.write(Array(try encoder.encode(state)), to: temporary + "/state.json")
    if fm.fileExists(atPath: final) {
      // Re-writing the same step (e.g. final checkpoint = last periodic one): move the old one
      // aside first so `latest` (which may name it) never sees a half-replaced directory.
      let old = path + "/.step-\(step).old-\(getpid())"
      try? fm.removeItem(atPath: old)
      try fm.moveItem(atPath: final, toPath: old)
      try fm.moveItem(atPath: temporary, toPath: final)
      try? fm.removeItem(atPath: old)
    } else {
      guard rename(temporary, final) == 0 else {
        throw TrainingError(
          path: final, reason: "cannot rename checkpoint: \(String(cString: strerror(errno)))")
      }
    }
    try AtomicFile.write(string: "step-\(step)\n", to: latestPath)
    prune(keep: keep, current: step)
    return final
  }

  /// Steps of the complete checkpoints present, ascending.
  public func checkpointSteps() -> [Int] {
    let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
    return names.compactMap { name in
      name.hasPrefix("step-") ? Int(name.dropFirst(5)) : nil
    }.sorted()
  }

  private func prune(keep: Int, current: Int) {
    // Temporaries of processes killed mid-checkpoint (`.step-N.tmp-PID`, `.step-N.old-PID`).
    let mine = "-\(getpid())"
    for name in (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
    where name.hasPrefix(".step-") && !name.hasSuffix(mine) {
      try? FileManager.default.removeItem(atPath: path + "/" + name)
    }
    let steps = checkpointSteps().filter { $0 != current }
    guard steps.count > keep - 1 else { return }
    for s in steps.prefix(steps.count - (keep - 1)) {
      try? FileManager.default.removeItem(atPath: checkpointPath(step: s))
    }
  }

  /// Keeps only metrics lines with `step` ≤ `step` (lines written after the checkpoint a resume
  /// starts from would otherwise appear twice).
  public func truncateMetrics(after step: Int) throws {
    guard let data = FileManager.default.contents(atPath: metricsPath) else { return }
    let lines = String(decoding: data, as: UTF8.self).split(separator: "\n")
    let kept = lines.filter { line in
      guard let obj = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
        let s = obj["step"] as? Int
      else { return false }
      return s <= step
    }
    try AtomicFile.write(
      string: kept.map { $0 + "\n" }.joined(), to: metricsPath)
  }
}
