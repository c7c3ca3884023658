import CGSL
import Foundation
import ScenarioKit
import SimKernel

/// A timing baseline (`Scenarios/baselines/<name>.json`): the distribution of the total duration and of
/// every step, the tolerance a re-run must stay within, and the event sequence of the first trials.
public struct Baseline: Sendable, Equatable {
    public static let schemaVersion = 1
    /// [U] our choices: medians are steady, tails noisier; α = 0.001 keeps false alarms rare in CI.
    public static let defaultMedianTolerance = 0.02
    public static let defaultP95Tolerance = 0.05
    public static let defaultAlpha = 0.001
    /// Trials whose event sequences are fingerprinted, and records kept of each to show a difference.
    public static let tracedTrials = 2
    public static let recordsKept = 200

    public var scenario: String
    public var seed: UInt64
    public var trials: Int
    public var medianTolerance: Double
    public var p95Tolerance: Double
    public var alpha: Double
    /// `duration_s` and `step:<name>`, over the first sweep point (a baseline guards one configuration).
    public var timings: [String: RunningStatistics]
    public var traces: [TracedTrial]

    public struct TracedTrial: Sendable, Equatable {
        public var trial: Int
        public var fingerprint: UInt64
        public var recordCount: Int
        /// The first `recordsKept` records, one line each (`TraceFormat.line`).
        public var records: [String]
    }

    /// Timings of a run's first point, as a baseline compares them.
    public static func timings(of state: StudyState) -> [String: RunningStatistics] {
        var t: [String: RunningStatistics] = [:]
        guard let p = state.points.first else { return t }
        t["duration_s"] = p.metrics["duration_s"] ?? RunningStatistics()
        for (name, s) in p.steps { t["step:" + name] = s.seconds }
        return t
    }

    /// Runs the first `tracedTrials` trials with the trace on.
    public static func traces(_ scenario: Scenario) throws -> [TracedTrial] {
        let procedure = try StudyRunner.procedures(for: scenario)[0]
        return try (0..<min(tracedTrials, scenario.study.trials)).map { t in
            let run = try StudyRunner.runTrial(procedure, scenario: scenario, point: scenario.sweepPoints[0], trial: t, trace: true)
            let records = run.trace ?? []
            return TracedTrial(trial: t, fingerprint: run.traceFingerprint ?? 0, recordCount: records.count,
                               records: records.prefix(recordsKept).map(TraceFormat.line))
        }
    }

    public static func make(_ scenario: Scenario, state: StudyState) throws -> Baseline {
        Baseline(scenario: scenario.name, seed: scenario.study.seed, trials: scenario.study.trials,
                 medianTolerance: defaultMedianTolerance, p95Tolerance: defaultP95Tolerance, alpha: defaultAlpha,
                 timings: timings(of: state), traces: try traces(scenario))
    }

    // MARK: Comparison

    public struct Row: Sendable {
        public let name: String
        public let baselineP50: Double?, currentP50: Double?
        public let baselineP95: Double?, currentP95: Double?
        /// Two-sided Mann–Whitney p-value (normal approximation with tie correction).
        public let pValue: Double
        public let problems: [String]
        public var failed: Bool { !problems.isEmpty }
    }

    public struct TraceDifference: Sendable {
        public let trial: Int
        /// Index of the first record that differs, nil when only the tail beyond the kept records does.
        public let index: Int?
        public let baseline: String?
        public let current: String?
    }

    public func compare(timings current: [String: RunningStatistics]) -> [Row] {
        Set(timings.keys).union(current.keys).sorted { ($0 == "duration_s" ? 0 : 1, $0) < ($1 == "duration_s" ? 0 : 1, $1) }.map { name in
            let b = timings[name], c = current[name]
            var problems: [String] = []
            if b == nil { problems.append("new step") }
            if c == nil { problems.append("step no longer runs") }
            func moved(_ x: Double?, _ y: Double?, _ tol: Double, _ label: String) {
                guard let x, let y else { return }
                let scale = max(abs(x), 1e-9)
                if abs(y - x) / scale > tol { problems.append(String(format: "%@ moved %+.2f%% (tolerance %.1f%%)", label, 100 * (y - x) / scale, 100 * tol)) }
            }
            moved(b?.quantile(0.5), c?.quantile(0.5), medianTolerance, "p50")
            moved(b?.quantile(0.95), c?.quantile(0.95), p95Tolerance, "p95")
            var p = 1.0
            if let b, let c {
                p = Self.mannWhitneyP(b.sketch, c.sketch)
                if p < alpha { problems.append(String(format: "Mann–Whitney p = %.2g < %.2g", p, alpha)) }
            }
            return Row(name: name, baselineP50: b?.quantile(0.5), currentP50: c?.quantile(0.5), baselineP95: b?.quantile(0.95),
                       currentP95: c?.quantile(0.95), pValue: p, problems: problems)
        }
    }

    public func compare(traces current: [TracedTrial]) -> [TraceDifference] {
        zip(traces, current).compactMap { b, c in
            guard b.fingerprint != c.fingerprint || b.recordCount != c.recordCount else { return nil }
            for i in 0..<max(b.records.count, c.records.count) {
                let x = i < b.records.count ? b.records[i] : nil
                let y = i < c.records.count ? c.records[i] : nil
                if x != y { return TraceDifference(trial: b.trial, index: i, baseline: x, current: y) }
            }
            return TraceDifference(trial: b.trial, index: nil, baseline: nil, current: nil)
        }
    }

