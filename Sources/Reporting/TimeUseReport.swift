import Experiments
import Foundation
import SimKernel

/// "Where the time goes": the mean duration of the completed trials cut into time uses
/// (`TimeUseAttribution`), for summary.json, summary.md and the stacked bar of report.html.
public enum TimeUseReport {
    public struct Row: Sendable, Equatable {
        public let use: TimeUse
        /// Mean over the completed trials and its standard error (sd/√n).
        public let meanSeconds: Double
        public let standardErrorSeconds: Double
        /// Mean seconds / mean completed duration; the shares add up to 1.
        public let share: Double
    }

    /// The rows in `TimeUse` order with the mean completed duration and the trial count; nil when no trial
    /// completed or the state predates the breakdown.
    public static func rows(_ p: PointState) -> (rows: [Row], meanSeconds: Double, trials: UInt64)? {
        guard let total = p.completedDuration.mean, total > 0, !p.timeUse.isEmpty else { return nil }
        let n = p.completedDuration.count
        let rows = TimeUse.allCases.map { use -> Row in
            let r = p.timeUse[use] ?? RunningStatistics()
            let mean = r.mean ?? 0
            let se = r.count > 1 ? (r.standardDeviation ?? 0) / Double(r.count).squareRoot() : 0
            return Row(use: use, meanSeconds: mean, standardErrorSeconds: se, share: mean / total)
        }
        return (rows, total, n)
    }

    public static func json(_ p: PointState) -> JSONValue? {
        guard let r = rows(p) else { return nil }
        return .object([
            "trials": .uint(r.trials),
            "mean_duration_s": .double(r.meanSeconds),
            "uses": .array(r.rows.map { row in
                .object([
                    "use": .string(row.use.rawValue), "label": .string(row.use.label),
                    "mean_s": .double(row.meanSeconds), "se_s": .double(row.standardErrorSeconds),
                    "share": .double(row.share), "share_se": .double(row.standardErrorSeconds / r.meanSeconds),
                ])
            }),
        ])
    }

    /// One line: each use's share and mean seconds, largest first.
    public static func line(_ p: PointState) -> String? {
        guard let r = rows(p) else { return nil }
        let parts = r.rows.filter { $0.meanSeconds > 0 }.sorted { ($0.share, $1.use) > ($1.share, $0.use) }.map {
            String(format: "%@ %.1f %% (%@ ± %@)", $0.use.label, 100 * $0.share, formatDuration(seconds: $0.meanSeconds),
                   formatDuration(seconds: $0.standardErrorSeconds))
        }
        return "Where the time goes (mean of \(r.trials) completed trials, \(formatDuration(seconds: r.meanSeconds))): " + parts.joined(separator: ", ") + "."
    }

    public static func figure(_ p: PointState, title: String) -> String? {
        guard let r = rows(p) else { return nil }
        return TimeUseFigure(title: title, meanSeconds: r.meanSeconds,
                             parts: r.rows.map { ($0.use.label, $0.meanSeconds, $0.standardErrorSeconds) }).svg()
    }

    public static let caption = "The mean duration of the completed trials as one bar, cut by what the time is spent on. Each instant goes to the innermost steps running then (the leaves of the step tree; a step's own time outside its sub-steps counts under that step's use); steps in parallel share the instants they overlap equally, so nothing is counted twice and the parts add up to the mean duration. ± is the standard error of each mean; the numbers are in summary.json (time_use)."
}

/// One horizontal bar of `meanSeconds`, stacked by part, with a legend row per part below it.
public struct TimeUseFigure: Sendable {
    public var title: String
    public var meanSeconds: Double
    public var parts: [(label: String, seconds: Double, standardError: Double)]
    public var width: Double = 900

    public init(title: String, meanSeconds: Double, parts: [(label: String, seconds: Double, standardError: Double)]) {
        self.title = title
        self.meanSeconds = meanSeconds
        self.parts = parts
    }

    static let rowHeight = 18.0

    public func svg() -> String {
        let shown = parts.enumerated().filter { $0.element.seconds > 0 }
        let left = 20.0, right = width - 30, top = 44.0, barHeight = 34.0
        let axisY = top + barHeight
        let legendTop = axisY + 48
        let height = legendTop + Double(shown.count) * Self.rowHeight + 12
        let inMinutes = meanSeconds >= 300
        let divisor = inMinutes ? 60.0 : 1
        let ticks = Ticks.linear(min: 0, max: max(meanSeconds / divisor, 1e-9), target: 8)
        let x = AxisScale.linear(0, max(ticks.high, meanSeconds / divisor), to: left, right)
        var canvas = SVGCanvas(width: width, height: height, title: title,
                               summary: "Stacked bar of the mean duration by time use: " + shown.map { "\($0.element.label) \(formatDuration(seconds: $0.element.seconds))" }.joined(separator: ", "))
        canvas.heading()
        canvas.openGroup(cssClass: "time-use")
        var at = 0.0
        for (i, part) in shown {
            let x0 = x.map(at / divisor), x1 = x.map((at + part.seconds) / divisor)
            let share = 100 * part.seconds / meanSeconds
            canvas.rect(x: x0, y: top, width: x1 - x0, height: barHeight, fill: Palette.colour(i), cssClass: "time-use-part",
                        data: [("use", part.label), ("mean-s", FixedNumber.format(part.seconds, decimals: 3))],
                        tooltip: "\(part.label): \(formatDuration(seconds: part.seconds)) ± \(formatDuration(seconds: part.standardError)), \(FixedNumber.format(share, decimals: 1)) %")
            // A share wide enough for its number says it inside the bar.
            let label = FixedNumber.format(share, decimals: 0) + " %"
            if x1 - x0 > estimatedTextWidth(label, fontSize: 11) + 8 {
                canvas.text(label, x: (x0 + x1) / 2, y: top + barHeight / 2 + 4, size: 11, anchor: .middle, fill: "#ffffff", cssClass: "time-use-share")
            }
            at += part.seconds
        }
        canvas.closeGroup()
        canvas.line(x1: left, y1: axisY, x2: right, y2: axisY, stroke: Palette.axis)
        for v in ticks.values where v <= meanSeconds / divisor * 1.0001 {
            canvas.line(x1: x.map(v), y1: axisY, x2: x.map(v), y2: axisY + 4, stroke: Palette.axis)
            canvas.text(ticks.label(v), x: x.map(v), y: axisY + 16, size: 10, anchor: .middle)
        }
        canvas.text("mean duration (\(inMinutes ? "min" : "s"))", x: (left + right) / 2, y: axisY + 32, size: 11, anchor: .middle)
        for (row, (i, part)) in shown.enumerated() {
            let y = legendTop + Double(row) * Self.rowHeight
            canvas.rect(x: left, y: y - 10, width: 12, height: 12, fill: Palette.colour(i))
            let share = 100 * part.seconds / meanSeconds
            canvas.text("\(part.label): \(formatDuration(seconds: part.seconds)) ± \(formatDuration(seconds: part.standardError)) (\(FixedNumber.format(share, decimals: 1)) %)",
                        x: left + 18, y: y, size: 11, cssClass: "time-use-legend")
        }
        return canvas.render()
    }
}
