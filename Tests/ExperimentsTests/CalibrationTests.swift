import CGSL
import Foundation
import Observatory
import Procedures
import ScenarioKit
import SimKernel
import Testing
@testable import Experiments

/// The image steps of BLOCK-295's five make_latiss_calibrations sets (Sequences/BLOCK-295.json, one discard
/// per type): SDSSr_65mm with the script's defaults (21 biases; 23 darks, 5×5 + 2×15 + 16×30 s; 21 × 6 s
/// flats), then SDSSg/z/y and empty_1 with 4 biases, 4 darks of 6 s (1 s for empty_1) and 21 flats of
/// 6, 3, 30 and 1 s.
let weeklyImageSteps: [(type: String, images: Int, exposure: Double)] = [
    ("BIAS", 21, 0), ("DARK", 23, 535), ("FLAT", 21, 126),
    ("BIAS", 4, 0), ("DARK", 4, 24), ("FLAT", 21, 126),
    ("BIAS", 4, 0), ("DARK", 4, 24), ("FLAT", 21, 63),
    ("BIAS", 4, 0), ("DARK", 4, 24), ("FLAT", 21, 630),
    ("BIAS", 4, 0), ("DARK", 4, 4), ("FLAT", 21, 21),
]

/// Observed image steps of `nights` weekly calibrations, simulated from `truth` with the model the
/// procedures run.
func simulatedWeeklyImageSteps(nights: Int, truth: LATISSControlTiming, stream: RandomStream) -> [ObservedStep] {
    var rows: [ObservedStep] = []
    for night in 0..<nights {
        var clock = 0.0
        do {
            for (type, n, exposure) in weeklyImageSteps {
                var row = ObservedStep(night: "n\(night)", step: "take_imgtype \(type)", startSeconds: clock, endSeconds: clock,
                                       images: n, exposureSeconds: exposure)
                row.endSeconds = clock + TimingCalibration.simulate(row, truth, stream: stream)
                clock = row.endSeconds + 30
                rows.append(row)
            }
        }
    }
    return rows
}

/// Hidden values, away from the defaults the fit starts from (LATISSControlTiming.latiss: 2.0/0.5/8/4).
let hiddenTiming: LATISSControlTiming = {
    var t = LATISSControlTiming.latiss
    t.imageOverhead = DurationDistribution(meanSeconds: 2.6, sdSeconds: 0.8)
    t.ingestionWait = DurationDistribution(meanSeconds: 14, sdSeconds: 6)
    return t
}()

let fittedKeys = [LATISSTimingKeys.imageOverhead, LATISSTimingKeys.imageOverheadSD, LATISSTimingKeys.ingestionWait,
                  LATISSTimingKeys.ingestionWaitSD]

@Suite struct TimingCalibrationTests {
    @Test func hiddenValuesAreRecoveredWithinTheirUncertainty() throws {
        let rows = simulatedWeeklyImageSteps(nights: 30, truth: hiddenTiming, stream: RandomStream(gslSeed: 11))
        let result = try TimingCalibration(observed: rows).fit()
        for key in fittedKeys {
            let e = try #require(result.estimate(key))
            let truth = TimingCalibration.value(hiddenTiming, key)
            let sigma = try #require(e.sigma)
            #expect(e.constrained, "\(key) should be constrained")
            // 3σ: 99.7 % per parameter (a spread's σ is its interval's half-width / 1.96).
            #expect(abs(e.value - truth) <= 3 * sigma, "\(key): \(e.value) ± \(sigma), truth \(truth)")
            // Informative: the 95 % interval spans under a third of the documented range.
            let range = try #require(LATISSTimingKeys.ranges.first { $0.key == key })
            let width = try #require(e.upper95) - (try #require(e.lower95))
            #expect(width < (range.upper - range.lower) / 3, "\(key): interval \(width) s of a \(range.upper - range.lower) s range")
        }
        #expect(result.logLikelihoodAfter > result.logLikelihoodBefore)
    }

