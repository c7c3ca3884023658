import Foundation

/// Fixed-precision number text for SVG coordinates and labels. Every figure goes through here so the same
/// input always gives the same bytes (no locale, no shortest-round-trip formatting, no "-0").
public enum FixedNumber {
    public static func format(_ value: Double, decimals: Int) -> String {
        guard value.isFinite else { return value.isNaN ? "NaN" : (value > 0 ? "inf" : "-inf") }
        let text = exactFixed(value, decimals: max(0, decimals)) ?? String(format: "%.\(max(0, decimals))f", value)
        // "-0.00" and "0.00" must be the same bytes, whatever rounding produced them.
        if text.utf8.first == UInt8(ascii: "-"), text.utf8.dropFirst().allSatisfy({ $0 == UInt8(ascii: "0") || $0 == UInt8(ascii: ".") }) {
            return String(text.dropFirst())
        }
        return text
    }

    /// `%.Nf` as C's printf writes it — the binary value rounded exactly to N decimals, ties to even — for
    /// the values figures hold (N ≤ 9, |value| < 2⁶³/10^N), nil otherwise. A year map's figures hold ~10⁵
    /// numbers, and Foundation's `String(format:)` built an NSString for each (~10⁴ instructions apiece).
    /// value = m·2^e exactly, so value·10^N = m·10^N·2^e is an exact 128-bit product and shift.
    static func exactFixed(_ value: Double, decimals: Int) -> String? {
        guard decimals <= 9 else { return nil }
        var scale: UInt64 = 1
        for _ in 0..<decimals { scale *= 10 }
        let magnitude = value.magnitude
        guard magnitude < Double(UInt64(1) << 63) / Double(scale) else { return nil }
        var q: UInt64 = 0
        if magnitude != 0 {
            let m = UInt128(magnitude.significandBitPattern | (magnitude.isNormal ? UInt64(1) << 52 : 0))
            let e = Int(magnitude.exponent) - 52 + (magnitude.isNormal ? 0 : 1) // value = m · 2^e
            let product = m * UInt128(scale)
            if e >= 0 {
                q = UInt64(product << e)
            } else if -e >= 127 {
                q = 0 // below 2⁻⁶⁴·10^N: rounds to zero
            } else {
                let shift = -e
                let quotient = product >> shift
                let remainder = product & ((UInt128(1) << shift) - 1)
                let half = UInt128(1) << (shift - 1)
                q = UInt64(quotient)
                if remainder > half || (remainder == half && q & 1 == 1) { q += 1 }
            }
        }
        var digits = Array(String(q).utf8)
        if digits.count <= decimals { digits = Array(repeating: UInt8(ascii: "0"), count: decimals + 1 - digits.count) + digits }
        var out: [UInt8] = []
        out.reserveCapacity(digits.count + 2)
        if value.sign == .minus { out.append(UInt8(ascii: "-")) }
        out.append(contentsOf: digits[..<(digits.count - decimals)])
        if decimals > 0 {
            out.append(UInt8(ascii: "."))
            out.append(contentsOf: digits[(digits.count - decimals)...])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Coordinates: two decimals are far below a screen pixel and keep files small.
    static func coordinate(_ value: Double) -> String { format(value, decimals: 2) }
}

/// Escapes text for XML character data and attribute values (SVG and XHTML alike).
public func xmlEscaped(_ text: String) -> String {
    // Most labels need nothing escaped: checked on the UTF-8 bytes, they are returned as they are.
    if !text.utf8.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "&") || $0 == UInt8(ascii: "<") || $0 == UInt8(ascii: ">")
                                        || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "'") }) {
        return text
    }
    var out = ""
    out.reserveCapacity(text.count)
    for scalar in text.unicodeScalars {
        switch scalar {
        case "&": out += "&amp;"
        case "<": out += "&lt;"
        case ">": out += "&gt;"
        case "\"": out += "&quot;"
        case "'": out += "&#39;"
        default:
            // Control characters other than tab/newline are not allowed in XML 1.0 at all.
            if scalar.value < 0x20 && scalar != "\t" && scalar != "\n" && scalar != "\r" {
                out += "\u{FFFD}"
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
    }
    return out
}

/// The Okabe–Ito palette (Okabe & Ito 2008, "Color Universal Design"): distinguishable under the common
/// colour-vision deficiencies. Ordered so the first colours have the best contrast on white.
public enum Palette {
    public static let categorical: [String] = [
        "#0072B2", // blue
        "#E69F00", // orange
        "#009E73", // bluish green
        "#D55E00", // vermillion
        "#CC79A7", // reddish purple
        "#56B4E9", // sky blue
        "#000000", // black
        "#F0E442", // yellow: last, it is weak on white
    ]
    public static func colour(_ index: Int) -> String { categorical[((index % categorical.count) + categorical.count) % categorical.count] }

    /// Marker lines (p50, p95): black and vermillion read on every bar colour of the palette.
    public static let markerColours: [String] = ["#000000", "#D55E00", "#CC79A7", "#009E73"]
    public static let axis = "#333333"
    public static let grid = "#dddddd"
    public static let noData = "#bbbbbb"

    /// Viridis (van der Walt & Smith, matplotlib), sampled at 10 evenly spaced points (#440154 ...
    /// #FDE725): perceptually uniform and readable in grey and under colour-vision deficiencies.
    static let viridisStops: [(Double, Double, Double)] = [
        (68, 1, 84), (72, 40, 120), (62, 74, 137), (49, 104, 142), (38, 130, 142), (31, 158, 137),
        (53, 183, 121), (109, 205, 89), (180, 222, 44), (253, 231, 37),
    ]
    public static let sequentialTop = "#FDE725"
    public static let sequentialBottom = "#440154"

    /// Viridis colour for `fraction` in 0...1 (clamped), linear between the stops.
    public static func sequential(_ fraction: Double) -> String {
        let f = fraction.isFinite ? min(1, max(0, fraction)) : 0
        let position = f * 9
        let i = min(8, Int(position.rounded(.down)))
        let t = position - Double(i)
        let (r0, g0, b0) = viridisStops[i]
        let (r1, g1, b1) = viridisStops[i + 1]
        return hex(r0 + (r1 - r0) * t, g0 + (g1 - g0) * t, b0 + (b1 - b0) * t)
    }

    /// `colour` mixed with white by `amount` (0 = unchanged): a lighter tone of the same hue.
    static func lighter(_ colour: String, by amount: Double) -> String {
        let digits = Array(colour.dropFirst())
        guard digits.count == 6,
              let r = Int(String(digits[0..<2]), radix: 16),
              let g = Int(String(digits[2..<4]), radix: 16),
              let b = Int(String(digits[4..<6]), radix: 16) else { return colour }
        func mix(_ c: Int) -> Double { Double(c) + (255 - Double(c)) * amount }
        return hex(mix(r), mix(g), mix(b))
    }

    static func hex(_ r: Double, _ g: Double, _ b: Double) -> String {
        func byte(_ v: Double) -> Int { Int(min(255, max(0, v.rounded()))) }
        let digits = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = [UInt8(ascii: "#")]
        for v in [byte(r), byte(g), byte(b)] { out.append(digits[v >> 4]); out.append(digits[v & 15]) }
        return String(decoding: out, as: UTF8.self)
    }
}

/// Approximate advance width of text in the figures' font (DejaVu Sans / Helvetica class): about 0.6 of
/// the font size per character on average. Used only to decide whether a label fits and to size margins.
func estimatedTextWidth(_ text: String, fontSize: Double) -> Double {
    Double(text.count) * fontSize * 0.6
}

/// `text` shortened with an ellipsis so that it fits `width` pixels at `fontSize`.
func truncated(_ text: String, toWidth width: Double, fontSize: Double) -> String {
    if estimatedTextWidth(text, fontSize: fontSize) <= width { return text }
    let maxChars = max(1, Int(width / (fontSize * 0.6)) - 1)
    return String(text.prefix(maxChars)) + "…"
}

/// Builds one self-contained SVG document. The figure's title is both the `<title>` element (read by
/// screen readers, shown as a tooltip) and a visible heading; no ids are used, so any number of figures can
/// sit in one HTML page without clashing.
struct SVGCanvas {
    let width: Double
    let height: Double
    let title: String
    let summary: String
    private var elements: [String] = []

    static let fontFamily = "DejaVu Sans, Helvetica, Arial, sans-serif"

    init(width: Double, height: Double, title: String, summary: String) {
        self.width = width
        self.height = height
        self.title = title
        self.summary = summary
    }

    private static func c(_ v: Double) -> String { FixedNumber.coordinate(v) }

    private static func titleElement(_ tooltip: String?) -> String {
        guard let tooltip else { return "" }
        return "<title>\(xmlEscaped(tooltip))</title>"
    }

    mutating func raw(_ element: String) { elements.append(element) }

    mutating func rect(x: Double, y: Double, width: Double, height: Double, fill: String,
                       stroke: String? = nil, strokeWidth: Double = 1, dashed: Bool = false, opacity: Double? = nil,
                       cssClass: String? = nil, data: [(String, String)] = [], tooltip: String? = nil) {
        var a = "x=\"\(Self.c(x))\" y=\"\(Self.c(y))\" width=\"\(Self.c(max(0, width)))\" height=\"\(Self.c(max(0, height)))\" fill=\"\(fill)\""
        if let stroke { a += " stroke=\"\(stroke)\" stroke-width=\"\(Self.c(strokeWidth))\"" }
        if dashed { a += " stroke-dasharray=\"3 2\"" }
        if let opacity { a += " fill-opacity=\"\(FixedNumber.format(opacity, decimals: 2))\"" }
        if let cssClass { a += " class=\"\(cssClass)\"" }
        for (k, v) in data { a += " data-\(k)=\"\(xmlEscaped(v))\"" }
        if let tooltip {
            elements.append("<rect \(a)>\(Self.titleElement(tooltip))</rect>")
        } else {
            elements.append("<rect \(a)/>")
        }
    }

    mutating func line(x1: Double, y1: Double, x2: Double, y2: Double, stroke: String, width: Double = 1,
                       dashed: Bool = false, cssClass: String? = nil, data: [(String, String)] = []) {
        var a = "x1=\"\(Self.c(x1))\" y1=\"\(Self.c(y1))\" x2=\"\(Self.c(x2))\" y2=\"\(Self.c(y2))\" stroke=\"\(stroke)\" stroke-width=\"\(Self.c(width))\""
        if dashed { a += " stroke-dasharray=\"6 3\"" }
        if let cssClass { a += " class=\"\(cssClass)\"" }
        for (k, v) in data { a += " data-\(k)=\"\(xmlEscaped(v))\"" }
        elements.append("<line \(a)/>")
    }

    mutating func polyline(_ points: [(Double, Double)], stroke: String, width: Double = 1.5, dashed: Bool = false,
                           cssClass: String? = nil) {
        guard points.count >= 2 else { return }
        let p = points.map { "\(Self.c($0.0)),\(Self.c($0.1))" }.joined(separator: " ")
        var a = "points=\"\(p)\" fill=\"none\" stroke=\"\(stroke)\" stroke-width=\"\(Self.c(width))\" stroke-linejoin=\"round\""
        if dashed { a += " stroke-dasharray=\"6 3\"" }
        if let cssClass { a += " class=\"\(cssClass)\"" }
        elements.append("<polyline \(a)/>")
    }

    mutating func polygon(_ points: [(Double, Double)], fill: String, opacity: Double, cssClass: String? = nil) {
        guard points.count >= 3 else { return }
        let p = points.map { "\(Self.c($0.0)),\(Self.c($0.1))" }.joined(separator: " ")
        var a = "points=\"\(p)\" fill=\"\(fill)\" fill-opacity=\"\(FixedNumber.format(opacity, decimals: 2))\" stroke=\"none\""
        if let cssClass { a += " class=\"\(cssClass)\"" }
        elements.append("<polygon \(a)/>")
    }

    mutating func circle(cx: Double, cy: Double, r: Double, fill: String, stroke: String? = nil, tooltip: String? = nil,
                         cssClass: String? = nil) {
        var a = "cx=\"\(Self.c(cx))\" cy=\"\(Self.c(cy))\" r=\"\(Self.c(r))\" fill=\"\(fill)\""
        if let stroke { a += " stroke=\"\(stroke)\" stroke-width=\"1\"" }
        if let cssClass { a += " class=\"\(cssClass)\"" }
        if let tooltip {
            elements.append("<circle \(a)>\(Self.titleElement(tooltip))</circle>")
        } else {
            elements.append("<circle \(a)/>")
        }
    }

    enum Anchor: String { case start, middle, end }

    mutating func text(_ string: String, x: Double, y: Double, size: Double = 12, anchor: Anchor = .start,
                       weight: String? = nil, fill: String = Palette.axis, rotate: Double? = nil, cssClass: String? = nil,
                       tooltip: String? = nil) {
        var a = "x=\"\(Self.c(x))\" y=\"\(Self.c(y))\" font-size=\"\(Self.c(size))\" text-anchor=\"\(anchor.rawValue)\" fill=\"\(fill)\""
        if let weight { a += " font-weight=\"\(weight)\"" }
        if let rotate { a += " transform=\"rotate(\(Self.c(rotate)) \(Self.c(x)) \(Self.c(y)))\"" }
        if let cssClass { a += " class=\"\(cssClass)\"" }
        elements.append("<text \(a)>\(Self.titleElement(tooltip))\(xmlEscaped(string))</text>")
    }

    /// `crispEdges` turns off anti-aliasing at shape edges, so abutting cells show no hairline seams.
    mutating func openGroup(cssClass: String, tooltip: String? = nil, crispEdges: Bool = false) {
        let rendering = crispEdges ? " shape-rendering=\"crispEdges\"" : ""
        elements.append("<g class=\"\(cssClass)\"\(rendering)>\(Self.titleElement(tooltip))")
    }

    mutating func closeGroup() { elements.append("</g>") }

    /// The heading drawn at the top of every figure.
    mutating func heading() {
        text(title, x: 12, y: 22, size: 15, weight: "bold", fill: "#111111", cssClass: "figure-title")
    }

    func render() -> String {
        var out = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Self.c(width))\" height=\"\(Self.c(height))\" "
        out += "viewBox=\"0 0 \(Self.c(width)) \(Self.c(height))\" role=\"img\" aria-label=\"\(xmlEscaped(title))\" "
        out += "font-family=\"\(Self.fontFamily)\">\n"
        out += "<title>\(xmlEscaped(title))</title>\n"
        if !summary.isEmpty { out += "<desc>\(xmlEscaped(summary))</desc>\n" }
        out += "<rect x=\"0\" y=\"0\" width=\"\(Self.c(width))\" height=\"\(Self.c(height))\" fill=\"#ffffff\"/>\n"
        for e in elements { out += e; out += "\n" }
        out += "</svg>\n"
        return out
    }
}

/// An SVG string as a standalone `.svg` file (with the XML declaration that an inline copy must not have).
public func standaloneSVGFile(_ svg: String) -> String {
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" + svg
}
