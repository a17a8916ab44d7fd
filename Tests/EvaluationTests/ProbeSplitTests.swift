import Foundation
import Pipeline
import RangeIO
import STAC
import TandemTestSupport
import Testing

@testable import Evaluation

/// The bundled world: t00, t01 pretrain; t02 probe-train; t03 test.
let fixtureCatalog = TandemCLI.packageRoot
  .appendingPathComponent("Catalogs/fixture-world/catalog.json").path

@Suite struct ProbeSplitTests {
  @Test(arguments: ProbeTask.allCases)
  func splitIsDisjointByTile(task: ProbeTask) async throws {
    let dataset = try await PairDataset.open(catalog: fixtureCatalog, options: .init())
    let items = try await STACLoader().loadItems(from: fixtureCatalog).items
    let split = try await ProbeDatasetBuilder.build(
      task: task, dataset: dataset, items: items,
      normalization: .identity(s1Channels: 2, s2Channels: 4, s1ToDecibels: true),
      windowSize: 64, sourceOptions: SourceOptions(), requireClearS2: task == .landcover)
    #expect(!split.train.isEmpty && !split.test.isEmpty)
    #expect(split.trainTiles == ["t02"])
    #expect(split.testTiles == ["t03"])
    #expect(Set(split.trainTiles).isDisjoint(with: split.testTiles))
    // Pretraining tiles never reach a probe.
    #expect(!(split.train + split.test).contains { $0.tile == "t00" || $0.tile == "t01" })
    // Windows of one pair lie on a non-overlapping grid.
    for w in split.train + split.test {
      #expect(w.x % 64 == 0 && w.y % 64 == 0 && w.size == 64)
      #expect(w.labels.count == 64 * 64 && w.s1.count == 2 * 64 * 64 && w.s2.count == 4 * 64 * 64)
    }
    let keys = (split.train + split.test).map { "\($0.s1ID)/\($0.s2ID)/\($0.x)/\($0.y)" }
    #expect(Set(keys).count == keys.count)
    // Labels are class indices or no-data.
    let classes = task.classNames.count
    #expect(
      (split.train + split.test).allSatisfy { $0.labels.allSatisfy { $0 >= -1 && $0 < classes } })
    if task == .flood {
      // Water labels of the S1 day: the flood date has more water than the others on t03.
      let water = Dictionary(grouping: split.test, by: \.s1ID).mapValues { ws in
        ws.reduce(0) { $0 + $1.labels.count { $0 == 1 } }
      }
      #expect(Set(water.values).count > 1)
    }
  }

  @Test func labelMappingAndDominantClass() {
    #expect(ProbeTask.landcover.classIndex(1) == 0)
    #expect(ProbeTask.landcover.classIndex(6) == 5)
    #expect(ProbeTask.landcover.classIndex(255) == -1)
    #expect(ProbeTask.landcover.classIndex(0) == -1)
    #expect(ProbeTask.flood.classIndex(1) == 1)
    #expect(ProbeTask.flood.classIndex(-1) == -1)
    func window(_ labels: [Int]) -> ProbeWindow {
      ProbeWindow(
        tile: "t", s1ID: "a", s2ID: "b", x: 0, y: 0, size: 2, s1: [], s2: [], labels: labels)
    }
    #expect(window([2, 2, 1, -1]).dominantClass == 2)
    #expect(window([1, 2, -1, -1]).dominantClass == 1)  // tie → smaller class
    #expect(window([3, -1, -1, -1]).dominantClass == nil)  // under half labelled
  }
}
