import Foundation
import Pairing
import RangeIO
import TandemTestSupport
import Testing

@testable import Pipeline

/// The pipeline's half of the fault matrix (see GeoTIFFTests/FaultMatrixTests): the bundled
/// world served over loopback HTTP, every retryable fault on the first, middle or last request
/// of opening the catalog and loading a sample (fresh) or of loading a sample once everything is
/// open (warm). The sample must equal the one read from the files.
// Serialized, like GeoTIFFTests' FaultMatrixTests (the libcurl connection cache is shared).
@Suite(.serialized, .timeLimit(.minutes(5))) struct FaultMatrixPipelineTests {
  enum Position: String, CaseIterable, Sendable { case first, middle, last }
  enum Process: String, CaseIterable, Sendable { case fresh, warm }

  static let world = TandemCLI.packageRoot.appendingPathComponent("Catalogs/fixture-world").path
  static let tree = FileTree(root: world)
  static let sample = WindowSample(region: 1, x: 37, y: 250, size: 32)
  static let warmUp = WindowSample(region: 2, x: 100, y: 10, size: 32)
  static let pairing = PairingParameters(maxDays: 3, maxCloud: 50)

  static func options(retries: Int = 3) -> SourceOptions {
    var http = HTTPOptions()
    http.maxRetries = retries
    http.retryBaseDelay = 0.01
    http.retryMaxDelay = 2
    http.stallTimeout = 2
    http.connectTimeout = 2
    http.retryBudget = RetryBudget(limit: 1000)
    return SourceOptions(http: http)
  }

  static func loader(_ catalog: String, _ options: SourceOptions) async throws -> PairLoader {
    let dataset = try await PairDataset.open(
      catalog: catalog, options: PairDatasetOptions(sourceOptions: options, pairing: pairing))
    return PairLoader(
      dataset: dataset, windowSize: 32,
      normalization: .identity(s1Channels: 2, s2Channels: 4),
      filter: WindowFilter(maxNodata: 1, maxCloud: 1), sourceOptions: options, workers: 1)
  }

  /// Runs the operation; `arm` is called with the server's request count when it starts.
  static func run(
    _ process: Process, server: TestHTTPServer, options: SourceOptions,
    arm: ((Int) -> Void)? = nil
  ) async throws -> (s1: [Float], s2: [Float], requests: Int) {
    var loader: PairLoader?
    if process == .warm {
      let warm = try await Self.loader(server.url("/catalog.json"), options)
      _ = try await warm.load(warmUp)
      loader = warm
    }
    let mark = server.requests.load(ordering: .relaxed)
    arm?(mark)
    let active: PairLoader
    if let loader {
      active = loader
    } else {
      active = try await Self.loader(server.url("/catalog.json"), options)
    }
    let (_, s1, s2) = try await active.load(sample)
    return (s1, s2, server.requests.load(ordering: .relaxed) - mark)
  }

  static func server(_ plan: FaultPlan) throws -> TestHTTPServer {
    try TestHTTPServer { request in plan.respond(request, correct: tree.respond(request)) }
  }

  @Test(arguments: InjectedFault.allCases, Process.allCases)
  func faultGivesTheSameSample(fault: InjectedFault, process: Process) async throws {
    let local = try await Self.loader(Self.world + "/catalog.json", SourceOptions())
    let (_, s1, s2) = try await local.load(Self.sample)
    let reference = try Self.server(FaultPlan())
    defer { reference.stop() }
    let clean = try await Self.run(process, server: reference, options: Self.options())
    #expect(clean.s1 == s1 && clean.s2 == s2)
    try #require(clean.requests >= 3)
    for position in Position.allCases {
      let at =
        position == .first ? 0 : position == .middle ? clean.requests / 2 : clean.requests - 1
      let plan = FaultPlan()
      let server = try Self.server(plan)
      defer { server.stop() }
      let got = try await Self.run(process, server: server, options: Self.options()) { mark in
        plan.arm(fault, atServerIndex: mark + at)
      }
      #expect(plan.injected == 1, "\(position): the fault was not injected")
      #expect(got.s1 == s1 && got.s2 == s2, "\(position)")
      #expect(got.requests == clean.requests + (fault.needsRetry ? 1 : 0), "\(position)")
    }
  }

  /// Past the retry budget the sample fails with an error naming the object, never a trap.
  @Test(arguments: [InjectedFault.status503, .resetMidBody, .truncatedBody])
  func persistentFaultIsAnError(fault: InjectedFault) async throws {
    let reference = try Self.server(FaultPlan())
    defer { reference.stop() }
    let count = try await Self.run(.warm, server: reference, options: Self.options()).requests
    let plan = FaultPlan()
    let server = try Self.server(plan)
    defer { server.stop() }
    let error = await #expect(throws: (any Error).self) {
      _ = try await Self.run(.warm, server: server, options: Self.options(retries: 2)) { mark in
        plan.arm(fault, atServerIndex: mark + count / 2, persistent: true)
      }
    }
    #expect("\(error.map { "\($0)" } ?? "")".contains(server.base), "\(String(describing: error))")
  }
}
