import Foundation
import Procedures
import ScenarioKit
import SimKernel
import Testing
@testable import Experiments

let scenarioText = """
name: test-study
procedure: test-calibration
parameters:
  n_flat: 4
  exposure: 5 s
  warmup: 15 min
faults:
  lamp_ignition_failure: 0.3
study:
  trials: 203
  seed: 7
"""

func testScenario(_ text: String = scenarioText) throws -> Scenario {
    ProcedureRegistry.register(TestCalibration.self)
    return try ScenarioLoader.parse(text, file: "test.yaml")
}

func stateText(_ s: StudyState) -> String { StateFile.json(s).text() }

@Suite struct DeterminismTests {
    @Test func threadCountDoesNotChangeAByte() throws {
        let s = try testScenario()
        let one = try StudyRunner.run(s, options: RunOptions(threads: 1, trialRange: 0..<s.study.trials))
        let two = try StudyRunner.run(s, options: RunOptions(threads: 2, trialRange: 0..<s.study.trials))
        let four = try StudyRunner.run(s, options: RunOptions(threads: 4, trialRange: 0..<s.study.trials))
        #expect(stateText(one) == stateText(two))
        #expect(stateText(one) == stateText(four))
        #expect(one.completedTrials == 203 && !one.partial)
    }

    @Test func fourShardsMergeToTheSingleRun() throws {
        let s = try testScenario()
        let whole = try StudyRunner.run(s, options: RunOptions(threads: 2, trialRange: 0..<s.study.trials))
        // Merge in a scrambled order: exact sums and integer counts make the order irrelevant.
        let parts = try [2, 0, 3, 1].map { i in
            try StudyRunner.run(s, options: RunOptions(threads: 1, trialRange: RunOptions.shardRange(index: i, count: 4, trials: s.study.trials)))
        }
        let merged = try StudyMerge.merge(parts)
        #expect(stateText(merged) == stateText(whole))
        // Through state.json files too, as `obsim merge` reads them.
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("obsim-merge-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let reread = try parts.enumerated().map { i, p -> StudyState in
            let url = dir.appendingPathComponent("state\(i).json")
            try StateFile.write(p, to: url)
            return try StateFile.read(url)
        }
        #expect(reread == parts)
        #expect(stateText(try StudyMerge.merge(reread)) == stateText(whole))
    }

    @Test func overlappingShardsAreRefused() throws {
        let s = try testScenario()
        let a = try StudyRunner.run(s, options: RunOptions(threads: 1, trialRange: 0..<10))
        let b = try StudyRunner.run(s, options: RunOptions(threads: 1, trialRange: 5..<15))
        #expect(throws: MergeError.self) { try StudyMerge.merge([a, b]) }
    }

    @Test func sweepPointsShareTrialSeeds() throws {
        let s = try testScenario(scenarioText + "\n  sweep:\n    - parameter: parameters.n_flat\n      values: [2, 4, 8]\n")
        let state = try StudyRunner.run(s, options: RunOptions(threads: 2, trialRange: 0..<50))
        #expect(state.points.count == 3)
        // The dome's draws do not depend on n_flat: with common random numbers its step statistics are identical.
        let dome = state.points.map { $0.steps["move dome"]!.seconds }
        #expect(dome[0] == dome[1] && dome[1] == dome[2])
        // The flat step's total grows exactly with n_flat (each flat is 5 s + 2 s readout) in trials that completed.
        let flats = state.points.map { $0.steps["take flat"]!.seconds }
        #expect(abs(flats[0].quantile(0.5)! - 14) <= 14 * QuantileSketch.relativeAccuracy)
        #expect(abs(flats[2].quantile(0.5)! - 56) <= 56 * QuantileSketch.relativeAccuracy)
    }
}

@Suite struct OutcomeTests {
    @Test func outcomesFollowTheIgnitionFaultRate() throws {
        // p = 0.3 per attempt, 2 restarts allowed: P(completed) = 0.7, P(after restart) = 0.3·0.7 + 0.09·0.7 = 0.273,
        // P(aborted) = 0.027. Tolerance: 4 binomial standard errors at n = 2000.
        let s = try testScenario()
        let state = try StudyRunner.run(s, options: RunOptions(threads: 2, trialRange: 0..<2000))
        let o = state.points[0].outcomes
        let n = 2000.0
        for (kind, p) in [("completed", 0.7), ("completed_after_restart", 0.273), ("aborted_lamp_ignition", 0.027)] {
            let observed = Double(o[kind] ?? 0) / n
            #expect(abs(observed - p) <= 4 * (p * (1 - p) / n).squareRoot(), "\(kind): \(observed) vs \(p)")
        }
        // Aborted trials have no flat level: that metric is counted only for the completed ones.
        let flat = state.points[0].metrics["flat_level_adu"]!
        #expect(flat.count == (o["completed"] ?? 0) + (o["completed_after_restart"] ?? 0))
        #expect(state.points[0].metrics["duration_s"]!.count == 2000)
        // Flat level: mean of 4 Gaussians of sd 100 around 20000: sd of the metric is 50 (5 standard errors).
        #expect(abs(flat.mean! - 20_000) < 5 * 50 / Double(flat.count).squareRoot())
        #expect(abs(flat.standardDeviation! - 50) < 5 * 50 / (2 * Double(flat.count)).squareRoot())
    }

