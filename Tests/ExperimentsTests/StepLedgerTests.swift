import Foundation
import ScenarioKit
import SimKernel
import Testing
@testable import Experiments

/// The interned step statistics (`StepLedger`) against the text-keyed reduction they replace, and the
/// incremental time-use sweep against the one that searches each interval's ancestors afresh: both must
/// agree bit for bit, since summary.json may not change.
@Suite struct StepLedgerTests {
    /// Per trial `ReferenceStepAttribution.totals` into a dictionary by path text, as `PointState.add` did.
    static func reference(_ trials: [(steps: [StepRecord], window: ClosedRange<Double>)]) -> [String: StepStatistics] {
        var out: [String: StepStatistics] = [:]
        for (steps, window) in trials {
            for (path, t) in ReferenceStepAttribution.totals(steps, window: window) {
                out[path, default: StepStatistics(lane: t.lane)].add(t.seconds, share: t.shareOfParentSeconds, lane: t.lane)
            }
        }
        return out
    }

    static func ledger(_ trials: [(steps: [StepRecord], window: ClosedRange<Double>)]) -> StepLedger {
        var l = StepLedger()
        for (steps, window) in trials { l.add(steps, window: window) }
        return l
    }

    static func record(_ name: String, _ start: Double, _ end: Double, parent: Int? = nil, lane: String = "LATISS") -> StepRecord {
        StepRecord(name: name, lane: lane, process: "p", start: start, end: end, completed: true, parent: parent)
    }

    /// The BIAS of each filter is its own row: one name under two parents is two paths, and neither is the
    /// top-level step of the same name.
    @Test func oneNameUnderTwoParentsIsTwoPaths() {
        let steps = [
            Self.record("make_latiss_calibrations SDSSr_65mm", 0, 100),
            Self.record("take_imgtype BIAS", 0, 50, parent: 0),
            Self.record("make_latiss_calibrations SDSSg_65mm", 100, 160),
            Self.record("take_imgtype BIAS", 100, 110, parent: 2),
            Self.record("take_imgtype BIAS", 160, 163),
        ]
        let trials = [(steps, 0.0...200.0), (steps, 0.0...200.0)]
        let byPath = Self.ledger(trials).byPath
        #expect(byPath.count == 5)
        #expect(byPath["make_latiss_calibrations SDSSr_65mm › take_imgtype BIAS"]?.seconds.sum.value == 100)
        #expect(byPath["make_latiss_calibrations SDSSg_65mm › take_imgtype BIAS"]?.seconds.sum.value == 20)
        #expect(byPath["take_imgtype BIAS"]?.seconds.sum.value == 6)
        #expect(byPath == Self.reference(trials))
    }

    /// Names compare as `String` keys do: two spellings of one name (é precomposed and as e + combining
    /// acute) are one path, as the text-keyed statistics had them; a name holding the separator spells
    /// the same text as a nested path and is pooled with it; a trailing space is another name.
    @Test func pathsAreTheTextKeysOfTheReduction() {
        let steps = [
            Self.record("caf\u{E9}", 0, 10),
            Self.record("cafe\u{301}", 10, 30),
            Self.record("a › b", 30, 34),
            Self.record("a", 34, 40),
            Self.record("b", 34, 39, parent: 3),
            Self.record("b ", 40, 41, parent: 3),
        ]
        let trials = [(steps, 0.0...50.0)]
        let byPath = Self.ledger(trials).byPath
        #expect(byPath.keys.filter { $0.hasPrefix("caf") }.count == 1)
        #expect(byPath["caf\u{E9}"]?.seconds.sum.value == 30)
        #expect(byPath["a › b"]?.seconds.sum.value == 9)
        #expect(byPath["a › b "]?.seconds.sum.value == 1)
        #expect(byPath == Self.reference(trials))
    }

    /// Trees drawn at random (seeded): many children under one step (past the scanned few, so the index is
    /// used), children met in another order from trial to trial, parallel steps, steps that outlive their
    /// parent, zero-length steps, ties, and steps before the window's start. Every statistic and every
    /// time-use part must equal the reference's exactly; a merge of two halves equals the whole.
    @Test func randomTreesMatchTheReferenceExactly() {
        let rng = RandomStreams(masterSeed: 12, trial: 0).stream("step trees")
        let names = (0..<14).map { "step \($0)" }
        let uses = TimeUse.allCases
        var trials: [(steps: [StepRecord], window: ClosedRange<Double>)] = []
        for _ in 0..<40 {
            var steps: [StepRecord] = []
            var t = 0.0
            for i in 0..<(20 + rng.uniformInt(60)) {
                if rng.uniform() < 0.7 { t += Double(rng.uniformInt(4)) * 0.5 }
                let parent: Int? = i == 0 || rng.uniform() < 0.2 ? nil : rng.uniformInt(i)
                let end = t + Double(rng.uniformInt(8)) * 0.5
                let lane = rng.uniform() < 0.1 ? "ATDome" : "LATISS"
                steps.append(StepRecord(name: names[rng.uniformInt(names.count)], lane: lane, process: "p", start: t, end: end,
                                        completed: true, parent: parent, use: uses[rng.uniformInt(uses.count)]))
            }
            let start = Double(rng.uniformInt(10))
            let window = start...max(start, t + 1)
            trials.append((steps, window))
            let fast = TimeUseAttribution.secondsByOrdinal(steps, window: window)
            let slow = TimeUseAttribution.referenceSecondsByOrdinal(steps, window: window)
            #expect(fast.parts.map(\.bitPattern) == slow.parts.map(\.bitPattern) && fast.used == slow.used)
        }
        let whole = Self.ledger(trials)
        #expect(whole.byPath == Self.reference(trials))
        #expect(whole.byPath.values.contains { $0.seconds.count > 1 })
        var halves = Self.ledger(Array(trials[..<20]))
        halves.merge(Self.ledger(Array(trials[20...])))
        #expect(halves == whole && halves.byPath == whole.byPath)
        #expect(StepLedger(whole.byPath) == whole)
    }

    /// Real trials of latiss-weekly (three blocks, 241 images: a few hundred paths met thousands of
    /// times), through `PointState.add`: the step statistics equal the text-keyed reduction's, and the
    /// time-use parts the reference sweep's, bit for bit.
    @Test func latissTrialsMatchTheReferenceExactly() throws {
        let text = try String(contentsOf: LATISSLevelSeriesTests.root.appendingPathComponent("Scenarios/latiss-weekly.yaml"), encoding: .utf8)
        var s = try ScenarioLoader.parse(text, file: "latiss-weekly.yaml")
        s.study.fidelity = .timing
        let procedure = try StudyRunner.procedures(for: s)[0]
        var point = PointState(metricNames: s.procedureType.schema.allMetrics.map(\.name))
        var trials: [(steps: [StepRecord], window: ClosedRange<Double>)] = []
        for t in 0..<3 {
            let run = try StudyRunner.runTrial(procedure, scenario: s, point: s.sweepPoints[0], trial: t)
            let window = run.startSeconds...(run.startSeconds + run.durationSeconds)
            point.add(run)
            trials.append((run.steps, window))
            let fast = TimeUseAttribution.secondsByOrdinal(run.steps, window: window)
            let slow = TimeUseAttribution.referenceSecondsByOrdinal(run.steps, window: window)
            #expect(fast.parts.map(\.bitPattern) == slow.parts.map(\.bitPattern) && fast.used == slow.used)
        }
        let reference = Self.reference(trials)
        #expect(reference.count > 100)
        #expect(point.steps == reference)
    }
}
