import Foundation
import Testing
@testable import Reporting

/// A report with every figure kind, as the lead's report.html will compose them. Written to the path in
/// OBSIM_SAMPLE_REPORT when set, for the headless-browser check (see the final report of the reporting
/// branch): `OBSIM_SAMPLE_REPORT=/tmp/sample.html swift test --skip-build --filter HTMLPageTests`.
func samplePage() -> (html: String, figureCount: Int, ganttSteps: Int) {
    let sample = durationSample()
    let sorted = sample.sorted()
    let p50 = median(sample), p95 = sorted[Int((0.95 * Double(sorted.count - 1)).rounded())]
    let spans = sampleTimeline()
    var page = HTMLReportPage(title: "latiss-weekly: LATISS weekly calibrations",
                              summary: "500 trials, seed 42. Median duration \(formatDuration(seconds: p50)), p95 "
                                + "\(formatDuration(seconds: p95)); the lamp warm-up dominates. Filters <SDSSr & L'> escape.",
                              footer: "obsim 0.1, scenario Scenarios/latiss-weekly.yaml")
    page.addFacts([("Scenario", "latiss-weekly"), ("Seed", "42"), ("Trials", "500")])
    page.addSection("Duration")
    page.addTable(ReportTable(caption: "Metrics", columns: [
        ReportTable.Column("Metric"), ReportTable.Column("p50", unit: "s", numeric: true),
        ReportTable.Column("p95", unit: "s", numeric: true), ReportTable.Column("Trials", numeric: true),
    ], rows: [
        [.text("duration_s"), .number(p50, decimals: 1), .number(p95, decimals: 1), .integer(500)],
        [.text("flat_sdssr_6s_adu"), .number(29_412.5, decimals: 1), .number(29_880, decimals: 1), .integer(500)],
    ]))
    let markers = [ValueMarker(label: "p50", value: p50 / 60), ValueMarker(label: "p95", value: p95 / 60)]
    page.addFigure(svg: DistributionFigure(title: "Duration of a trial", sample: sample.map { $0 / 60 }, quantity: "Duration",
                                           unit: "min", markers: markers).svg(), caption: "Histogram of trial durations.")
    page.addFigure(svg: DistributionFigure(title: "Duration, cumulative", sample: sample.map { $0 / 60 }, quantity: "Duration",
                                           unit: "min", markers: markers, style: .cumulative).svg(), caption: "Empirical CDF.")
    page.addSection("Steps")
    var byName: [String: [Double]] = [:]
    for s in spans { byName[s.name.hasPrefix("PTC flat") ? "PTC flat" : s.name, default: []].append(s.endSeconds - s.startSeconds) }
    let timings = byName.keys.sorted().map { name -> StepTiming in
        let d = byName[name]!.sorted()
        let mean = d.reduce(0, +) / Double(d.count)
        return StepTiming(name: name, meanSeconds: mean, p05Seconds: d[0], p95Seconds: d[d.count - 1])
    }
    page.addFigure(svg: StepBreakdownFigure(title: "Per-step breakdown", steps: timings).svg(), caption: "Mean per step, p05–p95.")
    page.addFigure(svg: GanttChart(title: "Median trial timeline", spans: spans,
                                   laneOrder: ["Script", "ATWhiteLight", "ATMCS", "ATDome", "Filter wheel", "Detector"]).svg(),
                   caption: "One lane per subsystem.")
    page.addSection("Sweeps and studies")
    page.addFigure(svg: SpreadLineFigure(title: "Master flat error against SEQ NEXPO", series: [
        SpreadSeries(name: "L'", points: (1...8).map { k in SpreadPoint(x: Double(k), p05: 0.8 / Double(k).squareRoot(),
                                                                          p50: 1.0 / Double(k).squareRoot(), p95: 1.3 / Double(k).squareRoot()) }),
        SpreadSeries(name: "M'", points: (1...8).map { k in SpreadPoint(x: Double(k), p05: 1.2 / Double(k).squareRoot(),
                                                                          p50: 1.5 / Double(k).squareRoot(), p95: 1.9 / Double(k).squareRoot()) }),
    ], xLabel: "SEQ NEXPO", yLabel: "Master flat error (%)").svg(), caption: "Median and p05–p95.")
    let times = (0..<24).map { Double($0) * 1.2 }
    let sky = times.map { 45_000 * pow(10, -0.11 * $0) }
    page.addFigure(svg: TimeSeriesFigure(title: "Twilight flats, median trial", timeLabel: "Time after sunset (min)", panels: [
        TimeSeriesPanel(yLabel: "Sky level (ADU/s)", times: times, values: sky, logarithmic: true),
        TimeSeriesPanel(yLabel: "Chosen DIT (s)", times: times, values: sky.map { min(30, max(0.5, 60_000 / $0)) }, style: .steps),
    ]).svg(), caption: "Sky level and chosen DIT.")
    let days = stride(from: 4.0, through: 361, by: 7).map { $0 }
    let offsets = stride(from: -30.0, through: 60, by: 5).map { $0 }
    func grid(_ shift: Double) -> [[Double]] {
        offsets.map { o in days.map { d in max(0, min(1, 0.6 + 0.4 * cos(2 * .pi * (d - shift) / 365) - abs(o - 10) / 50)) } }
    }
    page.addFigure(svg: HeatMapFigure(title: "Twilight flat feasibility", panels: [
        HeatMapGrid(title: "LATISS SDSSr", xCentres: days, yCentres: offsets, values: grid(0)),
        HeatMapGrid(title: "METIS L'", xCentres: days, yCentres: offsets, values: grid(90)),
        HeatMapGrid(title: "METIS M'", xCentres: days, yCentres: offsets, values: grid(180)),
        HeatMapGrid(title: "METIS N", xCentres: days, yCentres: offsets, values: grid(270)),
    ], xLabel: "Date", yLabel: "Start offset (min)", colourLabel: "P(series completed)", xAxisStyle: .dayOfYear).svg(),
                   caption: "Probability that the series is completed.")
    let means = (0..<30).map { 50 * pow(1.3, Double($0)) }.filter { $0 < 130_000 }
    let variance = means.map { $0 < 110_000 ? $0 / 1.1 * (1 + 2.5e-6 * $0) : 30_000 }
    let fitX = (0..<200).map { 50 * pow(1.05, Double($0)) }.filter { $0 < 110_000 }
    page.addFigure(svg: ScatterFitFigure(title: "Photon transfer curve, C10", points: [ScatterSeries(name: "C10 pairs", x: means, y: variance)],
                                         fit: ScatterSeries(name: "Astier et al. 2019 (eq. 16)", x: fitX, y: fitX.map { $0 / 1.1 * (1 + 2.5e-6 * $0) }),
                                         xLabel: "Mean signal (ADU)", yLabel: "Variance (ADU²)",
                                         markers: [ValueMarker(label: "turnoff 110000 ADU", value: 110_000)],
                                         notes: ["gain = 1.100 e⁻/ADU (true 1.100)", "read noise = 6.2 e⁻"]).svg(),
                   caption: "PTC with the fitted model.")
    return (page.render(), 8, spans.count)
}

