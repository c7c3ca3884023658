import Foundation
import Procedures
import ScenarioKit
import SimKernel
import Testing
@testable import Experiments
@testable import Reporting

/// A procedure whose time uses are known in closed form: a 900 s lamp warm-up beside a 60 s dome move
/// (parallel), then n images of overhead o, exposure e and readout r inside one container step, then a
/// 10 s gap in no step. Mean duration 900 + n(o + e + r) + 10; the dome and the lamp share their 60 s
/// overlap, so the lamp gets 870 s and the dome 30 s.
struct TimeUseProbe: Procedure {
    static let name = "time-use-probe"
    static let summary = "Known exposure, readout, lamp and dome times, for the time-use breakdown."
    static let schema = ProcedureSchema(
        parameters: [
            ParameterSpec("n_images", .integer, .defaultValue(.integer(10)), min: 1, max: 100, doc: "Images."),
            ParameterSpec("exposure", .quantity(.time), .defaultValue(.number(30)), min: 0, max: 600, doc: "Exposure per image."),
            ParameterSpec("overhead", .quantity(.time), .defaultValue(.number(2)), min: 0, max: 60, doc: "Overhead per image."),
            ParameterSpec("readout", .quantity(.time), .defaultValue(.number(3)), min: 0, max: 60, doc: "Readout per image."),
        ])
    let n: Int, exposure: Double, overhead: Double, readout: Double
    init(configuration c: ProcedureConfiguration) throws {
        n = c.parameters.int("n_images")
        exposure = c.parameters.double("exposure")
        overhead = c.parameters.double("overhead")
        readout = c.parameters.double("readout")
    }

    func runTrial(_ context: TrialContext) async throws -> TrialResult {
        let sim = context.simulation
        let dome = sim.process("dome") { try await sim.step("dome", lane: "ATDome", use: .mechanism) { try await sim.timeout(60) } }
        try await sim.step("warm-up", lane: "lamp", use: .lamp) { try await sim.timeout(900) }
        try await dome.value()
        try await sim.step("take images", lane: "camera", use: .other) {
            for _ in 0..<n {
                try await sim.step("image overhead", lane: "camera", use: .readoutOverhead) { try await sim.timeout(overhead) }
                try await sim.step("exposure", lane: "camera", use: .exposure) { try await sim.timeout(exposure) }
                try await sim.step("readout", lane: "camera", use: .readoutOverhead) { try await sim.timeout(readout) }
            }
        }
        try await sim.timeout(10)
        return TrialResult(outcome: .completed)
    }
}

@Suite struct TimeUseTests {
    /// Hand-made records: parallel top-level steps split their overlap, a container's own time is its use,
    /// time in no step is `other`, a sub-step outliving its parent hangs from the top; the parts add up.
    @Test func attributionByHand() {
        let steps = [
            StepRecord(name: "lamp", lane: "l", process: "p", start: 0, end: 900, completed: true, use: .lamp),
            StepRecord(name: "dome", lane: "d", process: "q", start: 0, end: 60, completed: true, use: .mechanism),
            StepRecord(name: "take", lane: "c", process: "p", start: 900, end: 960, completed: true, use: .other),
            StepRecord(name: "overhead", lane: "c", process: "p", start: 900, end: 902, completed: true, parent: 2, use: .readoutOverhead),
            StepRecord(name: "exposure", lane: "c", process: "p", start: 902, end: 952, completed: true, parent: 2, use: .exposure),
            StepRecord(name: "readout", lane: "c", process: "p", start: 952, end: 954, completed: true, parent: 2, use: .readoutOverhead),
            // Started inside "take", still running after it: 955–960 inside it, 960–970 on its own.
            StepRecord(name: "verify", lane: "o", process: "v", start: 955, end: 970, completed: true, parent: 2, use: .dataWait),
        ]
        let u = TimeUseAttribution.seconds(steps, window: 0...1000)
        #expect(u[.lamp] == 870)
        #expect(u[.mechanism] == 30)
        #expect(u[.exposure] == 50)
        #expect(u[.readoutOverhead] == 4)
        #expect(u[.dataWait] == 15)
        // take's own 954–955, and 970–1000 in no step.
        #expect(u[.other] == 31)
        #expect(u.values.reduce(0, +) == 1000)
        // A window that starts late drops what came before it.
        let late = TimeUseAttribution.seconds(steps, window: 950...1000)
        #expect(late[.exposure] == 2 && late.values.reduce(0, +) == 50)
    }

