internal import CBLAS

#if canImport(Glibc)
  import Glibc
#endif

/// OpenBLAS controls. The training loop owns the BLAS threads: set them once, explicitly, so that
/// BLAS workers and the data pipeline's decode workers do not oversubscribe the cores.
public enum BLAS {
  /// Sets the number of OpenBLAS worker threads (the C function is `openblas_set_num_threads`).
  ///
  /// Tandem splits work over `count` threads itself (convolutions split the batch, each thread
  /// calling a single-threaded GEMM; BatchNorm/ReLU split channels), which scales better for
  /// these GEMM shapes than OpenBLAS's own threading, so OpenBLAS is kept at one thread and the
  /// total stays at `count`.
  public static func setThreads(_ count: Int) {
    _ = kernelSelection
    openblas_set_num_threads(1)
    Parallel.workers.store(min(max(1, count), Workspace.maxWorkers), ordering: .relaxed)
  }

  /// The OpenBLAS kernel family in use (`openblas_get_corename`, e.g. "Haswell", "SkylakeX").
  public static var coreName: String {
    _ = kernelSelection
    guard let p = openblas_get_corename() else { return "unknown" }
    return String(cString: p)
  }

  /// What ``kernelSelection`` did, for benchmark reports: nil when OpenBLAS's own choice was
  /// kept, else "Prescott → SkylakeX" and the like.
  public static var kernelOverride: String? { kernelSelection }

  /// Runs the kernel check now (it otherwise runs before the first GEMM or ``setThreads(_:)``).
  /// It may set the environment variable `OPENBLAS_CORETYPE`, and `setenv` is not safe while
  /// other threads read the environment, so executables call this first thing in `main`.
  public static func selectKernels() {
    _ = kernelSelection
  }

