import Foundation
import Experiments
import Procedures
import Testing
@testable import Reporting

/// Text extents of an SVG figure from DejaVu Sans advance widths (per em: digits 0.636, capitals ≈ 0.70,
/// lower case ≈ 0.58, space 0.318, punctuation ≈ 0.40; bold about 10 % wider), independent of the
/// figures' own 0.6-em layout estimate, so a label the layout squeezed too tight shows up here.
enum TextExtents {
    static func advance(_ c: Character) -> Double {
        if c.isNumber { return 0.636 }
        if c == " " { return 0.318 }
        if c.isUppercase { return 0.70 }
        if c.isLowercase { return 0.58 }
        return 0.40
    }

    struct Box: CustomStringConvertible {
        let text: String
        let x0, y0, x1, y1: Double
        var description: String { String(format: "'%@' [%.0f…%.0f × %.0f…%.0f]", text, x0, x1, y0, y1) }
        func overlaps(_ o: Box) -> Bool {
            min(x1, o.x1) - max(x0, o.x0) > 1 && min(y1, o.y1) - max(y0, o.y0) > 1
        }
    }

    /// Boxes of every `<text>` (rotated ±90° text turned with it), in SVG pixels.
    static func boxes(_ doc: XMLCollector) -> [Box] {
        doc.elements("text").compactMap { t in
            guard !t.text.isEmpty, let x = t.number("x"), let y = t.number("y") else { return nil }
            let size = t.number("font-size") ?? 12
            let width = t.text.reduce(0) { $0 + advance($1) } * size * (t.attributes["font-weight"] == "bold" ? 1.1 : 1)
            let a: Double
            switch t.attributes["text-anchor"] {
            case "middle": a = width / 2
            case "end": a = width
            default: a = 0
            }
            // Baseline at y: ascent ≈ 0.76 em above, descent ≈ 0.24 em below.
            let (ascent, descent) = (0.76 * size, 0.24 * size)
            if let transform = t.attributes["transform"], transform.hasPrefix("rotate(-90") || transform.hasPrefix("rotate(270") {
                return Box(text: t.text, x0: x - ascent, y0: y - width + a, x1: x + descent, y1: y + a)
            }
            if let transform = t.attributes["transform"], transform.hasPrefix("rotate(90") {
                return Box(text: t.text, x0: x - descent, y0: y - a, x1: x + ascent, y1: y - a + width)
            }
            return Box(text: t.text, x0: x - a, y0: y - ascent, x1: x - a + width, y1: y + descent)
        }
    }

    /// Labels outside the figure, and pairs of labels drawn over each other.
    static func problems(_ svg: String) -> [String] {
        let doc = XMLCollector.parse(svg)
        guard doc.error == nil, let root = doc.nodes.first, let w = root.number("width"), let h = root.number("height") else { return ["not parseable"] }
        let b = boxes(doc)
        var out: [String] = []
        for box in b where box.x0 < -0.5 || box.y0 < -0.5 || box.x1 > w + 0.5 || box.y1 > h + 0.5 {
            out.append("clipped: \(box) outside \(Int(w))×\(Int(h))")
        }
        for i in b.indices { for j in b.indices where j > i && b[i].overlaps(b[j]) { out.append("overlap: \(b[i]) and \(b[j])") } }
        return out
    }
}

