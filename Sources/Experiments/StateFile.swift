import Foundation
import SimKernel
import Procedures

/// `state.json`: a run's mergeable state. Doubles that must survive exactly (min, max) are written as
/// hexadecimal IEEE-754 bit patterns; exact sums as their integer limbs; sketches as bucket counts.
public enum StateFile {
    public static func json(_ s: StudyState) -> JSONValue {
        .object([
            "schema": .int(Int64(StudyState.schemaVersion)),
            "scenario": .string(s.scenario),
            "procedure": .string(s.procedure),
            "content_digest": .string(s.contentDigest),
            "seed": .uint(s.seed),
            "trials": .int(Int64(s.trials)),
            "metrics": .array(s.metrics.map { .object(["name": .string($0.name), "unit": .string($0.unit), "doc": .string($0.doc)]) }),
            "sweep_paths": .array(s.sweepPaths.map { .string($0) }),
            "point_labels": .array(s.pointLabels.map { .array($0.map { .string($0) }) }),
            "trial_ranges": .array(s.trialRanges.map { .array([.int(Int64($0.lowerBound)), .int(Int64($0.upperBound))]) }),
            "completed_trials": .int(Int64(s.completedTrials)),
            "partial": .bool(s.partial),
            "points": .array(s.points.map(point)),
        ].merging(s.sensitivity.map { ["sensitivity": sensitivity($0)] } ?? [:]) { a, _ in a })
    }

    static func sensitivity(_ r: SensitivityResult) -> JSONValue {
        func effect(_ e: SensitivityResult.Effect) -> JSONValue {
            .object(["delta": hex(e.delta), "se": hex(e.standardError), "lower95": hex(e.lower95), "upper95": hex(e.upper95)])
        }
        func end(_ e: SensitivityResult.End) -> JSONValue { .object(["value": hex(e.value), "p50": effect(e.p50), "p95": effect(e.p95)]) }
        return .object([
            "trials": .int(Int64(r.trials)), "resamples": .int(Int64(r.resamples)),
            "nominal_p50": hex(r.nominalP50), "nominal_p95": hex(r.nominalP95),
            "parameters": .array(r.parameters.map { p in
                .object(["path": .string(p.path), "doc": .string(p.doc), "nominal": p.nominal.map(hex) ?? .null, "low": end(p.low), "high": end(p.high)])
            }),
        ])
    }

    static func readSensitivity(_ j: JSONValue, _ fail: (String) -> StateProblem) throws -> SensitivityResult {
        func d(_ v: JSONValue?, _ what: String) throws -> Double {
            guard let h = v?.stringValue, let b = UInt64(h, radix: 16) else { throw fail("sensitivity \(what)") }
            return Double(bitPattern: b)
        }
        func effect(_ v: JSONValue?, _ what: String) throws -> SensitivityResult.Effect {
            .init(delta: try d(v?["delta"], what), standardError: try d(v?["se"], what), lower95: try d(v?["lower95"], what), upper95: try d(v?["upper95"], what))
        }
        func end(_ v: JSONValue?, _ what: String) throws -> SensitivityResult.End {
            .init(value: try d(v?["value"], what), p50: try effect(v?["p50"], what + " p50"), p95: try effect(v?["p95"], what + " p95"))
        }
        guard let trials = j["trials"]?.int64Value, trials >= 2, let resamples = j["resamples"]?.int64Value, resamples >= 0,
              let params = j["parameters"]?.arrayValue else { throw fail("sensitivity") }
        return SensitivityResult(trials: Int(trials), resamples: Int(resamples), nominalP50: try d(j["nominal_p50"], "nominal_p50"),
                                 nominalP95: try d(j["nominal_p95"], "nominal_p95"), parameters: try params.map { p in
            guard let path = p["path"]?.stringValue, let doc = p["doc"]?.stringValue else { throw fail("sensitivity parameters") }
            let nominal: Double? = (p["nominal"] ?? .null) == .null ? nil : try d(p["nominal"], path)
            return SensitivityResult.Parameter(path: path, doc: doc, nominal: nominal, low: try end(p["low"], path + " low"), high: try end(p["high"], path + " high"))
        })
    }