    /// 200 replications × 4 parameters. Each parameter's count of 95 % intervals covering the truth is
    /// Binomial(200, 0.95): mean 190, sd 3.08; the test accepts its 99.9 % band [179, 198] (±3.29σ, rounded out).
    @Test func ninetyFivePercentIntervalsCoverTheTruth() throws {
        let replications = 200
        var covered = [String: Int]()
        for r in 0..<replications {
            let rows = simulatedWeeklyImageSteps(nights: 20, truth: hiddenTiming, stream: RandomStream(gslSeed: UInt(1000 + r)))
            let result = try TimingCalibration(observed: rows).fit()
            for key in fittedKeys {
                let e = try #require(result.estimate(key))
                let truth = TimingCalibration.value(hiddenTiming, key)
                if let lo = e.lower95, let hi = e.upper95, lo <= truth, truth <= hi { covered[key, default: 0] += 1 }
            }
        }
        for key in fittedKeys {
            let c = covered[key, default: 0]
            #expect((179...198).contains(c), "\(key): \(c) of \(replications) intervals cover the truth")
        }
    }

    @Test func readoutIsConfoundedWithTheOverheadAndNotFitted() throws {
        var truth = hiddenTiming
        truth.readoutSeconds = 2.4
        let rows = simulatedWeeklyImageSteps(nights: 30, truth: truth, stream: RandomStream(gslSeed: 5))
        let result = try TimingCalibration(observed: rows).fit()
        let readout = try #require(result.estimate(LATISSTimingKeys.readout))
        #expect(!readout.constrained)
        #expect(readout.sigma == nil)
        #expect(readout.value == LATISSControlTiming.latiss.readoutSeconds)
        #expect(readout.note.contains(LATISSTimingKeys.imageOverhead))
        // What the data do fix is the per-image sum, which the overhead then carries.
        let overhead = try #require(result.estimate(LATISSTimingKeys.imageOverhead))
        let sigma = try #require(overhead.sigma)
        #expect(abs(overhead.value + readout.value - (2.6 + 2.4)) <= 2.576 * sigma)
    }

    @Test func oneImageCountCannotSeparateOverheadFromIngestion() throws {
        // Only SDSSr_65mm biases (21 images, no exposure): the mean fixes 21·overhead + wait, one number.
        let rows = simulatedWeeklyImageSteps(nights: 40, truth: hiddenTiming, stream: RandomStream(gslSeed: 3))
            .filter { $0.step == "take_imgtype BIAS" && $0.images == 21 }
        let result = try TimingCalibration(observed: rows).fit()
        let wait = try #require(result.estimate(LATISSTimingKeys.ingestionWait))
        #expect(result.estimate(LATISSTimingKeys.imageOverhead)?.constrained == true)
        #expect(!wait.constrained)
        #expect(wait.value == LATISSControlTiming.latiss.ingestionWait.meanSeconds)
        #expect(wait.note.contains("confounded"))
    }

    @Test func stepsTheModelDoesNotPredictAreLeftOutAndCounted() throws {
        var rows = simulatedWeeklyImageSteps(nights: 10, truth: hiddenTiming, stream: RandomStream(gslSeed: 9))
        rows.append(ObservedStep(night: "n0", step: "prepare_for/flat", startSeconds: 0, endSeconds: 200))
        let c = TimingCalibration(observed: rows)
        #expect(c.rows.count == 150)
        #expect(c.ignoredSteps == ["prepare_for/flat": 1])
        #expect(throws: TimingCalibration.Failure.self) {
            try TimingCalibration(observed: [ObservedStep(night: "n0", step: "home_dome", startSeconds: 0, endSeconds: 60)]).fit()
        }
    }
}

@Suite struct DurationDistributionTests {
    /// Capped moments against 400,000 draws: each within 4 standard errors of the sample estimate.
    @Test func cappedMomentsMatchDraws() {
        let d = DurationDistribution(meanSeconds: 80, sdSeconds: 50)
        let cap = 120.0
        let m = d.cappedMoments(cap: cap)
        let stream = RandomStream(gslSeed: 2)
        let n = 400_000
        var s1 = 0.0, s2 = 0.0, s4 = 0.0
        var draws = [Double]()
        draws.reserveCapacity(n)
        for _ in 0..<n { let x = min(d.sample(stream), cap); draws.append(x); s1 += x }
        let mean = s1 / Double(n)
        for x in draws { let c = x - mean; s2 += c * c; s4 += c * c * c * c }
        let variance = s2 / Double(n - 1)
        let meanSE = (variance / Double(n)).squareRoot()
        let varianceSE = ((s4 / Double(n) - variance * variance) / Double(n)).squareRoot()
        #expect(abs(m.mean - mean) < 4 * meanSE)
        #expect(abs(m.variance - variance) < 4 * varianceSE)
        // The cap matters here: uncapped the mean would be 80 s.
        #expect(m.mean < 80 - 10 * meanSE)
        let uncapped = d.cappedMoments(cap: .infinity)
        #expect(uncapped.mean == 80 && uncapped.variance == 2500)
    }

