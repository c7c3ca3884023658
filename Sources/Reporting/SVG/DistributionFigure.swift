import Foundation

/// A labelled value drawn as a vertical line across a distribution, e.g. ("p50", 3712 s).
public struct ValueMarker: Sendable, Equatable {
    public var label: String
    public var value: Double
    public init(label: String, value: Double) {
        self.label = label
        self.value = value
    }
}

/// Histogram or empirical CDF of one sample (e.g. the trials' `duration_s`), with markers such as p50 and
/// p95. The markers are given by the caller (from the study's statistics) so the figure shows the same
/// numbers as `summary.json`.
public struct DistributionFigure: Sendable {
    public enum Style: Sendable { case histogram, cumulative }

    public var title: String
    public var sample: [Double]
    /// What the values are, e.g. "Duration"; the axis reads "Duration (min)".
    public var quantity: String
    public var unit: String
    public var markers: [ValueMarker]
    public var style: Style
    /// Number of bins; nil picks a nice bin width from Sturges' rule.
    public var binCount: Int?
    public var width: Double
    public var height: Double

    public init(title: String, sample: [Double], quantity: String, unit: String, markers: [ValueMarker] = [],
                style: Style = .histogram, binCount: Int? = nil, width: Double = 720, height: Double = 360) {
        self.title = title
        self.sample = sample
        self.quantity = quantity
        self.unit = unit
        self.markers = markers
        self.style = style
        self.binCount = binCount
        self.width = width
        self.height = height
    }

    /// Up to this many values the CDF is drawn with one step per value.
    static let exactCDFLimit = 2000

    /// Bin edges and counts. Edges are multiples of a nice width, so bin boundaries read as round numbers.
    struct Bins {
        let edges: [Double]
        let counts: [Int]
    }

    func bins(finite values: [Double]) -> Bins {
        guard let lo = values.min(), let hi = values.max() else { return Bins(edges: [0, 1], counts: [0]) }
        // Sturges (1926): k = 1 + log2 n bins, capped so bars stay wider than a few pixels.
        let k = binCount ?? min(40, max(5, Int(ceil(log2(Double(values.count)))) + 1))
        let binWidth = hi > lo ? Ticks.niceNumber((hi - lo) / Double(max(1, k)), round: true) : max(1, abs(lo) * 0.05)
        let first = floor(lo / binWidth) * binWidth
        var n = Int(ceil((hi - first) / binWidth - 1e-9))
        // The top edge must lie above the maximum, so the maximum falls in the last bin, not beyond it.
        if first + Double(n) * binWidth <= hi { n += 1 }
        n = max(1, n)
        let edges = (0...n).map { first + Double($0) * binWidth }
        var counts = [Int](repeating: 0, count: n)
        for v in values {
            let i = min(n - 1, max(0, Int(((v - first) / binWidth).rounded(.down))))
            counts[i] += 1
        }
        return Bins(edges: edges, counts: counts)
    }

