import Foundation
import Testing

@testable import RangeIO

/// Reads over the loopback nginx that `Scripts/test` starts (root `$TANDEM_TEST_WORK/www`, blob
/// made by `Scripts/integration/prepare-rangeio.sh`), checked against the file and the access log.
@Suite(
  .enabled(if: ProcessInfo.processInfo.environment["TANDEM_TEST_HTTP"] != nil),
  .timeLimit(.minutes(1)))
struct ProjectNginxTests {
  @Test func bytesAndRequestCountsMatchTheFileAndTheLog() async throws {
    let env = ProcessInfo.processInfo.environment
    let path = env["TANDEM_TEST_WORK"]! + "/www/rangeio/blob.bin"
    let blob = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
    // A unique query string marks this test's requests in the shared access log.
    let tag = UUID().uuidString
    var options = fastOptions()
    options.coalesceGap = 4096
    let source = HTTPSource(
      url: env["TANDEM_TEST_HTTP"]! + "/rangeio/blob.bin?t=\(tag)", options: options)
    #expect(try await source.size() == UInt64(blob.count))
    let ranges = [
      ByteRange(offset: 100, length: 900),  // inside the probe
      ByteRange(offset: 500_000, length: 1000), ByteRange(offset: 502_000, length: 1000),  // merged
      ByteRange(offset: 2_000_000, length: 65_536),
    ]
    #expect(try await source.read(ranges) == ranges.map { slice(blob, $0) })
    #expect(source.stats.snapshot.requests == 3)
    #expect(source.stats.snapshot.bytesFetched == 1024 + 3000 + 65_536)
    if let log = env["TANDEM_TEST_NGINX_LOG"] {
      usleep(200_000)
      let lines = try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n")
      // $uri excludes the query string: count this test's ranges instead.
      let mine = lines.filter {
        $0.contains("/rangeio/blob.bin")
          && ($0.contains("\"bytes=0-1023\"") || $0.contains("\"bytes=500000-502999\"")
            || $0.contains("\"bytes=2000000-2065535\""))
      }
      #expect(mine.count == 3)
      #expect(mine.allSatisfy { $0.contains(" 206 ") })
    }
  }
}
