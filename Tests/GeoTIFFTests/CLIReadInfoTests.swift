import Foundation
import TandemBase
import TandemTestSupport
import Testing

/// `tandem info`, `tandem read` and `tandem bench read`, run as the built binary.
@Suite("CLI info/read/bench", .enabled(if: CLI.binary != nil), .timeLimit(.minutes(2)))
struct CLIReadInfoTests {
  @Test func infoJSON() throws {
    let r = try CLI.run(["info", Support.fixture("pin/pin_cog.tif"), "--json"])
    #expect(r.status == 0, "\(r.stderr)")
    let json = try #require(
      try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
    #expect(json["width"] as? Int == 1024)
    #expect(json["bands"] as? Int == 2)
    #expect(json["dtype"] as? String == "uint16")
    #expect(json["compression"] as? String == "DEFLATE")
    #expect(json["predictor"] as? Int == 2)
    #expect((json["overviews"] as? [[Int]]) == [[512, 512], [256, 256]])
    let cog = try #require(json["cog"] as? [String: Any])
    #expect(cog["isValid"] as? Bool == true)
    #expect(json["headerRequests"] as? Int == 1)
  }

  @Test func infoText() throws {
    let r = try CLI.run(["info", Support.fixture("tiff/rio-tiler-cog_uint8_rgb_mask.tif")])
    #expect(r.status == 0)
    #expect(r.stdout.contains("EPSG:"))
    #expect(r.stdout.contains("masks: ") && !r.stdout.contains("masks: none"))
    #expect(r.stdout.contains("cog: valid"))
    let strips = try CLI.run(["info", Support.fixture("tiff/pillow-strip_planar_16bit_RGB.tiff")])
    #expect(strips.stdout.contains("striped") && strips.stdout.contains("interleave band"))
  }

  @Test func readWritesNPYMatchingGDAL() throws {
    let out = NSTemporaryDirectory() + "tandem-cli-read-\(getpid()).npy"
    defer { try? FileManager.default.removeItem(atPath: out) }
    let r = try CLI.run([
      "read", Support.fixture("tiff/rio-cogeo-valid_cog_gdal31.tif"), "--window", "0,0,64,48",
      "--out", out, "--stats",
    ])
    #expect(r.status == 0, "\(r.stderr)")
    #expect(r.stdout.contains("requests:") && r.stdout.contains("bytes fetched:"))
    let ours = try NPY.decode(Array(try Data(contentsOf: URL(fileURLWithPath: out))))
    let gdal = try NPY.decode(
      Array(
        try Data(
          contentsOf: URL(
            fileURLWithPath: Support.fixture("expected/rio-cogeo-valid_cog_gdal31.tif_tl.npy")))))
    #expect(ours.shape == [3, 48, 64])
    #expect(ours.dtype == gdal.dtype && ours.data == gdal.data)
  }

  @Test func readBandsOverviewAndMask() throws {
    let out = NSTemporaryDirectory() + "tandem-cli-read2-\(getpid()).npy"
    defer { try? FileManager.default.removeItem(atPath: out) }
    var r = try CLI.run([
      "read", Support.fixture("pin/pin_cog.tif"), "--window", "10,20,5,4", "--bands", "2",
      "--overview", "1", "--out", out,
    ])
    #expect(r.status == 0, "\(r.stderr)")
    var a = try NPY.decode(Array(try Data(contentsOf: URL(fileURLWithPath: out))))
    #expect(a.shape == [1, 4, 5] && a.dtype == .uint16)
    r = try CLI.run([
      "read", Support.fixture("tiff/rio-tiler-cog_uint8_rgb_mask.tif"), "--window", "0,0,64,64",
      "--mask", "--out", out,
    ])
    #expect(r.status == 0, "\(r.stderr)")
    a = try NPY.decode(Array(try Data(contentsOf: URL(fileURLWithPath: out))))
    let gdal = try NPY.decode(
      Array(
        try Data(
          contentsOf: URL(
            fileURLWithPath: Support.fixture("expected/rio-tiler-cog_uint8_rgb_mask.tif_mask.npy")))
      ))
    #expect(a.data == gdal.data)
    #expect(Set(a.data).isSubset(of: [0, 255]))
  }

  /// `info` on a GDAL_METADATA scale for sample 9223372036854775807: ignored, where printing
  /// it 1-based trapped.
  @Test func infoIgnoresScaleForImpossibleSample() throws {
    let r = try CLI.run(["info", try BadInputTests.hugeSampleScaleTIFF(), "--json"])
    #expect(r.status == 0, "\(r.stderr)")
    let json = try #require(
      try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
    #expect(json["scales"] as? [String: Double] == ["1": 0.5])
  }

  @Test func usageAndFailures() throws {
    let missing = try CLI.run(["read", Support.fixture("pin/pin_cog.tif"), "--out", "/tmp/x.npy"])
    #expect(missing.status == 64)
    let badWindow = try CLI.run([
      "read", Support.fixture("pin/pin_cog.tif"), "--window", "1,2,3", "--out", "/tmp/x.npy",
    ])
    #expect(badWindow.status == 64)
    let path = Support.fixture("malformed/torchgeo-corrupted-15-bytes.tif")
    let bad = try CLI.run(["info", path])
    #expect(bad.status == 1)
    #expect(bad.stderr.hasPrefix("error: ") && bad.stderr.contains(path))
    let absent = try CLI.run([
      "read", "/nonexistent/x.tif", "--window", "0,0,1,1", "--out", "/tmp/x.npy",
    ])
    #expect(absent.status == 1 && absent.stderr.contains("/nonexistent/x.tif"))
  }

  @Test func benchReadEndsWithJSON() throws {
    let list = NSTemporaryDirectory() + "tandem-bench-list-\(getpid()).txt"
    try
      (Support.fixture("pin/pin_cog.tif") + "\n"
      + Support.fixture("tiff/rio-cogeo-valid_cog_gdal31.tif") + "\n")
      .write(toFile: list, atomically: true, encoding: .utf8)
    for mode in ["pipeline", "decode"] {
      let r = try CLI.run([
        "bench", "read", "--list", list, "--windows", "30", "--size", "64", "--threads", "2",
        "--mode", mode,
      ])
      #expect(r.status == 0, "\(r.stderr)")
      let last = try #require(r.stdout.split(separator: "\n").last)
      let json = try #require(
        try JSONSerialization.jsonObject(with: Data(last.utf8)) as? [String: Any])
      #expect(json["bench"] as? String == "read")
      #expect(json["windows"] as? Int == 30)
      #expect((json["windows_per_s"] as? Double ?? 0) > 0)
    }
  }
}

/// The built `tandem` binary (shared helper).
typealias CLI = TandemCLI
