import CommandLineKit
import Foundation
import TileCache

/// `tandem cache stats|verify|clear`: inspect and maintain the tile cache.
enum CacheCommand {
  static let options: [OptionSpec] = [
    .value(
      "cache", valueName: "dir",
      help: "Cache directory (default: $XDG_CACHE_HOME/tandem or ~/.cache/tandem)."),
    .flag("json", help: "Print JSON."),
  ]

  static let spec = CommandSpec(
    name: "cache", abstract: "Inspect and maintain the on-disk tile cache.",
    subcommands: [
      CommandSpec(
        name: "stats",
        abstract:
          "Show the number of entries, bytes and objects cached, and the last run's hit rate.",
        options: options,
        run: { parsed in
          let cache = try open(parsed)
          let stats = cache.statistics()
          let last = cache.lastRun
          if parsed.flag("json") {
            var figures: [String: Any] = [
              "directory": cache.directory, "entries": stats.entries, "bytes": stats.bytes,
              "objects": stats.objects,
            ]
            if let last {
              figures["last_run"] = [
                "hits": last.hits, "misses": last.misses, "hit_rate": last.hitRate,
                "finished": last.finished,
              ]
            }
            print(json(figures))
          } else {
            print("directory: \(cache.directory)")
            print("entries:   \(stats.entries)")
            print("bytes:     \(stats.bytes)")
            print("objects:   \(stats.objects)")
            if let last {
              print(
                "last run:  \(last.hits) hit(s), \(last.misses) miss(es), hit rate "
                  + String(format: "%.3f", last.hitRate))
            }
          }
          return ExitCode.success
        }),
      CommandSpec(
        name: "verify",
        abstract: "Check every entry's checksum; delete damaged entries (exit 1 if any).",
        options: options,
        run: { parsed in
          let cache = try open(parsed)
          let report = cache.verify()
          if parsed.flag("json") {
            print(
              json([
                "checked": report.checked, "corrupt": report.corrupt,
                "stale_temporaries": report.staleTemporaries,
              ]))
          } else {
            print(
              "checked \(report.checked) entries, \(report.corrupt) corrupt (deleted), "
                + "\(report.staleTemporaries) stale temporary file(s) removed")
          }
          return report.corrupt == 0 ? ExitCode.success : ExitCode.failure
        }),
      CommandSpec(
        name: "clear", abstract: "Delete every cached entry and object record.",
        options: options,
        run: { parsed in
          let cache = try open(parsed)
          try cache.clear()
          if parsed.flag("json") {
            print(json(["cleared": cache.directory]))
          } else {
            print("cleared \(cache.directory)")
          }
          return ExitCode.success
        }),
    ])

  private static func open(_ parsed: ParsedArguments) throws -> TileCache {
    let directory =
      parsed.string("cache")
      ?? TileCache.defaultDirectory(environment: ProcessInfo.processInfo.environment)
    // The cap only matters when writing; maintenance never grows the cache.
    return try TileCache(directory: directory, capacity: .max)
  }

  private static func json(_ object: [String: Any]) -> String {
    let data = try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
    return String(decoding: data, as: UTF8.self)
  }
}
