import Foundation
import Testing
@testable import Experiments

/// `obsim merge` trusts nothing in a part's state.json: a corrupted or hand-edited part is refused with its
/// path and what is wrong, before anything is allocated from it; a missing shard makes the merge partial.
@Suite struct StateValidationTests {
    static let parts: [StudyState] = {
        let s = try! testScenario()
        return (0..<3).map { i in
            try! StudyRunner.run(s, options: RunOptions(threads: 1, trialRange: RunOptions.shardRange(index: i, count: 3, trials: s.study.trials)))
        }
    }()

    /// The part's state.json text with `edit` applied, read back.
    func reread(_ edit: (inout [String: Any]) -> Void) throws -> StudyState {
        let data = Data(StateFile.json(Self.parts[0]).text().utf8)
        var object = try JSONSerialization.jsonObject(with: data) as! [String: Any]
        edit(&object)
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("obsim-state-\(getpid())-\(UInt32.random(in: 0 ... .max)).json")
        defer { try? FileManager.default.removeItem(at: url) }
        try JSONSerialization.data(withJSONObject: object).write(to: url)
        return try StateFile.read(url)
    }

    /// Edits the `duration_s` statistics of point 0.
    func duration(_ edit: @escaping (inout [String: Any]) -> Void) -> (inout [String: Any]) -> Void {
        { o in
            var points = o["points"] as! [[String: Any]]
            var metrics = points[0]["metrics"] as! [String: Any]
            var d = metrics["duration_s"] as! [String: Any]
            edit(&d)
            metrics["duration_s"] = d
            points[0]["metrics"] = metrics
            o["points"] = points
        }
    }

    func refused(_ edit: @escaping (inout [String: Any]) -> Void, saying words: String, sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            _ = try reread(edit)
            Issue.record("accepted; expected a refusal about \(words)", sourceLocation: sourceLocation)
        } catch let e as MergeError {
            #expect(e.description.contains("obsim-state-") && e.description.contains(words), "\(e)", sourceLocation: sourceLocation)
        } catch {
            Issue.record("\(error)", sourceLocation: sourceLocation)
        }
    }

    @Test func anUneditedPartReadsBackEqual() throws {
        #expect(try reread { _ in } == Self.parts[0])
    }

    @Test func corruptedPartsAreRefusedNamingWhatIsWrong() {
        refused({ $0["points"] = [] }, saying: "0 point(s)")
        refused(duration { d in d["positive"] = [[4_000_000_000, 1]] }, saying: "bucket index 4000000000")
        refused(duration { d in d["sum"] = [[3, Int64.max]] }, saying: "sum limb 3")
        refused(duration { d in d["min"] = String(Double.nan.bitPattern, radix: 16) }, saying: "not finite")
        refused(duration { d in d["count"] = 2 }, saying: "differs from the sketch")
        refused(duration { d in d["sum"] = [[40, 1]] }, saying: "lies outside")
        refused({ $0["completed_trials"] = 60 }, saying: "completed_trials 60")
        refused({ $0["trial_ranges"] = [[0, Int64.max]] }, saying: "outside the study")
        refused({ o in
            var m = o["metrics"] as! [[String: Any]]
            m[1]["name"] = "renamed"
            o["metrics"] = m
        }, saying: "is not one of the state's metrics")
        refused({ o in
            var points = o["points"] as! [[String: Any]]
            points[0]["outcomes"] = ["completed": 1]
            o["points"] = points
        }, saying: "outcomes add up to 1, not completed_trials")
        refused({ o in
            var points = o["points"] as! [[String: Any]]
            points[0]["outcomes"] = ["completed": Int64.max, "aborted": Int64.max, "failed": Int64.max]
            o["points"] = points
        }, saying: "overflow")
    }

    @Test func aMissingShardMakesTheMergePartial() throws {
        let merged = try StudyMerge.merge([Self.parts[0], Self.parts[2]])
        #expect(merged.partial)
        #expect(merged.completedTrials == Self.parts[0].completedTrials + Self.parts[2].completedTrials)
        #expect(try !StudyMerge.merge(Self.parts).partial)
    }

    @Test func partsOfDifferentShapeAreRefusedNamingThePart() throws {
        var other = Self.parts[1]
        other.points.append(other.points[0])
        other.pointLabels.append([])
        #expect { try StudyMerge.merge([Self.parts[0], other], names: ["a", "b"]) } throws: { e in
            "\(e)".hasPrefix("b: ")
        }
    }
}

@Suite struct CountArithmeticTests {
    @Test func shardBoundsDoNotOverflow() {
        let trials = 1 << 40
        #expect(RunOptions.shardRange(index: 999_999, count: 1_000_000, trials: trials).upperBound == trials)
        #expect(RunOptions.shardRange(index: 1, count: 3, trials: 9) == 3..<6)
    }

    @Test func aHandEditedBaselineIsRefusedNotConverted() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("obsim-baseline-\(getpid()).json")
        defer { try? FileManager.default.removeItem(at: url) }
        for (seed, trials) in [(-1, 10), (3, -5)] {
            let text = #"{"schema": \#(Baseline.schemaVersion), "scenario": "x", "seed": \#(seed), "trials": \#(trials), "tolerance": {"p50_relative": 0.02, "p95_relative": 0.05, "mann_whitney_alpha": 0.001}, "timings": {}, "traces": []}"#
            try Data(text.utf8).write(to: url)
            #expect(throws: MergeError.self) { try BaselineFile.read(url) }
        }
    }
}
