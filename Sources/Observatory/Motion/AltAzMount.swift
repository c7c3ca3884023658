import SimKernel

/// A telescope mount with azimuth and elevation axes that move in parallel, then settle.
///
/// Azimuth is a cable-wrapped coordinate: a target given modulo 360° is taken at the wrap turn
/// (target + k·360°) inside the limits nearest the current position, so the cable wrap, not the shortest
/// angle, decides the direction. Slew time = max(t_az, t_el) + settle (REFERENCES.md §2.1 "t_tel").
public final class AltAzMount {
    public struct Parameters: Sendable, Equatable {
        public var azimuth: AxisKinematics
        public var elevation: AxisKinematics
        public var azimuthLimitsDegrees: ClosedRange<Double>
        public var elevationLimitsDegrees: ClosedRange<Double>
        public var settleSeconds: Double

        public init(azimuth: AxisKinematics, elevation: AxisKinematics, azimuthLimitsDegrees: ClosedRange<Double>,
                    elevationLimitsDegrees: ClosedRange<Double>, settleSeconds: Double) {
            self.azimuth = azimuth
            self.elevation = elevation
            self.azimuthLimitsDegrees = azimuthLimitsDegrees
            self.elevationLimitsDegrees = elevationLimitsDegrees
            self.settleSeconds = settleSeconds
        }

        /// ATMount (ATMCS simulator, REFERENCES.md §2.3 [V, simulator]): 5°/s, 3°/s² on every axis, no jerk
        /// limit; commanded limits el 5–90°, az ±270°; tel_settle_time 3.0 s (`base_tcs.py`).
        public static let atMount = Parameters(
            azimuth: AxisKinematics(maxSpeed: 5, acceleration: 3),
            elevation: AxisKinematics(maxSpeed: 5, acceleration: 3),
            azimuthLimitsDegrees: -270...270, elevationLimitsDegrees: 5...90, settleSeconds: 3.0)
    }

    public let name: String
    public let lane: String
    public var parameters: Parameters
    /// Cable-wrap azimuth (may lie outside 0…360).
    public private(set) var azimuthDegrees: Double
    public private(set) var elevationDegrees: Double
    public let resource: Resource
    unowned let simulation: Simulation

    public init(_ simulation: Simulation, name: String, lane: String, parameters: Parameters,
                azimuthDegrees: Double, elevationDegrees: Double) {
        self.simulation = simulation
        self.name = name
        self.lane = lane
        self.parameters = parameters
        self.azimuthDegrees = azimuthDegrees
        self.elevationDegrees = elevationDegrees
        self.resource = Resource(simulation, name: name)
    }

    /// The cable-wrap azimuth a target is reached at, nearest the current azimuth.
    public func wrapAzimuth(_ target: Double) throws -> Double {
        let limits = parameters.azimuthLimitsDegrees
        let base = Azimuth.normalized(target)
        var best: Double?
        var k = -2.0
        while k <= 2 {
            let c = base + 360 * k
            if limits.contains(c), best.map({ abs(c - azimuthDegrees) < abs($0 - azimuthDegrees) }) ?? true { best = c }
            k += 1
        }
        guard let b = best else {
            throw MotionError.outsideLimits(axis: "\(name) azimuth", degrees: target, range: limits)
        }
        return b
    }

    /// Slew time to (azimuth, elevation), settle included; 0 if already there.
    public func slewSeconds(azimuthDegrees az: Double, elevationDegrees el: Double) throws -> Double {
        guard parameters.elevationLimitsDegrees.contains(el) else {
            throw MotionError.outsideLimits(axis: "\(name) elevation", degrees: el, range: parameters.elevationLimitsDegrees)
        }
        let wrapped = try wrapAzimuth(az)
        let tAz = try parameters.azimuth.moveSeconds(distance: wrapped - azimuthDegrees)
        let tEl = try parameters.elevation.moveSeconds(distance: el - elevationDegrees)
        let t = max(tAz, tEl)
        return t > 0 ? t + parameters.settleSeconds : 0
    }

    /// Slews both axes in parallel and settles.
    public func slew(azimuthDegrees az: Double, elevationDegrees el: Double) async throws {
        let sim = simulation
        try await sim.step("\(name) slew to az \(az) el \(el)", lane: lane, use: .mechanism) {
            try await resource.using {
                let seconds = try slewSeconds(azimuthDegrees: az, elevationDegrees: el)
                let wrapped = try wrapAzimuth(az)
                try await sim.timeout(seconds)
                azimuthDegrees = wrapped
                elevationDegrees = el
                sim.record(name, "in position", ["az": "\(wrapped)", "el": "\(el)"])
            }
        }
    }

    /// Places the mount without a move (restoring a previous night's state).
    public func restore(azimuthDegrees az: Double, elevationDegrees el: Double) {
        azimuthDegrees = az
        elevationDegrees = el
    }
}