    /// Two-sided p-value of the Mann–Whitney U test on two sketches (values equal within a bucket are
    /// ties; midranks and the tie-corrected variance), with GSL's normal tail.
    public static func mannWhitneyP(_ a: QuantileSketch, _ b: QuantileSketch) -> Double {
        let n1 = Double(a.count), n2 = Double(b.count)
        guard n1 > 0, n2 > 0 else { return 1 }
        var merged: [Double: (UInt64, UInt64)] = [:]
        for (v, c) in a.weightedValues() { merged[v, default: (0, 0)].0 += c }
        for (v, c) in b.weightedValues() { merged[v, default: (0, 0)].1 += c }
        var below = 0.0, rankSumA = 0.0, ties = 0.0
        for v in merged.keys.sorted() {
            let (ca, cb) = merged[v]!
            let t = Double(ca + cb)
            rankSumA += Double(ca) * (below + (t + 1) / 2)
            ties += t * t * t - t
            below += t
        }
        let n = n1 + n2
        let u = rankSumA - n1 * (n1 + 1) / 2
        let variance = n1 * n2 / 12 * ((n + 1) - ties / (n * (n - 1)))
        guard variance > 0 else { return 1 }
        let z = abs(u - n1 * n2 / 2) / variance.squareRoot()
        return min(1, 2 * gsl_cdf_ugaussian_Q(z))
    }
}

/// One trace record as one line of text (`obsim trace`, baselines).
public enum TraceFormat {
    public static func line(_ r: TraceRecord) -> String {
        let attrs = r.attributes.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        return "t=\(r.time) \(r.actor) \(r.action)" + (attrs.isEmpty ? "" : " " + attrs)
    }
}

/// Reads and writes baseline files (deterministic JSON; statistics in the state-file encoding).
public enum BaselineFile {
    public static func json(_ b: Baseline) -> JSONValue {
        .object([
            "schema": .int(Int64(Baseline.schemaVersion)),
            "scenario": .string(b.scenario),
            "seed": .uint(b.seed),
            "trials": .int(Int64(b.trials)),
            "tolerance": .object(["p50_relative": .double(b.medianTolerance), "p95_relative": .double(b.p95Tolerance),
                                  "mann_whitney_alpha": .double(b.alpha)]),
            "summary": .object(b.timings.mapValues { r in
                .object(["p50": .number(r.quantile(0.5)), "p95": .number(r.quantile(0.95)), "mean": .number(r.mean), "count": .uint(r.count)])
            }),
            "timings": .object(b.timings.mapValues(StateFile.stats)),
            "traces": .array(b.traces.map {
                .object(["trial": .int(Int64($0.trial)), "fingerprint": .string(String($0.fingerprint, radix: 16)),
                         "record_count": .int(Int64($0.recordCount)), "records": .array($0.records.map { .string($0) })])
            }),
        ])
    }

    public static func read(_ url: URL) throws -> Baseline {
        let j = try JSONValue.parse(try Data(contentsOf: url))
        func fail(_ w: String) -> MergeError { MergeError("\(url.path): \(w) is missing or malformed (baseline schema \(Baseline.schemaVersion))") }
        guard j["schema"]?.int64Value == Int64(Baseline.schemaVersion), let name = j["scenario"]?.stringValue,
              let seed = j["seed"]?.int64Value, let trials = j["trials"]?.int64Value, let tol = j["tolerance"],
              let p50 = tol["p50_relative"]?.doubleValue, let p95 = tol["p95_relative"]?.doubleValue, let alpha = tol["mann_whitney_alpha"]?.doubleValue,
              let timings = j["timings"]?.objectValue, let traces = j["traces"]?.arrayValue else { throw fail("a field") }
        // A hand-edited baseline is checked like a part's state: nothing out of range reaches a conversion.
        guard seed >= 0 else { throw fail("seed (\(seed), must be ≥ 0)") }
        guard trials >= 1, trials <= StateFile.maximumTrials else { throw fail("trials (\(trials), must be 1 to \(StateFile.maximumTrials))") }
        guard p50 > 0, p50.isFinite, p95 > 0, p95.isFinite, alpha > 0, alpha < 1 else { throw fail("tolerance (positive fractions, alpha in (0, 1))") }
        let checkedTimings = try timings.mapValues { t in
            do {
                return try StateFile.stats(t) { StateFile.StateProblem(what: "\($0) is missing or malformed") }
            } catch let e as StateFile.StateProblem {
                throw MergeError("\(url.path): timings: \(e.what) (baseline schema \(Baseline.schemaVersion))")
            }
        }
        return Baseline(scenario: name, seed: UInt64(seed), trials: Int(trials), medianTolerance: p50, p95Tolerance: p95, alpha: alpha,
                        timings: checkedTimings,
                        traces: try traces.map {
                            guard let t = $0["trial"]?.int64Value, t >= 0, let f = $0["fingerprint"]?.stringValue, let fp = UInt64(f, radix: 16),
                                  let n = $0["record_count"]?.int64Value, n >= 0, let r = $0["records"]?.arrayValue else { throw fail("traces") }
                            return Baseline.TracedTrial(trial: Int(t), fingerprint: fp, recordCount: Int(n), records: r.compactMap(\.stringValue))
                        })
    }
}
