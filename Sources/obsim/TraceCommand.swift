import ArgumentParser
import Experiments
import Foundation
import ScenarioKit

struct TraceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "trace",
        abstract: "Re-run one trial of a scenario with the trace on and print its time-ordered event log."
    )

    @Argument(help: "Scenario YAML file.") var file: String
    @Option(help: "Trial index (>= 0).") var trial: Int = 0
    @Option(help: "Sweep point index (>= 0), when the scenario sweeps.") var point: Int = 0
    @Option(help: "Master seed (>= 0); overrides study.seed.") var seed: Int?

    func validate() throws {
        if trial < 0 { throw ValidationError("--trial must be a non-negative integer, got \(trial)") }
        if point < 0 { throw ValidationError("--point must be a non-negative integer, got \(point)") }
        if let seed, seed < 0 { throw ValidationError("--seed must be a non-negative integer, got \(seed)") }
    }

    func run() throws {
        var scenario = try loadScenario(file)
        if let seed { scenario.study.seed = UInt64(seed) }
        let points = scenario.sweepPoints
        guard point < points.count else { throw ValidationError("--point must be below \(points.count) (the sweep's points), got \(point)") }
        let procedure = try StudyRunner.procedures(for: scenario)[point]
        do {
            let run = try StudyRunner.runTrial(procedure, scenario: scenario, point: points[point], trial: trial, trace: true)
            print("# \(scenario.name) trial \(trial) seed \(scenario.study.seed): \(run.result.outcome.kind), \(run.durationSeconds) s, fingerprint \(String(run.traceFingerprint ?? 0, radix: 16))")
            for line in TraceText.lines(run) { print(line) }
            print("# steps")
            for s in run.steps {
                print(String(format: "%12.3f %12.3f  ", s.start, s.end) + padded([s.lane, s.name + (s.completed ? "" : " (aborted)")], widths: [16]))
            }
        } catch let e as TrialFailure {
            throw CommandFailure("trace: \(e)")
        }
    }
}
