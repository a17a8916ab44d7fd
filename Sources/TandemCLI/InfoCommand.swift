import CommandLineKit
import Foundation
import GeoTIFF
import RangeIO

/// `tandem info PATH|URL [--json]`: what a GeoTIFF holds and whether it is a valid COG.
enum InfoCommand {
  static let spec = CommandSpec(
    name: "info", abstract: "Describe a GeoTIFF/COG: layout, codecs, overviews, CRS, COG validity.",
    arguments: [ArgumentSpec("location", help: "Path, file:// or http(s):// URL of a GeoTIFF.")],
    options: [
      .flag("json", help: "Print one JSON object instead of text."),
      .value(
        "header-size", valueName: "bytes",
        help: "First header read in bytes (e.g. STAC file:header_size).", default: "16384"),
    ] + IOOptions.specs,
    run: run)

  struct ImageReport: Codable {
    var index: Int
    var role: String
    var width: Int
    var height: Int
    var bands: Int
    var dtype: String
    var bitsPerSample: Int
    var tiled: Bool
    var blockWidth: Int
    var blockHeight: Int
    var compression: String
    var predictor: Int
    var interleave: String
    var photometric: Int
    var subIFD: Bool
  }

  struct Report: Codable {
    var location: String
    var sizeBytes: UInt64
    var bigTIFF: Bool
    var byteOrder: String
    var width: Int
    var height: Int
    var bands: Int
    var dtype: String
    var tiled: Bool
    var blockWidth: Int
    var blockHeight: Int
    var compression: String
    var predictor: Int
    var interleave: String
    var overviews: [[Int]]
    var masks: [[Int]]
    var epsg: Int?
    var rasterType: String
    var geoTransform: [Double]?
    var bounds: [Double]?
    var nodata: String?
    var gcpCount: Int
    var scales: [String: Double]
    var offsets: [String: Double]
    var cog: COGLayout
    var structuralMetadata: [String: String]?
    var headerRequests: Int
    var headerBytes: Int
    var images: [ImageReport]
  }

  static func role(_ d: COGDataset, _ i: TIFFImage) -> String {
    if i.index == d.mainIndex { return "main" }
    if i.isMask { return i.isReducedResolution ? "overview-mask" : "mask" }
    if i.isReducedResolution { return "overview" }
    return i.isSubIFD ? "subifd" : "page"
  }

  static func dtype(_ i: TIFFImage) -> String {
    i.unsupportedReason.map { "unsupported (\($0))" } ?? i.sampleType.rawValue
  }

  static func report(_ d: COGDataset) async throws -> Report {
    let m = d.mainImage
    let g = d.georeference
    let b = g.bounds(width: m.width, height: m.height).map { [$0.minX, $0.minY, $0.maxX, $0.maxY] }
    return Report(
      location: d.location, sizeBytes: d.size, bigTIFF: d.isBigTIFF,
      byteOrder: d.isLittleEndian ? "little" : "big", width: m.width, height: m.height,
      bands: m.samplesPerPixel, dtype: dtype(m), tiled: m.isTiled,
      blockWidth: m.blockWidth, blockHeight: m.blockHeight, compression: m.compressionName,
      predictor: m.predictor, interleave: m.interleave.rawValue,
      overviews: d.overviews.map { [$0.width, $0.height] },
      masks: d.masks.map { [$0.width, $0.height] }, epsg: g.epsg, rasterType: g.rasterType.rawValue,
      geoTransform: g.geoTransform, bounds: b, nodata: g.nodataText, gcpCount: g.gcpCount,
      scales: Dictionary(uniqueKeysWithValues: g.scales.map { ("\($0.key + 1)", $0.value) }),
      offsets: Dictionary(uniqueKeysWithValues: g.offsets.map { ("\($0.key + 1)", $0.value) }),
      cog: try await d.cogLayout(), structuralMetadata: d.structuralMetadata,
      headerRequests: d.headerRequests, headerBytes: d.headerBytesFetched,
      images: d.images.map {
        ImageReport(
          index: $0.index, role: role(d, $0), width: $0.width, height: $0.height,
          bands: $0.samplesPerPixel, dtype: dtype($0), bitsPerSample: $0.bitsPerSample,
          tiled: $0.isTiled, blockWidth: $0.blockWidth, blockHeight: $0.blockHeight,
          compression: $0.compressionName, predictor: $0.predictor,
          interleave: $0.interleave.rawValue, photometric: $0.photometric, subIFD: $0.isSubIFD)
      })
  }

