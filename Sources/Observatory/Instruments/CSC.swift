import SimKernel

/// A Rubin CSC summary state (ts_xml `sal_enums.State`, as ts_salobj uses it; REFERENCES §3.2).
public enum CSCState: String, Sendable, CaseIterable {
    case offline = "OFFLINE"
    case standby = "STANDBY"
    case disabled = "DISABLED"
    case enabled = "ENABLED"
    case fault = "FAULT"

    /// The states `set_summary_state.py` may be asked for: every one but FAULT ("The fault state is not
    /// supported", ts_standardscripts set_summary_state.py).
    public static let commandable: [CSCState] = [.offline, .standby, .disabled, .enabled]
}

/// A summary-state transition command and the states it is accepted in (ts_salobj `base_csc.py`, the
/// `do_<command>` methods: `_do_change_state(data, cmd, allowed_curr_states, new_state)`).
public enum CSCCommand: String, Sendable, CaseIterable {
    case enterControl, start, enable, disable, standby, exitControl

    /// The states the CSC accepts the command in; any other is refused ("<cmd> not allowed in state …").
    public var allowedFrom: [CSCState] {
        switch self {
        case .enterControl: return [.offline]
        case .start: return [.standby]
        case .enable: return [.disabled]
        case .disable: return [.enabled]
        case .standby: return [.disabled, .fault]
        case .exitControl: return [.standby]
        }
    }

    public var result: CSCState {
        switch self {
        case .enterControl, .standby: return .standby
        case .start: return .disabled
        case .enable: return .enabled
        case .disable: return .disabled
        case .exitControl: return .offline
        }
    }

    /// The commands `salobj.set_summary_state` sends from `current` to `target`, in order
    /// (ts_salobj `csc_utils.make_state_transition_dict`): one step at a time along OFFLINE ↔ STANDBY ↔
    /// DISABLED ↔ ENABLED; from FAULT, `standby` first, then the path from STANDBY. None when equal.
    public static func path(from current: CSCState, to target: CSCState) -> [CSCCommand] {
        if current == target { return [] }
        if current == .fault { return [.standby] + path(from: .standby, to: target) }
        let order: [CSCState] = [.offline, .standby, .disabled, .enabled]
        guard let a = order.firstIndex(of: current), let b = order.firstIndex(of: target) else { return [] }
        let up: [CSCCommand] = [.enterControl, .start, .enable]
        let down: [CSCCommand] = [.exitControl, .standby, .disable]
        return a < b ? Array(up[a..<b]) : Array(down[b..<a].reversed())
    }
}

/// A command the CSC refuses in its present state, as its `ExpectedError` says it.
public struct CSCCommandRejected: Error, Sendable, Equatable, CustomStringConvertible {
    public let csc: String
    public let command: String
    public let state: CSCState
    public init(csc: String, command: String, state: CSCState) {
        self.csc = csc
        self.command = command
        self.state = state
    }
    public var description: String {
        state == .offline ? "\(csc): cannot get summaryState (the CSC is not running, OFFLINE); \(command) not sent"
                          : "\(csc): \(command) not allowed in state \(state.rawValue)"
    }
}

/// One CSC's summary state machine, as ts_salobj's `BaseCsc` runs it.
///
/// - A transition command is accepted only in its `allowedFrom` states and takes `transitionSeconds`
///   (the command's round trip; [U], 1 s: ts_salobj acknowledges a state command at once unless the CSC's
///   begin_/end_ hooks do work).
/// - `BaseCsc` has no `do_enterControl`: a salobj CSC in OFFLINE has quit (exitControl "and quit") and
///   nothing answers, so `set_summary_state` fails (`Cannot get summaryState`). Only an externally
///   commandable CSC (CCS, LabVIEW: ATCamera, ATMCS, ATPneumatics) accepts enterControl.
/// - Commands that need ENABLED (`assert_enabled`) are refused in any other state.
public final class CSCStateMachine {
    public let name: String
    public let lane: String
    public let externallyCommandable: Bool
    public var transitionSeconds: Double
    public private(set) var state: CSCState
    /// Transition commands sent so far (what the command log counts).
    public private(set) var commandsSent = 0
    unowned let simulation: Simulation

    public init(_ simulation: Simulation, name: String, lane: String, state: CSCState, transitionSeconds: Double,
                externallyCommandable: Bool = false) {
        self.simulation = simulation
        self.name = name
        self.lane = lane
        self.state = state
        self.transitionSeconds = transitionSeconds
        self.externallyCommandable = externallyCommandable
    }

    /// One transition command, refused as the CSC refuses it.
    public func send(_ command: CSCCommand) async throws {
        if state == .offline && !(command == .enterControl && externallyCommandable) {
            throw CSCCommandRejected(csc: name, command: command.rawValue, state: state)
        }
        guard command.allowedFrom.contains(state) else { throw CSCCommandRejected(csc: name, command: command.rawValue, state: state) }
        try await simulation.timeout(transitionSeconds)
        commandsSent += 1
        state = command.result
        simulation.record(name, "summaryState", ["state": state.rawValue])
    }

    /// `salobj.set_summary_state`: the commands of `CSCCommand.path`, one after the other; nothing when
    /// the CSC is already there. The step is recorded even then (a zero-length script line).
    public func setSummaryState(_ target: CSCState) async throws {
        try await simulation.step("set_summary_state \(name) \(target.rawValue)", lane: lane, use: .cscTransition) {
            for command in CSCCommand.path(from: state, to: target) { try await send(command) }
        }
    }

    /// `assert_enabled`: a command that needs ENABLED. The command's text is only built for the refusal:
    /// LATISS asserts its group before every image, and an interpolated text per image cost more than the check.
    public func requireEnabled(for command: @autoclosure () -> String) throws {
        guard state == .enabled else { throw CSCCommandRejected(csc: name, command: command(), state: state) }
    }

    /// Sets the state a trial starts in (an instrument setting), with no command sent.
    public func restore(_ state: CSCState) { self.state = state }

    /// A fault the CSC goes to by itself (a failed command, lost hardware); only `standby` leaves it.
    public func fault() {
        state = .fault
        simulation.record(name, "summaryState", ["state": state.rawValue])
    }
}
