import SimKernel

/// A rotating dome whose azimuth encoder drifts (the AuxTel ATDome, REFERENCES.md §2.3).
///
/// ## Encoder drift
/// The controller knows only the *believed* azimuth (its encoder); the slit is at the *true* azimuth
/// = believed + `encoderErrorDegrees`. Every move of |Δ| degrees adds an independent N(0, k²·|Δ|) step to
/// the error (`driftDegreesPerSqrtDegree` = k), so the error is a random walk whose variance grows as
/// k² × (total distance travelled since the last homing). The LATISS weekly-calibration document
/// reports "a loss of a couple of degrees" after constant use; k is [U].
///
/// ## Moves
/// Shortest path in believed azimuth, with the dome's kinematics and settle; the dome stops within its
/// in-position tolerance (0.5°, LATISS document): the stop residual is N(0, σ_stop) redrawn until inside
/// the tolerance (ATCS re-commands a dome that is not in position; the re-command time is neglected).
///
/// ## Homing (`home_dome`)
/// The dome slews to believed (home − overshoot), then creeps at the home speed in the +az direction to
/// the home switch at true azimuth `homeAzimuthDegrees`. The creep covers overshoot − e; when the error
/// e exceeds the overshoot the switch is behind: the dome reverses (reverse delay) and creeps back |…|.
/// At the switch the error resets to a residual uniform in ±½ switch window. The duration therefore
/// depends on where the dome is and on its error.
public final class Dome {
    public struct Parameters: Sendable, Equatable {
        public var azimuth: AxisKinematics
        public var inPositionToleranceDegrees: Double
        public var stopSigmaDegrees: Double
        public var driftDegreesPerSqrtDegree: Double
        public var homeAzimuthDegrees: Double
        public var homeSpeedDegreesPerSecond: Double
        public var homeOvershootDegrees: Double
        public var homeSwitchWindowDegrees: Double
        public var reverseDelaySeconds: Double

        public init(azimuth: AxisKinematics, inPositionToleranceDegrees: Double, stopSigmaDegrees: Double,
                    driftDegreesPerSqrtDegree: Double, homeAzimuthDegrees: Double, homeSpeedDegreesPerSecond: Double,
                    homeOvershootDegrees: Double, homeSwitchWindowDegrees: Double, reverseDelaySeconds: Double) {
            self.azimuth = azimuth
            self.inPositionToleranceDegrees = inPositionToleranceDegrees
            self.stopSigmaDegrees = stopSigmaDegrees
            self.driftDegreesPerSqrtDegree = driftDegreesPerSqrtDegree
            self.homeAzimuthDegrees = homeAzimuthDegrees
            self.homeSpeedDegreesPerSecond = homeSpeedDegreesPerSecond
            self.homeOvershootDegrees = homeOvershootDegrees
            self.homeSwitchWindowDegrees = homeSwitchWindowDegrees
            self.reverseDelaySeconds = reverseDelaySeconds
        }

        /// Typical nightly dome travel used to tune the drift default: [U] our choice, two full turns.
        public static let nightlyTravelDegrees = 720.0

        /// ATDome defaults (REFERENCES.md §2.3):
        /// - speed 6°/s: ts_atdome mock controller az_vel (not hardware truth; the real speed is [U]);
        ///   acceleration 3°/s²: [U] our choice (the mock has none; the VFD ramp is unpublished);
        ///   settle 1.0 s: Rubin dome settle (§2.1), [U] for AuxTel;
        /// - in-position tolerance 0.5°: LATISS weekly-calibration document;
        /// - stop σ 0.1°: [U] our choice;
        /// - drift k = 0.02°/√°: [U], tuned so σ = k·√(14 × 720°) ≈ 2.0° after two weeks of nightly use
        ///   ("a couple of degrees", LATISS document);
        /// - home az 10°, home speed 1°/s, overshoot 1°, switch window 0.2°, reverse delay 4 s: ts_atdome
        ///   mock controller, [U] for the hardware.
        public static let atDome = Parameters(
            azimuth: AxisKinematics(maxSpeed: 6, acceleration: 3, settleSeconds: 1.0),
            inPositionToleranceDegrees: 0.5, stopSigmaDegrees: 0.1, driftDegreesPerSqrtDegree: 0.02,
            homeAzimuthDegrees: 10, homeSpeedDegreesPerSecond: 1, homeOvershootDegrees: 1,
            homeSwitchWindowDegrees: 0.2, reverseDelaySeconds: 4)
    }

    public let name: String
    public let lane: String
    public var parameters: Parameters
    /// What the controller reports, [0, 360).
    public private(set) var believedAzimuthDegrees: Double
    /// true − believed.
    public private(set) var encoderErrorDegrees: Double
    /// Distance travelled since the last homing (the drift variance is k² times this).
    public private(set) var travelSinceHomeDegrees: Double = 0
    public let resource: Resource
    unowned let simulation: Simulation

