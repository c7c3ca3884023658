import Testing
import SimKernel
@testable import Analysis

@Suite struct PTCTests {
    @Test func expApproximationTendsToTheClassicPTC() {
        // a00 → 0: C00 = μ/g + n00/g² (REFERENCES §4, small-signal limit).
        let c = PhotonTransferCurve.expApproximation(meanADU: 10_000, a00: -1e-12, gain: 1.1, n00: 81)
        #expect(abs(c - (10_000 / 1.1 + 81 / 1.21)) < 1e-4)
        // Series of (e^(2aμe) − 1)/(2a): μe + aμe² + ⅔a²μe³ + ⅓a³μe⁴ + …, μe = g·μ; the next term is 4e-8 relative.
        let mue = 1.1 * 100_000.0
        let c2 = PhotonTransferCurve.expApproximation(meanADU: 100_000, a00: -2e-7, gain: 1.1, n00: 0) * 1.21
        #expect(abs(c2 - (mue - 2e-7 * mue * mue + 2.0 / 3 * 4e-14 * mue * mue * mue - 1.0 / 3 * 8e-21 * mue * mue * mue * mue)) / mue < 2e-7)
    }

    @Test func documentPTCTimesMakeThirtyAdjacentPairs() {
        let t: [Double] = [0.25, 0.25, 1.42, 1.42, 6.53, 6.53, 0.2, 0.2001, 5.0]
        let pairs = PhotonTransferCurve.pairIndices(exposureSeconds: t)
        #expect(pairs.map(\.first) == [0, 2, 4, 6] && pairs.map(\.second) == [1, 3, 5, 7])
    }

    @Test func pairVarianceCancelsThePixelResponse() throws {
        // Two flats of mean 20,000 ADU with a 1 % response pattern (variance 40,000 ADU², larger than the
        // shot noise) and a temporal variance of 20,000 ADU²: the scaled difference keeps only the latter.
        // Its estimate over N = 16,384 pixels has a relative standard error √(2/N) = 1.1 %; 4 σ allowed.
        let n = 128 * 128
        let streams = RandomStreams(masterSeed: 11, trial: 0)
        let pattern = (0..<n).map { _ in 1 + streams.stream("prnu").gaussian(sigma: 0.01) }
        let noise = streams.stream("noise")
        let a = pattern.map { 20_000 * $0 + noise.gaussian(sigma: 20_000.0.squareRoot()) }
        let b = pattern.map { 20_100 * $0 + noise.gaussian(sigma: 20_000.0.squareRoot()) }
        let p = try PhotonTransferCurve.measurePair(a, b, exposureSeconds: 1)
        #expect(abs(p.meanADU - 20_050) < 5)
        #expect(abs(p.varianceADU2 / 20_000 - 1) < 4 * (2.0 / Double(n)).squareRoot())
    }

    @Test func solveRecoversNoiselessParametersAndExcludesSaturation() throws {
        let g = 1.08, a00 = -2.3e-7, n00 = 85.0
        let times: [Double] = [0.2, 0.3, 0.5, 0.8, 1.2, 2, 3, 5, 8, 12, 16, 20, 24, 30, 37, 46]
        let points = times.map { t -> PTCPoint in
            let mu = min(5_000 * t, 123_000)
            let saturated = 5_000 * t > 123_000
            let v = saturated ? n00 / (g * g) : PhotonTransferCurve.expApproximation(meanADU: mu, a00: a00, gain: g, n00: n00)
            return PTCPoint(exposureSeconds: t, meanADU: mu, varianceADU2: v, pixelCount: 100_000)
        }
        let fit = try PhotonTransferCurve.solve(points)
        #expect(abs(fit.gainElectronsPerADU / g - 1) < 1e-6)
        #expect(abs(fit.a00 / a00 - 1) < 1e-4)
        #expect(abs(fit.noiseElectrons / n00.squareRoot() - 1) < 1e-4)
        // Turn-off: the last unsaturated point (24 s, 120,000 ADU); the saturated ones are dropped.
        #expect(fit.turnoffExposureSeconds == 24 && fit.turnoffADU == 120_000)
        #expect(fit.retained.filter { $0 }.count == 13)
        #expect(fit.turnoffSamplingErrorADU == 1_500)
    }

    @Test func turnoffFromMeansFindsWhereTheMeanStopsGrowing() throws {
        let t: [Double] = [1, 2, 4, 8, 16, 24.16, 30.04, 37.35]
        let mu = t.map { min(4_930 * $0, 123_000) }
        let r = try #require(PhotonTransferCurve.turnoffFromMeans(exposureSeconds: t, meansADU: mu))
        #expect(r.seconds == 24.16 && abs(r.adu - 4_930 * 24.16) < 1e-9)
    }
}
