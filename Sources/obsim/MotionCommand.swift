import ArgumentParser
import Observatory

struct Motion: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Motion models: rest-to-rest move times.",
        subcommands: [MotionMoveTime.self]
    )
}

struct MotionMoveTime: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "move-time",
        abstract: "Rest-to-rest move time of one axis (no settle).",
        discussion: """
        Without --jerk: trapezoidal profile (infinite jerk). With --jerk: the closed-form constant-jerk \
        profile of Rubin's scheduler kinematic model (jerk.py). Example: TMA azimuth 10° at 7°/s, 7°/s², \
        28°/s³ takes 2.679 s.
        """
    )

    @Option(parsing: .unconditional, help: "Distance to move (>= 0 deg): 10deg, 10 deg, 600 arcmin, or degrees as a bare number.",
            transform: Parse.quantity(.angle, unit: "deg", min: 0))
    var distance: Double
    @Option(name: .customLong("max-speed"), parsing: .unconditional, help: "Maximum speed (> 0 deg/s): 7deg/s, 7 deg/s, or a bare number in deg/s.",
            transform: Parse.quantity(.angularSpeed, unit: "deg/s", min: 0, exclusiveMin: true))
    var maxSpeed: Double
    @Option(parsing: .unconditional, help: "Maximum acceleration (> 0 deg/s²): 7deg/s2, 7 deg/s², or a bare number in deg/s².",
            transform: Parse.quantity(nil, unit: "deg/s²", extraUnits: ["deg/s2", "deg/s^2"], min: 0, exclusiveMin: true))
    var acceleration: Double
    @Option(parsing: .unconditional, help: "Maximum jerk (> 0 deg/s³): 28deg/s3, 28 deg/s³, or a bare number in deg/s³; omit for infinite jerk.",
            transform: Parse.quantity(nil, unit: "deg/s³", extraUnits: ["deg/s3", "deg/s^3"], min: 0, exclusiveMin: true))
    var jerk: Double?
    @Flag(help: "Print {\"seconds\": t} as JSON.") var json = false

    func run() throws {
        let axis = AxisKinematics(maxSpeed: maxSpeed, acceleration: acceleration, jerk: jerk)
        let profile: MoveProfile
        do {
            profile = try axis.profile(distance: distance)
        } catch let e as KinematicsError {
            throw ValidationError("--\(e.field): \(e)")
        }
        if json {
            print(JSONLine([("seconds", .double(profile.seconds))]).text)
        } else {
            print("\(profile.seconds) s (\(profile.profileCase.rawValue); peak speed \(profile.peakSpeed) deg/s, peak acceleration \(profile.peakAcceleration) deg/s²)")
        }
    }
}
