/// `auxtel/calibrations/power_on_atcalsys.py`: chiller to its set point, ATWhiteLight lamp on and warm
/// (15 min), shutter open (ATCalSys.powerOn).
public struct PowerOnATCalSys: Action {
    public static let name = "auxtel/calibrations/power_on_atcalsys.py"
    public static let summary = "Starts the chiller, lights the white light (15 min warm-up) and opens its shutter."
    public static let useATMonochromator = Key<Bool>("use_atmonochromator", .bool, .defaultValue(.bool(false)),
                                                     doc: "The ATMonochromator is not modelled: only `false` is allowed (BLOCK-309 sets it so).")
    public static let keys = [useATMonochromator.spec]

    public init(configuration c: ActionConfiguration) throws {
        if c[Self.useATMonochromator] {
            throw ConfigurationError(path: c.path(Self.useATMonochromator), "`true` is not simulated (no ATMonochromator model); allowed: false")
        }
    }

    public func run(in session: LATISSSession) async throws { try await session.auxTel.atCalSys.powerOn() }
}

/// `auxtel/calibrations/power_off_atcalsys.py`: lamp off, shutter closed, 15 min cool-down (ATCalSys.powerOff).
public struct PowerOffATCalSys: Action {
    public static let name = "auxtel/calibrations/power_off_atcalsys.py"
    public static let summary = "Turns the white light off, closes its shutter and waits for the lamp's cool-down (15 min)."
    public static let useATMonochromator = PowerOnATCalSys.useATMonochromator
    public static let keys = [useATMonochromator.spec]

    public init(configuration c: ActionConfiguration) throws {
        if c[Self.useATMonochromator] {
            throw ConfigurationError(path: c.path(Self.useATMonochromator), "`true` is not simulated (no ATMonochromator model); allowed: false")
        }
    }

    public func run(in session: LATISSSession) async throws { try await session.auxTel.atCalSys.powerOff() }
}
