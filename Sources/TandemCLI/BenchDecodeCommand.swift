import CommandLineKit
import Foundation
import GeoTIFF
import Pipeline

/// `tandem bench decode`: the libtiff decode limit of the tiles a `tandem bench pipeline
/// --tiles-out` run fetched — CPU seconds for libtiff alone to decode exactly those tiles from
/// local copies of the files (bytes already in memory; and, separately, read from the files as a
/// local libtiff reader does), and for Tandem's decoder, per sample.
enum BenchDecodeCommand {
  static let spec = CommandSpec(
    name: "decode",
    abstract:
      "CPU time of libtiff and of Tandem's decoder on a pipeline run's tiles (local files).",
    arguments: [],
    options: [
      .value(
        "tiles", valueName: "file",
        help: "Tile list written by `tandem bench pipeline --tiles-out`.",
        required: true),
      .value(
        "map", valueName: "prefix=dir",
        help: "Read hrefs starting with PREFIX from DIR instead (e.g. the served directory).",
        repeating: true),
      .value("passes", valueName: "n", help: "Decode every tile this many times.", default: "1"),
    ],
    run: { parsed in try await run(parsed) })

  static func run(_ parsed: ParsedArguments) async throws -> Int32 {
    let listPath: String = try parsed.required("tiles")
    let passes = try parsed.value("passes", default: 1)
    guard passes >= 1 else { throw parsed.usageError("--passes must be positive") }
    var maps: [(prefix: String, dir: String)] = []
    for m in parsed.strings("map") {
      guard let eq = m.firstIndex(of: "="), eq != m.startIndex else {
        throw parsed.usageError("--map must look like PREFIX=DIR")
      }
      maps.append((String(m[..<eq]), String(m[m.index(after: eq)...])))
    }
    guard let text = try? String(contentsOfFile: listPath, encoding: .utf8) else {
      throw PipelineError(location: listPath, message: "cannot read the tile list")
    }
    var samples = 0
    var byFile: [String: [TileReplay.Tile]] = [:]
    for (number, line) in text.split(separator: "\n").enumerated() {
      let fields = line.split(separator: "\t").map(String.init)
      if line.hasPrefix("# samples"), fields.count == 2, let n = Int(fields[1]) {
        samples = n
        continue
      }
      guard fields.count >= 3, let ifd = UInt64(fields[1]), let strile = Int(fields[2]) else {
        throw PipelineError(
          location: "\(listPath):\(number + 1)", message: "expected href, IFD offset, tile index")
      }
      var path = fields[0]
      for m in maps where path.hasPrefix(m.prefix) {
        path = m.dir + String(path.dropFirst(m.prefix.count))
        break
      }
      byFile[path, default: []].append(TileReplay.Tile(ifdOffset: ifd, strile: strile))
    }
    var m = TileReplay.Measurement()
    for (path, tiles) in byFile.sorted(by: { $0.key < $1.key }) {
      try await TileReplay.measure(path: path, tiles: tiles, passes: passes, into: &m)
    }
    let perSample = Double(max(samples, 1)) * Double(passes)
    let json: [String: Any] = [
      "bench": "decode", "files": byFile.count, "tiles": m.tiles, "passes": passes,
      "samples": samples, "compressed_mb": Double(m.compressedBytes) / 1e6,
      "decoded_mb": Double(m.decodedBytes) / 1e6,
      "libtiff_cpu_s": (m.libtiffSeconds * 1000).rounded() / 1000,
      "tandem_decoder_cpu_s": (m.tandemSeconds * 1000).rounded() / 1000,
      "libtiff_ms_per_sample": (m.libtiffSeconds * 1e6 / perSample).rounded() / 1000,
      "libtiff_read_cpu_s": (m.libtiffReadSeconds * 1000).rounded() / 1000,
      "libtiff_read_ms_per_sample": (m.libtiffReadSeconds * 1e6 / perSample).rounded() / 1000,
      "tandem_decoder_ms_per_sample": (m.tandemSeconds * 1e6 / perSample).rounded() / 1000,
    ]
    let data = try JSONSerialization.data(withJSONObject: json, options: [.sortedKeys])
    print(String(decoding: data, as: UTF8.self))
    return ExitCode.success
  }
}
