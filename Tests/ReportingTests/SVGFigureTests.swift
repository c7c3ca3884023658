import Foundation
import Testing
@testable import Reporting

/// A sample of 500 durations around 62 minutes (seconds), fixed seed.
func durationSample(count: Int = 500) -> [Double] {
    var rng = SplitMix64(state: 20_250_304)
    return (0..<count).map { _ in rng.gaussian(mean: 3720, sigma: 240) }
}

@Suite("SVG figures")
struct SVGFigureTests {
    @Test func niceTicksAreRoundNumbersCoveringTheData() {
        let t = Ticks.linear(min: 3.2, max: 97.1, target: 5)
        #expect(t.values == [0, 20, 40, 60, 80, 100])
        let small = Ticks.linear(min: 0.012, max: 0.087, target: 5)
        #expect(small.step == 0.02 && small.decimals == 2)
        #expect(small.values.map(small.label) == ["0.00", "0.02", "0.04", "0.06", "0.08", "0.10"])
        let quarter = Ticks.linear(min: 0, max: 1, target: 4)
        #expect(quarter.values.map(quarter.label) == ["0.00", "0.25", "0.50", "0.75", "1.00"])
        #expect(LogTicks.covering(min: 3, max: 95_000).values == [1, 10, 100, 1_000, 10_000, 100_000])
        #expect(LogTicks.covering(min: 30, max: 900).values == [10, 20, 50, 100, 200, 500, 1_000])
        #expect(FixedNumber.format(-0.001, decimals: 2) == "0.00")
        #expect(TimeTicks.label(seconds: 5400, step: 900, clock: true) == "1:30")
        #expect(TimeTicks.step(forSpanSeconds: 3300) == 600)
    }

