import Procedures
import ScenarioKit
import SimKernel

/// Accumulated results of one sweep point. Everything in it merges exactly and order-free.
public struct PointState: Sendable, Equatable {
    /// Statistics per declared metric name (metrics never measured stay empty).
    public var metrics: [String: RunningStatistics]
    public var outcomes: [String: UInt64]
    /// Per step path (`StepPath`): its per-trial total duration and share of its parent, in seconds.
    /// Built from `stepLedger` on each read: bind it once rather than indexing it in a loop.
    public var steps: [String: StepStatistics] {
        get { stepLedger.byPath }
        set { stepLedger = StepLedger(newValue) }
    }
    /// The same statistics indexed by interned path, as trials add to them.
    public var stepLedger = StepLedger()
    /// `duration_s` of the trials that completed (with or without a restart) only: an aborted trial never
    /// finishes, so it must not count as a short duration in P(finished by t) (`FinishProbability`).
    public var completedDuration = RunningStatistics()
    /// `study.deadline` at this point and how many trials completed before it.
    public var deadline: DeadlineCount?
    /// Per time use, the seconds of each completed trial spent on it (`TimeUseAttribution`); an aborted
    /// trial is left out, as it is of `completedDuration`, so the uses add up to that duration.
    public var timeUse: [TimeUse: RunningStatistics] = [:]

    public init(metricNames: [String]) {
        metrics = Dictionary(uniqueKeysWithValues: metricNames.map { ($0, RunningStatistics()) })
        outcomes = [:]
    }

    public mutating func merge(_ other: PointState) {
        for (k, v) in other.metrics { metrics[k, default: RunningStatistics()].merge(v) }
        for (k, v) in other.outcomes { outcomes[k, default: 0] += v }
        completedDuration.merge(other.completedDuration)
        for (k, v) in other.timeUse { timeUse[k, default: RunningStatistics()].merge(v) }
        if let o = other.deadline {
            if var d = deadline {
                d.finished += o.finished
                d.seconds = min(d.seconds, o.seconds)
                deadline = d
            } else { deadline = o }
        }
        stepLedger.merge(other.stepLedger)
    }

    /// Adds one trial.
    public mutating func add(_ trial: TrialRun) {
        outcomes[trial.result.outcome.kind, default: 0] += 1
        metrics["duration_s", default: RunningStatistics()].add(trial.durationSeconds)
        if trial.result.outcome.isCompleted { completedDuration.add(trial.durationSeconds) }
        if var d = deadline, trial.result.outcome.isCompleted,
           (d.fromEpoch ? trial.startSeconds + trial.durationSeconds : trial.durationSeconds) <= d.seconds {
            d.finished += 1
            deadline = d
        }
        for (name, value) in trial.result.metrics where name != "duration_s" {
            metrics[name]?.add(value)
        }
        // Steps may repeat within a trial (20 flats): a step's statistic is its total per trial.
        let window = trial.startSeconds...(trial.startSeconds + trial.durationSeconds)
        if trial.result.outcome.isCompleted {
            let uses = TimeUseAttribution.secondsByOrdinal(trial.steps, window: window).parts
            // Every use gets a value in every completed trial (0 when unused), so their means add up.
            for use in TimeUse.allCases { timeUse[use, default: RunningStatistics()].add(uses[use.ordinal]) }
        }
        stepLedger.add(trial.steps, window: window)
    }
}

/// Trials of a point that completed before `study.deadline`, counted exactly (not from the sketch).
public struct DeadlineCount: Sendable, Equatable {
    /// As the scenario gives it (`7200 s`, `civil_dusk`).
    public var label: String
    /// After the procedure's start, or after the epoch when `fromEpoch` (an event).
    public var seconds: Double
    public var fromEpoch: Bool
    public var finished: UInt64 = 0
    public init(label: String, seconds: Double, fromEpoch: Bool, finished: UInt64 = 0) {
        self.label = label
        self.seconds = seconds
        self.fromEpoch = fromEpoch
        self.finished = finished
    }
}

public struct StepStatistics: Sendable, Equatable {
    /// The Gantt lane (the smallest name seen, so merge order cannot change it).
    public var lane: String
    public var seconds = RunningStatistics()
    /// Per trial, the seconds of the parent's span this step accounts for (`StepAttribution`).
    public var shareOfParentSeconds = RunningStatistics()
    public init(lane: String) { self.lane = lane }
    public init(lane: String, seconds: RunningStatistics, shareOfParentSeconds: RunningStatistics) {
        self.lane = lane
        self.seconds = seconds
        self.shareOfParentSeconds = shareOfParentSeconds
    }
    mutating func add(_ x: Double, share: Double, lane l: String) {
        seconds.add(x)
        shareOfParentSeconds.add(share)
        lane = min(lane, l)
    }
    mutating func merge(_ o: StepStatistics) {
        seconds.merge(o.seconds)
        shareOfParentSeconds.merge(o.shareOfParentSeconds)
        lane = min(lane, o.lane)
    }
}

