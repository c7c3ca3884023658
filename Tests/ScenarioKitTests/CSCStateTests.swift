import Foundation
import Observatory
import SimKernel
import Testing
@testable import Procedures
@testable import ScenarioKit

/// The salobj summary state machine (ts_salobj base_csc.py, csc_utils.make_state_transition_dict) and
/// set_summary_state carrying each CSC's state through a LATISS run.
@Suite struct CSCStateTests {
    static let line: [CSCState] = [.offline, .standby, .disabled, .enabled]
    static let perTransition = ATWhiteLight.Parameters.auxTel.transitionSeconds

    @Test func pathIsOneCommandPerStateAlongTheLine() {
        // make_state_transition_dict: |i − j| commands between two states of OFFLINE…ENABLED; from FAULT,
        // standby first, then the path from STANDBY.
        for (i, a) in Self.line.enumerated() {
            for (j, b) in Self.line.enumerated() {
                let path = CSCCommand.path(from: a, to: b)
                #expect(path.count == abs(i - j), "\(a) → \(b)")
                // Each command is accepted where the walk stands, and the walk ends at the target.
                var state = a
                for c in path {
                    #expect(c.allowedFrom.contains(state), "\(c) from \(state)")
                    state = c.result
                }
                #expect(state == b)
            }
            #expect(CSCCommand.path(from: .fault, to: a).count == 1 + abs(1 - i))
        }
        #expect(CSCCommand.path(from: .enabled, to: .offline) == [.disable, .standby, .exitControl])
        #expect(CSCCommand.path(from: .offline, to: .enabled) == [.enterControl, .start, .enable])
        #expect(CSCCommand.path(from: .fault, to: .enabled) == [.standby, .start, .enable])
    }