@Suite struct FigureLayoutTests {
    static let latissSteps: [(String, String, Double, Double, String)] = [
        ("BLOCK-309 setup_latiss_calibrations", "ATQueue", 0, 967, ""),
        ("power_on_atcalsys", "lamp", 4, 928, "BLOCK-309 setup_latiss_calibrations"),
        ("ATWhiteLight lamp warm-up", "lamp", 25, 925, "BLOCK-309 setup_latiss_calibrations › power_on_atcalsys"),
        ("prepare_for/flat", "mount", 928, 967, "BLOCK-309 setup_latiss_calibrations"),
        ("ATDome to az 3.0", "dome", 928, 944, "BLOCK-309 setup_latiss_calibrations › prepare_for/flat"),
        ("BLOCK-295 latiss_weekly_calibrations", "ATQueue", 967, 4200, ""),
        ("make_latiss_calibrations SDSSr_65mm", "LATISS", 967, 1765, "BLOCK-295 latiss_weekly_calibrations"),
        ("take_imgtype BIAS", "LATISS", 974, 1016, "BLOCK-295 latiss_weekly_calibrations › make_latiss_calibrations SDSSr_65mm"),
        ("take_imgtype DARK", "LATISS", 1016, 1597, "BLOCK-295 latiss_weekly_calibrations › make_latiss_calibrations SDSSr_65mm"),
        ("take_imgtype FLAT", "LATISS", 1597, 1765, "BLOCK-295 latiss_weekly_calibrations › make_latiss_calibrations SDSSr_65mm"),
        ("take_image_latiss weekly_PTC", "LATISS", 2900, 4160, "BLOCK-295 latiss_weekly_calibrations"),
        ("power_off_atcalsys", "lamp", 4200, 5105, ""),
    ]

    @Test func ganttLabelsStayInsideAndApart() {
        let spans = Self.latissSteps.map { GanttSpan(name: $0.0, lane: $0.1, startSeconds: $0.2, endSeconds: $0.3, context: $0.4) }
        let svg = GanttChart(title: "Trial 12: 1 h 25 min, completed", spans: spans).svg()
        #expect(TextExtents.problems(svg) == [])
        // The set a short bar belongs to is in its tooltip.
        #expect(svg.contains("take_imgtype BIAS, in BLOCK-295 latiss_weekly_calibrations › make_latiss_calibrations SDSSr_65mm"))
    }

    /// The weekly's breakdown and tornado (the numbers of a 1000-trial run): labels inside and apart,
    /// parts in order and summing to the bar.
    @Test func timeUseAndTornadoLabelsStayInsideAndApart() {
        let parts: [(label: String, seconds: Double, standardError: Double)] = [
            ("exposure", 2778, 5.7), ("readout and overheads", 984, 1.9), ("waits for data and pipelines", 630, 1.4),
            ("lamp", 1818, 0.9), ("mechanisms", 114.7, 0.2), ("CSC transitions", 6.3, 0), ("contingencies", 38.5, 3.2), ("other", 0, 0)]
        let total = parts.map(\.seconds).reduce(0, +)
        let bar = TimeUseFigure(title: "Where the time goes", meanSeconds: total, parts: parts).svg()
        #expect(TextExtents.problems(bar) == [])
        // Zero parts are left out of the bar and the legend.
        #expect(bar.components(separatedBy: "class=\"time-use-part\"").count - 1 == 7)
        #expect(!bar.contains("other:"))
        func e(_ d: Double, _ se: Double) -> SensitivityResult.Effect { .init(delta: d, standardError: se, lower95: d - 2 * se, upper95: d + 2 * se) }
        let rows = [("timing.oods_wait", -130.9, 9.4, 1883.2, 6.7), ("timing.image_overhead", -567.1, 6, 1144.3, 0.6),
                    ("timing.verification_job", -518.4, 9.8, 81.6, 9.8), ("timing.readout", -143, 0, 286, 0),
                    ("timing.image_overhead_sd", 0, 0, 0, 0)].map {
            TornadoFigure.Row(label: $0.0, lowLabel: "0 s", low: e($0.1, $0.2), highLabel: "120 s", high: e($0.3, $0.4))
        }
        let tornado = TornadoFigure(title: "Sensitivity of the p95 duration", rows: rows).svg()
        #expect(TextExtents.problems(tornado) == [])
        #expect(tornado.components(separatedBy: "class=\"tornado-bar\"").count - 1 == 10)
    }

