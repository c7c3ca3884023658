import Foundation

/// A metric's spread at one value of a swept parameter.
public struct SpreadPoint: Sendable, Equatable {
    public var x: Double
    public var p05: Double
    public var p50: Double
    public var p95: Double
    public init(x: Double, p05: Double, p50: Double, p95: Double) {
        self.x = x
        self.p05 = p05
        self.p50 = p50
        self.p95 = p95
    }
}

/// One named curve of a sweep (e.g. one plan, or one band).
public struct SpreadSeries: Sendable, Equatable {
    public var name: String
    public var points: [SpreadPoint]
    public init(name: String, points: [SpreadPoint]) {
        self.name = name
        self.points = points
    }
}

/// A metric against a swept value: the median as a line with markers, p05–p95 as a shaded band.
public struct SpreadLineFigure: Sendable {
    public var title: String
    public var series: [SpreadSeries]
    public var xLabel: String
    public var yLabel: String
    public var width: Double
    public var height: Double

    /// Few points (a two-point sweep) are drawn as points with error bars, not joined by a line and band.
    public var discrete: Bool
    /// What the band or bars span, for the legend ("p05–p95", "95 % interval").
    public var rangeLabel: String
    /// Names of a categorical axis (plans, bands): point x = k + 1 is drawn at category k, labelled so.
    public var categories: [String]

    public init(title: String, series: [SpreadSeries], xLabel: String, yLabel: String, width: Double = 720,
                height: Double = 380, discrete: Bool = false, rangeLabel: String = "p05–p95", categories: [String] = []) {
        self.categories = categories
        self.discrete = discrete || !categories.isEmpty
        self.rangeLabel = rangeLabel
        self.title = title
        self.series = series
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.width = width
        self.height = height
    }

    public func svg() -> String {
        let all = series.flatMap(\.points)
        var xLow = all.map(\.x).min() ?? 0, xHigh = all.map(\.x).max() ?? 1
        if discrete {
            // Room either side so the outermost error bars are not drawn on the frame.
            let pad = max((xHigh - xLow) * 0.25, abs(xHigh) * 0.05, 0.5)
            xLow -= pad
            xHigh += pad
        }
        if !categories.isEmpty { xLow = 0.5; xHigh = Double(categories.count) + 0.5 }
        let xTicks = Ticks.linear(min: xLow, max: xHigh, target: discrete ? 4 : 8)
        let yTicks = Ticks.linear(min: all.map { min($0.p05, $0.p50) }.min() ?? 0,
                                  max: all.map { max($0.p95, $0.p50) }.max() ?? 1, target: 6)
        let left = 24 + tickLabelWidth(yTicks.values.map(yTicks.label)) + 28
        let area = PlotArea(left: left, top: 58, width: width - left - 24, height: height - 58 - 50)
        let x = categories.isEmpty ? AxisScale.linear(xTicks.low, xTicks.high, to: area.left, area.right)
            : AxisScale.linear(xLow, xHigh, to: area.left, area.right)
        let xTickMarks = categories.isEmpty ? xTicks.values.map { (x.map($0), xTicks.label($0)) }
            : categories.enumerated().map { (x.map(Double($0.offset + 1)), $0.element) }
        func xName(_ v: Double) -> String {
            let k = Int(v.rounded()) - 1
            return categories.indices.contains(k) ? categories[k] : xTicks.label(v)
        }
        let y = AxisScale.linear(yTicks.low, yTicks.high, to: area.bottom, area.top)

        let summary = (discrete ? "Median (point) and \(rangeLabel) (error bar) of" : "Median (line) and \(rangeLabel) (band) of")
            + " \(yLabel) against \(xLabel), \(series.count) series"
        var canvas = SVGCanvas(width: width, height: height, title: title, summary: summary)
        canvas.heading()
        canvas.yAxis(area, ticks: yTicks.values.map { (y.map($0), yTicks.label($0)) }, title: yLabel, titleOffset: left - 18)
        canvas.xAxis(area, ticks: xTickMarks, title: xLabel)

        for (i, s) in series.enumerated() {
            let colour = Palette.colour(i)
            let points = s.points.sorted { $0.x < $1.x }
            canvas.openGroup(cssClass: "series")
            if discrete {
                for p in points {
                    let cx = x.map(p.x)
                    canvas.line(x1: cx, y1: y.map(p.p05), x2: cx, y2: y.map(p.p95), stroke: colour, width: 1.8, cssClass: "error-bar")
                    for v in [p.p05, p.p95] { canvas.line(x1: cx - 6, y1: y.map(v), x2: cx + 6, y2: y.map(v), stroke: colour, width: 1.8, cssClass: "error-cap") }
                }
            } else {
                let upper = points.map { (x.map($0.x), y.map($0.p95)) }
                let lower = points.reversed().map { (x.map($0.x), y.map($0.p05)) }
                canvas.polygon(upper + lower, fill: colour, opacity: 0.2, cssClass: "band")
                canvas.polyline(points.map { (x.map($0.x), y.map($0.p50)) }, stroke: colour, width: 2, cssClass: "median")
            }
            for p in points {
                canvas.circle(cx: x.map(p.x), cy: y.map(p.p50), r: 3.5, fill: colour, stroke: "#ffffff",
                              tooltip: "\(s.name) at \(xName(p.x)): p50 \(FixedNumber.format(p.p50, decimals: 3)), "
                                + "p05 \(FixedNumber.format(p.p05, decimals: 3)), p95 \(FixedNumber.format(p.p95, decimals: 3))",
                              cssClass: "median-point")
            }
            canvas.closeGroup()
        }
        canvas.legend(series.enumerated().map { (name: $0.element.name + " (p50, \(rangeLabel))", colour: Palette.colour($0.offset)) },
                      x: area.left, y: 44, band: true)
        return canvas.render()
    }
}
