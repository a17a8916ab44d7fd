import RangeIO
import Testing

@Suite struct SourceLocationTests {
  @Test(arguments: [
    ("/data/a b.tif", RangeIO.SourceLocation.file(path: "/data/a b.tif")),
    ("relative/x.tif", .file(path: "relative/x.tif")),
    ("file:///data/a%20b.tif", .file(path: "/data/a b.tif")),
    ("file://localhost/data/x.tif", .file(path: "/data/x.tif")),
    ("FILE:///data/%C3%A9.tif", .file(path: "/data/é.tif")),
    // A `%` that starts no escape is part of the name (it used to lose the next two characters).
    ("file:///data/100%zz.tif", .file(path: "/data/100%zz.tif")),
    ("file:///data/50%.tif", .file(path: "/data/50%.tif")),
    ("https://h/a%20b.tif?x=1", .http(url: "https://h/a%20b.tif?x=1")),
    ("HTTP://h/a.tif", .http(url: "HTTP://h/a.tif")),
  ])
  func parses(text: String, expected: RangeIO.SourceLocation) throws {
    #expect(try RangeIO.SourceLocation(text) == expected)
  }

  @Test(arguments: ["", "file://data/x.tif", "s3://bucket/key.tif", "gs://b/k"])
  func rejects(text: String) {
    #expect(throws: RangeIOError.self) { try RangeIO.SourceLocation(text) }
  }
}
