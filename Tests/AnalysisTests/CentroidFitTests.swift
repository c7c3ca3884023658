import Foundation
import Testing
import Analysis
import SimKernel

/// A pixel-integrated Gaussian source (the model `PointSourceScene` renders), `electrons` in total, over a
/// flat background, with Poisson noise from `stream` (noiseless when nil).
private func gaussianImage(size: Int, x: Double, y: Double, sigma: Double, electrons: Double, background: Double = 0,
                           stream: RandomStream?) -> Image {
    func fractions(_ c: Double) -> [Double] {
        (0..<size).map { i in 0.5 * (erf((Double(i + 1) - c) / (sigma * 2.0.squareRoot())) - erf((Double(i) - c) / (sigma * 2.0.squareRoot()))) }
    }
    let fx = fractions(x), fy = fractions(y)
    var values = [Double](repeating: 0, count: size * size)
    for j in 0..<size {
        for i in 0..<size {
            let mean = electrons * fx[i] * fy[j] + background
            values[j * size + i] = stream.map { Double($0.poisson(mean)) } ?? mean
        }
    }
    return Image(width: size, height: size, values: values)
}

@Suite struct CentroidFitTests {
    @Test func noiselessSourceIsRecoveredExactly() throws {
        let img = gaussianImage(size: 25, x: 12.37, y: 11.81, sigma: 1.7, electrons: 1e5, background: 30, stream: nil)
        let r = try GaussianCentroid.fit(img, x: 12.5, y: 11.5, halfWidth: 8, sigmaPixels: 1.7)
        #expect(abs(r.x - 12.37) < 1e-6 && abs(r.y - 11.81) < 1e-6)
        #expect(abs(r.flux / 1e5 - 1) < 1e-3)      // the window holds all but 10⁻⁵ of the flux at ±4.7σ
        #expect(abs(r.background - 30) < 1e-2)
    }

    /// Photon-limited precision per axis FWHM/(2.355·SNR) = σ/√N (REFERENCES.md §6), SNR = √N without
    /// background. 300 noisy images give 600 per-axis errors; the sample standard deviation of n normal
    /// values has a relative standard error 1/√(2(n−1)) = 2.9 %, so the tolerance is 3 SE = 8.7 %. The
    /// pixelation term (σ² + 1/12)/σ² adds 0.7 % at σ = 2.5 px, inside it. The mean error must be within
    /// 3 standard errors of zero (no bias).
    @Test func precisionMatchesThePhotonLimit() throws {
        let sigma = 2.5, electrons = 10_000.0
        let stream = RandomStream(key: [0x43454E54, 1])
        var errors: [Double] = []
        for _ in 0..<300 {
            let x = 15 + stream.uniform(), y = 15 + stream.uniform()
            let img = gaussianImage(size: 31, x: x, y: y, sigma: sigma, electrons: electrons, stream: stream)
            let r = try GaussianCentroid.fit(img, x: 15.5, y: 15.5, halfWidth: 11, sigmaPixels: sigma)
            errors.append(r.x - x)
            errors.append(r.y - y)
        }
        let n = Double(errors.count)
        let mean = errors.reduce(0, +) / n
        let sd = (errors.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / (n - 1)).squareRoot()
        let fwhm = 2.354_820_045 * sigma
        let expected = fwhm / (2.354_820_045 * electrons.squareRoot())
        #expect(abs(sd / expected - 1) < 3 / (2 * (n - 1)).squareRoot())
        #expect(abs(mean) < 3 * expected / n.squareRoot())
        // The fit's own error estimate agrees with the formula including pixelation, to 1 %.
        let one = try GaussianCentroid.fit(gaussianImage(size: 31, x: 15.3, y: 15.6, sigma: sigma, electrons: electrons, stream: nil),
                                           x: 15.5, y: 15.5, halfWidth: 11, sigmaPixels: sigma)
        let withPixels = GaussianCentroid.expectedErrorPixels(sigmaPixels: sigma, sourceElectrons: electrons, backgroundVarianceElectrons: 0)
        #expect(abs(one.xErrorPixels / withPixels - 1) < 0.01)
    }

    @Test func emptyWindowIsAnError() {
        let img = Image(width: 20, height: 20, constant: 5)
        #expect(throws: GaussianCentroid.Failure.noFlux) {
            try GaussianCentroid.fit(img, x: 10, y: 10, halfWidth: 5, sigmaPixels: 1.5)
        }
    }
}
