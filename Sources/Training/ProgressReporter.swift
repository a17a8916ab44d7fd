import Foundation
import NN

#if canImport(Glibc)
  import Glibc
#endif

/// Prints training progress to stderr: one live line rewritten in place on a terminal, plain
/// lines about every 5% (or 30 s) otherwise, nothing when quiet.
final class ProgressReporter {
  let style: ProgressStyle
  let total: Int
  private var lastPrint = 0.0
  private var lastPlainStep = 0
  private var printedLive = false

  init(style: ProgressStyle, total: Int) {
    self.style = style
    self.total = total
  }

  func update(
    step: Int, loss: Float, accuracy: Float, pairsPerSecond: Double, stallPercent: Double,
    megabytesPerSecond: Double, eta: Double, inFlight: String? = nil
  ) {
    let now = NN.Clock.now()
    let line =
      "step \(step)/\(total)  loss \(fmt(Double(loss), 4))  acc \(fmt(Double(accuracy) * 100, 1))%  "
      + "\(fmt(pairsPerSecond, 1)) pairs/s  stall \(fmt(stallPercent, 1))%  "
      + "\(fmt(megabytesPerSecond, 2)) MB/s  \(inFlight.map { $0 + "  " } ?? "")"
      + "ETA \(Self.duration(eta))"
    switch style {
    case .quiet:
      return
    case .live:
      guard now - lastPrint >= 0.1 || step == total else { return }
      lastPrint = now
      printedLive = true
      emit("\r\u{1B}[K" + line)
    case .plain:
      let every = max(1, total / 20)
      guard step - lastPlainStep >= every || now - lastPrint >= 30 || step == total || step == 1
      else { return }
      lastPrint = now
      lastPlainStep = step
      emit(line + "\n")
    }
  }

  /// Ends the live line.
  func finish() {
    if style == .live && printedLive { emit("\n") }
  }

  private func emit(_ text: String) {
    FileHandle.standardError.write(Data(text.utf8))
  }

  private func fmt(_ value: Double, _ digits: Int) -> String {
    String(format: "%.\(digits)f", value.isFinite ? value : 0)
  }

  static func duration(_ seconds: Double) -> String {
    guard seconds.isFinite, seconds >= 0 else { return "--" }
    let s = Int(seconds.rounded())
    if s >= 3600 { return String(format: "%dh%02dm", s / 3600, (s % 3600) / 60) }
    if s >= 60 { return String(format: "%dm%02ds", s / 60, s % 60) }
    return "\(s)s"
  }
}
