import Foundation
import Procedures
import ScenarioKit
import SimKernel
import Synchronization
import Testing
@testable import Experiments

/// A trial of ten million events: far longer than anyone waits after Ctrl-C.
struct EndlessCalibration: Procedure {
    static let name = "endless-calibration"
    static let summary = "Waits ten million times."
    static let schema = ProcedureSchema(parameters: [], instrumentPresets: ["auxtel"], instrument: [], faults: [], metrics: [])
    init(configuration: ProcedureConfiguration) throws {}
    func runTrial(_ context: TrialContext) async throws -> TrialResult {
        for _ in 0..<10_000_000 { try await context.simulation.timeout(1) }
        return TrialResult(outcome: .completed)
    }
}

@Suite struct CancellationTests {
    /// The stop request is honoured between a trial's events: the running trial is abandoned, not
    /// finished, and the state is partial with the trials completed before it.
    @Test func aStopAbandonsTheRunningTrial() throws {
        ProcedureRegistry.register(EndlessCalibration.self)
        let s = try ScenarioLoader.parse("name: endless\nprocedure: endless-calibration\nstudy:\n  trials: 3\n", file: "endless.yaml")
        let asked = Atomic<Int>(0)
        // Deterministic: "Ctrl-C" arrives at the 1,000th look, a thousand events into the first trial.
        let options = RunOptions(threads: 1, trialRange: 0..<3, shouldStop: { asked.wrappingAdd(1, ordering: .relaxed).newValue >= 1_000 })
        let state = try StudyRunner.run(s, options: options)
        #expect(state.partial)
        #expect(state.completedTrials == 0)
        #expect(asked.load(ordering: .relaxed) < 2_000)
    }
}
