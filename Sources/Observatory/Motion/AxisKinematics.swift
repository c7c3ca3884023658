import Foundation

/// A bad kinematic parameter or move request: names the field, the value given and what is allowed.
public struct KinematicsError: Error, Sendable, Equatable, CustomStringConvertible {
    public let field: String
    public let value: Double
    public let allowed: String
    public init(field: String, value: Double, allowed: String) {
        self.field = field
        self.value = value
        self.allowed = allowed
    }
    public var description: String { "\(field) = \(value) is not allowed: \(allowed)" }
}

/// Which limits a rest-to-rest move reaches. The jerk-limited cases follow the constant-jerk profile of
/// Rubin's scheduler (`rubin_scheduler/.../jerk.py`, after py_constant_jerk; REFERENCES.md §2.1).
public enum MoveProfileCase: String, Sendable, Equatable {
    /// No move.
    case none
    /// Infinite jerk, speed never reaches the maximum: a triangle of speed.
    case triangle
    /// Infinite jerk, cruise at the maximum speed: a trapezoid.
    case trapezoid
    /// Finite jerk, neither the acceleration nor the speed limit reached (jerk.py cases 2 and 4).
    case jerkOnly
    /// Finite jerk, speed limit reached but not the acceleration limit (jerk.py cases 1 and 3).
    case speedLimitedNoFullAcceleration
    /// Finite jerk, acceleration limit held for a time, speed limit not reached (jerk.py case 6).
    case accelerationLimitedNoFullSpeed
    /// Finite jerk, both limits reached: the full seven-phase profile (jerk.py case 5).
    case fullProfile
}

/// The phase durations of a symmetric rest-to-rest move: each half of the acceleration is
/// `jerkSeconds` of ramp-up, `constantAccelerationSeconds` at the acceleration peak, `jerkSeconds` of
/// ramp-down; then `cruiseSeconds` at the peak speed; the deceleration mirrors the acceleration.
/// For infinite jerk `jerkSeconds` is 0.
public struct MoveProfile: Sendable, Equatable {
    public let profileCase: MoveProfileCase
    public let jerkSeconds: Double
    public let constantAccelerationSeconds: Double
    public let cruiseSeconds: Double
    /// The highest acceleration reached, degrees/s².
    public let peakAcceleration: Double
    /// The highest speed reached, degrees/s.
    public let peakSpeed: Double

    /// Total move time, seconds (no settle).
    public var seconds: Double { 2 * (2 * jerkSeconds + constantAccelerationSeconds) + cruiseSeconds }

    /// Distance covered by the profile, integrated phase by phase (an independent check of the closed
    /// form: the phases are built from the limits, this integrates them back).
    public var integratedDistance: Double {
        let tj = jerkSeconds, t2 = constantAccelerationSeconds
        let j = tj > 0 ? peakAcceleration / tj : 0
        // Acceleration half: jerk ramp-up, constant acceleration, jerk ramp-down.
        var v = 0.0, x = 0.0
        if tj > 0 {
            x += j * tj * tj * tj / 6; v += j * tj * tj / 2
        }
        x += v * t2 + peakAcceleration * t2 * t2 / 2; v += peakAcceleration * t2
        if tj > 0 {
            x += v * tj + peakAcceleration * tj * tj / 2 - j * tj * tj * tj / 6
            v += peakAcceleration * tj - j * tj * tj / 2
        }
        // The deceleration half is the mirror image: same distance.
        return 2 * x + v * cruiseSeconds
    }
}

/// One axis's limits for rest-to-rest moves: maximum speed, acceleration, optional jerk, and a settle
/// time after each move. Angles in degrees.
public struct AxisKinematics: Sendable, Equatable {
    public var maxSpeedDegreesPerSecond: Double
    public var accelerationDegreesPerSecond2: Double
    /// nil = infinite jerk (trapezoidal profile).
    public var jerkDegreesPerSecond3: Double?
    public var settleSeconds: Double

    public init(maxSpeed: Double, acceleration: Double, jerk: Double? = nil, settleSeconds: Double = 0) {
        self.maxSpeedDegreesPerSecond = maxSpeed
        self.accelerationDegreesPerSecond2 = acceleration
        self.jerkDegreesPerSecond3 = jerk
        self.settleSeconds = settleSeconds
    }

    /// Checks every limit; throws a `KinematicsError` naming the first bad one.
    public func validate() throws {
        let v = maxSpeedDegreesPerSecond, a = accelerationDegreesPerSecond2
        if !(v > 0) || !v.isFinite { throw KinematicsError(field: "max-speed", value: v, allowed: "a finite speed > 0 deg/s") }
        if !(a > 0) || !a.isFinite { throw KinematicsError(field: "acceleration", value: a, allowed: "a finite acceleration > 0 deg/s²") }
        if let j = jerkDegreesPerSecond3, !(j > 0) || !j.isFinite {
            throw KinematicsError(field: "jerk", value: j, allowed: "a finite jerk > 0 deg/s³, or none for infinite jerk")
        }
        if !(settleSeconds >= 0) || !settleSeconds.isFinite {
            throw KinematicsError(field: "settle", value: settleSeconds, allowed: "a finite time >= 0 s")
        }
    }

