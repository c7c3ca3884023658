import CGSL
import Procedures
import ScenarioKit
import SimKernel

/// `study.sensitivity`: which timing number drives the duration. Each documented range
/// (`SensitivitySettings.ranges`) is set to its lower and its upper end, everything else as the scenario
/// says, and trials 0..<n are run at each end with the study's seed: trial i draws the same random numbers
/// at every end and in the nominal run (common random numbers), so a parameter that cannot change the
/// duration changes no trial and has an effect of exactly 0, and the paired differences are far less noisy
/// than two independent runs would be.
///
/// The effect on a quantile is q(end) − q(nominal) over the n trials' `duration_s` (every trial, an aborted
/// one at the time it stopped, as the study's own p50/p95), each quantile the GSL sample quantile
/// (`gsl_stats_quantile_from_sorted_data`, linear interpolation). Its uncertainty is a paired bootstrap:
/// the same resampled trial indices (GSL's uniform integers) for the nominal run and every end, the
/// standard error the sd of the resampled differences and the interval their 2.5–97.5 % percentiles.
public struct SensitivityResult: Sendable, Equatable {
    public struct Effect: Sendable, Equatable {
        public var delta: Double
        public var standardError: Double
        public var lower95: Double
        public var upper95: Double
        public init(delta: Double, standardError: Double, lower95: Double, upper95: Double) {
            self.delta = delta
            self.standardError = standardError
            self.lower95 = lower95
            self.upper95 = upper95
        }
    }

    public struct End: Sendable, Equatable {
        public var value: Double
        public var p50: Effect
        public var p95: Effect
    }

    public struct Parameter: Sendable, Equatable {
        public var path: String
        public var doc: String
        /// The scenario's value (nil when it has none, an optional key left out).
        public var nominal: Double?
        public var low: End
        public var high: End
        /// The larger move of p95 over the range: the ranking key.
        public var p95Swing: Double { max(abs(low.p95.delta), abs(high.p95.delta)) }
        public var p50Swing: Double { max(abs(low.p50.delta), abs(high.p50.delta)) }
    }

    public var trials: Int
    public var resamples: Int
    public var nominalP50: Double
    public var nominalP95: Double
    /// Largest p95 swing first (then p50 swing, then path).
    public var parameters: [Parameter]

    public static let method = "common random numbers (trials 0..<n of the study's seed at every end); paired bootstrap over trials with GSL random numbers: se = sd of the resampled differences, interval = their 2.5-97.5 % percentiles"
}

public enum SensitivityStudy {
    public static let resamples = 1000

    /// Durations of trials 0..<n of one scenario, in trial order.
    final class Durations: TrialSink {
        var seconds: [Double] = []
        func write(_ trial: TrialRun) throws { seconds.append(trial.durationSeconds) }
    }

    /// Thrown when the run was stopped before every end was done: the sensitivity is then left out.
    public struct Stopped: Error {}

    public static func durations(_ scenario: Scenario, trials: Int, threads: Int, shouldStop: @escaping @Sendable () -> Bool) throws -> [Double] {
        let sink = Durations()
        let state = try StudyRunner.run(scenario, options: RunOptions(threads: threads, trialRange: 0..<trials, shouldStop: shouldStop), sink: sink)
        if state.partial || sink.seconds.count != trials { throw Stopped() }
        return sink.seconds
    }

