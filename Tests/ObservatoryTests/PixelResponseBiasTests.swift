import Foundation
import Testing
@testable import Observatory

/// The pixel response's centroid bias against closed forms. The intra-pixel case is checked against a
/// Fourier series of the pixelised first moment: with pixel k spanning [k − ½, k + ½], Σ k S_k = ∫ round(x)
/// G(x − φ) r(x) dx and round(x) = x − Σₙ (−1)ⁿ⁺¹ sin(2πnx)/(πn); for G of width σ and r = 1 + a cos 2πx
/// every term is a Gaussian's Fourier transform, e^{−2π²σ²n²}, so the moment is exact to the series'
/// truncation (n ≤ 200, far below 10⁻¹²) for an infinite window.
@Suite struct PixelResponseBiasTests {
    static func seriesCentroid(phase p: Double, sigma s: Double, amplitude a: Double) -> Double {
        func ft(_ n: Int) -> Double { exp(-2 * Double.pi * Double.pi * s * s * Double(n * n)) }
        let tau = 2 * Double.pi
        let weight = 1 + a * ft(1) * cos(tau * p)
        var moment = p + a * ft(1) * (p * cos(tau * p) - tau * s * s * sin(tau * p))
        for n in 1...200 {
            let sign = n % 2 == 1 ? 1.0 : -1.0
            // ∫ sin(2πnx) G dx and ∫ sin(2πnx) a cos(2πx) G dx
            let plain = ft(n) * sin(tau * Double(n) * p)
            let mixed = 0.5 * a * (ft(n + 1) * sin(tau * Double(n + 1) * p) + ft(n - 1) * sin(tau * Double(n - 1) * p))
            moment -= sign * (plain + mixed) / (Double.pi * Double(n))
        }
        return moment / weight
    }

    @Test func intraPixelBiasIsTheSeriesOfThePixelisedMoment() {
        for s in [0.3, 0.45, 0.7] {
            for p in stride(from: -0.45, through: 0.45, by: 0.15) {
                let expected = Self.seriesCentroid(phase: p, sigma: s, amplitude: 0.1) - Self.seriesCentroid(phase: p, sigma: s, amplitude: 0)
                let got = PixelResponseCentroidBias.intraPixelBiasPixels(phase: p, sigmaPixels: s, amplitude: 0.1, halfWidth: 12, subsamples: 256)
                #expect(abs(got - expected) < 1e-6 + 1e-3 * abs(expected), "σ \(s) φ \(p): \(got) vs \(expected)")
            }
        }
    }

    /// The bias is odd in the phase, zero at the pixel centre and edge, and falls as e^{−2π²σ²}: a
    /// Nyquist-sampled METIS pinhole (σ ≥ 1.2 px) is biased by < 10⁻¹⁰ px even at a = 0.3.
    @Test func intraPixelBiasVanishesForWellSampledImages() {
        let b = PixelResponseCentroidBias.intraPixelBiasPixels(phase: 0.2, sigmaPixels: 0.4, amplitude: 0.1, halfWidth: 8)
        #expect(abs(b) > 1e-3)
        #expect(abs(PixelResponseCentroidBias.intraPixelBiasPixels(phase: -0.2, sigmaPixels: 0.4, amplitude: 0.1, halfWidth: 8) + b) < 1e-12)
        #expect(abs(PixelResponseCentroidBias.intraPixelBiasPixels(phase: 0, sigmaPixels: 0.4, amplitude: 0.1, halfWidth: 8)) < 1e-12)
        #expect(abs(PixelResponseCentroidBias.intraPixelBiasPixels(phase: 0.2, sigmaPixels: 1.2, amplitude: 0.3, halfWidth: 8)) < 1e-10)
    }

    /// A response 1 + g x across the image: the moment of the continuous image moves by g σ² (the
    /// pipeline's fit models the pixel integration, so it follows the continuous image; the test integrates
    /// on a 10⁻³ px grid).
    @Test func responseGradientShiftsTheCentroidByGSigmaSquared() {
        let s = 1.7, g = 2e-3
        var w = 0.0, m = 0.0
        for i in -20_000...20_000 {
            let x = Double(i) * 1e-3
            let f = exp(-0.5 * x * x / (s * s)) * (1 + g * x)
            w += f; m += x * f
        }
        #expect(abs(m / w - PixelResponseCentroidBias.gradientShiftPixels(gradientPerPixel: g, sigmaPixels: s)) < 1e-9)
        #expect(abs(PixelResponseCentroidBias.gradientShiftPixels(gradientPerPixel: g, sigmaPixels: s) - g * s * s) == 0)
    }

    /// The per-axis bias at a detector position: pixel i spans [i, i + 1), so x = i + ½ is phase 0.
    @Test func biasAtAPositionUsesThePixelCentre() {
        let s = 0.4
        #expect(abs(PixelResponseCentroidBias.biasPixels(position: 100.5, sigmaPixels: s, gradientPerPixel: 0, amplitude: 0.1, halfWidth: 8)) < 1e-12)
        let at = PixelResponseCentroidBias.biasPixels(position: 100.7, sigmaPixels: s, gradientPerPixel: 1e-3, amplitude: 0.1, halfWidth: 8)
        let expected = 1e-3 * s * s + PixelResponseCentroidBias.intraPixelBiasPixels(phase: 0.2, sigmaPixels: s, amplitude: 0.1, halfWidth: 8)
        #expect(abs(at - expected) < 1e-12)
    }
}
