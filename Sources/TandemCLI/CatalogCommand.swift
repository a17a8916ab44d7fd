import CommandLineKit
import Foundation
import Pairing
import STAC
import TandemBase

/// `tandem catalog inspect|pairs|synth`: look at a STAC source and pair its S1/S2 items.
enum CatalogCommand {
  static let loadOptions: [OptionSpec] = [
    .value(
      "max-items", valueName: "n", help: "Stop loading after this many items.", default: "5000000"),
    .value(
      "max-pages", valueName: "n", help: "Follow at most this many pages of a paged collection.",
      default: "10000"),
    .value(
      "max-depth", valueName: "n", help: "Follow child/item links at most this deep.", default: "32"
    ),
    .value(
      "max-document-size", valueName: "size", help: "Refuse documents larger than this.",
      default: "512MB"),
    .value(
      "walk-concurrency", valueName: "n",
      help: "Documents fetched at once while walking a catalog.",
      default: "8"),
    .flag("no-paging", help: "Do not follow 'next' links."),
    .flag("strict", help: "Fail on the first invalid item instead of skipping it."),
  ]

  static let selectionOptions: [OptionSpec] = [
    .value(
      "bands", valueName: "list", help: "S2 bands, by name or common name.",
      default: "B02,B03,B04,B08"),
    .value("polarizations", valueName: "list", help: "S1 polarizations.", default: "VV,VH"),
    .value(
      "asset", valueName: "channel=key", help: "Use this asset key for a channel (e.g. B08=nir08).",
      repeating: true),
  ]

  static let spec = CommandSpec(
    name: "catalog", abstract: "Inspect STAC catalogs and pair Sentinel-1 with Sentinel-2 items.",
    subcommands: [inspect, pairs, search, synth])

  static let inspect = CommandSpec(
    name: "inspect",
    abstract: "Summarise a STAC item, item collection, search page or static catalog.",
    discussion:
      "SRC is a path, file:// URL or http(s):// URL. Shows items per collection, the time span, the bbox, which S1/S2 assets were found, and which items were skipped and why.",
    arguments: [ArgumentSpec("src", help: "The STAC document to start from.")],
    options: [.flag("json", help: "Print the summary as JSON.")] + loadOptions + selectionOptions
      + SearchOptions.specs + IOOptions.specs,
    run: { parsed in try await runInspect(parsed) })

  static let pairs = CommandSpec(
    name: "pairs",
    abstract: "Pair S1 and S2 items by overlap, time difference and cloud cover.",
    discussion:
      "Writes one JSON object per pair (S1 and S2 ids, dt_hours, overlap, CRS, grid status and the common footprint as a pixel window in every asset's grid) to --out (atomically) or to standard output.",
    arguments: [ArgumentSpec("src", help: "The STAC document to start from.")],
    options: [
      .value("max-days", valueName: "days", help: "Largest |Δt| between S1 and S2.", default: "3"),
      .value("max-cloud", valueName: "percent", help: "Largest S2 eo:cloud_cover.", default: "20"),
      .value(
        "min-overlap", valueName: "fraction",
        help: "Smallest shared area, as a fraction of the smaller footprint.",
        default: "0.1"),
      .value("out", valueName: "path", help: "Write pairs as JSON Lines to this file."),
      .flag("json", help: "Print the summary as JSON."),
      .flag("timings", help: "Print load and pairing times as a JSON line on standard error."),
    ] + loadOptions + selectionOptions + SearchOptions.specs + IOOptions.specs,
    run: { parsed in try await runPairs(parsed) })

