import Foundation
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
        ])
    }

    static func point(_ p: PointState) -> JSONValue {
        .object([
            "metrics": .object(p.metrics.mapValues(stats)),
            "outcomes": .object(p.outcomes.mapValues { .uint($0) }),
            "steps": .object(p.steps.mapValues {
                .object(["lane": .string($0.lane), "seconds": stats($0.seconds), "share_of_parent_seconds": stats($0.shareOfParentSeconds)])
            }),
        ])
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
        try Data(json(s).text().utf8).write(to: url)
    }

    // MARK: Reading

    public static func read(_ url: URL) throws -> StudyState {
        let data: Data
        do { data = try Data(contentsOf: url) } catch { throw MergeError("cannot read \(url.path): \(error.localizedDescription)") }
        let j: JSONValue
        do { j = try JSONValue.parse(data) } catch { throw MergeError("\(url.path) is not JSON: \(error.localizedDescription)") }
        func fail(_ what: String) -> MergeError { MergeError("\(url.path): \(what) is missing or malformed (state schema \(StudyState.schemaVersion))") }
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
        s.sweepPaths = paths.compactMap(\.stringValue)
        s.pointLabels = labels.map { $0.arrayValue?.compactMap(\.stringValue) ?? [] }
        s.trialRanges = try ranges.map {
            guard let a = $0.arrayValue, a.count == 2, let lo = a[0].int64Value, let hi = a[1].int64Value, lo <= hi else { throw fail("trial_ranges") }
            return Int(lo)..<Int(hi)
        }
        s.completedTrials = Int(completed)
        s.partial = partial
        s.points = try points.map { p in
            guard let m = p["metrics"]?.objectValue, let o = p["outcomes"]?.objectValue, let st = p["steps"]?.objectValue else { throw fail("points") }
            var ps = PointState(metricNames: [])
            ps.metrics = try m.mapValues { try stats($0, fail) }
            ps.outcomes = try o.mapValues { guard let c = $0.int64Value, c >= 0 else { throw fail("outcomes") }; return UInt64(c) }
            ps.steps = try st.mapValues {
                guard let lane = $0["lane"]?.stringValue, let sec = $0["seconds"], let share = $0["share_of_parent_seconds"] else { throw fail("steps") }
                return StepStatistics(lane: lane, seconds: try stats(sec, fail), shareOfParentSeconds: try stats(share, fail))
            }
            return ps
        }
        return s
    }

    static func stats(_ j: JSONValue, _ fail: (String) -> MergeError) throws -> RunningStatistics {
        func u(_ k: String) throws -> UInt64 { guard let v = j[k]?.int64Value, v >= 0 else { throw fail(k) }; return UInt64(v) }
        func d(_ k: String) throws -> Double { guard let h = j[k]?.stringValue, let b = UInt64(h, radix: 16) else { throw fail(k) }; return Double(bitPattern: b) }
        func e(_ k: String) throws -> ExactSum {
            var limbs = [Int64](repeating: 0, count: ExactSum.limbCount)
            for pair in j[k]?.arrayValue ?? [] {
                guard let a = pair.arrayValue, a.count == 2, let i = a[0].int64Value, let v = a[1].int64Value, i >= 0, Int(i) < limbs.count else { throw fail(k) }
                limbs[Int(i)] = v
            }
            return ExactSum(limbs: limbs)
        }
        func b(_ k: String) throws -> BucketStore {
            try BucketStore(sparse: (j[k]?.arrayValue ?? []).map {
                guard let a = $0.arrayValue, a.count == 2, let i = a[0].int64Value, let c = a[1].int64Value, c >= 0 else { throw fail(k) }
                return (index: Int(i), count: UInt64(c))
            })
        }
        let sketch = QuantileSketch(positive: try b("positive"), negative: try b("negative"), zeros: try u("zeros"))
        return RunningStatistics(count: try u("count"), sum: try e("sum"), sumOfSquares: try e("sum_sq"),
                                 minimum: try d("min"), maximum: try d("max"), sketch: sketch)
    }
}

extension StudyState {
    static var empty: StudyState {
        StudyState(scenario: "", procedure: "", contentDigest: "", seed: 0, trials: 0, metrics: [], sweepPaths: [],
                   pointLabels: [], points: [], trialRanges: [], completedTrials: 0, partial: false)
    }
}
