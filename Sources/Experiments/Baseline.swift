import CGSL
import Foundation
import ScenarioKit
import SimKernel

/// A timing baseline (`Scenarios/baselines/<name>.json`): the distribution of the total duration and of
/// every step, the tolerance a re-run must stay within, and the event sequence of the first trials.
public struct Baseline: Sendable, Equatable {
    public static let schemaVersion = 2
    /// [U] our choices: medians are steady, tails noisier.
    public static let defaultMedianTolerance = 0.02
    public static let defaultP95Tolerance = 0.05
    /// [U] A shift must also exceed this many seconds: a 0.2 s step that doubles is no planner's concern.
    public static let defaultAbsoluteTolerance = 1.0
    /// Confidence of the interval on each shift, and the bootstrap resamples that estimate it.
    public static let defaultConfidence = 0.95
    public static let bootstrapResamples = 1000
    /// Trials whose event sequences are fingerprinted, and records kept of each to show a difference.
    public static let tracedTrials = 2
    public static let recordsKept = 200

    public var scenario: String
    public var seed: UInt64
    public var trials: Int
    public var medianTolerance: Double
    public var p95Tolerance: Double
    public var absoluteTolerance: Double
    public var confidence: Double
    /// `duration_s` and `step:<path>`, over the first sweep point (a baseline guards one configuration).
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
                 medianTolerance: defaultMedianTolerance, p95Tolerance: defaultP95Tolerance,
                 absoluteTolerance: defaultAbsoluteTolerance, confidence: defaultConfidence,
                 timings: timings(of: state), traces: try traces(scenario))
    }

    // MARK: Comparison

    /// The shift of one quantile from the baseline to the current run: relative (`estimate`, with its
    /// confidence interval `low`...`high`) and in seconds.
    public struct Shift: Sendable, Equatable {
        public let estimate: Double
        public let low: Double
        public let high: Double
        public let seconds: Double
        /// Beyond tolerance: the whole interval lies outside ±`relative`, and the shift exceeds `absolute`
        /// seconds. Noise cannot fail a run this way, and neither can a tiny real change (300 s → 301 s at
        /// 2 %) however significant.
        public func exceeds(relative: Double, absolute: Double) -> Bool {
            (low > relative || high < -relative) && abs(seconds) > absolute
        }
    }

    public struct Row: Sendable {
        public let name: String
        public let baselineP50: Double?, currentP50: Double?
        public let baselineP95: Double?, currentP95: Double?
        public let p50Shift: Shift?, p95Shift: Shift?
        public let problems: [String]
        public var failed: Bool { !problems.isEmpty }
        /// Moved by more than the quantile sketch's own error, whether or not beyond tolerance.
        public var moved: Bool {
            failed || [p50Shift, p95Shift].contains { $0.map { abs($0.estimate) > 2 * QuantileSketch.relativeAccuracy } ?? false }
        }
    }

    public struct TraceDifference: Sendable {
        public let trial: Int
        /// Index of the first record that differs, nil when only the tail beyond the kept records does.
        public let index: Int?
        public let baseline: String?
        public let current: String?
        public let structural: Bool
    }

    public func compare(timings current: [String: RunningStatistics]) -> [Row] {
        // One fixed stream for the bootstrap, used in row order: the same inputs give the same intervals.
        let stream = RandomStream(gslSeed: 20_261_202, name: "obsim check bootstrap")
        return Set(timings.keys).union(current.keys).sorted { ($0 == "duration_s" ? 0 : 1, $0) < ($1 == "duration_s" ? 0 : 1, $1) }.map { name in
            let b = timings[name], c = current[name]
            var problems: [String] = []
            if b == nil { problems.append("new step") }
            if c == nil { problems.append("step no longer runs") }
            var shifts: [Shift?] = [nil, nil]
            if let b, let c, b.count > 0, c.count > 0 {
                shifts = Self.shifts(b.sketch, c.sketch, quantiles: [0.5, 0.95], confidence: confidence, resamples: Self.bootstrapResamples, stream: stream)
                for (k, (tol, label)) in [(medianTolerance, "p50"), (p95Tolerance, "p95")].enumerated() {
                    if let shift = shifts[k], shift.exceeds(relative: tol, absolute: absoluteTolerance) {
                        problems.append(String(format: "%@ moved %+.2f%% [%+.2f%%, %+.2f%%], %+.1f s (tolerance %.1f%% and %.0f s)", label,
                                               100 * shift.estimate, 100 * shift.low, 100 * shift.high, shift.seconds, 100 * tol, absoluteTolerance))
                    }
                }
            }
            return Row(name: name, baselineP50: b?.quantile(0.5), currentP50: c?.quantile(0.5), baselineP95: b?.quantile(0.95),
                       currentP95: c?.quantile(0.95), p50Shift: shifts[0], p95Shift: shifts[1], problems: problems)
        }
    }

    /// The relative shift of each quantile from `a` to `b` with a percentile-bootstrap interval: both
    /// samples are resampled from their sketches (bucket counts, a multinomial draw of the same size) and
    /// the shift of the resampled quantiles taken `resamples` times. A baseline quantile of 0 gives nil.
    public static func shifts(_ a: QuantileSketch, _ b: QuantileSketch, quantiles qs: [Double], confidence: Double,
                              resamples: Int, stream: RandomStream) -> [Shift?] {
        let wa = a.weightedValues(), wb = b.weightedValues()
        var draws = [[Double]](repeating: [], count: qs.count)
        // A sample of one value per side has nothing to resample.
        let constant = wa.count == 1 && wb.count == 1
        for _ in 0..<(constant ? 0 : resamples) {
            let ra = resample(wa, stream), rb = resample(wb, stream)
            for (k, q) in qs.enumerated() {
                guard let x = quantile(ra, q), let y = quantile(rb, q), abs(x) > 1e-9 else { continue }
                draws[k].append((y - x) / abs(x))
            }
        }
        let tail = (1 - confidence) / 2
        return qs.enumerated().map { k, q in
            guard let qa = quantile(wa, q), let qb = quantile(wb, q), abs(qa) > 1e-9 else { return nil }
            let estimate = (qb - qa) / abs(qa)
            var d = draws[k]
            guard !d.isEmpty else { return Shift(estimate: estimate, low: estimate, high: estimate, seconds: qb - qa) }
            d.sort()
            return d.withUnsafeBufferPointer { p in
                Shift(estimate: estimate, low: gsl_stats_quantile_from_sorted_data(p.baseAddress, 1, p.count, tail),
                      high: gsl_stats_quantile_from_sorted_data(p.baseAddress, 1, p.count, 1 - tail), seconds: qb - qa)
            }
        }
    }

    /// The order statistic of rank ⌊q·(n − 1)⌋ of a weighted sample sorted by value (the sketch's rule).
    static func quantile(_ w: [(value: Double, count: UInt64)], _ q: Double) -> Double? {
        let n = w.reduce(UInt64(0)) { $0 + $1.count }
        guard n > 0 else { return nil }
        let rank = UInt64((q * Double(n - 1)).rounded(.down))
        var seen: UInt64 = 0
        for (v, c) in w {
            seen += c
            if seen > rank { return v }
        }
        return w.last?.value
    }

    static func resample(_ w: [(value: Double, count: UInt64)], _ stream: RandomStream) -> [(value: Double, count: UInt64)] {
        let n = w.reduce(UInt64(0)) { $0 + $1.count }
        let p = w.map { Double($0.count) }
        var counts = [UInt32](repeating: 0, count: w.count)
        gsl_ran_multinomial(stream.rng, w.count, UInt32(n), p, &counts)
        return zip(w, counts).map { ($0.value, UInt64($1)) }
    }

    /// The first record that differs in each traced trial. `structural` is true when the events
    /// themselves differ (one added, removed or reordered, or a different action), not only their times
    /// and the numbers they carry: only a structural difference fails `obsim check`, since a timing change
    /// within tolerance moves every later time stamp.
    public func compare(traces current: [TracedTrial]) -> [TraceDifference] {
        zip(traces, current).compactMap { b, c in
            guard b.fingerprint != c.fingerprint || b.recordCount != c.recordCount else { return nil }
            let structural = b.recordCount != c.recordCount || b.records.map(Self.withoutNumbers) != c.records.map(Self.withoutNumbers)
            for i in 0..<max(b.records.count, c.records.count) {
                let x = i < b.records.count ? b.records[i] : nil
                let y = i < c.records.count ? c.records[i] : nil
                if x != y { return TraceDifference(trial: b.trial, index: i, baseline: x, current: y, structural: structural) }
            }
            return TraceDifference(trial: b.trial, index: nil, baseline: nil, current: nil, structural: structural)
        }
    }

    /// A trace line with every number replaced by `#`.
    static func withoutNumbers(_ line: String) -> String {
        line.replacing(/[-+]?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?/, with: "#")
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
                                  "absolute_s": .double(b.absoluteTolerance), "confidence": .double(b.confidence)]),
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
              let p50 = tol["p50_relative"]?.doubleValue, let p95 = tol["p95_relative"]?.doubleValue,
              let absolute = tol["absolute_s"]?.doubleValue, let confidence = tol["confidence"]?.doubleValue,
              let timings = j["timings"]?.objectValue, let traces = j["traces"]?.arrayValue else { throw fail("a field") }
        // A hand-edited baseline is checked like a part's state: nothing out of range reaches a conversion.
        guard seed >= 0 else { throw fail("seed (\(seed), must be ≥ 0)") }
        guard trials >= 1, trials <= StateFile.maximumTrials else { throw fail("trials (\(trials), must be 1 to \(StateFile.maximumTrials))") }
        guard p50 > 0, p50.isFinite, p95 > 0, p95.isFinite, absolute >= 0, absolute.isFinite, confidence > 0, confidence < 1 else {
            throw fail("tolerance (positive fractions, absolute_s ≥ 0, confidence in (0, 1))")
        }
        let checkedTimings = try timings.mapValues { t in
            do {
                return try StateFile.stats(t) { StateFile.StateProblem(what: "\($0) is missing or malformed") }
            } catch let e as StateFile.StateProblem {
                throw MergeError("\(url.path): timings: \(e.what) (baseline schema \(Baseline.schemaVersion))")
            }
        }
        return Baseline(scenario: name, seed: UInt64(seed), trials: Int(trials), medianTolerance: p50, p95Tolerance: p95,
                        absoluteTolerance: absolute, confidence: confidence,
                        timings: checkedTimings,
                        traces: try traces.map {
                            guard let t = $0["trial"]?.int64Value, t >= 0, let f = $0["fingerprint"]?.stringValue, let fp = UInt64(f, radix: 16),
                                  let n = $0["record_count"]?.int64Value, n >= 0, let r = $0["records"]?.arrayValue else { throw fail("traces") }
                            return Baseline.TracedTrial(trial: Int(t), fingerprint: fp, recordCount: Int(n), records: r.compactMap(\.stringValue))
                        })
    }
}
