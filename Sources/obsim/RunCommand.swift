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

/// Fails before anything is simulated when files cannot be created in `path` (read-only, no permission).
func checkWritable(_ path: String, option: String) throws {
    do {
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    } catch {
        throw CommandFailure("\(option): cannot create the folder \(path): \(ReportFolder.reason(error))")
    }
    let probe = URL(fileURLWithPath: path).appendingPathComponent(".obsim-write-test-\(getpid())").path
    let fd = open(probe, O_WRONLY | O_CREAT | O_EXCL, 0o600)
    guard fd >= 0 else { throw CommandFailure("\(option): cannot write in \(path): \(String(cString: strerror(errno)))") }
    close(fd)
    unlink(probe)
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
        to a temporary folder and renamed into place. Ctrl-C abandons the running trials and writes the \
        completed ones, marked partial; a second Ctrl-C quits at once, leaving the previous report. On a cluster: --shard $SLURM_ARRAY_TASK_ID/64 --out parts/NAME/$SLURM_ARRAY_JOB_ID/$SLURM_ARRAY_TASK_ID, \
        then `obsim merge parts/NAME/$SLURM_ARRAY_JOB_ID/* --out DIR --scenario FILE` (Scenarios/cluster/slurm-array.sh does both).
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
        if let trials, trials < 1 || trials > StateFile.maximumTrials {
            throw ValidationError("--trials must be between 1 and \(StateFile.maximumTrials), got \(trials)")
        }
        if let seed, seed < 0 { throw ValidationError("--seed must be a non-negative integer, got \(seed)") }
        if threads < 1 { throw ValidationError("--threads must be at least 1, got \(threads)") }
    }

    func run() throws {
        var scenario = try loadScenario(file)
        if let trials {
            let runs = Double(trials) * Double(scenario.sweepPoints.count)
            guard runs <= ScenarioLoader.maximumTrialRuns else {
                throw CommandFailure("--trials \(trials) × \(scenario.sweepPoints.count) sweep points is more than \(ScenarioLoader.maximumTrialRuns) trial runs, Obsim's bound on a study")
            }
            scenario.study.trials = trials
        }
        if let seed { scenario.study.seed = UInt64(seed) }
        scenario.contentDigest = ScenarioDigest.of(scenario)
        if scenario.outputs.detailTrial >= scenario.study.trials { scenario.outputs.detailTrial = 0 }
        let outPath = out ?? scenario.outputs.directory
        let range = shard.map { RunOptions.shardRange(index: $0.index, count: $0.count, trials: scenario.study.trials) }
            ?? 0..<scenario.study.trials

        // First Ctrl-C: abandon the running trials and write the completed ones (within a second or so).
        // Second: exit at once; nothing was committed yet, so the previous report stays as it was.
        signal(SIGINT) { _ in
            if stopRequested.exchange(true, ordering: .relaxed) { _exit(130) }
            let note: StaticString = "\nobsim: stopping: writing the completed trials (Ctrl-C again to quit without a report)\n"
            _ = write(2, note.utf8Start, note.utf8CodeUnitCount)
        }
        let folder = try ReportFolder(outPath)
        let framesFolder = frames.map { folder.staged(URL(fileURLWithPath: $0)) }
        if let frames, let framesFolder {
            do { try checkWritable(framesFolder.path, option: "--frames \(frames)") } catch { folder.discard(); throw error }
        }
        do {
            let started = Date()
            let header = StudyState(scenario: scenario, ranges: [range])
            let csv = try TrialsCSVWriter(url: folder.file("trials.csv"), state: header)
            let progress = ProgressPrinter(points: scenario.sweepPoints.count, trials: range.count)
            let options = RunOptions(threads: threads, trialRange: range,
                                     shouldStop: { stopRequested.load(ordering: .relaxed) },
                                     progress: { progress.update($0, $1) })
            var state = try StudyRunner.run(scenario, options: options, sink: csv)
            try csv.close()
            // The sensitivity runs its own trials 0..<n: the run or shard holding trial 0 does it, so a
            // merge of shards has it once.
            if scenario.study.sensitivity != nil, !state.partial, range.lowerBound == 0 {
                do {
                    state.sensitivity = try SensitivityStudy.run(scenario, threads: threads, shouldStop: { stopRequested.load(ordering: .relaxed) },
                                                                 progress: { done, all in
                                                                     if done == 0 || done == all { printError("obsim: sensitivity: \(done) of \(all) runs of \(scenario.study.sensitivity!.trials) trials") }
                                                                 })
                } catch is SensitivityStudy.Stopped {
                    printError("obsim: note: stopped during study.sensitivity; the report has every trial but no sensitivity section")
                }
            }
            let wall = Date().timeIntervalSince(started)
            // A stopped run skips re-simulating trials (timeline, frames, trace): it was asked to end now.
            try ReportWriter.writeAll(state, scenario: scenario, into: folder, withTimeline: !state.partial, threads: threads)
            if let frames, !state.partial, range.contains(scenario.outputs.detailTrial) {
                let procedure = try StudyRunner.procedures(for: scenario)[0]
                let run = try StudyRunner.runTrial(procedure, scenario: scenario, point: scenario.sweepPoints[0],
                                                   trial: scenario.outputs.detailTrial, keepsDetail: true)
                if run.result.frames.isEmpty {
                    printError("obsim: note: procedure \(scenario.procedureName) produced no frames at detector fidelity '\(scenario.study.fidelity.rawValue)'")
                }
                let written = try FrameFiles.write(run.result.frames, into: framesFolder ?? URL(fileURLWithPath: frames))
                print("frames: \(written.count) FITS file(s) of trial \(scenario.outputs.detailTrial) in \(frames)")
            }
            if trace, !state.partial, range.contains(scenario.outputs.detailTrial) {
                let procedure = try StudyRunner.procedures(for: scenario)[0]
                let run = try StudyRunner.runTrial(procedure, scenario: scenario, point: scenario.sweepPoints[0],
                                                   trial: scenario.outputs.detailTrial, trace: true)
                try Data(TraceText.lines(run).joined(separator: "\n").appending("\n").utf8).write(to: folder.file("trace.txt"))
            }
            try RunInfo.write(to: folder.file("run.json"), wallSeconds: wall, threads: threads, shard: shard.map { "\($0.index)/\($0.count)" },
                              trials: state.completedTrials * state.points.count, file: file, partial: state.partial)
            try folder.commit()
            noteNoTwilight(state, scenario)
            let seconds = String(format: "%.2f", wall)
            // A stopped run says so once, on stderr with the non-zero exit, so a script reading stdout
            // never mistakes the partial report for a finished one.
            if state.partial {
                throw CommandFailure("stopped: partial report \(outPath) holds \(state.completedTrials) of \(range.count) trials × \(state.points.count) point(s) (\(seconds) s)")
            }
            print("report: \(outPath) (\(state.completedTrials) trials × \(state.points.count) point(s), \(seconds) s)")
        } catch let e as CommandFailure {
            throw e
        } catch {
            folder.discard()
            throw CommandFailure("run: \(folder.explain(error))")
        }
    }

    /// Dates of a sweep on which the Sun does not set or rise at the site are outcomes of their points;
    /// say where, so a study at high latitude is not mistaken for an infeasible procedure.
    func noteNoTwilight(_ state: StudyState, _ scenario: Scenario) {
        let points = state.points.indices.compactMap { i -> String? in
            let kinds = state.points[i].outcomes.keys.filter { $0.hasPrefix("no_twilight_") }.sorted()
            guard !kinds.isEmpty else { return nil }
            let label = zip(state.sweepPaths, state.pointLabels[i]).map { "\($0) = \($1)" }.joined(separator: ", ")
            return (label.isEmpty ? "" : label + ": ") + kinds.map { $0.dropFirst("no_twilight_".count).replacingOccurrences(of: "_", with: " ") }.joined(separator: ", ")
        }
        guard !points.isEmpty else { return }
        let site = "\(file)" + (scenario.siteLine.map { ":\($0)" } ?? " (default site)")
        printError("obsim: note: no twilight at \(points.count) of \(state.points.count) sweep point(s) at site \(scenario.site.name), \(site): "
                   + points.prefix(4).joined(separator: "; ") + (points.count > 4 ? "; …" : ""))
    }
}

