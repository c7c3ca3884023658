import CGSL

/// A straight line y = intercept + slope·x fitted by least squares, with its covariance.
public struct LinearFit: Sendable, Equatable {
    public let slope: Double
    public let intercept: Double
    /// Standard errors (square roots of the covariance diagonal).
    public let slopeError: Double
    public let interceptError: Double
    public let covarianceSlopeIntercept: Double
    /// Σ w·(y − fit)² (weights 1 for an unweighted fit).
    public let chiSquared: Double
    public let degreesOfFreedom: Int

    /// The slope's standard error in percent of the slope: the linearity measurement's precision.
    public var slopeErrorPercent: Double { 100 * slopeError / abs(slope) }

    public func value(at x: Double) -> Double { intercept + slope * x }
}

/// The twilight-flats document's pipeline support: "linear regression to compute detector linearity from
/// frames with different illumination" (seed 002). Signal (ADU) against illumination (the expected
/// electrons of each frame): the slope is the response, its error what the series can tell.
public enum Linearity {
    public enum Failure: Error, Sendable, Equatable, CustomStringConvertible {
        case tooFewPoints(Int)
        case lengthMismatch(x: Int, y: Int)
        case noSpreadInIllumination
        case nonPositiveSigma(index: Int, value: Double)
        case gsl(Int32)

        public var description: String {
            switch self {
            case .tooFewPoints(let n): return "a line with an error needs at least 3 points, got \(n)"
            case .lengthMismatch(let x, let y): return "x has \(x) values but y has \(y)"
            case .noSpreadInIllumination: return "all illumination values are equal: the slope is undetermined"
            case .nonPositiveSigma(let i, let v): return "sigma[\(i)] must be positive, got \(v)"
            case .gsl(let s): return "GSL fit failed with status \(s)"
            }
        }
    }

    /// Ordinary least squares (GSL `gsl_fit_linear`). The errors come from the scatter of the residuals
    /// (s² = χ²/(n − 2)), which is right when the scatter is not known in advance, e.g. the twilight sky's
    /// own variations between frames.
    public static func fit(x: [Double], y: [Double]) throws(Failure) -> LinearFit {
        try check(x, y)
        var c0 = 0.0, c1 = 0.0, cov00 = 0.0, cov01 = 0.0, cov11 = 0.0, sumsq = 0.0
        let status = x.withUnsafeBufferPointer { xb in
            y.withUnsafeBufferPointer { yb in
                gsl_fit_linear(xb.baseAddress, 1, yb.baseAddress, 1, x.count, &c0, &c1, &cov00, &cov01, &cov11, &sumsq)
            }
        }
        guard status == GSL_SUCCESS else { throw .gsl(status) }
        return LinearFit(slope: c1, intercept: c0, slopeError: cov11.squareRoot(), interceptError: cov00.squareRoot(),
                         covarianceSlopeIntercept: cov01, chiSquared: sumsq, degreesOfFreedom: x.count - 2)
    }

    /// Weighted least squares with known standard deviations (GSL `gsl_fit_wlinear`, weights 1/σ²). The
    /// covariance is the one implied by σ; with `scaleByReducedChiSquared` it is multiplied by χ²/(n − 2)
    /// (the usual correction when the σ are only relative).
    public static func weightedFit(x: [Double], y: [Double], sigma: [Double],
                                   scaleByReducedChiSquared: Bool = false) throws(Failure) -> LinearFit {
        try check(x, y)
        guard sigma.count == x.count else { throw .lengthMismatch(x: x.count, y: sigma.count) }
        var weights = [Double](repeating: 0, count: sigma.count)
        for (i, s) in sigma.enumerated() {
            guard s > 0, s.isFinite else { throw .nonPositiveSigma(index: i, value: s) }
            weights[i] = 1 / (s * s)
        }
        var c0 = 0.0, c1 = 0.0, cov00 = 0.0, cov01 = 0.0, cov11 = 0.0, chisq = 0.0
        let status = x.withUnsafeBufferPointer { xb in
            y.withUnsafeBufferPointer { yb in
                weights.withUnsafeBufferPointer { wb in
                    gsl_fit_wlinear(xb.baseAddress, 1, wb.baseAddress, 1, yb.baseAddress, 1, x.count,
                                    &c0, &c1, &cov00, &cov01, &cov11, &chisq)
                }
            }
        }
        guard status == GSL_SUCCESS else { throw .gsl(status) }
        let scale = scaleByReducedChiSquared ? chisq / Double(x.count - 2) : 1
        return LinearFit(slope: c1, intercept: c0, slopeError: (cov11 * scale).squareRoot(),
                         interceptError: (cov00 * scale).squareRoot(), covarianceSlopeIntercept: cov01 * scale,
                         chiSquared: chisq, degreesOfFreedom: x.count - 2)
    }

    private static func check(_ x: [Double], _ y: [Double]) throws(Failure) {
        guard x.count == y.count else { throw .lengthMismatch(x: x.count, y: y.count) }
        guard x.count >= 3 else { throw .tooFewPoints(x.count) }
        guard let lo = x.min(), let hi = x.max(), hi > lo else { throw .noSpreadInIllumination }
    }
}