    /// Per-use arrays are indexed by `ordinal`, which must be each use's place in `allCases` (the order
    /// reports list uses in), and the array form a trial is added from holds the same parts as the
    /// dictionary, with a use that had no time at 0 and marked unused (here: contingency).
    @Test func ordinalArraysMatchTheDictionary() {
        #expect(TimeUse.allCases.map(\.ordinal) == Array(TimeUse.allCases.indices))
        #expect(TimeUse.allCases.sorted() == TimeUse.allCases)
        let steps = [
            StepRecord(name: "lamp", lane: "l", process: "p", start: 0, end: 900, completed: true, use: .lamp),
            StepRecord(name: "dome", lane: "d", process: "q", start: 0, end: 60, completed: true, use: .mechanism),
            StepRecord(name: "exposure", lane: "c", process: "p", start: 900, end: 950, completed: true, use: .exposure),
        ]
        let byUse = TimeUseAttribution.seconds(steps, window: 0...1000)
        let (parts, used) = TimeUseAttribution.secondsByOrdinal(steps, window: 0...1000)
        for use in TimeUse.allCases {
            #expect(parts[use.ordinal] == (byUse[use] ?? 0))
            #expect(used[use.ordinal] == (byUse[use] != nil))
        }
        #expect(parts[TimeUse.other.ordinal] == 50 && !used[TimeUse.contingency.ordinal])
    }

    static func probeScenario(_ extra: String = "") throws -> Scenario {
        ProcedureRegistry.register(TimeUseProbe.self)
        return try ScenarioLoader.parse("""
            name: probe
            procedure: time-use-probe
            parameters:
              n_images: 12
              exposure: 25 s
              overhead: 1.5 s
              readout: 2 s
            study:
              trials: 7
              seed: 3
            \(extra)
            """, file: "probe.yaml")
    }

    /// The probe's shares against the closed form, through the runner and summary.json.
    @Test func probeSharesAreAnalytic() throws {
        let s = try Self.probeScenario()
        let state = try StudyRunner.run(s, options: RunOptions(threads: 2, trialRange: 0..<7))
        let duration = 900 + 12 * (1.5 + 25 + 2) + 10.0
        let expected: [TimeUse: Double] = [.lamp: 870, .mechanism: 30, .exposure: 12 * 25, .readoutOverhead: 12 * 3.5, .other: 10,
                                           .dataWait: 0, .cscTransition: 0, .contingency: 0]
        guard let r = TimeUseReport.rows(state.points[0]) else { Issue.record("no time use"); return }
        #expect(r.trials == 7)
        #expect(abs(r.meanSeconds - duration) < 1e-9)
        for row in r.rows {
            #expect(abs(row.meanSeconds - expected[row.use]!) < 1e-9, "\(row.use): \(row.meanSeconds)")
            #expect(abs(row.share - expected[row.use]! / duration) < 1e-12, "\(row.use): \(row.share)")
            #expect(row.standardErrorSeconds < 1e-9)
        }
        guard case .object(let top) = SummaryJSON.json(state), case .object(let tu)? = top["time_use"], case .array(let uses)? = tu["uses"] else {
            Issue.record("summary.json has no time_use"); return
        }
        #expect(uses.count == TimeUse.allCases.count)
        #expect(SummaryMarkdown.text(state).contains("Where the time goes (mean of 7 completed trials"))
        #expect(StudyReport.html(state, description: "", detail: nil).contains("class=\"time-use-part\""))
    }