    public func svg() -> String {
        let values = sample.filter { $0.isFinite }
        let axisTitle = unit.isEmpty ? quantity : "\(quantity) (\(unit))"
        let summary = "\(style == .histogram ? "Histogram" : "Empirical cumulative distribution") of \(values.count) values of \(axisTitle)"
            + markers.map { "; \($0.label) = \(FixedNumber.format($0.value, decimals: 2)) \(unit)" }.joined()
        var canvas = SVGCanvas(width: width, height: height, title: title, summary: summary)
        canvas.heading()

        let histogramBins = bins(finite: values)
        let yTicks: Ticks
        let yTitle: String
        switch style {
        case .histogram:
            yTicks = Ticks.linear(min: 0, max: Double(max(1, histogramBins.counts.max() ?? 1)), target: 5)
            yTitle = "Trials"
        case .cumulative:
            yTicks = Ticks.linear(min: 0, max: 1, target: 5)
            yTitle = "Fraction of trials ≤ value"
        }
        let left = 24 + tickLabelWidth(yTicks.values.map(yTicks.label)) + 28
        // Room above the plot for the staggered marker labels.
        let area = PlotArea(left: left, top: 40 + 16 * Double(min(markers.count, 3)), width: width - left - 24,
                            height: height - (40 + 16 * Double(min(markers.count, 3))) - 50)
        let xLow = min(histogramBins.edges.first ?? 0, markers.map(\.value).min() ?? .infinity)
        let xHigh = max(histogramBins.edges.last ?? 1, markers.map(\.value).max() ?? -.infinity)
        let xTicks = Ticks.linear(min: xLow, max: xHigh, target: 8)
        let x = AxisScale.linear(xTicks.low, xTicks.high, to: area.left, area.right)
        let y = AxisScale.linear(yTicks.low, yTicks.high, to: area.bottom, area.top)

        canvas.yAxis(area, ticks: yTicks.values.map { (y.map($0), yTicks.label($0)) }, title: yTitle,
                     titleOffset: left - 18)
        canvas.xAxis(area, ticks: xTicks.values.map { (x.map($0), xTicks.label($0)) }, title: axisTitle)

        switch style {
        case .histogram:
            canvas.openGroup(cssClass: "bars")
            for (i, count) in histogramBins.counts.enumerated() where count > 0 {
                let x0 = x.map(histogramBins.edges[i]), x1 = x.map(histogramBins.edges[i + 1])
                let top = y.map(Double(count))
                let range = "\(FixedNumber.format(histogramBins.edges[i], decimals: xTicks.decimals + 1))–"
                    + "\(FixedNumber.format(histogramBins.edges[i + 1], decimals: xTicks.decimals + 1)) \(unit)"
                canvas.rect(x: x0, y: top, width: x1 - x0, height: area.bottom - top, fill: Palette.colour(0),
                            stroke: "#ffffff", strokeWidth: 0.6, cssClass: "bar", data: [("count", "\(count)")],
                            tooltip: "\(range): \(count) trials")
            }
            canvas.closeGroup()
        case .cumulative:
            let sorted = values.sorted()
            var points: [(Double, Double)] = [(x.map(sorted.first ?? xTicks.low), y.map(0))]
            if sorted.count <= Self.exactCDFLimit {
                for (i, v) in sorted.enumerated() {
                    // A step function: flat up to each value, then a jump of 1/n.
                    points.append((x.map(v), y.map(Double(i) / Double(sorted.count))))
                    points.append((x.map(v), y.map(Double(i + 1) / Double(sorted.count))))
                }
            } else {
                // Many trials: one vertical step per half pixel is all a screen shows, and keeps a
                // million-trial page small. Each step still lands exactly on the empirical fraction.
                var i = 0
                while i < sorted.count {
                    let column = (x.map(sorted[i]) * 2).rounded(.down)
                    var j = i
                    while j < sorted.count && (x.map(sorted[j]) * 2).rounded(.down) == column { j += 1 }
                    points.append((x.map(sorted[i]), y.map(Double(i) / Double(sorted.count))))
                    points.append((x.map(sorted[i]), y.map(Double(j) / Double(sorted.count))))
                    i = j
                }
            }
            points.append((area.right, y.map(1)))
            canvas.polyline(points, stroke: Palette.colour(0), width: 2, cssClass: "ecdf")
        }

        canvas.openGroup(cssClass: "markers")
        for (i, marker) in markers.enumerated() {
            let mx = x.map(marker.value)
            let colour = Palette.markerColours[i % Palette.markerColours.count]
            let labelY = area.top - 6 - 16 * Double(i % 3)
            canvas.line(x1: mx, y1: labelY + 4, x2: mx, y2: area.bottom, stroke: colour, width: 2, dashed: true,
                        cssClass: "marker", data: [("label", marker.label), ("value", FixedNumber.format(marker.value, decimals: 6))])
            let label = "\(marker.label) = \(FixedNumber.format(marker.value, decimals: xTicks.decimals + 1)) \(unit)"
            // Labels near the right edge grow leftwards so they are not cut off.
            let fitsRight = mx + 4 + estimatedTextWidth(label, fontSize: 11) < width - 4
            canvas.text(label, x: fitsRight ? mx + 4 : mx - 4, y: labelY, size: 11, anchor: fitsRight ? .start : .end,
                        weight: "bold", fill: colour, cssClass: "marker-label")
        }
        canvas.closeGroup()
        return canvas.render()
    }
}