    @Test func histogramCountsEveryTrialAndMarksTheMedianWhereTheAxisPutsIt() throws {
        let sample = durationSample()
        let p50 = median(sample)
        let p95 = sample.sorted()[Int((0.95 * Double(sample.count - 1)).rounded())]
        let figure = DistributionFigure(title: "Duration <LATISS & weekly>", sample: sample.map { $0 / 60 },
                                        quantity: "Duration", unit: "min",
                                        markers: [ValueMarker(label: "p50", value: p50 / 60), ValueMarker(label: "p95", value: p95 / 60)])
        let svg = figure.svg()
        #expect(svg == figure.svg(), "same input, same bytes")
        let doc = XMLCollector.parse(svg)
        #expect(doc.error == nil)
        #expect(doc.nodes.first { $0.name == "title" }?.text == "Duration <LATISS & weekly>")

        let bars = doc.elements("rect", cssClass: "bar")
        let counts = bars.compactMap { $0.attributes["data-count"].flatMap(Int.init) }
        #expect(counts.reduce(0, +) == sample.count)
        // Heights are proportional to the counts: one pixels-per-trial factor for every bar.
        let perTrial = bars.map { ($0.number("height") ?? 0) / Double(Int($0.attributes["data-count"] ?? "1") ?? 1) }
        #expect(perTrial.allSatisfy { abs($0 - perTrial[0]) < 0.02 })

        let ticks = doc.xTicks()
        let markers = doc.elements("line", cssClass: "marker")
        #expect(markers.map { $0.attributes["data-label"] } == ["p50", "p95"])
        let expected = pixel(for: p50 / 60, ticks: ticks)
        #expect(abs((markers[0].number("x1") ?? 0) - expected) < 0.02)
        #expect(doc.elements("text", cssClass: "marker-label").map(\.text)
                == ["p50 = \(FixedNumber.format(p50 / 60, decimals: 1)) min", "p95 = \(FixedNumber.format(p95 / 60, decimals: 1)) min"])
    }

    @Test func cumulativeVariantReachesOneAndCrossesHalfAtTheMedian() throws {
        let sample = durationSample(count: 101)
        let svg = DistributionFigure(title: "CDF", sample: sample, quantity: "Duration", unit: "s", style: .cumulative).svg()
        let doc = XMLCollector.parse(svg)
        #expect(doc.error == nil)
        let line = try #require(doc.elements("polyline", cssClass: "ecdf").first)
        let points = (line.attributes["points"] ?? "").split(separator: " ").map { $0.split(separator: ",").compactMap { Double($0) } }
        // Step function of 101 values: 2 points per value plus start and end.
        #expect(points.count == 2 * 101 + 2)
        let yTicks = doc.nodes.filter { $0.name == "text" && $0.inGroup("y-axis") && $0.attributes["class"] == nil }
        let y0 = try #require(yTicks.first { $0.text == "0.0" }?.number("y")).advanced(by: -4)
        let y1 = try #require(yTicks.first { $0.text == "1.0" }?.number("y")).advanced(by: -4)
        #expect(abs(points[points.count - 1][1] - y1) < 0.02)
        // The 51st value (the median of 101) is where the curve jumps from 50/101 to 51/101.
        let m = median(sample)
        let xm = pixel(for: m, ticks: doc.xTicks())
        let atMedian = points.enumerated().filter { abs($0.element[0] - xm) < 0.02 }.map { $0.element[1] }
        let expectedTop = y0 + (y1 - y0) * 51 / 101
        #expect(atMedian.contains { abs($0 - expectedTop) < 0.02 })
    }

    @Test func cumulativeOfManyTrialsStaysSmallAndExact() throws {
        let sample = durationSample(count: 100_000)
        let svg = DistributionFigure(title: "CDF", sample: sample, quantity: "Duration", unit: "s", style: .cumulative).svg()
        #expect(svg.utf8.count < 60_000)
        let doc = XMLCollector.parse(svg)
        let line = try #require(doc.elements("polyline", cssClass: "ecdf").first)
        let points = (line.attributes["points"] ?? "").split(separator: " ").map { $0.split(separator: ",").compactMap { Double($0) } }
        let yTicks = doc.nodes.filter { $0.name == "text" && $0.inGroup("y-axis") && $0.attributes["class"] == nil }
        let y0 = try #require(yTicks.first { $0.text == "0.0" }?.number("y")).advanced(by: -4)
        let y1 = try #require(yTicks.first { $0.text == "1.0" }?.number("y")).advanced(by: -4)
        // At the pixel of the median the curve passes 0.5 to within the half-pixel thinning
        // (a half pixel of the 240 s-sigma normal holds well under 1% of the trials).
        let xm = pixel(for: median(sample), ticks: doc.xTicks())
        let near = points.filter { abs($0[0] - xm) <= 1 }.map { ($0[1] - y0) / (y1 - y0) }
        #expect(near.contains { abs($0 - 0.5) < 0.01 })
    }

    @Test func longTimelinesUseClockTicks() {
        let spans = [GanttSpan(name: "WCU blackbody warm-up", lane: "WCU", startSeconds: 0, endSeconds: 2700),
                     GanttSpan(name: "distortion exposures", lane: "IMG-LM detector", startSeconds: 2700, endSeconds: 9000)]
        let doc = XMLCollector.parse(GanttChart(title: "METIS distortion", spans: spans).svg())
        #expect(doc.elements("text", cssClass: "axis-title").map(\.text) == ["Time since start (h:mm)"])
        #expect(doc.xTicks().map(\.label) == ["0:00", "0:15", "0:30", "0:45", "1:00", "1:15", "1:30", "1:45", "2:00", "2:15", "2:30"])
    }

    @Test func stepBreakdownSortsByTimeAndScalesBarsToTheMeans() throws {
        let steps = [
            StepTiming(name: "readout", meanSeconds: 2.3, p05Seconds: 2.2, p95Seconds: 2.4),
            StepTiming(name: "lamp warm-up (power_on_atcalsys, BLOCK-309) with a very long descriptive name indeed",
                       meanSeconds: 900, p05Seconds: 890, p95Seconds: 960),
            StepTiming(name: "dome to az 3.0°", meanSeconds: 180, p05Seconds: 60, p95Seconds: 300),
        ]
        let figure = StepBreakdownFigure(title: "Per-step breakdown", steps: steps)
        let doc = XMLCollector.parse(figure.svg())
        #expect(doc.error == nil)
        let bars = doc.elements("rect", cssClass: "step-bar")
        #expect(bars.map { $0.attributes["data-step"] } == figure.sortedSteps.map(\.name))
        #expect(bars.first?.attributes["data-step"]?.hasPrefix("lamp warm-up") == true)
        let widths = bars.compactMap { $0.number("width") }
        #expect(abs(widths[0] / widths[1] - 900 / 180) < 1e-3)
        // Minutes on the axis since the longest step lasts 15 minutes; the 960 s whisker ends at 16 min.
        let whisker = try #require(doc.elements("line", cssClass: "whisker").first)
        #expect(abs((whisker.number("x2") ?? 0) - pixel(for: 16, ticks: doc.xTicks())) < 0.02)
        // The long name is cut for display; the full name stays in the tooltip.
        let label = try #require(doc.elements("text", cssClass: "step-label").first)
        #expect(label.text.hasSuffix("…"))
        #expect(doc.nodes.contains { $0.name == "title" && $0.text == steps[1].name })
    }

    @Test func ganttDrawsEveryStepOnItsLaneAtItsTimes() throws {
        let spans = sampleTimeline()
        #expect(spans.count >= 180)
        let chart = GanttChart(title: "LATISS weekly, median trial", spans: spans,
                               laneOrder: ["Script", "ATWhiteLight", "ATMCS", "ATDome", "Filter wheel", "Detector"])
        let svg = chart.svg()
        #expect(svg == chart.svg())
        let doc = XMLCollector.parse(svg)
        #expect(doc.error == nil)
        let bars = doc.elements("rect", cssClass: "gantt-bar")
        #expect(bars.count == spans.count)
        #expect(doc.elements("text", cssClass: "lane-label").map(\.text)
                == ["Script", "ATWhiteLight", "ATMCS", "ATDome", "Filter wheel", "Detector"])

        // The lamp warm-up runs from 150 s to 1050 s: map through the time axis's own labels (minutes).
        let ticks = doc.xTicks()
        let warmUp = try #require(bars.first { $0.attributes["data-step"] == "lamp warm-up" })
        let x0 = warmUp.number("x") ?? 0, w = warmUp.number("width") ?? 0
        #expect(abs(x0 - pixel(for: 150.0 / 60, ticks: ticks)) < 0.02)
        #expect(abs(x0 + w - pixel(for: 1050.0 / 60, ticks: ticks)) < 0.02)
        // It fits its label inside; none of the 85 readouts packed between exposures gets one (not even
        // the last, with free room after it: the label would seem to name the whole run), the isolated
        // last filter change does, and no two labels on a row overlap.
        let labels = doc.elements("text", cssClass: "bar-label")
        #expect(labels.contains { $0.text == "lamp warm-up" })
        #expect(!labels.contains { $0.text == "readout" })
        #expect(labels.contains { $0.text == "filter change to empty_1" })
        let extents = labels.map { (y: $0.number("y") ?? 0, x0: $0.number("x") ?? 0,
                                    x1: ($0.number("x") ?? 0) + estimatedTextWidth($0.text, fontSize: 10)) }
        for (i, a) in extents.enumerated() {
            for b in extents[(i + 1)...] where a.y == b.y {
                #expect(a.x1 <= b.x0 || b.x1 <= a.x0)
            }
        }
        // Tooltips give the step name and its duration.
        #expect(doc.nodes.contains { $0.name == "title" && $0.text == "lamp warm-up (ATWhiteLight): 15.0 min, from 2:30 to 17:30" })
        // The cut-short shutdown is outlined as not completed.
        let shutdown = try #require(bars.first { $0.attributes["data-step"]?.hasPrefix("power_off") == true })
        #expect(shutdown.attributes["stroke-dasharray"] != nil)
    }

    @Test func ganttPutsOverlappingStepsOfOneLaneOnSeparateRows() throws {
        let spans = [
            GanttSpan(name: "BLOCK-309", lane: "Script", startSeconds: 0, endSeconds: 100),
            GanttSpan(name: "sub-step A", lane: "Script", startSeconds: 10, endSeconds: 40),
            GanttSpan(name: "sub-step B", lane: "Script", startSeconds: 50, endSeconds: 90),
            GanttSpan(name: "next", lane: "Script", startSeconds: 100, endSeconds: 120),
        ]
        let chart = GanttChart(title: "Nested", spans: spans)
        let rows = Dictionary(uniqueKeysWithValues: chart.rows(forLane: "Script").map { (spans[$0.index].name, $0.row) })
        #expect(rows == ["BLOCK-309": 0, "sub-step A": 1, "sub-step B": 1, "next": 0])
        #expect(chart.busySeconds(lane: "Script") == 120)
        let doc = XMLCollector.parse(chart.svg())
        let ys = Dictionary(uniqueKeysWithValues: doc.elements("rect", cssClass: "gantt-bar").map { ($0.attributes["data-step"] ?? "", $0.number("y") ?? 0) })
        #expect(ys["sub-step A"] == ys["sub-step B"])
        #expect(ys["sub-step A"]! > ys["BLOCK-309"]!)
    }

    @Test func heatMapColoursFollowTheScaleAndTileTheGrid() throws {
        let days = stride(from: 4.0, through: 361, by: 7).map { $0 }
        let offsets = stride(from: -30.0, through: 60, by: 5).map { $0 }
        let values = offsets.map { o in days.map { d in o == -30 ? Double.nan : max(0, min(1, 0.5 + 0.5 * cos(2 * .pi * d / 365) - o / 120)) } }
        var forced = values
        forced[1][0] = 1
        forced[1][1] = 0
        let figure = HeatMapFigure(title: "Twilight flat feasibility", panels: [
            HeatMapGrid(title: "SDSSr", xCentres: days, yCentres: offsets, values: forced),
            HeatMapGrid(title: "L'", xCentres: days, yCentres: offsets, values: values),
        ], xLabel: "Date", yLabel: "Start offset from sunset (min)", colourLabel: "P(series completed)", xAxisStyle: .dayOfYear)
        let doc = XMLCollector.parse(figure.svg())
        #expect(doc.error == nil)
        let cells = doc.elements("rect", cssClass: "cell")
        #expect(cells.count == 2 * days.count * offsets.count)
        let first = Array(cells.prefix(days.count * offsets.count))
        // Row-major from the lowest offset: row 1 is offset -25 min.
        #expect(first[days.count].attributes["fill"] == Palette.sequentialTop)
        #expect(first[days.count + 1].attributes["fill"] == Palette.sequentialBottom)
        #expect(first[0].attributes["fill"] == Palette.noData)
        #expect(figure.colour(for: 1) == "#FDE725" && figure.colour(for: 0) == "#440154")
        // Adjacent cells share edges: the grid has no gaps.
        let c0 = first[days.count], c1 = first[days.count + 1]
        #expect(abs((c0.number("x") ?? 0) + (c0.number("width") ?? 0) - 0.3 - (c1.number("x") ?? 0)) < 0.02)
        // The colour bar's top slice is the top of the scale, its bottom slice the bottom.
        let slices = doc.nodes.filter { $0.name == "rect" && $0.inGroup("colour-bar") && $0.attributes["fill"] != "none" }
        #expect(slices.count == 65)
        #expect(doc.elements("text").map(\.text).filter { $0.count == 3 && $0.first?.isLetter == true }.prefix(12)
                == ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"])
        #expect(doc.elements("text", cssClass: "panel-title").map(\.text) == ["SDSSr", "L'"])
    }

    @Test func spreadLineBandEnclosesTheMedian() throws {
        let series = [SpreadSeries(name: "weekly home_dome", points: (1...6).map { k in
            SpreadPoint(x: Double(k) * 2, p05: 10 - Double(k), p50: 12 - Double(k), p95: 15 - Double(k) * 0.5) })]
        let doc = XMLCollector.parse(SpreadLineFigure(title: "Master flat error", series: series, xLabel: "SEQ NEXPO",
                                                      yLabel: "Master flat error (%)").svg())
        #expect(doc.error == nil)
        #expect(doc.elements("circle", cssClass: "median-point").count == 6)
        let band = try #require(doc.elements("polygon", cssClass: "band").first)
        #expect((band.attributes["points"] ?? "").split(separator: " ").count == 12)
    }

    @Test func timeSeriesPanelsShareTheTimeAxis() throws {
        let times = (0..<20).map { Double($0) * 1.5 }
        let sky = times.map { 40_000 * pow(10, -0.12 * $0) }
        let dit = sky.map { min(30, max(0.1, 60_000 / $0)) }
        let doc = XMLCollector.parse(TimeSeriesFigure(title: "Twilight", timeLabel: "Minutes after sunset", panels: [
            TimeSeriesPanel(yLabel: "Sky level (ADU/s)", times: times, values: sky, logarithmic: true),
            TimeSeriesPanel(yLabel: "DIT (s)", times: times, values: dit, style: .steps),
        ]).svg())
        #expect(doc.error == nil)
        #expect(doc.elements("circle", cssClass: "sample").count == 40)
        #expect(doc.nodes.filter { $0.name == "text" && $0.attributes["class"] == "axis-title" }.map(\.text)
                == ["Sky level (ADU/s)", "DIT (s)", "Minutes after sunset"])
    }

    @Test func ptcLogLogPointsSitOnTheirDecades() throws {
        let means = [100.0, 1_000, 10_000, 100_000]
        let figure = ScatterFitFigure(title: "PTC", points: [ScatterSeries(name: "C10", x: means, y: means.map { $0 / 1.1 })],
                                      fit: ScatterSeries(name: "Astier et al. 2019 fit", x: means, y: means.map { $0 / 1.1 }),
                                      xLabel: "Mean (ADU)", yLabel: "Variance (ADU²)", markers: [ValueMarker(label: "turnoff", value: 90_000)])
        let doc = XMLCollector.parse(figure.svg())
        #expect(doc.error == nil)
        let points = doc.elements("circle", cssClass: "point")
        #expect(points.count == 4)
        let ticks = doc.xTicks()
        let x1000 = try #require(ticks.first { $0.label == "1000" }?.x)
        #expect(abs((points[1].number("cx") ?? 0) - x1000) < 0.02)
        // Equal spacing per decade on a log axis.
        let gaps = zip(points.dropFirst(), points).map { ($0.number("cx") ?? 0) - ($1.number("cx") ?? 0) }
        #expect(gaps.allSatisfy { abs($0 - gaps[0]) < 0.02 })
    }
}
