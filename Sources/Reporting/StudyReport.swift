import Experiments
import Foundation
import Procedures
import SimKernel

/// `report.html`: the page a calibration scientist reads after a study. Built from the mergeable
/// `StudyState` (so a merged cluster run gets the same page) plus one re-run trial — the median trial —
/// whose steps draw the Gantt timeline and whose series draw the time plots.
public enum StudyReport {
    /// One simulated trial shown in detail.
    public struct DetailTrial {
        public let trial: Int
        public let durationSeconds: Double
        public let steps: [StepRecord]
        public let series: [TrialSeries]
        public let outcome: String
        public init(trial: Int, durationSeconds: Double, steps: [StepRecord], series: [TrialSeries], outcome: String) {
            self.trial = trial
            self.durationSeconds = durationSeconds
            self.steps = steps
            self.series = series
            self.outcome = outcome
        }
    }

    /// The trial of the first sweep point whose `duration_s` is closest to that point's p50 (the lowest
    /// trial index among ties), read from `trials.csv`: the "median trial" of the Gantt chart.
    public static func medianTrial(csv: String, state: StudyState) -> Int? {
        var lines = csv.split(separator: "\n", omittingEmptySubsequences: true).lazy.map(String.init).makeIterator()
        return medianTrial(lines: { lines.next() }, state: state)
    }

    /// The same, streaming the file a chunk at a time: a million-trial study must not load its CSV whole.
    public static func medianTrial(csvFile url: URL, state: StudyState) throws -> Int? {
        let handle = try FileHandle(forReadingFrom: url)
        defer { try? handle.close() }
        var pending = [UInt8]()
        var cursor = 0
        var eof = false
        // A cursor into the current chunk: dropping each line from the front would copy the rest each time.
        func nextLine() -> String? {
            while true {
                if let nl = pending[cursor...].firstIndex(of: UInt8(ascii: "\n")) {
                    let line = String(decoding: pending[cursor..<nl], as: UTF8.self)
                    cursor = nl + 1
                    return line
                }
                if eof {
                    guard cursor < pending.count else { return nil }
                    defer { cursor = pending.count }
                    return String(decoding: pending[cursor...], as: UTF8.self)
                }
                pending.removeFirst(cursor)
                cursor = 0
                let chunk = (try? handle.read(upToCount: 1 << 20)) ?? nil
                if let chunk, !chunk.isEmpty { pending.append(contentsOf: chunk) } else { eof = true }
            }
        }
        return medianTrial(lines: nextLine, state: state)
    }

    static func medianTrial(lines next: () -> String?, state: StudyState) -> Int? {
        guard let p50 = state.points.first?.metrics["duration_s"]?.quantile(0.5) else { return nil }
        guard let header = next() else { return nil }
        let columns = splitCSV(header)
        guard let trialColumn = columns.firstIndex(of: "trial"), let durationColumn = columns.firstIndex(of: "duration_s") else { return nil }
        let firstLabels = state.pointLabels.first ?? []
        let sweepColumns = state.sweepPaths.compactMap { columns.firstIndex(of: $0) }
        var best: (distance: Double, trial: Int)?
        while let line = next() {
            if line.isEmpty { continue }
            let fields = splitCSV(line)
            guard fields.count == columns.count, let t = Int(fields[trialColumn]), let d = Double(fields[durationColumn]) else { continue }
            // Only the first sweep point's rows (labels as written by TrialsCSVWriter).
            if !sweepColumns.isEmpty && sweepColumns.map({ fields[$0] }) != firstLabels { continue }
            let distance = abs(d - p50)
            if best == nil || distance < best!.distance || (distance == best!.distance && t < best!.trial) { best = (distance, t) }
        }
        return best?.trial
    }

    static func splitCSV(_ line: String) -> [String] {
        var out: [String] = [], field = "", quoted = false
        var it = line.makeIterator()
        while let c = it.next() {
            if quoted {
                if c == "\"" {
                    if let n = it.next() {
                        if n == "\"" { field.append("\"") } else { quoted = false; if n == "," { out.append(field); field = "" } else { field.append(n) } }
                    } else { quoted = false }
                } else { field.append(c) }
            } else if c == "\"" { quoted = true } else if c == "," { out.append(field); field = "" } else { field.append(c) }
        }
        out.append(field)
        return out
    }

