import CGSL
import Foundation
import SimKernel
import Synchronization
import Testing
@testable import Observatory

@Suite("Per-night caches and per-exposure detector moments")
struct NightCacheTests {
    @Test func aValueIsComputedOnceAndSharedByThreads() throws {
        let cache = NightCache<Int, Double>()
        let computed = Atomic<Int>(0)
        DispatchQueue.concurrentPerform(iterations: 64) { i in
            let v = cache.value(for: i % 4) { () -> Double in
                computed.wrappingAdd(1, ordering: .relaxed)
                return Double(i % 4) * 1.5
            }
            #expect(v == Double(i % 4) * 1.5)
        }
        #expect(cache.count == 4)
        // A racing thread may compute a missing key a second time; it never computes a cached one.
        let before = computed.load(ordering: .relaxed)
        #expect(before >= 4)
        _ = cache.value(for: 2) { () -> Double in computed.wrappingAdd(1, ordering: .relaxed); return -1 }
        #expect(computed.load(ordering: .relaxed) == before)
    }

    @Test func aFailedComputationStoresNothingAndCapacityBoundsTheCache() throws {
        struct Failure: Error {}
        let cache = NightCache<Int, Int>(capacity: 3)
        #expect(throws: Failure.self) { try cache.value(for: 1) { () throws(Failure) -> Int in throw Failure() } }
        #expect(cache.count == 0)
        #expect(cache.value(for: 1) { 10 } == 10)
        for k in 2...3 { _ = cache.value(for: k) { k } }
        #expect(cache.count == 3)
        _ = cache.value(for: 4) { 4 }
        #expect(cache.count == 1)
        #expect(cache.value(for: 1) { 11 } == 11)   // recomputed after the reset
    }

    @Test func sharedSunsetIsTheSearchedOneToTheBit() throws {
        let site = try #require(Site.builtIn["cerro-pachon"])
        let finder = SunCrossingFinder(scanStepSeconds: 1800, toleranceSeconds: 0.5)
        for day in stride(from: 0.0, to: 365, by: 29) {
            let noon = 1_767_225_600 + day * 86_400 + 43_200 - site.localMeanTimeOffsetSeconds
            let direct = try finder.crossing(site: site, altitudeDegrees: -0.833, direction: .setting, after: noon)
            let shared = try finder.sharedCrossing(site: site, altitudeDegrees: -0.833, direction: .setting, after: noon)
            let again = try finder.sharedCrossing(site: site, altitudeDegrees: -0.833, direction: .setting, after: noon)
            #expect(direct != nil && direct == shared && shared == again)
            // Another altitude is another key, not the cached sunset.
            let civil = try finder.sharedCrossing(site: site, altitudeDegrees: -6, direction: .setting, after: noon)
            #expect(civil! > direct! + 600)
        }
    }

    @Test func memoReturnsTheComputedPositionForRecentInstantsOnly() throws {
        let site = try #require(Site.builtIn["cerro-pachon"])
        let spa = SolarPositionAlgorithm()
        let memo = SunPositionMemo(size: 2)
        var calls = 0
        func at(_ t: Double) -> SunPosition {
            memo.position(at: t) { calls += 1; return spa.position(site: site, utcSeconds: 1_767_225_600 + $0) }
        }
        let a = at(100), b = at(200)
        #expect(at(100) == a && at(200) == b && calls == 2)
        _ = at(300)                          // evicts the oldest (100)
        #expect(at(100) == a && calls == 4)
        #expect(at(100.5) != a)
    }

    /// The censored-Gaussian moments with GSL's pdf and tails, as the formula is written.
    func gslMoments(lambda: Double, mode: ReadoutMode) -> (Double, Double, Double) {
        let nl = mode.nonlinearity, fw = mode.fullWellElectrons
        let mu = nl.apply(lambda) + 0.5 * nl.secondDerivative * lambda
        let sigma = abs(nl.derivative(lambda)) * lambda.squareRoot()
        let z = (fw - mu) / sigma
        let phi = gsl_ran_ugaussian_pdf(z), cdf = gsl_cdf_ugaussian_P(z), q = gsl_cdf_ugaussian_Q(z)
        let m1 = mu * cdf - sigma * phi + fw * q
        let m2 = (mu * mu + sigma * sigma) * cdf - sigma * (mu + fw) * phi + fw * fw * q
        return (m1, max(0, m2 - m1 * m1), q)
    }

    @Test func clippedMomentsEqualGSLsToTheBitOnBothSidesOfTheUnderflowBranch() throws {
        let mode = try DetectorModel.latissITL3800().mode()
        var largestZ = 0.0, branchTaken = 0
        // λ from a few electrons (z ≈ 560, the LATISS dark and bias case) through full well (z ≈ 0) to
        // saturated, on a grid fine enough to cross |z| = 38.6 many times.
        var lambda = 1.0
        while lambda < 3 * mode.fullWellElectrons {
            let got = DetectorSimulator.clippedMoments(lambda: lambda, mode: mode)
            let want = gslMoments(lambda: lambda, mode: mode)
            #expect(got.mean.bitPattern == want.0.bitPattern && got.variance.bitPattern == want.1.bitPattern
                    && got.clipped.bitPattern == want.2.bitPattern, "λ = \(lambda)")
            let nl = mode.nonlinearity
            let z = (mode.fullWellElectrons - nl.apply(lambda) - 0.5 * nl.secondDerivative * lambda)
                / (abs(nl.derivative(lambda)) * lambda.squareRoot())
            largestZ = max(largestZ, z)
            if abs(z) > DetectorSimulator.gaussianUnderflowZ { branchTaken += 1 }
            lambda *= 1.0007
        }
        #expect(largestZ > 500 && branchTaken > 1000)
    }

    @Test func headerIsBuiltOnlyWhenRead() throws {
        let model = DetectorModel.latissITL3800()
        let sim = DetectorSimulator(model: model)
        let request = ExposureRequest(ditSeconds: 2, header: [HeaderCard("IMGTYPE", "FLAT")], startSeconds: 10, epochMJD: 60_000)
        var r = try sim.expose(request, stream: RandomStream(key: [3]))
        #expect(r.header.string("IMGTYPE") == "FLAT" && r.header.double("DET1 DIT") == 2)
        #expect(r.header.string("DET CHIP ID") == model.serial && r.header.double("SIMTIME") == 10)
        r.header.set("OBJECT", .string("twilight"))
        #expect(r.header.string("OBJECT") == "twilight" && r.header.double("MJD-OBS") == 60_000 + 10 / 86_400)
    }
}
