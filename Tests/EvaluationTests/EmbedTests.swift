import Foundation
import Pipeline
import RangeIO
import STAC
import TandemBase
import TandemTestSupport
import Testing
import Training

@testable import Evaluation

/// The streaming `.npy` writer, the window grid and the geographic bounds.
@Suite struct EmbeddingPartsTests {
  static func temporaryDirectory() -> String {
    let path = NSTemporaryDirectory() + "tandem-embed-parts-\(UUID().uuidString)"
    try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
  }

  @Test func npyRowWriterPatchesTheRowCount() throws {
    let dir = Self.temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let path = dir + "/e.npy"
    let writer = try NPYRowWriter(path: path, columns: 3)
    let rows: [[Float]] = [[1, 2, 3], [4, 5, 6], [-1, 0.5, 1e-3]]
    try [rows[0], rows[1]].flatMap { $0 }.withUnsafeBufferPointer { try writer.append($0) }
    // Nothing at the destination until finished; the rows so far are in a hidden temporary.
    #expect(!FileManager.default.fileExists(atPath: path))
    try rows[2].withUnsafeBufferPointer { try writer.append($0) }
    try writer.finish()
    let array = try NPY.decode(Array(try Data(contentsOf: URL(fileURLWithPath: path))))
    #expect(array.dtype == .float32)
    #expect(array.shape == [3, 3])
    #expect(array.elements(as: Float.self) == rows.flatMap { $0 })
    #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["e.npy"])
    #expect(NPYRowWriter.header(rows: Int.max, columns: 1 << 20).count == 128)
  }

  @Test func abandonedWriterLeavesNoFile() throws {
    let dir = Self.temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    do {
      let writer = try NPYRowWriter(path: dir + "/e.npy", columns: 2)
      try [Float(1), 2].withUnsafeBufferPointer { try writer.append($0) }
      // Dropped without finish (an error in the middle of a run).
    }
    let file = try StreamingFile(path: dir + "/index.jsonl")
    try file.append(Array("{}\n".utf8))
    file.abandon()
    #expect(try FileManager.default.contentsOfDirectory(atPath: dir).isEmpty)
  }

  @Test(arguments: [(32, 32), (32, 48), (64, 16), (320, 7)])
  func gridCoversEachRegion(size: Int, stride: Int) {
    let regions = [(320, 320), (100, 40), (10, 500), (331, 64)].map { (width: $0.0, height: $0.1) }
    var grid = GridSamples(regions: regions, size: size, stride: stride)
    var samples: [WindowSample] = []
    while let s = grid.next() { samples.append(s) }
    var expected = 0
    for r in regions where r.width >= size && r.height >= size {
      expected += ((r.width - size) / stride + 1) * ((r.height - size) / stride + 1)
    }
    #expect(samples.count == expected)
    for s in samples {
      let r = regions[s.region]
      #expect(s.x >= 0 && s.y >= 0 && s.x + size <= r.width && s.y + size <= r.height)
      #expect(s.x % stride == 0 && s.y % stride == 0 && s.size == size)
    }
    #expect(Set(samples.map { "\($0.region)/\($0.x)/\($0.y)" }).count == samples.count)
  }

  @Test func geographicBounds() throws {
    // UTM 31N: easting 500000 on the equator is (3°E, 0°).
    let b = try #require(
      GeographicBounds.wgs84([500_000, 0, 500_000, 0], epsg: GeographicBounds.epsg("EPSG:32631")))
    #expect(abs(b[0] - 3) < 1e-9 && abs(b[1]) < 1e-9)
    #expect(GeographicBounds.wgs84([1, 2, 3, 4], epsg: 4326) == [1, 2, 3, 4])
    #expect(GeographicBounds.wgs84([1, 2, 3, 4], epsg: 3857) == nil)
    #expect(GeographicBounds.epsg("epsg:32733") == 32733)
    #expect(GeographicBounds.epsg("OGC:CRS84") == nil)
  }
}

/// `tandem embed` on the bundled world with a tiny trained run.
@Suite(.serialized, .enabled(if: TandemCLI.binary != nil))
struct EmbedCLITests {
  /// One tiny run shared by the tests (trained once per process).
  static let run: Result<String, TrainFailure> = {
    let path = NSTemporaryDirectory() + "tandem-embed-run-\(UUID().uuidString)"
    do {
      let r = try TandemCLI.run([
        "train", "--catalog", fixtureCatalog, "--model", "tiny", "--size", "32", "--batch", "8",
        "--steps", "12", "--warmup", "2", "--blas-threads", "1", "--seed", "3", "--out", path,
        "--quiet",
      ])
      return r.status == 0 ? .success(path) : .failure(TrainFailure(message: r.stderr))
    } catch {
      return .failure(TrainFailure(message: "\(error)"))
    }
  }()

