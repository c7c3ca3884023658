/// `auxtel/atdome/home_dome.py`: re-homes the dome to its encoder index (the misalignment contingency).
public struct HomeDome: Action {
    public static let name = "auxtel/atdome/home_dome.py"
    public static let summary = "Re-homes ATDome, clearing its encoder error."
    public static let keys: [ParameterSpec] = []
    public init(configuration: ActionConfiguration) throws {}
    public func run(in session: LATISSSession) async throws {
        try session.requireEnabled(["ATDome"], for: "homeAzimuth")
        try await session.auxTel.atDome.home()
    }
}

/// `auxtel/atdome/slew_dome.py`: the dome to an azimuth (the document's small adjustments after homing).
public struct SlewDome: Action {
    public static let name = "auxtel/atdome/slew_dome.py"
    public static let summary = "Slews ATDome to an azimuth."
    public static let az = Key<Double>("az", .quantity(.angle), .required, min: 0, max: 360, doc: "Target azimuth (deg).")
    public static let keys = [az.spec]
    let azimuth: Double
    public init(configuration c: ActionConfiguration) throws { azimuth = c[Self.az] }
    public func run(in session: LATISSSession) async throws {
        try session.requireEnabled(["ATDome"], for: "moveAzimuth")
        try await session.auxTel.atDome.move(toAzimuth: azimuth)
    }
}

/// `auxtel/stop_tracking.py` (BLOCK-310's last script since 2026-02-12, REFERENCES §3.1). The models'
/// mount does not track during calibrations (it stays at the FLAT position), so the command changes
/// nothing and takes no simulated time; no step is recorded. Its command latency is not modelled.
public struct StopTracking: Action {
    public static let name = "auxtel/stop_tracking.py"
    public static let summary = "Stops the mount tracking; the mount does not track during calibrations, so it takes no time."
    public static let keys: [ParameterSpec] = []
    public init(configuration: ActionConfiguration) throws {}
    public func run(in session: LATISSSession) async throws {}
}
