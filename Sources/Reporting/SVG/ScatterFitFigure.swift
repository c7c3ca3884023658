import Foundation

/// Measured points of one series (e.g. one amplifier's PTC pairs).
public struct ScatterSeries: Sendable, Equatable {
    public var name: String
    public var x: [Double]
    public var y: [Double]
    public init(name: String, x: [Double], y: [Double]) {
        self.name = name
        self.x = x
        self.y = y
    }
}

/// Points with a fitted curve, on linear or log-log axes: the photon transfer curve (variance against mean,
/// with the Astier et al. 2019 fit and the turnoff marked) is the main use.
public struct ScatterFitFigure: Sendable {
    public var title: String
    public var points: [ScatterSeries]
    /// The fitted model evaluated on a fine grid, drawn as a line.
    public var fit: ScatterSeries?
    public var xLabel: String
    public var yLabel: String
    public var logarithmic: Bool
    /// Vertical markers (e.g. the PTC turnoff).
    public var markers: [ValueMarker]
    /// Lines of text in the upper left (e.g. "gain = 1.10 e⁻/ADU").
    public var notes: [String]
    public var width: Double
    public var height: Double

    public init(title: String, points: [ScatterSeries], fit: ScatterSeries? = nil, xLabel: String, yLabel: String,
                logarithmic: Bool = true, markers: [ValueMarker] = [], notes: [String] = [], width: Double = 720,
                height: Double = 420) {
        self.title = title
        self.points = points
        self.fit = fit
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.logarithmic = logarithmic
        self.markers = markers
        self.notes = notes
        self.width = width
        self.height = height
    }

    public func svg() -> String {
        let usable: (Double, Double) -> Bool = { [logarithmic] a, b in
            a.isFinite && b.isFinite && (!logarithmic || (a > 0 && b > 0))
        }
        let seriesAll = points + (fit.map { [$0] } ?? [])
        let pairs = seriesAll.flatMap { s in zip(s.x, s.y).filter { usable($0.0, $0.1) } }
        let xs = pairs.map(\.0) + markers.map(\.value).filter { !logarithmic || $0 > 0 }
        let ys = pairs.map(\.1)
        let xTickValues: [Double], xLabels: [String], yTickValues: [Double], yLabels: [String]
        let xLow: Double, xHigh: Double, yLow: Double, yHigh: Double
        if logarithmic {
            let tx = LogTicks.covering(min: xs.min() ?? 1, max: xs.max() ?? 10)
            let ty = LogTicks.covering(min: ys.min() ?? 1, max: ys.max() ?? 10)
            (xTickValues, xLabels, xLow, xHigh) = (tx.values, tx.values.map(LogTicks.label), tx.low, tx.high)
            (yTickValues, yLabels, yLow, yHigh) = (ty.values, ty.values.map(LogTicks.label), ty.low, ty.high)
        } else {
            let tx = Ticks.linear(min: xs.min() ?? 0, max: xs.max() ?? 1, target: 8)
            let ty = Ticks.linear(min: ys.min() ?? 0, max: ys.max() ?? 1, target: 6)
            (xTickValues, xLabels, xLow, xHigh) = (tx.values, tx.values.map(tx.label), tx.low, tx.high)
            (yTickValues, yLabels, yLow, yHigh) = (ty.values, ty.values.map(ty.label), ty.low, ty.high)
        }
        let left = 24 + tickLabelWidth(yLabels) + 28
        let area = PlotArea(left: left, top: 58, width: width - left - 24, height: height - 58 - 50)
        let x = logarithmic ? AxisScale.logarithmic(xLow, xHigh, to: area.left, area.right)
            : AxisScale.linear(xLow, xHigh, to: area.left, area.right)
        let y = logarithmic ? AxisScale.logarithmic(yLow, yHigh, to: area.bottom, area.top)
            : AxisScale.linear(yLow, yHigh, to: area.bottom, area.top)

        let summary = "\(yLabel) against \(xLabel)\(logarithmic ? " (log-log)" : "")" + (fit.map { ", with \($0.name)" } ?? "")
        var canvas = SVGCanvas(width: width, height: height, title: title, summary: summary)
        canvas.heading()
        canvas.yAxis(area, ticks: zip(yTickValues, yLabels).map { (y.map($0.0), $0.1) }, title: yLabel, titleOffset: left - 18)
        canvas.xAxis(area, ticks: zip(xTickValues, xLabels).map { (x.map($0.0), $0.1) }, title: xLabel)

        // The fit goes under the points so every measured point stays visible.
        if let fit {
            let curve = zip(fit.x, fit.y).filter { usable($0.0, $0.1) }.sorted { $0.0 < $1.0 }
            canvas.polyline(curve.map { (x.map($0.0), y.map($0.1)) }, stroke: "#000000", width: 1.8, cssClass: "fit")
        }
        for (i, s) in points.enumerated() {
            canvas.openGroup(cssClass: "points")
            for (px, py) in zip(s.x, s.y) where usable(px, py) {
                canvas.circle(cx: x.map(px), cy: y.map(py), r: 3, fill: Palette.colour(i), cssClass: "point")
            }
            canvas.closeGroup()
        }
        for (i, marker) in markers.enumerated() where !logarithmic || marker.value > 0 {
            let mx = x.map(marker.value)
            let colour = Palette.markerColours[(i + 1) % Palette.markerColours.count]
            canvas.line(x1: mx, y1: area.top, x2: mx, y2: area.bottom, stroke: colour, width: 1.5, dashed: true,
                        cssClass: "marker", data: [("label", marker.label)])
            canvas.text(marker.label, x: mx - 4, y: area.top + 14 + 14 * Double(i), size: 11, anchor: .end, fill: colour)
        }
        var entries = points.enumerated().map { (name: $0.element.name, colour: Palette.colour($0.offset)) }
        if let fit { entries.append((name: fit.name, colour: "#000000")) }
        canvas.legend(entries, x: area.left, y: 44)
        for (k, note) in notes.enumerated() {
            canvas.text(note, x: area.left + 10, y: area.top + 18 + 15 * Double(k), size: 11, cssClass: "note")
        }
        return canvas.render()
    }
}
