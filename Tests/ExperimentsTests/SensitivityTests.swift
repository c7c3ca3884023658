import Foundation
import Procedures
import ScenarioKit
import SimKernel
import Testing
@testable import Experiments
@testable import Reporting

/// A random procedure with three documented ranges: the exposure per image (its effect on every trial
/// is n × Δexposure, so on p50 too), the mean per-image overhead (random, exponential), and a gain that
/// changes a metric and never the time.
struct SensitivityProbe: Procedure {
    static let name = "sensitivity-probe"
    static let summary = "Warm-up, then n images of exposure + a random overhead; a gain that costs no time."
    static let schema = ProcedureSchema(
        parameters: [
            ParameterSpec("n_images", .integer, .defaultValue(.integer(10)), min: 1, max: 100, doc: "Images."),
            ParameterSpec("exposure", .quantity(.time), .defaultValue(.number(30)), min: 0, max: 600, doc: "Exposure per image."),
            ParameterSpec("overhead", .quantity(.time), .defaultValue(.number(2)), min: 0, max: 60, doc: "Mean overhead per image."),
            ParameterSpec("gain", .number, .defaultValue(.number(1)), min: 0, max: 10, doc: "Detector gain (no time)."),
        ],
        metrics: [MetricSpec("level", unit: "adu", doc: "A level the gain scales.")],
        sensitivity: [
            SensitivityRange(path: "parameters.exposure", lower: 20, upper: 40, doc: "Exposure per image."),
            SensitivityRange(path: "parameters.overhead", lower: 1, upper: 3, doc: "Mean overhead [U]."),
            SensitivityRange(path: "parameters.gain", lower: 0.5, upper: 2, doc: "Gain."),
        ])
    let n: Int, exposure: Double, overhead: Double, gain: Double
    init(configuration c: ProcedureConfiguration) throws {
        n = c.parameters.int("n_images")
        exposure = c.parameters.double("exposure")
        overhead = c.parameters.double("overhead")
        gain = c.parameters.double("gain")
        if Double(n) * exposure > 1200 { throw ConfigurationError(path: "parameters.exposure", "n_images × exposure must stay under 1200 s") }
    }

    func runTrial(_ context: TrialContext) async throws -> TrialResult {
        let sim = context.simulation
        let lamp = sim.stream("lamp"), over = sim.stream("overhead")
        try await sim.step("warm-up", lane: "lamp", use: .lamp) { try await sim.timeout(lamp.uniform(600, 1200)) }
        for _ in 0..<n {
            try await sim.step("overhead", lane: "camera", use: .readoutOverhead) { try await sim.timeout(over.exponential(mean: overhead)) }
            try await sim.step("exposure", lane: "camera", use: .exposure) { try await sim.timeout(exposure) }
        }
        return TrialResult(outcome: .completed, metrics: ["level": 1000 * gain])
    }
}

@Suite struct SensitivityTests {
    static func scenario(_ sensitivity: String = "{trials: 150}", sweep: String = "", images: Int = 10) throws -> Scenario {
        ProcedureRegistry.register(SensitivityProbe.self)
        return try ScenarioLoader.parse("""
            name: probe
            procedure: sensitivity-probe
            parameters:
              n_images: \(images)
            study:
              trials: 20
              seed: 5
              sensitivity: \(sensitivity)
            \(sweep)
            """, file: "probe.yaml")
    }

