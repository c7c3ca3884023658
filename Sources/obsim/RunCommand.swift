import ArgumentParser
import Experiments
import Foundation
import Procedures
import Reporting
import ScenarioKit
import Synchronization

/// Set by SIGINT; the runner stops between trials and the completed ones are written, marked partial.
let stopRequested = Atomic<Bool>(false)

/// `I/N`, 0-based shard index of N.
struct ShardSpec {
    let index: Int
    let count: Int

    @Sendable static func parse(_ argument: String) throws -> ShardSpec {
        let parts = argument.split(separator: "/")
        guard parts.count == 2, let i = Int(parts[0]), let n = Int(parts[1]), n >= 1, i >= 0, i < n else {
            throw Parse.Invalid(description: "expected I/N with 0 <= I < N (e.g. 3/64), got '\(argument)'")
        }
        return ShardSpec(index: i, count: n)
    }
}

/// Loads a scenario or exits with every problem printed.
func loadScenario(_ path: String) throws -> Scenario {
    do {
        return try ScenarioLoader.load(path: path)
    } catch let e as ScenarioErrors {
        FileHandle.standardError.write(Data((e.description + "\n").utf8))
        throw CommandFailure("\(path): \(e.diagnostics.count) problem(s), listed above")
    }
}

/// A command failed; its one-line message follows `obsim: ` on standard error.
struct CommandFailure: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

func printError(_ s: String) { FileHandle.standardError.write(Data((s + "\n").utf8)) }

/// Progress on stderr: a bar redrawn in place on a terminal, a plain line every 10 s otherwise. Counts
/// trial runs (one trial at one sweep point), so a large sweep moves as its points run; the rate and the
/// time left are measured from the start of the run.
final class ProgressPrinter: @unchecked Sendable {
    let start = Date()
    let isTerminal = isatty(2) == 1
    let lock = NSLock()
    var last = Date.distantPast
    let points: Int
    let trials: Int

    init(points: Int, trials: Int) {
        self.points = points
        self.trials = trials
    }

    static func clock(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        return s >= 3600 ? String(format: "%d h %02d min", s / 3600, (s % 3600) / 60) : s >= 60 ? String(format: "%d min %02d s", s / 60, s % 60) : "\(s) s"
    }

    func text(done: Int, total: Int, elapsed: Double) -> String {
        let rate = Double(done) / max(elapsed, 1e-9)
        var text = points > 1
            ? "\(done)/\(total) trial runs (\(trials) trials × \(points) points; \(done / points) trials done at every point)"
            : "\(done)/\(total) trials"
        text += String(format: ", %.3g %@/s", rate, points > 1 ? "runs" : "trials")
        if done < total { text += done > 0 ? ", \(Self.clock(Double(total - done) / rate)) left" : ", time left not yet known" }
        return text + ", \(Self.clock(elapsed)) elapsed"
    }

