import Experiments
import Foundation
import Observatory
import SimKernel

/// Observed against simulated durations of one step name, with the scenario's timing and with the fit.
public struct StepComparison: Sendable {
    public var step: String
    public var before: TwoSampleComparison
    public var after: TwoSampleComparison

    public init(step: String, before: TwoSampleComparison, after: TwoSampleComparison) {
        self.step = step
        self.before = before
        self.after = after
    }

    /// Per observed row, `draws` simulated durations of its step (its images and exposure) under each
    /// timing, from the same streams (common random numbers: before and after differ only by the fit).
    public static func all(rows: [ObservedStep], before: LATISSControlTiming, after: LATISSControlTiming, draws: Int,
                           seed: UInt64) -> [StepComparison] {
        let names = Array(Set(rows.map(\.step))).sorted()
        return names.map { name in
            let mine = rows.filter { $0.step == name }
            var simulatedBefore: [Double] = [], simulatedAfter: [Double] = []
            for (i, row) in mine.enumerated() {
                let key = RandomStreams.key(masterSeed: seed, trial: UInt64(i), name: "calibrate." + name)
                let a = RandomStream(key: key), b = RandomStream(key: key)
                for _ in 0..<draws {
                    simulatedBefore.append(TimingCalibration.simulate(row, before, stream: a))
                    simulatedAfter.append(TimingCalibration.simulate(row, after, stream: b))
                }
            }
            let observed = mine.map(\.durationSeconds)
            return StepComparison(step: name, before: TwoSampleComparison(observed: observed, simulated: simulatedBefore),
                                  after: TwoSampleComparison(observed: observed, simulated: simulatedAfter))
        }
    }
}

/// The page and the JSON of `obsim calibrate`.
public enum CalibrationReport {
    public static let method = """
    Gaussian quasi-maximum-likelihood on the closed-form mean and variance of each image step \
    (take_imgtype BIAS/DARK/FLAT: exposure + images × (readout + Gamma overhead) + the OODS wait, a Gamma \
    capped at oods_timeout), maximised with GSL's Nelder–Mead simplex; 95 % intervals from the sandwich \
    covariance (valid for the skewed, non-Gaussian step durations; a spread's interval is its variance's). \
    A parameter is fitted only when the data shrink its spread to at most \
    \(Int(TimingCalibration.constraintRatio * 100)) % of its documented range's (uniform prior, Laplace \
    approximation, parameters taken in a fixed order with the published readout last); the others keep \
    the scenario's value and are listed as not constrained.
    """

    public static func html(result: TimingCalibration.Result, comparisons: [StepComparison], observedFile: String,
                            scenarioName: String, calibratedScenario: String) -> String {
        var page = HTMLReportPage(title: "Timing calibration — \(scenarioName)",
                                  summary: "\(result.modelledSteps) observed image steps from \(observedFile); "
                                      + "\(result.estimates.filter(\.constrained).count) of \(result.estimates.count) timing parameters constrained.")
        page.addSection("Fitted parameters")
        page.addParagraph(method)
        page.addTable(parameterTable(result))
        if !result.ignoredSteps.isEmpty {
            page.addParagraph("Observed steps the timing model does not predict, left out of the fit: "
                + result.ignoredSteps.sorted { $0.key < $1.key }.map { "\($0.key) (\($0.value))" }.joined(separator: ", ") + ".")
        }
        page.addFacts([("log-likelihood before", FixedNumber.format(result.logLikelihoodBefore, decimals: 1)),
                       ("log-likelihood after", FixedNumber.format(result.logLikelihoodAfter, decimals: 1)),
                       ("calibrated scenario", calibratedScenario)])
        page.addSection("Observed against simulated, per step")
        page.addParagraph("Two-sample Kolmogorov–Smirnov test of the observed durations against the simulated ones "
            + "(each observed step's images and exposure, simulated many times), before and after the fit; a small "
            + "p-value says the model does not reproduce the step.")
        page.addTable(ReportTable(columns: [ReportTable.Column("step"), ReportTable.Column("observed", numeric: true),
                                            ReportTable.Column("KS D before", numeric: true), ReportTable.Column("p before", numeric: true),
                                            ReportTable.Column("KS D after", numeric: true), ReportTable.Column("p after", numeric: true)],
                                  rows: comparisons.map { c in
                                      [.text(c.step), .integer(c.before.observedCount),
                                       .number(c.before.ksStatistic, decimals: 3), .text(pText(c.before.ksPValue)),
                                       .number(c.after.ksStatistic, decimals: 3), .text(pText(c.after.ksPValue))]
                                  }))
        for c in comparisons {
            let qqBefore = ScatterSeries(name: "scenario timing", x: c.before.quantilePairs.map(\.observed), y: c.before.quantilePairs.map(\.simulated))
            let qqAfter = ScatterSeries(name: "fitted timing", x: c.after.quantilePairs.map(\.observed), y: c.after.quantilePairs.map(\.simulated))
            let all = qqBefore.x + qqBefore.y + qqAfter.y
            let lo = all.filter(\.isFinite).min() ?? 0, hi = all.filter(\.isFinite).max() ?? 1
            let figure = ScatterFitFigure(title: "QQ: \(c.step)", points: [qqBefore, qqAfter],
                                          fit: ScatterSeries(name: "y = x", x: [lo, hi], y: [lo, hi]),
                                          xLabel: "observed quantile (s)", yLabel: "simulated quantile (s)", logarithmic: false,
                                          notes: ["KS p before \(pText(c.before.ksPValue)), after \(pText(c.after.ksPValue))"])
            page.addFigure(svg: figure.svg(), caption: "\(c.step): quantiles of the simulated durations against the observed ones; on the line when the model reproduces the step.")
        }
        return page.render()
    }

