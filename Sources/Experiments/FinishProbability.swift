import CGSL
import Procedures

/// P(finished by t): the fraction of all trials of a point that completed within t seconds of the
/// procedure's start. Aborted trials are in the denominator and never in the numerator, so a procedure
/// that aborts early cannot look fast. The count of completed trials at or below t is read from the
/// completed-duration sketch by bucket, so t is resolved within `QuantileSketch.relativeAccuracy`.
public struct FinishProbability: Sendable, Equatable {
    public var seconds: Double
    public var finished: UInt64
    public var trials: UInt64
    /// The Wilson score 95 % interval: it stays inside [0, 1] and keeps close to nominal coverage at P near
    /// 0 or 1, where a deadline question usually sits (the normal ± interval collapses to zero width there).
    /// Not Clopper–Pearson: GSL's `gsl_cdf_beta_Pinv`/`Qinv` return NaN for its upper limit at small k and
    /// large n (e.g. k = 5, n = 20,000), exactly the tail a deadline reads.
    public var lower: Double
    public var upper: Double
    public var probability: Double { trials > 0 ? Double(finished) / Double(trials) : 0 }

    public init(seconds: Double, finished: UInt64, trials: UInt64, confidence: Double = 0.95) {
        self.seconds = seconds
        self.finished = finished
        self.trials = trials
        guard trials > 0 else { lower = 0; upper = 1; return }
        let z = gsl_cdf_ugaussian_Pinv(1 - (1 - confidence) / 2)
        let n = Double(trials), p = Double(finished) / n
        let centre = (p + z * z / (2 * n)) / (1 + z * z / n)
        let half = z / (1 + z * z / n) * (p * (1 - p) / n + z * z / (4 * n * n)).squareRoot()
        lower = finished == 0 ? 0 : max(0, centre - half)
        upper = finished == trials ? 1 : min(1, centre + half)
    }

    /// Whether the point keeps its completed durations (states written before they were kept do not).
    public static func isKnown(_ p: PointState) -> Bool {
        let completed = p.outcomes.filter { Outcome(kind: $0.key).isCompleted }.values.reduce(0, +)
        return p.completedDuration.count == completed && p.outcomes.values.reduce(0, +) > 0
    }

    public static func at(_ seconds: Double, _ p: PointState) -> FinishProbability {
        let all = p.outcomes.values.reduce(0, +)
        let done = p.completedDuration.count == 0 ? 0 : p.completedDuration.sketch.cumulative(atBucketOf: seconds)
        return FinishProbability(seconds: seconds, finished: min(done, all), trials: all)
    }

    /// The curve on `count` evenly spaced times from the shortest to the longest completed trial (the
    /// first at 0 when every trial aborted): beyond the longest, P stays at the completed fraction.
    public static func curve(_ p: PointState, count: Int = 41) -> [FinishProbability] {
        guard isKnown(p) else { return [] }
        let c = p.completedDuration
        let lo = c.count > 0 ? c.minimum : 0, hi = c.count > 0 ? c.maximum : 0
        let n = hi > lo ? max(count, 2) : 1
        return (0..<n).map { i in at(n == 1 ? hi : lo + (hi - lo) * Double(i) / Double(n - 1), p) }
    }
}