    @Test func durationIsTheSimulatedTimeAtReturn() throws {
        let s = try testScenario()
        let procedure = try StudyRunner.procedures(for: s)[0]
        let run = try StudyRunner.runTrial(procedure, scenario: s, point: s.sweepPoints[0], trial: 3, trace: true)
        let last = run.steps.map(\.end).max()!
        #expect(run.durationSeconds == last)
        #expect(run.result.metrics["duration_s"] == run.durationSeconds)
        #expect(run.trace!.isEmpty == false)
        let again = try StudyRunner.runTrial(procedure, scenario: s, point: s.sweepPoints[0], trial: 3, trace: true)
        #expect(again.traceFingerprint == run.traceFingerprint)
    }
}

@Suite struct StatisticsTests {
    @Test func exactSumIsExactAndOrderFree() {
        var a = ExactSum()
        for x in [1e16, 1.0, -1e16, 1e-300, -1e-300, 3.5] { a.add(x) }
        #expect(a.value == 4.5)
        var values: [Double] = []
        let r = RandomStream(key: [1, 2, 3])
        for _ in 0..<5000 { values.append(r.gaussian(mean: 0, sigma: 1) * pow(10, Double(r.uniformInt(40)) - 20)) }
        var forward = ExactSum(), backward = ExactSum()
        for v in values { forward.add(v) }
        for v in values.reversed() { backward.add(v) }
        #expect(forward == backward)
        #expect(forward.value == backward.value)
    }

    @Test func meanAndSdMatchTwoPass() {
        // Large offset, small spread: a naive Σx² − (Σx)²/n would lose every digit of the variance.
        let r = RandomStream(key: [9])
        let xs = (0..<10_000).map { _ in 1e8 + r.gaussian(sigma: 0.01) }
        var s = RunningStatistics()
        for x in xs { s.add(x) }
        // Reference from the deviations d = x − 1e8, which are exact (Sterbenz), so the two-pass formula on
        // them is accurate to a few ulps.
        let d = xs.map { $0 - 1e8 }
        let meanD = d.reduce(0, +) / Double(d.count)
        let sd = (d.map { ($0 - meanD) * ($0 - meanD) }.reduce(0, +) / Double(d.count - 1)).squareRoot()
        #expect(abs(s.mean! - (1e8 + meanD)) <= 1e8.ulp)
        // The sd is computed around the rounded mean, exactly: what is left is the rounding of the result.
        #expect(abs(s.standardDeviation! - sd) <= 1e-9 * sd)
    }

    @Test func sketchQuantilesWithinStatedError() {
        let r = RandomStream(key: [4, 2])
        var s = RunningStatistics()
        var xs: [Double] = []
        for _ in 0..<20_000 {
            let x = r.lognormal(zeta: 5, sigma: 1.5) - 20
            xs.append(x)
            s.add(x)
        }
        xs.sort()
        for q in [0.05, 0.25, 0.5, 0.9, 0.95, 0.99] {
            let exact = xs[Int((q * Double(xs.count - 1)).rounded(.down))]
            #expect(abs(s.quantile(q)! - exact) <= QuantileSketch.relativeAccuracy * abs(exact) * (1 + 1e-12), "q=\(q)")
        }
        #expect(s.quantile(0) == xs.first && s.quantile(1) == xs.last)
    }
}