    public static func html(_ s: StudyState, description: String, detail: DetailTrial?) -> String {
        let pooled = s.pooled
        let duration = pooled.metrics["duration_s"] ?? RunningStatistics()
        var page = HTMLReportPage(title: "\(s.scenario): \(s.procedure)", summary: headline(s, pooled), footer:
            "Obsim report. Same scenario and seed give the same summary.json; quantiles are within \(QuantileSketch.relativeAccuracy * 100)% relative error. Run details (wall time, host) are in run.json.")
        if !description.isEmpty { page.addParagraph(description) }
        page.addFacts([
            ("Scenario", s.scenario), ("Procedure", s.procedure), ("Seed", String(s.seed)),
            ("Trials", "\(s.completedTrials) of \(s.trials) per point\(s.partial ? " (partial: the run was stopped)" : "")"),
            ("Sweep", s.sweepPaths.isEmpty ? "none" : "\(s.sweepPaths.joined(separator: " × ")), \(s.points.count) points"),
        ])

        page.addSection("Outcomes")
        page.addTable(outcomeTable(pooled))

        page.addSection("Duration")
        let minutes = (duration.quantile(0.5) ?? 0) > 600
        let scale = minutes ? 1.0 / 60 : 1
        if duration.count > 0 {
            page.addFigure(svg: DistributionFigure(
                title: "Trial duration", sample: representativeSample(duration.sketch).map { $0 * scale },
                quantity: "duration", unit: minutes ? "min" : "s",
                markers: [ValueMarker(label: "p50", value: (duration.quantile(0.5) ?? 0) * scale),
                          ValueMarker(label: "p95", value: (duration.quantile(0.95) ?? 0) * scale)],
                style: .histogram).svg(),
                caption: "Distribution of the total duration over \(duration.count) trials, p50 and p95 marked.")
        }

        page.addSection("Metrics")
        page.addTable(metricTable(s.metrics, pooled))
        for m in s.metrics where m.name != "duration_s" {
            guard let r = pooled.metrics[m.name], r.count > 1, (r.maximum - r.minimum) > 0 else { continue }
            page.addFigure(svg: DistributionFigure(
                title: m.name, sample: representativeSample(r.sketch), quantity: m.name, unit: m.unit,
                markers: [ValueMarker(label: "p50", value: r.quantile(0.5) ?? 0), ValueMarker(label: "p95", value: r.quantile(0.95) ?? 0)],
                style: .histogram).svg(), caption: m.doc)
        }

        if !pooled.steps.isEmpty {
            page.addSection("Steps")
            let total = pooled.outcomes.values.reduce(0, +)
            let steps = pooled.steps.sorted { ($0.value.seconds.mean ?? 0, $1.key) > ($1.value.seconds.mean ?? 0, $0.key) }
            page.addFigure(svg: StepBreakdownFigure(title: "Time per step (per trial, summed over repeats)", steps: steps.map {
                StepTiming(name: $0.key, meanSeconds: $0.value.seconds.mean ?? 0,
                           p05Seconds: $0.value.seconds.quantile(0.05) ?? 0, p95Seconds: $0.value.seconds.quantile(0.95) ?? 0)
            }).svg(), caption: "Mean time per documented step with its p05–p95 range; a step that runs in parallel with others overlaps them in time.")
            page.addTable(stepTable(steps, total: total, meanDuration: duration.mean ?? 0))
        }

        if let d = detail {
            page.addSection("Timeline of the median trial")
            if !d.steps.isEmpty {
                page.addFigure(svg: GanttChart(title: "Trial \(d.trial): \(formatDuration(seconds: d.durationSeconds)), \(d.outcome)",
                                               spans: d.steps.map { GanttSpan(name: $0.name, lane: $0.lane, startSeconds: $0.start, endSeconds: $0.end, completed: $0.completed) }).svg(),
                               caption: "One lane per subsystem; the trial whose duration is closest to the median.")
            }
            if !d.series.isEmpty {
                let panels = d.series.filter { !$0.points.isEmpty }.map { series in
                    TimeSeriesPanel(yLabel: series.unit.isEmpty ? series.name : "\(series.name) (\(series.unit))",
                                    times: series.points.map { $0.time / 60 }, values: series.points.map(\.value), style: .markers,
                                    logarithmic: false)
                }
                if !panels.isEmpty {
                    page.addFigure(svg: TimeSeriesFigure(title: "Series of trial \(d.trial)", timeLabel: "time since start (min)", panels: panels).svg(),
                                   caption: "Quantities the procedure recorded against time in the median trial.")
                }
            }
        }

        if !s.sweepPaths.isEmpty { addSweep(&page, s) }
        return page.render()
    }

