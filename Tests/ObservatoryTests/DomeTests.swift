import CGSL
import Foundation
import Testing
import SimKernel
@testable import Observatory

@Suite struct DomeTests {
    func params(stopSigma: Double) -> Dome.Parameters {
        var p = Dome.Parameters.atDome
        p.stopSigmaDegrees = stopSigma
        return p
    }

    /// Runs `walks` independent domes (each its own drift stream) through `moves` back-and-forth moves of
    /// `distance` degrees, and returns their encoder errors.
    func drift(walks: Int, moves: Int, distance: Double, seed: UInt64) throws -> [Double] {
        let sim = Simulation(seed: seed)
        sim.recordsSteps = false
        let domes = (0..<walks).map { Dome(sim, name: "ATDome-\($0)", lane: "dome", parameters: params(stopSigma: 0), believedAzimuthDegrees: 0) }
        for d in domes {
            sim.process(d.name) {
                for k in 0..<moves { try await d.move(toAzimuth: k % 2 == 0 ? distance : 0) }
            }
        }
        try sim.run()
        return domes.map(\.encoderErrorDegrees)
    }

    /// The error variance is k²·(number of moves)·(distance per move). The estimate s² = Σe²/n (the mean
    /// is known to be 0) has standard error σ²·√(2/n); each case must agree within 3 of them.
    @Test(arguments: [(5, 30.0), (20, 30.0), (5, 120.0), (20, 120.0)])
    func errorVarianceGrowsLinearlyWithMovesAndDistance(moves: Int, distance: Double) throws {
        let n = 1000
        let e = try drift(walks: n, moves: moves, distance: distance, seed: 31)
        let s2 = e.map { $0 * $0 }.reduce(0, +) / Double(n)
        let k = Dome.Parameters.atDome.driftDegreesPerSqrtDegree
        let sigma2 = k * k * Double(moves) * distance
        #expect(abs(s2 - sigma2) < 3 * sigma2 * (2.0 / Double(n - 1)).squareRoot())
    }

    @Test func believedAndTrueAzimuthPartWaysAndHomingResetsThem() throws {
        let sim = Simulation(seed: 7)
        let dome = Dome(sim, name: "ATDome", lane: "dome", parameters: .atDome, believedAzimuthDegrees: 285, encoderErrorDegrees: 2.5)
        let out = MechanicsBox<[Double]>([])
        sim.process("ops") {
            try await dome.move(toAzimuth: 3.0)
            out.value.append(dome.trueAzimuthDegrees - dome.believedAzimuthDegrees)
            let expected = try dome.homeSeconds()
            let t0 = sim.now
            try await dome.home()
            out.value.append(sim.now - t0)
            out.value.append(expected)
        }
        try sim.run()
        // Before homing the slit is ~2.5° away from where the controller believes it is.
        #expect(abs(out.value[0] - 2.5) < 0.5)
        #expect(abs(out.value[1] - out.value[2]) < 1e-9)
        // At the switch the slit is at the home azimuth, with at most half the switch window of error.
        #expect(abs(dome.trueAzimuthDegrees - 10) < 1e-9)
        #expect(abs(dome.encoderErrorDegrees) <= 0.1)
        #expect(dome.travelSinceHomeDegrees == 0)
    }

    /// The homing time depends on where the dome is: fast slew to home − overshoot, then creep at 1°/s over
    /// overshoot − error (reversing, after a 4 s delay, if the switch is behind).
    @Test func homingDurationDependsOnPositionAndError() throws {
        let sim = Simulation(seed: 1)
        let near = Dome(sim, name: "a", lane: "dome", parameters: .atDome, believedAzimuthDegrees: 9, encoderErrorDegrees: 0.25)
        #expect(abs(try near.homeSeconds() - 0.75) < 1e-12)
        let far = Dome(sim, name: "b", lane: "dome", parameters: .atDome, believedAzimuthDegrees: 189, encoderErrorDegrees: 0.25)
        let slew = try Dome.Parameters.atDome.azimuth.moveAndSettleSeconds(distance: 180)
        #expect(abs(try far.homeSeconds() - (slew + 0.75)) < 1e-12)
        let behind = Dome(sim, name: "c", lane: "dome", parameters: .atDome, believedAzimuthDegrees: 9, encoderErrorDegrees: 3)
        #expect(abs(try behind.homeSeconds() - (4 + 2)) < 1e-12)
    }

    /// Nightly use for a week or a month, then prepare_for/flat: the fraction of domes whose true azimuth
    /// misses 3.0° ± 1.5° must match P(|N(0, σ²)| > 1.5°), σ² = k²·(travel) + σ_stop² (the stop residual
    /// is truncated at 5σ, a negligible change), within 3 binomial standard errors.
    @Test(arguments: [7, 30])
    func nightlyUseMisalignsTheScreenAtTheImpliedRate(nights: Int) throws {
        let n = 1000
        let sim = Simulation(seed: 41)
        sim.recordsSteps = false
        let p = Dome.Parameters.atDome
        let domes = (0..<n).map { Dome(sim, name: "ATDome-\($0)", lane: "dome", parameters: p, believedAzimuthDegrees: 3.0) }
        // A night: four moves of 180° (720°, the tuning's nightly travel), ending back at 3.0°.
        for d in domes {
            sim.process(d.name) {
                for _ in 0..<nights {
                    for target in [183.0, 3.0, 183.0, 3.0] { try await d.move(toAzimuth: target) }
                }
                try await d.move(toAzimuth: AuxTel.flatDomeAzimuthDegrees)
            }
        }
        try sim.run()
        // Each 180° move covers 180° ± the stop residual; the residuals average out in the travel total.
        let travel = Double(nights) * 720
        let sigma = (p.driftDegreesPerSqrtDegree * p.driftDegreesPerSqrtDegree * travel + p.stopSigmaDegrees * p.stopSigmaDegrees).squareRoot()
        let pMiss = 2 * gsl_cdf_ugaussian_Q(AuxTel.screenAlignmentToleranceDegrees / sigma)
        let misses = domes.filter { abs(Azimuth.shortestDelta(from: 3.0, to: $0.trueAzimuthDegrees)) > 1.5 }.count
        let rate = Double(misses) / Double(n)
        #expect(abs(rate - pMiss) < 3 * (pMiss * (1 - pMiss) / Double(n)).squareRoot())
        // The tuning: about two degrees after two weeks ("a couple of degrees").
        #expect(abs(p.driftDegreesPerSqrtDegree * (14 * Dome.Parameters.nightlyTravelDegrees).squareRoot() - 2) < 0.05)
    }
}
