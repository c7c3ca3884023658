import Foundation
import SimKernel

/// A heated blackbody source (the METIS WCU BB) following a `FirstOrderLag` to its set point.
///
/// `setTemperature` is an instant command (the documents set the temperature, then wait);
/// `waitUntilReady` awaits the closed-form ready time with `sim.timeout`. Faults are drawn per set-point
/// change from the stream "<name>.faults":
/// - heater failure, probability `heaterFailureProbability`, at a time uniform over the nominal warm-up:
///   the source then cools toward ambient with the same lag law, and `waitUntilReady` throws
///   `heaterFailed` at that time;
/// - shortfall, probability `setPointShortfallProbability`: the temperature levels off
///   `shortfallKelvin` short of the set point, and `waitUntilReady` throws `setPointNotReached` at its
///   time limit.
/// Each warm-up's time constant is the lag's times a log-normal factor of mean 1 and relative spread
/// `warmupSpread` (stream "<name>.warmup"): "wait for about 45 minutes" is a typical figure, not a constant.
/// The time limit stays a multiple of the nominal (unscaled) ready time, as an operator reads it.
public final class Blackbody {
    public struct Parameters: Sendable, Equatable {
        public var lag: FirstOrderLag
        public var ambientKelvin: Double
        public var emissivity: Double
        public var apertureAreaSquareMetres: Double
        /// The power readout is "detectable" above this.
        public var detectableWatts: Double
        public var heaterFailureProbability: Double
        public var setPointShortfallProbability: Double
        public var shortfallKelvin: Double
        /// `waitUntilReady`'s default limit, as a multiple of the nominal ready time.
        public var readyTimeoutFactor: Double
        /// Relative sd of a warm-up's time constant (0: every warm-up is the nominal one).
        public var warmupSpread: Double = 0.1
        /// What the operator does on a heater failure (`warmUp`): re-issue the set point this many times,
        /// after `heaterRecoverySeconds` each, before giving up.
        public var heaterRetries: Int = 1
        public var heaterRecoverySeconds: Double = 600

        public init(lag: FirstOrderLag, ambientKelvin: Double, emissivity: Double, apertureAreaSquareMetres: Double,
                    detectableWatts: Double, heaterFailureProbability: Double, setPointShortfallProbability: Double,
                    shortfallKelvin: Double, readyTimeoutFactor: Double) {
            self.lag = lag
            self.ambientKelvin = ambientKelvin
            self.emissivity = emissivity
            self.apertureAreaSquareMetres = apertureAreaSquareMetres
            self.detectableWatts = detectableWatts
            self.heaterFailureProbability = heaterFailureProbability
            self.setPointShortfallProbability = setPointShortfallProbability
            self.shortfallKelvin = shortfallKelvin
            self.readyTimeoutFactor = readyTimeoutFactor
        }

        /// The typical L-band set point: the WCU BB default 1000 K (REFERENCES.md §5.3, irdb
        /// metis_wcu_config.yaml).
        public static let typicalLBandKelvin = 1000.0

        /// METIS WCU BB (REFERENCES.md §5.3):
        /// - ambient 300 K (irdb WCU config), emissivity 0.98 (E-REP-MPIA-MET-1203), aperture the
        ///   integrating-sphere entrance Ø25.4 mm;
        /// - lag calibrated so the default step 300 → 1000 K is ready at 45 min ("wait for about 45
        ///   minutes", ChopperHome document; "30 min?" in the distortion document), tolerance 1 K [U],
        ///   hold 60 s [U], step exponent β = 0.5 [U] ("depends on the BB temperature selection": larger
        ///   steps take longer);
        /// - detectable power 1 W [U] (reached near 460 K); fault probabilities 0.005 each per set-point
        ///   change [U]; shortfall 20 K [U]; time limit 1.5 × nominal [U];
        /// - warm-up spread 10 % of the time constant [U] (±4 min on 45 min: the documents say "about 45
        ///   minutes" and "30 min?"); on a heater failure the operator resets the heater controller and
        ///   re-issues the set point once, after 10 min [U], then reports and aborts.
        public static let metisWCU = Parameters(
            lag: .calibrated(referenceStepKelvin: typicalLBandKelvin - 300, toleranceKelvin: 1, readySeconds: 45 * 60,
                             holdSeconds: 60, stepExponent: 0.5),
            ambientKelvin: 300, emissivity: 0.98, apertureAreaSquareMetres: Double.pi * 0.0127 * 0.0127,
            detectableWatts: 1, heaterFailureProbability: 0.005, setPointShortfallProbability: 0.005,
            shortfallKelvin: 20, readyTimeoutFactor: 1.5)
    }

