import Foundation
import Observatory
import SimKernel
import Testing
@testable import Procedures
@testable import ScenarioKit

/// The repository root (Sequences/ and Scenarios/ are found from a scenario path inside it).
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

/// The seed 003 misalignment contingency, as Scenarios/latiss-weekly.yaml writes it.
func misalignment(maxRestarts: Int = 2, filter: String = "SDSSr_65mm", grating: String = "empty_1") -> String {
    """
    contingencies:
      - name: ATDome and ATWhiteLight Misalignment Troubleshooting
        when: {image_type: FLAT, filter: \(filter), grating: \(grating), exp_time: 6 s}
        below: 10000 adu
        note: misaligned flat
        report: {step: Report the incident to the AuxTel team, time: 300 s}
        scripts:
          - name: auxtel/atdome/home_dome.py
        max_restarts: \(maxRestarts)
        on_restart_limit: [BLOCK-310]

    """
}

/// No faults: the document's nominal run.
let nominalFaults = "faults: {lamp_ignition_failure: 0, shutter_stuck: 0, wheel_jam: 0}\n"

/// A LATISS scenario read as if it were in Scenarios/ (its blocks come from Sequences/).
func latissScenario(run: String = "[BLOCK-309, BLOCK-295, BLOCK-310]", body: String = "", contingencies: String = misalignment(),
                    faults: String = nominalFaults, fidelity: DetectorFidelity = .roiStatistics) throws -> Scenario {
    let text = """
    name: t
    procedure: latiss
    site: auxtel
    epoch: 2026-01-05T14:00:00Z
    run: \(run)
    \(body)
    \(contingencies)\(faults)study: {trials: 4, seed: 7, detector: \(fidelity.rawValue)}
    """
    return try ScenarioLoader.parse(text, file: repositoryRoot + "/Scenarios/t.yaml")
}

