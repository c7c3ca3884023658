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
/// axis, from the stream "<name>.home"; each commanded offset is reached to N(0, σ_relative) per axis
/// (stream "<name>.relative"). The ChopperHome procedure measures the home offset; only the simulator
/// knows `trueHomeOffset`.
public final class Chopper {
    public struct Parameters: Sendable, Equatable {
        public var homeSigmaMas: Double
        public var relativeSigmaMas: Double
        public var powerOnSeconds: Double
        public var moveSeconds: Double

        public init(homeSigmaMas: Double, relativeSigmaMas: Double, powerOnSeconds: Double, moveSeconds: Double) {
            self.homeSigmaMas = homeSigmaMas
            self.relativeSigmaMas = relativeSigmaMas
            self.powerOnSeconds = powerOnSeconds
            self.moveSeconds = moveSeconds
        }

        /// All [U] our choice (no public figure): home known to 20 mas per axis ("much lower than our
        /// expected overall astrometric accuracy", ChopperHome document; the plate-scale requirement is
        /// 2.3 mas, distortion document), relative offsets to 0.1 mas, power-on 5 s, a move 0.5 s.
        public static let metis = Parameters(homeSigmaMas: 20, relativeSigmaMas: 0.1, powerOnSeconds: 5, moveSeconds: 0.5)
    }

    public let name: String
    public let lane: String
    public var parameters: Parameters
    public private(set) var isPowered = false
    /// The offset of the true home from nominal zero, redrawn at each power-on.
    public private(set) var trueHomeOffset: SkyOffset = .zero
    /// The last commanded offset relative to home.
    public private(set) var commandedOffset: SkyOffset = .zero
    /// Where the chopper really points, relative to nominal zero.
    public private(set) var truePosition: SkyOffset = .zero
    public let resource: Resource
    unowned let simulation: Simulation

    public init(_ simulation: Simulation, name: String, lane: String, parameters: Parameters) {
        self.simulation = simulation
        self.name = name
        self.lane = lane
        self.parameters = parameters
        self.resource = Resource(simulation, name: name)
    }

    /// Powers on and goes home: a new true home offset.
    public func powerOn() async throws {
        let sim = simulation
        try await sim.step("\(name) power on", lane: lane, use: .mechanism) {
            try await resource.using {
                try await sim.timeout(parameters.powerOnSeconds)
                let s = sim.stream("\(name).home")
                trueHomeOffset = SkyOffset(xMas: s.gaussian(sigma: parameters.homeSigmaMas), yMas: s.gaussian(sigma: parameters.homeSigmaMas))
                commandedOffset = .zero
                truePosition = trueHomeOffset
                isPowered = true
            }
        }
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
                let s = sim.stream("\(name).relative")
                let sigma = parameters.relativeSigmaMas
                commandedOffset = offset
                truePosition = trueHomeOffset + offset + SkyOffset(xMas: s.gaussian(sigma: sigma), yMas: s.gaussian(sigma: sigma))
            }
        }
    }
}