    private struct Segment {
        var startSeconds: Double
        var startKelvin: Double
        var setPointKelvin: Double
        /// Where the temperature levels off (the set point, unless short of it).
        var asymptoteKelvin: Double
        var heaterFailureSeconds: Double?
        /// This warm-up's time-constant factor (log-normal, mean 1).
        var lagFactor: Double = 1
    }

    public let name: String
    public let lane: String
    public var parameters: Parameters
    private var segment: Segment
    unowned let simulation: Simulation

    public init(_ simulation: Simulation, name: String, lane: String, parameters: Parameters, kelvin: Double? = nil) {
        self.simulation = simulation
        self.name = name
        self.lane = lane
        self.parameters = parameters
        let t0 = kelvin ?? parameters.ambientKelvin
        segment = Segment(startSeconds: simulation.now, startKelvin: t0, setPointKelvin: t0, asymptoteKelvin: t0)
    }

    public var setPointKelvin: Double { segment.setPointKelvin }

    /// The true temperature at simulated time `seconds` (closed form).
    public func temperatureKelvin(atSeconds seconds: Double) -> Double {
        let s = segment
        let lag = scaled(parameters.lag, s.lagFactor)
        let step = s.setPointKelvin - s.startKelvin
        func heating(_ elapsed: Double) -> Double {
            guard elapsed > 0, step != 0 else { return elapsed > 0 ? s.asymptoteKelvin : s.startKelvin }
            return s.asymptoteKelvin - (s.asymptoteKelvin - s.startKelvin) * exp(-elapsed / lag.timeConstantSeconds(stepKelvin: step))
        }
        if let tf = s.heaterFailureSeconds, seconds > tf {
            let atFailure = heating(tf - s.startSeconds)
            return lag.temperatureKelvin(startKelvin: atFailure, setPointKelvin: parameters.ambientKelvin, elapsedSeconds: seconds - tf)
        }
        return heating(seconds - s.startSeconds)
    }

    /// The true temperature now.
    public var temperatureKelvin: Double { temperatureKelvin(atSeconds: simulation.now) }

    /// The power readout: ε·σ·A·(T⁴ − T_amb⁴), watts.
    public var radiatedPowerWatts: Double {
        let t = temperatureKelvin, ta = parameters.ambientKelvin
        let sigma = 5.670_374_419e-8 // Stefan–Boltzmann constant, CODATA 2018, W m⁻² K⁻⁴
        return max(0, parameters.emissivity * sigma * parameters.apertureAreaSquareMetres * (t * t * t * t - ta * ta * ta * ta))
    }

    /// "Check the power readout. If the power is detectable, continue." (ChopperHome document)
    public var isPowerDetectable: Bool { radiatedPowerWatts > parameters.detectableWatts }

    /// Nominal time from a set-point change to ready, for the step from the current temperature.
    public func nominalReadySeconds(toKelvin target: Double) -> Double {
        parameters.lag.secondsToReady(stepKelvin: target - temperatureKelvin)
    }

    /// When the current set point will be ready, or nil if a fault prevents it.
    public var readyAtSeconds: Double? {
        let s = segment
        if abs(s.asymptoteKelvin - s.setPointKelvin) >= parameters.lag.toleranceKelvin { return nil }
        let ready = s.startSeconds + scaled(parameters.lag, s.lagFactor).secondsToReady(stepKelvin: s.setPointKelvin - s.startKelvin)
        if let tf = s.heaterFailureSeconds, tf < ready { return nil }
        return ready
    }

