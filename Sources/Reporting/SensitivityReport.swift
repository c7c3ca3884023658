import Experiments
import Foundation
import Procedures

/// `study.sensitivity` for summary.json, summary.md and the tornado charts of report.html.
public enum SensitivityReport {
    public static func json(_ r: SensitivityResult) -> JSONValue {
        func effect(_ e: SensitivityResult.Effect) -> JSONValue {
            .object(["delta_s": .double(e.delta), "se_s": .double(e.standardError), "lower95_s": .double(e.lower95), "upper95_s": .double(e.upper95)])
        }
        func end(_ e: SensitivityResult.End) -> JSONValue { .object(["value": .double(e.value), "p50": effect(e.p50), "p95": effect(e.p95)]) }
        return .object([
            "trials": .int(Int64(r.trials)), "bootstrap_resamples": .int(Int64(r.resamples)), "method": .string(SensitivityResult.method),
            "nominal_p50_s": .double(r.nominalP50), "nominal_p95_s": .double(r.nominalP95),
            "parameters": .array(r.parameters.enumerated().map { k, p in
                .object(["rank": .int(Int64(k + 1)), "parameter": .string(p.path), "doc": .string(p.doc), "nominal": .number(p.nominal),
                         "low": end(p.low), "high": end(p.high)])
            }),
        ])
    }

    static func value(_ v: Double, path: String) -> String {
        NumberText.shortest(v) + (path.contains("timing.") || path.hasSuffix("_time") ? " s" : "")
    }

    static func effectText(_ e: SensitivityResult.Effect) -> String {
        String(format: "%+.1f ± %.1f s", e.delta, e.standardError)
    }

    public static func markdown(_ r: SensitivityResult) -> String {
        var out = "\n## Sensitivity\n\nEach timing parameter at the ends of its documented range, \(r.trials) trials per end on common random numbers "
        out += "(nominal p50 \(formatDuration(seconds: r.nominalP50)), p95 \(formatDuration(seconds: r.nominalP95)) on those trials); "
        out += "± is the paired-bootstrap standard error (\(r.resamples) resamples). Largest p95 swing first.\n\n"
        out += "| rank | parameter | nominal | low | Δp50 | Δp95 | high | Δp50 | Δp95 |\n|---:|---|---:|---:|---:|---:|---:|---:|---:|\n"
        for (k, p) in r.parameters.enumerated() {
            out += "| \(k + 1) | `\(p.path)` | \(p.nominal.map { value($0, path: p.path) } ?? "–") | \(value(p.low.value, path: p.path)) | \(effectText(p.low.p50)) | \(effectText(p.low.p95)) | "
            out += "\(value(p.high.value, path: p.path)) | \(effectText(p.high.p50)) | \(effectText(p.high.p95)) |\n"
        }
        return out
    }

    public static func figures(_ r: SensitivityResult) -> [(svg: String, caption: String)] {
        [(\SensitivityResult.End.p95, "p95"), (\SensitivityResult.End.p50, "p50")].map { key, name in
            let rows = r.parameters.map { p in
                TornadoFigure.Row(label: p.path.replacingOccurrences(of: "instrument.", with: ""),
                                  lowLabel: value(p.low.value, path: p.path), low: p.low[keyPath: key],
                                  highLabel: value(p.high.value, path: p.path), high: p.high[keyPath: key])
            }
            let nominal = name == "p95" ? r.nominalP95 : r.nominalP50
            return (TornadoFigure(title: "Sensitivity of the \(name) duration", rows: rows).svg(),
                    "Change of the \(name) duration (nominal \(formatDuration(seconds: nominal)) on the same \(r.trials) trials) when one parameter is set to the low (blue) or high (orange) end of its documented range, the others as the scenario says; "
                    + "common random numbers, so the bars are paired differences. Whiskers: 95 % paired-bootstrap interval. Ranked by the p95 swing; the numbers are in summary.json (sensitivity).")
        }
    }
}

/// A tornado chart: one row per parameter, a bar from 0 to the effect of each end of its range.
public struct TornadoFigure: Sendable {
    public struct Row: Sendable {
        public var label: String
        public var lowLabel: String
        public var low: SensitivityResult.Effect
        public var highLabel: String
        public var high: SensitivityResult.Effect
        public init(label: String, lowLabel: String, low: SensitivityResult.Effect, highLabel: String, high: SensitivityResult.Effect) {
            self.label = label
            self.lowLabel = lowLabel
            self.low = low
            self.highLabel = highLabel
            self.high = high
        }
    }