    /// The time-optimal symmetric profile for a rest-to-rest move of `distance` degrees (sign ignored).
    ///
    /// Infinite jerk: d_m = v²/a; t = 2√(d/a) if d < d_m, else 2v/a + (d − d_m)/v.
    /// Finite jerk: with v_a = a²/j (speed gained by a pure jerk ramp up to a and back) and
    /// s_a = 2a³/j² (distance of a move whose acceleration just touches a), the profile is
    /// - v ≤ v_a (acceleration limit never reached on the way to v): jerk-only if d < s_v = 2v√(v/j),
    ///   t = 4(d/2j)^⅓; otherwise cruise, t = d/v + 2√(v/j);
    /// - v > v_a: jerk-only if d ≤ s_a, t = 4(d/2j)^⅓; acceleration-limited if d < s_v = v(v/a + a/j),
    ///   t = 2a/j + 2u with u = ½(√(a²/j² + 4d/a) − a/j); full profile otherwise, t = d/v + v/a + a/j.
    /// These are Rubin's scheduler formulas (jerk.py), with the boundaries closed so every input has a case.
    public func profile(distance: Double) throws -> MoveProfile {
        let p = try closedFormProfile(distance: distance)
        // Valid but extreme limits (1e300° at 1e-300°/s) overflow the formulas: refuse rather than answer inf.
        guard p.seconds.isFinite, p.peakSpeed.isFinite, p.peakAcceleration.isFinite else {
            throw KinematicsError(field: "distance", value: distance,
                                  allowed: "a move whose time fits a Double at these limits (the formulas give \(p.seconds) s)")
        }
        return p
    }

    func closedFormProfile(distance rawDistance: Double) throws -> MoveProfile {
        try validate()
        guard rawDistance.isFinite else {
            throw KinematicsError(field: "distance", value: rawDistance, allowed: "a finite angle in degrees")
        }
        let d = abs(rawDistance)
        let v = maxSpeedDegreesPerSecond, a = accelerationDegreesPerSecond2
        if d == 0 {
            return MoveProfile(profileCase: .none, jerkSeconds: 0, constantAccelerationSeconds: 0, cruiseSeconds: 0,
                               peakAcceleration: 0, peakSpeed: 0)
        }
        guard let j = jerkDegreesPerSecond3 else {
            let dm = v * v / a
            if d < dm {
                let half = (d / a).squareRoot()
                return MoveProfile(profileCase: .triangle, jerkSeconds: 0, constantAccelerationSeconds: half,
                                   cruiseSeconds: 0, peakAcceleration: a, peakSpeed: a * half)
            }
            return MoveProfile(profileCase: .trapezoid, jerkSeconds: 0, constantAccelerationSeconds: v / a,
                               cruiseSeconds: (d - dm) / v, peakAcceleration: a, peakSpeed: v)
        }
        let va = a * a / j
        let sa = 2 * a * a * a / (j * j)
        func jerkOnly() -> MoveProfile {
            let tj = Foundation.cbrt(d / (2 * j))
            return MoveProfile(profileCase: .jerkOnly, jerkSeconds: tj, constantAccelerationSeconds: 0,
                               cruiseSeconds: 0, peakAcceleration: j * tj, peakSpeed: j * tj * tj)
        }
        if v <= va {
            let tj = (v / j).squareRoot()
            let sv = 2 * v * tj
            if d < sv { return jerkOnly() }
            return MoveProfile(profileCase: .speedLimitedNoFullAcceleration, jerkSeconds: tj,
                               constantAccelerationSeconds: 0, cruiseSeconds: d / v - 2 * tj,
                               peakAcceleration: j * tj, peakSpeed: v)
        }
        if d <= sa { return jerkOnly() }
        let tj = a / j
        let sv = v * (v / a + a / j)
        if d < sv {
            let u = 0.5 * ((tj * tj + 4 * d / a).squareRoot() - tj)
            return MoveProfile(profileCase: .accelerationLimitedNoFullSpeed, jerkSeconds: tj,
                               constantAccelerationSeconds: u - tj, cruiseSeconds: 0,
                               peakAcceleration: a, peakSpeed: a * u)
        }
        return MoveProfile(profileCase: .fullProfile, jerkSeconds: tj, constantAccelerationSeconds: v / a - tj,
                           cruiseSeconds: d / v - v / a - a / j, peakAcceleration: a, peakSpeed: v)
    }

    /// Rest-to-rest move time in seconds, without settle.
    public func moveSeconds(distance: Double) throws -> Double { try profile(distance: distance).seconds }

    /// Move time plus settle; a zero-length move takes no time at all.
    public func moveAndSettleSeconds(distance: Double) throws -> Double {
        let t = try moveSeconds(distance: distance)
        return t > 0 ? t + settleSeconds : 0
    }
}

/// Angle helpers for azimuth-like axes.
public enum Azimuth {
    /// `degrees` wrapped to [0, 360).
    public static func normalized(_ degrees: Double) -> Double {
        let r = degrees.truncatingRemainder(dividingBy: 360)
        return r < 0 ? r + 360 : r
    }

    /// The signed shortest rotation from `from` to `to`, in (−180, 180].
    public static func shortestDelta(from: Double, to: Double) -> Double {
        var d = normalized(to - from)
        if d > 180 { d -= 360 }
        return d
    }
}