    static func point(_ p: PointState) -> JSONValue {
        var o = pointFields(p)
        if let d = p.deadline {
            o["deadline"] = .object(["label": .string(d.label), "seconds": hex(d.seconds), "from_epoch": .bool(d.fromEpoch), "finished": .uint(d.finished)])
        }
        return .object(o)
    }

    static func pointFields(_ p: PointState) -> [String: JSONValue] {
        [
            "metrics": .object(p.metrics.mapValues(stats)),
            "outcomes": .object(p.outcomes.mapValues { .uint($0) }),
            "completed_duration_s": stats(p.completedDuration),
            "time_use": .object(Dictionary(uniqueKeysWithValues: p.timeUse.map { ($0.key.rawValue, stats($0.value)) })),
            "steps": .object(p.steps.mapValues {
                .object(["lane": .string($0.lane), "seconds": stats($0.seconds), "share_of_parent_seconds": stats($0.shareOfParentSeconds)])
            }),
        ]
    }

    static func hex(_ d: Double) -> JSONValue { .string(String(d.bitPattern, radix: 16)) }

    static func stats(_ r: RunningStatistics) -> JSONValue {
        .object([
            "count": .uint(r.count),
            "sum": exact(r.sum),
            "sum_sq": exact(r.sumOfSquares),
            "min": hex(r.minimum),
            "max": hex(r.maximum),
            "zeros": .uint(r.sketch.zeros),
            "positive": buckets(r.sketch.positive),
            "negative": buckets(r.sketch.negative),
        ])
    }

    static func exact(_ e: ExactSum) -> JSONValue {
        var n = e
        n.normalize()
        return .array(n.limbs.enumerated().compactMap { $0.element == 0 ? nil : .array([.int(Int64($0.offset)), .int($0.element)]) })
    }

    static func buckets(_ b: BucketStore) -> JSONValue {
        .array(b.sparse.map { .array([.int(Int64($0.index)), .uint($0.count)]) })
    }

    public static func write(_ s: StudyState, to url: URL) throws {
        try Data(json(s).bytes()).write(to: url)
    }

    // MARK: Reading

    /// The most trials per sweep point a state may claim (also the bound `validate` puts on a study).
    public static let maximumTrials = 1 << 40

    /// Reads a state file and checks it for internal consistency before anything is built from it: every
    /// count, index and limb within the bounds a run can produce, the statistics agreeing with each other
    /// and with the trials the state claims. A hand-edited or corrupted part is refused, naming what is wrong.
    public static func read(_ url: URL) throws -> StudyState {
        let data: Data
        do { data = try Data(contentsOf: url) } catch { throw MergeError("cannot read \(url.path): \(error.localizedDescription)") }
        return try read(data: data, name: url.path)
    }

    /// The same, from the bytes of a state file; `name` (its path) goes into the errors.
    public static func read(data: Data, name: String) throws -> StudyState {
        let j: JSONValue
        do { j = try JSONValue.parse(data) } catch { throw MergeError("\(name) is not JSON: \(error.localizedDescription)") }
        do {
            return try state(from: j)
        } catch let e as StateProblem {
            throw MergeError("\(name): \(e.what) (state schema \(StudyState.schemaVersion))")
        }
    }

    struct StateProblem: Error { let what: String }

