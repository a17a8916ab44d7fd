import Testing

@testable import RangeIO

@Suite struct HTTPHeaderLineTests {
  @Test(arguments: [
    ("HTTP/1.1 206 Partial Content\r\n", HTTPHeaderLine.status(206)),
    ("HTTP/2 429\r\n", .status(429)),
    ("HTTP/1.1 abc\r\n", .status(nil)),
    ("HTTP/1.1 99999999999999999999999 X\r\n", .status(nil)),
    ("Content-Range: bytes 0-9/100\r\n", .field(name: "content-range", value: "bytes 0-9/100")),
    ("ETag:\t\"v1\" \r\n", .field(name: "etag", value: "\"v1\"")),
    (": no name\r\n", .other),
    ("\r\n", .other),
  ])
  func lines(text: String, expected: HTTPHeaderLine) {
    #expect(HTTPHeaderLine(text) == expected)
  }
}
