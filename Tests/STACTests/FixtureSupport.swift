import Foundation
import STAC

/// Locates copied fixtures inside the test bundle.
enum Fixture {
  static let root: String = {
    guard let url = Bundle.module.url(forResource: "Fixtures", withExtension: nil) else {
      fatalError("Fixtures resource missing from the test bundle")
    }
    return url.path
  }()

  /// Absolute path of a fixture, e.g. `realdata/s1/x.json`.
  static func path(_ relative: String) -> String { root + "/" + relative }

  static func bytes(_ relative: String) throws -> [UInt8] {
    Array(try Data(contentsOf: URL(fileURLWithPath: path(relative))))
  }

  /// Every file under a fixture folder, relative to the fixture root, sorted.
  static func files(
    under folder: String, suffixes: [String] = [".json", ".geojson", ".ndjson"]
  )
    -> [String]
  {
    let base = path(folder)
    guard let e = FileManager.default.enumerator(atPath: base) else { return [] }
    var out: [String] = []
    while let f = e.nextObject() as? String {
      if suffixes.contains(where: { f.hasSuffix($0) }) && !f.hasSuffix(".requests.json") {
        out.append(folder + "/" + f)
      }
    }
    return out.sorted()
  }

  /// Decodes a fixture document.
  static func decode(
    _ relative: String, options: DecodeOptions = DecodeOptions()
  ) throws
    -> (STACDocument, [STACWarning])
  {
    var d = STACDecoder(location: path(relative), options: options)
    let doc = try d.decodeDocument(bytes: try bytes(relative))
    return (doc, d.warnings)
  }
}
