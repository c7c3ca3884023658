import Foundation
import Procedures
import ScenarioKit
import Testing
@testable import Experiments

/// A year-long twilight study at high latitude: dates without a sunset are their points' outcome, polar
/// day told from polar night, and the rest of the study runs.
@Suite struct PolarTwilightTests {
    /// LATISS evening flats at Ny-Ålesund (78.9° N, a site given by coordinates); `rest` continues the
    /// `parameters:` section and may add a `study.sweep`.
    static func scenario(_ rest: String) -> String {
        for p in BuiltInProcedures.all { ProcedureRegistry.register(p) }
        return """
        name: polar
        procedure: twilight-flats
        site: {name: ny-alesund, latitude: 78.92 deg, longitude: 11.93 deg, elevation: 10 m}
        instrument:
          preset: auxtel-latiss
        parameters:
          band: SDSSr
          twilight: evening

        """ + rest
    }

    @Test func datesWithoutTwilightAreOutcomesNotFailures() throws {
        let text = Self.scenario("""
          clear_sky_probability: 1
        study:
          trials: 2
          detector: timing
          sweep:
            - parameter: epoch
              values: [2026-06-21, 2026-12-21, 2026-03-21]
        """)
        let s = try ScenarioLoader.parse(text, file: "polar.yaml")
        #expect(s.siteLine == 3)
        let state = try StudyRunner.run(s, options: RunOptions(threads: 1, trialRange: 0..<2))
        // At 78.9° N the Sun is circumpolar from late April to late August and below the horizon from
        // late October to mid February; at the equinox it sets.
        #expect(state.points[0].outcomes == ["no_twilight_polar_day": 2])
        #expect(state.points[1].outcomes == ["no_twilight_polar_night": 2])
        #expect(state.points[2].outcomes.keys.allSatisfy { !$0.hasPrefix("no_twilight") })
        #expect(state.points[0].metrics["feasible"]?.mean == 0)
    }

    /// No cloud climatology is known for a site given by coordinates: validation asks for the clear-sky
    /// probability instead of the study failing at its first trial.
    @Test func aSiteWithoutClimatologyNeedsAClearSkyProbability() {
        let text = Self.scenario("""
        study:
          trials: 2
          detector: timing
        """)
        #expect {
            try ScenarioLoader.parse(text, file: "polar.yaml")
        } throws: { error in
            "\(error)".contains("parameters.clear_sky_probability") && "\(error)".contains("no cloud climatology")
        }
    }
}