    static func state(from j: JSONValue) throws -> StudyState {
        func fail(_ what: String) -> StateProblem { StateProblem(what: "\(what) is missing or malformed") }
        func bad(_ what: String) -> StateProblem { StateProblem(what: what) }
        guard j["schema"]?.int64Value == Int64(StudyState.schemaVersion) else { throw fail("schema") }
        guard let scenario = j["scenario"]?.stringValue, let procedure = j["procedure"]?.stringValue,
              let digest = j["content_digest"]?.stringValue, let seedValue = j["seed"], let trials = j["trials"]?.int64Value,
              let metrics = j["metrics"]?.arrayValue, let paths = j["sweep_paths"]?.arrayValue, let labels = j["point_labels"]?.arrayValue,
              let ranges = j["trial_ranges"]?.arrayValue, let completed = j["completed_trials"]?.int64Value,
              case .bool(let partial)? = j["partial"], let points = j["points"]?.arrayValue else { throw fail("a field") }
        let seed: UInt64
        switch seedValue {
        case .int(let i) where i >= 0: seed = UInt64(i)
        case .uint(let u): seed = u
        default: throw fail("seed")
        }
        guard trials >= 1, trials <= maximumTrials else { throw bad("trials \(trials) is outside 1...\(maximumTrials)") }
        var s = StudyState.empty
        s.scenario = scenario
        s.procedure = procedure
        s.contentDigest = digest
        s.seed = seed
        s.trials = Int(trials)
        s.metrics = try metrics.map {
            guard let n = $0["name"]?.stringValue, let u = $0["unit"]?.stringValue else { throw fail("metrics") }
            return MetricSpec(n, unit: u, doc: $0["doc"]?.stringValue ?? "")
        }
        let metricNames = Set(s.metrics.map(\.name))
        guard metricNames.count == s.metrics.count, metricNames.contains("duration_s") else {
            throw bad("metrics must be distinct and include duration_s")
        }
        s.sweepPaths = try paths.map { guard let p = $0.stringValue else { throw fail("sweep_paths") }; return p }
        s.pointLabels = try labels.map { l in
            guard let a = l.arrayValue, a.count == s.sweepPaths.count else { throw bad("a point label does not have one value per swept path (\(s.sweepPaths.count))") }
            return try a.map { guard let v = $0.stringValue else { throw fail("point_labels") }; return v }
        }
        guard !points.isEmpty, points.count == s.pointLabels.count else {
            throw bad("\(points.count) point(s) but \(s.pointLabels.count) point label(s); a state has one of each per sweep point, at least one")
        }
        s.trialRanges = try ranges.map {
            guard let a = $0.arrayValue, a.count == 2, let lo = a[0].int64Value, let hi = a[1].int64Value else { throw fail("trial_ranges") }
            guard lo >= 0, lo <= hi, hi <= trials else { throw bad("trial range \(lo)..<\(hi) is outside the study's 0..<\(trials)") }
            return Int(lo)..<Int(hi)
        }
        for (a, b) in zip(s.trialRanges, s.trialRanges.dropFirst()) where b.lowerBound < a.upperBound {
            throw bad("trial ranges \(a) and \(b) are not sorted and disjoint")
        }
        let covered = s.trialRanges.reduce(0) { $0 + $1.count }
        guard completed >= 0, completed <= covered, partial || completed == covered else {
            throw bad("completed_trials \(completed) does not fit its trial ranges (\(covered) trials\(partial ? "" : ", not partial"))")
        }
        s.completedTrials = Int(completed)
        s.partial = partial
        let trialCount = UInt64(completed)
        s.points = try points.enumerated().map { index, p in
            guard let m = p["metrics"]?.objectValue, let o = p["outcomes"]?.objectValue, let st = p["steps"]?.objectValue else { throw fail("points") }
            func inPoint(_ what: String) -> StateProblem { bad("point \(index): \(what)") }
            var ps = PointState(metricNames: [])
            ps.metrics = try m.mapValues { try stats($0, fail) }
            for (name, stat) in ps.metrics {
                guard metricNames.contains(name) else { throw inPoint("metric \(name) is not one of the state's metrics") }
                guard stat.count <= trialCount else { throw inPoint("metric \(name) has \(stat.count) values from \(trialCount) trials") }
            }
            guard ps.metrics["duration_s"]?.count ?? 0 == trialCount else {
                throw inPoint("duration_s has \(ps.metrics["duration_s"]?.count ?? 0) values, not one per completed trial (\(trialCount))")
            }
            var outcomeTotal: UInt64 = 0
            ps.outcomes = try o.mapValues {
                guard let c = $0.int64Value, c >= 0 else { throw fail("outcomes") }
                let (sum, overflow) = outcomeTotal.addingReportingOverflow(UInt64(c))
                guard !overflow else { throw inPoint("outcome counts overflow") }
                outcomeTotal = sum
                return UInt64(c)
            }
            guard outcomeTotal == trialCount else { throw inPoint("outcomes add up to \(outcomeTotal), not completed_trials \(trialCount)") }
            if let d = p["deadline"] {
                guard let label = d["label"]?.stringValue, let sec = d["seconds"]?.stringValue, let bits = UInt64(sec, radix: 16),
                      case .bool(let fromEpoch)? = d["from_epoch"], let f = d["finished"]?.int64Value, f >= 0 else { throw fail("deadline") }
                let completed = ps.outcomes.filter { Outcome(kind: $0.key).isCompleted }.values.reduce(0, +)
                guard UInt64(f) <= completed else { throw inPoint("deadline: \(f) trials finished before it, more than the \(completed) completed") }
                ps.deadline = DeadlineCount(label: label, seconds: Double(bitPattern: bits), fromEpoch: fromEpoch, finished: UInt64(f))
            }
            // Absent in states written before it was kept: P(finished by t) is then unknown, not zero.
            if let c = p["completed_duration_s"] {
                ps.completedDuration = try stats(c, fail)
                let completedCount = ps.outcomes.filter { Outcome(kind: $0.key).isCompleted }.values.reduce(0, +)
                guard ps.completedDuration.count == completedCount else {
                    throw inPoint("completed_duration_s has \(ps.completedDuration.count) values, not one per completed outcome (\(completedCount))")
                }
            }
            // Absent in states written before it was kept: the breakdown is then not shown.
            if let tu = p["time_use"]?.objectValue {
                let completedCount = ps.outcomes.filter { Outcome(kind: $0.key).isCompleted }.values.reduce(0, +)
                for (name, value) in tu {
                    guard let use = TimeUse(rawValue: name) else { throw inPoint("time_use: \(name) is not one of \(TimeUse.allCases.map(\.rawValue).joined(separator: ", "))") }
                    let stat = try stats(value, fail)
                    guard stat.count == completedCount else { throw inPoint("time_use \(name) has \(stat.count) values, not one per completed outcome (\(completedCount))") }
                    ps.timeUse[use] = stat
                }
            }
            ps.steps = try st.mapValues {
                guard let lane = $0["lane"]?.stringValue, let sec = $0["seconds"], let share = $0["share_of_parent_seconds"] else { throw fail("steps") }
                let seconds = try stats(sec, fail)
                guard seconds.count <= trialCount else { throw inPoint("a step has \(seconds.count) values from \(trialCount) trials") }
                return StepStatistics(lane: lane, seconds: seconds, shareOfParentSeconds: try stats(share, fail))
            }
            return ps
        }
        if let v = j["sensitivity"] { s.sensitivity = try readSensitivity(v, fail) }
        return s
    }

