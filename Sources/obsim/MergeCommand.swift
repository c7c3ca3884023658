import ArgumentParser
import Experiments
import Foundation
import Reporting
import ScenarioKit

struct Merge: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Merge the report folders of a sharded study (obsim run --shard I/N) into one report.",
        discussion: "The merged summary.json is byte-identical to that of a single run of the whole study."
    )

    @Argument(help: "Shard report folders (each with state.json and trials.csv).") var parts: [String]
    @Option(help: "Merged report folder.") var out: String
    @Option(help: "The study's scenario file: lets report.html re-run the median trial for its Gantt timeline.") var scenario: String?

    func validate() throws {
        if parts.isEmpty { throw ValidationError("give at least one shard folder") }
    }

    func run() throws {
        do {
            let states = try parts.map { try StateFile.read(URL(fileURLWithPath: $0).appendingPathComponent("state.json")) }
            let merged = try StudyMerge.merge(states, names: parts)
            // The scenario is checked before anything is written: its content and metrics must be the parts'.
            var study: Scenario?
            if let scenario {
                var s = try loadScenario(scenario)
                // The parts may have run with --trials/--seed overrides: take theirs before comparing.
                s.study.trials = merged.trials
                s.study.seed = merged.seed
                s.contentDigest = ScenarioDigest.of(s)
                guard s.contentDigest == merged.contentDigest else {
                    throw CommandFailure("merge: --scenario \(scenario) is not the scenario the parts ran (content \(s.contentDigest) vs \(merged.contentDigest))")
                }
                guard s.procedureType.schema.allMetrics == merged.metrics else {
                    throw CommandFailure("merge: the parts' metrics (\(merged.metrics.map(\.name).joined(separator: ", "))) are not those of \(s.procedureName) in \(scenario)")
                }
                study = s
            }
            let folder = try ReportFolder(out)
            do {
                try write(merged, states: states, study: study, into: folder)
            } catch {
                folder.discard()
                throw CommandFailure("merge: \(folder.explain(error))")
            }
            let missing = merged.trials - merged.trialRanges.reduce(0) { $0 + $1.count }
            print("merged \(parts.count) part(s) into \(out): \(merged.completedTrials) of \(merged.trials) trials\(missing > 0 ? " (\(missing) trials in no part: partial)" : "")")
        } catch let e as MergeError {
            throw CommandFailure("merge: \(e)")
        } catch let e as ReportFolderError {
            throw CommandFailure("merge: \(e)")
        }
    }

    func write(_ merged: StudyState, states: [StudyState], study: Scenario?, into folder: ReportFolder) throws {
        // trials.csv: the parts' rows in trial order, one header.
        let order = zip(parts, states).sorted { ($0.1.trialRanges.first?.lowerBound ?? 0) < ($1.1.trialRanges.first?.lowerBound ?? 0) }
        var csv = Data()
        for (i, (dir, _)) in order.enumerated() {
            let text = try String(contentsOf: URL(fileURLWithPath: dir).appendingPathComponent("trials.csv"), encoding: .utf8)
            csv.append(Data((i == 0 ? text : String(text.drop { $0 != "\n" }.dropFirst())).utf8))
        }
        try csv.write(to: folder.file("trials.csv"))
        try ReportWriter.write(merged, description: "", into: folder.temporary)
        if let study {
            try ReportWriter.writeHTML(merged, scenario: study, into: folder.temporary)
        } else {
            try Data(StudyReport.html(merged, description: "", detail: nil).utf8).write(to: folder.file("report.html"))
        }
        try RunInfo.write(to: folder.file("run.json"), wallSeconds: 0, threads: 0, shard: "merged from \(parts.count) parts",
                          trials: merged.completedTrials * merged.points.count, file: "", partial: merged.partial)
        try folder.commit()
    }
}
