import CGSL
import Foundation

/// Observed against simulated durations of one step: the two-sample Kolmogorov–Smirnov test and the
/// quantile pairs of a QQ plot.
///
/// The KS p-value is the asymptotic Kolmogorov distribution Q(λ) at λ = (√nₑ + 0.12 + 0.11/√nₑ)·D with
/// nₑ = nm/(n + m) (Stephens' small-sample correction, Numerical Recipes §14.3). GSL has no Kolmogorov
/// distribution, so its series is summed here from GSL's exponentials; sorting and quantiles are GSL's.
public struct TwoSampleComparison: Sendable, Equatable {
    public var observedCount: Int
    public var simulatedCount: Int
    /// sup |F_observed − F_simulated|.
    public var ksStatistic: Double
    public var ksPValue: Double
    /// (observed quantile, simulated quantile) at probabilities (i − ½)/n of the observed sample.
    public var quantilePairs: [(observed: Double, simulated: Double)]

    public static func == (a: Self, b: Self) -> Bool {
        a.observedCount == b.observedCount && a.simulatedCount == b.simulatedCount && a.ksStatistic == b.ksStatistic
            && a.ksPValue == b.ksPValue && a.quantilePairs.map(\.observed) == b.quantilePairs.map(\.observed)
            && a.quantilePairs.map(\.simulated) == b.quantilePairs.map(\.simulated)
    }

    public init(observed: [Double], simulated: [Double], maxQuantiles: Int = 100) {
        var x = observed, y = simulated
        x.withUnsafeMutableBufferPointer { gsl_sort($0.baseAddress, 1, $0.count) }
        y.withUnsafeMutableBufferPointer { gsl_sort($0.baseAddress, 1, $0.count) }
        observedCount = x.count
        simulatedCount = y.count
        ksStatistic = Self.ksStatistic(sortedA: x, sortedB: y)
        let n = Double(x.count), m = Double(y.count)
        if x.isEmpty || y.isEmpty {
            ksPValue = .nan
        } else {
            let ne = n * m / (n + m)
            ksPValue = Self.kolmogorovQ((ne.squareRoot() + 0.12 + 0.11 / ne.squareRoot()) * ksStatistic)
        }
        let k = min(x.count, maxQuantiles)
        quantilePairs = (0..<k).map { i in
            let p = (Double(i) + 0.5) / Double(k)
            let qx = x.withUnsafeBufferPointer { gsl_stats_quantile_from_sorted_data($0.baseAddress, 1, $0.count, p) }
            let qy = y.isEmpty ? Double.nan : y.withUnsafeBufferPointer { gsl_stats_quantile_from_sorted_data($0.baseAddress, 1, $0.count, p) }
            return (qx, qy)
        }
    }

    static func ksStatistic(sortedA a: [Double], sortedB b: [Double]) -> Double {
        guard !a.isEmpty, !b.isEmpty else { return .nan }
        var i = 0, j = 0, d = 0.0
        let n = Double(a.count), m = Double(b.count)
        while i < a.count && j < b.count {
            let v = min(a[i], b[j])
            while i < a.count && a[i] <= v { i += 1 }
            while j < b.count && b[j] <= v { j += 1 }
            d = max(d, abs(Double(i) / n - Double(j) / m))
        }
        return d
    }

    /// Q_KS(λ) = 2 Σ_{j≥1} (−1)^{j−1} e^{−2j²λ²}; for small λ the equivalent theta-function form
    /// 1 − (√(2π)/λ) Σ_{j≥1} e^{−(2j−1)²π²/(8λ²)}, which converges fast there.
    public static func kolmogorovQ(_ lambda: Double) -> Double {
        if lambda <= 0 { return 1 }
        if lambda < 1.18 {
            var s = 0.0
            for j in 1...8 {
                let k = Double(2 * j - 1)
                s += gsl_sf_exp(-k * k * Double.pi * Double.pi / (8 * lambda * lambda))
            }
            return min(1, max(0, 1 - (2 * Double.pi).squareRoot() / lambda * s))
        }
        var s = 0.0
        for j in 1...100 {
            let jj = Double(j)
            let term = gsl_sf_exp(-2 * jj * jj * lambda * lambda)
            s += (j % 2 == 1 ? term : -term)
            if term < 1e-16 { break }
        }
        return min(1, max(0, 2 * s))
    }
}
