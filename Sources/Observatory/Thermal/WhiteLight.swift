import Foundation
import SimKernel

/// The AuxTel white-light source, ATWhiteLight (KiloArc lamp + chiller + shutter), REFERENCES.md §2.4.
///
/// - CSC: the salobj summary state machine (`CSCStateMachine`), one `transitionSeconds` per transition
///   command set_summary_state sends. Lamp, chiller and shutter commands need ENABLED.
/// - Chiller: a `FirstOrderLag` (in °C) from its current temperature to the set point; "ready" when
///   |ΔT|/T_set ≤ the relative tolerance (power_on_atcalsys.py).
/// - Lamp (ts_atwhitelight `lamp_model.py`): ignition is a retry loop (the lamp "reports its retry loop
///   status", LATISS document). An attempt fails with `ignitionFailureProbability` (stream
///   "<name>.ignition") after waiting `maxLampOnDelaySeconds` for light (max_lamp_on_delay), then the power
///   is set to 0 for `ignitionRetrySeconds` (retry_sleep); a successful attempt lights after
///   `ignitionDelay` (at most max_lamp_on_delay). After `maxIgnitionAttempts` (max_retries) failures the
///   command throws `ignitionFailed`. With no cap the number of attempts N is geometric, P(N = n) =
///   pⁿ⁻¹(1 − p), and the delay (N − 1)(d + r) + L has mean (d + r)·p/(1 − p) + E[L].
///   The warm-up is counted from the lamp-on command of the attempt that lit (lamp_model.py sets
///   lamp_on_time when the lamp is commanded on), so the ignition delay is inside it; the cool-down is
///   counted from the off command and the lamp cannot be re-ignited (`coolingDown`) meanwhile, nor the
///   chiller stopped.
/// - Chiller readings come every `chillerTelemetrySeconds` (telemetry_interval), so a wait for its set
///   point ends at the first reading within tolerance.
/// - Shutter: a move takes `shutterMoveSeconds`; it sticks with `shutterStuckProbability` (stream
///   "<name>.shutter"), and the command then fails at its time limit (`shutterTimeout`).
public final class ATWhiteLight {
    public struct Parameters: Sendable, Equatable {
        public var transitionSeconds: Double
        public var chillerLag: FirstOrderLag
        public var chillerAmbientCelsius: Double
        public var chillerSetPointCelsius: Double
        public var chillerRelativeTolerance: Double
        public var maxLampOnDelaySeconds: Double
        public var ignitionDelay: DurationDistribution
        public var ignitionRetrySeconds: Double
        public var ignitionFailureProbability: Double
        public var maxIgnitionAttempts: Int
        public var warmupSeconds: Double
        public var cooldownSeconds: Double
        public var lightOffSeconds: Double
        public var lampPowerWatts: Double
        public var shutterMoveSeconds: Double
        public var shutterStuckProbability: Double
        public var chillerTelemetrySeconds: Double
        /// Relative sd of the screen illumination between bulbs (drawn once per lamp, stream "<name>.bulb")
        /// and between warm-ups of one bulb (drawn at each ignition, stream "<name>.flux") [U]: the
        /// document's operator limit (30,000 ADU on a 6 s SDSSr flat, 0.8 % above the nominal 29,756) is
        /// tripped by any real variation, so the model must carry one.
        public var bulbFluxSpread: Double = 0.02
        public var warmupFluxSpread: Double = 0.005

        public init(transitionSeconds: Double, chillerLag: FirstOrderLag, chillerAmbientCelsius: Double,
                    chillerSetPointCelsius: Double, chillerRelativeTolerance: Double, maxLampOnDelaySeconds: Double,
                    ignitionDelay: DurationDistribution, ignitionRetrySeconds: Double, ignitionFailureProbability: Double, maxIgnitionAttempts: Int,
                    warmupSeconds: Double, cooldownSeconds: Double, lightOffSeconds: Double, lampPowerWatts: Double,
                    shutterMoveSeconds: Double, shutterStuckProbability: Double, chillerTelemetrySeconds: Double) {
            self.transitionSeconds = transitionSeconds
            self.chillerLag = chillerLag
            self.chillerAmbientCelsius = chillerAmbientCelsius
            self.chillerSetPointCelsius = chillerSetPointCelsius
            self.chillerRelativeTolerance = chillerRelativeTolerance
            self.maxLampOnDelaySeconds = maxLampOnDelaySeconds
            self.ignitionDelay = ignitionDelay
            self.ignitionRetrySeconds = ignitionRetrySeconds
            self.ignitionFailureProbability = ignitionFailureProbability
            self.maxIgnitionAttempts = maxIgnitionAttempts
            self.warmupSeconds = warmupSeconds
            self.cooldownSeconds = cooldownSeconds
            self.lightOffSeconds = lightOffSeconds
            self.lampPowerWatts = lampPowerWatts
            self.shutterMoveSeconds = shutterMoveSeconds
            self.shutterStuckProbability = shutterStuckProbability
            self.chillerTelemetrySeconds = chillerTelemetrySeconds
        }

