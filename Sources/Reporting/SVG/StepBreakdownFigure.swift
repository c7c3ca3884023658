import Foundation

/// One step's duration statistics over the trials, in seconds.
public struct StepTiming: Sendable, Equatable {
    public var name: String
    public var meanSeconds: Double
    public var p05Seconds: Double
    public var p95Seconds: Double
    public init(name: String, meanSeconds: Double, p05Seconds: Double, p95Seconds: Double) {
        self.name = name
        self.meanSeconds = meanSeconds
        self.p05Seconds = p05Seconds
        self.p95Seconds = p95Seconds
    }
}

/// Horizontal bars of the mean duration per step, longest first, each with a p05–p95 whisker: shows which
/// step dominates a procedure.
public struct StepBreakdownFigure: Sendable {
    public var title: String
    public var steps: [StepTiming]
    /// Steps beyond this many (the shortest) are left out, and the figure says how many.
    public var maximumSteps: Int
    public var width: Double

    public init(title: String, steps: [StepTiming], maximumSteps: Int = 40, width: Double = 900) {
        self.title = title
        self.steps = steps
        self.maximumSteps = maximumSteps
        self.width = width
    }

    /// Steps in drawing order: longest mean first; equal means by name so the order is deterministic.
    public var sortedSteps: [StepTiming] {
        steps.sorted { $0.meanSeconds != $1.meanSeconds ? $0.meanSeconds > $1.meanSeconds : $0.name < $1.name }
    }

    static let rowHeight = 22.0
    static let labelFont = 11.0
    /// Long step names are cut here (the full name stays in the tooltip).
    static let maximumLabelWidth = 330.0

    public func svg() -> String {
        let shown = Array(sortedSteps.prefix(maximumSteps))
        let omitted = steps.count - shown.count
        let longest = max(shown.map(\.p95Seconds).max() ?? 0, shown.map(\.meanSeconds).max() ?? 0)
        // Minutes read better once steps last several minutes.
        let inMinutes = longest >= 300
        let unitName = inMinutes ? "min" : "s"
        let divisor = inMinutes ? 60.0 : 1.0

        let labelWidth = min(Self.maximumLabelWidth, tickLabelWidth(shown.map(\.name), fontSize: Self.labelFont))
        let left = 16 + labelWidth + 10
        let top = 40.0
        let height = top + Double(shown.count) * Self.rowHeight + 56 + (omitted > 0 ? 16 : 0)
        let area = PlotArea(left: left, top: top, width: width - left - 90, height: Double(shown.count) * Self.rowHeight)
        let ticks = Ticks.linear(min: 0, max: max(longest / divisor, 1e-9), target: 6)
        let x = AxisScale.linear(0, ticks.high, to: area.left, area.right)

        let summary = "Mean duration per step with p05–p95 whiskers, \(shown.count) steps, longest first"
        var canvas = SVGCanvas(width: width, height: height, title: title, summary: summary)
        canvas.heading()
        canvas.xAxis(area, ticks: ticks.values.map { (x.map($0), ticks.label($0)) }, title: "Duration (\(unitName))")

        canvas.openGroup(cssClass: "steps")
        for (i, step) in shown.enumerated() {
            let rowTop = area.top + Double(i) * Self.rowHeight
            let mid = rowTop + Self.rowHeight / 2
            let mean = step.meanSeconds / divisor
            let tooltip = "\(step.name): mean \(formatDuration(seconds: step.meanSeconds)), p05 "
                + "\(formatDuration(seconds: step.p05Seconds)), p95 \(formatDuration(seconds: step.p95Seconds))"
            canvas.text(truncated(step.name, toWidth: labelWidth, fontSize: Self.labelFont), x: left - 8, y: mid + 4,
                        size: Self.labelFont, anchor: .end, cssClass: "step-label", tooltip: step.name)
            canvas.rect(x: area.left, y: rowTop + 4, width: x.map(mean) - area.left, height: Self.rowHeight - 8,
                        fill: Palette.colour(0), cssClass: "step-bar",
                        data: [("step", step.name), ("mean-s", FixedNumber.format(step.meanSeconds, decimals: 3))],
                        tooltip: tooltip)
            let w0 = x.map(step.p05Seconds / divisor), w1 = x.map(step.p95Seconds / divisor)
            canvas.line(x1: w0, y1: mid, x2: w1, y2: mid, stroke: "#000000", width: 1.2, cssClass: "whisker")
            canvas.line(x1: w0, y1: mid - 5, x2: w0, y2: mid + 5, stroke: "#000000", width: 1.2)
            canvas.line(x1: w1, y1: mid - 5, x2: w1, y2: mid + 5, stroke: "#000000", width: 1.2)
            canvas.text(formatDuration(seconds: step.meanSeconds), x: max(w1, x.map(mean)) + 6, y: mid + 4, size: 10,
                        cssClass: "step-value")
        }
        canvas.closeGroup()
        if omitted > 0 {
            canvas.text("\(omitted) shorter steps not shown", x: area.left, y: height - 8, size: 11)
        }
        return canvas.render()
    }
}