    func update(_ done: Int, _ total: Int) {
        lock.lock(); defer { lock.unlock() }
        let now = Date()
        guard done == total || now.timeIntervalSince(last) >= (isTerminal ? 0.2 : 10) else { return }
        last = now
        let text = text(done: done, total: total, elapsed: now.timeIntervalSince(start))
        if isTerminal {
            let width = 30
            let filled = total > 0 ? width * done / total : width
            let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
            FileHandle.standardError.write(Data("\r[\(bar)] \(text)\u{1B}[K".utf8))
            if done == total { FileHandle.standardError.write(Data("\n".utf8)) }
        } else {
            printError(text)
        }
    }
}

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a scenario's Monte Carlo study and write its report folder.",
        discussion: """
        Trial t of every sweep point draws from streams keyed by (seed, t), so the results do not depend on \
        --threads or --shard. The report (summary.json, summary.md, trials.csv, state.json, run.json) is written \
        to a temporary folder and renamed into place. Ctrl-C stops after the running trials and writes the \
        completed ones, marked partial. On a cluster: --shard $SLURM_ARRAY_TASK_ID/64 --out parts/$SLURM_ARRAY_TASK_ID, \
        then `obsim merge parts/* --out DIR`.
        """
    )

    @Argument(help: "Scenario YAML file.") var file: String
    @Option(help: "Trials per sweep point (>= 1); overrides study.trials.") var trials: Int?
    @Option(help: "Master seed (>= 0); overrides study.seed.") var seed: Int?
    @Option(help: "Worker threads (>= 1).") var threads: Int = ProcessInfo.processInfo.activeProcessorCount
    @Option(help: "Report folder; overrides outputs.directory (default Reports/<name>).") var out: String?
    @Option(help: "Run only shard I of N (0-based, I/N), for a job array; merge the parts with `obsim merge`.", transform: ShardSpec.parse)
    var shard: ShardSpec?
    @Flag(help: "Also write trace.txt: the time-ordered event log of the detail trial (outputs.detail_trial).") var trace = false
    @Option(help: "Write the simulated frames of the detail trial (outputs.detail_trial) as FITS files into this folder.")
    var frames: String?

    func validate() throws {
        if let trials, trials < 1 { throw ValidationError("--trials must be at least 1, got \(trials)") }
        if let seed, seed < 0 { throw ValidationError("--seed must be a non-negative integer, got \(seed)") }
        if threads < 1 { throw ValidationError("--threads must be at least 1, got \(threads)") }
    }

    func run() throws {
        var scenario = try loadScenario(file)
        if let trials { scenario.study.trials = trials }
        if let seed { scenario.study.seed = UInt64(seed) }
        scenario.contentDigest = ScenarioDigest.of(scenario)
        if scenario.outputs.detailTrial >= scenario.study.trials { scenario.outputs.detailTrial = 0 }
        let outPath = out ?? scenario.outputs.directory
        let range = shard.map { RunOptions.shardRange(index: $0.index, count: $0.count, trials: scenario.study.trials) }
            ?? 0..<scenario.study.trials

        signal(SIGINT) { _ in stopRequested.store(true, ordering: .relaxed) }
        let folder = try ReportFolder(outPath)
        do {
            let started = Date()
            let header = StudyState(scenario: scenario, ranges: [range])
            let csv = try TrialsCSVWriter(url: folder.file("trials.csv"), state: header)
            let progress = ProgressPrinter(points: scenario.sweepPoints.count, trials: range.count)
            let options = RunOptions(threads: threads, trialRange: range,
                                     shouldStop: { stopRequested.load(ordering: .relaxed) },
                                     progress: { progress.update($0, $1) })
            let state = try StudyRunner.run(scenario, options: options, sink: csv)
            try csv.close()
            let wall = Date().timeIntervalSince(started)
            try ReportWriter.write(state, description: scenario.description, into: folder)
            try ReportWriter.writeHTML(state, scenario: scenario, into: folder)
            if let frames, range.contains(scenario.outputs.detailTrial) {
                let procedure = try StudyRunner.procedures(for: scenario)[0]
                let run = try StudyRunner.runTrial(procedure, scenario: scenario, point: scenario.sweepPoints[0],
                                                   trial: scenario.outputs.detailTrial, keepsDetail: true)
                if run.result.frames.isEmpty {
                    printError("obsim: note: procedure \(scenario.procedureName) produced no frames at detector fidelity '\(scenario.study.fidelity.rawValue)'")
                }
                let written = try FrameFiles.write(run.result.frames, into: URL(fileURLWithPath: frames))
                print("frames: \(written.count) FITS file(s) of trial \(scenario.outputs.detailTrial) in \(frames)")
            }
            if trace, range.contains(scenario.outputs.detailTrial) {
                let procedure = try StudyRunner.procedures(for: scenario)[0]
                let run = try StudyRunner.runTrial(procedure, scenario: scenario, point: scenario.sweepPoints[0],
                                                   trial: scenario.outputs.detailTrial, trace: true)
                try Data(TraceText.lines(run).joined(separator: "\n").appending("\n").utf8).write(to: folder.file("trace.txt"))
            }
            try RunInfo.write(to: folder.file("run.json"), wallSeconds: wall, threads: threads, shard: shard.map { "\($0.index)/\($0.count)" },
                              trials: state.completedTrials * state.points.count, file: file, partial: state.partial)
            try folder.commit()
            print("\(state.partial ? "partial report (stopped)" : "report"): \(outPath) (\(state.completedTrials) trials × \(state.points.count) point(s), \(String(format: "%.2f", wall)) s)")
            if state.partial { throw CommandFailure("stopped: the partial report holds \(state.completedTrials) completed trials") }
        } catch let e as CommandFailure {
            throw e
        } catch {
            folder.discard()
            throw CommandFailure("run: \(error)")
        }
    }
}

/// The files every report folder holds besides trials.csv and run.json.
enum ReportWriter {
    static func write(_ state: StudyState, description: String, into folder: ReportFolder) throws {
        try StateFile.write(state, to: folder.file("state.json"))
        try Data(SummaryJSON.json(state).text().utf8).write(to: folder.file("summary.json"))
        try Data(SummaryMarkdown.text(state, description: description).utf8).write(to: folder.file("summary.md"))
    }

    /// report.html: needs trials.csv (already in the folder) to pick the median trial, which is re-run
    /// (same seed and trial index, so the same trial) for the Gantt timeline and the series plots.
    static func writeHTML(_ state: StudyState, scenario: Scenario, into folder: ReportFolder) throws {
        var detail: StudyReport.DetailTrial?
        if let t = try StudyReport.medianTrial(csvFile: folder.file("trials.csv"), state: state) {
            let procedure = try StudyRunner.procedures(for: scenario)[0]
            let run = try StudyRunner.runTrial(procedure, scenario: scenario, point: scenario.sweepPoints[0], trial: t, keepsDetail: true)
            detail = StudyReport.DetailTrial(trial: t, durationSeconds: run.durationSeconds, steps: run.steps,
                                             series: run.result.series, outcome: run.result.outcome.kind, startSeconds: run.startSeconds)
        }
        try Data(StudyReport.html(state, description: scenario.description, detail: detail).utf8).write(to: folder.file("report.html"))
    }
}

/// `run.json`: what depends on the host and the clock, kept out of summary.json.
enum RunInfo {
    static func write(to url: URL, wallSeconds: Double, threads: Int, shard: String?, trials: Int, file: String, partial: Bool) throws {
        let host = ProcessInfo.processInfo
        let json = JSONValue.object([
            "obsim_version": .string(ObsimVersion.string),
            "scenario_file": .string(file),
            "started_utc": .string(ISO8601DateFormatter().string(from: Date(timeIntervalSinceNow: -wallSeconds))),
            "wall_s": .double(wallSeconds),
            "trials_run": .int(Int64(trials)),
            "trials_per_s": .double(Double(trials) / max(wallSeconds, 1e-9)),
            "threads": .int(Int64(threads)),
            "shard": shard.map { .string($0) } ?? .null,
            "host": .string(host.hostName),
            "cores": .int(Int64(host.activeProcessorCount)),
            "partial": .bool(partial),
        ])
        try Data(json.text().utf8).write(to: url)
    }
}

/// One line per trace record, time-ordered, as `obsim trace` prints it.
enum TraceText {
    static func lines(_ run: TrialRun) -> [String] {
        (run.trace ?? []).map { r in
            let attrs = r.attributes.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
            return String(format: "%12.3f  ", r.time) + padded([r.actor, r.action, attrs], widths: [16, 10])
        }
    }
}