  static let search = CommandSpec(
    name: "search",
    abstract: "Search a STAC API and print the items (or their ids, or S1/S2 pairs).",
    discussion:
      "URL is the API's landing page (its 'search' link is used) or its /search endpoint; search parameters in a /search URL's query string are kept (an option replaces the parameter of its name) and other query items (API keys) stay on the URL. Every page is followed through the 'next' links the server returns (GET tokens, POST bodies with 'merge'), with the shared HTTP options (retries, --header, TANDEM_AUTHORIZATION, --netrc). Items go to --out (atomically) or standard output as JSON Lines; a summary (items, pages, numberMatched) goes to standard error. A page that cannot be loaded fails the command.",
    arguments: [ArgumentSpec("url", help: "STAC API landing page or /search URL.")],
    options: [
      .value(
        "format", valueName: "items|ids|pairs",
        help: "What to print: item JSON, 'collection/id' lines, or S1/S2 pairs.", default: "items"),
      .value("out", valueName: "path", help: "Write to this file instead of standard output."),
      .value(
        "max-days", valueName: "days", help: "Pairs: largest |Δt| between S1 and S2.", default: "3"),
      .value(
        "max-cloud", valueName: "percent", help: "Pairs: largest S2 eo:cloud_cover.", default: "20"),
      .value(
        "min-overlap", valueName: "fraction", help: "Pairs: smallest shared footprint fraction.",
        default: "0.1"),
      .flag("json", help: "Print the summary as one JSON line."),
    ] + SearchOptions.specs + loadOptions + selectionOptions + IOOptions.specs,
    run: { parsed in try await runSearch(parsed) })

  static let synth = CommandSpec(
    name: "synth",
    abstract: "Write a synthetic S1/S2 item collection (for benchmarks and tests).",
    options: [
      .value("count", valueName: "n", help: "Number of items (half S1, half S2).", default: "1000"),
      .value("seed", valueName: "n", help: "Random seed.", default: "1"),
      .value("out", valueName: "path", help: "Output FeatureCollection.", required: true),
    ],
    run: { parsed in
      let count = try parsed.value("count", default: 1000)
      let seed = try parsed.value("seed", default: UInt64(1))
      guard count >= 0 else { throw parsed.usageError("--count must be non-negative") }
      let items = SyntheticCatalog.items(count: count, seed: seed)
      var bytes: [UInt8] = []
      ItemCollection(items: items).jsonValue.write(to: &bytes)
      try AtomicFile.write(bytes, to: try parsed.required("out", as: String.self))
      return ExitCode.success
    })

  // MARK: Shared

  /// The items of `src` (a document, or a STAC API search with the search options): the
  /// loader's result and the first request. A search fails on any page that cannot be loaded.
  static func loadItems(_ parsed: ParsedArguments, from src: String) async throws -> LoadResult {
    let searching = try SearchOptions.search(parsed) != nil
    let loader = try loader(parsed, failFast: searching)
    let request = try await SearchOptions.firstRequest(src, parsed: parsed, loader: loader)
    return try await loader.loadItems(from: request)
  }

  static func loader(_ parsed: ParsedArguments, failFast: Bool = false) throws -> STACLoader {
    let maxItems = try parsed.value("max-items", default: 5_000_000)
    let maxPages = try parsed.value("max-pages", default: 10_000)
    let maxDepth = try parsed.value("max-depth", default: 32)
    let concurrency = try parsed.value("walk-concurrency", default: 8)
    let size = try parsed.value("max-document-size", default: ByteSize(bytes: 512 << 20))
    guard maxItems > 0, maxPages > 0, maxDepth >= 0, concurrency > 0 else {
      throw parsed.usageError("--max-items, --max-pages and --concurrency must be positive")
    }
    let sourceOptions = try IOOptions.sourceOptions(from: parsed)
    let options = LoadOptions(
      maxDocumentBytes: Int(min(size.bytes, UInt64(Int.max))), maxDepth: maxDepth,
      maxConcurrency: concurrency, followNext: !parsed.flag("no-paging"), maxPages: maxPages,
      maxItems: maxItems, decode: DecodeOptions(skipInvalidItems: !parsed.flag("strict")),
      failFast: failFast, remote: sourceOptions.remote)
    return STACLoader(fetcher: STACDocumentFetcher(options: sourceOptions), options: options)
  }

