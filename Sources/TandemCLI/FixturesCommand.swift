import CommandLineKit
import Fixtures
import Foundation

/// `tandem fixtures`: generate the procedural S1/S2 fixture world (COGs + static STAC catalog).
enum FixturesCommand {
  static let spec = CommandSpec(
    name: "fixtures",
    abstract: "Generate a procedural Sentinel-1/Sentinel-2 world as COGs with a STAC catalog.",
    discussion: """
      Writes DIR/catalog.json with collections sentinel-1-rtc, sentinel-2-l2a and labels. The \
      same options always give byte-identical files. Tile roles (pretrain, probe-train, test) \
      and per-tile seeds are recorded in every item (tandem:role, tandem:seed).
      """,
    options: [
      .value("out", short: "o", valueName: "DIR", help: "Output directory.", required: true),
      .value("tiles", valueName: "N", help: "Number of tiles (1…64).", default: "4"),
      .value("size", valueName: "PX", help: "Tile edge in 10 m pixels (64…4096).", default: "512"),
      .value(
        "dates", valueName: "K", help: "Acquisitions per sensor per tile (1…24).", default: "3"),
      .value("seed", valueName: "S", help: "World seed.", default: "42"),
      .flag("flood", help: "Add a flood event at each tile's middle Sentinel-1 date."),
      .value(
        "preset", valueName: "P", help: "Nuisance preset: base, heavy-nuisance or decoupled.",
        default: "base"),
      .value(
        "world-version", valueName: "V",
        help:
          "Appearance model: 1 (per-class spectra) or 2 (shared materials; spatial structure "
          + "carries the class, S1 water look-alikes, longer flood).",
        default: "1"),
      .flag("json", help: "Print the summary as JSON."),
      .flag("quiet", short: "q", help: "No progress lines."),
    ],
    subcommands: [FixturesCorpusCommand.spec],
    run: { parsed in
      let out: String = try parsed.required("out")
      let presetName: String = try parsed.value("preset", default: "base")
      guard let preset = WorldPreset(rawValue: presetName) else {
        throw parsed.usageError(
          "invalid value '\(presetName)' for --preset: expected one of "
            + WorldPreset.allCases.map(\.rawValue).joined(separator: ", "))
      }
      let versionValue: Int = try parsed.value("world-version", default: 1)
      guard let version = WorldVersion(rawValue: versionValue) else {
        throw parsed.usageError(
          "invalid value '\(versionValue)' for --world-version: expected 1 or 2")
      }
      let config = FixtureWorldConfig(
        tiles: try parsed.value("tiles", default: 4), size: try parsed.value("size", default: 512),
        dates: try parsed.value("dates", default: 3), seed: try parsed.value("seed", default: 42),
        flood: parsed.flag("flood"), preset: preset, version: version)
      do {
        try config.validate()
      } catch let error as FixturesError {
        throw parsed.usageError("\(error.path ?? "option"): \(error.reason)")
      }
      let quiet = parsed.flag("quiet")
      let start = Date()
      let summary = try FixtureWorld.generate(config, to: out) { line in
        if !quiet { FileHandle.standardError.write(Data((line + "\n").utf8)) }
      }
      if parsed.flag("json") {
        print(summary.json.prettyPrinted())
        return ExitCode.success
      }
      let seconds = Date().timeIntervalSince(start)
      let mb = Double(summary.totalBytes) / 1_000_000
      print(
        "wrote \(summary.files.count) files (\(String(format: "%.2f", mb)) MB) to \(out) in "
          + String(format: "%.1f", seconds) + " s")
      print(
        "items: \(summary.s1Items) S1, \(summary.s2Items) S2, \(summary.labelItems) labels; tiles: "
          + summary.tiles.map { "\($0.id) \($0.role.rawValue) EPSG:\($0.geo.epsg)" }.joined(
            separator: ", "))
      print("class      fraction  S1 VV dB  S1 VH dB   B02   B03   B04   B08   B11   B12")
      for s in summary.classStatistics {
        let name = s.landCover.name.padding(toLength: 10, withPad: " ", startingAt: 0)
        let bands = s.s2MeanReflectance.map { String(format: "%5.0f", $0) }.joined(separator: " ")
        print(
          name + String(format: " %8.3f  %8.2f  %8.2f ", s.fraction, s.s1MeanVVdB, s.s1MeanVHdB)
            + bands)
      }
      print("catalog: \(out)/catalog.json")
      return ExitCode.success
    })
}
