/// How a trained per-pixel probe (`--probe head`, `--probe unet`) weights classes in its
/// cross-entropy.
///
/// Why: flood water is 6–10 % of the pixels of a flood-date window and, in S1, has look-alikes
/// (smooth sand, shadow). Under the plain mean the loss-optimal decoder calls fewer pixels water
/// the longer it trains — on world B of the results run 3 % predicted against 6.6 % true — and
/// water IoU then measures the probe's operating point rather than the features
/// (Docs/RESULTS.md). Sen1Floods11's own baselines weight the classes for the same reason.
public enum ClassWeighting: String, Sendable, Equatable, CaseIterable {
  /// Every labelled pixel counts the same (PyTorch's default).
  case none
  /// Inverse class frequency over the probe-train pixels, w_k = N / (C · n_k) (scikit-learn's
  /// "balanced"): each class present contributes equally to the loss.
  case balanced

  /// Per-class weights for `classes` classes from training labels (−1 = no data), or nil for
  /// `.none`. A class with no training pixel gets weight 0 (it never occurs as a label).
  public func weights(labels: [Int], classes: Int) -> [Float]? {
    guard self == .balanced else { return nil }
    var counts = [Int](repeating: 0, count: classes)
    for label in labels where label >= 0 && label < classes { counts[label] += 1 }
    let total = counts.reduce(0, +)
    let present = counts.filter { $0 > 0 }.count
    guard total > 0 else { return nil }
    return counts.map { $0 == 0 ? 0 : Float(Double(total) / (Double(present) * Double($0))) }
  }
}
