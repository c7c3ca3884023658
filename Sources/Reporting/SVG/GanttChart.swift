import Foundation

/// One step as it ran in one trial: a bar on its subsystem's lane.
public struct GanttSpan: Sendable, Equatable {
    public var name: String
    public var lane: String
    public var startSeconds: Double
    public var endSeconds: Double
    /// False for a step cut short by a fault or an abort: drawn with a dashed vermillion outline.
    public var completed: Bool
    /// The steps it belongs to, outermost first (`BLOCK-295 … › make_latiss_calibrations SDSSr_65mm`): the
    /// tooltip names the set (filter, configuration) a short bar label cannot.
    public var context: String
    public init(name: String, lane: String, startSeconds: Double, endSeconds: Double, completed: Bool = true, context: String = "") {
        self.context = context
        self.name = name
        self.lane = lane
        self.startSeconds = startSeconds
        self.endSeconds = endSeconds
        self.completed = completed
    }
}

/// Timeline of one trial, one lane per subsystem (dome, mount, lamp, wheels, detector, WCU ...). Steps that
/// overlap on one lane (a block and its sub-steps, or concurrent moves) go to extra rows of that lane so no
/// bar hides another. Every bar carries a tooltip with its step name and duration; labels are drawn inside
/// a bar, or just after it, only where they fit, so a lane of 120 exposures and readouts stays a clean
/// pattern rather than a smear of text.
public struct GanttChart: Sendable {
    public var title: String
    public var spans: [GanttSpan]
    /// Lane order top to bottom; lanes not listed follow in order of first use.
    public var laneOrder: [String]
    public var width: Double

    public init(title: String, spans: [GanttSpan], laneOrder: [String] = [], width: Double = 1200) {
        self.title = title
        self.spans = spans
        self.laneOrder = laneOrder
        self.width = width
    }

    static let rowHeight = 22.0
    static let laneGap = 8.0
    static let labelFont = 10.0

    /// Lanes in drawing order.
    public var lanes: [String] {
        var order = laneOrder.filter { lane in spans.contains { $0.lane == lane } }
        for span in spans where !order.contains(span.lane) { order.append(span.lane) }
        return order
    }

    /// Assigns each span (by index) a row within its lane: greedy interval packing in start order, which
    /// uses the fewest rows for intervals.
    func rows(forLane lane: String) -> [(index: Int, row: Int)] {
        let members = spans.indices.filter { spans[$0].lane == lane }.sorted {
            let a = spans[$0], b = spans[$1]
            if a.startSeconds != b.startSeconds { return a.startSeconds < b.startSeconds }
            // An instantaneous step (a 0 s bias) ends where the next one starts: first, on the same row.
            let aInstant = a.endSeconds <= a.startSeconds, bInstant = b.endSeconds <= b.startSeconds
            if aInstant != bInstant { return aInstant }
            // Otherwise longer first, so an enclosing block takes the upper row above its sub-steps.
            if a.endSeconds != b.endSeconds { return a.endSeconds > b.endSeconds }
            return $0 < $1
        }
        var rowEnds: [Double] = []
        var result: [(Int, Int)] = []
        for i in members {
            let span = spans[i]
            if let row = rowEnds.firstIndex(where: { $0 <= span.startSeconds + 1e-9 }) {
                rowEnds[row] = span.endSeconds
                result.append((i, row))
            } else {
                rowEnds.append(span.endSeconds)
                result.append((i, rowEnds.count - 1))
            }
        }
        return result
    }

    /// Time the lane is busy: the union of its steps' intervals.
    func busySeconds(lane: String) -> Double {
        let intervals = spans.filter { $0.lane == lane }.map { ($0.startSeconds, $0.endSeconds) }.sorted { $0.0 < $1.0 }
        var total = 0.0
        var current: (Double, Double)?
        for interval in intervals {
            if let c = current, interval.0 <= c.1 {
                current = (c.0, max(c.1, interval.1))
            } else {
                if let c = current { total += c.1 - c.0 }
                current = interval
            }
        }
        if let c = current { total += c.1 - c.0 }
        return total
    }

