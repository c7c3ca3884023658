import Foundation
import FoundationXML
import Procedures
import Reporting
import ScenarioKit
import SimKernel
import Testing
@testable import Experiments

/// Counts elements by name while checking the page is well-formed XML (the page is XHTML).
final class ElementCounter: NSObject, XMLParserDelegate {
    var counts: [String: Int] = [:]
    var text = ""
    func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?, attributes: [String: String] = [:]) {
        counts[name, default: 0] += 1
    }
    func parser(_ parser: XMLParser, foundCharacters string: String) { text += string }
}

@Suite struct StudyReportTests {
    /// The study's trials.csv, built the way `obsim run` streams it.
    func csv(_ s: Scenario, _ state: StudyState) throws -> String {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("obsim-report-\(getpid())-\(UUID().uuidString).csv")
        defer { try? FileManager.default.removeItem(at: url) }
        let writer = try TrialsCSVWriter(url: url, state: StudyState(scenario: s, ranges: [0..<s.study.trials]))
        _ = try StudyRunner.run(s, options: RunOptions(threads: 2, trialRange: 0..<s.study.trials), sink: writer)
        try writer.close()
        return try String(contentsOf: url, encoding: .utf8)
    }

    @Test func medianTrialHasTheMedianDuration() throws {
        let s = try testScenario()
        let state = try StudyRunner.run(s, options: RunOptions(threads: 2, trialRange: 0..<s.study.trials))
        let text = try csv(s, state)
        let t = try #require(StudyReport.medianTrial(csv: text, state: state))
        let run = try StudyRunner.runTrial(StudyRunner.procedures(for: s)[0], scenario: s, point: s.sweepPoints[0], trial: t)
        let p50 = try #require(state.points[0].metrics["duration_s"]?.quantile(0.5))
        // Closest to the sketch's p50, which is within its relative accuracy of the true median.
        let rows = text.split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false) }
        let column = try #require(rows[0].firstIndex(of: "duration_s"))
        let durations = rows.dropFirst().compactMap { Double($0[column]) }
        #expect(durations.count == s.study.trials)
        let nearest = durations.map { abs($0 - p50) }.min()!
        #expect(abs(run.durationSeconds - p50) == nearest)
    }

    @Test func pageParsesAndHoldsItsFigures() throws {
        let s = try testScenario()
        let state = try StudyRunner.run(s, options: RunOptions(threads: 2, trialRange: 0..<s.study.trials))
        let t = try #require(StudyReport.medianTrial(csv: try csv(s, state), state: state))
        let run = try StudyRunner.runTrial(StudyRunner.procedures(for: s)[0], scenario: s, point: s.sweepPoints[0], trial: t, keepsDetail: true)
        let html = StudyReport.html(state, description: "A test study.", detail: .init(
            trial: t, durationSeconds: run.durationSeconds, steps: run.steps, series: run.result.series, outcome: run.result.outcome.kind))
        let parser = XMLParser(data: Data(html.utf8))
        let counter = ElementCounter()
        parser.delegate = counter
        #expect(parser.parse(), "report.html must be well-formed: \(parser.parserError.map { "\($0)" } ?? "")")
        // Duration histogram, at least one metric histogram, step breakdown, Gantt timeline.
        #expect((counter.counts["svg"] ?? 0) >= 4)
        #expect(counter.text.contains("p50") && counter.text.contains("p95"))
        // Every step of the median trial is a bar of the Gantt chart, named in its tooltip.
        for step in Set(run.steps.map(\.name)) { #expect(counter.text.contains(step)) }
        #expect(counter.text.contains("Timeline of the median trial"))
        // Every outcome kind of the study is in the outcome table.
        for kind in state.points[0].outcomes.keys { #expect(counter.text.contains(kind)) }
    }

    @Test func sweepGivesOneFigurePerMetric() throws {
        let s = try testScenario(scenarioText + "\n  sweep:\n    - parameter: parameters.n_flat\n      values: [2, 4, 8]\n")
        let state = try StudyRunner.run(s, options: RunOptions(threads: 2, trialRange: 0..<30))
        let html = StudyReport.html(state, description: "", detail: nil)
        let measured = state.metrics.filter { m in state.points.contains { ($0.metrics[m.name]?.count ?? 0) > 0 } }
        #expect(html.components(separatedBy: "against parameters.n_flat").count - 1 >= measured.count)
        #expect(html.contains("Per sweep point"))
    }
}

@Suite struct MedianTrialStreamingTests {
    @Test func streamingAndInMemoryAgree() throws {
        let s = try testScenario()
        let state = try StudyRunner.run(s, options: RunOptions(threads: 2, trialRange: 0..<s.study.trials))
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("obsim-median-\(getpid()).csv")
        defer { try? FileManager.default.removeItem(at: url) }
        let writer = try TrialsCSVWriter(url: url, state: StudyState(scenario: s, ranges: [0..<s.study.trials]))
        _ = try StudyRunner.run(s, options: RunOptions(threads: 1, trialRange: 0..<s.study.trials), sink: writer)
        try writer.close()
        let text = try String(contentsOf: url, encoding: .utf8)
        let streamed = try StudyReport.medianTrial(csvFile: url, state: state)
        #expect(streamed != nil)
        #expect(streamed == StudyReport.medianTrial(csv: text, state: state))
    }
}
