import Testing
@testable import Analysis
import SimKernel

@Suite struct LinearityTests {
    /// Illumination levels like a twilight series: 20 frames between 0.3 and 0.7 of full well (e⁻).
    let x: [Double] = (0..<20).map { 40_000 + 2_000 * Double($0) }
    let trueSlope = 0.926        // ADU per e⁻ (1/1.08 e⁻/ADU, the LATISS mean gain)
    let trueIntercept = 12.0
    let sigma = 40.0             // ADU per frame

    func sample(_ stream: RandomStream) -> [Double] {
        x.map { trueIntercept + trueSlope * $0 + stream.gaussian(sigma: sigma) }
    }

    @Test func weightedFitCovarianceIsTheAnalyticOne() throws {
        // σ_b² = S/(S·Sxx − Sx²), σ_a² = Sxx/(S·Sxx − Sx²) with S = Σ1/σ², Sx = Σx/σ², Sxx = Σx²/σ².
        let s = Double(x.count) / (sigma * sigma)
        let sx = x.reduce(0, +) / (sigma * sigma)
        let sxx = x.reduce(0) { $0 + $1 * $1 } / (sigma * sigma)
        let det = s * sxx - sx * sx
        let fit = try Linearity.weightedFit(x: x, y: sample(RandomStream(key: [7])), sigma: Array(repeating: sigma, count: x.count))
        #expect(abs(fit.slopeError / (s / det).squareRoot() - 1) < 1e-9)
        #expect(abs(fit.interceptError / (sxx / det).squareRoot() - 1) < 1e-9)
    }

    @Test func recoversAKnownSlopeWithinItsStandardError() throws {
        // With known σ, (b̂ − b)/σ_b is N(0, 1): |z| < 1 in 68.27 % of series. 4000 series give a binomial
        // standard error of √(0.683·0.317/4000) = 0.0074 on that fraction; the tolerance is 4 of them.
        let stream = RandomStream(key: [2026, 8])
        let trials = 4000
        var inside = 0
        var meanOLSVariance = 0.0
        for _ in 0..<trials {
            let y = sample(stream)
            let w = try Linearity.weightedFit(x: x, y: y, sigma: Array(repeating: sigma, count: x.count))
            if abs(w.slope - trueSlope) < w.slopeError { inside += 1 }
            let o = try Linearity.fit(x: x, y: y)
            meanOLSVariance += o.slopeError * o.slopeError / Double(trials)
        }
        let fraction = Double(inside) / Double(trials)
        #expect(abs(fraction - 0.682_689) < 4 * 0.0074)
        // OLS estimates σ² from the residuals: E[s²] = σ², so the mean estimated slope variance is σ²/Σ(x − x̄)².
        // s²/σ² has variance 2/(n − 2) = 1/9; over 4000 series the mean's relative SE is √(1/9/4000) = 0.0053.
        let xbar = x.reduce(0, +) / Double(x.count)
        let sxx = x.reduce(0) { $0 + ($1 - xbar) * ($1 - xbar) }
        #expect(abs(meanOLSVariance / (sigma * sigma / sxx) - 1) < 4 * 0.0053)
    }

    @Test func oneSeriesRecoversTheSlope() throws {
        let fit = try Linearity.fit(x: x, y: sample(RandomStream(key: [1])))
        // A 3σ check of one draw (fails with probability 0.27 % for a correct fit, and deterministically
        // for this seed): the slope, and the slope's relative error near σ/(b·√Sxx).
        #expect(abs(fit.slope - trueSlope) < 3 * fit.slopeError)
        #expect(fit.degreesOfFreedom == 18)
        #expect(fit.slopeErrorPercent > 0)
    }

    @Test func refusesDegenerateInput() {
        #expect(throws: Linearity.Failure.noSpreadInIllumination) { try Linearity.fit(x: [1, 1, 1], y: [1, 2, 3]) }
        #expect(throws: Linearity.Failure.tooFewPoints(2)) { try Linearity.fit(x: [1, 2], y: [1, 2]) }
        #expect(throws: Linearity.Failure.nonPositiveSigma(index: 1, value: 0)) {
            try Linearity.weightedFit(x: [1, 2, 3], y: [1, 2, 3], sigma: [1, 0, 1])
        }
    }
}
