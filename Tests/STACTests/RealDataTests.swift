import Foundation
import STAC
import Testing

@Suite struct RealDataTests {
  static let valid =
    Fixture.files(under: "realdata/s1") + Fixture.files(under: "realdata/s2")
    + Fixture.files(under: "realdata/catalogs") + Fixture.files(under: "realdata/paging")
    + Fixture.files(under: "realdata/misc")

  @Test func fixturesWereCopied() {
    #expect(Self.valid.count > 90)
  }

  @Test(arguments: valid)
  func everyRealDocumentDecodes(_ file: String) throws {
    let (doc, _) = try Fixture.decode(file)
    switch doc {
    case .item(let item): #expect(!item.id.isEmpty)
    case .itemCollection(let c):
      #expect(c.skipped.isEmpty)
      for item in c.items { #expect(item.nominalDate != nil) }
    case .catalog(let c): #expect(!c.id.isEmpty)
    case .collection(let c): #expect(!c.id.isEmpty)
    }
  }

  /// Broken documents: (file, expected error code, expected JSON path).
  static let broken: [(String, String, String)] = [
    (
      "realdata/broken/pystac-invalid-catalog-no-stac_version.json", "missing field", "stac_version"
    ),
    ("realdata/broken/rustac-invalid-item-empty-id.json", "invalid value", "id"),
    ("realdata/broken/stac-validator/bad_item_v090.json", "missing field", "id"),
    ("realdata/broken/stac-validator/v100/bad-item.json", "missing field", "id"),
    (
      "realdata/broken/stac-validator/v100/collection-only/bad-collection.json", "missing field",
      "id"
    ),
  ]

  @Test(arguments: broken)
  func brokenDocumentsFailWithPath(_ file: String, _ code: String, _ path: String) {
    do {
      _ = try Fixture.decode(file)
      Issue.record("\(file) decoded but should fail")
    } catch let error as STACError {
      #expect(error.code.name == code)
      #expect(error.path?.description == path)
      #expect(error.location.hasSuffix(file))
      #expect(error.description.contains(file))
    } catch {
      Issue.record("unexpected error type \(error)")
    }
  }

  @Test func datetimeWithoutZoneIsLenientWithWarning() throws {
    let (doc, warnings) = try Fixture.decode(
      "realdata/broken/rustac-item-datetime-no-timezone.json")
    guard case .item(let item) = doc else { throw Unexpected.kind }
    #expect(item.datetime == RFC3339.parse("2023-06-14T11:08:44.039Z")!.date)
    #expect(warnings.count == 1)
    #expect(warnings.first?.path == "properties.datetime")
    let (_, w2) = try Fixture.decode("realdata/broken/rustac-item-start-end-no-timezone.json")
    #expect(
      w2.map(\.path) == [
        "properties.datetime", "properties.start_datetime", "properties.end_datetime",
      ])
  }

  @Test func nonConformantButReadableItemsDecode() throws {
    // The SAR-extension violations are not ours to police; the item must still be usable.
    let (doc, _) = try Fixture.decode(
      "realdata/broken/stac-validator/opera-rtc-s1-sar-item-invalid.json")
    guard case .item(let item) = doc else { throw Unexpected.kind }
    #expect(item.projection.epsg == 3031)
    #expect(item.startDatetime != nil)
  }

  @Test func serverQuirkProjBBoxStringIsIgnoredWithWarning() throws {
    let (doc, warnings) = try Fixture.decode("realdata/paging/geodes-cnes-page.json")
    guard case .itemCollection(let c) = doc else { throw Unexpected.kind }
    #expect(c.items.count == 1)
    #expect(c.items[0].projection.bbox == nil)
    #expect(warnings.contains { $0.path == "features[0].properties.proj:bbox" })
  }
}

enum Unexpected: Error { case kind }
