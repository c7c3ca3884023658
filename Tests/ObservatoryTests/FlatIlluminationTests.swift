import Foundation
import Testing
@testable import Observatory
import SimKernel

@Suite("Flat illumination patterns")
struct FlatIlluminationTests {
    /// The closed-form RMS (Legendre orthogonality) against a 400 × 400 midpoint average over the square.
    @Test func rmsMatchesTheIntegral() {
        let pattern = IlluminationPattern(coefficients: [0.01, -0.004, 0.006, 0.003, -0.008])
        let n = 400
        var sum = 0.0, sum2 = 0.0
        for j in 0..<n {
            for i in 0..<n {
                let d = pattern.deviation(u: -1 + (2 * Double(i) + 1) / Double(n), v: -1 + (2 * Double(j) + 1) / Double(n))
                sum += d; sum2 += d * d
            }
        }
        let count = Double(n * n)
        #expect(abs(sum / count) < 1e-6)
        #expect(abs((sum2 / count).squareRoot() / pattern.rms - 1) < 1e-4)
    }

    /// Drawn lamp patterns have mean square rms² (2000 draws, fixed seed; 3 standard errors).
    @Test func randomPatternHasTheRequestedRMS() {
        let stream = RandomStream(key: [0x4C414D50, 5])
        let target = 0.01, draws = 2000
        let squares = (0..<draws).map { _ in pow(IlluminationPattern.random(rms: target, stream: stream).rms, 2) }
        let mean = squares.reduce(0, +) / Double(draws)
        let sd = (squares.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(draws - 1)).squareRoot()
        #expect(abs(mean - target * target) < 3 * sd / Double(draws).squareRoot())
    }

    /// A ramp of gradient g over half-width h has RMS g·h/√3 (P1's mean square 1/3), whatever its angle.
    @Test func rampRMSIsIndependentOfAngle() {
        for angle in [0.0, 0.7, Double.pi / 2, 2.5] {
            let g = IlluminationPattern.rotated((altitude: 0.03, azimuth: 0.01), by: angle)
            #expect(abs((g.x * g.x + g.y * g.y).squareRoot() - (0.001).squareRoot()) < 1e-12)
            let ramp = IlluminationPattern.ramp(gradientPerDegree: g, halfWidthDegrees: 0.05)
            #expect(abs(ramp.rms - (0.001).squareRoot() * 0.05 / 3.0.squareRoot()) < 1e-12)
        }
        let up = IlluminationPattern.rotated((altitude: 1, azimuth: 0), by: .pi / 2)
        #expect(abs(up.x) < 1e-12 && abs(up.y - 1) < 1e-12)
    }
}