    static func headline(_ s: StudyState, _ p: PointState) -> String {
        let total = Double(max(p.outcomes.values.reduce(0, +), 1))
        let completed = Double(p.outcomes.filter { $0.key.hasPrefix("completed") }.values.reduce(0, +)) / total
        var text = String(format: "%.1f%% of trials completed", 100 * completed)
        if let d = p.metrics["duration_s"], let p50 = d.quantile(0.5), let p95 = d.quantile(0.95) {
            text += "; duration median \(formatDuration(seconds: p50)), 95th percentile \(formatDuration(seconds: p95))"
        }
        if let top = p.steps.max(by: { ($0.value.seconds.mean ?? 0, $1.key) < ($1.value.seconds.mean ?? 0, $0.key) }) {
            text += "; the longest step is \(top.key) (\(formatDuration(seconds: top.value.seconds.mean ?? 0)) on average)"
        }
        return text + "."
    }

    /// The sketch as a sample for a histogram: each bucket's representative value repeated in proportion
    /// to its count, at most ~20,000 values (the figure's bins are far coarser than the sketch's 0.1 %).
    static func representativeSample(_ sketch: QuantileSketch) -> [Double] {
        let weighted = sketch.weightedValues()
        let n = weighted.reduce(UInt64(0)) { $0 + $1.count }
        guard n > 0 else { return [] }
        let keep = min(1.0, 20_000 / Double(n))
        var out: [Double] = []
        var carry = 0.0
        for (v, c) in weighted {
            carry += Double(c) * keep
            let k = Int(carry.rounded(.down))
            carry -= Double(k)
            if k > 0 { out.append(contentsOf: repeatElement(v, count: k)) }
        }
        return out
    }

    static func outcomeTable(_ p: PointState) -> ReportTable {
        let total = Double(max(p.outcomes.values.reduce(0, +), 1))
        return ReportTable(caption: "Outcomes", columns: [
            .init("outcome"), .init("trials", numeric: true), .init("fraction", numeric: true), .init("binomial error", numeric: true),
        ], rows: p.outcomes.keys.sorted().map { k in
            let f = Double(p.outcomes[k]!) / total
            return [.text(k), .integer(Int(p.outcomes[k]!)), .number(f, decimals: 4), .number((f * (1 - f) / total).squareRoot(), decimals: 4)]
        })
    }

    static func metricTable(_ metrics: [MetricSpec], _ p: PointState) -> ReportTable {
        ReportTable(caption: "Metrics over all trials", columns: [
            .init("metric"), .init("unit"), .init("count", numeric: true), .init("mean", numeric: true), .init("sd", numeric: true),
            .init("min", numeric: true), .init("p05", numeric: true), .init("p50", numeric: true), .init("p95", numeric: true),
            .init("max", numeric: true),
        ], rows: metrics.map { m in
            let r = p.metrics[m.name] ?? RunningStatistics()
            func cell(_ x: Double?) -> ReportTable.Cell { x.map { .number($0, decimals: decimals(for: $0)) } ?? .empty }
            return [.text(m.name), .text(m.unit), .integer(Int(r.count)), cell(r.mean), cell(r.standardDeviation),
                    cell(r.count > 0 ? r.minimum : nil), cell(r.quantile(0.05)), cell(r.quantile(0.5)), cell(r.quantile(0.95)),
                    cell(r.count > 0 ? r.maximum : nil)]
        })
    }

    static func stepTable(_ steps: [(key: String, value: StepStatistics)], total: UInt64, meanDuration: Double) -> ReportTable {
        ReportTable(caption: "Steps, longest first", columns: [
            .init("step"), .init("lane"), .init("trials", numeric: true), .init("mean", unit: "s", numeric: true),
            .init("p50", unit: "s", numeric: true), .init("p95", unit: "s", numeric: true), .init("share of mean duration", unit: "%", numeric: true),
        ], rows: steps.map { name, st in
            let share = meanDuration > 0 ? 100 * (st.seconds.mean ?? 0) * Double(st.seconds.count) / Double(max(total, 1)) / meanDuration : 0
            return [.text(name), .text(st.lane), .integer(Int(st.seconds.count)), .number(st.seconds.mean ?? 0, decimals: 1),
                    .number(st.seconds.quantile(0.5) ?? 0, decimals: 1), .number(st.seconds.quantile(0.95) ?? 0, decimals: 1),
                    .number(share, decimals: 1)]
        })
    }

