import CommandLineKit
import Foundation
import NN
import TandemBase

/// `tandem bench train`: times full training steps of tandem-small (both encoders forward,
/// InfoNCE, backward, AdamW) and measures `cblas_sgemm` in the same run as the roofline.
enum BenchTrainCommand {
  static let spec = CommandSpec(
    name: "train",
    abstract: "Time training steps of tandem-small (pairs/s, conv GFLOP/s vs sgemm roofline).",
    options: [
      .value(
        "threads", valueName: "list", help: "Comma-separated BLAS thread counts.", default: "1,2"),
      .value("batch", valueName: "n", help: "Pairs per step.", default: "32"),
      .value("size", valueName: "px", help: "Window height and width.", default: "128"),
      .value("steps", valueName: "n", help: "Timed steps per thread count.", default: "5"),
      .value("warmup", valueName: "n", help: "Untimed steps first.", default: "1"),
      .value("model", valueName: "name", help: "small or tiny.", default: "small"),
      .value(
        "conv-columns", valueName: "n", help: "Minimum GEMM width before images are folded.",
        default: "1024"),
      .value(
        "block-columns", valueName: "n", help: "im2col block width on large maps.",
        default: "512"),
      .flag("im2col", help: "Use im2col for stride-1 convolutions too (the reference path)."),
      .flag(
        "sequential-encoders", help: "Run S1 and S2 one after the other (threads split layers)."),
      .flag("gemm-shapes", help: "Only time sgemm on the convolution GEMM shapes (1 thread)."),
      .flag("profile-convs", help: "Also time each convolution separately."),
      .flag("json", help: "Print one JSON object per thread count."),
    ],
    run: { args in
      let threadList = (args.string("threads") ?? "1,2").split(separator: ",").compactMap {
        Int($0.trimmingCharacters(in: .whitespaces))
      }
      guard !threadList.isEmpty, threadList.allSatisfy({ $0 > 0 }) else {
        throw args.usageError("--threads must be a list of positive integers")
      }
      let batch = try args.value("batch", default: 32)
      let size = try args.value("size", default: 128)
      let steps = try args.value("steps", default: 5)
      let warmup = try args.value("warmup", default: 1)
      guard batch > 1, size >= 16, steps > 0, warmup >= 0 else {
        throw args.usageError("need --batch > 1, --size >= 16, --steps > 0")
      }
      let config: DualEncoderConfig
      switch args.string("model") ?? "small" {
      case "small": config = .small()
      case "tiny": config = .tiny()
      default: throw args.usageError("--model must be small or tiny")
      }
      let columns = try args.value("conv-columns", default: 1024)
      if args.flag("gemm-shapes") {
        BLAS.setThreads(1)
        print("OpenBLAS kernels: \(BLAS.coreName)\(BLAS.kernelOverride.map { " (\($0))" } ?? "")")
        let shapes: [(String, Int, Int, Int, Bool, Bool)] = [
          ("square 1024", 1024, 1024, 1024, false, false),
          ("layer1 fwd/dx 32x4096x288", 32, 4096, 288, false, false),
          ("layer1 dW 32x288x4096 (B^T)", 32, 288, 4096, false, true),
          ("layer1 fwd^T 4096x32x288", 4096, 32, 288, false, false),
          ("layer1 dW^T 288x32x4096 (B^T)", 288, 32, 4096, false, true),
          ("layer1 fwd g4 32x16384x288", 32, 16384, 288, false, false),
          ("layer1 dW g4 32x288x16384 (B^T)", 32, 288, 16384, false, true),
          ("layer1 fwd^T via A^T,B^T 4096x32x288", 4096, 32, 288, true, true),
          ("layer4 dW^T 2304x256x1024 (B^T)", 2304, 256, 1024, false, true),
          ("layer2 fwd 64x1024x576", 64, 1024, 576, false, false),
          ("layer3 fwd g4 128x1024x1152", 128, 1024, 1152, false, false),
          ("layer4 fwd g16 256x1024x2304", 256, 1024, 2304, false, false),
          ("layer4 dW 256x2304x1024 (B^T)", 256, 2304, 1024, false, true),
        ]
        for (name, m, n, k, ta, tb) in shapes {
          let g = BLAS.measureSgemmGFLOPS(m: m, n: n, k: k, transA: ta, transB: tb)
          print("\(name): \((g * 10).rounded() / 10) GFLOP/s")
        }
        return ExitCode.success
      }
      for threads in threadList {
        let r = run(
          config: config, threads: threads, batch: batch, size: size, steps: steps, warmup: warmup,
          columns: columns, blockColumns: try args.value("block-columns", default: 512),
          concurrent: !args.flag("sequential-encoders"), shifted: !args.flag("im2col"))
        if args.flag("profile-convs") {
          let model = DualEncoder(config: config, seed: 1)
          model.convolutionColumns = columns
          model.convolutionMethod = args.flag("im2col") ? .im2col : .automatic
          let x1 = Tensor(shape: [batch, config.s1.inChannels, size, size])
          let x2 = Tensor(shape: [batch, config.s2.inChannels, size, size])
          for i in 0..<x1.count { x1[i] = Float(i % 17) * 0.1 - 0.8 }
          for i in 0..<x2.count { x2[i] = Float(i % 19) * 0.1 - 0.9 }
          model.trainStep(s1: x1, s2: x2)
          for p in model.profileConvolutions() {
            let line: [String: Any] = [
              "conv": p.name, "shape": p.shape, "threads": threads,
              "forward_ms": p.forwardSeconds * 1000, "backward_ms": p.backwardSeconds * 1000,
              "forward_gflops": p.forwardFLOPs / p.forwardSeconds / 1e9,
              "backward_gflops": p.backwardFLOPs / p.backwardSeconds / 1e9,
            ]
            let data = try JSONSerialization.data(withJSONObject: line, options: [.sortedKeys])
            print(String(decoding: data, as: UTF8.self))
          }
        }
        if args.flag("json") {
          let data = try JSONSerialization.data(withJSONObject: r, options: [.sortedKeys])
          print(String(decoding: data, as: UTF8.self))
        } else {
          print("threads \(threads): \(r)")
        }
      }
      return ExitCode.success
    })