/// One trial of a scenario through the kernel's trial harness (`run(until:)`).
func runTrial(_ scenario: Scenario, seed: UInt64 = 7, trial: UInt64 = 0) throws -> (result: TrialResult, steps: [StepRecord]) {
    let procedure = try scenario.procedureType.init(configuration: scenario.configuration)
    let sim = Simulation(seed: seed, trial: trial)
    defer { sim.shutDown() }
    let context = TrialContext(simulation: sim, seed: seed, trial: trial, site: scenario.site, epochUnixSeconds: scenario.epochUnixSeconds,
                               nightsUnixSeconds: [], fidelity: scenario.study.fidelity, keepsDetail: false)
    final class Box { var result: TrialResult? }
    let box = Box()
    let process = sim.process("procedure") {
        do { box.result = try await procedure.runTrial(context) } catch let a as ProcedureAbort {
            box.result = TrialResult(outcome: .aborted(a.cause), metrics: a.metrics)
        }
    }
    try sim.run(until: process)
    return (try #require(box.result), sim.steps)
}

func stepDuration(_ steps: [StepRecord], _ name: String) throws -> Double { try #require(steps.first { $0.name == name }).duration }

/// The document's reading of the timing, for tests of the blocks' structure: no per-image overhead, no
/// waits for the OODS or OCPS (LATISSControlTiming at 0 s), and the nominal lamp.
func documentTiming(_ scenario: Scenario) -> Scenario {
    var s = scenario
    for key in [LATISSTimingKeys.imageOverhead, LATISSTimingKeys.imageOverheadSD, LATISSTimingKeys.ingestionWait,
                LATISSTimingKeys.ingestionWaitSD, LATISSTimingKeys.verificationJob, LATISSTimingKeys.verificationJobSD,
                "lamp.bulb_flux_spread", "lamp.warmup_flux_spread"] {
        s.configuration.instrument[key] = .number(0)
    }
    return s
}

@Suite struct LATISSBlockTests {
    @Test func setupAndShutdownBlocksTakeAboutFifteenMinutes() throws {
        let (result, steps) = try runTrial(documentTiming(try latissScenario(body: "parameters: {nights_since_home: 0}", fidelity: .timing)))
        #expect(result.outcome == .completed)
        // Seed 003: power_on_atcalsys "takes 15 minutes", power_off_atcalsys "15 minutes". The blocks add
        // CSC transitions and the FLAT-position slew (under 1 min) on top.
        #expect(abs(try stepDuration(steps, "power_on_atcalsys") - 900) < 60)
        #expect(abs(try stepDuration(steps, "power_off_atcalsys") - 900) < 60)
        #expect(abs(try stepDuration(steps, "BLOCK-309 setup_latiss_calibrations") - 900) < 120)
        #expect(abs(try stepDuration(steps, "BLOCK-310 shutdown_latiss_calibrations") - 900) < 60)
        // The PTC: 1132.5 s of open shutter + 60 readouts of 2 s (REFERENCES §3: ≈ 1252 s) + wheel moves.
        #expect(abs(try stepDuration(steps, "take_image_latiss weekly_PTC") - 1252.5) < 15)
    }

    @Test func stepsRunInTheDocumentsOrder() throws {
        let (_, steps) = try runTrial(documentTiming(try latissScenario(body: "parameters: {nights_since_home: 0}", fidelity: .timing)))
        let documented = ["BLOCK-309 setup_latiss_calibrations", "set_summary_state ATWhiteLight ENABLED",
                          "set_summary_state OCPS:1 ENABLED", "power_on_atcalsys", "prepare_for/flat",
                          "BLOCK-295 latiss_weekly_calibrations", "make_latiss_calibrations SDSSr_65mm",
                          "make_latiss_calibrations SDSSg_65mm", "make_latiss_calibrations SDSSz_65mm",
                          "make_latiss_calibrations SDSSy_65mm", "make_latiss_calibrations empty_1",
                          "take_image_latiss weekly_PTC", "BLOCK-310 shutdown_latiss_calibrations", "power_off_atcalsys",
                          "set_summary_state ATWhiteLight STANDBY"]
        let seen = steps.map(\.name).filter { documented.contains($0) }
        #expect(seen == documented)
        // SDSSy_65mm sits in the grating wheel with an empty filter, as the document configures it.
        #expect(steps.contains { $0.name == "LATISS grating wheel to SDSSy_65mm" })
        // SDSSr_65mm gives no bias/dark counts: the script defaults apply. 21 biases (20 + 1 discard) of
        // 2 s readout; 23 darks of the default list (5×5 + 2×15 + 16×30 s = 535 s, + 23 readouts).
        let biases = try #require(steps.first { $0.name == "take_imgtype BIAS" })
        let darks = try #require(steps.first { $0.name == "take_imgtype DARK" })
        #expect(abs(biases.duration - 21 * 2) < 1e-9)
        #expect(abs(darks.duration - (535 + 23 * 2)) < 1e-9)
    }

    @Test func alignedSixSecondSDSSrFlatIsJustUnder30000() throws {
        let (result, _) = try runTrial(try latissScenario(body: "parameters: {nights_since_home: 0}"))
        let level = try #require(result.metrics["flat_sdssr_6s_adu"])
        // ATFlatScreen's calibration gives 29,784 ADU at the mean gain; the median over amplifiers and
        // flats moves it by the gain table's spread (29,110–30,720) at most.
        #expect(level > 29_000 && level < 30_000)
        #expect(result.outcome == .completed)
    }

    @Test func misalignedDomeIsHomedAndTheProcedureRestarted() throws {
        // 4° of encoder error: the true dome azimuth is 7° when the encoder reads 3°, 2.5° beyond the
        // ±1.5° tolerance: the flat falls to exp(−2.5²/(2·0.5²)) ≈ 4e-6 of its level. The contingency is
        // the scenario's data, not Swift.
        let (result, steps) = try runTrial(try latissScenario(body: "instrument: {dome: {initial_encoder_error: 4 deg}}"))
        #expect(result.outcome == .completedAfterRestart)
        #expect(result.metrics["restarts"] == 1)
        #expect(steps.filter { $0.name == "home_dome" }.count == 1)
        #expect(steps.filter { $0.name == "Report the incident to the AuxTel team" }.count == 1)
        #expect(abs(try stepDuration(steps, "Report the incident to the AuxTel team") - 300) < 1e-9)
        #expect(steps.filter { $0.name == "BLOCK-309 setup_latiss_calibrations" }.count == 2)
        let names = steps.map(\.name)
        let home = try #require(names.firstIndex(of: "home_dome"))
        let secondSetup = try #require(names.lastIndex(of: "BLOCK-309 setup_latiss_calibrations"))
        #expect(home < secondSetup)
        // The misaligned attempt stops at the first 6 s SDSSr flat and never reaches BLOCK-310.
        #expect(steps.filter { $0.name == "BLOCK-310 shutdown_latiss_calibrations" }.count == 1)
        // The restart re-slews the dome to 3.0° from the home position.
        #expect(steps.filter { $0.name == "ATDome to az 3.0" }.count == 2)
        let level = try #require(result.metrics["flat_sdssr_6s_adu"])
        #expect(level > 29_000)
        #expect(try #require(result.metrics["contingency_time_s"]) > 900)
    }

    @Test func misalignedFlatReadsUnder10000AndTheRestartLimitRunsTheShutdown() throws {
        let (result, steps) = try runTrial(try latissScenario(body: "instrument: {dome: {initial_encoder_error: 4 deg}}",
                                                              contingencies: misalignment(maxRestarts: 0)))
        #expect(result.outcome == .aborted("restart_limit"))
        #expect(try #require(result.metrics["flat_sdssr_6s_adu"]) < 10_000)
        #expect(result.metrics["contingencies"] == 1)
        // on_restart_limit: [BLOCK-310]: the lamp is still shut down.
        #expect(steps.filter { $0.name == "BLOCK-310 shutdown_latiss_calibrations" }.count == 1)
        #expect(steps.filter { $0.name == "BLOCK-295 latiss_weekly_calibrations" }.count == 1)
    }

    @Test func withoutTheContingencyAMisalignedRunCompletesUnnoticed() throws {
        let (result, steps) = try runTrial(try latissScenario(body: "instrument: {dome: {initial_encoder_error: 4 deg}}", contingencies: ""))
        #expect(result.outcome == .completed)
        #expect(!steps.contains { $0.name == "home_dome" })
    }

    @Test func timingFidelityStillChecksTheAlignment() throws {
        let (result, _) = try runTrial(try latissScenario(body: "instrument: {dome: {initial_encoder_error: 4 deg}}", fidelity: .timing))
        #expect(result.outcome == .completedAfterRestart)
        #expect(result.metrics["ptc_gain_error_pct"] == nil && result.metrics["master_flat_error_pct"] == nil)
    }

    @Test func ptcGainAndNoiseAreRecoveredOnPixels() throws {
        // Four trials of the PTC alone on a 64×64 region of interest per amplifier; each trial's figure is
        // a mean over 16 amplifiers. From 40 trials (obsim run on this configuration) the per-trial spread
        // is 0.22 % (gain) and 3.4 % (noise), so the mean of four has standard errors 0.11 % and 1.7 %:
        // the limits (0.5 %, 5 %) are 4.5 and 2.9 standard errors away from zero bias.
        let scenario = try latissScenario(run: "[BLOCK-309, BLOCK-295-ptc, BLOCK-310]",
                                          body: "parameters: {nights_since_home: 0}\ninstrument: {detector: {roi_size: 64}}",
                                          contingencies: "", fidelity: .roiPixels)
        var gains: [Double] = [], noises: [Double] = []
        for trial in 0..<4 {
            let (result, _) = try runTrial(documentTiming(scenario), trial: UInt64(trial))
            gains.append(try #require(result.metrics["ptc_gain_error_pct"]))
            noises.append(try #require(result.metrics["ptc_noise_error_pct"]))
            // Saturation near 123,000 ADU at about 25 s: the last unsaturated pair is 24.16 s, just below
            // full well (119,000 ADU at the mean gain); the next pair (30.04 s) is saturated.
            #expect(result.metrics["ptc_turnoff_exptime_s"] == 24.16)
            let turnoff = try #require(result.metrics["ptc_turnoff_adu"])
            #expect(turnoff > 0.95 * 123_000 && turnoff < 123_000)
        }
        func meanAndError(_ v: [Double]) -> (Double, Double) {
            let m = v.reduce(0, +) / Double(v.count)
            let sd = (v.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(v.count - 1)).squareRoot()
            return (m, sd / Double(v.count).squareRoot())
        }
        let (gainBias, gainError) = meanAndError(gains)
        let (noiseBias, noiseError) = meanAndError(noises)
        #expect(abs(gainBias) < 0.5, "gain bias \(gainBias) % ± \(gainError)")
        #expect(abs(noiseBias) < 5, "noise bias \(noiseBias) % ± \(noiseError)")
    }

    @Test func masterFlatErrorMatchesTheShotNoiseOfTwentyFlats() throws {
        let (result, _) = try runTrial(try latissScenario(body: "parameters: {nights_since_home: 0}\ninstrument: {detector: {roi_size: 32}}",
                                                          fidelity: .roiPixels))
        let error = try #require(result.metrics["master_flat_error_pct"])
        // A 6 s SDSSr flat pixel: λ = 5,374 e⁻/s × 6 s = 32,245 e⁻, compressed to f = 32,167 e⁻ with slope
        // f′ = 0.9952; temporal noise √(f′²λ + RN²) ≈ 179 e⁻ → 0.556 % per flat. Twenty flats: 0.124 % for
        // a mean, × √(π/2) = 0.156 % for a median (large-N efficiency). The RMS over 16 × 1024 pixels
        // has a relative standard error 1/√(2N) = 0.55 %; 3 % margins cover it and the bias/dark noise.
        #expect(error > 0.124 * 0.97 && error < 0.156 * 1.03)
    }

    // MARK: The shipped block files

    @Test func documentBlockHoldsTheFiveSetsAndThePTC() throws {
        let scenario = try latissScenario()
        let block = try #require(scenario.configuration.sequences.first { $0.id == "BLOCK-295" })
        #expect(block.name == "latiss_weekly_calibrations")
        let actions = try LATISS.library.instantiate(block)
        let sets = actions.compactMap { $0 as? MakeLATISSCalibrations }
        #expect(sets.map(\.setName) == ["SDSSr_65mm", "SDSSg_65mm", "SDSSz_65mm", "SDSSy_65mm", "empty_1"])
        #expect(sets.map(\.filterName) == ["SDSSr_65mm", "SDSSg_65mm", "SDSSz_65mm", "empty_1", "empty_1"])
        #expect(sets.map(\.gratingName) == ["empty_1", "empty_1", "empty_1", "SDSSy_65mm", "empty_1"])
        #expect(sets.map { $0.flatTimes.first! } == [6, 6, 3, 30, 1])
        #expect(sets.map(\.flatTimes.count) == [21, 21, 21, 21, 21])
        // Script defaults where SDSSr_65mm gives no bias/dark keys: n_bias 20 (+1 discard), the default
        // dark list of 23 (22 + 1 discard).
        #expect(sets.map(\.biasCount) == [21, 4, 4, 4, 4])
        #expect(sets.map(\.darkTimes.count) == [23, 4, 4, 4, 4])
        #expect(sets[0].darkTimes == MakeLATISSCalibrations.defaultDarkTimes)
        #expect(sets[4].darkTimes.allSatisfy { $0 == 1 } && sets[1].darkTimes.allSatisfy { $0 == 6 })
        let ptc = try #require(actions.last as? TakeImageLATISS)
        #expect(ptc.times.count == 60 && ptc.stepName == "take_image_latiss weekly_PTC")
        // Open-shutter total of the document's PTC (REFERENCES §3: 1132.5 s).
        #expect(abs(ptc.times.reduce(0, +) - 1132.5) < 1e-6)
    }

    @Test func todaysBlock295TakesTwoSetsAndTheDailyPTC() throws {
        let scenario = try ScenarioLoader.load(path: repositoryRoot + "/Scenarios/latiss-weekly-today.yaml")
        let block = try #require(scenario.configuration.sequences.first { $0.id == "BLOCK-295" })
        #expect(block.name == "latiss_daily_calibrations")
        var timing = documentTiming(scenario)
        timing.study.fidelity = .timing
        let (result, steps) = try runTrial(timing)
        #expect(result.outcome.isCompleted)
        // SDSSr_65mm set (grating wheel): script defaults, 21 biases, 23 darks, 21 flats of 6 s;
        // empty_1 set: n_bias 1 + 1 discard, n_dark 1 + 1 discard at 1 s, 21 flats of 1 s; then 60 PTC flats.
        let sets = steps.filter { $0.name.hasPrefix("make_latiss_calibrations") }.map(\.name)
        #expect(sets == ["make_latiss_calibrations SDSSr_65mm", "make_latiss_calibrations empty_1"])
        let biases = steps.filter { $0.name == "take_imgtype BIAS" }.map(\.duration)
        let darks = steps.filter { $0.name == "take_imgtype DARK" }.map(\.duration)
        let flats = steps.filter { $0.name == "take_imgtype FLAT" }.map(\.duration)
        let expectedBiases: [Double] = [42, 4]
        let expectedDarks: [Double] = [581, 6]
        let expectedFlats: [Double] = [168, 63]
        #expect(zip(biases, expectedBiases).allSatisfy { abs($0 - $1) < 1e-9 } && biases.count == 2)
        #expect(zip(darks, expectedDarks).allSatisfy { abs($0 - $1) < 1e-9 } && darks.count == 2)
        #expect(zip(flats, expectedFlats).allSatisfy { abs($0 - $1) < 1e-9 } && flats.count == 2)
        #expect(abs(try stepDuration(steps, "take_image_latiss daily_PTC") - (1132.5 + 60 * 2)) < 15)
        #expect(steps.contains { $0.name == "LATISS grating wheel to SDSSr_65mm" })
        #expect(!steps.contains { $0.name.hasPrefix("make_latiss_calibrations SDSSg") })
    }

    @Test func bg40SetRunsWithThirtyFlatsPerFilter() throws {
        var scenario = try ScenarioLoader.load(path: repositoryRoot + "/Scenarios/latiss-weekly-bg40.yaml")
        scenario.configuration.faults = try latissScenario().configuration.faults
        scenario.configuration.parameters["nights_since_home"] = .integer(0)
        let (result, steps) = try runTrial(documentTiming(scenario))
        #expect(result.outcome == .completed)
        let sets = steps.filter { $0.name.hasPrefix("make_latiss_calibrations") }.map(\.name)
        #expect(sets.last == "make_latiss_calibrations BG40_65mm" && sets.count == 6)
        #expect(steps.contains { $0.name == "LATISS grating wheel to BG40_65mm" })
        // 30 flats + 1 discard per set: the BG40 set's 4 s flats take 31 × (4 + 2) s.
        let flats = steps.filter { $0.name == "take_imgtype FLAT" }.map(\.duration)
        let bg40Flats: Double = 31 * 6, sdssrFlats: Double = 31 * 8
        #expect(flats.count == 6 && flats.last == bg40Flats)
        #expect(flats.first == sdssrFlats)
    }

    @Test func dailyBiasDarkBlockTakesTheScriptDefaults() throws {
        var scenario = documentTiming(try ScenarioLoader.load(path: repositoryRoot + "/Scenarios/latiss-daily-bias-dark.yaml"))
        scenario.study.fidelity = .timing
        let (result, steps) = try runTrial(scenario)
        #expect(result.outcome == .completed)
        // Each image is its overhead, exposure (none for a bias) and readout leaves (the time-use split).
        let pieces = ["image overhead", "exposure", "readout"]
        #expect(steps.map(\.name).filter { !pieces.contains($0) } == ["BLOCK-daily-bias-dark latiss_daily_bias_dark", "make_latiss_calibrations BIAS_DARK",
                                                                      "take_imgtype BIAS", "take_imgtype DARK"])
        #expect(pieces.map { p in steps.filter { $0.name == p }.count } == [21 + 23, 23, 21 + 23])
        // Defaults: 20 + 1 biases, the 23-dark list; no lamp and no motion. The ops document: BIAS(20) +
        // DARK(22) "about 15 minutes" (REFERENCES §3): 42 + 581 s = 10.4 min of camera time here.
        #expect(abs(try stepDuration(steps, "take_imgtype BIAS") - 42) < 1e-9)
        #expect(abs(try stepDuration(steps, "take_imgtype DARK") - 581) < 1e-9)
    }

    @Test func sweepVariesAScriptParameterByItsPath() throws {
        let text = """
        name: t
        procedure: latiss
        run: [BLOCK-309, BLOCK-295, BLOCK-310]
        study:
          trials: 2
          detector: timing
          sweep:
            - parameter: BLOCK-295.scripts[0].parameters.n_flat
              values: [10, 40]
        """
        let swept = try ScenarioLoader.parse(text, file: repositoryRoot + "/Scenarios/t.yaml")
        let points = swept.sweepPoints.map { swept.point($0).configuration }
        #expect(points.map { $0[path: "BLOCK-295.scripts[0].parameters.n_flat"] } == [.integer(10), .integer(40)])
        let durations = try points.map { c -> Double in
            var s = swept
            s.configuration = c
            return try stepDuration(try runTrial(documentTiming(s)).steps, "make_latiss_calibrations SDSSr_65mm")
        }
        // 30 more 6 s flats of 8 s each (exposure + readout).
        #expect(abs(durations[1] - durations[0] - 30 * 8) < 1e-6)
    }
}