    /// The horizontal scale used for the bars (exposed so tests can check a bar's pixel range).
    func timeScale(left: Double) -> (scale: AxisScale, start: Double, end: Double, step: Double) {
        let start = min(0, spans.map(\.startSeconds).min() ?? 0)
        let lastEnd = max(spans.map(\.endSeconds).max() ?? 60, start + 1)
        let step = TimeTicks.step(forSpanSeconds: lastEnd - start)
        let end = (lastEnd / step).rounded(.up) * step
        return (AxisScale.linear(start, end, to: left, width - 110), start, end, step)
    }

    func leftMargin() -> Double {
        16 + min(160, tickLabelWidth(lanes, fontSize: 12)) + 12
    }

    public func svg() -> String {
        let lanes = self.lanes
        let left = leftMargin()
        let (x, start, end, step) = timeScale(left: left)
        let clock = end - start > 5400
        let laneRows = lanes.map { rows(forLane: $0) }
        let rowCounts = laneRows.map { ($0.map(\.row).max() ?? 0) + 1 }
        let top = 40.0
        let plotHeight = rowCounts.reduce(0.0) { $0 + Double($1) * Self.rowHeight + Self.laneGap }
        let area = PlotArea(left: left, top: top, width: x.rangeHigh - left, height: plotHeight)
        let height = top + plotHeight + 54

        let total = (spans.map(\.endSeconds).max() ?? 0) - (spans.map(\.startSeconds).min() ?? 0)
        let summary = "Timeline of \(spans.count) steps on \(lanes.count) lanes over \(formatDuration(seconds: total))"
        var canvas = SVGCanvas(width: width, height: height, title: title, summary: summary)
        canvas.heading()

        var tickTimes: [Double] = []
        var t = (start / step).rounded(.up) * step
        // Bounded: at a span of 1e300 s, t += step may not even move t.
        while t <= end + 1e-9 && tickTimes.count < 100 { tickTimes.append(t); t += step }
        canvas.xAxis(area, ticks: tickTimes.map { (x.map($0), TimeTicks.label(seconds: $0, step: step, clock: clock)) },
                     title: clock ? "Time since start (h:mm)" : "Time since start (min)")

        var laneTop = top
        for (laneIndex, lane) in lanes.enumerated() {
            let laneHeight = Double(rowCounts[laneIndex]) * Self.rowHeight
            let colour = Palette.colour(laneIndex)
            // Alternate lanes are shaded so a bar's lane is clear across a wide chart.
            if laneIndex % 2 == 0 {
                canvas.rect(x: area.left, y: laneTop, width: area.width, height: laneHeight + Self.laneGap / 2,
                            fill: "#f4f4f4")
            }
            canvas.text(truncated(lane, toWidth: 160, fontSize: 12), x: left - 10, y: laneTop + laneHeight / 2 + 4,
                        size: 12, anchor: .end, weight: "bold", cssClass: "lane-label", tooltip: lane)
            canvas.text("busy " + formatDuration(seconds: busySeconds(lane: lane)), x: area.right + 8,
                        y: laneTop + laneHeight / 2 + 4, size: 10, cssClass: "lane-busy")

            // Names alternate between two tones of the lane's colour (exposure dark, readout light), so a
            // long run of short steps reads as a pattern.
            var toneOfName: [String: Int] = [:]
            for (index, _) in laneRows[laneIndex] where toneOfName[spans[index].name] == nil {
                toneOfName[spans[index].name] = toneOfName.count % 2
            }

            // The next bar's start on the same row bounds where a label after a bar can go; a label goes
            // after a bar only when the bar stands apart from the one before it, else it would seem to
            // name the whole run of bars.
            var nextStartInRow: [Int: Double] = [:]
            var previousEndInRow: [Int: Double] = [:]
            let byRow = Dictionary(grouping: laneRows[laneIndex], by: \.row)
            for (_, members) in byRow {
                let ordered = members.map(\.index).sorted { spans[$0].startSeconds < spans[$1].startSeconds }
                for (k, index) in ordered.enumerated() {
                    nextStartInRow[index] = k + 1 < ordered.count ? x.map(spans[ordered[k + 1]].startSeconds) : area.right
                    previousEndInRow[index] = k > 0 ? x.map(spans[ordered[k - 1]].endSeconds) : area.left - 100
                }
            }

            canvas.openGroup(cssClass: "lane")
            for (index, row) in laneRows[laneIndex] {
                let span = spans[index]
                let x0 = x.map(span.startSeconds)
                let x1 = x.map(span.endSeconds)
                let barTop = laneTop + Double(row) * Self.rowHeight + 3
                let barHeight = Self.rowHeight - 6
                let fill = toneOfName[span.name] == 1 ? Palette.lighter(colour, by: 0.45) : colour
                let duration = span.endSeconds - span.startSeconds
                var tooltip = "\(span.name)\(span.context.isEmpty ? "" : ", in \(span.context)") (\(lane)): \(formatDuration(seconds: duration)), from "
                    + "\(formatClock(span.startSeconds)) to \(formatClock(span.endSeconds))"
                if !span.completed { tooltip += ", not completed" }
                // Zero or sub-pixel steps still get a hairline, so every step can be found by its tooltip.
                let drawnWidth = max(x1 - x0, 0.8)
                canvas.rect(x: x0, y: barTop, width: drawnWidth, height: barHeight, fill: fill,
                            stroke: span.completed ? "#ffffff" : Palette.categorical[3],
                            strokeWidth: span.completed ? 0.5 : 1.5, dashed: !span.completed, cssClass: "gantt-bar",
                            data: [("step", span.name), ("start-s", FixedNumber.format(span.startSeconds, decimals: 3)),
                                   ("end-s", FixedNumber.format(span.endSeconds, decimals: 3))],
                            tooltip: tooltip)
                let labelWidth = estimatedTextWidth(span.name, fontSize: Self.labelFont)
                let textColour = toneOfName[span.name] == 1 || laneIndex % Palette.categorical.count == 7 ? "#000000" : "#ffffff"
                if labelWidth + 8 <= x1 - x0 {
                    canvas.text(span.name, x: x0 + 4, y: barTop + barHeight / 2 + 3.5, size: Self.labelFont,
                                fill: textColour, cssClass: "bar-label")
                } else if let limit = nextStartInRow[index], x1 + 4 + labelWidth + 4 <= limit,
                          x0 - (previousEndInRow[index] ?? area.left) >= 6 {
                    canvas.text(span.name, x: x1 + 4, y: barTop + barHeight / 2 + 3.5, size: Self.labelFont,
                                cssClass: "bar-label")
                } else if x1 - x0 >= 60 {
                    // A wide bar with a long name shows the start of it; the tooltip has the whole name.
                    canvas.text(truncated(span.name, toWidth: x1 - x0 - 8, fontSize: Self.labelFont), x: x0 + 4,
                                y: barTop + barHeight / 2 + 3.5, size: Self.labelFont, fill: textColour, cssClass: "bar-label")
                }
            }
            canvas.closeGroup()
            laneTop += laneHeight + Self.laneGap
        }
        return canvas.render()
    }
}

/// "m:ss" below an hour, "h:mm:ss" above: tooltip times since the trial's start.
func formatClock(_ seconds: Double) -> String {
    guard seconds.isFinite, abs(seconds) < 1e15 else { return String(format: "%.3g s", seconds) }
    let s = Int(seconds.rounded())
    let h = s / 3600, m = (s % 3600) / 60, sec = s % 60
    func two(_ v: Int) -> String { v < 10 ? "0\(v)" : "\(v)" }
    return h > 0 ? "\(h):\(two(m)):\(two(sec))" : "\(m):\(two(sec))"
}