/// The mergeable state of a run or a shard (`state.json`).
public struct StudyState: Sendable, Equatable {
    public static let schemaVersion = 1
    public var scenario: String
    public var procedure: String
    public var contentDigest: String
    public var seed: UInt64
    /// Trials of the whole study (per point), whatever this shard covers.
    public var trials: Int
    public var metrics: [MetricSpec]
    /// Swept paths and each point's values as text (for reports and merge checks).
    public var sweepPaths: [String]
    public var pointLabels: [[String]]
    public var points: [PointState]
    /// Trial index ranges [lower, upper) this state covers, sorted and disjoint.
    public var trialRanges: [Range<Int>]
    /// Trials completed (per point). Equals the ranges' total unless the run was stopped.
    public var completedTrials: Int
    public var partial: Bool
    /// `study.sensitivity`, computed by the run (or shard) that holds trial 0; merges keep it.
    public var sensitivity: SensitivityResult? = nil

    public init(scenario: String, procedure: String, contentDigest: String, seed: UInt64, trials: Int, metrics: [MetricSpec],
                sweepPaths: [String], pointLabels: [[String]], points: [PointState], trialRanges: [Range<Int>],
                completedTrials: Int, partial: Bool) {
        self.scenario = scenario
        self.procedure = procedure
        self.contentDigest = contentDigest
        self.seed = seed
        self.trials = trials
        self.metrics = metrics
        self.sweepPaths = sweepPaths
        self.pointLabels = pointLabels
        self.points = points
        self.trialRanges = trialRanges
        self.completedTrials = completedTrials
        self.partial = partial
    }

    public init(scenario: Scenario, ranges: [Range<Int>]) {
        self.scenario = scenario.name
        procedure = scenario.procedureName
        contentDigest = scenario.contentDigest
        seed = scenario.study.seed
        trials = scenario.study.trials
        metrics = scenario.procedureType.schema.allMetrics
        sweepPaths = scenario.study.sweep.map(\.path)
        pointLabels = scenario.sweepPoints.map { p in zip(scenario.study.sweep, p.values).map { $1.text(as: $0.type) } }
        points = scenario.sweepPoints.map { point in
            var p = PointState(metricNames: scenario.procedureType.schema.allMetrics.map(\.name))
            // The loader has resolved the deadline at every point, so this cannot fail here.
            if let d = scenario.study.deadline, let limit = try? scenario.deadlineLimit(epochUnixSeconds: scenario.point(point).epochUnixSeconds) {
                p.deadline = DeadlineCount(label: d.label, seconds: limit.seconds, fromEpoch: limit.fromEpoch)
            }
            return p
        }
        trialRanges = ranges
        completedTrials = 0
        partial = false
    }

    /// All points pooled (the top-level statistics of a sweep).
    public var pooled: PointState {
        var all = PointState(metricNames: metrics.map(\.name))
        for p in points { all.merge(p) }
        return all
    }
}

/// Why shards cannot be merged.
public struct MergeError: Error, CustomStringConvertible {
    public let description: String
    public init(_ d: String) { description = d }
}

public enum StudyMerge {
    /// Merges shard states of one study. They must share scenario content, seed, trial count, metrics and
    /// sweep points, and their trial ranges must not overlap. `names` (the parts' paths) go into errors.
    /// The merge is partial when a part is, or when the parts together do not cover every trial.
    public static func merge(_ parts: [StudyState], names: [String]? = nil) throws -> StudyState {
        guard var merged = parts.first else { throw MergeError("nothing to merge") }
        let names = names ?? parts.indices.map { "part \($0 + 1)" }
        for (p, name) in zip(parts, names).dropFirst() {
            guard p.contentDigest == merged.contentDigest, p.scenario == merged.scenario else {
                throw MergeError("\(name): part of scenario \(p.scenario) (content \(p.contentDigest)) does not match \(merged.scenario) (content \(merged.contentDigest)) of \(names[0])")
            }
            guard p.seed == merged.seed, p.trials == merged.trials else {
                throw MergeError("\(name): parts disagree on seed or trials: seed \(p.seed) vs \(merged.seed), trials \(p.trials) vs \(merged.trials) of \(names[0])")
            }
            guard p.procedure == merged.procedure, p.metrics == merged.metrics, p.sweepPaths == merged.sweepPaths,
                  p.pointLabels == merged.pointLabels, p.points.count == merged.points.count else {
                throw MergeError("\(name): procedure, metrics or sweep points differ from those of \(names[0])")
            }
            for r in p.trialRanges where merged.trialRanges.contains(where: { $0.overlaps(r) }) {
                throw MergeError("\(name): trials \(r.lowerBound)..<\(r.upperBound) appear in two parts")
            }
            for i in merged.points.indices { merged.points[i].merge(p.points[i]) }
            if merged.sensitivity == nil { merged.sensitivity = p.sensitivity }
            merged.trialRanges += p.trialRanges
            merged.completedTrials += p.completedTrials
            merged.partial = merged.partial || p.partial
        }
        merged.trialRanges.sort { $0.lowerBound < $1.lowerBound }
        // Coalesce adjacent ranges so a complete merge reads as one range 0..<trials.
        var coalesced: [Range<Int>] = []
        for r in merged.trialRanges {
            if let last = coalesced.last, last.upperBound == r.lowerBound { coalesced[coalesced.count - 1] = last.lowerBound..<r.upperBound } else { coalesced.append(r) }
        }
        merged.trialRanges = coalesced
        if coalesced != [0..<merged.trials] { merged.partial = true }
        return merged
    }
}
