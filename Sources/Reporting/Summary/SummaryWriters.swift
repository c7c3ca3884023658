import Experiments
import Foundation
import Procedures

/// `summary.json` (schema in Reports/README.md). Built only from a `StudyState`, which is the same bytes
/// for a run and for its merged shards, so the file is too. No wall-clock or host information here.
public enum SummaryJSON {
    public static let schemaVersion = 1

    public static func json(_ s: StudyState) -> JSONValue {
        let pooled = s.pooled
        var top: [String: JSONValue] = [
            "schema": .int(Int64(schemaVersion)),
            "scenario": .string(s.scenario),
            "procedure": .string(s.procedure),
            "seed": .uint(s.seed),
            "trials": .int(Int64(s.trials)),
            "completed_trials": .int(Int64(s.completedTrials)),
            "partial": .bool(s.partial),
            "quantile_relative_error": .double(QuantileSketch.relativeAccuracy),
        ]
        for (k, v) in block(pooled, s.metrics) { top[k] = v }
        if let r = s.sensitivity { top["sensitivity"] = SensitivityReport.json(r) }
        if !s.sweepPaths.isEmpty {
            top["sweep"] = .object([
                "parameters": .array(s.sweepPaths.map { .string($0) }),
                "points": .array(zip(s.pointLabels, s.points).map { labels, p in
                    var o = block(p, s.metrics)
                    o["values"] = .object(Dictionary(uniqueKeysWithValues: zip(s.sweepPaths, labels.map { JSONValue.string($0) })))
                    return .object(o)
                }),
            ])
        }
        return .object(top)
    }

    static func block(_ p: PointState, _ metrics: [MetricSpec]) -> [String: JSONValue] {
        var m: [String: JSONValue] = [:]
        for spec in metrics {
            var o = statistics(p.metrics[spec.name] ?? RunningStatistics())
            o["unit"] = .string(spec.unit)
            m[spec.name] = .object(o)
        }
        var out: [String: JSONValue] = [
            "metrics": .object(m),
            "outcomes": .object(p.outcomes.mapValues { .uint($0) }),
            "steps": StepTreeReport.json(p),
        ]
        if let d = p.deadline, let f = deadlineProbability(p), case .object(var o) = finishJSON(f) {
            o["label"] = .string(d.label)
            o["counted_from"] = .string(d.fromEpoch ? "epoch" : "start")
            out["deadline"] = .object(o)
        }
        if let t = TimeUseReport.json(p) { out["time_use"] = t }
        if FinishProbability.isKnown(p) { out["finish_probability"] = .array(FinishProbability.curve(p).map(finishJSON)) }
        return out
    }

    /// P(completed before `study.deadline`) with its Wilson interval; every trial counts, an aborted one as late.
    public static func deadlineProbability(_ p: PointState) -> FinishProbability? {
        guard let d = p.deadline else { return nil }
        return FinishProbability(seconds: d.seconds, finished: d.finished, trials: p.outcomes.values.reduce(0, +))
    }

    /// One point of P(finished by t) with its 95 % Wilson interval (aborted trials never finish).
    public static func finishJSON(_ f: FinishProbability) -> JSONValue {
        .object([
            "t_s": .double(f.seconds), "p": .double(f.probability), "lower": .double(f.lower), "upper": .double(f.upper),
            "finished": .uint(f.finished), "trials": .uint(f.trials),
        ])
    }

    public static func statistics(_ r: RunningStatistics) -> [String: JSONValue] {
        [
            "count": .uint(r.count),
            "mean": .number(r.mean),
            "sd": .number(r.standardDeviation),
            "min": .number(r.count > 0 ? r.minimum : nil),
            "p05": .number(r.quantile(0.05)),
            "p50": .number(r.quantile(0.50)),
            "p95": .number(r.quantile(0.95)),
            "max": .number(r.count > 0 ? r.maximum : nil),
        ]
    }
}

