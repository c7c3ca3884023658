import Foundation
import Testing
@testable import Reporting

/// Durations far beyond any night (a procedure stuck for 1e300 s) are drawn and printed, not trapped on.
@Suite struct NumericEdgeTests {
    @Test func hugeDurationsAreFormattedInSeconds() {
        #expect(formatDuration(seconds: 1e300) == "1e+300 s")
        #expect(formatDuration(seconds: .infinity) == "inf s")
        #expect(formatDuration(seconds: 7500) == "2 h 05 min")
    }

    @Test func aTimelineOf1e300SecondsHasAFewTicks() {
        let spans = [GanttSpan(name: "stuck", lane: "dome", startSeconds: 0, endSeconds: 1e300)]
        let svg = GanttChart(title: "stuck", spans: spans).svg()
        let ticks = svg.components(separatedBy: "<text").count
        #expect(ticks < 40, "\(ticks) text elements")
        // Ticks of a long span are a round number of days apart.
        #expect(TimeTicks.step(forSpanSeconds: 200 * 86_400) == 20 * 86_400)
        #expect(TimeTicks.step(forSpanSeconds: 1e300).isFinite)
    }
}