    /// Runs the nominal scenario and both ends of every range. `progress` gets (runs done, runs in all).
    public static func run(_ scenario: Scenario, threads: Int, shouldStop: @escaping @Sendable () -> Bool = { false },
                           progress: (Int, Int) -> Void = { _, _ in }) throws -> SensitivityResult? {
        guard let settings = scenario.study.sensitivity, scenario.study.sweep.isEmpty else { return nil }
        var base = scenario
        base.study.sensitivity = nil
        let n = settings.trials
        let runs = 1 + 2 * settings.ranges.count
        progress(0, runs)
        let nominal = try durations(base, trials: n, threads: threads, shouldStop: shouldStop)
        progress(1, runs)
        var ends: [(range: SensitivityRange, nominal: Double?, low: [Double], high: [Double])] = []
        for (i, r) in settings.ranges.enumerated() {
            var arms: [[Double]] = []
            for (k, v) in [r.lower, r.upper].enumerated() {
                var s = base
                s.configuration[path: r.path] = .number(v)
                arms.append(try durations(s, trials: n, threads: threads, shouldStop: shouldStop))
                progress(2 + 2 * i + k, runs)
            }
            ends.append((r, base.configuration[path: r.path]?.numericValue, arms[0], arms[1]))
        }
        return analyse(nominal: nominal, ends: ends, seed: scenario.study.seed)
    }

    /// The effects and their paired-bootstrap uncertainties (deterministic: one GSL stream from `seed`).
    static func analyse(nominal: [Double], ends: [(range: SensitivityRange, nominal: Double?, low: [Double], high: [Double])],
                        seed: UInt64, resamples: Int = resamples) -> SensitivityResult {
        let n = nominal.count
        let stream = RandomStream(gslSeed: UInt(truncatingIfNeeded: seed ^ 0x5e05_1714_17e5_0000), name: "sensitivity bootstrap")
        let draws = (0..<resamples).map { _ in (0..<n).map { _ in stream.uniformInt(n) } }
        func quantiles(_ x: [Double]) -> (Double, Double) {
            var s = x
            s.withUnsafeMutableBufferPointer { gsl_sort($0.baseAddress, 1, $0.count) }
            return s.withUnsafeBufferPointer {
                (gsl_stats_quantile_from_sorted_data($0.baseAddress, 1, $0.count, 0.5), gsl_stats_quantile_from_sorted_data($0.baseAddress, 1, $0.count, 0.95))
            }
        }
        let q0 = quantiles(nominal)
        let q0Resampled = draws.map { idx in quantiles(idx.map { nominal[$0] }) }
        func effect(_ estimate: Double, _ resampled: [Double]) -> SensitivityResult.Effect {
            var d = resampled
            let sd = d.withUnsafeBufferPointer { gsl_stats_sd($0.baseAddress, 1, $0.count) }
            d.withUnsafeMutableBufferPointer { gsl_sort($0.baseAddress, 1, $0.count) }
            let (lo, hi) = d.withUnsafeBufferPointer {
                (gsl_stats_quantile_from_sorted_data($0.baseAddress, 1, $0.count, 0.025), gsl_stats_quantile_from_sorted_data($0.baseAddress, 1, $0.count, 0.975))
            }
            // Identical samples give differences of exactly 0; GSL's sd of them is 0 too.
            return .init(delta: estimate, standardError: sd.isFinite ? sd : 0, lower95: lo, upper95: hi)
        }
        func end(_ value: Double, _ x: [Double]) -> SensitivityResult.End {
            let q = quantiles(x)
            let resampled = draws.map { idx in quantiles(idx.map { x[$0] }) }
            return .init(value: value, p50: effect(q.0 - q0.0, zip(resampled, q0Resampled).map { $0.0 - $1.0 }),
                         p95: effect(q.1 - q0.1, zip(resampled, q0Resampled).map { $0.1 - $1.1 }))
        }
        let parameters = ends.map { e in
            SensitivityResult.Parameter(path: e.range.path, doc: e.range.doc, nominal: e.nominal,
                                        low: end(e.range.lower, e.low), high: end(e.range.upper, e.high))
        }.sorted { ($0.p95Swing, $0.p50Swing, $1.path) > ($1.p95Swing, $1.p50Swing, $0.path) }
        return SensitivityResult(trials: n, resamples: resamples, nominalP50: q0.0, nominalP95: q0.1, parameters: parameters)
    }
}