        /// Defaults (REFERENCES.md §2.4 unless marked):
        /// - CSC transition 1 s per state [U];
        /// - chiller: starts at 25 °C (config), set point 20 °C, relative tolerance 0.2 (power_on_atcalsys.py);
        ///   τ = 60 s, no step dependence [U];
        /// - ignition (the AuxTel ATWhiteLight configuration): a failed attempt waits max_lamp_on_delay 25 s,
        ///   then retry_sleep 60 s with the power at 0; at most max_retries 3 attempts; a successful attempt
        ///   lights after Gamma(mean 8 s, sd 4 s) [U] (the lamp lights within 20 s, REFERENCES.md §2.4);
        ///   failure probability 0.1 per attempt [U];
        /// - warm-up 900 s, cool-down 900 s, light drops in 2 s [U] (the CSC faults after 6 s), power 910 W
        ///   (power_on_atcalsys.py); chiller readings every 7 s (telemetry_interval);
        /// - shutter move 3 s [U] (limits 30 s CSC, 3 min script), sticks with probability 0.001 [U].
        /// With these, power_on_atcalsys takes ≈ 15.4 min on average and power_off_atcalsys 900 s: the
        /// document's "15 minutes" each.
        public static let auxTel = Parameters(
            transitionSeconds: 1,
            chillerLag: FirstOrderLag(referenceTimeConstantSeconds: 60, referenceStepKelvin: 5, stepExponent: 0,
                                      toleranceKelvin: 4, holdSeconds: 0),
            chillerAmbientCelsius: 25, chillerSetPointCelsius: 20, chillerRelativeTolerance: 0.2,
            maxLampOnDelaySeconds: 25, ignitionDelay: DurationDistribution(meanSeconds: 8, sdSeconds: 4),
            ignitionRetrySeconds: 60, ignitionFailureProbability: 0.1, maxIgnitionAttempts: 3,
            warmupSeconds: 900, cooldownSeconds: 900, lightOffSeconds: 2, lampPowerWatts: 910,
            shutterMoveSeconds: 3, shutterStuckProbability: 0.001, chillerTelemetrySeconds: 7)
    }

    public enum LampState: Sendable, Equatable {
        case off
        /// Lit at `since`; warm from `since + warmupSeconds`.
        case on(since: Double)
        /// Turned off at `since`; may be re-ignited from `since + cooldownSeconds`.
        case coolingDown(since: Double)
    }

    public let name: String
    public let lane: String
    public var parameters: Parameters
    /// The CSC's summary state machine (ts_salobj BaseCsc).
    public let csc: CSCStateMachine
    public var summaryState: CSCState { csc.state }
    public private(set) var isChillerRunning = false
    public private(set) var isShutterOpen = false
    private var lamp: LampState = .off
    private var chillerStartCelsius: Double
    private var chillerTargetCelsius: Double
    private var chillerSince: Double
    /// Ignition attempts of the last lamp-on command (what the lamp's log reports).
    public private(set) var lastIgnitionAttempts = 0
    /// This bulb's illumination relative to the nominal (log-normal, mean 1).
    public let bulbFluxFactor: Double
    /// This warm-up's illumination relative to the bulb's (log-normal, mean 1), drawn when the lamp lit.
    public private(set) var warmupFluxFactor = 1.0
    /// What the screen receives relative to the nominal lamp.
    public var fluxFactor: Double { bulbFluxFactor * warmupFluxFactor }
    public let resource: Resource
    unowned let simulation: Simulation

