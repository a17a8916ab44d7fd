import Foundation
import GeoTIFF
import RangeIO
import TandemBase
import TandemTestSupport
import Testing

/// Every retryable fault × the first, middle and last request of an operation × a fresh and a
/// warm reader, for opening a COG (what `tandem info` does) and reading a window that needs
/// several requests (what `tandem read` does). The answer is the exact pixels, with the fault
/// actually injected; once the retry budget is spent it is a typed error. Issue 19: a fault on a
/// window of several requests trapped in `HTTPSource.fetchGroups`, and the fault suite only ever
/// read single ranges. (The release-binary half of the matrix is
/// `Scripts/integration/check-faults.py`; `Scripts/sanitize` runs this suite under TSan.)
// Serialized: hundreds of short-lived servers at once would crowd out the process-wide libcurl
// connection cache that the keep-alive tests of other suites count on.
@Suite(.serialized, .timeLimit(.minutes(5))) struct FaultMatrixTests {
  enum Entry: String, CaseIterable, Sendable { case open, read }
  enum Position: String, CaseIterable, Sendable { case first, middle, last }
  enum Process: String, CaseIterable, Sendable { case fresh, warm }

  struct Case: Sendable, CustomStringConvertible {
    var entry: Entry
    var process: Process
    var position: Position
    var description: String { "\(entry) \(process) \(position)" }
  }

  static let cases: [Case] = Entry.allCases.flatMap { e in
    Process.allCases.flatMap { p in
      Position.allCases.map { Case(entry: e, process: p, position: $0) }
    }
  }

  static let fileBytes =
    FileManager.default.contents(atPath: Support.fixture("pin/pin_cog.tif"))
    .map(Array.init) ?? []
  /// Three tile rows of one tile column: three separate ranged GETs with coalescing off.
  static let window = PixelWindow(x: 300, y: 100, width: 100, height: 600)
  static let warmUp = PixelWindow(x: 700, y: 700, width: 64, height: 64)

  static func options(retries: Int = 3) -> SourceOptions {
    var http = HTTPOptions()
    http.maxRetries = retries
    http.retryBaseDelay = 0.01
    http.retryMaxDelay = 2
    http.stallTimeout = 2
    http.connectTimeout = 2
    http.probeLength = 1024
    http.coalesceGap = 0
    http.retryBudget = RetryBudget(limit: 1000)
    return SourceOptions(http: http)
  }

  /// A server over the fixture whose fault plan the test arms.
  static func server(_ plan: FaultPlan) throws -> TestHTTPServer {
    try TestHTTPServer { request in
      plan.respond(request, correct: serveRange(fileBytes, request))
    }
  }

  /// Runs the case's operation against `server`, arming `plan` (when given) at the operation's
  /// `at`-th request. Returns what the operation produced and how many requests it made.
  static func run(
    _ c: Case, server: TestHTTPServer, options: SourceOptions,
    arm: ((Int) -> Void)? = nil
  ) async throws -> (output: Raster, requests: Int, stats: IOStats) {
    let url = server.url("/pin_cog.tif")
    var dataset: COGDataset?
    if c.process == .warm {
      // A warm process: the object is open and a window was read, connections are pooled.
      let ds = try await COGDataset.open(
        try ByteSources.open(url, options: options), headerSize: 1024)
      _ = try await ds.read(window: warmUp)
      dataset = ds
    }
    let mark = server.requests.load(ordering: .relaxed)
    arm?(mark)
    let output: Raster
    switch c.entry {
    case .open:
      let source = try ByteSources.open(url + "?again", options: options)
      let ds = try await COGDataset.open(source, headerSize: 1024)
      output = try await ds.read(window: PixelWindow(x: 0, y: 0, width: 16, height: 16))
    case .read:
      let ds: COGDataset
      if let dataset {
        ds = dataset
      } else {
        ds = try await COGDataset.open(
          try ByteSources.open(url, options: options), headerSize: 1024)
      }
      output = try await ds.read(window: window)
    }
    return (output, server.requests.load(ordering: .relaxed) - mark, options.stats)
  }

  static func index(_ position: Position, of count: Int) -> Int {
    switch position {
    case .first: 0
    case .middle: count / 2
    case .last: count - 1
    }
  }

  @Test(arguments: InjectedFault.allCases, cases)
  func faultGivesTheExactPixels(fault: InjectedFault, c: Case) async throws {
    let clean = FaultPlan()
    let reference = try Self.server(clean)
    defer { reference.stop() }
    let expected = try await Self.run(c, server: reference, options: Self.options())
    if c.entry == .read && c.process == .warm {
      try #require(expected.requests >= 3, "the window must need several requests")
    }
    let local = try await COGDataset.open(FileSource(path: Support.fixture("pin/pin_cog.tif")))
    let localWindow =
      c.entry == .read ? Self.window : PixelWindow(x: 0, y: 0, width: 16, height: 16)
    #expect(try await local.read(window: localWindow) == expected.output)

    let plan = FaultPlan()
    let server = try Self.server(plan)
    defer { server.stop() }
    let at = Self.index(c.position, of: expected.requests)
    let got = try await Self.run(c, server: server, options: Self.options()) { mark in
      plan.arm(fault, atServerIndex: mark + at)
    }
    #expect(plan.injected == 1, "the fault was not injected")
    #expect(got.output == expected.output)
    // The faulty answer was not taken for data: exactly one more request went out (resent by
    // Tandem's retry loop, or by libcurl itself for a reused connection dropped before it answered).
    #expect(got.requests == expected.requests + (fault.needsRetry ? 1 : 0))
  }

  /// A fault that does not go away ends in a typed error naming the object (never a trap).
  @Test(arguments: InjectedFault.allCases.filter(\.needsRetry), [Position.first, .last])
  func persistentFaultIsATypedError(fault: InjectedFault, position: Position) async throws {
    let c = Case(entry: .read, process: .warm, position: position)
    let reference = try Self.server(FaultPlan())
    defer { reference.stop() }
    let count = try await Self.run(c, server: reference, options: Self.options()).requests
    let plan = FaultPlan()
    let server = try Self.server(plan)
    defer { server.stop() }
    do {
      _ = try await Self.run(c, server: server, options: Self.options(retries: 2)) { mark in
        plan.arm(fault, atServerIndex: mark + Self.index(position, of: count), persistent: true)
      }
      Issue.record("expected an error")
    } catch let error as GeoTIFFError {
      #expect(error.code == .io, "\(error)")
      #expect(error.underlying != nil)
      #expect(error.description.contains(server.url("/pin_cog.tif")), "\(error)")
    }
    #expect(plan.injected >= 3)
  }
}
