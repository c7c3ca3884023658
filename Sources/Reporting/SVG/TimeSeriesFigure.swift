import Foundation

/// One panel of stacked time series sharing the time axis (e.g. sky level, then chosen DIT).
public struct TimeSeriesPanel: Sendable, Equatable {
    public enum Style: Sendable, Equatable {
        case line
        /// A value held until the next sample (a chosen exposure time).
        case steps
        case markers
    }

    public var yLabel: String
    public var times: [Double]
    public var values: [Double]
    public var style: Style
    /// Logarithmic y axis, for quantities that change by decades (a twilight sky's brightness).
    public var logarithmic: Bool
    /// The kind of each sample (an image type), or empty: each kind gets its own colour, marker and legend
    /// entry, so a BIAS at 10 ADU is not read as a failed FLAT.
    public var kinds: [String]

    public init(yLabel: String, times: [Double], values: [Double], style: Style = .line, logarithmic: Bool = false,
                kinds: [String] = []) {
        self.yLabel = yLabel
        self.times = times
        self.values = values
        self.style = style
        self.logarithmic = logarithmic
        self.kinds = kinds
    }

    /// The kinds in order of first appearance; one unnamed kind if the samples carry none.
    var kindOrder: [String] {
        var seen: [String] = []
        for k in kinds where !seen.contains(k) { seen.append(k) }
        return seen.isEmpty ? [""] : seen
    }
}

/// Marker shapes by kind, so kinds stay apart in greyscale print too.
enum SampleMarker: CaseIterable {
    case circle, square, triangle, diamond

    static func of(_ index: Int) -> SampleMarker { allCases[index % allCases.count] }

    func draw(_ canvas: inout SVGCanvas, x: Double, y: Double, r: Double, fill: String, tooltip: String?,
              cssClass: String = "sample") {
        let c = { (v: Double) in FixedNumber.coordinate(v) }
        let title = tooltip.map { "<title>\(xmlEscaped($0))</title>" } ?? ""
        switch self {
        case .circle:
            canvas.circle(cx: x, cy: y, r: r, fill: fill, tooltip: tooltip, cssClass: cssClass)
        case .square:
            canvas.rect(x: x - r, y: y - r, width: 2 * r, height: 2 * r, fill: fill, cssClass: cssClass, tooltip: tooltip)
        case .triangle:
            let h = r * 1.3
            canvas.raw("<polygon points=\"\(c(x)),\(c(y - h)) \(c(x - h)),\(c(y + h * 0.8)) \(c(x + h)),\(c(y + h * 0.8))\" fill=\"\(fill)\" class=\"\(cssClass)\">\(title)</polygon>")
        case .diamond:
            let h = r * 1.4
            canvas.raw("<polygon points=\"\(c(x)),\(c(y - h)) \(c(x + h)),\(c(y)) \(c(x)),\(c(y + h)) \(c(x - h)),\(c(y))\" fill=\"\(fill)\" class=\"\(cssClass)\">\(title)</polygon>")
        }
    }
}

/// Panels stacked vertically over one shared time axis: two quantities with different units stay on their
/// own scales without the ambiguity of a twin-axis plot.
public struct TimeSeriesFigure: Sendable {
    public var title: String
    public var timeLabel: String
    public var panels: [TimeSeriesPanel]
    public var width: Double
    public var panelHeight: Double

    public init(title: String, timeLabel: String, panels: [TimeSeriesPanel], width: Double = 720,
                panelHeight: Double = 170) {
        self.title = title
        self.timeLabel = timeLabel
        self.panels = panels
        self.width = width
        self.panelHeight = panelHeight
    }

