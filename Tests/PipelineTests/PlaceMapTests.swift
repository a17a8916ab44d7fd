import Foundation
import Pairing
import STAC
import Testing

@testable import Pipeline

/// Which regions count as one place for the shuffled-pairing control.
@Suite struct PlaceMapTests {
  func box(_ west: Double, _ south: Double, _ east: Double, _ north: Double) -> Footprint? {
    Footprint(bbox: BBox(west: west, south: south, east: east, north: north))
  }

  @Test func overlappingFootprintsAreOnePlaceAndTouchingOnesAreNot() {
    let places = PlaceMap(footprints: [
      box(0, 0, 1, 1),  // 0
      box(0.5, 0.5, 1.5, 1.5),  // 1: a quarter of 0
      box(1, 0, 2, 1),  // 2: shares only 0's east edge
      box(0.9995, 0, 2, 1),  // 3: shares 0.05 % of 0: below the threshold
      nil,  // 4: no footprint
      box(179, 0, -179, 1),  // 5: crosses the antimeridian
      box(-179.5, 0.5, -178, 2),  // 6: overlaps 5's western-hemisphere piece
    ])
    #expect(places.samePlace(0, 1) && places.samePlace(1, 0))
    #expect(!places.samePlace(0, 2))
    #expect(!places.samePlace(0, 3))
    #expect(places.samePlace(1, 2))
    #expect(places.samePlace(4, 4) && !places.samePlace(4, 0) && !places.samePlace(0, 4))
    #expect(places.samePlace(5, 6) && !places.samePlace(5, 0))
    // Indices beyond the map (e.g. procedural regions) are only their own place.
    #expect(places.samePlace(9, 9) && !places.samePlace(9, 10) && !places.samePlace(0, 9))
    #expect(PlaceMap().samePlace(3, 3) && !PlaceMap().samePlace(3, 4))
  }

  /// On the fixture world a place is a tile: its three dates are one place, tiles are distinct.
  @Test func fixtureWorldPlacesAreTiles() async throws {
    let d = try await fixtureWorldDataset()
    #expect(d.regions.count >= 8)
    func tile(_ i: Int) -> Substring { d.regions[i].s2ID.split(separator: "-")[1] }
    for a in d.regions.indices {
      for b in d.regions.indices {
        #expect(d.places.samePlace(a, b) == (tile(a) == tile(b)), "\(a) \(b)")
      }
    }
  }
}
