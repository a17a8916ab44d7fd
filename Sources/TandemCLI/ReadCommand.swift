import CommandLineKit
import GeoTIFF
import RangeIO
import TandemBase

/// `tandem read PATH|URL --window X,Y,W,H [--bands 1,2] [--overview N] --out FILE.npy [--stats]`.
enum ReadCommand {
  static let spec = CommandSpec(
    name: "read", abstract: "Read a pixel window of a GeoTIFF/COG into a NumPy .npy file.",
    discussion:
      "The array has shape [bands, H, W] in the file's data type (float16 as <f2; 1-bit masks as"
      + " uint8 0/255). Pixels outside the image are nodata, or 0 when the file has none.",
    arguments: [ArgumentSpec("location", help: "Path, file:// or http(s):// URL of a GeoTIFF.")],
    options: [
      .value(
        "window", valueName: "x,y,w,h", help: "Pixel window in the chosen level's grid.",
        required: true),
      .value("bands", valueName: "list", help: "1-based bands to read (default: all)."),
      .value(
        "overview", valueName: "n", help: "Overview level (0 = full resolution).", default: "0"),
      .flag("mask", help: "Read the transparency mask of the chosen level instead of the bands."),
      .value(
        "out", valueName: "file.npy", help: "Output .npy file (written atomically).", required: true
      ),
      .value(
        "header-size", valueName: "bytes", help: "First header read in bytes.", default: "16384"),
      .flag("stats", help: "Print the requests made and bytes fetched."),
    ] + IOOptions.specs,
    run: run)

  static func npyType(_ t: SampleType) -> NPY.DType {
    switch t {
    case .uint8: .uint8
    case .int8: .int8
    case .uint16: .uint16
    case .int16: .int16
    case .uint32: .uint32
    case .int32: .int32
    case .float16: .float16
    case .float32: .float32
    case .float64: .float64
    }
  }

  static func run(_ parsed: ParsedArguments) async throws -> Int32 {
    let location = parsed.argument("location")!
    let w = try parsed.required("window", as: IntList.self).values
    guard w.count == 4, w[2] > 0, w[3] > 0 else {
      throw parsed.usageError("--window must be X,Y,W,H with W and H > 0")
    }
    let overview = try parsed.value("overview", default: 0)
    guard overview >= 0 else { throw parsed.usageError("--overview must be >= 0") }
    var bands: [Int]?
    if let list = try parsed.value("bands", as: IntList.self) {
      guard list.values.allSatisfy({ $0 >= 1 }) else {
        throw parsed.usageError("--bands are 1-based")
      }
      bands = list.values.map { $0 - 1 }
    }
    let out = parsed.string("out")!
    let headerSize = try parsed.value("header-size", default: 16384)
    guard headerSize >= 16 else { throw parsed.usageError("--header-size must be at least 16") }
    let options = try IOOptions.sourceOptions(from: parsed)
    let window = PixelWindow(x: w[0], y: w[1], width: w[2], height: w[3])
    let dataset: COGDataset
    let raster: Raster
    do {
      let source = try ByteSources.open(location, options: options)
      dataset = try await COGDataset.open(source, headerSize: headerSize)
      if parsed.flag("mask") {
        let level = try dataset.image(overview: overview)
        guard
          let mask = dataset.masks.first(where: {
            $0.width == level.width && $0.height == level.height
          })
        else {
          throw GeoTIFFError(
            .invalidRequest, location: location, message: "no mask for overview \(overview)")
        }
        raster = try await dataset.read(dataset.plan(window: window, bands: [0], image: mask))
      } else {
        raster = try await dataset.read(window: window, bands: bands, overview: overview)
      }
    } catch {
      // An offline miss may surface wrapped in a GeoTIFFError: list what the cache lacked.
      for line in IOOptions.offlineReport(options) { printError(line) }
      throw error
    }
    try NPY.write(
      dtype: npyType(raster.sampleType), shape: [raster.bands, raster.height, raster.width],
      data: raster.bytes, to: out)
    if parsed.flag("stats") {
      let s = options.stats.snapshot
      print(
        "requests: \(s.requests) (header \(dataset.headerRequests)), bytes fetched: \(s.bytesFetched)"
          + " (header \(dataset.headerBytesFetched))")
    }
    return ExitCode.success
  }
}
