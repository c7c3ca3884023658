import CGSL
import SimKernel

/// A 2-D offset on the sky, milliarcseconds.
public struct SkyOffset: Sendable, Equatable {
    public var xMas: Double
    public var yMas: Double
    public init(xMas: Double, yMas: Double) {
        self.xMas = xMas
        self.yMas = yMas
    }
    public static let zero = SkyOffset(xMas: 0, yMas: 0)
    public static func + (a: SkyOffset, b: SkyOffset) -> SkyOffset { SkyOffset(xMas: a.xMas + b.xMas, yMas: a.yMas + b.yMas) }
    public static func - (a: SkyOffset, b: SkyOffset) -> SkyOffset { SkyOffset(xMas: a.xMas - b.xMas, yMas: a.yMas - b.yMas) }
}

/// The METIS chopper: its absolute home is known poorly, but once powered it traces relative offsets
/// very accurately (ChopperHome document). Each power-on draws a new true home offset, N(0, σ_home) per
/// axis (stream "<name>.home"). Every move, the one to home at power-on included, reaches its target to
/// N(0, σ_repeat) per axis (stream "<name>.relative"). After power-on the pointing drifts thermally as the
/// drive warms: drift(t) = D·(1 − e^(−(t − t_on)/τ)), D ~ N(0, σ_drift) per axis per power-on (stream
/// "<name>.drift"), the same for every commanded offset. The ChopperHome procedure measures the home
/// offset; only the simulator knows `trueHomeOffset` and the drift.
public final class Chopper {
    public struct Parameters: Sendable, Equatable {
        public var homeSigmaMas: Double
        /// Repeatability of reaching a commanded position (home included), per axis.
        public var relativeSigmaMas: Double
        /// Thermal drift's settled amplitude after power-on, per axis (1σ).
        public var driftSigmaMas: Double
        public var driftTimeConstantSeconds: Double
        public var powerOnSeconds: Double
        public var moveSeconds: Double

        public init(homeSigmaMas: Double, relativeSigmaMas: Double, driftSigmaMas: Double = 0, driftTimeConstantSeconds: Double = 1200,
                    powerOnSeconds: Double, moveSeconds: Double) {
            self.homeSigmaMas = homeSigmaMas
            self.relativeSigmaMas = relativeSigmaMas
            self.driftSigmaMas = driftSigmaMas
            self.driftTimeConstantSeconds = driftTimeConstantSeconds
            self.powerOnSeconds = powerOnSeconds
            self.moveSeconds = moveSeconds
        }

        /// All [U] our choice (no public figure for the built chopper; REFERENCES-physics.md §9): home known
        /// to 20 mas per axis ("much lower than our expected overall astrometric accuracy", ChopperHome
        /// document; the plate-scale requirement is 2.3 mas, distortion document); repeatability 0.1 mas
        /// (range 0.05–1.2 mas: the demonstrator's requirement of 1.7 µrad mechanical is ≈1.2 mas on the
        /// sky); thermal drift 0.3 mas settling with τ = 1200 s (ranges 0–1.2 mas, 300–3600 s); power-on
        /// 5 s, a move 0.5 s.
        public static let metis = Parameters(homeSigmaMas: 20, relativeSigmaMas: 0.1, driftSigmaMas: 0.3, driftTimeConstantSeconds: 1200,
                                             powerOnSeconds: 5, moveSeconds: 0.5)

        /// σ per axis of the drift between times `a` and `b` (seconds after power-on):
        /// σ_drift·|e^(−a/τ) − e^(−b/τ)|.
        public func driftSigmaMas(fromSeconds a: Double, toSeconds b: Double) -> Double {
            driftSigmaMas * abs(gsl_sf_exp(-a / driftTimeConstantSeconds) - gsl_sf_exp(-b / driftTimeConstantSeconds))
        }
    }

    public let name: String
    public let lane: String
    public var parameters: Parameters
    public private(set) var isPowered = false
    /// The offset of the true home from nominal zero, redrawn at each power-on.
    public private(set) var trueHomeOffset: SkyOffset = .zero
    /// The last commanded offset relative to home.
    public private(set) var commandedOffset: SkyOffset = .zero
    /// Simulation time of the last power-on (the drift's origin).
    public private(set) var poweredOnAtSeconds = 0.0
    /// The drift's settled amplitude of this power-on.
    public private(set) var driftAmplitude: SkyOffset = .zero
    /// Where the last move left the chopper before drift: home + commanded + the move's repeatability error.
    private var reachedPosition: SkyOffset = .zero
    public let resource: Resource
    unowned let simulation: Simulation

    public init(_ simulation: Simulation, name: String, lane: String, parameters: Parameters) {
        self.simulation = simulation
        self.name = name
        self.lane = lane
        self.parameters = parameters
        self.resource = Resource(simulation, name: name)
    }

    /// The thermal drift at `t` (simulation seconds).
    public func drift(atSeconds t: Double) -> SkyOffset {
        let f = 1 - gsl_sf_exp(-max(0, t - poweredOnAtSeconds) / parameters.driftTimeConstantSeconds)
        return SkyOffset(xMas: driftAmplitude.xMas * f, yMas: driftAmplitude.yMas * f)
    }

    /// Where the chopper really points at `t`, relative to nominal zero.
    public func truePosition(atSeconds t: Double) -> SkyOffset { reachedPosition + drift(atSeconds: t) }

    /// Where the chopper really points now, relative to nominal zero.
    public var truePosition: SkyOffset { truePosition(atSeconds: simulation.now) }

    /// Powers on and goes home: a new true home offset and drift, home reached to the repeatability.
    public func powerOn() async throws {
        let sim = simulation
        try await sim.step("\(name) power on", lane: lane, use: .mechanism) {
            try await resource.using {
                try await sim.timeout(parameters.powerOnSeconds)
                let s = sim.stream("\(name).home")
                trueHomeOffset = SkyOffset(xMas: s.gaussian(sigma: parameters.homeSigmaMas), yMas: s.gaussian(sigma: parameters.homeSigmaMas))
                let d = sim.stream("\(name).drift")
                driftAmplitude = SkyOffset(xMas: d.gaussian(sigma: parameters.driftSigmaMas), yMas: d.gaussian(sigma: parameters.driftSigmaMas))
                poweredOnAtSeconds = sim.now
                commandedOffset = .zero
                reachedPosition = trueHomeOffset + repeatabilityError()
                isPowered = true
            }
        }
    }

    func repeatabilityError() -> SkyOffset {
        let s = simulation.stream("\(name).relative")
        let sigma = parameters.relativeSigmaMas
        return SkyOffset(xMas: s.gaussian(sigma: sigma), yMas: s.gaussian(sigma: sigma))
    }

    public func powerOff() {
        isPowered = false
    }

    /// Moves to `offset` relative to home (a grid offset of the distortion procedure, say).
    public func move(to offset: SkyOffset) async throws {
        let sim = simulation
        try await sim.step("\(name) offset (\(offset.xMas), \(offset.yMas)) mas", lane: lane, use: .mechanism) {
            try await resource.using {
                guard isPowered else { throw MotionError.notPowered(device: name) }
                try await sim.timeout(parameters.moveSeconds)
                commandedOffset = offset
                reachedPosition = trueHomeOffset + offset + repeatabilityError()
            }
        }
    }
}
