import ArgumentParser
import Experiments
import Foundation
import ScenarioKit

/// Where a scenario's baseline lives: Scenarios/baselines/<name>.json beside the scenario's folder.
func baselineURL(for scenarioFile: String, name: String, directory: String?) -> URL {
    if let directory { return URL(fileURLWithPath: directory).appendingPathComponent("\(name).json") }
    return URL(fileURLWithPath: scenarioFile).deletingLastPathComponent().appendingPathComponent("baselines/\(name).json")
}

struct BaselineCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "baseline",
        abstract: "Run a scenario and write its timing baseline (Scenarios/baselines/<name>.json).",
        discussion: "The baseline holds the total and per-step timing distributions, the tolerance, the seed and trials used, and the event sequence of the first trials."
    )

    @Argument(help: "Scenario YAML file.") var file: String
    @Option(help: "Trials (>= 1); overrides study.trials.") var trials: Int?
    @Option(help: "Worker threads (>= 1).") var threads: Int = ProcessInfo.processInfo.activeProcessorCount
    @Option(help: "Baselines folder (default: baselines/ beside the scenario).") var directory: String?

    func validate() throws {
        if let trials, trials < 1 { throw ValidationError("--trials must be at least 1, got \(trials)") }
        if threads < 1 { throw ValidationError("--threads must be at least 1, got \(threads)") }
    }

    func run() throws {
        var scenario = try loadScenario(file)
        if let trials { scenario.study.trials = trials }
        do {
            let state = try StudyRunner.run(scenario, options: RunOptions(threads: threads, trialRange: 0..<scenario.study.trials))
            let baseline = try Baseline.make(scenario, state: state)
            let url = baselineURL(for: file, name: scenario.name, directory: directory)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(BaselineFile.json(baseline).bytes()).write(to: url, options: .atomic)
            print("baseline: \(url.path) (\(scenario.study.trials) trials, seed \(scenario.study.seed))")
        } catch let e as TrialFailure {
            throw CommandFailure("baseline: \(e)")
        }
    }
}

struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Re-run scenarios that have a baseline and fail (exit 1) when their timing moved.",
        discussion: """
        A regression is a shift of a step's or the total's p50 or p95 beyond the baseline's tolerance \
        (relative, 2 % and 5 % by default, and at least 1 s): the shift's 95 % bootstrap interval must lie \
        wholly beyond it, so noise and tiny changes never fail a run. A changed event sequence of the first \
        trials (an event added, removed or reordered; shown with the first record that differs) fails too; \
        changed times alone are reported, not failed. Only the rows that moved are printed unless --all. \
        Without files, checks every Scenarios/*.yaml with a baseline.
        """
    )

    @Argument(help: "Scenario YAML files (default: Scenarios/*.yaml).") var files: [String] = []
    @Option(help: "Worker threads (>= 1).") var threads: Int = ProcessInfo.processInfo.activeProcessorCount
    @Option(help: "Baselines folder (default: baselines/ beside each scenario).") var directory: String?
    @Flag(help: "Print every timing row, not only those that moved.") var all = false

    func validate() throws {
        if threads < 1 { throw ValidationError("--threads must be at least 1, got \(threads)") }
    }

    func run() throws {
        var list = files
        if list.isEmpty {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: "Scenarios")) ?? []
            list = names.filter { $0.hasSuffix(".yaml") }.sorted().map { "Scenarios/" + $0 }
        }
        var failed = false
        var checked = 0
        for f in list {
            var scenario = try loadScenario(f)
            let url = baselineURL(for: f, name: scenario.name, directory: directory)
            guard FileManager.default.fileExists(atPath: url.path) else {
                if !files.isEmpty { print("\(f): no baseline at \(url.path) (make one with `obsim baseline \(f)`)") }
                continue
            }
            checked += 1
            do {
                let baseline = try BaselineFile.read(url)
                scenario.study.trials = baseline.trials
                scenario.study.seed = baseline.seed
                let state = try StudyRunner.run(scenario, options: RunOptions(threads: threads, trialRange: 0..<baseline.trials))
                let rows = baseline.compare(timings: Baseline.timings(of: state))
                let diffs = baseline.compare(traces: try Baseline.traces(scenario))
                let bad = rows.contains { $0.failed } || diffs.contains { $0.structural }
                failed = failed || bad
                let shown = all ? rows : rows.filter(\.moved)
                print("\(scenario.name): \(bad ? "FAILED" : "ok") (\(baseline.trials) trials, seed \(baseline.seed); \(rows.filter(\.moved).count) of \(rows.count) timings moved, \(rows.filter(\.failed).count) beyond tolerance)")
                if !shown.isEmpty { print(Self.table(shown)) }
                for d in diffs {
                    let what = d.structural ? "event sequence" : "event times (same events)"
                    if let i = d.index {
                        print("  \(what) of trial \(d.trial) changed at record \(i):\n    baseline: \(d.baseline ?? "(none)")\n    now:      \(d.current ?? "(none)")")
                    } else {
                        print("  \(what) of trial \(d.trial) changed after the first \(Baseline.recordsKept) records")
                    }
                }
            } catch {
                failed = true
                printError("obsim check: \(f): \(error)")
            }
        }
        if checked == 0 { print("no scenario with a baseline") }
        if failed { throw CommandFailure("timing check failed, see the table above") }
    }

    static func table(_ rows: [Baseline.Row]) -> String {
        func f(_ d: Double?) -> String { d.map { String(format: "%.4g", $0) } ?? "–" }
        func shift(_ s: Baseline.Shift?) -> String {
            guard let s else { return "–" }
            return String(format: "%+.2f%% [%+.2f, %+.2f]", 100 * s.estimate, 100 * s.low, 100 * s.high)
        }
        let header = ["timing", "p50 base", "p50 now", "p50 shift [95% CI]", "p95 base", "p95 now", "p95 shift [95% CI]", "verdict"]
        let body = rows.map { r in
            [r.name, f(r.baselineP50), f(r.currentP50), shift(r.p50Shift), f(r.baselineP95), f(r.currentP95), shift(r.p95Shift),
             r.failed ? r.problems.joined(separator: "; ") : "within tolerance"]
        }
        let width = min(60, max(8, rows.map(\.name.count).max() ?? 8))
        return ([header] + body).map { "  " + padded($0, widths: [width, 10, 10, 26, 10, 10, 26]) }.joined(separator: "\n")
    }
}

/// Columns left-aligned to `widths` (the last column unpadded).
func padded(_ cells: [String], widths: [Int]) -> String {
    cells.enumerated().map { i, c in i < widths.count ? c.padding(toLength: max(widths[i], c.count), withPad: " ", startingAt: 0) : c }
        .joined(separator: " ")
}
