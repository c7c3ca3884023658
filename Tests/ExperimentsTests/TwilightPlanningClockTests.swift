import Foundation
import Observatory
import ScenarioKit
import Testing
@testable import Reporting

/// Twilight maps read in the civil time the site plans in. Expected clock times: the PyEphem sunset and
/// sunrise instants of the Observatory fixture (SkyPyEphemFixture.nights, Cerro Pachón) shifted by Chile's
/// offset; each at least 9 s from a minute's rounding edge, more than the 5 s our finder is held to against
/// PyEphem (SkySunTests), so the ephemerides' disagreement cannot flip a label.
@Suite struct TwilightPlanningClockTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func yearMapClock() throws -> TwilightPlanningClock {
        let text = try String(contentsOf: root.appendingPathComponent("Scenarios/twilight-feasibility-year.yaml"), encoding: .utf8)
        return try #require(TwilightPlanningClock.of(try ScenarioLoader.parse(text, file: "twilight-feasibility-year.yaml")))
    }

    @Test func startLabelsReadChileanCivilTime() throws {
        let clock = try Self.yearMapClock()
        #expect(clock.evening && clock.site.name == "cerro-pachon")
        // Sunset 2026-03-01 23:16:13 UTC; +10 min, summer time (UTC−3).
        #expect(clock.startLabel(date: "2026-03-01", offsetSeconds: 600) == "20:26 CLST (UTC−3)")
        // Sunset 2026-06-21 21:50:40 UTC, winter time (UTC−4).
        #expect(clock.startLabel(date: "2026-06-21", offsetSeconds: 0) == "17:51 CLT (UTC−4)")
        // Sunset 2026-12-21 23:44:13 UTC.
        #expect(clock.startLabel(date: "2026-12-21", offsetSeconds: 0) == "20:44 CLST (UTC−3)")
        // Morning of 2026-06-22: sunrise 11:39:16 UTC, 20 min before it.
        let morning = TwilightPlanningClock(site: clock.site, evening: false)
        #expect(morning.startLabel(date: "2026-06-21", offsetSeconds: 1200) == "07:19 CLT (UTC−4)")
    }

    /// Chile's changes of 2026: back to UTC−4 on Sunday 5 April at 03:00 UTC, to UTC−3 on Sunday
    /// 6 September at 04:00 UTC (00:00 local both times).
    @Test func chileanSummerTimeChangesOnTheFirstSundays() {
        let chile = SiteCivilTime(siteName: "paranal", longitudeDegrees: -70.4)
        let april5 = 1775358000.0, september6 = 1788667200.0   // 2026-04-05T03:00Z, 2026-09-06T04:00Z
        #expect(chile.offsetHours(atUnixSeconds: april5 - 1) == -3)
        #expect(chile.offsetHours(atUnixSeconds: april5) == -4)
        #expect(chile.offsetHours(atUnixSeconds: september6 - 1) == -4)
        #expect(chile.offsetHours(atUnixSeconds: september6) == -3)
        // A custom site: its longitude's zone, no summer time (−70.4° / 15 → −5; 150° → +10).
        #expect(SiteCivilTime(siteName: "custom", longitudeDegrees: -70.4).offsetHours(atUnixSeconds: april5) == -5)
        #expect(SiteCivilTime(siteName: "custom", longitudeDegrees: 150).label(atUnixSeconds: 0) == "10:00 UTC+10")
    }

    /// The map's cells, axes and caption say which twilight, which event and which clock.
    @Test func heatMapLabelsNameTheEventAndTheClock() throws {
        let clock = try Self.yearMapClock()
        let t = StudyReport.twilightLabels(clock, dates: ["2026-03-01", "2026-06-21"], offsets: ["0 s", "10 min"], unit: "min")
        #expect(t.notes == [["2026-03-01 evening: starts 20:16 CLST (UTC−3)", "2026-06-21 evening: starts 17:51 CLT (UTC−4)"],
                            ["2026-03-01 evening: starts 20:26 CLST (UTC−3)", "2026-06-21 evening: starts 18:01 CLT (UTC−4)"]])
        #expect(t.yLabel == "start (min after sunset)")
        #expect(t.xLabel == "date of the evening (local civil date at cerro-pachon)")
        #expect(t.caption.hasPrefix("Evening twilight: the procedure starts the offset after sunset"))
        #expect(t.caption.contains("sunset at cerro-pachon is at 17:51 CLT (UTC−4) on 2026-06-21 and 20:16 CLST (UTC−3) on 2026-03-01"))
    }
}
