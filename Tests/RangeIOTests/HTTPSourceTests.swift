import Synchronization
import TandemBase
import TandemTestSupport
import Testing

@testable import RangeIO

/// Options that make failures fast in tests.
func fastOptions(retries: Int = 3) -> HTTPOptions {
  var o = HTTPOptions()
  o.maxRetries = retries
  o.retryBaseDelay = 0.01
  o.retryMaxDelay = 2
  o.stallTimeout = 1
  o.connectTimeout = 2
  o.probeLength = 1024
  o.ignoredRangePrefixLimit = 64 * 1024
  return o
}

func slice(_ blob: [UInt8], _ range: ByteRange) -> [UInt8] {
  Array(blob[Int(range.offset)..<Int(range.end)])
}

/// Expects `body` to throw a RangeIOError with `code`; returns it.
@discardableResult
func expectError(
  _ code: RangeIOError.Code, sourceLocation: Testing.SourceLocation = #_sourceLocation,
  _ body: () async throws -> Void
) async -> RangeIOError? {
  do {
    try await body()
    Issue.record("expected \(code) error, got success", sourceLocation: sourceLocation)
    return nil
  } catch let error as RangeIOError {
    #expect(error.code == code, "\(error)", sourceLocation: sourceLocation)
    return error
  } catch {
    Issue.record("expected RangeIOError, got \(error)", sourceLocation: sourceLocation)
    return nil
  }
}