    static func decimals(for x: Double) -> Int {
        let a = abs(x)
        if a == 0 || a >= 1000 { return 0 }
        if a >= 10 { return 2 }
        if a >= 0.01 { return 4 }
        return 6
    }

    /// A swept value as a number for an axis: plain numbers, or a date as its day of the year.
    static func numericLabel(_ label: String) -> (value: Double, isDate: Bool)? {
        let trimmed = label.split(separator: " ").first.map(String.init) ?? label
        if let v = Double(trimmed) { return (v, false) }
        let parts = label.prefix(10).split(separator: "-").compactMap { Int($0) }
        if parts.count == 3, label.count >= 10 {
            var c = DateComponents()
            c.year = parts[0]; c.month = parts[1]; c.day = parts[2]
            var cal = Calendar(identifier: .gregorian)
            cal.timeZone = TimeZone(identifier: "UTC")!
            if let d = cal.date(from: c), let doy = cal.ordinality(of: .day, in: .year, for: d) { return (Double(doy), true) }
        }
        return nil
    }

    /// A swept axis: its values as numbers, and a label whose unit a planner reads (durations of more
    /// than ten minutes in minutes, of more than ten hours in hours).
    static func axis(_ labels: [String], path: String) -> (values: [Double], label: String, isDate: Bool)? {
        let parsed = labels.map(numericLabel)
        guard parsed.allSatisfy({ $0 != nil }) else { return nil }
        let values = parsed.map { $0!.value }
        let isDate = parsed.first??.isDate ?? false
        let units = Set(labels.map { $0.split(separator: " ").dropFirst().joined(separator: " ") })
        guard units.count == 1, let unit = units.first, !unit.isEmpty else { return (values, path, isDate) }
        let largest = values.map(abs).max() ?? 0
        if unit == "s" && largest >= 36_000 { return (values.map { $0 / 3600 }, "\(path) (h)", isDate) }
        if unit == "s" && largest >= 600 { return (values.map { $0 / 60 }, "\(path) (min)", isDate) }
        return (values, "\(path) (\(unit))", isDate)
    }