    public var title: String
    public var rows: [Row]
    public var width: Double = 900

    public init(title: String, rows: [Row]) {
        self.title = title
        self.rows = rows
    }

    static let rowHeight = 30.0
    static let labelFont = 11.0

    public func svg() -> String {
        let labelWidth = min(280, tickLabelWidth(rows.map(\.label), fontSize: Self.labelFont))
        let left = 16 + labelWidth + 12, right = width - 24, top = 44.0
        let plotHeight = Double(rows.count) * Self.rowHeight
        let height = top + plotHeight + 56
        let extent = rows.flatMap { [$0.low.lower95, $0.low.upper95, $0.high.lower95, $0.high.upper95, $0.low.delta, $0.high.delta] }
            .map(abs).filter(\.isFinite).max() ?? 0
        let inMinutes = extent >= 600
        let divisor = inMinutes ? 60.0 : 1
        let ticks = Ticks.linear(min: -max(extent / divisor, 1e-9), max: max(extent / divisor, 1e-9), target: 8)
        // Room on either side for the end values written beside the bars.
        let pad = 56.0
        let x = AxisScale.linear(ticks.low, ticks.high, to: left + pad, right - pad)
        var canvas = SVGCanvas(width: width, height: height, title: title,
                               summary: "Tornado chart: " + rows.map { "\($0.label) low \(SensitivityReport.effectText($0.low)), high \(SensitivityReport.effectText($0.high))" }.joined(separator: "; "))
        canvas.heading()
        let axisY = top + plotHeight
        canvas.line(x1: x.map(0), y1: top - 4, x2: x.map(0), y2: axisY, stroke: Palette.axis)
        canvas.line(x1: left + pad, y1: axisY, x2: right - pad, y2: axisY, stroke: Palette.axis)
        for v in ticks.values {
            canvas.line(x1: x.map(v), y1: axisY, x2: x.map(v), y2: axisY + 4, stroke: Palette.axis)
            canvas.text(ticks.label(v), x: x.map(v), y: axisY + 16, size: 10, anchor: .middle)
        }
        canvas.text("change of the duration (\(inMinutes ? "min" : "s"))", x: (left + right) / 2, y: axisY + 34, size: 11, anchor: .middle)
        canvas.openGroup(cssClass: "tornado")
        for (i, row) in rows.enumerated() {
            let y0 = top + Double(i) * Self.rowHeight
            let mid = y0 + Self.rowHeight / 2
            canvas.text(truncated(row.label, toWidth: labelWidth, fontSize: Self.labelFont), x: left - 8, y: mid + 4, size: Self.labelFont,
                        anchor: .end, cssClass: "tornado-label", tooltip: row.label)
            for (k, (e, name)) in [(row.low, row.lowLabel), (row.high, row.highLabel)].enumerated() {
                let a = x.map(0), b = x.map(e.delta / divisor)
                let half = (Self.rowHeight - 10) / 2
                // The two ends share the row: low on the upper half, high on the lower half.
                let barTop = k == 0 ? y0 + 5 : mid
                canvas.rect(x: min(a, b), y: barTop, width: abs(b - a), height: half, fill: Palette.colour(k), cssClass: "tornado-bar",
                            data: [("end", k == 0 ? "low" : "high"), ("delta-s", FixedNumber.format(e.delta, decimals: 3))],
                            tooltip: "\(row.label) = \(name): \(SensitivityReport.effectText(e)) (95 % \(FixedNumber.format(e.lower95, decimals: 1)) to \(FixedNumber.format(e.upper95, decimals: 1)) s)")
                let wy = barTop + half / 2
                canvas.line(x1: x.map(e.lower95 / divisor), y1: wy, x2: x.map(e.upper95 / divisor), y2: wy, stroke: "#000000", width: 1, cssClass: "whisker")
                let tipRight = e.delta >= 0
                let tip = tipRight ? max(b, x.map(e.upper95 / divisor)) + 4 : min(b, x.map(e.lower95 / divisor)) - 4
                canvas.text(name, x: tip, y: wy + 3.5, size: 9, anchor: tipRight ? .start : .end, cssClass: "tornado-end")
            }
        }
        canvas.closeGroup()
        return canvas.render()
    }
}
