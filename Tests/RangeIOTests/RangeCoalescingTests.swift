import Foundation
import TandemBase
import Testing

@testable import RangeIO

@Suite struct RangeCoalescingTests {
  func r(_ offset: UInt64, _ length: UInt64) -> ByteRange {
    ByteRange(offset: offset, length: length)
  }

  @Test func mergesWithinGapAndKeepsFarRangesApart() {
    let groups = RangeCoalescing.plan([r(0, 10), r(15, 5), r(1000, 10)], gap: 5)
    #expect(groups.map(\.merged) == [r(0, 20), r(1000, 10)])
    #expect(groups.map(\.members) == [[0, 1], [2]])
  }

  @Test func gapOneMoreThanThresholdSplits() {
    #expect(RangeCoalescing.plan([r(0, 10), r(16, 5)], gap: 5).count == 2)
    #expect(RangeCoalescing.plan([r(0, 10), r(15, 5)], gap: 5).count == 1)
  }

  @Test func overlappingDuplicateAndUnsortedRanges() {
    let ranges = [r(50, 10), r(0, 10), r(5, 10), r(0, 10), r(52, 3)]
    let groups = RangeCoalescing.plan(ranges, gap: 0)
    #expect(groups.map(\.merged) == [r(0, 15), r(50, 10)])
    #expect(Set(groups[0].members) == [1, 2, 3])
    #expect(Set(groups[1].members) == [0, 4])
  }

  @Test func emptyRangesAreNotFetched() {
    let groups = RangeCoalescing.plan([r(5, 0), r(10, 4)], gap: 100)
    #expect(groups == [RangeCoalescing.Group(merged: r(10, 4), members: [1])])
  }

  @Test func maxLengthCapsMergedRequestsButNeverSplitsOneRange() {
    let groups = RangeCoalescing.plan(
      [r(0, 100), r(100, 100), r(200, 500)], gap: 10, maxLength: 250)
    #expect(groups.map(\.merged) == [r(0, 200), r(200, 500)])
    // maxLength 0 = no coalescing, but overlapping ranges still share one request.
    let none = RangeCoalescing.plan([r(0, 10), r(10, 10), r(2, 3)], gap: 0, maxLength: 0)
    #expect(none.map(\.merged) == [r(0, 10), r(10, 10)])
  }

  /// Random range sets: every non-empty range is served by exactly one group that contains it,
  /// groups are disjoint and sorted, and slicing a group's bytes gives the range's bytes.
  @Test(arguments: [0, 1, 2, 3, 4, 5, 6, 7] as [UInt64])
  func randomPlansSplitBackExactly(seed: UInt64) {
    var rng = SeededGenerator(seed: seed)
    let blob = (0..<5000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
    let count = Int(rng.next() % 40) + 1
    let ranges = (0..<count).map { _ -> ByteRange in
      let offset = rng.next() % 4900
      return r(offset, rng.next() % min(100, 5000 - offset))
    }
    let gap = rng.next() % 200
    let groups = RangeCoalescing.plan(ranges, gap: gap, maxLength: 1000)
    var seen = Set<Int>()
    for (g, group) in groups.enumerated() {
      if g > 0 {
        #expect(groups[g - 1].merged.end <= group.merged.offset)
      }
      let bytes = Array(blob[Int(group.merged.offset)..<Int(group.merged.end)])
      for member in group.members {
        #expect(seen.insert(member).inserted)
        #expect(group.merged.contains(ranges[member]))
        let piece = RangeCoalescing.slice(bytes, of: group.merged, range: ranges[member])
        #expect(piece == Array(blob[Int(ranges[member].offset)..<Int(ranges[member].end)]))
      }
    }
    #expect(seen == Set(ranges.indices.filter { ranges[$0].length > 0 }))
  }
}

@Suite struct HTTPParsingTests {
  @Test(
    arguments: [
      ("bytes 0-99/1000", ByteRange(offset: 0, length: 100), UInt64(1000)),
      ("bytes 5-5/6", ByteRange(offset: 5, length: 1), UInt64(6)),
      ("bytes 10-19/*", ByteRange(offset: 10, length: 10), nil),
    ] as [(String, ByteRange, UInt64?)])
  func contentRangeValid(text: String, range: ByteRange, total: UInt64?) {
    #expect(ContentRange(text) == ContentRange(range: range, total: total))
  }

  @Test(arguments: ["bytes 9-3/10", "bytes 0-10/10", "0-9/10", "bytes a-b/10", "bytes 0-9"])
  func contentRangeInvalid(text: String) {
    #expect(ContentRange(text) == nil)
  }

  /// A range spanning all 2^64 offsets has a length one more than UInt64 holds: malformed,
  /// not an overflow trap.
  @Test func contentRangeOfTwoToTheSixtyFourBytesIsMalformed() {
    #expect(ContentRange("bytes 0-18446744073709551615/*") == nil)
    #expect(ContentRange("bytes 1-18446744073709551615/*")?.range?.length == .max)
  }

