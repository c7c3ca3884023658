import Observatory

/// `set_summary_state.py` (ts_standardscripts): moves each listed CSC to the given summary state, in order.
public struct SetSummaryState: Action {
    public static let name = "set_summary_state"
    public static let summary = "Moves CSCs to summary states: `data: [[ATWhiteLight, ENABLED]]`."
    /// The CSCs of the LATISS calibration blocks (BLOCK-309/310 in ts_config_ocs).
    public static let cscs = ["ATWhiteLight", "OCPS:1", "Electrometer:201", "FiberSpectrograph:3"]
    public static let data = Key<WordRows>("data", .rows([cscs, CSCState.allCases.map(\.rawValue)]), .required,
                                           doc: "[CSC, state] pairs, in the order the script sets them.")
    public static let keys = [data.spec]

    let targets: [(csc: String, state: CSCState)]

    public init(configuration c: ActionConfiguration) throws {
        targets = c[Self.data].rows.map { ($0[0], CSCState(rawValue: $0[1])!) }
        if targets.isEmpty { throw ConfigurationError(path: c.path(Self.data), "needs at least one [CSC, state] pair") }
    }

    public func run(in session: LATISSSession) async throws {
        for t in targets { try await session.setSummaryState(t.csc, t.state) }
    }
}
