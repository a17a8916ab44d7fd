/// Counts of (true class, predicted class) over labelled pixels or windows, and the metrics
/// derived from them.
///
/// Labels outside `0..<classes` (no-data, e.g. 255 or −1) are ignored by ``add(truth:prediction:)``
/// and counted in ``ignored``. All metrics are computed from the summed counts (micro over
/// samples), so a metric over a whole test set is not a mean of per-window metrics.
public struct ConfusionMatrix: Sendable, Equatable, Codable {
  /// Number of classes.
  public let classes: Int
  /// `counts[t][p]`: samples of true class `t` predicted as `p`.
  public private(set) var counts: [[Int]]
  /// Samples skipped because their true label was outside `0..<classes`.
  public private(set) var ignored = 0

  /// An empty matrix over `classes` classes.
  public init(classes: Int) {
    precondition(classes >= 1, "a confusion matrix needs at least one class")
    self.classes = classes
    counts = [[Int]](repeating: [Int](repeating: 0, count: classes), count: classes)
  }

  /// Counts one sample; a true label outside `0..<classes` is no-data and only counted in
  /// ``ignored``. A prediction outside the range is a programming error.
  public mutating func add(truth: Int, prediction: Int) {
    guard truth >= 0 && truth < classes else {
      ignored += 1
      return
    }
    precondition(prediction >= 0 && prediction < classes, "prediction \(prediction) out of range")
    counts[truth][prediction] += 1
  }

  /// Counts every pair of `truth` and `prediction` (same length).
  public mutating func add(truth: [Int], prediction: [Int]) {
    precondition(truth.count == prediction.count, "truth and prediction lengths differ")
    for i in truth.indices { add(truth: truth[i], prediction: prediction[i]) }
  }

  /// Adds another matrix's counts (same number of classes).
  public mutating func merge(_ other: ConfusionMatrix) {
    precondition(other.classes == classes, "merging matrices with different class counts")
    for t in 0..<classes { for p in 0..<classes { counts[t][p] += other.counts[t][p] } }
    ignored += other.ignored
  }

  /// Labelled samples counted (no-data excluded).
  public var total: Int { counts.reduce(0) { $0 + $1.reduce(0, +) } }

  /// Samples whose true class is `c`.
  public func support(_ c: Int) -> Int { counts[c].reduce(0, +) }

  /// Samples predicted as `c`.
  public func predicted(_ c: Int) -> Int { counts.reduce(0) { $0 + $1[c] } }

  /// Fraction of samples predicted correctly; nil when no labelled sample was counted.
  public var overallAccuracy: Double? {
    let n = total
    guard n > 0 else { return nil }
    return Double((0..<classes).reduce(0) { $0 + counts[$1][$1] }) / Double(n)
  }

  /// Recall of each class (correct / support); nil for a class with no true sample.
  public var perClassAccuracy: [Double?] {
    (0..<classes).map { c in
      let s = support(c)
      return s > 0 ? Double(counts[c][c]) / Double(s) : nil
    }
  }

  /// Mean recall over the classes that occur in the truth; nil when none does. Unlike overall
  /// accuracy it is not dominated by the frequent classes (water windows are rare).
  public var balancedAccuracy: Double? {
    let recalls = perClassAccuracy.compactMap { $0 }
    guard !recalls.isEmpty else { return nil }
    return recalls.reduce(0, +) / Double(recalls.count)
  }

  /// Intersection over union of class `c`: TP / (TP + FP + FN).
  ///
  /// Empty-mask case: when the class is neither present nor predicted (TP + FP + FN = 0) the
  /// prediction agrees perfectly with the (empty) truth, so the IoU is defined as 1.
  public func iou(_ c: Int) -> Double {
    let tp = counts[c][c]
    let denominator = support(c) + predicted(c) - tp
    return denominator == 0 ? 1 : Double(tp) / Double(denominator)
  }

  /// F1 (Dice) of class `c`: 2·TP / (2·TP + FP + FN); 1 in the empty-mask case, like ``iou(_:)``.
  public func f1(_ c: Int) -> Double {
    let tp = counts[c][c]
    let denominator = support(c) + predicted(c)
    return denominator == 0 ? 1 : Double(2 * tp) / Double(denominator)
  }

  /// Macro F1: mean of ``f1(_:)`` over the classes present in truth or prediction (nil if none).
  public var macroF1: Double? {
    let used = (0..<classes).filter { support($0) + predicted($0) > 0 }
    guard !used.isEmpty else { return nil }
    return used.map { f1($0) }.reduce(0, +) / Double(used.count)
  }
}
