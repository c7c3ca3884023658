import Foundation
import Procedures
import SimKernel
import Testing
@testable import Experiments

/// P(finished by t) from a point's state: against the exponential distribution's closed form, with aborted
/// trials counted as never finishing.
@Suite struct FinishProbabilityTests {
    static func trial(_ i: Int, _ seconds: Double, _ outcome: Outcome) -> TrialRun {
        TrialRun(trial: i, point: 0, result: TrialResult(outcome: outcome), durationSeconds: seconds, steps: [], trace: nil, traceFingerprint: nil)
    }

    /// Durations exponential with mean τ; a fraction a of the trials abort (at a short time, which must
    /// not count): P(finished by t) = (1 − a)(1 − e^(−t/τ)). Tolerance 4 binomial standard errors plus the
    /// sketch's relative resolution of t.
    @Test func exponentialDurationsWithAbortsMatchTheClosedForm() {
        let tau = 1800.0, abortShare = 0.2, n = 20_000
        let stream = RandomStream(gslSeed: 20261202)
        var p = PointState(metricNames: ["duration_s"])
        for i in 0..<n {
            if stream.uniform() < abortShare { p.add(Self.trial(i, 5, Outcome(kind: "aborted_lamp_failure"))) }
            else { p.add(Self.trial(i, stream.exponential(mean: tau), .completed)) }
        }
        #expect(FinishProbability.isKnown(p))
        for t in [60.0, 900, 1800, 3600, 7200] {
            let f = FinishProbability.at(t, p)
            let truth = (1 - abortShare) * (1 - exp(-t / tau))
            // The bucket holding t spans up to 2α relative: P moves by at most that times the density.
            let resolution = (1 - abortShare) * exp(-t / tau) * t / tau * 2 * QuantileSketch.relativeAccuracy
            let se = (truth * (1 - truth) / Double(n)).squareRoot()
            #expect(abs(f.probability - truth) < 4 * se + resolution, "t = \(t): \(f.probability) vs \(truth)")
            #expect(f.lower <= f.probability && f.probability <= f.upper, "t = \(t): \(f.lower) \(f.probability) \(f.upper) \(f.finished)")
        }
        // Long after every completed trial, only the completed share has finished: aborts never finish.
        let late = FinishProbability.at(1e9, p)
        #expect(late.finished == p.completedDuration.count)
        #expect(abs(late.probability - (1 - abortShare)) < 4 * (abortShare * (1 - abortShare) / Double(n)).squareRoot())
        // The aborted trials ended at 5 s; none counts as finished by 10 s.
        #expect(FinishProbability.at(10, p).finished < UInt64(Double(n) * 0.01))
    }

    /// Wilson limits against their closed form and tabulated values (Newcombe 1998, Table I: 0/10 gives
    /// 0–0.2775, 5/10 gives 0.2366–0.7634), and at small k of a large n, where GSL's beta quantile fails.
    @Test func wilsonLimits() {
        let none = FinishProbability(seconds: 0, finished: 0, trials: 10)
        let z2 = 1.959964 * 1.959964
        #expect(none.lower == 0)
        #expect(abs(none.upper - z2 / (10 + z2)) < 1e-6)
        #expect(abs(none.upper - 0.2775) < 1e-4)
        let all = FinishProbability(seconds: 0, finished: 10, trials: 10)
        #expect(all.upper == 1 && abs(all.lower - 10 / (10 + z2)) < 1e-6)
        let half = FinishProbability(seconds: 0, finished: 5, trials: 10)
        #expect(abs(half.lower - 0.2366) < 1e-4 && abs(half.upper - 0.7634) < 1e-4)
        let rare = FinishProbability(seconds: 0, finished: 5, trials: 20_000)
        #expect(rare.upper.isFinite && rare.lower < 0.00025 && rare.upper > 0.00025 && rare.upper < 0.001)
    }

    @Test func completedDurationsSurviveTheStateFileAndMerge() throws {
        var a = PointState(metricNames: ["duration_s"]), b = a
        a.add(Self.trial(0, 100, .completed))
        b.add(Self.trial(1, 50, Outcome(kind: "aborted_timeout")))
        a.merge(b)
        #expect(a.completedDuration.count == 1 && a.metrics["duration_s"]?.count == 2)
        #expect(FinishProbability.at(200, a).probability == 0.5)
    }

    @Test func stateFileKeepsCompletedDurationsAndRefusesAMismatch() throws {
        let s = try StudyRunner.run(try testScenario(), options: RunOptions(threads: 1, trialRange: 0..<20))
        let text = stateText(s)
        let back = try StateFile.read(data: Data(text.utf8), name: "part.json")
        #expect(back.points == s.points)
        #expect(back.points[0].completedDuration.count > 0)
        // A completed_duration_s holding more values than completed trials is refused, naming the point.
        var object = try JSONSerialization.jsonObject(with: Data(text.utf8)) as! [String: Any]
        var points = object["points"] as! [[String: Any]]
        points[0]["completed_duration_s"] = (points[0]["metrics"] as! [String: Any])["duration_s"]
        points[0]["outcomes"] = ["completed": 10, "aborted_test": 10]
        object["points"] = points
        let edited = try JSONSerialization.data(withJSONObject: object)
        #expect(throws: (any Error).self) { try StateFile.read(data: edited, name: "part.json") }
        do { _ = try StateFile.read(data: edited, name: "part.json") } catch {
            #expect("\(error)".contains("completed_duration_s"))
        }
    }

    /// The deadline count is exact: a completed trial counts when it ends by the deadline (from the start,
    /// or for an event from the epoch, start included); an aborted one never does, however early it ends.
    @Test func deadlineCountsCompletedTrialsEndingBeforeIt() throws {
        var fromStart = PointState(metricNames: ["duration_s"])
        fromStart.deadline = DeadlineCount(label: "7200 s", seconds: 7200, fromEpoch: false)
        var fromEpoch = fromStart
        fromEpoch.deadline = DeadlineCount(label: "sunset", seconds: 7200, fromEpoch: true)
        let trials: [(Double, Double, Outcome)] = [(0, 7000, .completed), (500, 7000, .completed), (0, 7200, .completedAfterRestart),
                                                   (0, 100, Outcome(kind: "aborted_lamp_failure")), (0, 7300, .completed)]
        for (i, (start, d, o)) in trials.enumerated() {
            var t = Self.trial(i, d, o)
            t.startSeconds = start
            fromStart.add(t)
            fromEpoch.add(t)
        }
        #expect(fromStart.deadline?.finished == 3)
        #expect(fromEpoch.deadline?.finished == 2)
        // Counts add over shards; the state file keeps them.
        var merged = fromStart
        merged.merge(fromStart)
        #expect(merged.deadline?.finished == 6)
        let s = try StudyRunner.run(try testScenario(scenarioText.replacingOccurrences(of: "  trials: 203", with: "  trials: 203\n  deadline: 1 h")),
                                    options: RunOptions(threads: 1, trialRange: 0..<20))
        let d = try #require(s.points[0].deadline)
        #expect(d.seconds == 3600 && !d.fromEpoch && d.finished > 0)
        #expect(try StateFile.read(data: Data(stateText(s).utf8), name: "part.json").points == s.points)
    }
}
