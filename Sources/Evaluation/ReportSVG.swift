import Foundation

/// A minimal SVG 1.1 writer: elements are appended as text, attribute values and text content
/// are XML-escaped, numbers are written with at most two decimals.
public struct SVGWriter: Sendable {
  private var body = ""
  /// Canvas size in pixels.
  public let width: Double
  public let height: Double

  public init(width: Double, height: Double) {
    self.width = width
    self.height = height
  }

  /// Escapes `&`, `<`, `>`, `"` and `'` for text and attribute values.
  public static func escape(_ s: String) -> String {
    var out = ""
    out.reserveCapacity(s.count)
    for c in s {
      switch c {
      case "&": out += "&amp;"
      case "<": out += "&lt;"
      case ">": out += "&gt;"
      case "\"": out += "&quot;"
      case "'": out += "&apos;"
      default: out.append(c)
      }
    }
    return out
  }

  /// A coordinate or length: integers without decimals, otherwise up to two decimals.
  static func number(_ v: Double) -> String {
    let r = (v * 100).rounded() / 100
    if r == r.rounded() && abs(r) < 1e15 { return String(Int(r)) }
    return String(format: "%.2f", r)
  }

  private static func attributes(_ pairs: [(String, String)]) -> String {
    pairs.map { " \($0.0)=\"\(escape($0.1))\"" }.joined()
  }

  /// A straight line.
  public mutating func line(
    x1: Double, y1: Double, x2: Double, y2: Double, stroke: String, width: Double = 1,
    dash: String? = nil
  ) {
    var a: [(String, String)] = [
      ("x1", Self.number(x1)), ("y1", Self.number(y1)), ("x2", Self.number(x2)),
      ("y2", Self.number(y2)), ("stroke", stroke), ("stroke-width", Self.number(width)),
    ]
    if let dash { a.append(("stroke-dasharray", dash)) }
    body += "<line\(Self.attributes(a))/>\n"
  }

  /// A rectangle.
  public mutating func rect(
    x: Double, y: Double, width: Double, height: Double, fill: String, stroke: String? = nil
  ) {
    var a: [(String, String)] = [
      ("x", Self.number(x)), ("y", Self.number(y)), ("width", Self.number(width)),
      ("height", Self.number(height)), ("fill", fill),
    ]
    if let stroke { a.append(("stroke", stroke)) }
    body += "<rect\(Self.attributes(a))/>\n"
  }

  /// A text label; `anchor` is `start`, `middle` or `end`.
  public mutating func text(
    _ s: String, x: Double, y: Double, size: Double = 12, anchor: String = "start",
    weight: String? = nil, family: String? = nil, fill: String = "#222"
  ) {
    var a: [(String, String)] = [
      ("x", Self.number(x)), ("y", Self.number(y)), ("font-size", Self.number(size)),
      ("text-anchor", anchor), ("fill", fill),
    ]
    if let weight { a.append(("font-weight", weight)) }
    if let family { a.append(("font-family", family)) }
    body += "<text\(Self.attributes(a))>\(Self.escape(s))</text>\n"
  }

  /// An open polyline through `points`; `extra` attributes (e.g. `data-run`) are added as given.
  public mutating func polyline(
    _ points: [(Double, Double)], stroke: String, width: Double = 1.5,
    extra: [(String, String)] = []
  ) {
    let list = points.map { "\(Self.number($0.0)),\(Self.number($0.1))" }.joined(separator: " ")
    let a: [(String, String)] =
      [
        ("points", list), ("fill", "none"), ("stroke", stroke),
        ("stroke-width", Self.number(width)), ("stroke-linejoin", "round"),
      ] + extra
    body += "<polyline\(Self.attributes(a))/>\n"
  }

  /// Opens a group (`<g>`) with the given attributes; close it with ``endGroup()``.
  public mutating func beginGroup(_ attributes: [(String, String)]) {
    body += "<g\(Self.attributes(attributes))>\n"
  }

  /// Closes the innermost group.
  public mutating func endGroup() { body += "</g>\n" }

  /// The complete document.
  public var document: String {
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      + "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"\(Self.number(width))\" "
      + "height=\"\(Self.number(height))\" viewBox=\"0 0 \(Self.number(width)) \(Self.number(height))\" "
      + "font-family=\"Helvetica, Arial, sans-serif\">\n" + body + "</svg>\n"
  }
}