    public init(_ simulation: Simulation, name: String = "ATWhiteLight", lane: String = "lamp",
                parameters: Parameters = .auxTel, summaryState: CSCState = .standby) {
        self.simulation = simulation
        self.name = name
        self.lane = lane
        self.parameters = parameters
        csc = CSCStateMachine(simulation, name: name, lane: lane, state: summaryState, transitionSeconds: parameters.transitionSeconds)
        chillerStartCelsius = parameters.chillerAmbientCelsius
        chillerTargetCelsius = parameters.chillerAmbientCelsius
        chillerSince = simulation.now
        resource = Resource(simulation, name: name)
        bulbFluxFactor = Self.unitLogNormal(parameters.bulbFluxSpread, simulation.stream("\(name).bulb"))
    }

    /// Log-normal of mean 1 and relative sd `spread` (1 when the spread is 0).
    static func unitLogNormal(_ spread: Double, _ stream: RandomStream) -> Double {
        guard spread > 0 else { return 1 }
        let sigma2 = log1p(spread * spread)
        return stream.lognormal(zeta: -sigma2 / 2, sigma: sigma2.squareRoot())
    }

    // MARK: State readings

    /// The lamp state, with cool-down ended once its time is up.
    public var lampState: LampState {
        if case .coolingDown(let since) = lamp, simulation.now >= since + parameters.cooldownSeconds { return .off }
        return lamp
    }

    public var isLampOn: Bool { if case .on = lampState { return true } else { return false } }

    /// Lit for at least the warm-up time.
    public var isLampWarm: Bool {
        if case .on(let since) = lampState { return simulation.now >= since + parameters.warmupSeconds }
        return false
    }

    /// Light reaches the flat screen: lamp on and shutter open. (Whether the screen is illuminated also
    /// depends on the dome's true azimuth.)
    public var isIlluminating: Bool { isLampOn && isShutterOpen }

    public var chillerCelsius: Double {
        parameters.chillerLag.temperatureKelvin(startKelvin: chillerStartCelsius, setPointKelvin: chillerTargetCelsius,
                                                elapsedSeconds: simulation.now - chillerSince)
    }

    /// Seconds until the chiller is within its relative tolerance of the set point (closed form).
    private var chillerReadyAtSeconds: Double {
        let tolerance = parameters.chillerRelativeTolerance * abs(chillerTargetCelsius)
        let step = chillerTargetCelsius - chillerStartCelsius
        var lag = parameters.chillerLag
        lag.toleranceKelvin = max(tolerance, 1e-9)
        let ready = lag.secondsToReady(stepKelvin: step)
        let period = parameters.chillerTelemetrySeconds
        return chillerSince + (period > 0 ? (ready / period).rounded(.up) * period : ready)
    }

    // MARK: Commands

    private func requireEnabled() throws {
        guard summaryState == .enabled else { throw ThermalError.notEnabled(device: name, state: summaryState.rawValue) }
    }

    /// set_summary_state: one transition command per state on the way (`CSCCommand.path`).
    public func setSummaryState(_ target: CSCState) async throws {
        csc.transitionSeconds = parameters.transitionSeconds
        try await csc.setSummaryState(target)
    }

    public func startChiller(setPointCelsius: Double? = nil) throws {
        try requireEnabled()
        let now = chillerCelsius
        chillerStartCelsius = now
        chillerTargetCelsius = setPointCelsius ?? parameters.chillerSetPointCelsius
        chillerSince = simulation.now
        isChillerRunning = true
        simulation.record(name, "chiller start", ["set_point_c": "\(chillerTargetCelsius)"])
    }

    /// Waits until the chiller temperature is within tolerance; throws `setPointNotReached` at the limit.
    public func waitForChiller(timeoutSeconds: Double) async throws {
        let sim = simulation
        try await sim.step("\(name) chiller to set point", lane: lane, use: .lamp) {
            guard isChillerRunning else { throw ThermalError.chillerNeeded(device: name, reason: "chiller is not running") }
            let deadline = sim.now + timeoutSeconds
            let ready = chillerReadyAtSeconds
            if ready <= deadline {
                try await sim.wait(until: ready)
                return
            }
            try await sim.wait(until: deadline)
            throw ThermalError.setPointNotReached(device: "\(name) chiller", setPointKelvin: chillerTargetCelsius,
                                                  reachedKelvin: chillerCelsius, afterSeconds: timeoutSeconds)
        }
    }