    public init(_ simulation: Simulation, name: String, lane: String, parameters: Parameters,
                believedAzimuthDegrees: Double, encoderErrorDegrees: Double = 0) {
        self.simulation = simulation
        self.name = name
        self.lane = lane
        self.parameters = parameters
        self.believedAzimuthDegrees = Azimuth.normalized(believedAzimuthDegrees)
        self.encoderErrorDegrees = encoderErrorDegrees
        self.resource = Resource(simulation, name: name)
    }

    /// Where the slit really is, [0, 360): what the flat-screen illumination depends on.
    public var trueAzimuthDegrees: Double { Azimuth.normalized(believedAzimuthDegrees + encoderErrorDegrees) }

    /// The drift's standard deviation implied by the travel since homing: k·√(travel).
    public var expectedDriftSigmaDegrees: Double {
        parameters.driftDegreesPerSqrtDegree * travelSinceHomeDegrees.squareRoot()
    }

    /// Move time to a believed azimuth by the shortest path, settle included.
    public func moveSeconds(toAzimuth target: Double) throws -> Double {
        try parameters.azimuth.moveAndSettleSeconds(distance: Azimuth.shortestDelta(from: believedAzimuthDegrees, to: target))
    }

    /// Rotates to `target` (believed azimuth, degrees) by the shortest path; the encoder drifts.
    public func move(toAzimuth target: Double) async throws {
        let sim = simulation
        try await sim.step("\(name) to az \(target)", lane: lane, use: .mechanism) {
            try await resource.using {
                let delta = Azimuth.shortestDelta(from: believedAzimuthDegrees, to: target)
                let seconds = try parameters.azimuth.moveAndSettleSeconds(distance: delta)
                guard seconds > 0 else { return }
                try await sim.timeout(seconds)
                applyMove(distance: abs(delta), target: target)
                sim.record(name, "in position", ["believed_az": "\(believedAzimuthDegrees)", "true_az": "\(trueAzimuthDegrees)"])
            }
        }
    }

    /// The state change of a completed move (drift step and stop residual), without the time it takes.
    func applyMove(distance: Double, target: Double) {
        let k = parameters.driftDegreesPerSqrtDegree
        if k > 0 && distance > 0 {
            encoderErrorDegrees += simulation.stream("\(name).drift").gaussian(sigma: k * distance.squareRoot())
        }
        travelSinceHomeDegrees += distance
        var residual = 0.0
        let sigma = parameters.stopSigmaDegrees, tol = parameters.inPositionToleranceDegrees
        if sigma > 0 {
            let stop = simulation.stream("\(name).stop")
            repeat { residual = stop.gaussian(sigma: sigma) } while abs(residual) > tol
        }
        believedAzimuthDegrees = Azimuth.normalized(target + residual)
    }

    /// Time `home_dome` would take from the current state (see the type's documentation).
    public func homeSeconds() throws -> Double {
        let p = parameters
        let approach = p.homeAzimuthDegrees - p.homeOvershootDegrees
        let fast = try p.azimuth.moveAndSettleSeconds(distance: Azimuth.shortestDelta(from: believedAzimuthDegrees, to: approach))
        let creep = p.homeOvershootDegrees - encoderErrorDegrees
        let reverse = creep < 0 ? p.reverseDelaySeconds : 0
        return fast + reverse + abs(creep) / p.homeSpeedDegreesPerSecond
    }

    /// ATCS.home_dome's sleep after the command (fast_timeout, ts_observatory_control remote_group.py).
    public static let homeCommandSleepSeconds = 5.0

    /// `home_dome`: finds the home switch and resets the encoder error to the switch residual.
    /// The dome ends at the home azimuth, away from the flat-screen position.
    public func home() async throws {
        let sim = simulation
        try await sim.step("home_dome", lane: lane, use: .mechanism) {
            try await resource.using {
                // ATCS.home_dome: the command, then a fixed fast_timeout (5 s) sleep while the dome starts,
                // then the wait for the homing move to end.
                try await sim.timeout(max(Self.homeCommandSleepSeconds, try homeSeconds()))
                let w = parameters.homeSwitchWindowDegrees
                let residual = w > 0 ? sim.stream("\(name).home").uniform(-w / 2, w / 2) : 0
                encoderErrorDegrees = residual
                believedAzimuthDegrees = Azimuth.normalized(parameters.homeAzimuthDegrees - residual)
                travelSinceHomeDegrees = 0
                sim.record(name, "homed", ["believed_az": "\(believedAzimuthDegrees)", "true_az": "\(trueAzimuthDegrees)"])
            }
        }
    }

    /// Places the dome without a move (restoring a previous night's state, drift included).
    public func restore(believedAzimuthDegrees az: Double, encoderErrorDegrees e: Double, travelSinceHomeDegrees travel: Double) {
        believedAzimuthDegrees = Azimuth.normalized(az)
        encoderErrorDegrees = e
        travelSinceHomeDegrees = travel
    }
}