/// The files every report folder holds besides trials.csv and run.json.
enum ReportWriter {
    /// The files besides report.html, in the order a one-thread run writes them; each is built from the
    /// state alone.
    enum File: Int, CaseIterable {
        case state, summaryJSON, summaryMarkdown
    }

    /// state.json, summary.json and summary.md.
    static func write(_ state: StudyState, description: String, into directory: URL) throws {
        for file in File.allCases { try write(file, state, description: description, into: directory) }
    }

    static func write(_ file: File, _ state: StudyState, description: String, into directory: URL) throws {
        switch file {
        case .state: try StateFile.write(state, to: directory.appendingPathComponent("state.json"))
        case .summaryJSON: try Data(SummaryJSON.json(state).bytes()).write(to: directory.appendingPathComponent("summary.json"))
        case .summaryMarkdown:
            try Data(SummaryMarkdown.text(state, description: description).utf8).write(to: directory.appendingPathComponent("summary.md"))
        }
    }

    /// report.html: needs trials.csv (already in the folder) to pick the median trial, which is re-run
    /// (same seed and trial index, so the same trial) for the Gantt timeline and the series plots.
    static func writeHTML(_ state: StudyState, scenario: Scenario, into directory: URL, withTimeline: Bool = true) throws {
        var detail: StudyReport.DetailTrial?
        if withTimeline, let t = try StudyReport.medianTrial(csvFile: directory.appendingPathComponent("trials.csv"), state: state) {
            let procedure = try StudyRunner.procedures(for: scenario)[0]
            let run = try StudyRunner.runTrial(procedure, scenario: scenario, point: scenario.sweepPoints[0], trial: t, keepsDetail: true)
            detail = StudyReport.DetailTrial(trial: t, durationSeconds: run.durationSeconds, steps: run.steps,
                                             series: run.result.series, outcome: run.result.outcome.kind, startSeconds: run.startSeconds)
        }
        try Data(StudyReport.html(state, description: scenario.description, detail: detail,
                                  twilightClock: TwilightPlanningClock.of(scenario)).utf8).write(to: directory.appendingPathComponent("report.html"))
    }