  struct TrainFailure: Error { var message: String }

  static func temporaryDirectory() -> String {
    NSTemporaryDirectory() + "tandem-embed-\(UUID().uuidString)"
  }

  @Test func rowsMatchIndexAndFrozenEncoderFeatures() async throws {
    let run = try Self.run.get()
    let out = Self.temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: out) }
    // Stride 64 (a sparser grid) and batch 5 (partial last batches) keep it quick.
    let r = try TandemCLI.run([
      "embed", "--checkpoint", run, "--catalog", fixtureCatalog, "--out", out, "--stride", "64",
      "--batch", "5", "--blas-threads", "1", "--quiet",
    ])
    try #require(r.status == 0, "\(r.stderr)")
    #expect(r.stdout.contains("rows × 32 features (s1+s2, 32 px, stride 64)"))
    // Only the final files: no temporary left behind.
    #expect(
      Set(try FileManager.default.contentsOfDirectory(atPath: out))
        == ["embeddings-s1.npy", "embeddings-s2.npy", "index.jsonl", "summary.json"])

    let s1 = try NPY.decode(
      Array(try Data(contentsOf: URL(fileURLWithPath: out + "/embeddings-s1.npy"))))
    let s2 = try NPY.decode(
      Array(try Data(contentsOf: URL(fileURLWithPath: out + "/embeddings-s2.npy"))))
    let lines = try String(contentsOfFile: out + "/index.jsonl", encoding: .utf8)
      .split(separator: "\n").map { line in
        try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
      }
    let summary = try JSONDecoder().decode(
      EmbeddingSummary.self, from: try Data(contentsOf: URL(fileURLWithPath: out + "/summary.json"))
    )
    let n = lines.count
    #expect(n > 50)
    #expect(s1.shape == [n, 32] && s2.shape == [n, 32])
    #expect(summary.rows == n)
    #expect(summary.rows + summary.skipped.values.reduce(0, +) == summary.windows)
    // 8 pairs of 320×320 S1 pixels, 5×5 windows of 32 px at stride 64.
    #expect(summary.windows == 8 * 25 && summary.pairs == 8)
    #expect(lines.enumerated().allSatisfy { i, l in l["row"] as? Int == i })

    // Bounds lie inside the S1 item's bbox (and the CRS bounds are size × 10 m wide).
    let items = try await STACLoader().loadItems(from: fixtureCatalog).items
    var byID: [String: Item] = [:]
    for item in items { byID[item.id] = item }
    for l in lines {
      let item = try #require(byID[l["s1"] as? String ?? ""])
      let bbox = try #require(item.bbox)
      let b = try #require(l["bounds"] as? [Double])
      let eps = 1e-6
      #expect(
        b[0] >= bbox.west - eps && b[2] <= bbox.east + eps && b[1] >= bbox.south - eps
          && b[3] <= bbox.north + eps && b[0] < b[2] && b[1] < b[3], "\(l)")
      let native = try #require(l["crs_bounds"] as? [Double])
      #expect(abs(native[2] - native[0] - 320) < 1e-6 && abs(native[3] - native[1] - 320) < 1e-6)
      #expect(l["tile"] as? String != nil && l["crs"] as? String != nil)
    }

    // A window's rows equal the pooled features the eval probes compute directly.
    let config = try TrainingConfig.load(path: run + "/config.json")
    let dataset = try await config.openPairs(
      catalog: fixtureCatalog, sourceOptions: SourceOptions())
    let normalization = try JSONDecoder().decode(
      Normalization.self,
      from: try Data(contentsOf: URL(fileURLWithPath: run + "/normalization.json")))
    let loader = PairLoader(
      dataset: dataset, windowSize: 32, normalization: normalization,
      sourceOptions: SourceOptions(), workers: 1)
    let encoders = try [Modality.s1, .s2].map {
      try FrozenEncoder.load(runDirectory: run, modality: $0)
    }
    let rowsS1 = s1.elements(as: Float.self)
    let rowsS2 = s2.elements(as: Float.self)
    for row in [0, 1, n / 2, n - 1] {
      let l = lines[row]
      let pair = try #require(l["pair"] as? Int)
      let geometry = try #require(PairGeometry(region: dataset.regions[pair], index: dataset.index))
      let x = try #require(l["x"] as? Int) - geometry.column
      let y = try #require(l["y"] as? Int) - geometry.row
      let sample = WindowSample(region: pair, x: x, y: y, size: 32)
      var a = [Float](repeating: 0, count: 2 * 32 * 32)
      var b = [Float](repeating: 0, count: 4 * 32 * 32)
      let fetched = try await loader.fetch(sample)
      let verdict = try a.withUnsafeMutableBufferPointer { pa in
        try b.withUnsafeMutableBufferPointer { pb in
          try loader.decode(fetched, sample: sample, worker: 0, into: [pa, pb])
        }
      }
      #expect(verdict == .accepted)
      let window = ProbeWindow(
        tile: "", s1ID: l["s1"] as! String, s2ID: l["s2"] as! String, x: x, y: y, size: 32,
        s1: a, s2: b, labels: [])
      for (encoder, rows) in zip(encoders, [rowsS1, rowsS2]) {
        let direct = encoder.pooledFeatures([window])
        let written = Array(rows[(row * 32)..<((row + 1) * 32)])
        let worst = zip(direct, written).map { abs($0 - $1) }.max() ?? .infinity
        #expect(worst < 1e-4, "row \(row) \(encoder.modality): max difference \(worst)")
      }
    }
  }

  @Test func singleModalityWithFilter() throws {
    let run = try Self.run.get()
    let out = Self.temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: out) }
    let r = try TandemCLI.run([
      "embed", "--checkpoint", run, "--catalog", fixtureCatalog, "--out", out, "--modality", "s1",
      "--size", "64", "--where", "tandem:role=test", "--blas-threads", "1", "--quiet",
    ])
    try #require(r.status == 0, "\(r.stderr)")
    #expect(
      Set(try FileManager.default.contentsOfDirectory(atPath: out))
        == ["embeddings-s1.npy", "index.jsonl", "summary.json"])
    let lines = try String(contentsOfFile: out + "/index.jsonl", encoding: .utf8)
      .split(separator: "\n")
    let array = try NPY.decode(
      Array(try Data(contentsOf: URL(fileURLWithPath: out + "/embeddings-s1.npy"))))
    #expect(array.shape == [lines.count, 32])
    // S1 only: cloudy S2 does not reject windows; only test tiles (t03) are read.
    #expect(lines.allSatisfy { $0.contains("\"tile\":\"t03\"") && $0.contains("\"size\":64") })
    // The three t03 pairs, 5×5 windows of 64 px each; S1 of the fixture world has no nodata.
    #expect(lines.count == 3 * 5 * 5)
  }

  @Test(arguments: [
    (["--modality", "s3"], "--modality must be s1, s2 or both"),
    (["--size", "40"], "multiple of 16"),
    (["--stride", "0"], "--stride must be at least 1"),
    (["--where", "novalue"], "expected KEY=VALUE"),
    (["--batch", "0"], "--batch must be at least 1"),
    (["--model", "huge"], "--model must be small or tiny"),
  ])
  func usageErrors(extra: [String], message: String) throws {
    let r = try TandemCLI.run(
      ["embed", "--checkpoint", "random", "--catalog", fixtureCatalog, "--out", "/tmp/unused"]
        + extra)
    #expect(r.status == 64)
    #expect(r.stderr.contains(message), "\(r.stderr)")
  }

  @Test func missingOutIsAUsageError() throws {
    let r = try TandemCLI.run(["embed", "--checkpoint", "random", "--catalog", fixtureCatalog])
    #expect(r.status == 64)
    #expect(r.stderr.contains("--out"), "\(r.stderr)")
  }

  @Test func randomInitIsDeterministic() throws {
    let a = Self.temporaryDirectory()
    let b = Self.temporaryDirectory()
    defer {
      try? FileManager.default.removeItem(atPath: a)
      try? FileManager.default.removeItem(atPath: b)
    }
    for out in [a, b] {
      let r = try TandemCLI.run([
        "embed", "--checkpoint", "random", "--model", "tiny", "--size", "32", "--stride", "96",
        "--modality", "s2", "--catalog", fixtureCatalog, "--out", out, "--seed", "4",
        "--blas-threads", "1", "--quiet",
      ])
      try #require(r.status == 0, "\(r.stderr)")
    }
    let first = try Data(contentsOf: URL(fileURLWithPath: a + "/embeddings-s2.npy"))
    #expect(first == (try Data(contentsOf: URL(fileURLWithPath: b + "/embeddings-s2.npy"))))
    let array = try NPY.decode(Array(first))
    #expect(array.shape[0] > 0 && array.shape[1] == 32)  // tandem-tiny: 32 features
  }

  /// SIGINT in the middle: exit 130, and neither output files nor temporaries are left.
  @Test func interruptLeavesNoFiles() throws {
    let binary = try #require(TandemCLI.binary)
    let out = Self.temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: out) }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: binary)
    // A dense grid (10 952 windows): far from done when the signal comes.
    process.arguments = [
      "embed", "--checkpoint", "random", "--model", "tiny", "--size", "32", "--stride", "8",
      "--catalog", fixtureCatalog, "--out", out, "--blas-threads", "1", "--quiet",
    ]
    let err = Pipe()
    process.standardError = err
    process.standardOutput = FileHandle.nullDevice
    try process.run()
    // Wait (hang guard: 120 s) until the temporary files exist, i.e. rows are being written.
    var started = false
    for _ in 0..<1200 where process.isRunning {
      let names = (try? FileManager.default.contentsOfDirectory(atPath: out)) ?? []
      if names.contains(where: { $0.hasPrefix(".index.jsonl.tmp-") }) {
        started = true
        break
      }
      usleep(100_000)
    }
    #expect(started)
    kill(process.processIdentifier, SIGINT)
    let message = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    #expect(process.terminationStatus == 130, "\(message)")
    #expect(message.contains("no output written"), "\(message)")
    #expect((try? FileManager.default.contentsOfDirectory(atPath: out)) == [])
  }

  /// A copy of the shared run with one JSON file of it changed by `change`.
  static func damagedCopy(
    _ file: String, _ change: (inout [String: Any]) -> Void
  ) throws -> String {
    let copy = temporaryDirectory()
    try FileManager.default.copyItem(atPath: try run.get(), toPath: copy)
    var path = copy + "/" + file
    if file == "state.json" {
      let latest = try String(contentsOfFile: copy + "/latest", encoding: .utf8)
      path = copy + "/" + latest.trimmingCharacters(in: .whitespacesAndNewlines) + "/state.json"
    }
    var json = try #require(
      try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path)))
        as? [String: Any])
    change(&json)
    try JSONSerialization.data(withJSONObject: json).write(to: URL(fileURLWithPath: path))
    return copy
  }

  /// Damaged run files are typed errors naming the file, where they trapped: a normalization
  /// with fewer S2 entries than bands (indexed by channel), a config with temperature 0
  /// (InfoNCE's precondition), a checkpoint cursor in epoch -1 (the sampler's UInt64(epoch)).
  @Test(arguments: [
    ("normalization.json", "embed"), ("config.json", "embed"), ("state.json", "train"),
  ])
  func damagedRunFilesAreNamed(file: String, command: String) throws {
    let run = try Self.damagedCopy(file) { json in
      switch file {
      case "normalization.json": json["s2Mean"] = [0.1]
      case "config.json": json["temperature"] = 0
      default: json["cursor"] = ["epoch": -1, "position": 0]
      }
    }
    let out = Self.temporaryDirectory()
    defer { for d in [run, out] { try? FileManager.default.removeItem(atPath: d) } }
    let arguments =
      command == "embed"
      ? [
        "embed", "--checkpoint", run, "--catalog", fixtureCatalog, "--out", out, "--stride", "64",
        "--blas-threads", "1", "--quiet",
      ] : ["train", "--resume", run, "--blas-threads", "1", "--quiet"]
    let r = try TandemCLI.run(arguments)
    #expect(r.status == 1, "\(r.stderr)")
    #expect(r.stderr.contains("/\(file): invalid"), "\(r.stderr)")
  }

  @Test func missingRunFails() throws {
    let out = Self.temporaryDirectory()
    let r = try TandemCLI.run([
      "embed", "--checkpoint", "/nonexistent/run", "--catalog", fixtureCatalog, "--out", out,
    ])
    #expect(r.status == 1)
    #expect(r.stderr.contains("error: /nonexistent/run: not a tandem train run directory"))
    #expect(!FileManager.default.fileExists(atPath: out))
  }
}
