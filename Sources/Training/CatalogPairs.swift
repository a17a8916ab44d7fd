import Foundation
import Pairing
import Pipeline
import RangeIO
import STAC

extension TrainingConfig {
  /// Opens `catalog`'s S1/S2 pairs with this run's pairing thresholds and S2 bands (training and
  /// evaluation must agree on both). `itemFilters` restricts the items (training passes its own
  /// `--where` filters; evaluation passes none and selects tiles by role itself). Fails naming the
  /// catalog when it does not exist or yields no usable pair, listing why items were rejected.
  public func openPairs(
    catalog: String, sourceOptions: SourceOptions, itemFilters: [String] = []
  ) async throws -> PairDataset {
    if !catalog.contains("://") && !FileManager.default.fileExists(atPath: catalog) {
      throw TrainingError(path: catalog, reason: "catalog not found")
    }
    let dataset = try await PairDataset.open(
      catalog: catalog,
      options: PairDatasetOptions(
        sourceOptions: sourceOptions,
        pairing: PairingParameters(maxDays: maxDays, maxCloud: maxCloud, minOverlap: minOverlap),
        rules: AssetRules(bands: s2Bands), itemFilters: itemFilters, search: search,
        searchMethod: searchMethod))
    guard !dataset.regions.isEmpty else {
      throw PipelineError(
        location: catalog, message: "no usable S1/S2 pairs\n" + dataset.rejectionSummary)
    }
    return dataset
  }
}