    public func stopChiller() throws {
        try requireEnabled()
        switch lampState {
        case .on: throw ThermalError.chillerNeeded(device: name, reason: "the lamp is on")
        case .coolingDown(let since):
            throw ThermalError.chillerNeeded(device: name, reason: "the lamp is cooling down for another \(since + parameters.cooldownSeconds - simulation.now) s")
        case .off: break
        }
        let now = chillerCelsius
        chillerStartCelsius = now
        chillerTargetCelsius = parameters.chillerAmbientCelsius
        chillerSince = simulation.now
        isChillerRunning = false
    }

    /// Lights the lamp through the ignition retry loop; returns the number of attempts.
    @discardableResult
    public func turnLampOn(powerWatts: Double? = nil) async throws -> Int {
        let sim = simulation
        return try await sim.step("\(name) lamp ignition", lane: lane, use: .lamp) {
            try await resource.using {
                try requireEnabled()
                switch lampState {
                case .on: return 0
                case .coolingDown(let since):
                    throw ThermalError.coolingDown(device: name, remainingSeconds: since + parameters.cooldownSeconds - sim.now)
                case .off: break
                }
                guard isChillerRunning else { throw ThermalError.chillerNeeded(device: name, reason: "the lamp needs cooling") }
                let p = parameters
                let ignition = sim.stream("\(name).ignition")
                for attempt in 1...max(1, p.maxIgnitionAttempts) {
                    let commanded = sim.now
                    if !ignition.bernoulli(p.ignitionFailureProbability) {
                        try await sim.timeout(min(p.ignitionDelay.sample(ignition), p.maxLampOnDelaySeconds))
                        lamp = .on(since: commanded)
                        warmupFluxFactor = Self.unitLogNormal(p.warmupFluxSpread, sim.stream("\(name).flux"))
                        lastIgnitionAttempts = attempt
                        sim.record(name, "lamp on", ["attempt": "\(attempt)", "watts": "\(powerWatts ?? p.lampPowerWatts)"])
                        return attempt
                    }
                    try await sim.timeout(p.maxLampOnDelaySeconds)
                    sim.record(name, "ignition retry", ["attempt": "\(attempt)"])
                    if attempt < p.maxIgnitionAttempts { try await sim.timeout(p.ignitionRetrySeconds) }
                }
                lastIgnitionAttempts = p.maxIgnitionAttempts
                throw ThermalError.ignitionFailed(device: name, attempts: p.maxIgnitionAttempts)
            }
        }
    }

    /// Waits for the end of the lamp's warm-up; throws `setPointNotReached` if the lamp is off or the
    /// warm-up would end after the limit.
    public func waitForLampWarm(timeoutSeconds: Double) async throws {
        let sim = simulation
        try await sim.step("\(name) lamp warm-up", lane: lane, use: .lamp) {
            guard case .on(let since) = lampState else {
                throw ThermalError.lampOff(device: name)
            }
            let warm = since + parameters.warmupSeconds
            if warm <= sim.now + timeoutSeconds {
                try await sim.wait(until: warm)
            } else {
                try await sim.timeout(timeoutSeconds)
                throw ThermalError.warmingUp(device: name, remainingSeconds: warm - sim.now)
            }
        }
    }

    /// Turns the lamp off; before the end of warm-up only with `force` (bulb life, §2.4).
    public func turnLampOff(force: Bool = false) async throws {
        let sim = simulation
        try await sim.step("\(name) lamp off", lane: lane, use: .lamp) {
            try await resource.using {
                try requireEnabled()
                guard case .on(let since) = lampState else { return }
                let warm = since + parameters.warmupSeconds
                if !force && sim.now < warm {
                    throw ThermalError.warmingUp(device: name, remainingSeconds: warm - sim.now)
                }
                let commanded = sim.now
                try await sim.timeout(parameters.lightOffSeconds)
                lamp = .coolingDown(since: commanded)
                sim.record(name, "lamp off")
            }
        }
    }