  static func selector(_ parsed: ParsedArguments) throws -> AssetSelector {
    func list(_ name: String) -> [String] {
      (parsed.string(name) ?? "").split(separator: ",").map {
        String($0).trimmingCharacters(in: .whitespaces)
      }
      .filter { !$0.isEmpty }
    }
    var overrides: [String: String] = [:]
    for o in parsed.strings("asset") {
      let parts = o.split(separator: "=", maxSplits: 1).map(String.init)
      guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
        throw parsed.usageError(
          "invalid value '\(o)' for --asset: expected CHANNEL=KEY (e.g. B08=nir)")
      }
      overrides[parts[0]] = parts[1]
    }
    let bands = list("bands")
    let pols = list("polarizations")
    guard !bands.isEmpty, !pols.isEmpty else {
      throw parsed.usageError("--bands and --polarizations must not be empty")
    }
    return AssetSelector(rules: AssetRules(polarizations: pols, bands: bands, overrides: overrides))
  }

  static func json(_ value: some Encodable) throws -> String {
    let e = JSONEncoder()
    e.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
    return String(decoding: try e.encode(value), as: UTF8.self)
  }

  // MARK: inspect

  struct CollectionSummary: Codable {
    var items = 0
    var s1 = 0
    var s2 = 0
  }

  struct InspectSummary: Codable {
    var source: String
    var documents: Int
    var pages: Int
    var items: Int
    var duplicateItems: Int
    var invalidItems: [String]
    var collections: [String: CollectionSummary]
    var timeStart: String?
    var timeEnd: String?
    var bbox: [Double]?
    var antimeridianItems: Int
    var usable: [String: Int]
    var assets: [String: [String: Int]]
    var crs: [String: Int]
    var skipped: [String: Int]
    var skippedExamples: [String: String]
    var warnings: [String]
    var errors: [String]
    var truncated: String?

    enum CodingKeys: String, CodingKey {
      case source, documents, pages, items, collections, bbox, usable, assets, crs, skipped,
        warnings, errors, truncated
      case duplicateItems = "duplicate_items"
      case invalidItems = "invalid_items"
      case timeStart = "time_start"
      case timeEnd = "time_end"
      case antimeridianItems = "antimeridian_items"
      case skippedExamples = "skipped_examples"
    }
  }

  static func runInspect(_ parsed: ParsedArguments) async throws -> Int32 {
    let src = parsed.argument("src")!
    let selector = try selector(parsed)
    let result = try await loadItems(parsed, from: src)
    var s = InspectSummary(
      source: src, documents: result.documents, pages: result.pages, items: result.items.count,
      duplicateItems: result.duplicateItems, invalidItems: result.skippedItems.map(\.description),
      collections: [:], antimeridianItems: 0, usable: [:], assets: [:], crs: [:], skipped: [:],
      skippedExamples: [:], warnings: result.warnings.prefix(50).map(\.description),
      errors: result.errors.map(\.description), truncated: result.truncated)
    var tmin = Double.infinity
    var tmax = -Double.infinity
    var box: Rect?
    for item in result.items {
      let c = item.collection ?? "(none)"
      s.collections[c, default: CollectionSummary()].items += 1
      if let d = item.nominalDate?.timeIntervalSince1970 {
        tmin = min(tmin, (item.startDatetime ?? item.datetime)?.timeIntervalSince1970 ?? d)
        tmax = max(tmax, (item.endDatetime ?? item.datetime)?.timeIntervalSince1970 ?? d)
      }
      if let b = item.bbox {
        if b.crossesAntimeridian {
          s.antimeridianItems += 1
        } else {
          let r = Rect(minX: b.west, minY: b.south, maxX: b.east, maxY: b.north)
          box =
            box.map {
              Rect(
                minX: min($0.minX, r.minX), minY: min($0.minY, r.minY), maxX: max($0.maxX, r.maxX),
                maxY: max($0.maxY, r.maxY))
            } ?? r
        }
      }
      switch selector.select(item) {
      case .selected(let sensor, let assets):
        s.usable[sensor.rawValue, default: 0] += 1
        if sensor == .sentinel1 { s.collections[c]!.s1 += 1 } else { s.collections[c]!.s2 += 1 }
        for a in assets {
          s.assets[a.channel, default: [:]]["\(a.key) (\(a.matchedBy))", default: 0] += 1
          s.crs[a.projection.crs ?? "unknown", default: 0] += 1
        }
      case .skipped(let why):
        // Group by the reason without the per-item detail in parentheses.
        let key = why.components(separatedBy: " (").first ?? why
        s.skipped[key, default: 0] += 1
        if s.skippedExamples[key] == nil { s.skippedExamples[key] = "\(item.id): \(why)" }
      }
    }
    if tmin.isFinite {
      s.timeStart = RFC3339.format(Date(timeIntervalSince1970: tmin))
      s.timeEnd = RFC3339.format(Date(timeIntervalSince1970: tmax))
    }
    s.bbox = box?.array
    if parsed.flag("json") {
      print(try json(s))
      return ExitCode.success
    }
    var lines = ["source: \(src)"]
    lines.append("documents: \(s.documents), pages: \(s.pages)")
    lines.append(
      "items: \(s.items) (duplicates dropped: \(s.duplicateItems), invalid skipped: \(s.invalidItems.count))"
    )
    lines.append("collections:")
    for (name, c) in s.collections.sorted(by: { $0.key < $1.key }) {
      lines.append("  \(name): \(c.items) items (S1 \(c.s1), S2 \(c.s2))")
    }
    lines.append("time span: \(s.timeStart ?? "-") → \(s.timeEnd ?? "-")")
    lines.append(
      "bbox: \(s.bbox.map { "[" + $0.map { String(format: "%.4f", $0) }.joined(separator: ", ") + "]" } ?? "-")"
        + (s.antimeridianItems > 0
          ? " (+\(s.antimeridianItems) items crossing the antimeridian)" : ""))
    lines.append("usable: S1 \(s.usable["S1"] ?? 0), S2 \(s.usable["S2"] ?? 0)")
    if !s.assets.isEmpty {
      lines.append("assets found:")
      for (channel, keys) in s.assets.sorted(by: { $0.key < $1.key }) {
        lines.append(
          "  \(channel): "
            + keys.sorted { $0.key < $1.key }.map { "\($0.key) ×\($0.value)" }.joined(
              separator: ", "))
      }
      lines.append(
        "CRS: "
          + s.crs.sorted { $0.key < $1.key }.map { "\($0.key) ×\($0.value)" }.joined(
            separator: ", "))
    }
    if !s.skipped.isEmpty {
      lines.append("skipped items:")
      for (reason, n) in s.skipped.sorted(by: {
        $0.value > $1.value || ($0.value == $1.value && $0.key < $1.key)
      }) {
        lines.append("  \(n) × \(reason) — e.g. \(s.skippedExamples[reason]!)")
      }
    }
    for w in s.invalidItems.prefix(20) { lines.append("invalid item: \(w)") }
    for e in s.errors.prefix(20) { lines.append("error: \(e)") }
    if !s.warnings.isEmpty {
      lines.append("warnings: \(result.warnings.count) (first: \(s.warnings[0]))")
    }
    if let t = s.truncated { lines.append("truncated: \(t)") }
    print(lines.joined(separator: "\n"))
    return ExitCode.success
  }

  // MARK: pairs

  /// CPU time used by the process so far; on a shared machine it measures work better than the
  /// wall clock (pairing is single-threaded).
  static func processCPUSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
  }

  struct PairsSummary: Codable {
    var pairs: Int
    var aligned: Int
    var gridUnknown: Int
    var rejected: [String: Int]
    var s1Items: Int
    var s2Items: Int
    var skippedItems: Int
    var skipped: [String: Int]
    var candidates: Int
    var errors: [String]
    var truncated: String?
    var out: String?

    enum CodingKeys: String, CodingKey {
      case pairs, aligned, rejected, candidates, errors, truncated, out, skipped
      case gridUnknown = "grid_unknown"
      case s1Items = "s1_items"
      case s2Items = "s2_items"
      case skippedItems = "skipped_items"
    }
  }

  static func runPairs(_ parsed: ParsedArguments) async throws -> Int32 {
    let src = parsed.argument("src")!
    let pairer = Pairer(
      parameters: try pairingParameters(parsed, defaultCloud: 20), selector: try selector(parsed))
    let clock = ContinuousClock()
    let loadStart = clock.now
    let loadCPU = processCPUSeconds()
    let result = try await loadItems(parsed, from: src)
    let pairStart = clock.now
    let pairCPU = processCPUSeconds()
    let index = pairer.pair(result.items)
    let pairEnd = clock.now
    let pairEndCPU = processCPUSeconds()

    var out: [UInt8] = []
    out.reserveCapacity(index.pairs.count * 1600)
    for pair in index.pairs {
      pair.jsonValue.write(to: &out)
      out.append(0x0A)
    }
    let writeEnd = clock.now
    let outPath = parsed.string("out")
    if let outPath {
      try AtomicFile.write(out, to: outPath)
    } else {
      FileHandle.standardOutput.write(Data(out))
    }
    if parsed.flag("timings") {
      func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
      }
      printError(
        #"{"items":\#(result.items.count),"pairs":\#(index.pairs.count),"load_s":\#(seconds(pairStart - loadStart)),"pair_s":\#(seconds(pairEnd - pairStart)),"load_cpu_s":\#(pairCPU - loadCPU),"pair_cpu_s":\#(pairEndCPU - pairCPU),"encode_s":\#(seconds(writeEnd - pairEnd)),"candidates":\#(index.candidates)}"#
      )
    }
    var skipped: [String: Int] = [:]
    for s in index.skipped {
      skipped[s.reason.components(separatedBy: " (").first ?? s.reason, default: 0] += 1
    }
    let summary = PairsSummary(
      pairs: index.pairs.count, aligned: index.pairs.count - index.gridUnknownCount,
      gridUnknown: index.gridUnknownCount, rejected: index.rejected, s1Items: index.s1Items,
      s2Items: index.s2Items, skippedItems: index.skipped.count, skipped: skipped,
      candidates: index.candidates, errors: result.errors.map(\.description),
      truncated: result.truncated,
      out: outPath)
    let text: String
    if parsed.flag("json") {
      text = try json(summary)
    } else {
      var lines = [
        "pairs: \(summary.pairs) (aligned \(summary.aligned), grid unknown \(summary.gridUnknown))",
        "usable items: S1 \(summary.s1Items), S2 \(summary.s2Items); skipped \(summary.skippedItems)",
      ]
      for (r, n) in summary.rejected.sorted(by: { $0.key < $1.key }) {
        lines.append("rejected: \(n) × \(r)")
      }
      for (r, n) in skipped.sorted(by: {
        $0.value > $1.value || ($0.value == $1.value && $0.key < $1.key)
      }) {
        lines.append("skipped: \(n) × \(r)")
      }
      for e in summary.errors.prefix(20) { lines.append("error: \(e)") }
      if let t = summary.truncated { lines.append("truncated: \(t)") }
      if let outPath { lines.append("wrote \(outPath)") }
      text = lines.joined(separator: "\n")
    }
    // With pairs on standard output, the summary goes to standard error.
    if outPath == nil { printError(text) } else { print(text) }
    return ExitCode.success
  }

  // MARK: search

  static func runSearch(_ parsed: ParsedArguments) async throws -> Int32 {
    let url = parsed.argument("url")!
    let format = parsed.string("format") ?? "items"
    guard ["items", "ids", "pairs"].contains(format) else {
      throw parsed.usageError(
        "invalid value '\(format)' for --format: expected items, ids or pairs")
    }
    let pairer =
      format == "pairs"
      ? Pairer(
        parameters: try pairingParameters(parsed, defaultCloud: 20), selector: try selector(parsed))
      : nil
    let search = try SearchOptions.search(parsed, methodAlone: true) ?? STACSearch()
    let loader = try loader(parsed, failFast: true)
    let request = try await loader.searchRequest(
      search, at: url, method: try SearchOptions.method(parsed))
    let endpoint = request.url.split(separator: "?", maxSplits: 1).first.map(String.init) ?? ""
    let method = STACSearch.Method(rawValue: request.method) ?? .post
    let result = try await loader.loadItems(from: request)
    var out: [UInt8] = []
    var pairs = 0
    if let pairer {
      let index = pairer.pair(result.items)
      pairs = index.pairs.count
      for pair in index.pairs {
        pair.jsonValue.write(to: &out)
        out.append(0x0A)
      }
    } else {
      for item in result.items {
        if format == "ids" {
          out += Array(((item.collection.map { $0 + "/" } ?? "") + item.id).utf8)
        } else {
          item.jsonValue.write(to: &out)
        }
        out.append(0x0A)
      }
    }
    let outPath = parsed.string("out")
    if let outPath {
      try AtomicFile.write(out, to: outPath)
    } else {
      FileHandle.standardOutput.write(Data(out))
    }
    var summary: [String: Any] = [
      "endpoint": Redaction.url(endpoint), "method": method.rawValue, "items": result.items.count,
      "pages": result.pages, "duplicate_items": result.duplicateItems,
    ]
    if let matched = result.numberMatched { summary["number_matched"] = matched }
    if let truncated = result.truncated { summary["truncated"] = truncated }
    if pairer != nil { summary["pairs"] = pairs }
    if parsed.flag("json") {
      let data = try JSONSerialization.data(withJSONObject: summary, options: [.sortedKeys])
      printError(String(decoding: data, as: UTF8.self))
    } else {
      var line =
        "search: \(result.items.count) items from \(result.pages) page(s) of \(method.rawValue) \(Redaction.url(endpoint))"
      if let matched = result.numberMatched { line += " (numberMatched \(matched))" }
      if pairer != nil { line += "; \(pairs) S1/S2 pairs" }
      if let truncated = result.truncated { line += "; truncated: \(truncated)" }
      if let outPath { line += "; wrote \(outPath)" }
      printError(line)
    }
    if let matched = result.numberMatched, result.truncated == nil,
      matched != result.items.count + result.duplicateItems
    {
      printError(
        "warning: the server reported numberMatched \(matched) but returned \(result.items.count) items"
          + (result.duplicateItems > 0 ? " (and \(result.duplicateItems) duplicates)" : ""))
    }
    return ExitCode.success
  }

  /// `--max-days`, `--max-cloud`, `--min-overlap`, validated.
  static func pairingParameters(
    _ parsed: ParsedArguments, defaultCloud: Double
  ) throws -> PairingParameters {
    let maxDays = try parsed.value("max-days", default: 3.0)
    let maxCloud = try parsed.value("max-cloud", default: defaultCloud)
    let minOverlap = try parsed.value("min-overlap", default: 0.1)
    guard maxDays >= 0 else { throw parsed.usageError("--max-days must be ≥ 0") }
    guard maxCloud >= 0 else { throw parsed.usageError("--max-cloud must be ≥ 0") }
    guard (0...1).contains(minOverlap) else {
      throw parsed.usageError("--min-overlap must lie in [0, 1]")
    }
    return PairingParameters(maxDays: maxDays, maxCloud: maxCloud, minOverlap: minOverlap)
  }
}
