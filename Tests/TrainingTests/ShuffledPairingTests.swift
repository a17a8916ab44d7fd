import Foundation
import NN
import Pipeline
import TandemBase
import Testing

@testable import Training

/// The shuffled-pairing negative control: partner assignment, the trainer step, the config.
@Suite(.serialized, .timeLimit(.minutes(3))) struct ShuffledPairingTests {
  /// Regions 0…n-1 are n places (no footprints).
  func check(_ regions: [Int], seed: UInt64 = 1) -> (partners: [Int], unresolved: Int) {
    var rng = SeededGenerator(seed: seed)
    let r = PartnerShuffle.partners(regions: regions, places: PlaceMap(), rng: &rng)
    #expect(r.partners.sorted() == Array(regions.indices), "a permutation of the batch")
    let conflicts = regions.indices.filter { regions[$0] == regions[r.partners[$0]] }.count
    #expect(r.unresolved == conflicts, "the count reported is the count left")
    return r
  }

  @Test func everyPositiveComesFromAnotherPlaceWhenTheBatchAllows() {
    // 64 windows from 12 places, in runs as a sampler delivers them.
    let regions = (0..<64).map { ($0 * 7 / 5) % 12 }
    for seed in UInt64(1)...20 {
      let r = check(regions, seed: seed)
      #expect(r.unresolved == 0)
    }
    // Two places, balanced: each side must take the other's windows.
    #expect(check([0, 0, 0, 1, 1, 1]).unresolved == 0)
  }

  @Test func theAssignmentIsSeededAndChangesWithTheStream() {
    let regions = Array(0..<32)
    var a = SeededGenerator(seed: 5, stream: 1)
    var b = SeededGenerator(seed: 5, stream: 1)
    var c = SeededGenerator(seed: 5, stream: 2)
    let pa = PartnerShuffle.partners(regions: regions, places: PlaceMap(), rng: &a).partners
    let pb = PartnerShuffle.partners(regions: regions, places: PlaceMap(), rng: &b).partners
    let pc = PartnerShuffle.partners(regions: regions, places: PlaceMap(), rng: &c).partners
    #expect(pa == pb)
    #expect(pa != pc)
    #expect(!regions.indices.contains { pa[$0] == $0 }, "nobody keeps its own S1 window")
  }

  @Test func tooFewPlacesAreCountedNotHidden() {
    #expect(check([3, 3, 3, 3]).unresolved == 4)
    #expect(check([7]).unresolved == 1)
    #expect(check([]).unresolved == 0)
    // Six windows of place 0 and two of place 1: at most four can change place.
    let r = check([0, 0, 0, 0, 0, 0, 1, 1], seed: 3)
    #expect(r.unresolved >= 4 && r.unresolved <= 6)
  }

  /// The trainer applies the assignment to the S1 side only: the shuffled step is the aligned
  /// step on a batch whose S1 windows were permuted by hand.
  @Test func theShuffledStepIsTheAlignedStepOnPermutedS1Windows() async throws {
    var config = tinyConfig()
    config.pairing = .shuffled
    var aligned = config
    aligned.pairing = .aligned
    let (loader, sampler) = syntheticData(config)
    let pipeline = StreamingPipeline(loader: loader, sampler: sampler)
    defer { pipeline.stop() }
    let batch = Batch(layout: loader.layout, capacity: config.batch)
    #expect(try pipeline.next(into: batch))
    var rng = SeededGenerator(seed: config.seed, stream: 0x5348_5546, 0, 0)
    let (partners, _) = PartnerShuffle.partners(
      regions: batch.samples.map(\.region), places: PlaceMap(), rng: &rng)
    #expect(partners != Array(0..<batch.count))
    let permuted = Batch(layout: loader.layout, capacity: config.batch)
    permuted.count = batch.count
    permuted.samples = batch.samples
    permuted.parts[1] = batch.parts[1]
    let row = loader.layout.elements(part: 0)
    for i in 0..<batch.count {
      permuted.parts[0].replaceSubrange(
        i * row..<(i + 1) * row, with: batch.parts[0][partners[i] * row..<(partners[i] + 1) * row])
    }
    let shuffled = ContrastiveTrainer(config: config, s2Channels: 4)
    let reference = ContrastiveTrainer(config: aligned, s2Channels: 4)
    let plain = ContrastiveTrainer(config: aligned, s2Channels: 4)
    let rs = shuffled.train(on: batch)
    let rr = reference.train(on: permuted)
    let rp = plain.train(on: batch)
    #expect(rs.loss == rr.loss)
    #expect(shuffled.parameterValues == reference.parameterValues)
    #expect(rs.loss != rp.loss)
    #expect(shuffled.shuffledPositives == batch.count && shuffled.samePlacePositives == 0)
  }

  /// Where aligned pairs are learnable the shuffled control is not: its loss stays at chance
  /// (ln B) while the aligned run's falls well below it.
  @Test func theControlHasNothingToLearn() async throws {
    var config = tinyConfig(steps: 40)
    config.batch = 8
    config.learningRate = 3e-3
    config.checkpointEvery = 100
    func lateLoss(_ c: TrainingConfig) async throws -> Double {
      let dir = temporaryRun("control-\(c.pairing.rawValue)")
      defer { try? FileManager.default.removeItem(atPath: dir) }
      _ = try await train(c, in: dir)
      let losses = try String(contentsOfFile: dir + "/metrics.jsonl", encoding: .utf8)
        .split(separator: "\n").map {
          (try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any])["loss"]
            as! Double
        }
      return losses.suffix(10).reduce(0, +) / 10
    }
    let aligned = try await lateLoss(config)
    config.pairing = .shuffled
    let shuffled = try await lateLoss(config)
    let chance = log(8.0)
    #expect(shuffled > 0.9 * chance, "shuffled \(shuffled), chance \(chance)")
    #expect(aligned < shuffled - 0.3, "aligned \(aligned), shuffled \(shuffled)")
  }

  @Test func shuffledRunsResumeExactly() async throws {
    let whole = temporaryRun("shuffled-whole")
    let split = temporaryRun("shuffled-split")
    defer { for d in [whole, split] { try? FileManager.default.removeItem(atPath: d) } }
    var config = tinyConfig(steps: 6)
    config.pairing = .shuffled
    let full = try await train(config, in: whole)
    _ = try await train(config, in: split, stopAfter: 3)
    let second = try await train(config, in: split, resume: true)
    #expect(second.weights == full.weights)
    // Resuming with the other pairing is refused and names the field.
    var other = config
    other.pairing = .aligned
    await #expect(throws: TrainingError.self) {
      _ = try await train(other, in: split, resume: true)
    }
  }

  @Test func configRecordsPairingWithoutChangingEarlierHashes() throws {
    var c = TrainingConfig()
    #expect(!c.identity.contains("pairing"))
    let old = try TrainingConfig.decode(Data("{\"batch\": 32}".utf8), source: "old.json")
    #expect(old.hash == c.hash && old.pairing == .aligned)
    let before = c.hash
    c.pairing = .shuffled
    #expect(c.hash != before)
    #expect(
      c.differences(from: TrainingConfig()) == [
        "pairing: \"aligned\" (saved) ≠ \"shuffled\" (given)"
      ])
    let back = try TrainingConfig.decode(Data(c.json().utf8), source: "config.json")
    #expect(back.pairing == .shuffled && back.hash == c.hash)
    c.mode = .simclr
    #expect(c.validationError()?.contains("--pairing shuffled") == true)
  }
}
