import Testing

@testable import Pipeline

@Suite struct TileReadLogTests {
  @Test func countsRepeatsAndListsOnlyWhileRecording() {
    let log = TileReadLog(maxEntries: 2)
    log.recordSample()
    log.record(href: "a.tif", ifdOffset: 8, strile: 0, length: 100)
    log.record(href: "a.tif", ifdOffset: 8, strile: 1, length: 50)
    log.setRecording(true)
    log.recordSample()
    log.record(href: "a.tif", ifdOffset: 8, strile: 0, length: 100)  // again
    log.record(href: "b.tif", ifdOffset: 8, strile: 0, length: 10)
    log.record(href: "a.tif", ifdOffset: 16, strile: 0, length: 7)  // another IFD: new tile
    log.setRecording(false)
    log.record(href: "b.tif", ifdOffset: 8, strile: 0, length: 10)  // again, not listed
    let counts = log.counts
    #expect(counts == TileReadLog.Counts(samples: 2, reads: 6, repeats: 2, tileBytes: 277))
    #expect(abs(counts.repeatFraction - 2.0 / 6.0) < 1e-12)
    let (entries, samples) = log.recorded()
    #expect(samples == 1)
    #expect(entries.map(\.href) == ["a.tif", "b.tif"])  // capped at maxEntries
    let later = TileReadLog.Counts(samples: 5, reads: 10, repeats: 3, tileBytes: 300)
    #expect(
      later.since(counts) == TileReadLog.Counts(samples: 3, reads: 4, repeats: 1, tileBytes: 23))
  }
}