    /// Waits until the lamp's cool-down is over (at once if it is not cooling).
    public func waitForCooldown() async throws {
        let sim = simulation
        try await sim.step("\(name) lamp cool-down", lane: lane, use: .lamp) {
            if case .coolingDown(let since) = lampState { try await sim.wait(until: since + parameters.cooldownSeconds) }
        }
    }

    public func openShutter(timeoutSeconds: Double = 30) async throws { try await moveShutter(open: true, timeoutSeconds: timeoutSeconds) }

    public func closeShutter(timeoutSeconds: Double = 30) async throws { try await moveShutter(open: false, timeoutSeconds: timeoutSeconds) }

    private func moveShutter(open: Bool, timeoutSeconds: Double) async throws {
        let sim = simulation
        try await sim.step("\(name) shutter \(open ? "open" : "close")", lane: lane, use: .mechanism) {
            try requireEnabled()
            guard isShutterOpen != open else { return }
            let p = parameters
            if p.shutterStuckProbability > 0 && sim.stream("\(name).shutter").bernoulli(p.shutterStuckProbability) {
                try await sim.timeout(timeoutSeconds)
                throw ThermalError.shutterTimeout(device: name, limitSeconds: timeoutSeconds)
            }
            guard p.shutterMoveSeconds <= timeoutSeconds else {
                try await sim.timeout(timeoutSeconds)
                throw ThermalError.shutterTimeout(device: name, limitSeconds: timeoutSeconds)
            }
            try await sim.timeout(p.shutterMoveSeconds)
            isShutterOpen = open
        }
    }
}

/// ATCalSys: the calibration-system scripts that drive ATWhiteLight (REFERENCES.md §2.4).
public final class ATCalSys {
    public struct Parameters: Sendable, Equatable {
        public var chillerTimeoutSeconds: Double
        public var lampWarmupTimeoutSeconds: Double
        public var shutterTimeoutSeconds: Double

        public init(chillerTimeoutSeconds: Double, lampWarmupTimeoutSeconds: Double, shutterTimeoutSeconds: Double) {
            self.chillerTimeoutSeconds = chillerTimeoutSeconds
            self.lampWarmupTimeoutSeconds = lampWarmupTimeoutSeconds
            self.shutterTimeoutSeconds = shutterTimeoutSeconds
        }

        /// power_on_atcalsys.py: chiller timeout 15 min, lamp warm-up timeout 20 min, shutter 3 min.
        public static let auxTel = Parameters(chillerTimeoutSeconds: 15 * 60, lampWarmupTimeoutSeconds: 20 * 60,
                                              shutterTimeoutSeconds: 3 * 60)
    }

    public let whiteLight: ATWhiteLight
    public var parameters: Parameters
    public let lane: String
    unowned let simulation: Simulation

    public init(_ simulation: Simulation, whiteLight: ATWhiteLight, lane: String = "lamp", parameters: Parameters = .auxTel) {
        self.simulation = simulation
        self.whiteLight = whiteLight
        self.lane = lane
        self.parameters = parameters
    }

    /// power_on_atcalsys.py, in its order: chiller set point and start, wait until within tolerance (chiller
    /// timeout), open the shutter, lamp on at 910 W, wait for the lamp's state event to say ON (warm-up
    /// timeout, counted from the lamp-on command).
    public func powerOn() async throws {
        let wl = whiteLight, p = parameters
        try await simulation.step("power_on_atcalsys", lane: lane, use: .lamp) {
            try wl.startChiller()
            try await wl.waitForChiller(timeoutSeconds: p.chillerTimeoutSeconds)
            try await wl.openShutter(timeoutSeconds: p.shutterTimeoutSeconds)
            let commanded = simulation.now
            try await wl.turnLampOn()
            try await wl.waitForLampWarm(timeoutSeconds: max(0, p.lampWarmupTimeoutSeconds - (simulation.now - commanded)))
        }
    }

    /// power_off_atcalsys: turn the lamp off, close the shutter, wait out the cool-down (900 s from the off
    /// command), stop the chiller.
    public func powerOff() async throws {
        let wl = whiteLight, p = parameters
        try await simulation.step("power_off_atcalsys", lane: lane, use: .lamp) {
            try await wl.turnLampOff()
            try await wl.closeShutter(timeoutSeconds: p.shutterTimeoutSeconds)
            try await wl.waitForCooldown()
            try wl.stopChiller()
        }
    }
}