@Suite(.timeLimit(.minutes(1))) struct HTTPSourceTests {
  static let blob = testBlob(300_000)
  let blob = HTTPSourceTests.blob
  let far = ByteRange(offset: 200_000, length: 5000)

  @Test func sizeAndRandomReadsEqualTheBlob() async throws {
    let server = try TestHTTPServer { serveRange(HTTPSourceTests.blob, $0) }
    defer { server.stop() }
    let source = HTTPSource(url: server.url("/blob"), options: fastOptions())
    #expect(try await source.size() == UInt64(blob.count))
    var rng = SeededGenerator(seed: 42)
    for _ in 0..<20 {
      let ranges = (0..<Int(rng.next() % 6 + 1)).map { _ -> ByteRange in
        let offset = rng.next() % UInt64(blob.count - 1)
        return ByteRange(
          offset: offset, length: rng.next() % min(50_000, UInt64(blob.count) - offset))
      }
      let got = try await source.read(ranges)
      #expect(got == ranges.map { slice(blob, $0) })
    }
    #expect(try await source.version() == ObjectVersion(size: UInt64(blob.count), etag: "\"v1\""))
  }

  @Test func probeBytesServeHeaderReadsAndCoalescingMergesNearbyRanges() async throws {
    let server = try TestHTTPServer { serveRange(HTTPSourceTests.blob, $0) }
    defer { server.stop() }
    var options = fastOptions()
    options.coalesceGap = 1000
    let source = HTTPSource(url: server.url("/blob"), options: options)
    // Inside the 1024-byte probe: one request total.
    #expect(
      try await source.read(ByteRange(offset: 10, length: 500))
        == slice(blob, ByteRange(offset: 10, length: 500)))
    #expect(server.requests.load(ordering: .relaxed) == 1)
    let ranges = [
      ByteRange(offset: 10_000, length: 100), ByteRange(offset: 10_500, length: 100),
      ByteRange(offset: 11_500, length: 10), ByteRange(offset: 100_000, length: 10),
    ]
    #expect(try await source.read(ranges) == ranges.map { slice(blob, $0) })
    // Three nearby ranges -> one request; the far one -> another.
    #expect(server.requests.load(ordering: .relaxed) == 3)
    #expect(Set(server.rangeHeaders.dropFirst()) == ["bytes=10000-11509", "bytes=100000-100009"])
    let stats = source.stats.snapshot
    #expect(stats.requests == 3)
    #expect(stats.bytesFetched == 1024 + 1510 + 10)
  }

  @Test func keepAliveReusesOneConnectionForSequentialReads() async throws {
    let server = try TestHTTPServer { serveRange(HTTPSourceTests.blob, $0) }
    defer { server.stop() }
    var options = fastOptions()
    options.version = .http1
    let source = HTTPSource(url: server.url("/blob"), options: options)
    for i in 0..<30 {
      let range = ByteRange(offset: UInt64(i * 9000 + 2000), length: 700)
      #expect(try await source.read(range) == slice(blob, range))
    }
    #expect(server.requests.load(ordering: .relaxed) == 31)
    #expect(server.connections.load(ordering: .relaxed) == 1)
  }

  @Test func manyConcurrentReadsFromSeveralTasks() async throws {
    let server = try TestHTTPServer { serveRange(HTTPSourceTests.blob, $0) }
    defer { server.stop() }
    var options = fastOptions()
    options.coalesceGap = nil
    let source = HTTPSource(url: server.url("/blob"), options: options)
    let ok = await withTaskGroup(of: Bool.self) { group in
      for task in 0..<8 {
        group.addTask {
          var rng = SeededGenerator(seed: 7, stream: UInt64(task))
          for _ in 0..<10 {
            let offset = rng.next() % 290_000
            let range = ByteRange(offset: offset, length: rng.next() % 9000 + 1)
            guard (try? await source.read(range)) == slice(HTTPSourceTests.blob, range) else {
              return false
            }
          }
          return true
        }
      }
      return await group.reduce(true) { $0 && $1 }
    }
    #expect(ok)
    let requests = server.requests.load(ordering: .relaxed)
    #expect(requests >= 2 && requests <= 81)
    #expect(source.stats.snapshot.requests == requests)
    // Connections are reused: far fewer than requests, at most one per transfer slot.
    #expect(server.connections.load(ordering: .relaxed) <= 16)
  }

  @Test func multiRangeRequestParsesMultipartByteranges() async throws {
    let server = try TestHTTPServer { serveRange(HTTPSourceTests.blob, $0) }
    defer { server.stop() }
    var options = fastOptions()
    options.multiRange = true
    options.coalesceGap = 0
    let source = HTTPSource(url: server.url("/blob"), options: options)
    _ = try await source.size()
    let ranges = [
      ByteRange(offset: 5000, length: 10), ByteRange(offset: 90_000, length: 300),
      ByteRange(offset: 250_000, length: 7),
    ]
    #expect(try await source.read(ranges) == ranges.map { slice(blob, $0) })
    #expect(server.requests.load(ordering: .relaxed) == 2)
    #expect(server.rangeHeaders.last == "bytes=5000-5009,90000-90299,250000-250006")
  }

  // MARK: faults

  @Test(arguments: [500, 502, 503, 504, 429, 408])
  func transientStatusesAreRetried(status: Int) async throws {
    let server = try TestHTTPServer { request in
      request.index == 1 || request.index == 2
        ? TestHTTPServer.Response(status: status, headers: [("Retry-After", "0")], body: [])
        : serveRange(HTTPSourceTests.blob, request)
    }
    defer { server.stop() }
    let source = HTTPSource(url: server.url("/blob"), options: fastOptions())
    #expect(try await source.read(far) == slice(blob, far))
    #expect(source.stats.snapshot.retries == 2)
    #expect(source.stats.snapshot.requests == 4)
  }

  @Test func retryAfterIsHonoured() async throws {
    let server = try TestHTTPServer { request in
      request.index == 0
        ? TestHTTPServer.Response(status: 429, headers: [("Retry-After", "1")], body: [])
        : serveRange(HTTPSourceTests.blob, request)
    }
    defer { server.stop() }
    let source = HTTPSource(url: server.url("/blob"), options: fastOptions())
    let start = ContinuousClock.now
    #expect(try await source.size() == UInt64(blob.count))
    #expect(ContinuousClock.now - start >= .milliseconds(950))
  }

  @Test func persistentFailureEndsWithTypedErrorAfterRetryBudget() async throws {
    let server = try TestHTTPServer { _ in
      TestHTTPServer.Response(status: 503, headers: [], body: [])
    }
    defer { server.stop() }
    let source = HTTPSource(
      url: server.url("/blob?X-Amz-Signature=TOPSECRET"), options: fastOptions(retries: 2))
    let error = await expectError(.httpStatus) { _ = try await source.size() }
    #expect(error?.httpStatus == 503)
    #expect(error?.range == ByteRange(offset: 0, length: 1024))
    #expect(error?.description.contains(server.url("/blob")) == true)
    #expect(error?.description.contains("TOPSECRET") == false)
    #expect(server.requests.load(ordering: .relaxed) == 3)
    #expect(source.stats.snapshot.failures == 1)
  }

  @Test func globalRetryBudgetIsShared() async throws {
    let server = try TestHTTPServer { _ in
      TestHTTPServer.Response(status: 500, headers: [], body: [])
    }
    defer { server.stop() }
    var options = fastOptions(retries: 10)
    options.retryBudget = RetryBudget(limit: 3)
    let a = HTTPSource(url: server.url("/a"), options: options)
    let b = HTTPSource(url: server.url("/b"), options: options)
    await expectError(.httpStatus) { _ = try await a.size() }
    await expectError(.httpStatus) { _ = try await b.size() }
    #expect(server.requests.load(ordering: .relaxed) == 5)
    #expect(options.retryBudget.available == 0)
  }

  @Test func retryBudgetIsEarnedBackBySuccesses() {
    let budget = RetryBudget(limit: 2, refillEvery: 3)
    #expect(budget.take() && budget.take())
    #expect(!budget.take())
    budget.recordSuccess()
    budget.recordSuccess()
    #expect(!budget.take())
    budget.recordSuccess()
    #expect(budget.take())
    #expect(!budget.take())
    for _ in 0..<30 { budget.recordSuccess() }
    #expect(budget.available == 2)
  }

  @Test func occasionalFailuresDoNotDrainTheBudget() async throws {
    // Every 5th request fails once: 40 reads need 10 retries, 4 times the budget, which
    // successes keep refilling.
    let server = try TestHTTPServer { request in
      request.index % 5 == 4
        ? TestHTTPServer.Response(status: 503, headers: [], body: [])
        : serveRange(HTTPSourceTests.blob, request)
    }
    defer { server.stop() }
    var options = fastOptions(retries: 2)
    options.retryBudget = RetryBudget(limit: 3, refillEvery: 2)
    let source = HTTPSource(url: server.url("/blob"), options: options)
    for i in 0..<40 {
      let range = ByteRange(offset: UInt64(20_000 + i * 1000), length: 100)
      #expect(try await source.read(range) == slice(blob, range))
    }
    #expect(source.stats.snapshot.failures == 0)
  }

  @Test func connectionResetMidBodyIsRetried() async throws {
    let server = try TestHTTPServer { request in
      var response = serveRange(HTTPSourceTests.blob, request)
      if request.index == 1 { response.resetAfter = 1000 }
      return response
    }
    defer { server.stop() }
    let source = HTTPSource(url: server.url("/blob"), options: fastOptions())
    #expect(try await source.read(far) == slice(blob, far))
    #expect(source.stats.snapshot.retries == 1)
  }

  @Test func truncatedBodyIsRetriedThenFails() async throws {
    let server = try TestHTTPServer { request in
      var response = serveRange(HTTPSourceTests.blob, request)
      if request.index >= 1 { response.truncateAfter = 100 }
      return response
    }
    defer { server.stop() }
    let source = HTTPSource(url: server.url("/blob"), options: fastOptions(retries: 2))
    let error = await expectError(.network) { _ = try await source.read(far) }
    #expect(error?.range == far)
    #expect(server.requests.load(ordering: .relaxed) == 4)
  }

  @Test func truncatedBodyOnceRecovers() async throws {
    let server = try TestHTTPServer { request in
      var response = serveRange(HTTPSourceTests.blob, request)
      if request.index == 1 { response.truncateAfter = 100 }
      return response
    }
    defer { server.stop() }
    let source = HTTPSource(url: server.url("/blob"), options: fastOptions())
    #expect(try await source.read(far) == slice(blob, far))
  }

  @Test func wrongContentRangeIsRejected() async throws {
    let server = try TestHTTPServer { request in
      var response = serveRange(HTTPSourceTests.blob, request)
      if request.index >= 1 {
        // Right length, wrong place: the bytes would be silently wrong if accepted.
        response.headers = response.headers.map {
          $0.0 == "Content-Range" ? ("Content-Range", "bytes 0-4999/300000") : $0
        }
        response.body = Array(HTTPSourceTests.blob[0..<5000])
      }
      return response
    }
    defer { server.stop() }
    let source = HTTPSource(url: server.url("/blob"), options: fastOptions())
    let error = await expectError(.badResponse) { _ = try await source.read(far) }
    #expect(error?.message.contains("bytes 0-4999") == true)
  }

  @Test func serverIgnoringRangeServesSmallPrefixAndRefusesTheRestWithoutBuffering() async throws {
    let server = try TestHTTPServer { request in
      TestHTTPServer.Response(
        status: 200, headers: [("ETag", "\"v1\"")], body: HTTPSourceTests.blob)
    }
    defer { server.stop() }
    let source = HTTPSource(url: server.url("/blob"), options: fastOptions())
    #expect(try await source.size() == UInt64(blob.count))
    let near = ByteRange(offset: 60_000, length: 4000)
    #expect(try await source.read(near) == slice(blob, near))
    let error = await expectError(.rangeNotSupported) { _ = try await source.read(far) }
    #expect(error?.range == far)
    // Only the probe was fetched (bounded by the 64 KiB prefix limit), never the whole object.
    #expect(source.stats.snapshot.bytesFetched <= 64 * 1024)
    #expect(server.requests.load(ordering: .relaxed) == 1)
  }

  @Test func serverThatStopsHonouringRangeIsHandled() async throws {
    let server = try TestHTTPServer { request in
      request.index == 0
        ? serveRange(HTTPSourceTests.blob, request)
        : TestHTTPServer.Response(
          status: 200, headers: [("ETag", "\"v1\"")], body: HTTPSourceTests.blob)
    }
    defer { server.stop() }
    let source = HTTPSource(url: server.url("/blob"), options: fastOptions())
    let near = ByteRange(offset: 30_000, length: 100)
    #expect(try await source.read(near) == slice(blob, near))
    await expectError(.rangeNotSupported) { _ = try await source.read(far) }
    #expect(source.stats.snapshot.bytesFetched <= 1024 + 30_100 + 5000)
  }

  @Test func etagChangeMidRunIsObjectChanged() async throws {
    let other = testBlob(300_000, seed: 2)
    let server = try TestHTTPServer { request in
      request.index == 0
        ? serveRange(HTTPSourceTests.blob, request, etag: "\"v1\"")
        : serveRange(other, request, etag: "\"v2\"")
    }
    defer { server.stop() }
    let source = HTTPSource(url: server.url("/blob"), options: fastOptions())
    _ = try await source.size()
    let error = await expectError(.objectChanged) { _ = try await source.read(far) }
    #expect(error?.message.contains("\"v2\"") == true)
  }

  @Test func sizeChangeWithoutValidatorsIsObjectChanged() async throws {
    let longer = HTTPSourceTests.blob + [1, 2, 3]
    let server = try TestHTTPServer { request in
      request.index == 0
        ? serveRange(HTTPSourceTests.blob, request, etag: nil)
        : serveRange(longer, request, etag: nil)
    }
    defer { server.stop() }
    let source = HTTPSource(url: server.url("/blob"), options: fastOptions())
    _ = try await source.size()
    await expectError(.objectChanged) { _ = try await source.read(far) }
  }

  @Test func stalledServerTimesOut() async throws {
    let server = try TestHTTPServer { request in
      var response = serveRange(HTTPSourceTests.blob, request)
      response.delay = 5
      return response
    }
    defer { server.stop() }
    let source = HTTPSource(url: server.url("/blob"), options: fastOptions(retries: 1))
    let start = ContinuousClock.now
    let error = await expectError(.timeout) { _ = try await source.size() }
    // The `.timeout` code is the proof (without the stall timeout the 5 s response would
    // succeed); the clock only guards against a hang, loosely, since CI machines are loaded.
    #expect(ContinuousClock.now - start < .seconds(30))
    #expect(error?.message.contains("after 1 retry") == true)
  }

  @Test func cancellingTheReaderAbortsTheTransfer() async throws {
    let server = try TestHTTPServer { request in
      var response = serveRange(HTTPSourceTests.blob, request)
      if request.index >= 1 { response.delay = 8 }
      return response
    }
    defer { server.stop() }
    var options = fastOptions()
    options.stallTimeout = 30
    let source = HTTPSource(url: server.url("/blob"), options: options)
    _ = try await source.size()
    let start = ContinuousClock.now
    let far = self.far
    let task = Task { () -> RangeIOError? in
      do throws(RangeIOError) {
        _ = try await source.read(far)
        return nil
      } catch {
        return error
      }
    }
    try await Task.sleep(for: .milliseconds(300))
    task.cancel()
    let error = await task.value
    #expect(error?.code == .cancelled)
    #expect(error?.range == far)
    // Well before the server's 8 s delay: the transfer was aborted, not waited out.
    #expect(ContinuousClock.now - start < .seconds(7))
    #expect(source.stats.snapshot.retries == 0)
  }

  @Test func redirectToAnotherPathIsFollowed() async throws {
    let server = try TestHTTPServer { request in
      request.path == "/old"
        ? TestHTTPServer.Response(status: 302, headers: [("Location", "/new")], body: [])
        : serveRange(HTTPSourceTests.blob, request)
    }
    defer { server.stop() }
    let source = HTTPSource(url: server.url("/old"), options: fastOptions())
    #expect(try await source.read(far) == slice(blob, far))
  }

  @Test func redirectToNonHTTPSchemeIsRefused() async throws {
    let server = try TestHTTPServer { _ in
      TestHTTPServer.Response(status: 302, headers: [("Location", "file:///etc/passwd")], body: [])
    }
    defer { server.stop() }
    let source = HTTPSource(url: server.url("/x"), options: fastOptions())
    await expectError(.unsupportedLocation) { _ = try await source.size() }
  }

  @Test func redirectLoopIsBounded() async throws {
    let server = try TestHTTPServer { _ in
      TestHTTPServer.Response(status: 302, headers: [("Location", "/loop")], body: [])
    }
    defer { server.stop() }
    let source = HTTPSource(url: server.url("/loop"), options: fastOptions())
    await expectError(.limitExceeded) { _ = try await source.size() }
    #expect(server.requests.load(ordering: .relaxed) == 6)
  }

  @Test(arguments: [
    (404, RangeIOError.Code.notFound), (410, .notFound), (403, .forbidden), (401, .forbidden),
    (418, .httpStatus),
  ])
  func errorStatusesMapToCodes(status: Int, code: RangeIOError.Code) async throws {
    let server = try TestHTTPServer { _ in
      TestHTTPServer.Response(status: status, headers: [], body: [])
    }
    defer { server.stop() }
    let source = HTTPSource(url: server.url("/missing.tif"), options: fastOptions())
    let error = await expectError(code) { _ = try await source.size() }
    #expect(error?.httpStatus == status)
    #expect(error?.location == server.url("/missing.tif"))
    #expect(server.requests.load(ordering: .relaxed) == 1)
  }

  @Test func outOfBoundsAndEmptyObject() async throws {
    let server = try TestHTTPServer { request in
      request.path == "/empty"
        ? TestHTTPServer.Response(status: 416, headers: [("Content-Range", "bytes */0")], body: [])
        : serveRange(HTTPSourceTests.blob, request)
    }
    defer { server.stop() }
    let empty = HTTPSource(url: server.url("/empty"), options: fastOptions())
    #expect(try await empty.size() == 0)
    #expect(try await empty.read([ByteRange(offset: 0, length: 0)]) == [[]])
    let source = HTTPSource(url: server.url("/blob"), options: fastOptions())
    await expectError(.outOfBounds) {
      _ = try await source.read(ByteRange(offset: 299_990, length: 11))
    }
  }

  /// A size past Int.max is a bad response: pinned at 2^64 - 1, it let a read of 2^63 bytes
  /// through the bounds check and into a trapping `Int(range.length)`.
  @Test(arguments: [
    (206, "Content-Range", "bytes 0-1023/18446744073709551615"),
    (200, "Content-Length", "9223372036854775808"),
  ])
  func sizeBeyondIntMaxIsBadResponse(status: Int, header: String, value: String) async throws {
    let server = try TestHTTPServer { _ in
      // 206: the 1024-byte probe; 200: more than the 64 KiB prefix limit, then close.
      TestHTTPServer.Response(
        status: status, headers: [(header, value)],
        body: Array(HTTPSourceTests.blob[0..<(status == 206 ? 1024 : 70_000)]),
        truncateAfter: status == 206 ? nil : 70_000)
    }
    defer { server.stop() }
    let source = HTTPSource(url: server.url("/huge.tif"), options: fastOptions())
    let error = await expectError(.badResponse) {
      _ = try await source.read(ByteRange(offset: 1024, length: 1 << 63))
    }
    #expect(error?.location == server.url("/huge.tif"))
    #expect(
      error?.message.contains(value.split(separator: "/").last.map(String.init) ?? "") == true)
  }

  @Test func byteSourcesOpenReturnsHTTPSource() async throws {
    let server = try TestHTTPServer { serveRange(HTTPSourceTests.blob, $0) }
    defer { server.stop() }
    let stats = IOStats()
    let source = try ByteSources.open(server.url("/blob"), options: SourceOptions(stats: stats))
    #expect(source is HTTPSource)
    #expect(try await source.read(far) == slice(blob, far))
    #expect(stats.snapshot.requests == 2)
  }
}