    @Test func commandsAreAcceptedOnlyInTheirBaseCscStates() {
        // base_csc.py: do_start [STANDBY], do_enable [DISABLED], do_disable [ENABLED], do_standby
        // [DISABLED, FAULT], do_exitControl [STANDBY].
        let table: [CSCCommand: Set<CSCState>] = [.start: [.standby], .enable: [.disabled], .disable: [.enabled],
                                                  .standby: [.disabled, .fault], .exitControl: [.standby], .enterControl: [.offline]]
        for (command, allowed) in table { #expect(Set(command.allowedFrom) == allowed, "\(command)") }
    }

    /// Runs `body` on one machine in a fresh simulation; returns the simulated time it took.
    func timed(_ state: CSCState, externally: Bool = false, _ body: @escaping @Sendable (CSCStateMachine) async throws -> Void) throws -> (seconds: Double, machine: CSCStateMachine, error: Error?) {
        let sim = Simulation(seed: 1, trial: 0)
        defer { sim.shutDown() }
        let machine = CSCStateMachine(sim, name: "X", lane: "X", state: state, transitionSeconds: 1.5, externallyCommandable: externally)
        final class Box: @unchecked Sendable { var error: Error? }
        let box = Box()
        let m = machine
        let process = sim.process("p") { do { try await body(m) } catch { box.error = error } }
        try sim.run(until: process)
        return (sim.now, machine, box.error)
    }

    @Test func setSummaryStateCostsOneTransitionTimePerCommand() throws {
        for (i, a) in Self.line.dropFirst().enumerated() {
            for (j, b) in Self.line.dropFirst().enumerated() {
                let r = try timed(a) { try await $0.setSummaryState(b) }
                #expect(r.error == nil)
                #expect(r.machine.state == b)
                #expect(r.machine.commandsSent == abs(i - j))
                #expect(abs(r.seconds - 1.5 * Double(abs(i - j))) < 1e-12)
            }
        }
        let fault = try timed(.fault) { try await $0.setSummaryState(.enabled) }
        #expect(fault.machine.commandsSent == 3 && abs(fault.seconds - 4.5) < 1e-12)
    }

    @Test func wrongStateCommandsFailAsTheCSCWould() throws {
        // A salobj CSC in OFFLINE has quit: nothing answers set_summary_state.
        let offline = try timed(.offline) { try await $0.setSummaryState(.enabled) }
        #expect(offline.error as? CSCCommandRejected == CSCCommandRejected(csc: "X", command: "enterControl", state: .offline))
        #expect(offline.seconds == 0 && offline.machine.state == .offline)
        // An externally commandable one takes enterControl.
        let ccs = try timed(.offline, externally: true) { try await $0.setSummaryState(.enabled) }
        #expect(ccs.error == nil && ccs.machine.commandsSent == 3)
        // enable from STANDBY: "enable not allowed in state STANDBY".
        let enable = try timed(.standby) { try await $0.send(.enable) }
        #expect(enable.error as? CSCCommandRejected == CSCCommandRejected(csc: "X", command: "enable", state: .standby))
        #expect(enable.machine.state == .standby)
        let needs = try timed(.disabled) { try $0.requireEnabled(for: "lampOn") }
        #expect(needs.error != nil)
    }

    // MARK: Through the blocks

    func steps(_ run: String, initial: String = "", weeks: Int = 1, faults: String = nominalFaults) throws -> (result: TrialResult, steps: [StepRecord]) {
        let parameters = "parameters: {nights_since_home: 0, weeks: \(weeks)}"
        let body = initial.isEmpty ? parameters : parameters + "\ninstrument: {csc_initial_states: \(initial)}"
        return try runTrial(documentTiming(try latissScenario(run: run, body: body, contingencies: "", faults: faults, fidelity: .timing)))
    }

    func durations(_ steps: [StepRecord], _ name: String) -> [Double] { steps.filter { $0.name == name }.map(\.duration) }

    @Test func block309Then310PayTheirTransitions() throws {
        let (result, s) = try steps("[BLOCK-309, BLOCK-310]")
        #expect(result.outcome == .completed)
        let t = Self.perTransition
        // Defaults: ATWhiteLight and OCPS:1 in STANDBY → ENABLED is start + enable; BLOCK-310 takes the
        // lamp from ENABLED back to STANDBY (disable + standby).
        #expect(durations(s, "set_summary_state ATWhiteLight ENABLED") == [2 * t])
        #expect(durations(s, "set_summary_state OCPS:1 ENABLED") == [2 * t])
        #expect(durations(s, "set_summary_state ATWhiteLight STANDBY") == [2 * t])
    }

    @Test func stateIsCarriedThroughTheRun() throws {
        // A second week: BLOCK-310 left the lamp in STANDBY (start + enable again) but OCPS:1 ENABLED
        // (nothing to send).
        let (_, twice) = try steps("[BLOCK-309, BLOCK-310]", weeks: 2)
        #expect(durations(twice, "set_summary_state ATWhiteLight ENABLED") == [2 * Self.perTransition, 2 * Self.perTransition])
        #expect(durations(twice, "set_summary_state OCPS:1 ENABLED") == [2 * Self.perTransition, 0])
        // Initial states are an instrument setting: DISABLED pays enable only; ENABLED nothing.
        let (_, set) = try steps("[BLOCK-309, BLOCK-310]", initial: "[[ATWhiteLight, DISABLED], [OCPS:1, ENABLED]]")
        #expect(durations(set, "set_summary_state ATWhiteLight ENABLED") == [Self.perTransition])
        #expect(durations(set, "set_summary_state OCPS:1 ENABLED") == [0])
        // From FAULT: standby, start, enable.
        let (_, fault) = try steps("[BLOCK-309, BLOCK-310]", initial: "[[ATWhiteLight, FAULT]]")
        #expect(durations(fault, "set_summary_state ATWhiteLight ENABLED") == [3 * Self.perTransition])
    }

    @Test func scriptsFailOnACSCInTheWrongState() throws {
        // BLOCK-310 alone: the lamp is still in STANDBY, and power_off_atcalsys' lamp-off needs ENABLED.
        #expect(try steps("[BLOCK-310]").result.outcome == .aborted("csc_state"))
        // The camera group must be ENABLED for an image (LATISS.assert_all_enabled).
        #expect(try steps("[BLOCK-309, BLOCK-295, BLOCK-310]", initial: "[[ATCamera, STANDBY]]").result.outcome == .aborted("csc_state"))
        // The ATCS group for prepare_for_flatfield.
        let (r, s) = try steps("[BLOCK-309, BLOCK-295, BLOCK-310]", initial: "[[ATDome, DISABLED]]")
        #expect(r.outcome == .aborted("csc_state"))
        #expect(!s.contains { $0.name == "prepare_for/flat" && $0.completed })
        // OCPS:1 OFFLINE is a salobj CSC that is not running: BLOCK-309 stops at its set_summary_state.
        #expect(try steps("[BLOCK-309]", initial: "[[OCPS:1, OFFLINE]]").result.outcome == .aborted("csc_state"))
    }

    /// The dome scripts assert ATDome by name (home_dome.py, slew_dome.py): a DISABLED dome refuses homeAzimuth.
    @Test func homeDomeNeedsATDomeEnabled() throws {
        let block = "name: b\nprogram: BLOCK-1\nscripts:\n  - name: auxtel/atdome/home_dome.py\n"
        func outcome(_ initial: String) throws -> TrialResult {
            let (d, dir) = try sequenceProblems(scenario: "name: s\nprocedure: latiss\nrun: [BLOCK-1]\ninstrument: {csc_initial_states: \(initial)}\n"
                                                + "study: {trials: 1, detector: timing}\n", files: ["BLOCK-1.yaml": block])
            #expect(d.isEmpty, "\(d)")
            return try runTrial(documentTiming(try ScenarioLoader.load(path: dir + "/s.yaml"))).result
        }
        #expect(try outcome("[[ATDome, ENABLED]]").outcome == .completed)
        #expect(try outcome("[[ATDome, DISABLED]]").outcome == .aborted("csc_state"))
    }

    @Test func faultCannotBeAskedForAndCSCsMustBeKnown() throws {
        for (data, path) in [("[[ATWhiteLight, FAULT]]", "BLOCK-1.scripts[0].parameters.data[0][1]"),
                             ("[[ATWhitelight, ENABLED]]", "BLOCK-1.scripts[0].parameters.data[0][0]")] {
            let block = "name: b\nprogram: BLOCK-1\nscripts:\n  - name: set_summary_state.py\n    parameters: {data: \(data)}\n"
            let (d, _) = try sequenceProblems(scenario: scenarioRunning("[BLOCK-1]"), files: ["BLOCK-1.yaml": block])
            #expect(d.contains { $0.path.hasSuffix(path) || $0.path.contains("data[0]") }, "\(d)")
        }
        let twice = "name: s\nprocedure: latiss\nrun: [BLOCK-309]\ninstrument: {csc_initial_states: [[OCPS:1, ENABLED], [OCPS:1, STANDBY]]}\nstudy: {trials: 1, detector: timing}\n"
        // The loader builds the procedure, so the duplicate is reported with the scenario's problems.
        #expect(throws: (any Error).self) {
            let s = try ScenarioLoader.parse(twice, file: repositoryRoot + "/Scenarios/t.yaml")
            _ = try LATISS(configuration: s.configuration)
        }
    }
}
