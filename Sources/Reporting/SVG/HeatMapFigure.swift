import Foundation

/// One grid of a heat map: `values[row][column]`, row i at `yCentres[i]`, column j at `xCentres[j]`.
/// NaN marks a cell with no data (drawn grey).
public struct HeatMapGrid: Sendable, Equatable {
    public var title: String
    public var xCentres: [Double]
    public var yCentres: [Double]
    public var values: [[Double]]
    /// A note per cell for its tooltip (`notes[row][column]`, e.g. the local civil time a twilight
    /// procedure starts), or empty.
    public var notes: [[String]]
    public init(title: String, xCentres: [Double], yCentres: [Double], values: [[Double]], notes: [[String]] = []) {
        self.title = title
        self.xCentres = xCentres
        self.yCentres = yCentres
        self.values = values
        self.notes = notes
    }
}

/// Heat map (e.g. the twilight-flat feasibility map: date × start offset, colour = probability) with a
/// colour bar; several grids (one per band) become small multiples sharing one colour scale.
public struct HeatMapFigure: Sendable {
    public enum XAxisStyle: Sendable { case numeric, dayOfYear }

    public var title: String
    public var panels: [HeatMapGrid]
    public var xLabel: String
    public var yLabel: String
    public var colourLabel: String
    public var valueRange: ClosedRange<Double>
    public var xAxisStyle: XAxisStyle
    public var columns: Int
    public var panelWidth: Double
    public var panelHeight: Double

    public init(title: String, panels: [HeatMapGrid], xLabel: String, yLabel: String, colourLabel: String,
                valueRange: ClosedRange<Double> = 0...1, xAxisStyle: XAxisStyle = .numeric, columns: Int = 2,
                panelWidth: Double = 420, panelHeight: Double = 240) {
        self.title = title
        self.panels = panels
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.colourLabel = colourLabel
        self.valueRange = valueRange
        self.xAxisStyle = xAxisStyle
        self.columns = columns
        self.panelWidth = panelWidth
        self.panelHeight = panelHeight
    }

    /// The colour of a value on this map's scale.
    public func colour(for value: Double) -> String {
        guard value.isFinite else { return Palette.noData }
        let span = valueRange.upperBound - valueRange.lowerBound
        return Palette.sequential(span > 0 ? (value - valueRange.lowerBound) / span : 1)
    }

    /// Cell boundaries: midway between neighbouring centres, half a spacing beyond the outer ones, so
    /// uneven sampling (denser near an edge of feasibility) still tiles the plane.
    static func edges(_ centres: [Double]) -> [Double] {
        guard centres.count > 1 else {
            let c = centres.first ?? 0
            return [c - 0.5, c + 0.5]
        }
        var e = [centres[0] - (centres[1] - centres[0]) / 2]
        for k in 0..<(centres.count - 1) { e.append((centres[k] + centres[k + 1]) / 2) }
        e.append(centres[centres.count - 1] + (centres[centres.count - 1] - centres[centres.count - 2]) / 2)
        return e
    }

    static let monthStarts: [(day: Double, name: String)] = [
        (1, "Jan"), (32, "Feb"), (60, "Mar"), (91, "Apr"), (121, "May"), (152, "Jun"),
        (182, "Jul"), (213, "Aug"), (244, "Sep"), (274, "Oct"), (305, "Nov"), (335, "Dec"),
    ]

    /// Above this many cells per panel the per-cell tooltips are dropped to keep the page small.
    static let tooltipCellLimit = 4000

