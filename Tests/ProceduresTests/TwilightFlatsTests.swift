import Foundation
import Testing
@testable import Procedures
import Observatory
import SimKernel

/// Runs one trial of `TwilightFlats` with `parameters` overriding the defaults (schema defaults filled in).
func runTwilightTrial(_ parameters: [String: ParameterValue], preset: String = "auxtel-latiss", trial: UInt64 = 0,
                      epoch: String = "2026-03-20T20:00:00Z") throws -> TrialResult {
    var values: [String: ParameterValue] = [:]
    for spec in TwilightFlats.schema.parameters {
        if case .defaultValue(let v) = spec.requirement { values[spec.key] = v }
    }
    // A clear night unless the test asks for the weather.
    values["clear_sky_probability"] = .number(1)
    for (k, v) in parameters { values[k] = v }
    values = values.filter { !($0.key == "clear_sky_probability" && $0.value == .string("climatology")) }
    let procedure = try TwilightFlats(configuration: ProcedureConfiguration(parameters: ValueSet(values), instrumentPreset: preset))
    let sim = Simulation(seed: 42, trial: trial)
    defer { sim.shutDown() }
    // AuxTel (REFERENCES §7) and Cerro Armazones (REFERENCES §7).
    let site = preset == "auxtel-latiss"
        ? SiteLocation(name: "auxtel", latitudeDegrees: -30.244789, longitudeDegrees: -70.747686, elevationMetres: 2650)
        : SiteLocation(name: "armazones", latitudeDegrees: -24.5899, longitudeDegrees: -70.1918, elevationMetres: 3060)
    let context = TrialContext(simulation: sim, seed: 42, trial: trial, site: site, epochUnixSeconds: UTCDate.parse(epoch)!,
                               nightsUnixSeconds: [], fidelity: .roiStatistics, keepsDetail: false)
    final class Box { var result: TrialResult?; var error: (any Error)? }
    let box = Box()
    sim.process("procedure") {
        do { box.result = try await procedure.runTrial(context) } catch { box.error = error }
    }
    try sim.run(until: 3 * 86_400)
    if let e = box.error { throw e }
    return try #require(box.result)
}

@Suite struct TwilightExposureRuleTests {
    /// A noise-free exponential sky, r(t) = r0·10^(−κt), and frames taken back to back with `gap` seconds of
    /// readout and overhead; returns each frame's fill fraction.
    func fills(kind: TwilightExposureRuleKind, dexPerMinute: Double, frames: Int, gap: Double = 3) -> [Double] {
        let kappa = dexPerMinute / 60
        let fullWell = 133_000.0
        let rule = TwilightExposureRule(kind: kind, targetElectrons: 0.5 * fullWell, minimumSeconds: 1, maximumSeconds: 30)
        // Start where a 1 s frame gives the target (evening) or a 30 s frame does (morning).
        let r0 = kappa > 0 ? 0.5 * fullWell : 0.5 * fullWell / 30
        func rate(_ t: Double) -> Double { r0 * pow(10, -kappa * t) }
        var t = 0.0
        var measurements: [TwilightFrameMeasurement] = []
        var out: [Double] = []
        for _ in 0..<frames {
            let last = measurements.last ?? TwilightFrameMeasurement(startSeconds: t - 0.5, ditSeconds: 1, electrons: rate(t),
                                                                       darkElectronsPerSecond: 0)
            var k = kappa   // the sky model's rate until two frames measure it
            if measurements.count >= 2, let measured = TwilightExposureRule.fadingRate(from: measurements[measurements.count - 2], to: last) {
                k = measured
            }
            let dit = rule.clamp(rule.unclampedExposure(startingAt: t, last: last, fadingDexPerSecond: kind == .rubin ? 0 : k))
            let electrons = TwilightExposureRule.skyElectrons(rateAtStart: rate(t), fadingDexPerSecond: kappa, ditSeconds: dit)
            measurements.append(TwilightFrameMeasurement(startSeconds: t, ditSeconds: dit, electrons: electrons, darkElectronsPerSecond: 0))
            out.append(electrons / fullWell)
            t += dit + gap
        }
        return out
    }