    static func parameterTable(_ result: TimingCalibration.Result) -> ReportTable {
        ReportTable(columns: [ReportTable.Column("parameter"), ReportTable.Column("scenario", unit: "s", numeric: true),
                              ReportTable.Column("fitted", unit: "s", numeric: true), ReportTable.Column("σ", unit: "s", numeric: true),
                              ReportTable.Column("95 % interval", unit: "s", numeric: true),
                              ReportTable.Column("spread left", unit: "%", numeric: true), ReportTable.Column("status")],
                    rows: result.estimates.map { e in
                        [.text(e.key), .number(e.before, decimals: 3), e.constrained ? .number(e.value, decimals: 3) : .empty,
                         e.sigma.map { .number($0, decimals: 3) } ?? .empty,
                         (e.lower95.flatMap { lo in e.upper95.map { hi in .text(FixedNumber.format(lo, decimals: 3) + " – " + FixedNumber.format(hi, decimals: 3)) } }) ?? .empty,
                         .number(100 * e.shrinkage, decimals: 1),
                         .text(e.constrained ? "fitted" : "not constrained: " + e.note)]
                    })
    }

    static func pText(_ p: Double) -> String {
        guard p.isFinite else { return "–" }
        return p < 1e-4 ? "< 0.0001" : FixedNumber.format(p, decimals: 4)
    }

    public static func json(result: TimingCalibration.Result, comparisons: [StepComparison], observedFile: String,
                            scenarioFile: String) -> String {
        let parameters: [JSONValue] = result.estimates.map { e in
            .object([
                "key": .string(e.key), "scenario_s": .double(e.before), "constrained": .bool(e.constrained),
                "fitted_s": e.constrained ? .double(e.value) : .null, "sigma_s": .number(e.sigma),
                "lower95_s": .number(e.lower95), "upper95_s": .number(e.upper95), "spread_left": .double(e.shrinkage),
                "note": .string(e.note),
            ])
        }
        let steps: [JSONValue] = comparisons.map { c in
            .object([
                "step": .string(c.step), "observed": .int(Int64(c.before.observedCount)),
                "ks_d_before": .double(c.before.ksStatistic), "ks_p_before": .number(c.before.ksPValue.isFinite ? c.before.ksPValue : nil),
                "ks_d_after": .double(c.after.ksStatistic), "ks_p_after": .number(c.after.ksPValue.isFinite ? c.after.ksPValue : nil),
            ])
        }
        return JSONValue.object([
            "observed": .string(observedFile), "scenario": .string(scenarioFile), "method": .string(method),
            "modelled_steps": .int(Int64(result.modelledSteps)),
            "ignored_steps": .object(result.ignoredSteps.mapValues { .int(Int64($0)) }),
            "log_likelihood_before": .double(result.logLikelihoodBefore), "log_likelihood_after": .double(result.logLikelihoodAfter),
            "parameters": .array(parameters), "steps": .array(steps),
        ]).text()
    }
}