    public func svg() -> String {
        let columns = max(1, min(self.columns, panels.count))
        let rows = (panels.count + columns - 1) / max(1, columns)
        let yTicksAll = panels.map { p in Ticks.linear(min: Self.edges(p.yCentres).first ?? 0, max: Self.edges(p.yCentres).last ?? 1, target: 5) }
        let left = 24 + tickLabelWidth(yTicksAll.flatMap { t in t.values.map(t.label) }) + 28
        let cellWidth = left + panelWidth + 20
        let cellHeight = 24 + panelHeight + 50
        let colourBarLeft = Double(columns) * cellWidth + 10
        let width = colourBarLeft + 100
        let top = 36.0
        let height = top + Double(rows) * cellHeight + 10

        let summary = "Heat map of \(colourLabel) against \(xLabel) and \(yLabel), \(panels.count) panel(s), scale "
            + "\(FixedNumber.format(valueRange.lowerBound, decimals: 2))–\(FixedNumber.format(valueRange.upperBound, decimals: 2))"
        var canvas = SVGCanvas(width: width, height: height, title: title, summary: summary)
        canvas.heading()

        for (p, grid) in panels.enumerated() {
            let originX = Double(p % columns) * cellWidth
            let originY = top + Double(p / columns) * cellHeight
            let area = PlotArea(left: originX + left, top: originY + 24, width: panelWidth, height: panelHeight)
            let xe = Self.edges(grid.xCentres), ye = Self.edges(grid.yCentres)
            let xLow = xe.first ?? 0, xHigh = xe.last ?? 1
            let x = AxisScale.linear(xLow, xHigh, to: area.left, area.right)
            let yTicks = yTicksAll[p]
            // The y axis spans the grid exactly (no padding to nice ticks): cells fill the panel.
            let y = AxisScale.linear(ye.first ?? 0, ye.last ?? 1, to: area.bottom, area.top)

            if grid.title.isEmpty == false {
                canvas.text(grid.title, x: area.left, y: area.top - 8, size: 13, weight: "bold", cssClass: "panel-title")
            }
            let withTooltips = grid.xCentres.count * grid.yCentres.count <= Self.tooltipCellLimit
            canvas.openGroup(cssClass: "cells", crispEdges: true)
            for (i, row) in grid.values.enumerated() where i < grid.yCentres.count {
                for (j, value) in row.enumerated() where j < grid.xCentres.count {
                    let x0 = x.map(xe[j]), x1 = x.map(xe[j + 1])
                    let y0 = y.map(ye[i + 1]), y1 = y.map(ye[i])
                    let text = value.isFinite ? FixedNumber.format(value, decimals: 3) : "no data"
                    let note = i < grid.notes.count && j < grid.notes[i].count && !grid.notes[i][j].isEmpty ? "; \(grid.notes[i][j])" : ""
                    // Cells overlap by a hair so no white seams show between them when the browser scales.
                    canvas.rect(x: x0, y: y0, width: x1 - x0 + 0.3, height: y1 - y0 + 0.3, fill: colour(for: value),
                                cssClass: "cell", data: [("value", text)],
                                tooltip: withTooltips ? "\(xLabel) \(FixedNumber.format(grid.xCentres[j], decimals: 1)), "
                                    + "\(yLabel) \(FixedNumber.format(grid.yCentres[i], decimals: 1)): \(colourLabel) \(text)\(note)" : nil)
                }
            }
            canvas.closeGroup()
            let yTickPairs = yTicks.values.filter { $0 >= (ye.first ?? 0) - 1e-9 && $0 <= (ye.last ?? 1) + 1e-9 }
                .map { (y.map($0), yTicks.label($0)) }
            canvas.yAxis(area, ticks: yTickPairs, title: yLabel, grid: false, titleOffset: left - 18)
            switch xAxisStyle {
            case .numeric:
                let t = Ticks.linear(min: xLow, max: xHigh, target: 6)
                canvas.xAxis(area, ticks: t.values.filter { $0 >= xLow - 1e-9 && $0 <= xHigh + 1e-9 }.map { (x.map($0), t.label($0)) },
                             title: xLabel, grid: false)
            case .dayOfYear:
                // Ticks at the first of each month; the name sits mid-month, where it is read.
                canvas.xAxis(area, ticks: Self.monthStarts.filter { $0.day >= xLow && $0.day <= xHigh }.map { (x.map($0.day), "") },
                             title: xLabel, grid: false)
                for (k, month) in Self.monthStarts.enumerated() {
                    let nextDay = k + 1 < Self.monthStarts.count ? Self.monthStarts[k + 1].day : 366
                    let mid = (month.day + nextDay) / 2
                    if mid >= xLow && mid <= xHigh {
                        canvas.text(month.name, x: x.map(mid), y: area.bottom + 18, size: 11, anchor: .middle)
                    }
                }
            }
        }

        // Colour bar: stacked slices, no gradient definition (ids would clash between figures of a page).
        let barTop = top + 24, barHeight = min(panelHeight, 240.0), slices = 64
        canvas.openGroup(cssClass: "colour-bar", crispEdges: true)
        for k in 0..<slices {
            let f0 = Double(k) / Double(slices)
            let yk = barTop + barHeight * (1 - Double(k + 1) / Double(slices))
            canvas.rect(x: colourBarLeft, y: yk, width: 16, height: barHeight / Double(slices) + 0.3,
                        fill: Palette.sequential(f0 + 0.5 / Double(slices)))
        }
        canvas.rect(x: colourBarLeft, y: barTop, width: 16, height: barHeight, fill: "none", stroke: Palette.axis)
        let cTicks = Ticks.linear(min: valueRange.lowerBound, max: valueRange.upperBound, target: 5)
        for v in cTicks.values where v >= valueRange.lowerBound - 1e-9 && v <= valueRange.upperBound + 1e-9 {
            let span = valueRange.upperBound - valueRange.lowerBound
            let yv = barTop + barHeight * (1 - (span > 0 ? (v - valueRange.lowerBound) / span : 1))
            canvas.line(x1: colourBarLeft + 16, y1: yv, x2: colourBarLeft + 20, y2: yv, stroke: Palette.axis)
            canvas.text(cTicks.label(v), x: colourBarLeft + 23, y: yv + 4, size: 11)
        }
        canvas.text(colourLabel, x: colourBarLeft + 70, y: barTop + barHeight / 2, size: 12, anchor: .middle, rotate: 90,
                    cssClass: "axis-title")
        canvas.rect(x: colourBarLeft, y: barTop + barHeight + 14, width: 16, height: 10, fill: Palette.noData)
        canvas.text("no data", x: colourBarLeft + 22, y: barTop + barHeight + 23, size: 10)
        canvas.closeGroup()
        return canvas.render()
    }
}