    @Test(arguments: [0.09, 0.14, -0.09, -0.14])
    func extrapolatedRuleHoldsTheFillOnAnExponentialSky(dexPerMinute: Double) {
        // The published fading rates 0.09-0.14 dex/min (REFERENCES §1.2), evening (+) and morning (−). On an
        // exact exponential the extrapolation is exact: every frame that is not clamped is at the target.
        let f = fills(kind: .extrapolated, dexPerMinute: dexPerMinute, frames: 25)
        let unclamped = f.filter { abs($0 - 0.5) < 0.1 }
        #expect(unclamped.count >= 10)
        for fill in unclamped { #expect(abs(fill - 0.5) < 1e-6) }
    }

    @Test func rubinRuleLagsTheFadingSky() {
        // t_new = target·t_old/counts aims at the previous frame's sky: on a fading sky each frame is low by
        // the fading between the frames, 10^(−κ·Δt_mid) with Δt_mid ≥ gap = 3 s, i.e. below 0.5·10^(−0.14·3/60) = 0.492.
        let f = fills(kind: .rubin, dexPerMinute: 0.14, frames: 12)
        for fill in f.dropFirst() { #expect(fill < 0.5 * pow(10, -0.14 * 3 / 60)) }
        // and still inside the accepted 40-60 % at these rates, while the frames stay short.
        for fill in f.prefix(8) { #expect(fill > 0.4) }
    }
}

@Suite struct TwilightFlatsTests {
    @Test func aNightWithNoClearSkyGivesNoFeasibleSeries() throws {
        for trial in 0..<3 {
            let r = try runTwilightTrial(["clear_sky_probability": .number(0)], trial: UInt64(trial))
            #expect(r.outcome.kind == "aborted_clouded_out")
            #expect(r.metrics["feasible"] == 0)
            #expect(r.metrics["frames_in_range"] == 0)
        }
    }

    @Test func aClearEveningCompletesTheSeries() throws {
        let r = try runTwilightTrial(["start_offset": .number(-600)])
        #expect(r.outcome == .completed)
        #expect(r.metrics["feasible"] == 1)
        #expect(r.metrics["frames_in_range"] == 30)
    }

    /// LATISS twilight flats in every optical band the sky model has: the exposure-time rule adapts to
    /// each band's sky rate, so a clear evening completes the series in g and z as in r.
    @Test(arguments: ["SDSSg", "SDSSz"])
    func latissTwilightFlatsRunInOtherSDSSBands(band: String) throws {
        let r = try runTwilightTrial(["start_offset": .number(-600), "band": .string(band)])
        #expect(r.outcome == .completed)
        #expect(r.metrics["frames_in_range"] == 30)
        #expect(TwilightInstrument.bands(of: "auxtel-latiss").first == "SDSSr")
    }

    @Test func eveningAndMorningAreMirrorImages() throws {
        // Operator ready well before each window: the whole window is available. Near the March equinox the
        // Sun's declination moves 0.4°/day, 0.2° over the night, which changes the hour angle of a given
        // twilight altitude by ~0.2 % at −30° latitude: the two windows agree to better than 1 %.
        let still: [String: ParameterValue] = ["cirrus_rms": .number(0)]
        var evening = still; evening["start_offset"] = .number(-1800)
        var morning = still; morning["twilight"] = .string("morning"); morning["start_offset"] = .number(3600)
        let e = try runTwilightTrial(evening), m = try runTwilightTrial(morning)
        let we = try #require(e.metrics["window_available_s"]), wm = try #require(m.metrics["window_available_s"])
        #expect(we > 300)
        #expect(abs(we / wm - 1) < 0.01)
        #expect(e.metrics["feasible"] == 1 && m.metrics["feasible"] == 1)
    }

    @Test func feasibilityFallsToZeroWhenTheOffsetLeavesTooLittleTime() throws {
        // A level needs at least n_frames × (1 s minimum exposure + 2 s readout + 1 s overhead) = 40 s.
        var sawFeasible = false, sawShort = false
        for minutes in stride(from: 0.0, through: 30, by: 5) {
            let r = try runTwilightTrial(["start_offset": .number(minutes * 60), "cirrus_rms": .number(0)])
            let available = try #require(r.metrics["window_available_s"])
            if available < 40 {
                sawShort = true
                #expect(r.metrics["feasible"] == 0)
                #expect(r.metrics["feasible_level_1"] == 0)
            }
            if r.metrics["feasible"] == 1 { sawFeasible = true }
        }
        #expect(sawFeasible && sawShort)
    }

    @Test func metisNBandSamplesANarrowRangeOfHighFluxes() throws {
        // Seed 002: the telescope's thermal emission dominates, so twilight adds little: the minimum DIT
        // already fills ~40 % of the high-capacity well (1e8 e⁻/s × 0.011 s / 2.8e6 e⁻, REFERENCES §5.2).
        let r = try runTwilightTrial(["n_levels": .integer(1), "cirrus_rms": .number(0)], preset: "metis-img-n",
                                     epoch: "2026-03-20T22:00:00Z")
        #expect(try #require(r.metrics["thermal_fraction"]) > 0.999)
        #expect(try #require(r.metrics["fill_fraction_min"]) > 0.3)
        #expect(try #require(r.metrics["flux_range_ratio"]) < 1.01)
        // Low capacity: the minimum DIT overfills the well, there is no window at all.
        let low = try runTwilightTrial(["detector_mode": .string("LOW_CAPACITY")], preset: "metis-img-n", epoch: "2026-03-20T22:00:00Z")
        #expect(low.outcome.kind == "aborted_no_window")
    }

    /// What the twilight flats are for (seed 002: the lamp flat's homogeneity). The lamp's 1 % large-scale
    /// pattern is replaced by the twilight master's own: the sky ramp. A ramp of gradient g over the LATISS
    /// half-field h = 4072 × 0.0957″ / 2 has RMS g·h·√((n² − 1)/(3n²)) on the n = 8 cell grid; the per-cell
    /// median of the three levels' frames is the airmass-2 level's ramp, 2.6/3.6 = 0.72 of the steepest
    /// (airmass 2.5, `directionDependence`), so the corrected error lies between half and all of the
    /// steepest ramp's RMS, plus the fit's second-order miss ≤ 2·δ² of the lamp's δ. The sky gradient at
    /// airmass 2–2.5 is "several percent per degree" (Chromey & Hasselbacher 1996). With a perfect lamp the
    /// correction can only add the sky's gradient.
    @Test func twilightFlatsCorrectTheLampIllumination() throws {
        let r = try runTwilightTrial(["start_offset": .number(-600)])
        let lamp = try #require(r.metrics["lamp_flat_large_scale_error_pct"])
        let corrected = try #require(r.metrics["corrected_flat_large_scale_error_pct"])
        let g = try #require(r.metrics["sky_gradient_pct_per_deg"])
        let h = 0.0957 * 4072 / 2 / 3600
        #expect(g > 1 && g < 10)
        let steepestRampRMS = g * h * (63.0 / 192).squareRoot()
        #expect(corrected > 0.5 * steepestRampRMS)
        #expect(corrected <= steepestRampRMS + 2 * pow(lamp / 100, 2) * 100)
        #expect(lamp > 5 * corrected)
        let perfect = try runTwilightTrial(["start_offset": .number(-600), "lamp_illumination_rms": .number(0)])
        #expect(perfect.metrics["lamp_flat_large_scale_error_pct"] == 0)
        #expect(try #require(perfect.metrics["corrected_flat_large_scale_error_pct"]) > 0)
    }

    /// Seasons: with no override the night comes from Cerro Pachón's CTIO climatology (the test's `auxtel`
    /// site): 60 trials in January and in June are clouded out at 1 − usable (0.094 and 0.331) within 3
    /// binomial errors, photometric at the table's fractions.
    @Test func climatologyDecidesTheNight() throws {
        let pachon = SiteClimatology.cerroPachon
        for (epoch, m) in [("2026-01-15T20:00:00Z", 0), ("2026-06-15T20:00:00Z", 5)] {
            let n = 60
            var cloudy = 0, photometric = 0
            for trial in 0..<n {
                let r = try runTwilightTrial(["clear_sky_probability": .string("climatology"), "start_offset": .number(-600)],
                                             trial: UInt64(trial), epoch: epoch)
                if r.outcome.kind == "aborted_clouded_out" { cloudy += 1 }
                if r.metrics["night_photometric"] == 1 { photometric += 1 }
            }
            for (count, p) in [(cloudy, 1 - pachon.usable[m]), (photometric, pachon.photometric[m])] {
                let se = (p * (1 - p) / Double(n)).squareRoot()
                #expect(abs(Double(count) / Double(n) - p) < 3 * se, "\(epoch): \(count)/\(n) against \(p)")
            }
        }
    }

    @Test func refusesABandTheCameraLacks() {
        #expect(throws: ConfigurationError.self) {
            _ = try TwilightFlats(configuration: ProcedureConfiguration(parameters: ValueSet(["band": .string("N")]),
                                                                     instrumentPreset: "auxtel-latiss"))
        }
    }
}
