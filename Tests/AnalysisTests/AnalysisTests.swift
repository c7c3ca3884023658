import Testing
import SimKernel
@testable import Analysis

@Suite struct MasterFrameTests {
    @Test func medianIsPixelByPixel() throws {
        let a = Image(width: 2, height: 1, values: [1, 10])
        let b = Image(width: 2, height: 1, values: [5, 30])
        let c = Image(width: 2, height: 1, values: [3, 20])
        #expect(try MasterFrames.median([a, b, c]).values == [3, 20])
        // Even count: the mean of the two middle values.
        let d = Image(width: 2, height: 1, values: [4, 0])
        #expect(try MasterFrames.median([a, b, c, d]).values == [3.5, 15])
        #expect(throws: MasterFrames.Failure.noFrames) { try MasterFrames.median([]) }
        #expect(throws: MasterFrames.Failure.self) { try MasterFrames.median([a, Image(width: 1, height: 2, constant: 0)]) }
    }

    @Test func darkRateRecoversTheInjectedCurrent() throws {
        let bias = Image(width: 4, height: 4, constant: 1000)
        let darks = (0..<3).map { _ in bias.applying(offset: -12) }  // +12 ADU over the bias in 30 s
        let rate = try MasterFrames.darkRate(darks, exposureSeconds: 30, masterBias: bias)
        #expect(rate.values.allSatisfy { abs($0 - 0.4) < 1e-12 })
    }

    @Test func noiselessFlatsRecoverTheResponseExactly() throws {
        let streams = RandomStreams(masterSeed: 3, trial: 0)
        let prnu = Image(width: 32, height: 32, values: (0..<1024).map { _ in 1 + streams.stream("prnu").gaussian(sigma: 0.01) })
        let bias = Image(width: 32, height: 32, constant: 500)
        // Lamp level differs frame to frame: normalising each flat to its mean removes that.
        let flats = [20_000.0, 21_000, 19_500].map { level in
            Image(width: 32, height: 32, values: prnu.values.map { 500 + level * $0 })
        }
        let master = try MasterFrames.flat(flats, exposureSeconds: 6, masterBias: bias)
        #expect(try MasterFrames.flatErrorPercent(master: master, truth: prnu) < 1e-10)
    }

    @Test func flatErrorFallsAsOneOverRootN() throws {
        // Shot-noise-like Gaussian noise of relative size s per frame: the median of N frames has a
        // relative error ≈ s·√(π/(2N)) for large N. With 64×64 pixels the RMS over the field has a
        // relative standard error of 1/√(2·4096) ≈ 1.1 %, so the N = 9 vs N = 36 ratio (expected 2 up to
        // the small-N median efficiency, which differs by < 3 % between 9 and 36) is tested to ±8 %.
        let size = 64, s = 0.01
        let streams = RandomStreams(masterSeed: 11, trial: 0)
        let truth = Image(width: size, height: size, values: (0..<(size * size)).map { _ in 1 + streams.stream("prnu").gaussian(sigma: 0.02) })
        let bias = Image(width: size, height: size, constant: 0)
        func error(n: Int) throws -> Double {
            let noise = streams.stream("noise-\(n)")
            let flats = (0..<n).map { _ in Image(width: size, height: size, values: truth.values.map { $0 * (1 + noise.gaussian(sigma: s)) }) }
            return try MasterFrames.flatErrorPercent(master: MasterFrames.flat(flats, exposureSeconds: 1, masterBias: bias), truth: truth)
        }
        let e9 = try error(n: 9), e36 = try error(n: 36)
        #expect(abs(e9 / e36 - 2) < 0.16)
        // Absolute level for N = 36: 100·s·√(π/72) = 0.209 % (large-N median variance), within 10 %.
        #expect(abs(e36 / (100 * s * (Double.pi / 72).squareRoot()) - 1) < 0.10)
    }
}