    static func addSweep(_ page: inout HTMLReportPage, _ s: StudyState) {
        page.addSection("Sweep: \(s.sweepPaths.joined(separator: " × "))")
        let metrics = s.metrics.filter { m in s.points.contains { ($0.metrics[m.name]?.count ?? 0) > 0 } }
        if s.sweepPaths.count == 1 {
            if let x = axis(s.pointLabels.map { $0[0] }, path: s.sweepPaths[0]) {
                for m in metrics {
                    let pts = zip(x.values, s.points).compactMap { xv, p -> SpreadPoint? in
                        guard let r = p.metrics[m.name], r.count > 0 else { return nil }
                        return SpreadPoint(x: xv, p05: r.quantile(0.05) ?? 0, p50: r.quantile(0.5) ?? 0, p95: r.quantile(0.95) ?? 0)
                    }
                    page.addFigure(svg: SpreadLineFigure(title: "\(m.name) against \(s.sweepPaths[0])", series: [SpreadSeries(name: m.name, points: pts)],
                                                         xLabel: x.label, yLabel: "\(m.name) (\(m.unit))").svg(),
                                   caption: "Median with the p05–p95 band; every point uses the same trial seeds.")
                }
            }
        } else if s.sweepPaths.count == 2 {
            let xLabels = unique(s.pointLabels.map { $0[0] }), yLabels = unique(s.pointLabels.map { $0[1] })
            if let xAxis = axis(xLabels, path: s.sweepPaths[0]), let yAxis = axis(yLabels, path: s.sweepPaths[1]) {
                for m in metrics where m.name != "duration_s" || metrics.count == 1 {
                    var grid = Array(repeating: Array(repeating: Double.nan, count: xLabels.count), count: yLabels.count)
                    var lo = Double.infinity, hi = -Double.infinity
                    for (labels, p) in zip(s.pointLabels, s.points) {
                        guard let i = xLabels.firstIndex(of: labels[0]), let j = yLabels.firstIndex(of: labels[1]),
                              let mean = p.metrics[m.name]?.mean else { continue }
                        grid[j][i] = mean
                        lo = min(lo, mean); hi = max(hi, mean)
                    }
                    guard lo.isFinite else { continue }
                    let range: ClosedRange<Double> = (lo >= 0 && hi <= 1) ? 0...1 : lo...(hi > lo ? hi : lo + 1)
                    page.addFigure(svg: HeatMapFigure(title: "Mean \(m.name)", panels: [HeatMapGrid(title: m.name, xCentres: xAxis.values,
                                                      yCentres: yAxis.values, values: grid)],
                                                      xLabel: xAxis.isDate ? s.sweepPaths[0] : xAxis.label, yLabel: yAxis.label,
                                                      colourLabel: "mean \(m.name) (\(m.unit))",
                                                      valueRange: range, xAxisStyle: xAxis.isDate ? .dayOfYear : .numeric, columns: 1).svg(),
                                   caption: "Mean of \(m.name) at every sweep point (for a 0/1 metric, the probability).")
                }
            }
        }
        // The table always: categorical sweeps (plans, bands) are read here.
        page.addTable(ReportTable(caption: "Per sweep point", columns: s.sweepPaths.map { ReportTable.Column($0) } + metrics.flatMap { m in
            [ReportTable.Column("\(m.name) mean", unit: m.unit, numeric: true), ReportTable.Column("\(m.name) p95", unit: m.unit, numeric: true)]
        } + [ReportTable.Column("completed", numeric: true)], rows: zip(s.pointLabels, s.points).map { labels, p in
            let total = Double(max(p.outcomes.values.reduce(0, +), 1))
            let completed = Double(p.outcomes.filter { $0.key.hasPrefix("completed") }.values.reduce(0, +)) / total
            return labels.map { ReportTable.Cell.text($0) } + metrics.flatMap { m -> [ReportTable.Cell] in
                guard let r = p.metrics[m.name], r.count > 0 else { return [.empty, .empty] }
                return [.number(r.mean ?? 0, decimals: decimals(for: r.mean ?? 0)), .number(r.quantile(0.95) ?? 0, decimals: decimals(for: r.quantile(0.95) ?? 0))]
            } + [.number(completed, decimals: 3)]
        }))
    }

    static func unique(_ xs: [String]) -> [String] {
        var seen = Set<String>(), out: [String] = []
        for x in xs where seen.insert(x).inserted { out.append(x) }
        return out
    }
}

/// Simulated frames as FITS files, one per frame, with the header cards in the order the procedure gave
/// them (ESO `HIERARCH ESO ...` for METIS, Rubin-style `IMGTYPE`/`EXPTIME`/`FILTER`/`DATE-OBS` for LATISS).
public enum FrameFiles {
    /// Writes every frame into `directory` (created if needed) as `<frame name>.fits`; returns the paths.
    public static func write(_ frames: [Frame], into directory: URL) throws -> [URL] {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return try frames.map { f in
            let url = directory.appendingPathComponent(f.name + ".fits")
            try FITSWriter.write(fitsFile(f), to: url.path)
            return url
        }
    }

    /// The FITS layout of a frame: a primary image (METIS), or a header-only primary HDU followed by
    /// 32-bit integer image extensions (LATISS amplifier segments, BITPIX = 32 as the camera writes raws).
    public static func fitsFile(_ f: Frame) -> FITSFile {
        let primary = f.width > 0 ? FITSImage(width: f.width, height: f.height, pixels: .float32(f.pixels), keywords: keywords(f.header))
                                  : FITSImage.headerOnly(keywords: keywords(f.header))
        let extensions = f.extensions.map {
            FITSImage(width: $0.width, height: $0.height, pixels: .int32($0.pixels), keywords: keywords($0.header), name: $0.name)
        }
        return FITSFile(primary: primary, extensions: extensions)
    }

    static func keywords(_ cards: [Frame.HeaderCard]) -> [FITSKeyword] {
        cards.map { card in
            let value: FITSValue
            switch card.value {
            case .string(let s): value = .string(s)
            case .integer(let i): value = .integer(i)
            case .double(let d): value = .double(d)
            case .bool(let b): value = .bool(b)
            }
            return FITSKeyword(card.keyword, value, comment: card.comment)
        }
    }
}
