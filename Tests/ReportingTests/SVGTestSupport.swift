import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
@testable import Reporting

/// One parsed XML element: its name, attributes, own text, and the `class` attributes of its ancestors.
struct XMLNode {
    let name: String
    let attributes: [String: String]
    var text: String
    let ancestorClasses: [String]

    func number(_ attribute: String) -> Double? { attributes[attribute].flatMap(Double.init) }
    func inGroup(_ cssClass: String) -> Bool { ancestorClasses.contains(cssClass) }
}

/// Parses a document with Foundation's XMLParser (libxml2 on Linux) into a flat list of elements.
/// `error` is set when the document is not well-formed XML.
final class XMLCollector: NSObject, XMLParserDelegate {
    var nodes: [XMLNode] = []
    var error: Error?
    private var stack: [Int] = []
    private var classStack: [String] = []

    static func parse(_ text: String) -> XMLCollector {
        let collector = XMLCollector()
        let parser = XMLParser(data: Data(text.utf8))
        parser.delegate = collector
        if !parser.parse() { collector.error = parser.parserError ?? NSError(domain: "xml", code: 1) }
        return collector
    }

    func parser(_ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?,
                qualifiedName qName: String?, attributes attributeDict: [String: String] = [:]) {
        nodes.append(XMLNode(name: elementName, attributes: attributeDict, text: "", ancestorClasses: classStack))
        stack.append(nodes.count - 1)
        classStack.append(attributeDict["class"] ?? "")
    }

    func parser(_ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?, qualifiedName qName: String?) {
        stack.removeLast()
        classStack.removeLast()
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) {
        if let top = stack.last { nodes[top].text += string }
    }

    func parser(_ parser: XMLParser, parseErrorOccurred parseError: Error) { error = parseError }

    func elements(_ name: String, cssClass: String? = nil) -> [XMLNode] {
        nodes.filter { $0.name == name && (cssClass == nil || $0.attributes["class"] == cssClass) }
    }

    /// The x-axis tick labels as (pixel x, label) from the axis group, for mapping data to pixels
    /// independently of the figure's own scale code.
    func xTicks(group: String = "x-axis") -> [(x: Double, label: String)] {
        nodes.filter { $0.name == "text" && $0.inGroup(group) && $0.attributes["class"] == nil && !$0.text.isEmpty }
            .map { ($0.number("x") ?? .nan, $0.text) }
    }
}

/// Linear interpolation of a value to a pixel through two labelled ticks.
func pixel(for value: Double, ticks: [(x: Double, label: String)], labelValue: (String) -> Double? = { Double($0) }) -> Double {
    let numeric = ticks.compactMap { t in labelValue(t.label).map { (t.x, $0) } }
    let (x0, v0) = numeric[0], (x1, v1) = numeric[numeric.count - 1]
    return x0 + (value - v0) / (v1 - v0) * (x1 - x0)
}

/// SplitMix64 (Steele et al. 2014): a fixed, dependency-free source of test samples.
struct SplitMix64 {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func uniform() -> Double { Double(next() >> 11) / Double(1 << 53) }
    /// Box–Muller normal deviate.
    mutating func gaussian(mean: Double, sigma: Double) -> Double {
        let u1 = max(uniform(), 1e-300), u2 = uniform()
        return mean + sigma * (-2 * log(u1)).squareRoot() * cos(2 * .pi * u2)
    }
}

/// The median as numpy/GSL define it for the test sample (mean of the two middle values for even n).
func median(_ values: [Double]) -> Double {
    let s = values.sorted()
    return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
}

/// A LATISS-weekly-like timeline: setup (lamp warm-up, concurrent mount and dome moves), per-filter bias,
/// dark and flat exposures with readouts and filter changes, a PTC of 60 exposures with readouts, the
/// enclosing block on its own lane, and a shutdown block cut short. About 200 steps, as the Gantt chart must handle.
func sampleTimeline() -> [GanttSpan] {
    var spans: [GanttSpan] = []
    spans.append(GanttSpan(name: "power_on_atcalsys: chiller", lane: "ATWhiteLight", startSeconds: 0, endSeconds: 120))
    spans.append(GanttSpan(name: "lamp ignition", lane: "ATWhiteLight", startSeconds: 120, endSeconds: 150))
    spans.append(GanttSpan(name: "lamp warm-up", lane: "ATWhiteLight", startSeconds: 150, endSeconds: 1050))
    spans.append(GanttSpan(name: "prepare_for/flat: mount to az 188.7° el 39.0°", lane: "ATMCS", startSeconds: 0, endSeconds: 95))
    spans.append(GanttSpan(name: "prepare_for/flat: dome to az 3.0°", lane: "ATDome", startSeconds: 0, endSeconds: 240))
    var t = 1060.0
    for filter in ["SDSSr_65mm", "SDSSg_65mm", "SDSSz_65mm", "SDSSy_65mm", "empty_1"] {
        spans.append(GanttSpan(name: "filter change to \(filter)", lane: "Filter wheel", startSeconds: t, endSeconds: t + 25))
        t += 25
        for kind in ["bias", "bias", "dark", "flat", "flat"] {
            let exposure = kind == "bias" ? 0.0 : kind == "dark" ? 30 : 6
            spans.append(GanttSpan(name: "\(kind) exposure", lane: "Detector", startSeconds: t, endSeconds: t + exposure))
            t += exposure
            spans.append(GanttSpan(name: "readout", lane: "Detector", startSeconds: t, endSeconds: t + 2.3))
            t += 2.3
        }
    }
    for k in 0..<60 {
        let exposure = 0.5 + Double(k) * 0.45
        spans.append(GanttSpan(name: "PTC flat \(k + 1)", lane: "Detector", startSeconds: t, endSeconds: t + exposure))
        t += exposure
        spans.append(GanttSpan(name: "readout", lane: "Detector", startSeconds: t, endSeconds: t + 2.3))
        t += 2.3
    }
    spans.append(GanttSpan(name: "BLOCK-295 weekly calibrations", lane: "Script", startSeconds: 1050, endSeconds: t))
    spans.append(GanttSpan(name: "shutter close", lane: "ATWhiteLight", startSeconds: t, endSeconds: t + 5))
    spans.append(GanttSpan(name: "power_off_atcalsys (15-minute cool-down)", lane: "ATWhiteLight", startSeconds: t + 5,
                           endSeconds: t + 905, completed: false))
    return spans
}