  static func run(_ parsed: ParsedArguments) async throws -> Int32 {
    let location = parsed.argument("location")!
    let headerSize = try parsed.value("header-size", default: 16384)
    guard headerSize >= 16 else { throw parsed.usageError("--header-size must be at least 16") }
    let options = try IOOptions.sourceOptions(from: parsed)
    let r: Report
    do {
      let source = try ByteSources.open(location, options: options)
      r = try await report(COGDataset.open(source, headerSize: headerSize))
    } catch {
      // An offline miss may surface wrapped in a GeoTIFFError: list what the cache lacked.
      for line in IOOptions.offlineReport(options) { printError(line) }
      throw error
    }
    if parsed.flag("json") {
      let encoder = JSONEncoder()
      encoder.outputFormatting = [.sortedKeys]
      encoder.nonConformingFloatEncodingStrategy = .convertToString(
        positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
      print(String(decoding: try encoder.encode(r), as: UTF8.self))
      return ExitCode.success
    }
    var lines: [String] = []
    lines.append("\(r.location)")
    lines.append(
      "  size: \(r.width) × \(r.height), \(r.bands) band(s), \(r.dtype)"
        + " (\(r.sizeBytes) bytes, \(r.bigTIFF ? "BigTIFF" : "TIFF"), \(r.byteOrder)-endian)")
    lines.append(
      "  layout: \(r.tiled ? "tiled" : "striped") \(r.blockWidth) × \(r.blockHeight),"
        + " interleave \(r.interleave), compression \(r.compression), predictor \(r.predictor)")
    lines.append(
      "  overviews: "
        + (r.overviews.isEmpty
          ? "none" : r.overviews.map { "\($0[0])×\($0[1])" }.joined(separator: ", ")))
    lines.append(
      "  masks: "
        + (r.masks.isEmpty ? "none" : r.masks.map { "\($0[0])×\($0[1])" }.joined(separator: ", ")))
    lines.append("  crs: " + (r.epsg.map { "EPSG:\($0)" } ?? "unknown") + " (\(r.rasterType))")
    if let gt = r.geoTransform {
      lines.append("  geotransform: " + gt.map { "\($0)" }.joined(separator: ", "))
    }
    if let b = r.bounds {
      lines.append("  bounds: minx \(b[0]), miny \(b[1]), maxx \(b[2]), maxy \(b[3])")
    }
    if r.gcpCount > 0 { lines.append("  gcps: \(r.gcpCount)") }
    lines.append("  nodata: " + (r.nodata ?? "none"))
    if !r.scales.isEmpty || !r.offsets.isEmpty {
      let bands = Set(r.scales.keys).union(r.offsets.keys).sorted { Int($0)! < Int($1)! }
      lines.append(
        "  scale/offset: "
          + bands.map { "band \($0): \(r.scales[$0] ?? 1) / \(r.offsets[$0] ?? 0)" }.joined(
            separator: ", "))
    }
    lines.append(
      "  cog: \(r.cog.isValid ? "valid" : "not valid")"
        + " (IFDs before data: \(r.cog.ifdsBeforeData ? "yes" : "no"),"
        + " blocks ordered: \(r.cog.blocksOrdered ? "yes" : "no"),"
        + " ghost area: \(r.cog.hasGhostArea ? "yes" : "no"))")
    for e in r.cog.errors { lines.append("    error: \(e)") }
    for w in r.cog.warnings { lines.append("    warning: \(w)") }
    lines.append("  header: \(r.headerRequests) request(s), \(r.headerBytes) bytes")
    lines.append("  images:")
    for i in r.images {
      lines.append(
        "    [\(i.index)] \(i.role): \(i.width)×\(i.height)×\(i.bands) \(i.dtype)"
          + " (\(i.bitsPerSample)-bit), \(i.tiled ? "tiles" : "strips") \(i.blockWidth)×\(i.blockHeight),"
          + " \(i.compression), predictor \(i.predictor), \(i.interleave)")
    }
    print(lines.joined(separator: "\n"))
    return ExitCode.success
  }
}
