import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Procedures
import ScenarioKit
import Testing
@testable import Experiments
@testable import Reporting

/// The detail trial of latiss-weekly records the post-ISR level of each image in one series per image type,
/// and the report draws them as separate, labelled kinds.
@Suite struct LATISSLevelSeriesTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// Images of each type the blocks ask for, read from the block files themselves. A
    /// make_latiss_calibrations call takes one image of each type first and drops it (n_discard_* = 1), and
    /// without n_bias / n_dark it keeps the script's defaults, 20 and 22 (ts_externalscripts).
    static func blockImageCounts(_ blocks: [String]) throws -> [String: Int] {
        var counts = ["BIAS": 0, "DARK": 0, "FLAT": 0]
        for block in blocks {
            let data = try Data(contentsOf: root.appendingPathComponent("Sequences/\(block).json"))
            let json = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
            for script in try #require(json["scripts"] as? [[String: Any]]) {
                let name = try #require(script["name"] as? String)
                let p = script["parameters"] as? [String: Any] ?? [:]
                if name == "auxtel/make_latiss_calibrations.py" {
                    counts["BIAS"]! += (p["n_bias"] as? Int ?? 20) + 1
                    counts["DARK"]! += (p["n_dark"] as? Int ?? 22) + 1
                    counts["FLAT"]! += try #require(p["n_flat"] as? Int) + 1
                } else if name == "auxtel/take_image_latiss.py" {
                    counts[try #require(p["image_type"] as? String)]! += try #require(p["exp_times"] as? [Double]).count
                }
            }
        }
        return counts
    }

    @Test func oneSeriesPerImageTypeWithTheBlocksImageCounts() throws {
        let text = try String(contentsOf: Self.root.appendingPathComponent("Scenarios/latiss-weekly.yaml"), encoding: .utf8)
        let s = try ScenarioLoader.parse(text, file: "latiss-weekly.yaml")
        let procedure = try StudyRunner.procedures(for: s)[0]
        // A restart repeats the blocks; take the first trial that ran them once.
        let run = try #require(try (0..<20).lazy.map {
            try StudyRunner.runTrial(procedure, scenario: s, point: s.sweepPoints[0], trial: $0, keepsDetail: true)
        }.first { $0.result.metrics["restarts"] == 0 })
        let expected = try Self.blockImageCounts(["BLOCK-309", "BLOCK-295", "BLOCK-310"])
        #expect(expected == ["BIAS": 37, "DARK": 39, "FLAT": 165])
        let series = run.result.series.filter { $0.name == "post_isr_level" }
        #expect(series.map(\.kind) == ["BIAS", "DARK", "FLAT"])
        for kind in ["BIAS", "DARK", "FLAT"] {
            #expect(series.first { $0.kind == kind }?.points.count == expected[kind], "\(kind)")
        }
        // Seed 003: a BIAS or DARK reads about 10 ADU post-ISR, a flat thousands: the series must not mix them.
        let bias = try #require(series.first { $0.kind == "BIAS" }).points.map(\.value)
        let flat = try #require(series.first { $0.kind == "FLAT" }).points.map(\.value)
        #expect(bias.allSatisfy { abs($0) < 100 })
        #expect(flat.filter { $0 > 1000 }.count > flat.count / 2)

        // The report draws the kinds on one panel, each with its own marker shape and a legend entry.
        var small = s
        small.study.trials = 2
        let state = try StudyRunner.run(small, options: RunOptions(threads: 1, trialRange: 0..<2))
        let html = StudyReport.html(state, description: s.description,
                                    detail: StudyReport.DetailTrial(trial: 0, durationSeconds: run.durationSeconds, steps: run.steps,
                                                                    series: run.result.series, outcome: run.result.outcome.kind))
        #expect(XMLParser(data: Data(html.utf8)).parse())
        for (kind, shape) in [("BIAS", "<circle"), ("DARK", "<rect"), ("FLAT", "<polygon")] {
            #expect(html.contains(">\(kind)</text>"), "legend lacks \(kind)")
            let samples = html.components(separatedBy: "class=\"sample\"><title>\(kind) at").dropLast()
            #expect(samples.count == expected[kind], "\(kind)")
            #expect(samples.allSatisfy { $0[($0.range(of: "<", options: .backwards)?.lowerBound ?? $0.startIndex)...].hasPrefix(shape) }, "\(kind)")
        }
    }
}
