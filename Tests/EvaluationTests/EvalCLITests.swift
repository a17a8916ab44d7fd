import Foundation
import TandemTestSupport
import Testing

/// `tandem train` (tiny, 20 steps, 32 px) then `tandem eval` on the bundled world.
@Suite(.serialized, .enabled(if: TandemCLI.binary != nil))
struct EvalCLITests {
  static func temporaryDirectory() -> String {
    let path = NSTemporaryDirectory() + "tandem-eval-\(UUID().uuidString)"
    try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
  }

  func json(_ text: String) throws -> [String: Any] {
    let object = try JSONSerialization.jsonObject(with: Data(text.utf8))
    return try #require(object as? [String: Any])
  }

  /// Checks the metrics of one probe and returns them.
  func checkResult(_ r: [String: Any], classes: Int) throws {
    let matrix = try #require(r["confusion_matrix"] as? [[Int]])
    #expect(matrix.count == classes && matrix.allSatisfy { $0.count == classes })
    #expect(matrix.flatMap { $0 }.reduce(0, +) == r["test_samples"] as? Int)
    for key in ["overall_accuracy", "balanced_accuracy", "water_iou", "water_f1"] {
      let v = try #require(r[key] as? Double, "\(key)")
      #expect(v >= 0 && v <= 1, "\(key) = \(v)")
    }
    let correct = (0..<classes).reduce(0) { $0 + matrix[$1][$1] }
    let oa = try #require(r["overall_accuracy"] as? Double)
    #expect(abs(oa - Double(correct) / Double(matrix.flatMap { $0 }.reduce(0, +))) < 1e-9)
  }

  @Test func trainThenEvaluate() throws {
    let dir = Self.temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let run = dir + "/run"
    let train = try TandemCLI.run([
      "train", "--catalog", fixtureCatalog, "--model", "tiny", "--size", "32", "--batch", "8",
      "--steps", "20", "--warmup", "2", "--blas-threads", "1", "--seed", "1", "--out", run,
      "--quiet",
    ])
    try #require(train.status == 0, "\(train.stderr)")

    let landcover = try TandemCLI.run([
      "eval", "--checkpoint", run, "--task", "landcover", "--catalog", fixtureCatalog, "--json",
      "--quiet",
    ])
    try #require(landcover.status == 0, "\(landcover.stderr)")
    let report = try json(landcover.stdout)
    #expect(report["task"] as? String == "landcover")
    #expect(report["modality"] as? String == "s2")
    #expect(report["window_size"] as? Int == 32)
    #expect(report["train_tiles"] as? [String] == ["t02"])
    #expect(report["test_tiles"] as? [String] == ["t03"])
    // The run pretrained on the same catalog (all tiles): the report says so.
    #expect(
      (report["warnings"] as? [String])?.first?.contains("--where tandem:role=pretrain") == true)
    let results = try #require(report["results"] as? [[String: Any]])
    #expect(results.count == 2)
    #expect((results[0]["name"] as? String)?.hasPrefix("raw band statistics") == true)
    #expect((results[1]["name"] as? String)?.contains("multimodal") == true)
    for r in results { try checkResult(r, classes: 6) }