    @Test func sweepAndDistributionFiguresKeepTheirLabelsInside() {
        let twoPoints = SpreadLineFigure(title: "duration_s against parameters.bb_temperature",
                                         series: [SpreadSeries(name: "duration_s", points: [
                                             SpreadPoint(x: 900, p05: 3600, p50: 3700, p95: 3900), SpreadPoint(x: 1000, p05: 3900, p50: 4000, p95: 4300)])],
                                         xLabel: "parameters.bb_temperature (K)", yLabel: "duration_s (s)", discrete: true)
        let svg = twoPoints.svg()
        #expect(TextExtents.problems(svg) == [])
        #expect(XMLCollector.parse(svg).elements("line", cssClass: "error-bar").count == 2)
        #expect(XMLCollector.parse(svg).elements("polygon", cssClass: "band").isEmpty)

        var g = SplitMix64(state: 3)
        let sample = (0..<2000).map { _ in 5100 + Double(g.next() % 1000) / 10 }
        let hist = DistributionFigure(title: "Trial duration at parameters.bb_temperature = 1000 K", sample: sample, quantity: "duration", unit: "s",
                                      markers: [ValueMarker(label: "p50", value: 5150), ValueMarker(label: "p95", value: 5195)], style: .histogram)
        #expect(TextExtents.problems(hist.svg()) == [])

        let days = stride(from: 5.0, through: 355, by: 14).map { $0 }
        let offsets = stride(from: 0.0, through: 24, by: 2).map { $0 }
        let map = HeatMapFigure(title: "P(feasible)", panels: [HeatMapGrid(title: "feasible", xCentres: days, yCentres: offsets,
                                                                            values: offsets.map { o in days.map { d in (d + o).truncatingRemainder(dividingBy: 2) } })],
                                xLabel: "epoch (date of the night, UTC)", yLabel: "parameters.start_offset (min)",
                                colourLabel: "probability that feasible = 1", valueRange: 0...1, xAxisStyle: .dayOfYear, columns: 1)
        #expect(TextExtents.problems(map.svg()) == [])
    }

    /// A categorical sweep (two plans) gets one slot per plan, labelled with its name, drawn as error bars.
    @Test func categoricalSweepIsDrawnPerPlan() {
        let fig = SpreadLineFigure(title: "duration_s against parameters.plan", series: [SpreadSeries(name: "duration_s", points: [
            SpreadPoint(x: 1, p05: 2782, p50: 2805, p95: 2833), SpreadPoint(x: 2, p05: 2760, p50: 2777, p95: 2808)])],
                                   xLabel: "parameters.plan", yLabel: "duration_s (s)", categories: ["document-order", "parallel-cfo-setup"])
        let svg = fig.svg()
        #expect(TextExtents.problems(svg) == [])
        let doc = XMLCollector.parse(svg)
        #expect(doc.xTicks().map(\.label) == ["document-order", "parallel-cfo-setup"])
        #expect(doc.elements("line", cssClass: "error-bar").count == 2)
    }

    /// The checker itself: a label past the right edge and two labels on one spot are both found.
    @Test func checkerFindsClippedAndOverlappingText() {
        let svg = """
        <svg xmlns="http://www.w3.org/2000/svg" width="200" height="100"><text x="150" y="50" font-size="12">a long label here</text>\
        <text x="10" y="20" font-size="12">first</text><text x="14" y="22" font-size="12">second</text></svg>
        """
        let p = TextExtents.problems(svg)
        #expect(p.contains { $0.hasPrefix("clipped: 'a long label here'") })
        #expect(p.contains { $0.hasPrefix("overlap: 'first'") })
    }
}

@Suite struct MetricDisplayTests {
    static func stats(_ xs: [Double]) -> RunningStatistics {
        var r = RunningStatistics()
        for x in xs { r.add(x) }
        return r
    }

    /// A documented 0/1 indicator is a probability; a count that happened to be 0 or 1 stays a count; whole
    /// numbers read as counts (a p50 of 30 frames, not 29.99); anything else is continuous.
    @Test func indicatorsCountsAndQuantities() {
        let feasible = MetricSpec("feasible", unit: "1", doc: "1 when every level got its frames in range, else 0.")
        let restarts = MetricSpec("restarts", unit: "1", doc: "Restarts of the procedure.")
        #expect(MetricDisplay.of(Self.stats([0, 1, 1, 0, 1]), feasible) == .probability)
        #expect(MetricDisplay.of(Self.stats([0, 1, 0, 0]), restarts) == .count)
        #expect(MetricDisplay.of(Self.stats([28, 30, 30, 29]), restarts) == .count)
        #expect(MetricDisplay.of(Self.stats([28.5, 30, 30, 29]), restarts) == .continuous)
    }
}
