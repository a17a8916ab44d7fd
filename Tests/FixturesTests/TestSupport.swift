import Foundation
import TandemBase
import Testing

@testable import Fixtures

/// A fresh temporary directory, removed by `cleanup()`.
struct TemporaryDirectory {
  let path: String

  init(_ label: String) {
    let base = FileManager.default.temporaryDirectory.path
    path = base + "/tandem-fixtures-\(label)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
  }

  func cleanup() { try? FileManager.default.removeItem(atPath: path) }
}

/// Small worlds shared by several tests (generated once per process).
enum SmallWorlds {
  /// 3 tiles (pretrain, probe-train, test; the last in UTM 32N), 128 px, 3 dates, with a flood.
  static let flood: (config: FixtureWorldConfig, dir: String, summary: FixtureWorldSummary) = {
    let config = FixtureWorldConfig(tiles: 3, size: 128, dates: 3, seed: 7, flood: true)
    let dir = TemporaryDirectory("flood").path
    let summary = try! FixtureWorld.generate(config, to: dir)
    return (config, dir, summary)
  }()
}

/// All regular files under `root`, relative paths, sorted.
func listFiles(_ root: String) -> [String] {
  let e = FileManager.default.enumerator(atPath: root)
  var out: [String] = []
  while let p = e?.nextObject() as? String {
    var isDir: ObjCBool = false
    if FileManager.default.fileExists(atPath: root + "/" + p, isDirectory: &isDir), !isDir.boolValue
    {
      out.append(p)
    }
  }
  return out.sorted()
}

/// Parses a JSON file into Foundation objects.
func loadJSON(_ path: String) throws -> [String: Any] {
  let data = try Data(contentsOf: URL(fileURLWithPath: path))
  return try JSONSerialization.jsonObject(with: data) as! [String: Any]
}

/// A minimal classic little-endian TIFF parser, independent of the writer, to check layout.
struct RawTIFF {
  struct Entry {
    var tag: Int
    var type: Int
    var count: Int
    var valueOffset: Int
    var inline: [UInt8]
  }
  struct IFD {
    var offset: Int
    var entries: [Int: Entry]
    var size: Int
  }

  let bytes: [UInt8]
  var ifds: [IFD] = []

  init(_ bytes: [UInt8]) throws {
    self.bytes = bytes
    guard bytes.count > 8, bytes[0] == 0x49, bytes[1] == 0x49, bytes[2] == 42 else {
      throw FixturesError(.encoding, reason: "not a little-endian classic TIFF")
    }
    var offset = Int(u32(4))
    var seen = Set<Int>()
    while offset != 0 {
      guard !seen.contains(offset), offset + 2 <= bytes.count else { break }
      seen.insert(offset)
      let n = Int(u16(offset))
      var entries: [Int: Entry] = [:]
      var end = offset + 2 + n * 12 + 4
      for k in 0..<n {
        let p = offset + 2 + k * 12
        let type = Int(u16(p + 2))
        let count = Int(u32(p + 4))
        let size = count * [0, 1, 1, 2, 4, 8, 1, 1, 2, 4, 8, 4, 8][type]
        let valueOffset = size <= 4 ? p + 8 : Int(u32(p + 8))
        if size > 4 { end = max(end, valueOffset + size) }
        entries[Int(u16(p))] = Entry(
          tag: Int(u16(p)), type: type, count: count, valueOffset: valueOffset,
          inline: Array(bytes[(p + 8)..<(p + 12)]))
      }
      ifds.append(IFD(offset: offset, entries: entries, size: end - offset))
      offset = Int(u32(offset + 2 + n * 12))
    }
  }

  func u16(_ p: Int) -> UInt16 { UInt16(bytes[p]) | UInt16(bytes[p + 1]) << 8 }
  func u32(_ p: Int) -> UInt32 {
    UInt32(bytes[p]) | UInt32(bytes[p + 1]) << 8 | UInt32(bytes[p + 2]) << 16
      | UInt32(bytes[p + 3]) << 24
  }

  /// Integer values of an entry (SHORT or LONG).
  func ints(_ ifd: IFD, _ tag: Int) -> [Int] {
    guard let e = ifd.entries[tag] else { return [] }
    let width = e.type == 3 ? 2 : 4
    return (0..<e.count).map { k in
      width == 2 ? Int(u16(e.valueOffset + 2 * k)) : Int(u32(e.valueOffset + 4 * k))
    }
  }

  /// ASCII value of an entry without the trailing NUL.
  func ascii(_ ifd: IFD, _ tag: Int) -> String? {
    guard let e = ifd.entries[tag], e.type == 2 else { return nil }
    return String(decoding: bytes[e.valueOffset..<(e.valueOffset + e.count - 1)], as: UTF8.self)
  }
}
