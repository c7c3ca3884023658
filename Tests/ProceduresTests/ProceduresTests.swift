import Testing
@testable import Procedures

struct Registered: Procedure {
    static let name = "registered-for-test"
    static let summary = "Checks the registry."
    static let schema = ProcedureSchema(metrics: [MetricSpec("gain_error_pct", unit: "%", doc: "Gain error.")])
    init(configuration: ProcedureConfiguration) throws {}
    func runTrial(_ context: TrialContext) async throws -> TrialResult { TrialResult(outcome: .completed) }
}

@Suite struct ProcedureFrameworkTests {
    @Test func registryFindsRegisteredNames() {
        ProcedureRegistry.register(Registered.self)
        #expect(ProcedureRegistry.lookup("registered-for-test") != nil)
        #expect(ProcedureRegistry.lookup("registered-for-tset") == nil)
        #expect(Suggestions.closest(to: "registered-for-tset", in: ProcedureRegistry.names) == ["registered-for-test"])
        #expect(ProcedureRegistry.names == ProcedureRegistry.names.sorted())
    }

    @Test func durationIsAlwaysTheFirstMetric() {
        #expect(Registered.schema.allMetrics.map(\.name) == ["duration_s", "gain_error_pct"])
    }

    @Test func outcomeKinds() {
        #expect(Outcome.aborted("restart_limit").kind == "aborted_restart_limit")
        #expect(Outcome.completedAfterRestart.isCompleted && !Outcome.aborted("x").isCompleted)
    }

    @Test func levenshtein() {
        #expect(Suggestions.distance("kitten", "sitting") == 3)
        #expect(Suggestions.distance("", "abc") == 3)
    }
}