    @Test func aConstantIsItsMeanCapped() {
        #expect(DurationDistribution.constant(150).cappedMoments(cap: 120) == (120, 0) as (Double, Double))
    }
}

@Suite struct TwoSampleTests {
    /// Kolmogorov's Q at λ = 1: 0.26999967 (Numerical Recipes Table; Marsaglia, Tsang & Wang 2003); both
    /// series forms agree where they switch.
    @Test func kolmogorovDistribution() {
        #expect(abs(TwoSampleComparison.kolmogorovQ(1.0) - 0.26999967) < 1e-6)
        #expect(abs(TwoSampleComparison.kolmogorovQ(0.5) - 0.96394524) < 1e-6)
        #expect(abs(TwoSampleComparison.kolmogorovQ(1.5) - 0.02221796) < 1e-6)
        #expect(abs(TwoSampleComparison.kolmogorovQ(1.18 - 1e-9) - TwoSampleComparison.kolmogorovQ(1.18 + 1e-9)) < 1e-8)
    }

    @Test func statisticOfKnownSamples() {
        let c = TwoSampleComparison(observed: [1, 2, 3, 4], simulated: [3, 4, 5, 6, 7, 8])
        // At x = 2: F_obs = 0.5, F_sim = 0 → 0.5; at 4: 1 vs 2/6 → 2/3.
        #expect(abs(c.ksStatistic - 2.0 / 3.0) < 1e-12)
    }

    /// Same law: over 400 pairs of samples the p-value is below 0.05 in about 5 % of them (Binomial(400,
    /// 0.05): mean 20, sd 4.4; accepted 7...33, ±3σ). Shifted by one sd: rejected almost always.
    @Test func pValueIsCalibratedAndHasPower() {
        let stream = RandomStream(gslSeed: 4)
        var rejected = 0, shiftedRejected = 0
        for _ in 0..<400 {
            let a = (0..<60).map { _ in stream.gaussian() }
            let b = (0..<300).map { _ in stream.gaussian() }
            if TwoSampleComparison(observed: a, simulated: b).ksPValue < 0.05 { rejected += 1 }
            let c = (0..<60).map { _ in stream.gaussian() + 1 }
            if TwoSampleComparison(observed: c, simulated: b).ksPValue < 0.05 { shiftedRejected += 1 }
        }
        #expect((7...33).contains(rejected), "\(rejected) of 400")
        #expect(shiftedRejected >= 390, "\(shiftedRejected) of 400")
    }
}

@Suite struct ObservedStepsReaderTests {
    @Test func readsSecondsAndISO() throws {
        let text = """
        # exported from the EFD
        night,step,start,end,images,exposure
        2026-01-05,take_imgtype BIAS,100,190.5,21,0
        2026-01-05,"take_imgtype DARK",2026-01-05T14:00:00Z,2026-01-05T14:10:00.5Z,23,380
        2026-01-05,prepare_for/flat,10,90,,
        """
        let rows = try ObservedStepsReader.parse(text, file: "obs.csv")
        #expect(rows.count == 3)
        #expect(rows[0].durationSeconds == 90.5 && rows[0].images == 21 && rows[0].line == 3)
        #expect(abs(rows[1].durationSeconds - 600.5) < 1e-6 && rows[1].step == "take_imgtype DARK")
        #expect(rows[2].images == nil)
    }

