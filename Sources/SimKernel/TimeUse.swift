/// What a step's time is spent on, for "where does the time go": every step declares one where it is
/// recorded (`Simulation.step(_:lane:use:_:)`); a step whose parts are of different kinds is cut into
/// sub-steps so that each leaf has one (an image is its overhead, its exposure and its readout).
public enum TimeUse: String, CaseIterable, Sendable, Comparable {
    /// Shutter open: the light (or dark) integration a calibration is for.
    case exposure
    /// Readout and the per-image command/shutter overheads of the camera and its scripts.
    case readoutOverhead = "readout_overhead"
    /// Waiting for data and pipelines: OODS ingestion, OCPS verification jobs, file transfers.
    case dataWait = "data_wait"
    /// Calibration light sources: lamp warm-up, ignition, cool-down, chiller, blackbody warm-up.
    case lamp
    /// Moving mechanisms: mount slews, dome moves and homing, wheels, shutters, masks.
    case mechanism
    /// CSC summary-state transitions (set_summary_state).
    case cscTransition = "csc_transition"
    /// Recovering from what went wrong: the operator's reports, retries, recoveries.
    case contingency
    /// Anything else: script bookkeeping, waiting for a window, time in no step.
    case other

    /// As a report says it.
    public var label: String {
        switch self {
        case .exposure: return "exposure"
        case .readoutOverhead: return "readout and overheads"
        case .dataWait: return "waits for data and pipelines"
        case .lamp: return "lamp"
        case .mechanism: return "mechanisms"
        case .cscTransition: return "CSC transitions"
        case .contingency: return "contingencies"
        case .other: return "other"
        }
    }

    /// Position in `allCases`, for per-use arrays (a `TimeUse` key would hash its raw string).
    public var ordinal: Int {
        switch self {
        case .exposure: return 0
        case .readoutOverhead: return 1
        case .dataWait: return 2
        case .lamp: return 3
        case .mechanism: return 4
        case .cscTransition: return 5
        case .contingency: return 6
        case .other: return 7
        }
    }

    public static func < (a: TimeUse, b: TimeUse) -> Bool { a.ordinal < b.ordinal }
}
