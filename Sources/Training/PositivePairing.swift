import Pipeline
import TandemBase

/// Which S1 window is the positive of each S2 window in multimodal training.
public enum PositivePairing: String, Codable, Sendable, CaseIterable {
  /// The S1 window of the same place at nearly the same time (the method).
  case aligned
  /// Negative control: every step, each S2 window's positive is the S1 window of another sample
  /// of the batch, from another place, drawn afresh (``PartnerShuffle``). No place, date or
  /// scene links the two sides, so the loss has nothing consistent to learn; encoders trained
  /// so should probe like random init. It isolates what the *pairing* contributes, where the
  /// decoupled fixture preset (S1 of another landscape, same scene otherwise) isolates the
  /// pixel-level content of the pair.
  case shuffled
}

/// The partner assignment of the shuffled-pairing control: a permutation of the batch in which no
/// S2 window keeps an S1 window of its own place when another assignment allows it.
public enum PartnerShuffle {
  /// `partners[i]` is the sample whose S1 window becomes sample `i`'s positive. A uniformly
  /// random permutation, then each sample whose partner shares its place (``PlaceMap``) swaps
  /// partners with the first sample, scanning from a random start, for which the swap leaves
  /// both without a same-place partner; each swap removes a conflict and adds none.
  /// `unresolved` counts the samples still paired within their place (only when the batch
  /// holds too few places, e.g. one tile).
  public static func partners(
    regions: [Int], places: PlaceMap, rng: inout SeededGenerator
  ) -> (partners: [Int], unresolved: Int) {
    let n = regions.count
    var p = Array(0..<n)
    p.shuffle(using: &rng)
    func conflict(_ i: Int, _ partner: Int) -> Bool {
      places.samePlace(regions[i], regions[partner])
    }
    for i in 0..<n where conflict(i, p[i]) {
      let start = n > 1 ? Int.random(in: 0..<n, using: &rng) : 0
      for k in 0..<n {
        let j = (start + k) % n
        if j != i && !conflict(i, p[j]) && !conflict(j, p[i]) {
          p.swapAt(i, j)
          break
        }
      }
    }
    // Counted at the end: a later swap can also free an earlier sample that found no partner.
    return (p, (0..<n).filter { conflict($0, p[$0]) }.count)
  }
}