    /// Every file. With two or more threads the files are built side by side, each thread taking the next
    /// file when it is done with one: neither reads another's file, so the bytes are a one-thread run's. The
    /// largest go first so the small ones fill in behind them (a year map: state.json 0.15 s, summary.json
    /// 0.13 s, report.html 0.10 s, summary.md 0.015 s); one thread writing the three JSON/Markdown files while
    /// the other built the page left the page's thread idle for half of the report.
    static func writeAll(_ state: StudyState, scenario: Scenario, into folder: ReportFolder, withTimeline: Bool, threads: Int) throws {
        let directory = folder.temporary
        guard threads > 1 else {
            try write(state, description: scenario.description, into: directory)
            try writeHTML(state, scenario: scenario, into: directory, withTimeline: withTimeline)
            return
        }
        // nil is the page, which a one-thread run writes last.
        let order: [File?] = [.state, .summaryJSON, nil, .summaryMarkdown]
        let errors = Mutex<[Int: any Error]>([:])
        DispatchQueue.concurrentPerform(iterations: order.count) { k in
            do {
                if let file = order[k] { try write(file, state, description: scenario.description, into: directory) }
                else { try writeHTML(state, scenario: scenario, into: directory, withTimeline: withTimeline) }
            } catch {
                errors.withLock { $0[order[k]?.rawValue ?? File.allCases.count] = error }
            }
        }
        // The same error a one-thread run would have thrown first.
        if let first = errors.withLock({ $0.sorted { $0.key < $1.key }.first?.value }) { throw first }
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
        try Data(json.bytes()).write(to: url)
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
