import Foundation
import Observatory
import SimKernel
import Testing
@testable import Procedures
@testable import ScenarioKit

/// auxtel/latiss_take_twilight_flats.py (ts_externalscripts base_take_twilight_flats.py) on the twilight
/// sky model, through BLOCK-twilight-flats-latiss.
@Suite struct LATISSTwilightScriptTests {
    func script(_ parameters: String) throws -> LATISSTakeTwilightFlats {
        let block = "name: b\nprogram: BLOCK-1\nscripts:\n  - name: auxtel/latiss_take_twilight_flats.py\n    parameters: \(parameters)\n"
        let (d, dir) = try sequenceProblems(scenario: scenarioRunning("[BLOCK-1]"), files: ["BLOCK-1.yaml": block])
        #expect(d.isEmpty, "\(d)")
        let s = try ScenarioLoader.load(path: dir + "/s.yaml")
        let latiss = try LATISS(configuration: s.configuration)
        return try #require(latiss.settings.run[0].actions[0] as? LATISSTakeTwilightFlats)
    }

    @Test func exposureTimeIsTheScriptsRule() throws {
        let s = try script("{filter: SDSSr_65mm}")
        // get_new_exptime with target_sky_counts 15000, max_counts 60000, min_exp_time 1 s:
        #expect(s.nextExposure(counts: 30_000, last: 2) == 1)         // 15000·2/30000
        #expect(s.nextExposure(counts: 7_000, last: 3) == 6.43)       // 6.428… rounded to 0.01 s
        #expect(s.nextExposure(counts: 50_000, last: 1) == 1.01)      // 0.3 s < min, 60000·1/50000 = 1.2 s > min
        #expect(s.nextExposure(counts: 60_000, last: 1) == 0.25)      // 60000·1/60000 = 1 s is not > min
        #expect(s.band == .r)
        // SDSSy sits in the grating wheel: the band comes from the grating when the filter is empty.
        #expect(try script("{filter: empty_1, grating: SDSSy_65mm}").band == .y)
    }

    @Test func badConfigurationsAreRefused() throws {
        for (parameters, key) in [("{filter: empty_1}", "filter"), ("{filter: SDSSr_65mm, distance_from_sun: 30 deg}", "distance_from_sun"),
                                  ("{filter: SDSSr_65mm, min_exp_time: 40 s}", "min_exp_time")] {
            let block = "name: b\nprogram: BLOCK-1\nscripts:\n  - name: auxtel/latiss_take_twilight_flats.py\n    parameters: \(parameters)\n"
            let (d, _) = try sequenceProblems(scenario: scenarioRunning("[BLOCK-1]"), files: ["BLOCK-1.yaml": block])
            #expect(d.contains { $0.path.hasSuffix("parameters.\(key)") }, "\(parameters): \(d)")
        }
    }

    func trial(epoch: String, detector: String = "roi-statistics") throws -> (result: TrialResult, steps: [StepRecord]) {
        let text = """
        name: t
        procedure: latiss
        site: auxtel
        epoch: \(epoch)
        run: [BLOCK-twilight-flats-latiss]
        study: {trials: 1, seed: 1, detector: \(detector)}
        """
        return try runTrial(documentTiming(try ScenarioLoader.parse(text, file: repositoryRoot + "/Scenarios/t.yaml")))
    }

    /// The script reads every flat's counts, so at timing its flats are still simulated, at ROI
    /// statistics (`LATISSSession.measuredFidelity`): the flats, and so every exposure time and wait,
    /// are those of the roi-statistics trial.
    @Test func atTimingTheFlatsAreStillMeasured() throws {
        let timing = try trial(epoch: "2026-03-20T22:55:00Z", detector: "timing")
        let statistics = try trial(epoch: "2026-03-20T22:55:00Z")
        #expect(timing.result.metrics["twilight_flats"] == statistics.result.metrics["twilight_flats"])
        let series = { (steps: [StepRecord]) in steps.filter { $0.name == "take a series of exposures" }.map(\.duration) }
        #expect(!series(statistics.steps).isEmpty)
        #expect(series(timing.steps) == series(statistics.steps))
    }

    @Test func eveningFlatsWaitInThirtySecondStepsThenTakeTheDarks() throws {
        // Shortly after sunset the 1 s frame is too bright: the script sleeps 30 s and retakes (evening only).
        let (result, steps) = try trial(epoch: "2026-03-20T22:55:00Z")
        #expect(result.outcome == .completed)
        let waits = steps.filter { $0.name == "wait for the sky to fade" }
        #expect(!waits.isEmpty && waits.allSatisfy { abs($0.duration - 30) < 1e-9 })
        // n_flat 20, and the fast repeats (4 after a flat under 2 s) count towards it: 20 to 24 flats.
        let n = try #require(result.metrics["twilight_flats"])
        #expect(n >= 20 && n <= 24)
        // 40 darks of 15 s, each with LATISS's 2 s readout (no per-image overhead here): 680 s.
        #expect(abs(try stepDuration(steps, "take darks") - 40 * 17) < 1e-9)
    }

    @Test func anEveningFlatUnderTwoSecondsIsRepeatedFourTimes() throws {
        // n_flat 1 just after the evening wait, when the exposure time is between min_exp_time and 2 s:
        // the flat and its 4 fast repeats, 5 in all (base_take_twilight_flats.py counts the repeats).
        let dir = scratchFolder("tw")
        try FileManager.default.createDirectory(atPath: dir + "/Sequences", withIntermediateDirectories: true)
        try "name: b\nprogram: BLOCK-1\nscripts:\n  - name: auxtel/latiss_take_twilight_flats.py\n    parameters: {filter: SDSSr_65mm, n_flat: 1}\n"
            .write(toFile: dir + "/Sequences/BLOCK-1.yaml", atomically: true, encoding: .utf8)
        try "name: t\nprocedure: latiss\nsite: auxtel\nepoch: 2026-03-20T22:55:00Z\nrun: [BLOCK-1]\nstudy: {trials: 1, seed: 1, detector: roi-statistics}\n"
            .write(toFile: dir + "/s.yaml", atomically: true, encoding: .utf8)
        let (result, steps) = try runTrial(documentTiming(try ScenarioLoader.load(path: dir + "/s.yaml")))
        #expect(result.outcome == .completed)
        #expect(result.metrics["twilight_flats"] == 5)
        #expect(steps.contains { $0.name == "wait for the sky to fade" })
    }

    @Test func aMorningSkyTooBrightStopsWithoutWaiting() throws {
        // 10:40 UTC, ~10 min before sunrise at Cerro Pachón: the 1 s calibration frame already asks for
        // less than min_exp_time; in the morning the script stops (no sleep): one 1 s frame + 2 s readout.
        let (result, steps) = try trial(epoch: "2026-03-21T10:40:00Z")
        #expect(result.outcome == .completed)
        #expect(result.metrics["twilight_flats"] == 0)
        #expect(!steps.contains { $0.name == "wait for the sky to fade" })
        #expect(abs(try stepDuration(steps, "take a series of exposures") - 3) < 1e-9)
    }

    @Test func theSunOutsideItsLimitsStopsTheScript() throws {
        // Local afternoon (Sun far above 0°): assert_sun_location raises before anything moves.
        let (result, steps) = try trial(epoch: "2026-03-20T18:00:00Z")
        #expect(result.outcome == .aborted("sun_elevation"))
        #expect(!steps.contains { $0.name == "point telescope towards an empty patch of sky" })
    }
}
