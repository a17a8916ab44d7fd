// swift-tools-version: 6.0
// Tandem: multimodal (Sentinel-1 / Sentinel-2) contrastive pretraining streamed from COGs in STAC catalogs.
// No package dependencies from the network: only the toolchain and Debian system libraries.
import PackageDescription

let package = Package(
  name: "Tandem",
  products: [
    .executable(name: "tandem", targets: ["TandemCLI"]),
    .library(
      name: "Tandem",
      targets: ["TandemBase", "RangeIO", "GeoTIFF", "STAC", "Pairing", "NN", "Fixtures"]),
  ],
  targets: [
    // System libraries, found with pkg-config.
    .systemLibrary(
      name: "CCurl", pkgConfig: "libcurl", providers: [.apt(["libcurl4-openssl-dev"])]),
    .systemLibrary(name: "CTIFF", pkgConfig: "libtiff-4", providers: [.apt(["libtiff-dev"])]),
    // libdeflate (libtiff's own inflate backend): the fast path for deflate tiles.
    .systemLibrary(
      name: "CDeflate", pkgConfig: "libdeflate", providers: [.apt(["libdeflate-dev"])]),
    .systemLibrary(name: "CBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
    .systemLibrary(
      name: "CMPI", pkgConfig: "ompi-c", providers: [.apt(["libopenmpi-dev", "openmpi-bin"])]),
    // Typed C shims for variadic functions and callbacks.
    .target(name: "CTandemShims", dependencies: ["CCurl", "CTIFF"]),
    // The direct AVX-512 convolution kernel (function-level target, runtime CPU check), used by NN.
    .target(name: "CConvKernels"),
    // MPI handles are macros in Open MPI: typed C entry points, used only by CollectiveMPI.
    .target(name: "CTandemMPI", dependencies: ["CMPI"]),

    // Swift modules, one per concern.
    .target(name: "TandemBase"),
    .target(name: "CommandLineKit"),
    .target(name: "RangeIO", dependencies: ["TandemBase", "CTandemShims", "CCurl"]),
    .target(name: "TileCache", dependencies: ["RangeIO", "TandemBase"]),
    .target(
      name: "GeoTIFF", dependencies: ["TandemBase", "RangeIO", "CTandemShims", "CTIFF", "CDeflate"]),
    .target(name: "STAC", dependencies: ["TandemBase", "RangeIO"]),
    .target(name: "Pairing", dependencies: ["TandemBase", "STAC"]),
    .target(name: "NN", dependencies: ["TandemBase", "CBLAS", "CConvKernels"]),
    .target(
      name: "Pipeline", dependencies: ["TandemBase", "RangeIO", "GeoTIFF", "STAC", "Pairing"]),
    // Data-parallel collectives: the protocol and a single-process implementation (pure Swift),
    // and the Open MPI implementation (the only module that links MPI).
    .target(name: "Collective"),
    .target(name: "CollectiveMPI", dependencies: ["Collective", "CTandemMPI"]),
    .target(
      name: "Training",
      dependencies: ["NN", "Pipeline", "Pairing", "RangeIO", "STAC", "TandemBase", "Collective"]),
    .target(
      name: "Evaluation",
      dependencies: [
        "NN", "Pipeline", "Training", "GeoTIFF", "STAC", "Pairing", "RangeIO", "TandemBase",
        "Fixtures",
      ]),
    .target(
      name: "Fixtures",
      dependencies: ["TandemBase", "GeoTIFF", "STAC", "CTandemShims", "CTIFF"]),
    .executableTarget(
      name: "TandemCLI",
      dependencies: [
        "TandemBase", "CommandLineKit", "RangeIO", "TileCache", "GeoTIFF", "STAC", "Pairing", "NN",
        "Pipeline",
        "Fixtures", "Training", "Evaluation", "Collective", "CollectiveMPI", "CTandemShims",
      ]),

    .testTarget(name: "TandemBaseTests", dependencies: ["TandemBase"]),
    .testTarget(name: "CommandLineKitTests", dependencies: ["CommandLineKit"]),
    .testTarget(
      name: "RangeIOTests",
      dependencies: ["RangeIO", "TileCache", "TandemBase", "TandemTestSupport"]),
    .testTarget(
      name: "TileCacheTests",
      dependencies: ["TileCache", "RangeIO", "TandemBase", "TandemTestSupport"]),
    .testTarget(
      name: "GeoTIFFTests",
      dependencies: [
        "GeoTIFF", "RangeIO", "TandemBase", "TandemTestSupport", "CTIFF", "CTandemShims",
      ],
      resources: [.copy("Fixtures")]),
    .testTarget(
      name: "STACTests", dependencies: ["STAC", "RangeIO", "TandemBase", "TandemTestSupport"],
      resources: [.copy("Fixtures")]),
    .testTarget(name: "PairingTests", dependencies: ["Pairing", "STAC", "TandemBase"]),
    .testTarget(
      name: "PipelineTests",
      dependencies: [
        "Pipeline", "Fixtures", "GeoTIFF", "Pairing", "RangeIO", "STAC", "TandemBase",
        "TandemTestSupport",
      ]),
    .testTarget(
      name: "NNTests", dependencies: ["NN", "TandemBase"], resources: [.copy("Fixtures")]),
    .testTarget(
      name: "FixturesTests",
      dependencies: ["Fixtures", "GeoTIFF", "STAC", "RangeIO", "TandemBase", "TandemTestSupport"],
      exclude: ["Schemas"]),
    .target(name: "TandemTestSupport", path: "Tests/TandemTestSupport"),
    .testTarget(name: "CLITests", dependencies: ["TandemTestSupport"]),
    .testTarget(
      name: "TrainingTests",
      dependencies: ["Training", "NN", "Pipeline", "TandemBase", "TandemTestSupport"]),
    .testTarget(
      name: "DistributedTests",
      dependencies: [
        "Collective", "Training", "Pipeline", "NN", "TandemBase", "TandemTestSupport",
      ]),
    .testTarget(
      name: "EvaluationTests",
      dependencies: ["Evaluation", "Pipeline", "TandemBase", "TandemTestSupport"],
      exclude: ["Fixtures"]),
  ],
  swiftLanguageModes: [.v6]
)
