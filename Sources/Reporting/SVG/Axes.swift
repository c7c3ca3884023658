import Foundation

/// Maps data values to pixels along one axis.
struct AxisScale {
    enum Kind { case linear, logarithmic }
    let kind: Kind
    let domainLow: Double
    let domainHigh: Double
    let rangeLow: Double
    let rangeHigh: Double

    static func linear(_ low: Double, _ high: Double, to r0: Double, _ r1: Double) -> AxisScale {
        AxisScale(kind: .linear, domainLow: low, domainHigh: high, rangeLow: r0, rangeHigh: r1)
    }

    static func logarithmic(_ low: Double, _ high: Double, to r0: Double, _ r1: Double) -> AxisScale {
        AxisScale(kind: .logarithmic, domainLow: low, domainHigh: high, rangeLow: r0, rangeHigh: r1)
    }

    func map(_ value: Double) -> Double {
        let t: Double
        switch kind {
        case .linear:
            let span = domainHigh - domainLow
            t = span == 0 ? 0.5 : (value - domainLow) / span
        case .logarithmic:
            let lo = log10(domainLow), hi = log10(domainHigh)
            t = hi == lo ? 0.5 : (log10(max(value, .leastNormalMagnitude)) - lo) / (hi - lo)
        }
        return rangeLow + t * (rangeHigh - rangeLow)
    }
}

/// Tick positions with "nice" values (1, 2, 2.5, 5 × 10^n), after Heckbert, "Nice numbers for graph
/// labels", Graphics Gems (1990).
struct Ticks {
    let low: Double
    let high: Double
    let step: Double
    let values: [Double]
    let decimals: Int

    static func niceNumber(_ x: Double, round: Bool) -> Double {
        guard x > 0, x.isFinite else { return 1 }
        let exponent = floor(log10(x))
        let fraction = x / pow(10, exponent)
        let nice: Double
        if round {
            nice = fraction < 1.5 ? 1 : fraction < 2.25 ? 2 : fraction < 3.5 ? 2.5 : fraction < 7.5 ? 5 : 10
        } else {
            nice = fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 2.5 ? 2.5 : fraction <= 5 ? 5 : 10
        }
        return nice * pow(10, exponent)
    }

    /// Decimals needed to print multiples of `step` exactly (2.5 needs one, 0.25 two, 50 none).
    static func decimals(forStep step: Double) -> Int {
        var d = 0
        while d < 8 {
            let scaled = step * pow(10, Double(d))
            if abs(scaled - scaled.rounded()) < 1e-6 * max(1, abs(scaled)) { return d }
            d += 1
        }
        return d
    }

    /// Ticks covering [min, max] with about `target` intervals; the axis is extended to whole ticks.
    static func linear(min lo: Double, max hi: Double, target: Int = 5) -> Ticks {
        var lo = lo, hi = hi
        if !lo.isFinite || !hi.isFinite { lo = 0; hi = 1 }
        if hi < lo { swap(&lo, &hi) }
        if hi == lo {
            // A constant sample still needs a readable axis around its value.
            let pad = lo == 0 ? 1 : abs(lo) * 0.1
            lo -= pad; hi += pad
        }
        let range = niceNumber(hi - lo, round: false)
        let step = niceNumber(range / Double(Swift.max(1, target)), round: true)
        let low = floor(lo / step + 1e-9) * step
        let high = ceil(hi / step - 1e-9) * step
        let count = Int(((high - low) / step).rounded())
        let values = (0...Swift.max(0, count)).map { low + Double($0) * step }
        return Ticks(low: low, high: high, step: step, values: values, decimals: decimals(forStep: step))
    }

    func label(_ value: Double) -> String { FixedNumber.format(value, decimals: decimals) }
}

/// Decade ticks for a logarithmic axis, with 2 and 5 in between when the axis spans few decades.
struct LogTicks {
    let low: Double
    let high: Double
    let values: [Double]

    static func covering(min lo: Double, max hi: Double) -> LogTicks {
        let lo = lo > 0 && lo.isFinite ? lo : 1
        let hi = hi > lo && hi.isFinite ? hi : lo * 10
        let e0 = floor(log10(lo) + 1e-9), e1 = ceil(log10(hi) - 1e-9)
        let decades = Swift.max(1, Int(e1 - e0))
        let multipliers: [Double] = decades <= 3 ? [1, 2, 5] : [1]
        var values: [Double] = []
        for e in Int(e0)...Int(e0) + decades {
            for m in multipliers {
                let v = m * pow(10, Double(e))
                if v >= pow(10, e0) * (1 - 1e-9) && v <= pow(10, e0 + Double(decades)) * (1 + 1e-9) { values.append(v) }
            }
        }
        return LogTicks(low: pow(10, e0), high: pow(10, e0 + Double(decades)), values: values)
    }

    static func label(_ value: Double) -> String {
        if value >= 1, value < 1e6 { return FixedNumber.format(value, decimals: 0) }
        if value < 1, value >= 1e-3 { return FixedNumber.format(value, decimals: Int(ceil(-log10(value) - 1e-9))) }
        let e = Int(floor(log10(value) + 1e-9))
        let m = value / pow(10, Double(e))
        return (abs(m - 1) < 1e-9 ? "" : FixedNumber.format(m, decimals: 0) + "×") + "10" + superscript(e)
    }
}

/// An integer in Unicode superscript digits, for "10⁶" on log axes.
func superscript(_ n: Int) -> String {
    let digits: [Character] = ["⁰", "¹", "²", "³", "⁴", "⁵", "⁶", "⁷", "⁸", "⁹"]
    return (n < 0 ? "⁻" : "") + String(String(abs(n)).compactMap { $0.wholeNumberValue.map { digits[$0] } })
}