    /// Bucket indices a finite |x| ≥ the sketch's smallest magnitude can have.
    static let bucketIndices = QuantileSketch.index(QuantileSketch.minimumMagnitude)...QuantileSketch.index(Double.greatestFiniteMagnitude)

    static func stats(_ j: JSONValue, _ fail: (String) -> StateProblem) throws -> RunningStatistics {
        func bad(_ what: String) -> StateProblem { StateProblem(what: what) }
        func u(_ k: String) throws -> UInt64 { guard let v = j[k]?.int64Value, v >= 0 else { throw fail(k) }; return UInt64(v) }
        func d(_ k: String) throws -> Double { guard let h = j[k]?.stringValue, let b = UInt64(h, radix: 16) else { throw fail(k) }; return Double(bitPattern: b) }
        func e(_ k: String) throws -> ExactSum {
            var limbs = [Int64](repeating: 0, count: ExactSum.limbCount)
            for pair in j[k]?.arrayValue ?? [] {
                guard let a = pair.arrayValue, a.count == 2, let i = a[0].int64Value, let v = a[1].int64Value, i >= 0, Int(i) < limbs.count else { throw fail(k) }
                // Written normalised: every limb in [0, 2^32) but the top one, which only carries the sign.
                let allowed: ClosedRange<Int64> = Int(i) == limbs.count - 1 ? -1...0 : 0...0xFFFF_FFFF
                guard allowed.contains(v) else { throw bad("\(k) limb \(i) = \(v) is outside \(allowed)") }
                limbs[Int(i)] = v
            }
            return ExactSum(limbs: limbs)
        }
        func b(_ k: String) throws -> (store: BucketStore, total: UInt64, indices: ClosedRange<Int>?) {
            var previous: Int64?
            var total: UInt64 = 0
            let pairs = try (j[k]?.arrayValue ?? []).map { pair -> (index: Int, count: UInt64) in
                guard let a = pair.arrayValue, a.count == 2, let i = a[0].int64Value, let c = a[1].int64Value, c > 0 else { throw fail(k) }
                guard bucketIndices.contains(Int(i)) else { throw bad("\(k) bucket index \(i) is outside \(bucketIndices)") }
                guard previous.map({ $0 < i }) ?? true else { throw bad("\(k) bucket indices are not ascending") }
                previous = i
                let (sum, overflow) = total.addingReportingOverflow(UInt64(c))
                guard !overflow else { throw bad("\(k) bucket counts overflow") }
                total = sum
                return (index: Int(i), count: UInt64(c))
            }
            return (BucketStore(sparse: pairs), total, pairs.isEmpty ? nil : pairs[0].index...pairs[pairs.count - 1].index)
        }
        let count = try u("count")
        let positive = try b("positive"), negative = try b("negative"), zeros = try u("zeros")
        let (partial, o1) = positive.total.addingReportingOverflow(negative.total)
        let (sketchCount, o2) = partial.addingReportingOverflow(zeros)
        guard !o1, !o2, sketchCount == count else { throw bad("count \(count) differs from the sketch's buckets (\(o1 || o2 ? "overflow" : "\(sketchCount)"))") }
        let sum = try e("sum"), sumOfSquares = try e("sum_sq")
        let minimum = try d("min"), maximum = try d("max")
        if count == 0 {
            guard minimum == .infinity, maximum == -.infinity, sum.value == 0, sumOfSquares.value == 0 else {
                throw bad("statistics of no values must have min +inf, max -inf and zero sums")
            }
        } else {
            guard minimum.isFinite, maximum.isFinite, minimum <= maximum else { throw bad("min \(minimum) / max \(maximum) are not finite and ordered") }
            let n = Double(count)
            let mean = sum.value / n
            let slack = 1e-9 * Swift.max(abs(minimum), abs(maximum))
            guard mean >= minimum - slack, mean <= maximum + slack else { throw bad("mean \(mean) lies outside [min \(minimum), max \(maximum)]") }
            let largestSquare = Swift.max(minimum * minimum, maximum * maximum)
            guard sumOfSquares.value >= 0, sumOfSquares.value <= n * largestSquare * (1 + 1e-9) else {
                throw bad("sum of squares \(sumOfSquares.value) does not fit \(count) values in [\(minimum), \(maximum)]")
            }
            // Each value lands in the bucket of its magnitude, so the buckets must lie within [min, max].
            let tiny = QuantileSketch.minimumMagnitude
            if let r = positive.indices {
                guard maximum >= tiny, r.upperBound <= QuantileSketch.index(maximum), r.lowerBound >= QuantileSketch.index(Swift.max(minimum, tiny)) else {
                    throw bad("positive buckets \(r) lie outside [min, max]")
                }
            }
            if let r = negative.indices {
                guard minimum <= -tiny, r.upperBound <= QuantileSketch.index(-minimum), r.lowerBound >= QuantileSketch.index(Swift.max(-maximum, tiny)) else {
                    throw bad("negative buckets \(r) lie outside [min, max]")
                }
            }
            if zeros > 0, minimum >= tiny || maximum <= -tiny { throw bad("zeros counted but [min, max] excludes 0") }
        }
        let sketch = QuantileSketch(positive: positive.store, negative: negative.store, zeros: zeros)
        return RunningStatistics(count: count, sum: sum, sumOfSquares: sumOfSquares, minimum: minimum, maximum: maximum, sketch: sketch)
    }
}

extension StudyState {
    static var empty: StudyState {
        StudyState(scenario: "", procedure: "", contentDigest: "", seed: 0, trials: 0, metrics: [], sweepPaths: [],
                   pointLabels: [], points: [], trialRanges: [], completedTrials: 0, partial: false)
    }
}