/// `summary.md`: what was run, then per point its outcomes, metrics and step tree. A large sweep (more
/// points than `StudyReport.maximumPointSections`) is one table per metric × point instead: the full
/// statistics of every point are in summary.json.
public enum SummaryMarkdown {
    public static func text(_ s: StudyState, description: String = "") -> String {
        var out = "# \(s.scenario)\n\n"
        if !description.isEmpty { out += description + "\n\n" }
        out += "Procedure `\(s.procedure)`, seed \(s.seed), \(s.completedTrials) of \(s.trials) trials per point"
        out += s.partial ? " (**partial**: the run was stopped).\n" : ".\n"
        out += "Quantiles are within \(QuantileSketch.relativeAccuracy * 100)% relative error.\n"
        out += "\n**\(StudyReport.headline(s))**\n"
        if s.points.count > StudyReport.maximumPointSections {
            return out + largeSweep(s)
        }
        let blocks: [(String, PointState)] = s.sweepPaths.isEmpty ? [("", s.points.first ?? s.pooled)]
            : zip(s.pointLabels, s.points).map { labels, p in (StudyReport.pointTitle(s, labels), p) }
        for (title, p) in blocks {
            if !title.isEmpty { out += "\n## \(title)\n\n\(StudyReport.pointHeadline(p, s.metrics))\n" }
            let total = p.outcomes.values.reduce(0, +)
            out += "\n| outcome | trials | fraction |\n|---|---:|---:|\n"
            for k in p.outcomes.keys.sorted() {
                out += "| \(k) | \(p.outcomes[k]!) | \(String(format: "%.4f", Double(p.outcomes[k]!) / Double(max(total, 1)))) |\n"
            }
            out += "\n" + StudyReport.metricTable(s.metrics, p, caption: nil).markdown()
            if let line = TimeUseReport.line(p) { out += "\n" + line + "\n" }
            out += StepTreeReport.markdown(p)
        }
        if let r = s.sensitivity { out += SensitivityReport.markdown(r) }
        return out
    }

    /// One row per point, one column per metric (p50, or the probability of a 0/1 metric).
    static func largeSweep(_ s: StudyState) -> String {
        let metrics = s.metrics.filter { m in s.points.contains { ($0.metrics[m.name]?.count ?? 0) > 0 } }
        var out = "\n\(s.points.count) sweep points: one row each with every metric's median (P(…) for a 0/1 metric) and the outcome shares; quantiles, means and step trees per point are in summary.json.\n\n"
        let probability = metrics.map { m in s.points.allSatisfy { $0.metrics[m.name].map { $0.count == 0 || MetricDisplay.of($0, m) == .probability } ?? true } }
        out += "| " + (s.sweepPaths + zip(metrics, probability).map { $1 ? "P(\($0.name))" : "\($0.name) p50 (\($0.unit))" } + ["restarted", "aborted"]).joined(separator: " | ") + " |\n"
        out += "|" + String(repeating: "---|", count: s.sweepPaths.count) + String(repeating: "---:|", count: metrics.count + 2) + "\n"
        for (labels, p) in zip(s.pointLabels, s.points) {
            let total = Double(max(p.outcomes.values.reduce(0, +), 1))
            var cells = labels
            for (m, prob) in zip(metrics, probability) {
                guard let r = p.metrics[m.name], r.count > 0 else { cells.append("–"); continue }
                if prob { cells.append(String(format: "%.3f", r.mean ?? 0)); continue }
                let v = r.quantile(0.5) ?? 0
                cells.append(MetricDisplay.of(r, m) == .count ? String(Int(v.rounded())) : String(format: "%.4g", v))
            }
            cells.append(String(format: "%.3f", Double(p.outcomes["completed_after_restart"] ?? 0) / total))
            cells.append(String(format: "%.3f", Double(p.outcomes.filter { !$0.key.hasPrefix("completed") }.values.reduce(0, +)) / total))
            out += "| " + cells.joined(separator: " | ") + " |\n"
        }
        return out
    }
}

/// Streams `trials.csv`: trial, seed, swept values, outcome, then every metric (empty when not measured).
public final class TrialsCSVWriter: TrialSink {
    let handle: FileHandle
    let metrics: [String]
    let seed: UInt64
    let pointLabels: [[String]]
    var buffer = ""

    public init(url: URL, state: StudyState, writeHeader: Bool = true) throws {
        guard FileManager.default.createFile(atPath: url.path, contents: nil) else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: url.path])
        }
        handle = try FileHandle(forWritingTo: url)
        metrics = state.metrics.map(\.name)
        seed = state.seed
        pointLabels = state.pointLabels
        if writeHeader {
            buffer = (["trial", "seed"] + state.sweepPaths + ["outcome"] + metrics).map(Self.field).joined(separator: ",") + "\n"
        }
    }

    static func field(_ s: String) -> String {
        s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" }) ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
    }

    public func write(_ t: TrialRun) throws {
        var cols = [String(t.trial), String(seed)] + pointLabels[t.point].map(Self.field) + [Self.field(t.result.outcome.kind)]
        for m in metrics { cols.append(t.result.metrics[m].map { $0.isFinite ? "\($0)" : "" } ?? "") }
        buffer += cols.joined(separator: ",") + "\n"
        if buffer.utf8.count > 1 << 16 { try flush() }
    }

    public func flush() throws {
        guard !buffer.isEmpty else { return }
        try handle.write(contentsOf: Data(buffer.utf8))
        buffer = ""
    }

    public func close() throws {
        try flush()
        try handle.close()
    }
}