    /// Sets a new set point (an instant command); faults for this warm-up are drawn now.
    public func setTemperature(kelvin target: Double) {
        let sim = simulation
        let now = sim.now
        let t0 = temperatureKelvin
        let p = parameters
        var seg = Segment(startSeconds: now, startKelvin: t0, setPointKelvin: target, asymptoteKelvin: target)
        // Faults apply to heating only: cooling toward ambient needs no heater.
        if target > t0 + p.lag.toleranceKelvin {
            if p.warmupSpread > 0 {
                let sigma2 = log1p(p.warmupSpread * p.warmupSpread)
                seg.lagFactor = sim.stream("\(name).warmup").lognormal(zeta: -sigma2 / 2, sigma: sigma2.squareRoot())
            }
            let faults = sim.stream("\(name).faults")
            if p.heaterFailureProbability > 0 && faults.bernoulli(p.heaterFailureProbability) {
                seg.heaterFailureSeconds = now + faults.uniform() * scaled(p.lag, seg.lagFactor).secondsToReady(stepKelvin: target - t0)
            } else if p.setPointShortfallProbability > 0 && faults.bernoulli(p.setPointShortfallProbability) {
                seg.asymptoteKelvin = target - p.shortfallKelvin
            }
        }
        segment = seg
        sim.record(name, "set point", ["kelvin": "\(target)", "from_kelvin": "\(t0)"])
    }

    func scaled(_ lag: FirstOrderLag, _ factor: Double) -> FirstOrderLag {
        var l = lag
        l.referenceTimeConstantSeconds *= factor
        return l
    }

    /// The wait for the set point as an operator runs it: on a heater failure, wait `heaterRecoverySeconds`,
    /// re-issue the set point (a new warm-up from where the source cooled to, with its own fault draws) and
    /// wait again, `heaterRetries` times; then the failure is the procedure's.
    public func waitUntilReadyRetryingHeater() async throws {
        let sim = simulation
        let target = segment.setPointKelvin
        var retries = 0
        while true {
            do {
                try await waitUntilReady()
                return
            } catch ThermalError.heaterFailed(let device, let at, let kelvin) {
                guard retries < parameters.heaterRetries else { throw ThermalError.heaterFailed(device: device, atSeconds: at, kelvin: kelvin) }
                retries += 1
                try await sim.step("\(name) heater reset and set point again", lane: lane, use: .contingency) {
                    try await sim.timeout(parameters.heaterRecoverySeconds)
                    setTemperature(kelvin: target)
                }
            }
        }
    }

    /// Turns the heater off: the source cools toward ambient.
    public func turnOff() { setTemperature(kelvin: parameters.ambientKelvin) }

    /// Waits until the set point is ready (within tolerance for the hold time). The limit counts from the
    /// set-point change; by default `readyTimeoutFactor` × the nominal ready time. Throws `heaterFailed`
    /// when the heater fails, `setPointNotReached` at the limit otherwise.
    public func waitUntilReady(timeoutSeconds: Double? = nil) async throws {
        let sim = simulation
        let s = segment
        let nominal = parameters.lag.secondsToReady(stepKelvin: s.setPointKelvin - s.startKelvin)
        let deadline = s.startSeconds + (timeoutSeconds ?? parameters.readyTimeoutFactor * nominal)
        try await sim.step("\(name) warm-up to \(s.setPointKelvin) K", lane: lane, use: .lamp) {
            if let tf = s.heaterFailureSeconds, tf <= deadline, tf < s.startSeconds + nominal {
                try await sim.wait(until: tf)
                throw ThermalError.heaterFailed(device: name, atSeconds: tf, kelvin: temperatureKelvin(atSeconds: tf))
            }
            if let ready = readyAtSeconds, ready <= deadline {
                try await sim.wait(until: ready)
                return
            }
            try await sim.wait(until: deadline)
            throw ThermalError.setPointNotReached(device: name, setPointKelvin: s.setPointKelvin,
                                                  reachedKelvin: temperatureKelvin, afterSeconds: deadline - s.startSeconds)
        }
    }
}