  @Test func contentRangeUnsatisfied() {
    #expect(ContentRange("bytes */0") == ContentRange(range: nil, total: 0))
  }

  @Test func retryAfterSecondsAndDate() {
    #expect(parseRetryAfter("3", now: 0) == 3)
    // 784111777 = Sun, 06 Nov 1994 08:49:37 GMT
    #expect(parseRetryAfter("Sun, 06 Nov 1994 08:49:37 GMT", now: 784_111_770) == 7)
    #expect(parseRetryAfter("Sun, 06 Nov 1994 08:49:37 GMT", now: 784_111_800) == 0)
    #expect(parseRetryAfter("soon", now: 0) == nil)
  }

  /// Implausible HTTP-dates are malformed: year -2147483648 used to overflow `year - 1900`.
  @Test(arguments: [
    "Sun, 06 Nov -2147483648 08:49:37 GMT", "Sun, 06 Nov 2147483647 08:49:37 GMT",
    "Sun, 06 Nov 1899 08:49:37 GMT", "Sun, 06 Nov 10000 08:49:37 GMT",
    "Sun, 00 Nov 1994 08:49:37 GMT", "Sun, 32 Nov 1994 08:49:37 GMT",
    "Sun, 06 Nov 1994 24:49:37 GMT", "Sun, 06 Nov 1994 08:60:37 GMT",
    "Sun, 06 Nov 1994 08:49:61 GMT", "Sun, 06 Nov 1994 -2147483648:49:37 GMT",
  ])
  func retryAfterImplausibleDateIsMalformed(text: String) {
    #expect(parseRetryAfter(text, now: 0) == nil)
  }

  @Test(arguments: [
    ("https://user:pw@host/a.tif", "https://host/a.tif"),
    (
      "https://b.s3.amazonaws.com/a.tif?X-Amz-Signature=abc&X-Amz-Credential=k&versionId=3",
      "https://b.s3.amazonaws.com/a.tif?versionId=3"
    ),
    (
      "https://acct.blob.core.windows.net/c/a.tif?sv=1&se=2&sig=SECRET",
      "https://acct.blob.core.windows.net/c/a.tif"
    ),
    ("http://h/p?q=1#frag", "http://h/p?q=1"),
  ])
  func redaction(url: String, expected: String) {
    #expect(URLRedaction.redact(url) == expected)
  }

  @Test func multipartParsesPartsAndRejectsBadFraming() throws {
    let boundary = "XYZ"
    let body = Array(
      "\r\n--XYZ\r\nContent-Type: a/b\r\nContent-Range: bytes 0-2/10\r\n\r\nabc\r\n--XYZ\r\nContent-Range: bytes 7-9/10\r\n\r\nhij\r\n--XYZ--\r\n"
        .utf8)
    let parts = try #require(MultipartByteranges.parse(body, boundary: boundary))
    #expect(
      parts.map(\.range) == [ByteRange(offset: 0, length: 3), ByteRange(offset: 7, length: 3)])
    #expect(parts.map(\.bytes) == [Array("abc".utf8), Array("hij".utf8)])
    // A part shorter than its Content-Range.
    let short = Array("--XYZ\r\nContent-Range: bytes 0-5/10\r\n\r\nabc\r\n--XYZ--\r\n".utf8)
    #expect(MultipartByteranges.parse(short, boundary: boundary) == nil)
    // A part claiming (nearly) 2^64 bytes: malformed, not an Int conversion or overflow trap.
    for claim in ["bytes 0-18446744073709551614/*", "bytes 0-9223372036854775807/*"] {
      let huge = Array("--XYZ\r\nContent-Range: \(claim)\r\n\r\nabc\r\n--XYZ--\r\n".utf8)
      #expect(MultipartByteranges.parse(huge, boundary: boundary) == nil)
    }
    #expect(
      MultipartByteranges.boundary(contentType: "multipart/byteranges; boundary=\"a b\"") == "a b")
    #expect(MultipartByteranges.boundary(contentType: "text/plain") == nil)
  }
}

@Suite struct ByteRangeTests {
  @Test func absurdRangesDoNotTrap() throws {
    let huge = ByteRange(offset: .max - 1, length: 10)
    #expect(huge.end == .max)
    #expect(huge.description.hasPrefix("bytes 18446744073709551614-"))
    let path = NSTemporaryDirectory() + "tandem-byterange-\(UInt64.random(in: 0...UInt64.max))"
    #expect(FileManager.default.createFile(atPath: path, contents: Data([1, 2, 3])))
    defer { try? FileManager.default.removeItem(atPath: path) }
    let source = try FileSource(path: path)
    #expect(throws: RangeIOError.self) { _ = try source.readSync([huge]) }
  }
}
