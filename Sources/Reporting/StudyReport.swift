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
        /// When the procedure could start (seconds since the epoch): the timeline counts from here.
        public var startSeconds: Double
        public init(trial: Int, durationSeconds: Double, steps: [StepRecord], series: [TrialSeries], outcome: String, startSeconds: Double = 0) {
            self.startSeconds = startSeconds
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

    /// `twilightClock`: a twilight study's site and event, so its maps read in the site's civil time.
    public static func html(_ s: StudyState, description: String, detail: DetailTrial?,
                            twilightClock: TwilightPlanningClock? = nil) -> String {
        let pooled = s.pooled
        let sweep = !s.sweepPaths.isEmpty
        var page = HTMLReportPage(title: "\(s.scenario): \(s.procedure)", summary: headline(s), footer:
            "Obsim report. Same scenario and seed give the same summary.json; quantiles are within \(QuantileSketch.relativeAccuracy * 100)% relative error. Run details (wall time, host) are in run.json.")
        if !description.isEmpty { page.addParagraph(description) }
        page.addFacts([
            ("Scenario", s.scenario), ("Procedure", s.procedure), ("Seed", String(s.seed)),
            ("Trials", "\(s.completedTrials) of \(s.trials) per point\(s.partial ? " (partial: the run was stopped)" : "")"),
            ("Sweep", sweep ? "\(s.sweepPaths.joined(separator: " × ")), \(s.points.count) points" : "none"),
        ])

        if sweep { addSweep(&page, s, twilightClock) }

        // One point: its own sections. A sweep: a block per point when there are few, else the per-point
        // table above is the breakdown and only pooled figures (labelled so) follow.
        let shown: [(title: String, point: PointState)] = sweep
            ? (s.points.count <= maximumPointSections ? zip(s.pointLabels, s.points).map { (pointTitle(s, $0), $1) } : [])
            : [("", s.points.first ?? pooled)]
        for (title, p) in shown {
            page.addSection(title.isEmpty ? "Outcomes and duration" : "Point \(title)")
            if !title.isEmpty { page.addParagraph(pointHeadline(p, s.metrics)) }
            page.addTable(outcomeTable(p))
            addDuration(&page, p, label: title.isEmpty ? "" : " at \(title)")
            if let svg = TimeUseReport.figure(p, title: "Where the time goes\(title.isEmpty ? "" : " at \(title)")") {
                page.addSubsection("Where the time goes\(title.isEmpty ? "" : " at \(title)")")
                page.addFigure(svg: svg, caption: TimeUseReport.caption)
            }
            if !p.stepLedger.isEmpty {
                page.addSubsection("Time per step\(title.isEmpty ? "" : " at \(title)")")
                page.addParagraph("Each row is a step's share of its parent (the whole trial at the top level); a step with sub-steps opens to them, and the time inside none of them is its own row, so every level sums to 100 %. Steps in parallel split the time they overlap.")
                page.addMarkup(StepTreeReport.html(p))
            }
            if !title.isEmpty { page.addTable(metricTable(s.metrics, p, caption: "Metrics at \(title)")) }
        }

        // A large sweep has no section per point: its breakdown is of all points pooled.
        if sweep, shown.isEmpty, let svg = TimeUseReport.figure(pooled, title: "Where the time goes, pooled over all \(s.points.count) sweep points") {
            page.addSection("Where the time goes, pooled over all \(s.points.count) sweep points")
            page.addFigure(svg: svg, caption: TimeUseReport.caption)
        }

        if let r = s.sensitivity, !r.parameters.isEmpty {
            page.addSection("Sensitivity: which timing number drives the duration")
            page.addParagraph("Each timing parameter with a documented range is set to the low and the high end of that range, one at a time, on the same \(r.trials) trials (common random numbers: trial i draws the same random numbers at every end). A parameter worth measuring at the telescope is one whose bars are long; one that cannot change the duration has bars of exactly 0.")
            for f in SensitivityReport.figures(r) { page.addFigure(svg: f.svg, caption: f.caption) }
        }

        page.addSection(sweep ? "Metrics, pooled over all \(s.points.count) sweep points" : "Metrics")
        page.addTable(metricTable(s.metrics, pooled, caption: sweep ? "Metrics pooled over all sweep points" : "Metrics over all trials"))
        for m in s.metrics where m.name != "duration_s" {
            guard let r = pooled.metrics[m.name], r.count > 1, (r.maximum - r.minimum) > 0, MetricDisplay.of(r, m) != .probability else { continue }
            page.addFigure(svg: DistributionFigure(
                title: m.name + (sweep ? " (pooled over sweep points)" : ""), sample: representativeSample(r.sketch), quantity: m.name, unit: m.unit,
                markers: [ValueMarker(label: "p50", value: r.quantile(0.5) ?? 0), ValueMarker(label: "p95", value: r.quantile(0.95) ?? 0)],
                style: .histogram).svg(), caption: m.doc + (sweep ? " Pooled over all sweep points." : ""))
        }

        if let d = detail {
            page.addSection("Timeline of the median trial" + (sweep ? " (first sweep point)" : ""))
            // The pieces of each image (overhead, exposure, readout leaves on their parent's lane) would be
            // hundreds of slivers over their parent's bar: the time-use bar above shows where they go.
            let parents = Set(d.steps.compactMap(\.parent))
            let imagePiece = { (i: Int) -> Bool in
                let st = d.steps[i]
                guard let p = st.parent, !parents.contains(i), d.steps[p].lane == st.lane else { return false }
                return st.use == .exposure || st.use == .readoutOverhead
            }
            let spans = d.steps.indices.filter { (d.steps[$0].end > d.startSeconds || d.steps[$0].start >= d.startSeconds) && !imagePiece($0) }.map { i -> GanttSpan in
                let st = d.steps[i]
                let context = st.parent.map { StepRecord.path(of: $0, in: d.steps).joined(separator: StepPath.separator) } ?? ""
                return GanttSpan(name: st.name, lane: st.lane, startSeconds: st.start - d.startSeconds, endSeconds: st.end - d.startSeconds,
                                 completed: st.completed, context: context)
            }
            if !spans.isEmpty {
                page.addFigure(svg: GanttChart(title: "Trial \(d.trial): \(formatDuration(seconds: d.durationSeconds)), \(d.outcome)", spans: spans).svg(),
                               caption: "One lane per subsystem; the trial whose duration is closest to the median. The pieces of each image (its overhead, exposure and readout) are inside their step's bar, not drawn. A bar's tooltip gives the step's full name and the steps it belongs to (the filter or configuration of its set)."
                                + (d.startSeconds > 0 ? " Time counts from the procedure's start, \(formatDuration(seconds: d.startSeconds)) after the epoch." : ""))
            }
            if !d.series.isEmpty {
                // Series of one quantity split by kind (LATISS's BIAS, DARK, FLAT levels) share a panel.
                var quantities: [(name: String, unit: String, series: [TrialSeries])] = []
                for series in d.series where !series.points.isEmpty {
                    if let q = quantities.firstIndex(where: { $0.name == series.name && $0.unit == series.unit }) {
                        quantities[q].series.append(series)
                    } else {
                        quantities.append((series.name, series.unit, [series]))
                    }
                }
                let panels = quantities.map { q in
                    TimeSeriesPanel(yLabel: q.unit.isEmpty ? q.name : "\(q.name) (\(q.unit))",
                                    times: q.series.flatMap { $0.points.map { ($0.time - d.startSeconds) / 60 } },
                                    values: q.series.flatMap { $0.points.map(\.value) }, style: .markers, logarithmic: false,
                                    kinds: q.series.contains { !$0.kind.isEmpty } ? q.series.flatMap { s in s.points.map { _ in s.kind } } : [])
                }
                if !panels.isEmpty {
                    page.addFigure(svg: TimeSeriesFigure(title: "Series of trial \(d.trial)", timeLabel: "time since the procedure's start (min)", panels: panels).svg(),
                                   caption: "Quantities the procedure recorded against time in the median trial.")
                }
            }
        }
        return page.render()
    }

    /// Sweeps with at most this many points get a section per point; larger ones are read in the table.
    static let maximumPointSections = 12

    static func pointTitle(_ s: StudyState, _ labels: [String]) -> String {
        zip(s.sweepPaths, labels).map { "\($0) = \($1)" }.joined(separator: ", ")
    }

    static func addDuration(_ page: inout HTMLReportPage, _ p: PointState, label: String) {
        let duration = p.metrics["duration_s"] ?? RunningStatistics()
        guard duration.count > 0 else { return }
        let minutes = (duration.quantile(0.5) ?? 0) > 600
        let scale = minutes ? 1.0 / 60 : 1
        page.addFigure(svg: DistributionFigure(
            title: "Trial duration\(label)", sample: representativeSample(duration.sketch).map { $0 * scale },
            quantity: "duration", unit: minutes ? "min" : "s",
            markers: [ValueMarker(label: "p50", value: (duration.quantile(0.5) ?? 0) * scale),
                      ValueMarker(label: "p95", value: (duration.quantile(0.95) ?? 0) * scale)],
            style: .histogram).svg(),
            caption: "Distribution of the total duration over \(duration.count) trials\(label), p50 and p95 marked.")
        addFinishProbability(&page, p, label: label, minutes: minutes)
    }

    /// P(finished by t) for any deadline t, drawn as the survival curve P(duration > t) = 1 − P(finished by t).
    static func addFinishProbability(_ page: inout HTMLReportPage, _ p: PointState, label: String, minutes: Bool) {
        let curve = FinishProbability.curve(p)
        guard curve.count > 1 else { return }
        let scale = minutes ? 1.0 / 60 : 1
        let points = curve.map { SpreadPoint(x: $0.seconds * scale, p05: 1 - $0.upper, p50: 1 - $0.probability, p95: 1 - $0.lower) }
        page.addFigure(svg: SpreadLineFigure(title: "Probability of not having finished\(label)", series: [SpreadSeries(name: "P(duration > t)", points: points)],
                                             xLabel: "deadline t after the start (\(minutes ? "min" : "s"))", yLabel: "P(not finished by t)",
                                             discrete: false, rangeLabel: "95 % Wilson interval").svg(),
                       caption: "Survival curve over all \(curve[0].trials) trials\(label): an aborted trial never finishes, so the curve levels off at the aborted fraction. "
                        + "P(finished by t) = 1 − the curve; t is resolved within \(QuantileSketch.relativeAccuracy * 100) % (the duration sketch). The numbers are in summary.json (finish_probability).")
    }

    /// Completed, restarted and aborted shares of a point, as a planner quotes them.
    static func outcomeText(_ p: PointState) -> String {
        let total = p.outcomes.values.reduce(0, +)
        guard total > 0 else { return "no trials" }
        func share(_ n: UInt64) -> String { String(format: "%.1f %%", 100 * Double(n) / Double(total)) }
        let restarted = p.outcomes["completed_after_restart"] ?? 0
        let aborted = p.outcomes.filter { !$0.key.hasPrefix("completed") }
        let abortedCount = aborted.values.reduce(0, +)
        var text = "\(share(total - restarted - abortedCount)) completed first time, \(share(restarted)) after a restart, \(share(abortedCount)) aborted"
        if !aborted.isEmpty {
            text += " (" + aborted.sorted { ($0.value, $1.key) > ($1.value, $0.key) }.prefix(3)
                .map { "\($0.key.replacingOccurrences(of: "aborted_", with: "")) \(share($0.value))" }.joined(separator: ", ") + ")"
        }
        return text
    }

    static func pointHeadline(_ p: PointState, _ metrics: [MetricSpec]) -> String {
        var text = outcomeText(p)
        if let d = p.metrics["duration_s"], let p50 = d.quantile(0.5), let p95 = d.quantile(0.95) {
            text += "; duration p50 \(formatDuration(seconds: p50)), p95 \(formatDuration(seconds: p95))"
        }
        if let w = p.metrics[ProcedureSchema.startWaitMetric.name], let w50 = w.quantile(0.5) {
            text += " (counted from the procedure's start; the wait before it is \(formatDuration(seconds: w50)) at the median)"
        }
        if let leaf = StepTreeReport.dominantLeafText(StepTreeReport.tree(p)) { text += "; dominant step: \(leaf)" }
        return text + deadlineText(p) + "."
    }

    /// "; P(completed before civil_dusk, ...) 0.912 (95 % 0.894–0.927)", or nothing without a deadline.
    static func deadlineText(_ p: PointState) -> String {
        guard let d = p.deadline, let f = SummaryJSON.deadlineProbability(p) else { return "" }
        let when = d.fromEpoch ? "\(d.label), \(formatDuration(seconds: d.seconds)) after the epoch" : formatDuration(seconds: d.seconds)
        return "; P(completed before \(when)) " + String(format: "%.3f (95 %% %.3f–%.3f)", f.probability, f.lower, f.upper)
    }

    static func headline(_ s: StudyState) -> String {
        guard !s.sweepPaths.isEmpty else { return pointHeadline(s.points.first ?? s.pooled, s.metrics) }
        if s.points.count <= 4 {
            return zip(s.pointLabels, s.points).map { labels, p in
                var t = "\(pointTitle(s, labels)): "
                if let d = p.metrics["duration_s"], let p50 = d.quantile(0.5), let p95 = d.quantile(0.95) {
                    t += "p50 \(formatDuration(seconds: p50)), p95 \(formatDuration(seconds: p95)), "
                }
                return t + outcomeText(p) + deadlineText(p)
            }.joined(separator: ". ") + "."
        }
        var text = "\(s.points.count) sweep points of \(s.sweepPaths.joined(separator: " × "))"
        let p50s = zip(s.pointLabels, s.points).compactMap { l, p in p.metrics["duration_s"]?.quantile(0.5).map { (l, $0) } }
        if let lo = p50s.min(by: { $0.1 < $1.1 }), let hi = p50s.max(by: { $0.1 < $1.1 }) {
            text += "; duration p50 from \(formatDuration(seconds: lo.1)) (\(pointTitle(s, lo.0))) to \(formatDuration(seconds: hi.1)) (\(pointTitle(s, hi.0)))"
        }
        let completed = s.points.map { p -> Double in
            let n = p.outcomes.values.reduce(0, +)
            return n == 0 ? 0 : Double(p.outcomes.filter { $0.key.hasPrefix("completed") }.values.reduce(0, +)) / Double(n)
        }
        if let lo = completed.min(), let hi = completed.max() {
            text += String(format: "; completed in %.1f %% to %.1f %% of trials depending on the point", 100 * lo, 100 * hi)
        }
        return text + "; per-point rows and figures below."
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

    static func metricTable(_ metrics: [MetricSpec], _ p: PointState, caption: String?) -> ReportTable {
        ReportTable(caption: caption, columns: [
            .init("metric"), .init("unit"), .init("count", numeric: true), .init("mean", numeric: true), .init("sd", numeric: true),
            .init("min", numeric: true), .init("p05", numeric: true), .init("p50", numeric: true), .init("p95", numeric: true),
            .init("max", numeric: true),
        ], rows: metrics.map { m in
            let r = p.metrics[m.name] ?? RunningStatistics()
            let display = MetricDisplay.of(r, m)
            func cell(_ x: Double?) -> ReportTable.Cell {
                guard let x else { return .empty }
                return display == .count ? .integer(Int(x.rounded())) : .number(x, decimals: decimals(for: x))
            }
            let count: ReportTable.Cell = .integer(Int(r.count))
            if display == .probability, let mean = r.mean {
                // A 0/1 metric is a probability: its mean with the binomial error; quantiles say nothing.
                let se = (mean * (1 - mean) / Double(max(r.count, 1))).squareRoot()
                return [.text(m.name), .text("probability"), count, .text(String(format: "%.3f ± %.3f", mean, se)), .empty, .empty, .empty, .empty, .empty, .empty]
            }
            return [.text(m.name), .text(m.unit), count, r.mean.map { .number($0, decimals: display == .count ? 2 : decimals(for: $0)) } ?? .empty,
                    r.standardDeviation.map { .number($0, decimals: display == .count ? 2 : decimals(for: $0)) } ?? .empty,
                    cell(r.count > 0 ? r.minimum : nil), cell(r.quantile(0.05)), cell(r.quantile(0.5)), cell(r.quantile(0.95)),
                    cell(r.count > 0 ? r.maximum : nil)]
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

    /// What a swept key means, from the procedure's own documentation (the unit and reference event of a
    /// time offset, e.g. "minutes after sunset (evening) or before sunrise (morning)").
    static func axisMeaning(_ s: StudyState, _ path: String) -> String? {
        if path == "epoch" { return "epoch: the date of the night (evening date; UTC)" }
        guard let schema = ProcedureRegistry.lookup(s.procedure)?.schema,
              let spec = schema.keyedSpecs.first(where: { $0.path == path })?.spec, !spec.doc.isEmpty else { return nil }
        var doc = spec.doc
        while doc.hasSuffix(".") { doc.removeLast() }
        return "\(path): \(doc)"
    }

    /// Per metric and point: p05/p50/p95, or for a 0/1 metric its mean with a 95 % binomial interval.
    static func spread(_ r: RunningStatistics, _ spec: MetricSpec, x: Double) -> SpreadPoint {
        if MetricDisplay.of(r, spec) == .probability, let m = r.mean {
            let half = 1.96 * (m * (1 - m) / Double(max(r.count, 1))).squareRoot()
            return SpreadPoint(x: x, p05: max(0, m - half), p50: m, p95: min(1, m + half))
        }
        return SpreadPoint(x: x, p05: r.quantile(0.05) ?? 0, p50: r.quantile(0.5) ?? 0, p95: r.quantile(0.95) ?? 0)
    }

    /// Seconds of a swept time label ("600 s", "10 min", "1 h").
    static func seconds(ofTimeLabel label: String) -> Double? {
        let parts = label.split(separator: " ")
        guard parts.count == 2, let v = Double(parts[0]) else { return nil }
        switch parts[1] {
        case "s": return v
        case "min": return v * 60
        case "h": return v * 3600
        default: return nil
        }
    }

    /// Heat-map notes and labels of a twilight map (date × start offset) in the site's civil time.
    static func twilightLabels(_ clock: TwilightPlanningClock, dates: [String], offsets: [String], unit: String)
        -> (notes: [[String]], xLabel: String, yLabel: String, caption: String) {
        // One night's events per date, not per cell: a night's Sun search is hundreds of solar positions,
        // and a year map has a dozen offsets per date.
        let eventByDate = dates.map { clock.eventSeconds(date: $0) }
        let notes = offsets.map { o in
            zip(dates, eventByDate).map { d, event in
                guard let offset = seconds(ofTimeLabel: o), let label = clock.startLabel(eventSeconds: event, offsetSeconds: offset) else { return "" }
                return "\(d) \(clock.evening ? "evening" : "morning after"): starts \(label)"
            }
        }
        let events = zip(dates, eventByDate).compactMap { d, e in e.map { (d, $0) } }
        // The earliest and latest clock time of the event over the year (a clock time, not an instant).
        func minutesOfDay(_ t: Double) -> Double {
            let m = (t / 60 + Double(clock.civil.offsetHours(atUnixSeconds: t)) * 60).truncatingRemainder(dividingBy: 1440)
            return m < 0 ? m + 1440 : m
        }
        let event = clock.evening ? "sunset" : "sunrise"
        var caption = "\(clock.evening ? "Evening" : "Morning") twilight: the procedure starts the offset \(clock.offsetMeaning) (the Sun's centre at \(FixedNumber.format(clock.event.altitudeDegrees, decimals: 3))°)"
        if let early = events.min(by: { minutesOfDay($0.1) < minutesOfDay($1.1) }), let late = events.max(by: { minutesOfDay($0.1) < minutesOfDay($1.1) }) {
            caption += "; \(event) at \(clock.site.name) is at \(clock.civil.label(atUnixSeconds: early.1)) on \(early.0) and \(clock.civil.label(atUnixSeconds: late.1)) on \(late.0)"
        }
        caption += ". A cell's tooltip gives its start in local civil time"
        caption += clock.civil.chilean
            ? " (Chile: UTC−3 from the first Sunday of September to the first Sunday of April, UTC−4 otherwise)."
            : " (the zone of the site's longitude, UTC\(clock.civil.offsetHours(atUnixSeconds: 0) >= 0 ? "+" : "−")\(abs(clock.civil.offsetHours(atUnixSeconds: 0))), no summer time)."
        let date = clock.evening ? "date of the evening" : "date of the evening before the morning"
        return (notes, "\(date) (local civil date at \(clock.site.name))",
                "start (\(unit) \(clock.offsetMeaning))", caption)
    }

    static func addSweep(_ page: inout HTMLReportPage, _ s: StudyState, _ twilightClock: TwilightPlanningClock? = nil) {
        page.addSection("Sweep: \(s.sweepPaths.joined(separator: " × ")), per point")
        let meanings = s.sweepPaths.compactMap { axisMeaning(s, $0) }
        if !meanings.isEmpty { page.addParagraph("Swept: " + meanings.joined(separator: "; ") + ".") }
        let metrics = s.metrics.filter { m in s.points.contains { ($0.metrics[m.name]?.count ?? 0) > 0 } }
        if s.sweepPaths.count == 1 {
            // A categorical axis (plans, bands) is drawn with one slot per value, in sweep order.
            let categorical = axis(s.pointLabels.map { $0[0] }, path: s.sweepPaths[0]) == nil && s.points.count <= 24
            let x = axis(s.pointLabels.map { $0[0] }, path: s.sweepPaths[0])
                ?? (categorical ? (values: s.points.indices.map { Double($0 + 1) }, label: s.sweepPaths[0], isDate: false) : nil)
            if let x {
                for m in metrics {
                    let pts = zip(x.values, s.points).compactMap { xv, p -> SpreadPoint? in
                        guard let r = p.metrics[m.name], r.count > 0 else { return nil }
                        return spread(r, m, x: xv)
                    }
                    let probability = s.points.compactMap { $0.metrics[m.name] }.allSatisfy { $0.count == 0 || MetricDisplay.of($0, m) == .probability }
                    page.addFigure(svg: SpreadLineFigure(title: "\(m.name) against \(s.sweepPaths[0])", series: [SpreadSeries(name: m.name, points: pts)],
                                                         xLabel: x.label, yLabel: probability ? "P(\(m.name) = 1)" : "\(m.name) (\(m.unit))",
                                                         discrete: pts.count <= 3, rangeLabel: probability ? "95 % interval" : "p05–p95",
                                                         categories: categorical ? s.pointLabels.map { $0[0] } : []).svg(),
                                   caption: (probability ? "Probability (mean of the 0/1 metric) with its 95 % binomial interval" : "Median with the p05–p95 range")
                                    + " at each sweep point; every point uses the same trial seeds.")
                }
            }
        } else if s.sweepPaths.count == 2 {
            let xLabels = unique(s.pointLabels.map { $0[0] }), yLabels = unique(s.pointLabels.map { $0[1] })
            if let xAxis = axis(xLabels, path: s.sweepPaths[0]), let yAxis = axis(yLabels, path: s.sweepPaths[1]) {
                // Civil-time notes depend on the axes only: one set for every metric's map.
                let twilight = twilightClock.flatMap { c in
                    xAxis.isDate && s.sweepPaths[1] == "parameters.start_offset" && yAxis.label.hasSuffix(")")
                        ? twilightLabels(c, dates: xLabels, offsets: yLabels,
                                         unit: String(yAxis.label.split(separator: "(").last?.dropLast() ?? "s")) : nil
                }
                // The wait before a twilight window is set by the calendar, not by the plan: table only.
                for m in metrics where (m.name != "duration_s" || metrics.count == 1) && m.name != ProcedureSchema.startWaitMetric.name {
                    var grid = Array(repeating: Array(repeating: Double.nan, count: xLabels.count), count: yLabels.count)
                    var lo = Double.infinity, hi = -Double.infinity
                    var probability = true
                    for (labels, p) in zip(s.pointLabels, s.points) {
                        guard let i = xLabels.firstIndex(of: labels[0]), let j = yLabels.firstIndex(of: labels[1]),
                              let r = p.metrics[m.name], let mean = r.mean else { continue }
                        probability = probability && MetricDisplay.of(r, m) == .probability
                        grid[j][i] = mean
                        lo = min(lo, mean); hi = max(hi, mean)
                    }
                    guard lo.isFinite else { continue }
                    let range: ClosedRange<Double> = (lo >= 0 && hi <= 1) ? 0...1 : lo...(hi > lo ? hi : lo + 1)
                    let what = probability ? "probability that \(m.name) = 1" : "mean \(m.name) (\(m.unit))"
                    page.addFigure(svg: HeatMapFigure(title: probability ? "P(\(m.name))" : "Mean \(m.name)",
                                                      panels: [HeatMapGrid(title: m.name, xCentres: xAxis.values, yCentres: yAxis.values, values: grid,
                                                                           notes: twilight?.notes ?? [])],
                                                      xLabel: twilight?.xLabel ?? (xAxis.isDate ? "\(s.sweepPaths[0]) (date of the night, UTC)" : xAxis.label),
                                                      yLabel: twilight?.yLabel ?? yAxis.label,
                                                      colourLabel: what,
                                                      valueRange: range, xAxisStyle: xAxis.isDate ? .dayOfYear : .numeric, columns: 1).svg(),
                                   caption: "Colour: \(what) at each sweep point (\(s.trials) trials each). "
                                    // The night search starts at local noon of the date, so its evening falls on that local date.
                                    + "x: \(twilight != nil ? "epoch: the local date of the evening" : axisMeaning(s, s.sweepPaths[0]) ?? s.sweepPaths[0]). "
                                    + "y: \(axisMeaning(s, s.sweepPaths[1]) ?? s.sweepPaths[1])."
                                    + (twilight.map { " " + $0.caption } ?? ""))
                }
            }
        }
        // The table always: categorical sweeps (plans, bands) are read here. Whether a metric's column is a
        // probability is decided once over all points: asked per cell, a year map (338 points) paid it 338² times.
        let probabilityColumns = metrics.map { m in
            s.points.allSatisfy({ $0.metrics[m.name].map { $0.count == 0 || MetricDisplay.of($0, m) == .probability } ?? true })
        }
        page.addTable(ReportTable(caption: "Per sweep point", columns: s.sweepPaths.map { ReportTable.Column($0) } + zip(metrics, probabilityColumns).flatMap { m, probabilityColumn -> [ReportTable.Column] in
            if probabilityColumn {
                return [ReportTable.Column("P(\(m.name))", numeric: true)]
            }
            return [ReportTable.Column("\(m.name) p50", unit: m.unit, numeric: true), ReportTable.Column("\(m.name) p95", unit: m.unit, numeric: true)]
        } + [ReportTable.Column("restarted", numeric: true), ReportTable.Column("aborted", numeric: true)], rows: zip(s.pointLabels, s.points).map { labels, p in
            let total = Double(max(p.outcomes.values.reduce(0, +), 1))
            let restarted = Double(p.outcomes["completed_after_restart"] ?? 0) / total
            let aborted = Double(p.outcomes.filter { !$0.key.hasPrefix("completed") }.values.reduce(0, +)) / total
            return labels.map { ReportTable.Cell.text($0) } + zip(metrics, probabilityColumns).flatMap { m, probabilityColumn -> [ReportTable.Cell] in
                guard let r = p.metrics[m.name], r.count > 0 else { return probabilityColumn ? [.empty] : [.empty, .empty] }
                if probabilityColumn { return [.number(r.mean ?? 0, decimals: 3)] }
                let count = MetricDisplay.of(r, m) == .count
                func cell(_ x: Double) -> ReportTable.Cell { count ? .integer(Int(x.rounded())) : .number(x, decimals: decimals(for: x)) }
                return [cell(r.quantile(0.5) ?? 0), cell(r.quantile(0.95) ?? 0)]
            } + [.number(restarted, decimals: 3), .number(aborted, decimals: 3)]
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