/// Axis ticks at "nice" values (1, 2 or 5 × 10ⁿ apart) covering a range.
public enum NiceTicks {
  /// About `target` ticks covering `[low, high]`; returns the rounded-out range and the ticks.
  public static func ticks(
    low: Double, high: Double, target: Int = 5
  ) -> (low: Double, high: Double, ticks: [Double]) {
    var lo = low
    var hi = high
    if !(hi > lo) {
      let pad = lo == 0 ? 1 : abs(lo) * 0.1
      lo -= pad
      hi += pad
    }
    let raw = (hi - lo) / Double(max(1, target))
    let magnitude = pow(10, (log10(raw)).rounded(.down))
    let step = [1.0, 2, 5, 10].map { $0 * magnitude }.first { $0 >= raw } ?? 10 * magnitude
    let start = (lo / step).rounded(.down) * step
    let end = (hi / step).rounded(.up) * step
    // A step below the values' resolution (losses near 1e15 differing by 0.1) cannot separate
    // ticks: `start + step == start`, and stepping never reached `end`. Label the ends instead.
    if step > 0, start + step == start { return (lo, hi, [lo, hi]) }
    // Ticks by index, capped, so no range can loop for ever.
    var ticks: [Double] = []
    for k in 0...1000 {
      let v = start + Double(k) * step
      guard v <= end + step * 1e-9 else { break }
      ticks.append(abs(v) < step * 1e-9 ? 0 : v)
    }
    return (start, end, ticks)
  }

  /// A tick label: integers plainly, otherwise as few decimals as the step needs.
  public static func label(_ v: Double, step: Double) -> String {
    if abs(v) >= 10_000 && v == v.rounded() {
      return abs(v) >= 1e6 ? String(format: "%.3gM", v / 1e6) : String(format: "%.0fk", v / 1000)
    }
    let decimals = step >= 1 ? 0 : min(6, Int((-log10(step)).rounded(.up)))
    return String(format: "%.\(decimals)f", v)
  }
}

/// Renders the report: a 2×2 grid of training-curve panels (one polyline per run per panel, a
/// shared legend) and the evaluation table below.
public enum ReportSVG {
  static let palette = [
    "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf",
  ]

