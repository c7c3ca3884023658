import Foundation
import Testing
import SimKernel
@testable import Observatory

@Suite struct LampTests {
    /// Ignition delay of one lamp-on command in a fresh simulation (chiller already running).
    func ignition(_ params: ATWhiteLight.Parameters, seed: UInt64, trial: Int) throws -> (seconds: Double, lit: Bool) {
        let sim = Simulation(seed: seed, trial: UInt64(trial))
        let wl = ATWhiteLight(sim, parameters: params, summaryState: .enabled)
        let out = MechanicsBox<(Double, Bool)>((0, false))
        sim.process("on") {
            try wl.startChiller()
            do {
                try await wl.turnLampOn()
                out.value = (sim.now, true)
            } catch ThermalError.ignitionFailed {
                out.value = (sim.now, false)
            }
        }
        try sim.run()
        return out.value
    }

    /// Attempts N ~ Geometric(1 − p); delay T = (N − 1)(d + r) + L with d = max_lamp_on_delay, r =
    /// retry_sleep and L the lighting attempt's delay (Gamma 8 ± 4 s, independent of N), so E[T] =
    /// (d + r)·p/(1 − p) + E[L] and Var[T] = (d + r)²·p/(1 − p)² + Var[L]. With no practical cap (1000
    /// attempts) the sample mean of n = 2000 trials must be within 3 standard errors √(Var/n) of E[T].
    @Test func meanIgnitionDelayMatchesTheGeometricRetryLoop() throws {
        var params = ATWhiteLight.Parameters.auxTel
        params.ignitionFailureProbability = 0.3
        params.maxIgnitionAttempts = 1000
        let p = 0.3, d = params.maxLampOnDelaySeconds, r = params.ignitionRetrySeconds
        let lit = params.ignitionDelay.cappedMoments(cap: d)
        let n = 2000
        let delays = try (0..<n).map { try ignition(params, seed: 21, trial: $0).seconds }
        let mean = delays.reduce(0, +) / Double(n)
        let expected = (d + r) * p / (1 - p) + lit.mean
        let se = (((d + r) * (d + r) * p / ((1 - p) * (1 - p)) + lit.variance) / Double(n)).squareRoot()
        #expect(abs(mean - expected) < 3 * se)
    }

    /// With a cap of K attempts (max_retries 3), P(fail) = p^K and E[T | lit] = Σ_{n≤K} ((n−1)(d + r) + L)·
    /// pⁿ⁻¹(1−p) / (1 − p^K), here with a constant lighting delay L = 8 s.
    @Test func cappedRetryLoopFailsAtRatePToTheK() throws {
        var params = ATWhiteLight.Parameters.auxTel
        params.ignitionFailureProbability = 0.5
        params.ignitionDelay = .constant(8)
        #expect(params.maxIgnitionAttempts == 3)
        let p = 0.5, d = params.maxLampOnDelaySeconds, r = params.ignitionRetrySeconds, k = 3
        let n = 2000
        let results = try (0..<n).map { try ignition(params, seed: 22, trial: $0) }
        let failRate = Double(results.filter { !$0.lit }.count) / Double(n)
        let pFail = pow(p, Double(k))
        #expect(abs(failRate - pFail) < 3 * (pFail * (1 - pFail) / Double(n)).squareRoot())
        // A failed command takes K·d + (K − 1)·r.
        #expect(results.filter { !$0.lit }.allSatisfy { abs($0.seconds - (3 * d + 2 * r)) < 1e-9 })
        var m1 = 0.0, m2 = 0.0
        for i in 1...k {
            let t = Double(i - 1) * (d + r) + 8
            let w = pow(p, Double(i - 1)) * (1 - p) / (1 - pFail)
            m1 += t * w; m2 += t * t * w
        }
        let lit = results.filter(\.lit).map(\.seconds)
        let mean = lit.reduce(0, +) / Double(lit.count)
        #expect(abs(mean - m1) < 3 * ((m2 - m1 * m1) / Double(lit.count)).squareRoot())
    }