    // Same seed, same report (the probe is deterministic).
    let again = try TandemCLI.run([
      "eval", "--checkpoint", run, "--task", "landcover", "--catalog", fixtureCatalog, "--json",
      "--quiet",
    ])
    let a = try #require(json(again.stdout)["results"] as? [[String: Any]])
    #expect(
      a.map { $0["confusion_matrix"] as? [[Int]] }
        == results.map { $0["confusion_matrix"] as? [[Int]] })

    let flood = try TandemCLI.run([
      "eval", "--checkpoint", run, "--task", "flood", "--catalog", fixtureCatalog, "--json",
      "--quiet",
    ])
    try #require(flood.status == 0, "\(flood.stderr)")
    let floodReport = try json(flood.stdout)
    #expect(floodReport["modality"] as? String == "s1")
    let floodResults = try #require(floodReport["results"] as? [[String: Any]])
    for r in floodResults { try checkResult(r, classes: 2) }
    // S1 water is dark: even the 1×1 head on the input pixels finds most of it.
    #expect((floodResults[0]["water_iou"] as? Double ?? 0) > 0.5)

    // The run's report was saved for `tandem report`.
    let saved = run + "/eval/flood-s1-linear-seed0.json"
    let savedReport = try json(try String(contentsOfFile: saved, encoding: .utf8))
    #expect(savedReport["probe"] as? String == "linear")
    #expect(savedReport["mode"] as? String == "multimodal")
    #expect(savedReport["class_weights"] == nil)  // linear probes have no class weights

    // One comparison over the run and a random init: S1+S2 input, trained segmentation head,
    // half of the probe-train locations.
    let compare = try TandemCLI.run([
      "eval", "--checkpoint", run, "--checkpoint", "random:1", "--model", "tiny", "--task",
      "flood", "--modality", "s1+s2", "--probe", "head", "--train-fraction", "0.5",
      "--class-weights", "balanced", "--catalog", fixtureCatalog, "--json", "--quiet",
    ])
    try #require(compare.status == 0, "\(compare.stderr)")
    let lines = compare.stdout.split(separator: "\n").map(String.init)
    #expect(lines.count == 2)
    let reports = try lines.map(json)
    #expect(reports.map { $0["checkpoint"] as? String } == [run, "random:1"])
    #expect(reports.map { $0["modality"] as? String } == ["s1+s2", "s1+s2"])
    #expect(reports[1]["origin"] as? String == "random(seed 1)")
    for report in reports {
      #expect(report["probe"] as? String == "head")
      #expect(report["class_weights"] as? String == "balanced")
      #expect(report["train_fraction"] as? Double == 0.5)
      // The same windows for both checkpoints: half of the 100 probe-train locations.
      #expect(report["train_locations"] as? Int == 50)
      #expect(report["test_locations"] as? Int == 100)
      let r = try #require(report["results"] as? [[String: Any]])
      #expect((r[1]["name"] as? String)?.hasSuffix(", head") == true)
      for x in r { try checkResult(x, classes: 2) }
    }
    #expect(
      FileManager.default.fileExists(atPath: run + "/eval/flood-s1s2-head-seed0-f0.5.json"))

    // The U-Net probe on per-pixel land cover at two train fractions in one command: every
    // checkpoint at each fraction, nested subsets of the same windows.
    let unet = try TandemCLI.run([
      "eval", "--checkpoint", run, "--checkpoint", "random:1", "--model", "tiny", "--task",
      "landcover", "--probe", "unet", "--train-fraction", "0.1,1", "--catalog", fixtureCatalog,
      "--json", "--quiet", "--no-save",
    ])
    try #require(unet.status == 0, "\(unet.stderr)")
    let unetReports = try unet.stdout.split(separator: "\n").map { try json(String($0)) }
    #expect(unetReports.map { $0["train_fraction"] as? Double } == [0.1, 0.1, 1, 1])
    #expect(unetReports.map { $0["checkpoint"] as? String } == [run, "random:1", run, "random:1"])
    #expect(unetReports.map { $0["train_locations"] as? Int } == [10, 10, 100, 100])
    for report in unetReports {
      #expect(report["probe"] as? String == "unet")
      #expect(report["class_weights"] as? String == "none")
      let r = try #require(report["results"] as? [[String: Any]])
      #expect((r[0]["name"] as? String)?.hasPrefix("1×1 head on input") == true)
      #expect((r[1]["name"] as? String)?.hasSuffix(", unet") == true)
      for x in r { try checkResult(x, classes: 6) }
    }
    let unetTable = try TandemCLI.run([
      "eval", "--checkpoint", run, "--task", "flood", "--probe", "unet", "--train-fraction",
      "0.1,1", "--catalog", fixtureCatalog, "--quiet", "--no-save",
    ])
    try #require(unetTable.status == 0, "\(unetTable.stderr)")
    #expect(unetTable.stdout.contains("| checkpoint | train fraction | probe | OA |"))
    #expect(unetTable.stdout.contains("| (none) | 0.1 | 1×1 head on input (s1) |"))
    #expect(unetTable.stdout.contains("| (none) | 1 | 1×1 head on input (s1) |"))
    let table = try TandemCLI.run([
      "eval", "--checkpoint", run, "--checkpoint", "random:1", "--model", "tiny", "--task",
      "landcover", "--catalog", fixtureCatalog, "--quiet", "--no-save",
    ])
    try #require(table.status == 0, "\(table.stderr)")
    #expect(table.stdout.contains("| checkpoint | probe | OA |"))
    #expect(table.stdout.contains("| random:1 | encoder s2 (random init) |"))

    // Text output has the table and the confusion matrices.
    let text = try TandemCLI.run([
      "eval", "--checkpoint", run, "--task", "landcover", "--catalog", fixtureCatalog, "-q",
    ])
    #expect(text.status == 0)
    #expect(text.stdout.contains("| probe | OA | balanced acc | water IoU |"))
    #expect(text.stdout.contains("confusion (rows truth, columns prediction)"))
  }

  @Test func randomInit() throws {
    let r = try TandemCLI.run([
      "eval", "--checkpoint", "random", "--model", "tiny", "--size", "32", "--task", "landcover",
      "--catalog", fixtureCatalog, "--json", "--quiet",
    ])
    try #require(r.status == 0, "\(r.stderr)")
    let report = try json(r.stdout)
    #expect(report["origin"] as? String == "random(seed 0)")
    #expect((report["warnings"] as? [String]) == [])
    let results = try #require(report["results"] as? [[String: Any]])
    #expect((results[1]["name"] as? String)?.contains("random init") == true)
    for x in results { try checkResult(x, classes: 6) }
  }

  /// Sanity check of the whole protocol with committed settings: a tandem-tiny checkpoint
  /// pretrained (multimodal, 300 steps × 32 pairs of 32 px, seed 1, `--where tandem:role=pretrain`)
  /// on the bundled world's pretrain tiles must beat three random inits clearly on S1 land cover
  /// (measured: 0.657 OA vs 0.357–0.403). If it did not, the encoder, the probe or the split is
  /// broken; if random init came out on top, features could be leaking labels.
  @Test func pretrainedBeatsRandomInit() throws {
    let run = TandemCLI.packageRoot.appendingPathComponent(
      "Tests/EvaluationTests/Fixtures/tiny-multimodal"
    ).path
    let r = try TandemCLI.run([
      "eval", "--checkpoint", run, "--checkpoint", "random:1", "--checkpoint", "random:2",
      "--checkpoint", "random:3", "--model", "tiny", "--task", "landcover", "--modality", "s1",
      "--catalog", fixtureCatalog, "--json", "--quiet", "--no-save",
    ])
    try #require(r.status == 0, "\(r.stderr)")
    let reports = try r.stdout.split(separator: "\n").map { try json(String($0)) }
    try #require(reports.count == 4)
    func accuracy(_ report: [String: Any]) -> Double {
      ((report["results"] as? [[String: Any]])?[1]["overall_accuracy"] as? Double) ?? -1
    }
    #expect(reports.allSatisfy { $0["window_size"] as? Int == 32 })  // the run's size for all
    #expect((reports[0]["warnings"] as? [String]) == [])  // pretrained on pretrain tiles only
    let pretrained = accuracy(reports[0])
    let random = reports.dropFirst().map(accuracy)
    #expect(pretrained > (random.max() ?? 1) + 0.1, "pretrained \(pretrained), random \(random)")
  }

  /// Random init in a comparison reads the same windows as the run, also when the run paired
  /// with other thresholds than the defaults (here --max-days 30 instead of 3: more pairs).
  @Test func randomInitUsesTheRunsPairing() throws {
    let dir = Self.temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let source = TandemCLI.packageRoot.appendingPathComponent(
      "Tests/EvaluationTests/Fixtures/tiny-multimodal"
    ).path
    let run = dir + "/run"
    try FileManager.default.copyItem(atPath: source, toPath: run)
    let configPath = run + "/config.json"
    let config = try String(contentsOfFile: configPath, encoding: .utf8)
    try config.replacingOccurrences(of: "\"maxDays\" : 3,", with: "\"maxDays\" : 30,")
      .write(toFile: configPath, atomically: true, encoding: .utf8)
    let r = try TandemCLI.run([
      "eval", "--checkpoint", run, "--checkpoint", "random:1", "--model", "tiny", "--task",
      "landcover", "--modality", "s1", "--catalog", fixtureCatalog, "--json", "--quiet",
      "--no-save",
    ])
    try #require(r.status == 0, "\(r.stderr)")
    let reports = try r.stdout.split(separator: "\n").map { try json(String($0)) }
    try #require(reports.count == 2)
    let windows = reports.map { $0["test_windows"] as? Int ?? -1 }
    #expect(windows[0] == windows[1], "test windows \(windows)")
    #expect(windows[0] > 300)  // more pairs than with --max-days 3 (300 windows)
  }

  /// The real Sen1Floods11 chip (S1 in dB, labels −1 = no data): west half fits, east half scores.
  @Test func sen1floods11Chip() throws {
    let catalog = TandemCLI.packageRoot.appendingPathComponent("Catalogs/real/catalog.json").path
    let r = try TandemCLI.run([
      "eval", "--checkpoint", "random", "--model", "tiny", "--size", "128", "--task", "flood",
      "--probe", "head", "--catalog", catalog, "--json", "--quiet",
    ])
    try #require(r.status == 0, "\(r.stderr)")
    let report = try json(r.stdout)
    #expect(report["train_tiles"] as? [String] == ["Spain_7370579/west"])
    #expect(report["test_tiles"] as? [String] == ["Spain_7370579/east"])
    #expect(report["train_windows"] as? Int == 8 && report["test_windows"] as? Int == 8)
    let results = try #require(report["results"] as? [[String: Any]])
    for x in results {
      try checkResult(x, classes: 2)
      // The chip has −1 (no data) labels in its east half; they are not scored.
      #expect((x["ignored_labels"] as? Int ?? 0) > 0)
      #expect(
        (x["test_samples"] as? Int ?? 0) + (x["ignored_labels"] as? Int ?? 0) == 8 * 128 * 128)
    }
    // Land cover is not in the chip's labels: a clear error.
    let landcover = try TandemCLI.run([
      "eval", "--checkpoint", "random", "--model", "tiny", "--task", "landcover", "--catalog",
      catalog,
    ])
    #expect(landcover.status == 1)
    #expect(landcover.stderr.contains("use --task flood"), "\(landcover.stderr)")
  }

  @Test(arguments: [
    (
      ["--task", "landcover", "--probe", "conv"], Int32(64), "--probe must be linear, head or unet"
    ),
    (["--task", "flood", "--train-fraction", "0"], 64, "--train-fraction must be in (0, 1]"),
    (["--task", "flood", "--train-fraction", "0.1,x"], 64, "--train-fraction must be in (0, 1]"),
    (["--task", "flood", "--modality", "s1s3"], 64, "s1, s2 or s1+s2"),
    (["--task", "roads"], 64, "--task must be"),
    (["--task", "flood", "--modality", "s3"], 64, "--modality"),
    (["--task", "flood", "--size", "40"], 64, "multiple of 16"),
  ])
  func usageErrors(extra: [String], status: Int32, message: String) throws {
    let r = try TandemCLI.run(
      ["eval", "--checkpoint", "random", "--catalog", fixtureCatalog] + extra)
    #expect(r.status == status)
    #expect(r.stderr.contains(message), "\(r.stderr)")
  }

  @Test func missingRunFails() throws {
    let r = try TandemCLI.run([
      "eval", "--checkpoint", "/nonexistent/run", "--task", "landcover", "--catalog",
      fixtureCatalog,
    ])
    #expect(r.status == 1)
    #expect(r.stderr.contains("error: /nonexistent/run: not a tandem train run directory"))
  }
}
