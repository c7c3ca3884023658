import Observatory

/// The CSCs the AuxTel/LATISS blocks command or need, with the summary state each is in when a trial
/// starts (instrument `csc_initial_states` overrides any of them; REFERENCES §3.2).
///
/// - The ATCS group (ts_observatory_control `ATCS`: ATMCS, ATPtg, ATAOS, ATPneumatics, ATHexapod, ATDome,
///   ATDomeTrajectory) and the LATISS group (`LATISS`: ATCamera, ATSpectrograph, ATHeaderService, ATOODS)
///   start ENABLED [U]: the night's operations leave them so, and prepare_for_flatfield and every image
///   begin with the group's `assert_all_enabled`.
/// - ATWhiteLight, OCPS:1, Electrometer:201 and FiberSpectrograph:3 start in STANDBY [U]: BLOCK-310 leaves
///   ATWhiteLight there, and BLOCK-309's set_summary_state to ENABLED then pays start + enable (the seed
///   procedure's two transitions for OCPS:1).
/// - Externally commandable CSCs (CCS and LabVIEW, not salobj: ATCamera, ATMCS, ATPneumatics, ATPtg)
///   accept enterControl from OFFLINE; a salobj CSC in OFFLINE is not running (`CSCStateMachine`).
public enum LATISSCSCs {
    public struct Entry: Sendable {
        public let name: String
        public let initial: CSCState
        public let externallyCommandable: Bool
        /// The Gantt lane of its set_summary_state steps.
        public let lane: String
    }

    public static let atcsGroup = ["ATMCS", "ATPtg", "ATAOS", "ATPneumatics", "ATHexapod", "ATDome", "ATDomeTrajectory"]
    public static let latissGroup = ["ATCamera", "ATSpectrograph", "ATHeaderService", "ATOODS"]
    static let externallyCommandable: Set<String> = ["ATCamera", "ATMCS", "ATPneumatics", "ATPtg"]

    public static let all: [Entry] =
        [Entry(name: "ATWhiteLight", initial: .standby, externallyCommandable: false, lane: "lamp")]
        + ["OCPS:1", "Electrometer:201", "FiberSpectrograph:3"].map {
            Entry(name: $0, initial: .standby, externallyCommandable: false, lane: String($0.split(separator: ":")[0]))
        }
        + (atcsGroup + latissGroup).map { Entry(name: $0, initial: .enabled, externallyCommandable: externallyCommandable.contains($0), lane: $0) }

    public static var names: [String] { all.map(\.name) }

    /// The default of `csc_initial_states`, one row per CSC.
    public static var defaultRows: [String] { all.flatMap { [$0.name, $0.initial.rawValue] } }
}