@Suite("HTML page and tables")
struct HTMLPageTests {
    @Test func pageIsWellFormedAndHoldsItsFigures() throws {
        let (html, figureCount, ganttSteps) = samplePage()
        if let path = ProcessInfo.processInfo.environment["OBSIM_SAMPLE_REPORT"] {
            try html.write(toFile: path, atomically: true, encoding: .utf8)
        }
        let doc = XMLCollector.parse(html)
        #expect(doc.error == nil, "the page is well-formed XML: \(String(describing: doc.error))")
        #expect(doc.elements("svg").count == figureCount)
        #expect(html.components(separatedBy: "<svg").count - 1 == figureCount)
        #expect(!html.contains("<script"))
        // No external resources: the only URIs are the XHTML and SVG namespace names.
        #expect(html.components(separatedBy: "http").count - 1 == figureCount + 1)
        #expect(!html.contains("src=") && !html.contains("<link"))
        #expect(doc.elements("line", cssClass: "marker").compactMap { $0.attributes["data-label"] } == ["p50", "p95", "p50", "p95", "turnoff 110000 ADU"])
        #expect(doc.elements("rect", cssClass: "gantt-bar").count == ganttSteps)
        #expect(doc.elements("h2").map(\.text) == ["Duration", "Steps", "Sweeps and studies"])
        #expect(doc.elements("a").compactMap { $0.attributes["href"] } == ["#section-1", "#section-2", "#section-3"])
        // Escaped text comes back as written.
        #expect(doc.nodes.first { $0.name == "p" && $0.attributes["class"] == "summary" }?.text.hasSuffix("Filters <SDSSr & L'> escape.") == true)
        // Numbers right-aligned, units in the headers.
        #expect(doc.elements("th").map(\.text) == ["Metric", "p50 (s)", "p95 (s)", "Trials"])
        #expect(doc.elements("td", cssClass: "num").count == 6)
        #expect(samplePage().html == html, "same input, same bytes")
    }

    @Test func markdownTableEscapesCellsAndRightAlignsNumbers() {
        let table = ReportTable(columns: [ReportTable.Column("Step"), ReportTable.Column("Mean", unit: "s", numeric: true)],
                                rows: [[.text("power_on_atcalsys | *warm*"), .number(912.345, decimals: 1)],
                                       [.text("L' filter\nchange"), .integer(25)]])
        #expect(table.markdown() == """
        | Step | Mean (s) |
        | --- | ---: |
        | power\\_on\\_atcalsys \\| \\*warm\\* | 912.3 |
        | L' filter change | 25 |

        """)
    }

    @Test func htmlTableEscapesAndFillsShortRows() {
        let table = ReportTable(caption: "a<b", columns: [ReportTable.Column("x"), ReportTable.Column("y", numeric: true)],
                                rows: [[.text("&")]])
        #expect(table.html() == """
        <table>
        <caption>a&lt;b</caption>
        <thead><tr><th scope="col">x</th><th scope="col" class="num">y</th></tr></thead>
        <tbody>
        <tr><td>&amp;</td><td class="num"></td></tr>
        </tbody>
        </table>

        """)
    }
}
