import Foundation
import RangeIO
import STAC
import Testing

/// Loopback tests against the nginx started by `Scripts/test` (files from
/// `Scripts/integration/prepare-stac.sh`). They run once RangeIO can open http:// URLs.
enum LoopbackHTTP {
  static let base = ProcessInfo.processInfo.environment["TANDEM_TEST_HTTP"]

  static var available: Bool {
    guard let base else { return false }
    do {
      _ = try ByteSources.open(base + "/stac/paging/items1.json")
      return true
    } catch {
      return error.code != .unsupportedLocation
    }
  }
}

@Suite(.enabled(if: LoopbackHTTP.available, "needs TANDEM_TEST_HTTP and RangeIO HTTP support"))
struct HTTPLoaderTests {
  let base = LoopbackHTTP.base ?? ""

  @Test func walksStaticCatalogOverHTTP() async throws {
    let result = try await STACLoader().loadItems(
      from: base + "/stac/pystac-test-case-1/catalog.json")
    #expect(result.items.count == 8)
    #expect(result.errors.isEmpty)
    #expect(result.items.allSatisfy { $0.sourceURL?.hasPrefix(base) == true })
  }

  @Test func followsGETTokenPages() async throws {
    let result = try await STACLoader().loadItems(from: base + "/stac/paging/items1.json")
    #expect(result.items.map(\.id) == ["a", "b", "c"])
    #expect(result.pages == 3)
  }

  @Test func loopingPagesStopWithAnError() async {
    do throws(STACError) {
      _ = try await STACLoader().loadItems(from: base + "/stac/paging/loop1.json")
      Issue.record("loop not detected")
    } catch {
      #expect(error.code == .pagingLoop)
      // `token` may be a credential: messages drop it (Docs/SAFETY.md), the page stays named.
      #expect(error.description.contains("loop2.json"))
      #expect(!error.description.contains("token=1"))
    }
  }
}