    /// LATISS document: power_on_atcalsys "takes 15 minutes", power_off_atcalsys "15 minutes".
    @Test func powerOnAndPowerOffTakeFifteenMinutes() throws {
        var params = ATWhiteLight.Parameters.auxTel
        params.shutterStuckProbability = 0
        params.maxIgnitionAttempts = 1000
        let n = 300
        var onTimes: [Double] = []
        var offTimes: [Double] = []
        for trial in 0..<n {
            let sim = Simulation(seed: 23, trial: UInt64(trial))
            let wl = ATWhiteLight(sim, parameters: params, summaryState: .enabled)
            let cal = ATCalSys(sim, whiteLight: wl)
            let out = MechanicsBox<[Double]>([])
            sim.process("cal") {
                try await cal.powerOn()
                out.value.append(sim.now)
                #expect(wl.isIlluminating && wl.isLampWarm)
                let t = sim.now
                try await cal.powerOff()
                out.value.append(sim.now - t)
                #expect(!wl.isIlluminating && !wl.isChillerRunning)
            }
            try sim.run()
            onTimes.append(out.value[0])
            offTimes.append(out.value[1])
        }
        let meanOn = onTimes.reduce(0, +) / Double(n)
        // "15 minutes" read as a figure rounded to the minute.
        #expect(abs(meanOn / 60 - 15) <= 0.5)
        #expect(offTimes.allSatisfy { abs($0 / 60 - 15) <= 0.5 })
        // And it is what the parts add up to: the chiller's τ·ln(5/4) = 13.4 s seen at the next 7 s reading
        // (14 s), the 3 s shutter, the failed attempts (d + r each), and the 900 s warm-up counted from the
        // command of the attempt that lit — its own lighting delay falls inside the warm-up.
        let p = params.ignitionFailureProbability, d = params.maxLampOnDelaySeconds, r = params.ignitionRetrySeconds
        #expect((60 * log(5.0 / 4) / 7).rounded(.up) * 7 == 14)
        let expected = 14 + 3 + (d + r) * p / (1 - p) + 900
        let se = ((d + r) * (d + r) * p / ((1 - p) * (1 - p)) / Double(n)).squareRoot()
        #expect(abs(meanOn - expected) < 3 * se)
        // The light-off and the shutter's close fall inside the cool-down, which counts from the off command.
        #expect(offTimes.allSatisfy { abs($0 - 900) < 1e-9 })
    }

    /// The bulb's illumination factor is log-normal of mean 1 and relative sd `bulbFluxSpread` (2 %): over
    /// 4000 bulbs the mean is within 3 standard errors (0.02/√4000) of 1 and the sd within 3 of its own
    /// (≈ 0.02/√8000).
    @Test func bulbsDifferByTheirDocumentedSpread() {
        let n = 4000
        let factors = (0..<n).map { ATWhiteLight(Simulation(seed: 41, trial: UInt64($0))).bulbFluxFactor }
        let mean = factors.reduce(0, +) / Double(n)
        let sd = (factors.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(n - 1)).squareRoot()
        #expect(abs(mean - 1) < 3 * 0.02 / Double(n).squareRoot())
        #expect(abs(sd - 0.02) < 3 * 0.02 / Double(2 * n).squareRoot())
    }

    @Test func lampRefusesReIgnitionDuringCooldownAndEarlyTurnOff() throws {
        var params = ATWhiteLight.Parameters.auxTel
        params.ignitionFailureProbability = 0
        params.ignitionDelay = .constant(8)
        let sim = Simulation(seed: 4)
        let wl = ATWhiteLight(sim, parameters: params)
        let errors = MechanicsBox<[ThermalError]>([])
        sim.process("ops") {
            do { try await wl.turnLampOn() } catch let e as ThermalError { errors.value.append(e) }
            try await wl.setSummaryState(.enabled)
            #expect(sim.now == 2) // STANDBY → DISABLED → ENABLED, 1 s each
            try wl.startChiller()
            try await wl.turnLampOn()
            do { try await wl.turnLampOff() } catch let e as ThermalError { errors.value.append(e) }
            try await sim.timeout(900)
            try await wl.turnLampOff()
            do { try await wl.turnLampOn() } catch let e as ThermalError { errors.value.append(e) }
            do { try wl.stopChiller() } catch let e as ThermalError { errors.value.append(e) }
            try await wl.waitForCooldown()
            try await wl.turnLampOn()
            #expect(wl.isLampOn)
        }
        try sim.run()
        #expect(errors.value.count == 4)
        guard errors.value.count == 4 else { return }
        #expect(errors.value[0] == .notEnabled(device: "ATWhiteLight", state: "STANDBY"))
        // Warm-up counted from the lamp-on command (8 s before the light), cool-down from the off command
        // (2 s before the light is off).
        if case .warmingUp(_, let remaining) = errors.value[1] { #expect(remaining == 892) } else { Issue.record("\(errors.value[1])") }
        if case .coolingDown(_, let remaining) = errors.value[2] { #expect(remaining == 898) } else { Issue.record("\(errors.value[2])") }
        if case .chillerNeeded = errors.value[3] {} else { Issue.record("\(errors.value[3])") }
    }
}
