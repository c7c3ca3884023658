import Testing
import Analysis
import SimKernel

@Suite struct DistortionFitTests {
    /// A cubic detector → mask mapping: plate scale 5.47 mas/px, a rotation, and second/third-order terms
    /// of a few mas at the field edge.
    static let truth = PolynomialMapping2D(
        order: 3, centreX: 1024, centreY: 1024, halfSize: 1024,
        uCoefficients: [0.012, 5.6, 0.01, 0.002, -0.001, 0.0015, 0.004, 0.0007, -0.0003, 0.0011],
        vCoefficients: [-0.02, -0.012, 5.6, 0.0006, 0.0021, -0.0009, 0.0002, 0.004, 0.0005, 0.004])

    static func grid(_ n: Int) -> [(x: Double, y: Double)] {
        var out: [(x: Double, y: Double)] = []
        for j in 0..<n { for i in 0..<n { out.append((100 + 1848 * Double(i) / Double(n - 1), 80 + 1880 * Double(j) / Double(n - 1))) } }
        return out
    }

    @Test func knownPolynomialIsRecoveredExactlyFromNoiselessCentroids() throws {
        let det = Self.grid(7)
        let mask = det.map { Self.truth.map(x: $0.x, y: $0.y) }
        let fit = try DistortionFit.fit(detector: det, mask: mask, order: 3, centre: (1024, 1024), halfSize: 1024)
        for k in 0..<Self.truth.uCoefficients.count {
            #expect(abs(fit.mapping.uCoefficients[k] - Self.truth.uCoefficients[k]) < 1e-10)
            #expect(abs(fit.mapping.vCoefficients[k] - Self.truth.vCoefficients[k]) < 1e-10)
        }
        #expect(fit.residualRMS < 1e-11)
        // Between and beyond the pinholes, too (the whole detector).
        let rms = DistortionFit.rmsDifference({ fit.mapping.map(x: $0, y: $1) }, { Self.truth.map(x: $0, y: $1) }, over: Self.grid(21).map { ($0.x - 100, $0.y - 80) })
        #expect(rms < 1e-10)
        // The plate scale of u = 5.6·ξ, v = 5.6·η (ξ = (x − 1024)/1024) is 5.6/1024 per pixel everywhere.
        let s = PolynomialMapping2D(order: 1, centreX: 1024, centreY: 1024, halfSize: 1024, uCoefficients: [0, 5.6, 0], vCoefficients: [0, 0, 5.6])
        #expect(abs(s.pixelScale(x: 1024, y: 1024) - 5.6 / 1024) < 1e-15)
    }

    /// With centroid noise σ per axis the residual RMS over both axes is σ·√(2(n − P)/n)
    /// (REFERENCES.md §6: σ·√(1 − N_par/N_holes) per axis). The chi-square has 2(n − P) degrees of
    /// freedom, so the RMS has a relative standard error 1/√(4(n − P)) = 2.5 % for n = 400, P = 10;
    /// tolerance 3 SE.
    @Test func residualRMSMatchesTheLeastSquaresExpectation() throws {
        let det = Self.grid(20)
        let sigma = 1e-3
        let s = RandomStream(key: [0x44495354, 2])
        let mask = det.map { p -> (u: Double, v: Double) in
            let m = Self.truth.map(x: p.x, y: p.y)
            return (m.u + s.gaussian(sigma: sigma), m.v + s.gaussian(sigma: sigma))
        }
        let fit = try DistortionFit.fit(detector: det, mask: mask, order: 3)
        let n = Double(det.count), p = 10.0
        let expected = sigma * (2 * (n - p) / n).squareRoot()
        #expect(abs(fit.residualRMS / expected - 1) < 3 / (4 * (n - p)).squareRoot())
    }

    @Test func tooFewPinholesIsAnError() {
        let det = Self.grid(3)
        #expect(throws: DistortionFit.Failure.tooFewPoints(have: 9, need: 10)) {
            try DistortionFit.fit(detector: det, mask: det.map { ($0.x, $0.y) }, order: 3)
        }
    }
}
