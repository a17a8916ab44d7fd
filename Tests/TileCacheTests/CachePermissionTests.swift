import Foundation
import Testing

@testable import TileCache

/// The cache holds bytes fetched with credentials: its directories are private (0700).
@Suite struct CachePermissionTests {
  func mode(_ path: String) throws -> Int {
    let attributes = try FileManager.default.attributesOfItem(atPath: path)
    return (attributes[.posixPermissions] as? Int ?? -1) & 0o777
  }

  @Test func newCacheDirectoriesArePrivate() throws {
    let parent = FileManager.default.temporaryDirectory.appendingPathComponent(
      "tandem-perm-\(UUID().uuidString)"
    ).path
    defer { try? FileManager.default.removeItem(atPath: parent) }
    let directory = parent + "/cache"
    let previous = umask(0o022)
    defer { umask(previous) }
    _ = try TileCache(directory: directory, capacity: 1 << 20)
    #expect(try mode(directory) == 0o700)
    #expect(try mode(directory + "/v1") == 0o700)
    #expect(try mode(directory + "/v1/entries") == 0o700)
    #expect(try mode(directory + "/v1/objects") == 0o700)
  }

  @Test func anExistingDirectoryKeepsItsModeButTheTreeInsideIsPrivate() throws {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
      "tandem-perm-\(UUID().uuidString)"
    ).path
    defer { try? FileManager.default.removeItem(atPath: directory) }
    try FileManager.default.createDirectory(
      atPath: directory, withIntermediateDirectories: false,
      attributes: [.posixPermissions: 0o755])
    _ = try TileCache(directory: directory, capacity: 1 << 20)
    #expect(try mode(directory) == 0o755)
    #expect(try mode(directory + "/v1") == 0o700)
  }
}
