import Foundation
import Pipeline
import RangeIO
import STAC
import Testing

@testable import Evaluation

/// Windows read once in loader units and standardized per checkpoint must equal windows read
/// with that checkpoint's normalization, bit for bit (so a comparison of several checkpoints in
/// one `tandem eval` gives the same numbers as separate runs).
@Suite struct ProbeWindowSharingTests {
  @Test(arguments: [ProbeTask.landcover, .flood])
  func standardizedEqualsDirectRead(task: ProbeTask) async throws {
    let dataset = try await PairDataset.open(catalog: fixtureCatalog, options: .init())
    let items = try await STACLoader().loadItems(from: fixtureCatalog).items
    let normalization = Normalization(
      s1ToDecibels: true, s1Mean: [-11.5, -18.25], s1Std: [3.1, 2.7],
      s2Mean: [0.05, 0.07, 0.06, 0.3],
      s2Std: [0.02, 0.03, 0.04, 0.1])
    let direct = try await ProbeDatasetBuilder.build(
      task: task, dataset: dataset, items: items, normalization: normalization, windowSize: 64,
      sourceOptions: SourceOptions(), requireClearS2: task == .landcover)
    let units = try await ProbeDatasetBuilder.build(
      task: task, dataset: dataset, items: items,
      normalization: .identity(s1Channels: 2, s2Channels: 4, s1ToDecibels: true), windowSize: 64,
      sourceOptions: SourceOptions(), requireClearS2: task == .landcover, keepsInvalidAsNaN: true)
    let shared = units.standardized(with: normalization)
    #expect(shared.train.count == direct.train.count && shared.test.count == direct.test.count)
    #expect(shared.skipped == direct.skipped)
    for (a, b) in zip(shared.train + shared.test, direct.train + direct.test) {
      #expect(a.location == b.location && a.s1ID == b.s1ID && a.labels == b.labels)
      #expect(a.s1.map(\.bitPattern) == b.s1.map(\.bitPattern), "S1 of \(a.s1ID) \(a.x),\(a.y)")
      #expect(a.s2.map(\.bitPattern) == b.s2.map(\.bitPattern), "S2 of \(a.s2ID) \(a.x),\(a.y)")
    }
  }

  @Test func trainFractionKeepsWholeLocationsAndNests() {
    // Three dates of each of 10 locations.
    var train: [ProbeWindow] = []
    for date in 0..<3 {
      for i in 0..<10 {
        train.append(
          ProbeWindow(
            tile: i < 5 ? "a" : "b", s1ID: "s1-\(date)", s2ID: "s2", x: 64 * (i % 5), y: 0,
            size: 64, s1: [], s2: [], labels: []))
      }
    }
    let split = ProbeSplit(train: train, test: [], skipped: [:])
    #expect(split.trainLocations == 10)
    let half = ProbeSplit(
      train: split.subsetOfTrainLocations(fraction: 0.5, seed: 3), test: [], skipped: [:])
    #expect(half.trainLocations == 5)
    #expect(half.train.count == 15)  // every date of a chosen location
    let fifth = split.subsetOfTrainLocations(fraction: 0.2, seed: 3)
    #expect(Set(fifth.map(\.location)).isSubset(of: Set(half.train.map(\.location))))
    // Another seed, another subset (for these 10 locations and seeds 3, 4).
    let other = split.subsetOfTrainLocations(fraction: 0.5, seed: 4)
    #expect(Set(other.map(\.location)) != Set(half.train.map(\.location)))
    // A tiny fraction keeps at least one location; 1 keeps everything.
    #expect(Set(split.subsetOfTrainLocations(fraction: 0.01, seed: 3).map(\.location)).count == 1)
    #expect(split.subsetOfTrainLocations(fraction: 1, seed: 3).count == 30)
  }
}