  /// OpenBLAS (0.3.21 in Debian 12) picks its kernels from a table of known CPU models; on a
  /// newer model it falls back to "Prescott", SSE3 kernels at a fifth of the speed the CPU can do
  /// (measured: 16 vs 81 GFLOP/s on one core of an Emerald Rapids VM). Runs once, before the
  /// first GEMM: when the user has not set `OPENBLAS_CORETYPE` and OpenBLAS chose a pre-AVX2
  /// core on a CPU that has AVX2+FMA (or AVX-512), it re-runs OpenBLAS's dynamic kernel
  /// selection with `OPENBLAS_CORETYPE` set to "Haswell" (AVX2) or "SkylakeX" (AVX-512). Both
  /// entry points are looked up with `dlsym`, so an OpenBLAS without runtime kernel selection
  /// (DYNAMIC_ARCH) is left as it is.
  private static let kernelSelection: String? = {
    guard getenv("OPENBLAS_CORETYPE") == nil, let p = openblas_get_corename() else { return nil }
    let before = String(cString: p)
    let current = before.lowercased()
    let weak = [
      "prescott", "core2", "penryn", "dunnington", "nehalem", "sandybridge", "atom", "nano",
      "katmai", "coppermine", "northwood", "banias", "opteron", "opteron_sse3", "barcelona",
      "bobcat", "bulldozer", "piledriver", "steamroller", "excavator", "unknown",
    ]
    guard weak.contains(current), let flags = cpuFlags() else { return nil }
    let target: String
    if ["avx512f", "avx512bw", "avx512vl", "avx512dq", "avx512cd"].allSatisfy(flags.contains) {
      target = "SkylakeX"
    } else if ["avx2", "fma"].allSatisfy(flags.contains) {
      target = "Haswell"
    } else {
      return nil
    }
    guard let quitSym = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "gotoblas_dynamic_quit"),
      let initSym = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "gotoblas_dynamic_init")
    else { return nil }
    typealias Hook = @convention(c) () -> Void
    setenv("OPENBLAS_CORETYPE", target, 1)
    unsafeBitCast(quitSym, to: Hook.self)()
    unsafeBitCast(initSym, to: Hook.self)()
    let now = openblas_get_corename().map { String(cString: $0) } ?? "unknown"
    return "\(before) → \(now)"
  }()

  /// The CPU feature flags of the first processor in `/proc/cpuinfo` (Linux), or nil.
  private static func cpuFlags() -> Set<String>? {
    guard let f = fopen("/proc/cpuinfo", "r") else { return nil }
    defer { fclose(f) }
    var line: UnsafeMutablePointer<CChar>?
    var cap = 0
    defer { free(line) }
    while getline(&line, &cap, f) > 0, let l = line {
      let s = String(cString: l)
      guard s.hasPrefix("flags") || s.hasPrefix("Features"), let colon = s.firstIndex(of: ":")
      else { continue }
      return Set(
        s[s.index(after: colon)...].split(whereSeparator: { $0 == " " || $0 == "\n" }).map(
          String.init))
    }
    return nil
  }

  /// The number of compute threads set by ``setThreads(_:)``.
  public static var threads: Int { Parallel.count }

  /// Row-major `C[m×n] = alpha · op(A) · op(B) + beta · C` (the C function is `cblas_sgemm`).
  /// `lda`, `ldb`, `ldc` are the row strides of A, B, C as stored.
  @inline(__always)
  static func sgemm(
    transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float = 1,
    a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
    beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
  ) {
    _ = kernelSelection
    cblas_sgemm(
      CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
      Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
  }

  /// Measures `cblas_sgemm` throughput for `C[m×n] = op(A)·op(B)` with inner dimension `k`
  /// (median of `repeats` calls), in GFLOP/s, on the calling thread with OpenBLAS at 1 thread.
  public static func measureSgemmGFLOPS(
    m: Int, n: Int, k: Int, transA: Bool = false, transB: Bool = false, repeats: Int = 5
  ) -> Double {
    let a = Tensor(shape: [m, k])
    let b = Tensor(shape: [k, n])
    let c = Tensor(shape: [m, n])
    for i in 0..<a.count { a.data[i] = Float(i % 7) * 0.1 }
    for i in 0..<b.count { b.data[i] = Float(i % 5) * 0.1 }
    var times: [Double] = []
    for r in 0...repeats {
      let t0 = Clock.now()
      sgemm(
        transA: transA, transB: transB, m: m, n: n, k: k, a: a.data, lda: transA ? m : k, b: b.data,
        ldb: transB ? k : n, beta: 0, c: c.data, ldc: n)
      if r > 0 { times.append(Clock.now() - t0) }
    }
    times.sort()
    return 2 * Double(m * n * k) / times[times.count / 2] / 1e9
  }

  /// Measures `cblas_sgemm` throughput on square `size`×`size` matrices, in GFLOP/s (median of
  /// `repeats` timed calls after one warm-up). Used as the roofline in benchmarks.
  /// OpenBLAS runs with ``threads`` threads for this measurement only.
  public static func measureSgemmGFLOPS(size: Int = 1024, repeats: Int = 5) -> Double {
    openblas_set_num_threads(Int32(threads))
    defer { openblas_set_num_threads(1) }
    let a = Tensor(shape: [size, size])
    let b = Tensor(shape: [size, size])
    let c = Tensor(shape: [size, size])
    for i in 0..<a.count {
      a.data[i] = Float(i % 7) * 0.1
      b.data[i] = Float(i % 5) * 0.1
    }
    var times: [Double] = []
    for r in 0...repeats {
      let t0 = Clock.now()
      sgemm(
        transA: false, transB: false, m: size, n: size, k: size, a: a.data, lda: size, b: b.data,
        ldb: size, beta: 0, c: c.data, ldc: size)
      if r > 0 { times.append(Clock.now() - t0) }
    }
    times.sort()
    return 2 * Double(size * size * size) / times[times.count / 2] / 1e9
  }
}
