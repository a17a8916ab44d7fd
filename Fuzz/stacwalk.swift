// libFuzzer target: the STAC walk (STACLoader) over a catalog made of fuzz documents. The input
// is split at "\n@@\n" into documents; every URL the walk asks for is served one of them (chosen
// by a hash of the request, so links, `next` pages with POST bodies and `merge`, children and
// items all lead somewhere). The walk must end (within libFuzzer's timeout) with items or a
// typed STACError, never trap, and respect its page, item and depth limits.
import STAC

struct FuzzFetcher: DocumentFetcher {
  let documents: [[UInt8]]

  func fetch(_ request: DocumentRequest, maxBytes: Int) async throws(STACError) -> [UInt8] {
    var h: UInt64 = 0xcbf2_9ce4_8422_2325
    for b in request.canonicalKey.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
    let doc = documents[Int(h % UInt64(documents.count))]
    if doc.count > maxBytes {
      throw STACError(.tooLarge, location: request.url, message: "fuzz document too large")
    }
    if doc.first == UInt8(ascii: "!") {
      throw STACError(.io, location: request.url, message: "fuzz fetch failure")
    }
    return doc
  }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSTACWalk(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
  let bytes = input(data, size)
  var documents: [[UInt8]] = []
  var start = 0
  let separator = Array("\n@@\n".utf8)
  var i = 0
  while i + separator.count <= bytes.count {
    if Array(bytes[i..<(i + separator.count)]) == separator {
      documents.append(Array(bytes[start..<i]))
      i += separator.count
      start = i
    } else {
      i += 1
    }
  }
  documents.append(Array(bytes[start...]))
  let options = LoadOptions(
    maxDocumentBytes: 1 << 20, maxDepth: 6, maxConcurrency: 3, maxPages: 25, maxItems: 500,
    decode: DecodeOptions(skipInvalidItems: true))
  let loader = STACLoader(fetcher: FuzzFetcher(documents: documents), options: options)
  runBlocking {
    for start in ["https://fuzz.test/catalog.json", "/local/catalog.json"] {
      do {
        let result = try await loader.loadItems(from: start)
        precondition(result.items.count <= 500, "item limit exceeded")
        precondition(result.pages <= 25 * 64, "page limit exceeded")
      } catch {
        // STACLoader throws STACError only (typed throws); its message must render.
        _ = String(describing: error)
      }
      let search = STACSearch(collections: ["c"], limit: 10)
      if let request = try? await loader.searchRequest(search, at: start) {
        _ = try? await loader.loadItems(from: request)
      }
    }
  }
  return 0
}
