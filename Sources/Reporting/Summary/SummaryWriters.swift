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
        return [
            "metrics": .object(m),
            "outcomes": .object(p.outcomes.mapValues { .uint($0) }),
            "steps": .object(p.steps.mapValues { st in
                var o = statistics(st.seconds)
                o["lane"] = .string(st.lane)
                o["unit"] = .string("s")
                return .object(o)
            }),
        ]
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

/// `summary.md`: what was run, outcomes, metrics, steps sorted by mean time, the dominating step.
public enum SummaryMarkdown {
    public static func text(_ s: StudyState, description: String = "") -> String {
        func f(_ d: Double?) -> String { d.map { String(format: "%.4g", $0) } ?? "–" }
        var out = "# \(s.scenario)\n\n"
        if !description.isEmpty { out += description + "\n\n" }
        out += "Procedure `\(s.procedure)`, seed \(s.seed), \(s.completedTrials) of \(s.trials) trials per point"
        out += s.partial ? " (**partial**: the run was stopped).\n" : ".\n"
        out += "Quantiles are within \(QuantileSketch.relativeAccuracy * 100)% relative error.\n"
        let blocks: [(String, PointState)] = s.sweepPaths.isEmpty ? [("", s.pooled)]
            : zip(s.pointLabels, s.points).map { labels, p in (zip(s.sweepPaths, labels).map { "\($0) = \($1)" }.joined(separator: ", "), p) }
        for (title, p) in blocks {
            if !title.isEmpty { out += "\n## \(title)\n" }
            let total = p.outcomes.values.reduce(0, +)
            out += "\n| outcome | trials | fraction |\n|---|---:|---:|\n"
            for k in p.outcomes.keys.sorted() {
                out += "| \(k) | \(p.outcomes[k]!) | \(String(format: "%.4f", Double(p.outcomes[k]!) / Double(max(total, 1)))) |\n"
            }
            out += "\n| metric | unit | count | mean | sd | min | p05 | p50 | p95 | max |\n|---|---|---:|---:|---:|---:|---:|---:|---:|---:|\n"
            for m in s.metrics {
                let r = p.metrics[m.name] ?? RunningStatistics()
                out += "| \(m.name) | \(m.unit) | \(r.count) | \(f(r.mean)) | \(f(r.standardDeviation)) | \(f(r.count > 0 ? r.minimum : nil)) | \(f(r.quantile(0.05))) | \(f(r.quantile(0.5))) | \(f(r.quantile(0.95))) | \(f(r.count > 0 ? r.maximum : nil)) |\n"
            }
            let steps = p.steps.sorted { ($0.value.seconds.mean ?? 0, $1.key) > ($1.value.seconds.mean ?? 0, $0.key) }
            if let first = steps.first {
                let totalMean = p.metrics["duration_s"]?.mean ?? 0
                out += "\n| step | lane | trials | mean (s) | p50 (s) | p95 (s) | share of mean duration |\n|---|---|---:|---:|---:|---:|---:|\n"
                for (name, st) in steps {
                    let share = totalMean > 0 ? String(format: "%.1f%%", 100 * (st.seconds.mean ?? 0) * Double(st.seconds.count) / Double(max(total, 1)) / totalMean) : "–"
                    out += "| \(name) | \(st.lane) | \(st.seconds.count) | \(f(st.seconds.mean)) | \(f(st.seconds.quantile(0.5))) | \(f(st.seconds.quantile(0.95))) | \(share) |\n"
                }
                out += "\nThe step that dominates is **\(first.key)** (lane \(first.value.lane)), \(f(first.value.seconds.mean)) s on average where it runs.\n"
            }
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