    @Test func everyProblemAtOnceWithLineAndColumn() {
        let text = """
        night,step,start,end,images,exposure
        n1,take_imgtype BIAS,100,90,21,0
        n1,take_imgtype FLAT,abc,200,,120
        ,home_dome,0,10,,
        n2,take_imgtype DARK,0,10,0,-3
        """
        do {
            _ = try ObservedStepsReader.parse(text, file: "obs.csv")
            Issue.record("expected errors")
        } catch let e as ScenarioErrors {
            let d = e.diagnostics.map(\.description)
            #expect(d.contains { $0.hasPrefix("obs.csv:2:26: end:") && $0.contains("before start") })
            #expect(d.contains { $0.hasPrefix("obs.csv:3:22: start:") && $0.contains("`abc`") })
            #expect(d.contains { $0.hasPrefix("obs.csv:3:") && $0.contains("images") && $0.contains("needs its image count") })
            #expect(d.contains { $0.hasPrefix("obs.csv:4:1: night:") })
            #expect(d.contains { $0.hasPrefix("obs.csv:5:") && $0.contains("images") && $0.contains("integer ≥ 1") })
            #expect(d.contains { $0.hasPrefix("obs.csv:5:") && $0.contains("exposure") && $0.contains("`-3`") })
            #expect(e.diagnostics.count == 6)
        } catch { Issue.record("unexpected \(error)") }
    }

    @Test func headerProblems() {
        #expect(throws: ScenarioErrors.self) { try ObservedStepsReader.parse("night,step,begin,end\nn,s,0,1\n", file: "x.csv") }
        #expect(throws: ScenarioErrors.self) { try ObservedStepsReader.parse("night,step,start,end\n", file: "x.csv") }
        #expect(throws: ScenarioErrors.self) { try ObservedStepsReader.parse("night,step,start,end\nn,\"s,0,1\n", file: "x.csv") }
    }
}


@Suite struct CalibratedScenarioTests {
    /// Read as if in Scenarios/, so the blocks come from Sequences/.
    let scenarioPath = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path + "/Scenarios/w.yaml"
    let values: [(key: String, seconds: Double)] = [(LATISSTimingKeys.imageOverhead, 2.661623), (LATISSTimingKeys.ingestionWait, 15.25)]

    @Test func fittedValuesReplaceTheScenariosAndTheRestIsKept() throws {
        let base = """
        # my study
        name: weekly
        procedure: latiss
        run: [BLOCK-309, BLOCK-295, BLOCK-310]
        instrument:
            preset: auxtel
            timing.image_overhead: 3 s   # a guess
        parameters:
          weeks: 2
        """
        let text = try CalibratedScenario.text(base: base, file: scenarioPath, values: values, note: "fitted")
        let s = try ScenarioLoader.parse(text, file: scenarioPath)
        #expect(s.name == "weekly-calibrated")
        let t = LATISSTimingKeys.timing(s.configuration.instrument)
        #expect(t.imageOverhead.meanSeconds == 2.66162)
        #expect(t.ingestionWait.meanSeconds == 15.25)
        // Not fitted: the documented default.
        #expect(t.readoutSeconds == LATISSControlTiming.latiss.readoutSeconds)
        #expect(text.contains("# my study") && !text.contains("a guess"))
        #expect(s.configuration.parameters.int("weeks") == 2)
    }

    @Test func aScenarioWithoutInstrumentGetsOne() throws {
        let text = try CalibratedScenario.text(base: "name: w\nprocedure: latiss\nrun: [BLOCK-295]\n", file: scenarioPath, values: values, note: "fitted")
        let s = try ScenarioLoader.parse(text, file: scenarioPath)
        #expect(LATISSTimingKeys.timing(s.configuration.instrument).ingestionWait.meanSeconds == 15.25)
    }

    /// The file is read back before it is written: what `obsim run` will see is the fitted value, also when
    /// the scenario set the key in a nested mapping.
    @Test func theFittedValueIsWhatTheLoaderReads() throws {
        let base = "name: w\nprocedure: latiss\nrun: [BLOCK-295]\ninstrument:\n  timing:\n    image_overhead: 3 s\n"
        let text = try CalibratedScenario.text(base: base, file: scenarioPath, values: values, note: "fitted")
        let s = try ScenarioLoader.parse(text, file: scenarioPath)
        #expect(LATISSTimingKeys.timing(s.configuration.instrument).imageOverhead.meanSeconds == 2.66162)
    }
}
