import Observatory

/// `set_summary_state.py` (ts_standardscripts): moves each listed CSC to the given summary state, in order,
/// through `salobj.set_summary_state` (one transition command per state on the way, none when the CSC is
/// already there; `CSCStateMachine`). FAULT cannot be asked for (the script refuses it).
public struct SetSummaryState: Action {
    public static let name = "set_summary_state"
    public static let summary = "Moves CSCs to summary states: `data: [[ATWhiteLight, ENABLED]]`, one command per transition from the present state."
    public static let data = Key<WordRows>("data", .rows([LATISSCSCs.names, CSCState.commandable.map(\.rawValue)]), .required,
                                           doc: "[CSC, state] pairs, in the order the script sets them (the script's optional third element, a start override, is not simulated).")
    public static let keys = [data.spec]
    public static let acceptedKeys = [
        AcceptedKey("mute_alarms", "Watcher alarms muted while a CSC goes OFFLINE; the Watcher is not simulated"),
        AcceptedKey("mute_duration", "how long those alarms stay muted; the Watcher is not simulated"),
    ]

    let targets: [(csc: String, state: CSCState)]

    public init(configuration c: ActionConfiguration) throws {
        targets = c[Self.data].rows.map { ($0[0], CSCState(rawValue: $0[1])!) }
        if targets.isEmpty { throw ConfigurationError(path: c.path(Self.data), "needs at least one [CSC, state] pair") }
    }

    public func run(in session: LATISSSession) async throws {
        for t in targets { try await session.setSummaryState(t.csc, t.state) }
    }
}