    /// A random procedure with restarts, aborts and parallel steps: the shares add up to 100 % of the mean
    /// completed duration, and an aborted trial is left out of the breakdown.
    @Test func sharesAddUpToTheMeanDuration() throws {
        let s = try testScenario()
        let state = try StudyRunner.run(s, options: RunOptions(threads: 2, trialRange: 0..<s.study.trials))
        let p = state.points[0]
        guard let r = TimeUseReport.rows(p) else { Issue.record("no time use"); return }
        let completed = p.outcomes.filter { Outcome(kind: $0.key).isCompleted }.values.reduce(0, +)
        #expect(completed < UInt64(s.study.trials), "the test scenario should abort some trials")
        #expect(r.trials == completed && p.timeUse[.exposure]?.count == completed)
        #expect(abs(r.rows.map(\.share).reduce(0, +) - 1) < 1e-12)
        #expect(abs(r.rows.map(\.meanSeconds).reduce(0, +) - r.meanSeconds) < 1e-9 * r.meanSeconds)
        // TestCalibration: 4 flats of 5 s exposure + 2 s are one step each, tagged exposure: 28 s per trial.
        #expect(abs(r.rows.first { $0.use == .exposure }!.meanSeconds - 28) < 1e-9)
    }

    /// latiss-weekly: every image the block files ask for (37 BIAS, 39 DARK, 165 FLAT) is an `image
    /// overhead` leaf, an `exposure` leaf when its exposure time is > 0 (not the biases), and a `readout`
    /// leaf of exactly the camera's 2.0 s (base_camera.py read_out_time), back to back.
    @Test func latissImagesAreOverheadExposureReadoutLeaves() throws {
        let text = try String(contentsOf: LATISSLevelSeriesTests.root.appendingPathComponent("Scenarios/latiss-weekly.yaml"), encoding: .utf8)
        var s = try ScenarioLoader.parse(text, file: "latiss-weekly.yaml")
        s.study.fidelity = .timing
        let procedure = try StudyRunner.procedures(for: s)[0]
        let run = try #require(try (0..<20).lazy.map {
            try StudyRunner.runTrial(procedure, scenario: s, point: s.sweepPoints[0], trial: $0)
        }.first { $0.result.metrics["restarts"] == 0 })
        let counts = try LATISSLevelSeriesTests.blockImageCounts(["BLOCK-309", "BLOCK-295", "BLOCK-310"])
        let images = counts.values.reduce(0, +)
        let overheads = run.steps.indices.filter { run.steps[$0].name == "image overhead" }
        let exposures = run.steps.filter { $0.name == "exposure" }
        let readouts = run.steps.indices.filter { run.steps[$0].name == "readout" }
        #expect(images == 241 && overheads.count == images && readouts.count == images)
        #expect(exposures.count == counts["DARK"]! + counts["FLAT"]!)
        #expect(exposures.allSatisfy { $0.use == .exposure && $0.duration > 0 })
        for (o, r) in zip(overheads, readouts) {
            #expect(run.steps[o].use == .readoutOverhead && run.steps[r].use == .readoutOverhead)
            #expect(abs(run.steps[r].duration - 2.0) < 1e-9, "readout \(run.steps[r].duration)")
            // One image: the readout ends where the overhead + exposure + readout of one wait would.
            let image = run.steps[r].end - run.steps[o].start
            let exposure = run.steps[(o + 1)..<r].filter { $0.name == "exposure" }.map(\.duration).reduce(0, +)
            #expect(abs(image - (run.steps[o].duration + exposure + 2.0)) < 1e-9)
        }
        let uses = TimeUseAttribution.seconds(run.steps, window: 0...run.durationSeconds)
        #expect(abs((uses[.exposure] ?? 0) - exposures.map(\.duration).reduce(0, +)) < 1e-6)
        #expect(abs(uses.values.reduce(0, +) - run.durationSeconds) < 1e-6)
    }

    /// The breakdown survives state.json and a merge of shards exactly.
    @Test func survivesTheStateFileAndMerge() throws {
        let s = try testScenario()
        let whole = try StudyRunner.run(s, options: RunOptions(threads: 1, trialRange: 0..<s.study.trials))
        let a = try StudyRunner.run(s, options: RunOptions(threads: 1, trialRange: 0..<90))
        let b = try StudyRunner.run(s, options: RunOptions(threads: 1, trialRange: 90..<s.study.trials))
        let merged = try StudyMerge.merge([try StateFile.read(data: Data(stateText(a).utf8), name: "a"), try StateFile.read(data: Data(stateText(b).utf8), name: "b")])
        #expect(merged.points[0].timeUse == whole.points[0].timeUse)
        #expect(SummaryJSON.json(merged).text() == SummaryJSON.json(whole).text())
    }
}