    public func svg() -> String {
        let allTimes = panels.flatMap(\.times).filter(\.isFinite)
        let xTicks = Ticks.linear(min: allTimes.min() ?? 0, max: allTimes.max() ?? 1, target: 8)

        // Vertical axes per panel, computed first so every panel gets the same left margin.
        var yLabelWidths: [Double] = []
        var yDefinitions: [(low: Double, high: Double, values: [Double], labels: [String], log: Bool)] = []
        for panel in panels {
            let finite = zip(panel.times, panel.values).map(\.1).filter { $0.isFinite && (!panel.logarithmic || $0 > 0) }
            if panel.logarithmic {
                let t = LogTicks.covering(min: finite.min() ?? 1, max: finite.max() ?? 10)
                yDefinitions.append((t.low, t.high, t.values, t.values.map(LogTicks.label), true))
            } else {
                let t = Ticks.linear(min: finite.min() ?? 0, max: finite.max() ?? 1, target: 4)
                yDefinitions.append((t.low, t.high, t.values, t.values.map(t.label), false))
            }
            yLabelWidths.append(tickLabelWidth(yDefinitions[yDefinitions.count - 1].labels))
        }
        let left = 24 + (yLabelWidths.max() ?? 0) + 28
        let top = 36.0
        let gap = 24.0
        // A panel with several kinds gets a legend row above it.
        let legendRow = 20.0
        var panelTops: [Double] = []
        var nextTop = top
        for panel in panels {
            if panel.kindOrder.count > 1 { nextTop += legendRow }
            panelTops.append(nextTop)
            nextTop += panelHeight + gap
        }
        let height = nextTop + 30

        let summary = panels.map(\.yLabel).joined(separator: " and ") + " against \(timeLabel)"
        var canvas = SVGCanvas(width: width, height: height, title: title, summary: summary)
        canvas.heading()
        let x = AxisScale.linear(xTicks.low, xTicks.high, to: left, width - 24)

        for (i, panel) in panels.enumerated() {
            let area = PlotArea(left: left, top: panelTops[i], width: width - left - 24, height: panelHeight)
            let def = yDefinitions[i]
            let y = def.log ? AxisScale.logarithmic(def.low, def.high, to: area.bottom, area.top)
                : AxisScale.linear(def.low, def.high, to: area.bottom, area.top)
            let kinds = panel.kindOrder
            func colour(_ k: Int) -> String { Palette.colour(kinds.count > 1 ? k : i) }
            canvas.yAxis(area, ticks: zip(def.values, def.labels).map { (y.map($0.0), $0.1) }, title: panel.yLabel,
                         titleOffset: left - 18, colour: Palette.axis)
            let last = i == panels.count - 1
            // Only the bottom panel carries tick labels and the axis title; the others get gridlines only.
            canvas.xAxis(area, ticks: xTicks.values.map { (x.map($0), last ? xTicks.label($0) : "") },
                         title: last ? timeLabel : "")
            if kinds.count > 1 {
                drawLegend(&canvas, kinds: kinds, colour: colour, x: area.left, y: area.top - 8)
            }
            for (k, kind) in kinds.enumerated() {
                let points = panel.times.indices
                    .filter { panel.kinds.isEmpty || panel.kinds[$0] == kind }
                    .map { (panel.times[$0], panel.values[$0]) }
                    .filter { $0.0.isFinite && $0.1.isFinite && (!panel.logarithmic || $0.1 > 0) }
                    .sorted { $0.0 < $1.0 }
                canvas.openGroup(cssClass: "series")
                switch panel.style {
                case .line:
                    canvas.polyline(points.map { (x.map($0.0), y.map($0.1)) }, stroke: colour(k), width: 2)
                case .steps:
                    var path: [(Double, Double)] = []
                    for (n, p) in points.enumerated() {
                        if n > 0 { path.append((x.map(p.0), y.map(points[n - 1].1))) }
                        path.append((x.map(p.0), y.map(p.1)))
                    }
                    canvas.polyline(path, stroke: colour(k), width: 2)
                case .markers:
                    break
                }
                if panel.style != .line || points.count <= 60 {
                    let marker = SampleMarker.of(k)
                    let prefix = kind.isEmpty ? "" : kind + " at "
                    for p in points {
                        marker.draw(&canvas, x: x.map(p.0), y: y.map(p.1), r: panel.style == .markers ? 3.5 : 2.5, fill: colour(k),
                                    tooltip: "\(prefix)\(xTicks.label(p.0)): \(FixedNumber.format(p.1, decimals: 4))")
                    }
                }
                canvas.closeGroup()
            }
        }
        return canvas.render()
    }

    /// A legend row of each kind's marker and name.
    private func drawLegend(_ canvas: inout SVGCanvas, kinds: [String], colour: (Int) -> String, x: Double, y: Double) {
        canvas.openGroup(cssClass: "legend")
        var cx = x
        for (k, kind) in kinds.enumerated() {
            SampleMarker.of(k).draw(&canvas, x: cx + 5, y: y - 4, r: 4, fill: colour(k), tooltip: nil, cssClass: "legend-marker")
            canvas.text(kind, x: cx + 14, y: y, size: 11)
            cx += 14 + estimatedTextWidth(kind, fontSize: 11) + 16
        }
        canvas.closeGroup()
    }
}
