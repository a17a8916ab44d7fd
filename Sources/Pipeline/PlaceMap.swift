import Pairing

/// Which sampling regions (S1/S2 pairs) may show the same place on the ground. The
/// shuffled-pairing control (``TrainingConfig/pairing``) must give each S2 window an S1 window of
/// *another* place; a window of the same tile on another date would still share its land cover.
///
/// Two regions are the same place when they are the same region or when their S2 items'
/// footprints share more than ``minimumSharedFraction`` of the smaller one (each region's
/// windows lie inside its S2 item's footprint, so disjoint footprints mean disjoint windows).
/// Tiles that only touch along an edge are different places.
public struct PlaceMap: Sendable {
  /// Overlap (fraction of the smaller footprint) from which two footprints are one place;
  /// above zero so that float noise along a shared tile edge does not count.
  public static let minimumSharedFraction = 1e-3

  private let footprints: [Footprint?]

  /// Every region is its own place (regions without a known footprint, e.g. procedural ones).
  public init() { footprints = [] }

  /// One footprint per region index; `nil` entries are only the same place as themselves.
  public init(footprints: [Footprint?]) { self.footprints = footprints }

  /// Whether regions `a` and `b` may show the same place.
  public func samePlace(_ a: Int, _ b: Int) -> Bool {
    if a == b { return true }
    guard a >= 0, b >= 0, a < footprints.count, b < footprints.count,
      let fa = footprints[a], let fb = footprints[b],
      fa.envelope.touches(fb.envelope)
    else { return false }
    return fa.overlapFraction(with: fb) > Self.minimumSharedFraction
  }
}