@Suite struct BaselineTests {
    @Test func unchangedProcedurePassesAndAChangedOneIsCaught() throws {
        let s = try testScenario()
        let state = try StudyRunner.run(s, options: RunOptions(threads: 2, trialRange: 0..<s.study.trials))
        let baseline = try Baseline.make(s, state: state)
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("obsim-baseline-\(getpid()).json")
        defer { try? FileManager.default.removeItem(at: url) }
        try Data(BaselineFile.json(baseline).text().utf8).write(to: url)
        let reread = try BaselineFile.read(url)
        #expect(reread == baseline)
        #expect(reread.compare(timings: Baseline.timings(of: state)).allSatisfy { !$0.failed })
        #expect(reread.compare(traces: try Baseline.traces(s)).isEmpty)

        // 10 % longer flats: the flat step's p50 moves by 10 % (6+2 vs 5+2 s per flat is 8/7) and the trace differs.
        let changed = try testScenario(scenarioText.replacingOccurrences(of: "exposure: 5 s", with: "exposure: 6 s"))
        let now = try StudyRunner.run(changed, options: RunOptions(threads: 2, trialRange: 0..<changed.study.trials))
        let rows = reread.compare(timings: Baseline.timings(of: now))
        let flat = try #require(rows.first { $0.name == "step:take flat" })
        #expect(flat.failed)
        // 4 flats of 5 + 2 s become 4 of 6 + 2 s: +4/28, within the sketch's 0.1 % on each side.
        let p50 = try #require(flat.p50Shift)
        #expect(abs(p50.estimate - 4.0 / 28) < 0.003)
        #expect(p50.low <= p50.estimate && p50.estimate <= p50.high)
        #expect(rows.first { $0.name == "step:move dome" }?.failed == false)
        let diffs = reread.compare(traces: try Baseline.traces(changed))
        #expect(diffs.count == Baseline.tracedTrials)
        #expect(diffs[0].index != nil && diffs[0].baseline != diffs[0].current)
        // Same events at other times: reported, not a structural change.
        #expect(diffs.allSatisfy { !$0.structural })
    }

    static func baseline(_ timings: [String: RunningStatistics]) -> Baseline {
        Baseline(scenario: "x", seed: 1, trials: 1000, medianTolerance: 0.02, p95Tolerance: 0.05, absoluteTolerance: 1,
                 confidence: 0.95, timings: timings, traces: [])
    }

    static func constant(_ v: Double, _ n: Int = 1000) -> RunningStatistics {
        var r = RunningStatistics()
        for _ in 0..<n { r.add(v) }
        return r
    }

    /// A constant 300 s step made 301 s has no spread, so any test of significance rejects equality; it is
    /// still a 0.33 % shift, inside the 2 %/5 % tolerance, and must pass. 330 s (+10 %) must fail.
    @Test func aConstantStepFailsOnlyBeyondTolerance() {
        let b = Self.baseline(["step:power_on_atcalsys": Self.constant(300)])
        let small = b.compare(timings: ["step:power_on_atcalsys": Self.constant(301)])[0]
        #expect(!small.failed)
        #expect(abs(small.p50Shift!.estimate - 1.0 / 300) < 0.002)
        #expect(small.moved)
        let large = b.compare(timings: ["step:power_on_atcalsys": Self.constant(330)])[0]
        #expect(large.failed)
        #expect(abs(large.p50Shift!.estimate - 0.1) < 0.002)
        #expect(!b.compare(timings: ["step:power_on_atcalsys": Self.constant(300)])[0].moved)
    }

    /// Gaussian steps (σ = 30 s, 20,000 trials each side): a +1 % shift is overwhelmingly significant yet
    /// inside tolerance and passes; a +8 % shift fails on p50 (its interval, ±~0.3 %, lies beyond 2 %).
    @Test func aNoisyStepFailsOnlyBeyondTolerance() {
        func sample(_ mean: Double, seed: UInt) -> RunningStatistics {
            let s = RandomStream(gslSeed: seed)
            var r = RunningStatistics()
            for _ in 0..<20_000 { r.add(s.gaussian(mean: mean, sigma: 30)) }
            return r
        }
        let b = Self.baseline(["duration_s": sample(300, seed: 1)])
        let row = b.compare(timings: ["duration_s": sample(303, seed: 2)])[0]
        #expect(!row.failed)
        #expect(row.p50Shift!.low > 0)
        let shifted = b.compare(timings: ["duration_s": sample(324, seed: 3)])[0]
        #expect(shifted.failed)
        #expect(shifted.problems.contains { $0.hasPrefix("p50 moved") })

        // 31 trials spread evenly over 270–330 s, then all 3 % longer: the point estimate (+3 %) is beyond
        // the 2 % tolerance but 31 trials cannot tell it from +0 % (the interval spans several percent
        // either side), so it is not called a regression.
        var few = RunningStatistics(), fewLonger = RunningStatistics()
        for k in 0...30 { few.add(270 + 2 * Double(k)); fewLonger.add(1.03 * (270 + 2 * Double(k))) }
        let uncertain = Self.baseline(["duration_s": few]).compare(timings: ["duration_s": fewLonger])[0]
        #expect(abs(uncertain.p50Shift!.estimate - 0.03) < 0.003)
        #expect(uncertain.p50Shift!.low < 0.02)
        #expect(!uncertain.failed)
    }
}
