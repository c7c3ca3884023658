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

    public init(yLabel: String, times: [Double], values: [Double], style: Style = .line, logarithmic: Bool = false) {
        self.yLabel = yLabel
        self.times = times
        self.values = values
        self.style = style
        self.logarithmic = logarithmic
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
        let height = top + Double(panels.count) * (panelHeight + gap) + 30

        let summary = panels.map(\.yLabel).joined(separator: " and ") + " against \(timeLabel)"
        var canvas = SVGCanvas(width: width, height: height, title: title, summary: summary)
        canvas.heading()
        let x = AxisScale.linear(xTicks.low, xTicks.high, to: left, width - 24)

        for (i, panel) in panels.enumerated() {
            let area = PlotArea(left: left, top: top + Double(i) * (panelHeight + gap), width: width - left - 24,
                                height: panelHeight)
            let def = yDefinitions[i]
            let y = def.log ? AxisScale.logarithmic(def.low, def.high, to: area.bottom, area.top)
                : AxisScale.linear(def.low, def.high, to: area.bottom, area.top)
            let colour = Palette.colour(i)
            canvas.yAxis(area, ticks: zip(def.values, def.labels).map { (y.map($0.0), $0.1) }, title: panel.yLabel,
                         titleOffset: left - 18, colour: Palette.axis)
            let last = i == panels.count - 1
            // Only the bottom panel carries tick labels and the axis title; the others get gridlines only.
            canvas.xAxis(area, ticks: xTicks.values.map { (x.map($0), last ? xTicks.label($0) : "") },
                         title: last ? timeLabel : "")
            let points = zip(panel.times, panel.values)
                .filter { $0.0.isFinite && $0.1.isFinite && (!panel.logarithmic || $0.1 > 0) }
                .sorted { $0.0 < $1.0 }
            canvas.openGroup(cssClass: "series")
            switch panel.style {
            case .line:
                canvas.polyline(points.map { (x.map($0.0), y.map($0.1)) }, stroke: colour, width: 2)
            case .steps:
                var path: [(Double, Double)] = []
                for (k, p) in points.enumerated() {
                    if k > 0 { path.append((x.map(p.0), y.map(points[k - 1].1))) }
                    path.append((x.map(p.0), y.map(p.1)))
                }
                canvas.polyline(path, stroke: colour, width: 2)
            case .markers:
                break
            }
            if panel.style != .line || points.count <= 60 {
                for p in points {
                    canvas.circle(cx: x.map(p.0), cy: y.map(p.1), r: panel.style == .markers ? 3.5 : 2.5, fill: colour,
                                  tooltip: "\(xTicks.label(p.0)): \(FixedNumber.format(p.1, decimals: 4))", cssClass: "sample")
                }
            }
            canvas.closeGroup()
        }
        return canvas.render()
    }
}