    /// Common random numbers: the gain changes no trial's duration, so its effect and its uncertainty are
    /// exactly 0; the exposure shifts every trial by n × Δ, so p50 and p95 move by exactly −100 s and
    /// +100 s with no spread; the overhead (10 images × ±1 s of mean) comes between. Ranked so.
    @Test func crnGivesExactZerosAndTheAnalyticExposureEffect() throws {
        let s = try Self.scenario()
        guard let r = try SensitivityStudy.run(s, threads: 2) else { Issue.record("no sensitivity"); return }
        #expect(r.trials == 150 && r.resamples == SensitivityStudy.resamples)
        #expect(r.parameters.map(\.path) == ["parameters.exposure", "parameters.overhead", "parameters.gain"])
        let exposure = r.parameters[0], overhead = r.parameters[1], gain = r.parameters[2]
        for e in [gain.low.p50, gain.low.p95, gain.high.p50, gain.high.p95] {
            #expect(e.delta == 0 && e.standardError == 0 && e.lower95 == 0 && e.upper95 == 0)
        }
        for (e, truth) in [(exposure.low.p50, -100.0), (exposure.low.p95, -100), (exposure.high.p50, 100), (exposure.high.p95, 100)] {
            #expect(abs(e.delta - truth) < 1e-9, "\(e.delta) vs \(truth)")
            #expect(e.standardError < 1e-9)
        }
        #expect(exposure.nominal == 30)
        // The overhead's mean total moves by 10 × (1 − 2) = −10 s and 10 × (3 − 2) = +10 s; p50 by about
        // that (the overheads are exponential, scaled with their mean on the same draws): within 4 se + 3 s.
        #expect(abs(overhead.low.p50.delta + 10) < 4 * overhead.low.p50.standardError + 3, "\(overhead.low.p50)")
        #expect(abs(overhead.high.p50.delta - 10) < 4 * overhead.high.p50.standardError + 3, "\(overhead.high.p50)")
        #expect(overhead.low.p50.standardError > 0)
        #expect(overhead.low.p50.lower95 <= overhead.low.p50.delta && overhead.low.p50.delta <= overhead.low.p50.upper95)
    }

    @Test func deterministicAcrossThreadCountsAndThroughTheStateFile() throws {
        let s = try Self.scenario("{trials: 40, parameters: [parameters.overhead, parameters.gain]}")
        let one = try SensitivityStudy.run(s, threads: 1)
        let three = try SensitivityStudy.run(s, threads: 3)
        #expect(one != nil && one == three)
        #expect(one?.parameters.map(\.path) == ["parameters.overhead", "parameters.gain"])
        var state = try StudyRunner.run(s, options: RunOptions(threads: 2, trialRange: 0..<20))
        state.sensitivity = one
        let back = try StateFile.read(data: Data(StateFile.json(state).text().utf8), name: "state.json")
        #expect(back.sensitivity == one)
        // Only the part holding trial 0 computed it; a merge keeps it whatever the order of the parts.
        let rest = try StudyRunner.run(s, options: RunOptions(threads: 1, trialRange: 0..<10))
        var first = try StudyRunner.run(s, options: RunOptions(threads: 1, trialRange: 10..<20))
        first.sensitivity = nil
        var withIt = rest
        withIt.sensitivity = one
        #expect(try StudyMerge.merge([first, withIt]).sensitivity == one)
        guard case .object(let top) = SummaryJSON.json(back), case .object(let sens)? = top["sensitivity"], case .array(let ps)? = sens["parameters"] else {
            Issue.record("summary.json has no sensitivity"); return
        }
        #expect(ps.count == 2)
        #expect(SummaryMarkdown.text(back).contains("## Sensitivity"))
        let html = StudyReport.html(back, description: "", detail: nil)
        #expect(html.contains("class=\"tornado-bar\""))
    }

    @Test func badSensitivityIsReportedWithItsLine() {
        func problems(_ text: String, sweep: String = "", images: Int = 10) -> String {
            do { _ = try Self.scenario(text, sweep: sweep, images: images); return "" } catch { return "\(error)" }
        }
        #expect(problems("{trials: 10, parameters: [parameters.n_images]}").contains("probe.yaml:8:"))
        #expect(problems("{trials: 10, parameters: [parameters.n_images]}").contains("has no documented range; allowed: parameters.exposure, parameters.overhead, parameters.gain"))
        #expect(problems("{parameters: [parameters.gain]}").contains("needs `trials`"))
        #expect(problems("{trials: 1}").contains("study.sensitivity.trials"))
        #expect(problems("{trials: 10, every: 2}").contains("unknown key `every`"))
        #expect(problems("{trials: 10}", sweep: "  sweep: [{parameter: parameters.n_images, values: [5, 10]}]").contains("does not combine with study.sweep"))
        #expect(problems("{trials: 10}") == "")
        // n_images × exposure must stay under 1200 s: 40 images at the range's 40 s end are refused at load.
        #expect(problems("{trials: 10}", images: 40).contains("parameters.exposure = 40 (an end of its documented range) is rejected"))
    }
}