  /// The SVG document for `runs` and `table`.
  public static func render(runs: [RunCurves], table: EvaluationTable, title: String) -> String {
    let width = 1040.0
    let panelWidth = 480.0
    let panelHeight = 260.0
    let margin = (left: 64.0, right: 16.0, top: 28.0, bottom: 40.0)
    var y = 36.0
    // Layout first, so the canvas height is known.
    let legendRows = runs.isEmpty ? 0 : (runs.count + 3) / 4
    let curvesTop = y + 12 + Double(legendRows) * 18
    let curvesHeight = runs.isEmpty ? 0 : 2 * (panelHeight + 16)
    let tableTop = curvesTop + curvesHeight + (runs.isEmpty ? 0 : 20)
    let cells = table.cells
    let rowHeight = 18.0
    let tableHeight = cells.isEmpty ? 24 : Double(cells.count + 2) * rowHeight + 24
    var svg = SVGWriter(width: width, height: tableTop + tableHeight + 16)
    svg.rect(x: 0, y: 0, width: svg.width, height: svg.height, fill: "white")
    svg.text(title, x: 16, y: 24, size: 16, weight: "bold")

    // Legend.
    for (i, run) in runs.enumerated() {
      let lx = 16 + Double(i % 4) * 256
      let ly = y + 6 + Double(i / 4) * 18
      let color = palette[i % palette.count]
      svg.line(x1: lx, y1: ly, x2: lx + 24, y2: ly, stroke: color, width: 3)
      svg.text(run.name, x: lx + 30, y: ly + 4, size: 12)
    }
    y = curvesTop

    // Panels.
    for (p, panel) in RunCurves.panels.enumerated() where !runs.isEmpty {
      let px = 16 + Double(p % 2) * (panelWidth + 32)
      let py = y + Double(p / 2) * (panelHeight + 16)
      let plot = (
        x: px + margin.left, y: py + margin.top,
        w: panelWidth - margin.left - margin.right,
        h: panelHeight - margin.top - margin.bottom
      )
      svg.beginGroup([("class", "panel"), ("data-metric", panel.key)])
      svg.text(
        panel.title, x: px + panelWidth / 2, y: py + 16, size: 13, anchor: "middle", weight: "bold")
      svg.rect(x: plot.x, y: plot.y, width: plot.w, height: plot.h, fill: "none", stroke: "#999")

      let steps = runs.flatMap(\.steps)
      let xr = NiceTicks.ticks(
        low: Double(steps.min() ?? 0), high: Double(steps.max() ?? 1), target: 6)
      let values = runs.flatMap { $0.series[panel.key] ?? [] }.filter(\.isFinite)
      var low = values.min() ?? 0
      var high = values.max() ?? 1
      switch panel.key {
      case "accuracy":
        low = 0
        high = max(1, high)
      case "pairs_per_s", "stall_pct":
        low = min(0, low)
      default: break
      }
      let yr = NiceTicks.ticks(low: low, high: high, target: 5)
      func sx(_ v: Double) -> Double { plot.x + (v - xr.low) / (xr.high - xr.low) * plot.w }
      func sy(_ v: Double) -> Double {
        plot.y + plot.h - (v - yr.low) / (yr.high - yr.low) * plot.h
      }
      let xStep = xr.ticks.count > 1 ? xr.ticks[1] - xr.ticks[0] : 1
      let yStep = yr.ticks.count > 1 ? yr.ticks[1] - yr.ticks[0] : 1
      for t in xr.ticks {
        svg.line(x1: sx(t), y1: plot.y + plot.h, x2: sx(t), y2: plot.y + plot.h + 5, stroke: "#444")
        svg.line(x1: sx(t), y1: plot.y, x2: sx(t), y2: plot.y + plot.h, stroke: "#eee")
        svg.text(
          NiceTicks.label(t, step: xStep), x: sx(t), y: plot.y + plot.h + 18, size: 10,
          anchor: "middle")
      }
      for t in yr.ticks {
        svg.line(x1: plot.x - 5, y1: sy(t), x2: plot.x, y2: sy(t), stroke: "#444")
        svg.line(x1: plot.x, y1: sy(t), x2: plot.x + plot.w, y2: sy(t), stroke: "#eee")
        svg.text(
          NiceTicks.label(t, step: yStep), x: plot.x - 8, y: sy(t) + 3.5, size: 10, anchor: "end")
      }
      svg.text("step", x: plot.x + plot.w / 2, y: plot.y + plot.h + 34, size: 11, anchor: "middle")

      for (i, run) in runs.enumerated() {
        let series = run.series[panel.key] ?? []
        var points: [(Double, Double)] = []
        // At most ~2000 points per line: every k-th step.
        let every = max(1, run.steps.count / 2000)
        for (k, step) in run.steps.enumerated() where k % every == 0 || k == run.steps.count - 1 {
          let v = series[k]
          if v.isFinite { points.append((sx(Double(step)), sy(v))) }
        }
        svg.polyline(
          points, stroke: palette[i % palette.count],
          extra: [("class", "curve"), ("data-run", run.name)])
      }
      svg.endGroup()
    }

    // Evaluation table.
    svg.beginGroup([("class", "evaluation-table")])
    svg.text("Evaluation", x: 16, y: tableTop + 14, size: 14, weight: "bold")
    if cells.isEmpty {
      svg.text("(no evaluation results)", x: 120, y: tableTop + 14, size: 12, fill: "#777")
    } else {
      let header = EvaluationTable.header
      var widths = header.map { Double($0.count) }
      for row in cells {
        for (c, cell) in row.enumerated() { widths[c] = max(widths[c], Double(cell.count)) }
      }
      let charWidth = 6.6
      let scale = min(
        1, (width - 32) / (widths.reduce(0, +) * charWidth + Double(header.count) * 12))
      let fontSize = 11 * scale
      var xs: [Double] = []
      var x = 16.0
      for w in widths {
        xs.append(x)
        x += (w * charWidth + 12) * scale
      }
      let top = tableTop + 24
      svg.rect(x: 12, y: top, width: x - 12, height: rowHeight, fill: "#f0f0f0")
      for (c, h) in header.enumerated() {
        svg.text(h, x: xs[c], y: top + 13, size: fontSize, weight: "bold", family: "monospace")
      }
      for (r, row) in cells.enumerated() {
        let ry = top + Double(r + 1) * rowHeight
        if r % 2 == 1 { svg.rect(x: 12, y: ry, width: x - 12, height: rowHeight, fill: "#fafafa") }
        for (c, cell) in row.enumerated() {
          svg.text(cell, x: xs[c], y: ry + 13, size: fontSize, family: "monospace")
        }
      }
    }
    svg.endGroup()
    return svg.document
  }
}