/// Time ticks in seconds at steps a person reads at a glance (10 s, 1 min, 5 min, 15 min, 1 h ...).
enum TimeTicks {
    static let candidateSteps: [Double] = [
        1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1200, 1800, 3600, 7200, 10800, 21600, 43200, 86400,
    ]

    static func step(forSpanSeconds span: Double, target: Int = 10) -> Double {
        let ideal = span / Double(max(1, target))
        if let step = candidateSteps.first(where: { $0 >= ideal }) { return step }
        // Longer than ten days: 1, 2 or 5 × a power of ten days, so a span of any length gets ~target ticks.
        guard ideal.isFinite else { return .greatestFiniteMagnitude }
        let days = ideal / 86_400
        let decade = pow(10, floor(log10(days)))
        return 86_400 * decade * ([1.0, 2, 5, 10].first { $0 * decade >= days } ?? 10)
    }

    /// "m" minutes (with a decimal below 1-minute steps), or "h:mm" when the span passes 90 minutes.
    static func label(seconds: Double, step: Double, clock: Bool) -> String {
        guard abs(seconds) < 1e15 else { return String(format: "%.3g s", seconds) }
        if clock {
            let total = Int((seconds / 60).rounded())
            return "\(total / 60):" + (total % 60 < 10 ? "0" : "") + "\(total % 60)"
        }
        return FixedNumber.format(seconds / 60, decimals: step < 60 ? (step < 6 ? 2 : 1) : 0)
    }
}

/// Formats a duration for labels and tooltips: "42.0 s", "12.5 min", "1 h 05 min".
public func formatDuration(seconds: Double) -> String {
    // Beyond ~10^5 years (or not finite) hours and minutes would overflow an Int: say it in seconds.
    guard seconds.isFinite, abs(seconds) < 3e12 else { return String(format: "%.3g s", seconds) }
    if seconds < 120 { return FixedNumber.format(seconds, decimals: 1) + " s" }
    if seconds < 5400 { return FixedNumber.format(seconds / 60, decimals: 1) + " min" }
    let minutes = Int((seconds / 60).rounded())
    return "\(minutes / 60) h " + (minutes % 60 < 10 ? "0" : "") + "\(minutes % 60) min"
}

/// The plotting rectangle inside a figure.
struct PlotArea {
    let left: Double
    let top: Double
    let width: Double
    let height: Double
    var right: Double { left + width }
    var bottom: Double { top + height }
}

extension SVGCanvas {
    /// Horizontal axis along the bottom of `area`: ticks at pixel positions with labels, optional vertical
    /// grid lines, and the axis title (which carries the unit) centred below.
    mutating func xAxis(_ area: PlotArea, ticks: [(Double, String)], title: String, grid: Bool = true,
                        fontSize: Double = 11) {
        openGroup(cssClass: "x-axis")
        for (x, label) in ticks {
            if grid { line(x1: x, y1: area.top, x2: x, y2: area.bottom, stroke: Palette.grid, width: 0.8) }
            line(x1: x, y1: area.bottom, x2: x, y2: area.bottom + 5, stroke: Palette.axis)
            text(label, x: x, y: area.bottom + 18, size: fontSize, anchor: .middle)
        }
        line(x1: area.left, y1: area.bottom, x2: area.right, y2: area.bottom, stroke: Palette.axis)
        if !title.isEmpty {
            text(title, x: area.left + area.width / 2, y: area.bottom + 36, size: 12, anchor: .middle, cssClass: "axis-title")
        }
        closeGroup()
    }

    enum Side { case left, right }

    /// Vertical axis on one side of `area`, the title rotated alongside.
    mutating func yAxis(_ area: PlotArea, ticks: [(Double, String)], title: String, side: Side = .left,
                        grid: Bool = true, titleOffset: Double = 48, colour: String = Palette.axis) {
        openGroup(cssClass: side == .left ? "y-axis" : "y-axis-right")
        let x = side == .left ? area.left : area.right
        let tickEnd = side == .left ? x - 5 : x + 5
        for (y, label) in ticks {
            if grid { line(x1: area.left, y1: y, x2: area.right, y2: y, stroke: Palette.grid, width: 0.8) }
            line(x1: x, y1: y, x2: tickEnd, y2: y, stroke: colour)
            text(label, x: side == .left ? x - 8 : x + 8, y: y + 4, size: 11, anchor: side == .left ? .end : .start,
                 fill: colour)
        }
        line(x1: x, y1: area.top, x2: x, y2: area.bottom, stroke: colour)
        if !title.isEmpty {
            let tx = side == .left ? area.left - titleOffset : area.right + titleOffset
            let ty = area.top + area.height / 2
            text(title, x: tx, y: ty, size: 12, anchor: .middle, fill: colour, rotate: side == .left ? -90 : 90,
                 cssClass: "axis-title")
        }
        closeGroup()
    }

    /// A legend row of coloured swatches and names, left to right from (x, y).
    mutating func legend(_ entries: [(name: String, colour: String)], x: Double, y: Double, band: Bool = false) {
        openGroup(cssClass: "legend")
        var cx = x
        for entry in entries {
            if band {
                rect(x: cx, y: y - 9, width: 18, height: 10, fill: entry.colour, opacity: 0.25)
            }
            line(x1: cx, y1: y - 4, x2: cx + 18, y2: y - 4, stroke: entry.colour, width: 2.5)
            text(entry.name, x: cx + 23, y: y, size: 11)
            cx += 23 + estimatedTextWidth(entry.name, fontSize: 11) + 16
        }
        closeGroup()
    }
}

/// The width a vertical axis's tick labels need.
func tickLabelWidth(_ labels: [String], fontSize: Double = 11) -> Double {
    labels.map { estimatedTextWidth($0, fontSize: fontSize) }.max() ?? 0
}