  static func run(
    config: DualEncoderConfig, threads: Int, batch: Int, size: Int, steps: Int, warmup: Int,
    columns: Int, blockColumns: Int, concurrent: Bool, shifted: Bool
  ) -> [String: Any] {
    BLAS.setThreads(threads)
    let sgemmBefore = BLAS.measureSgemmGFLOPS(size: 1024, repeats: 5)
    let model = DualEncoder(config: config, seed: 1)
    model.convolutionColumns = columns
    model.concurrentEncoders = concurrent
    model.convolutionBlockColumns = blockColumns
    model.convolutionMethod = shifted ? .automatic : .im2col
    let opt = AdamW(store: model.store, learningRate: 1e-3, weightDecay: 0.05)
    var rng = SeededGenerator(seed: 7)
    let x1 = Tensor(shape: [batch, config.s1.inChannels, size, size])
    let x2 = Tensor(shape: [batch, config.s2.inChannels, size, size])
    for i in 0..<x1.count { x1[i] = Float(rng.nextGaussian()) }
    for i in 0..<x2.count { x2[i] = Float(rng.nextGaussian()) }
    for _ in 0..<warmup {
      model.trainStep(s1: x1, s2: x2)
      opt.step()
    }
    var times: [Double] = []
    var cpuTimes: [Double] = []
    for _ in 0..<steps {
      let t0 = Clock.now()
      let c0 = Clock.processCPU()
      model.trainStep(s1: x1, s2: x2)
      opt.step()
      times.append(Clock.now() - t0)
      cpuTimes.append(Clock.processCPU() - c0)
    }
    cpuTimes.sort()
    let cpuMedian = cpuTimes[cpuTimes.count / 2]
    // One more step with per-layer timing (adds a clock read per layer call). On one thread
    // the layers are timed in CPU time of the thread, which a busy machine does not inflate.
    let timer = LayerTimer(threadCPUTime: threads == 1)
    let clock = threads == 1 ? Clock.threadCPU : Clock.now
    let t0 = clock()
    model.trainStep(s1: x1, s2: x2, timer: timer)
    timer.time("optimizer") { opt.step() }
    let timedTotal = clock() - t0
    let sgemmAfter = BLAS.measureSgemmGFLOPS(size: 1024, repeats: 5)
    times.sort()
    let median = times[times.count / 2]
    let convForward = model.convolutionFLOPs(n: batch, h: size, w: size)
    // Backward = dW (same FLOPs as forward) + dx (same, except for the stems which skip dx).
    let stemForward =
      2.0 * Double(batch * (size / 2) * (size / 2) * config.s1.stemWidth * 9)
      * Double(config.s1.inChannels + config.s2.inChannels)
    let convTrain = 3 * convForward - stemForward
    let convSeconds = timer.seconds["conv"] ?? 0
    let sgemm = (sgemmBefore + sgemmAfter) / 2
    var breakdown: [String: Double] = [:]
    for (k, v) in timer.seconds { breakdown[k] = (v * 1000).rounded() / 1000 }
    let topLevel = timer.seconds.filter { !$0.key.contains(".") }.values.reduce(0, +)
    breakdown["other"] = ((timedTotal - topLevel) * 1000).rounded() / 1000
    return [
      "threads": threads, "conv_columns": columns, "block_columns": blockColumns,
      "concurrent_encoders": concurrent, "shifted_convolutions": shifted,
      "conv_kernel": Conv2d.directKernelDefault && Conv2d.directKernelAvailable
        ? "direct-avx512" : "sgemm",
      "breakdown_clock": threads == 1 ? "thread_cpu" : "wall", "blas_core": BLAS.coreName,
      "blas_core_override": BLAS.kernelOverride ?? "none",
      "batch": batch, "size": size, "steps": steps,
      "step_seconds_median": median, "pairs_per_s": Double(batch) / median,
      "step_seconds_all": times,
      "cpu_seconds_per_step": cpuMedian, "pairs_per_cpu_s": Double(batch) / cpuMedian,
      "model_gflop_per_step": convTrain / 1e9,
      "model_gflops": convTrain / median / 1e9,
      "conv_seconds": convSeconds, "conv_gflops": convTrain / max(convSeconds, 1e-9) / 1e9,
      "sgemm_gflops": sgemm, "sgemm_gflops_before": sgemmBefore, "sgemm_gflops_after": sgemmAfter,
      "conv_fraction_of_sgemm": convTrain / max(convSeconds, 1e-9) / 1e9 / sgemm,
      "breakdown_seconds": breakdown,
    ]
  }
}
