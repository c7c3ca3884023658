import Foundation

/// A self-contained report page: inline CSS, inline SVG figures, no scripts and no external resources, so
/// the file can be mailed or archived and opens the same anywhere. The markup is well-formed XHTML (every
/// element closed, only XML entities), so an XML parser can check it.
public struct HTMLReportPage: Sendable {
    enum Block: Sendable {
        case section(heading: String, id: String)
        case paragraph(String)
        case table(ReportTable)
        case figure(svg: String, caption: String)
        case facts([(String, String)])
        case preformatted(String)
        case markup(String)
        case subsection(String)
    }

    public var title: String
    public var summary: String
    /// Footer line, e.g. the tool version and the scenario file; no wall-clock time unless the caller adds it.
    public var footer: String
    private var blocks: [Block] = []

    public init(title: String, summary: String, footer: String = "") {
        self.title = title
        self.summary = summary
        self.footer = footer
    }

    /// Starts a new section (an `h2`, listed in the contents at the top).
    public mutating func addSection(_ heading: String) {
        let count = blocks.reduce(0) { n, b in if case .section = b { return n + 1 } else { return n } }
        blocks.append(.section(heading: heading, id: "section-\(count + 1)"))
    }

    public mutating func addParagraph(_ text: String) { blocks.append(.paragraph(text)) }
    public mutating func addTable(_ table: ReportTable) { blocks.append(.table(table)) }
    /// `svg` is one figure's SVG string (as returned by a figure's `svg()`), embedded inline.
    public mutating func addFigure(svg: String, caption: String) { blocks.append(.figure(svg: svg, caption: caption)) }
    /// Key–value facts (scenario, seed, trials ...) as a compact definition list.
    public mutating func addFacts(_ facts: [(String, String)]) { blocks.append(.facts(facts)) }
    public mutating func addPreformatted(_ text: String) { blocks.append(.preformatted(text)) }
    /// Well-formed XHTML the caller built (escaped), e.g. the collapsible step tree.
    public mutating func addMarkup(_ xhtml: String) { blocks.append(.markup(xhtml)) }
    /// An `h3` inside the current section (not listed in the contents).
    public mutating func addSubsection(_ heading: String) { blocks.append(.subsection(heading)) }

    static let css = """
    body { font-family: "DejaVu Sans", Helvetica, Arial, sans-serif; color: #111; margin: 0 auto; max-width: 1260px; padding: 16px 24px; line-height: 1.45; }
    h1 { font-size: 1.6em; margin: 0.4em 0; }
    h2 { font-size: 1.25em; border-bottom: 1px solid #ccc; padding-bottom: 0.2em; margin-top: 1.6em; }
    p.summary { font-size: 1.05em; background: #f4f7fb; border-left: 4px solid #0072B2; padding: 0.6em 0.9em; }
    nav ol { columns: 2; font-size: 0.95em; }
    table { border-collapse: collapse; margin: 0.8em 0; font-size: 0.92em; display: block; max-width: 100%; overflow-x: auto; }
    caption { text-align: left; font-weight: bold; padding-bottom: 0.3em; }
    th, td { border-bottom: 1px solid #ddd; padding: 0.25em 0.7em; text-align: left; vertical-align: top; }
    th { background: #f0f0f0; }
    td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
    tbody tr:nth-child(even) { background: #fafafa; }
    figure { margin: 1em 0; overflow-x: auto; }
    figure svg { max-width: 100%; height: auto; display: block; }
    figcaption { font-size: 0.9em; color: #444; margin-top: 0.3em; }
    dl.facts { display: grid; grid-template-columns: max-content auto; gap: 0.15em 1.2em; }
    dl.facts dt { font-weight: bold; }
    dl.facts dd { margin: 0; }
    pre { background: #f6f6f6; padding: 0.6em; overflow-x: auto; }
    h3 { font-size: 1.08em; margin-top: 1.3em; }
    div.step-tree { font-size: 0.92em; margin: 0.6em 0; max-width: 1000px; }
    div.step-tree details, div.step-tree div.leaf { margin-left: 1.4em; }
    div.step-tree summary, div.step-tree div.leaf { position: relative; }
    div.step-tree > details, div.step-tree > div.leaf { margin-left: 0; }
    div.step-tree summary, div.step-tree div.leaf { padding: 0.12em 0.3em; border-bottom: 1px solid #eee; }
    div.step-tree div.leaf { padding-left: 1.3em; }
    div.step-tree span.bar { position: absolute; left: 0; top: 0; height: 100%; background: #0072B2; opacity: 0.12; z-index: -1; }
    div.step-tree span.share { display: inline-block; min-width: 4.2em; text-align: right; font-variant-numeric: tabular-nums; font-weight: bold; }
    div.step-tree span.lane, div.step-tree span.mean, div.step-tree span.total { color: #555; font-size: 0.92em; }
    div.step-tree div.other { font-style: italic; color: #444; }
    footer { margin-top: 2.5em; border-top: 1px solid #ccc; padding-top: 0.5em; font-size: 0.85em; color: #555; }
    """

    public func render() -> String {
        var out = "<!DOCTYPE html>\n<html xmlns=\"http://www.w3.org/1999/xhtml\" lang=\"en\">\n<head>\n"
        out += "<meta charset=\"utf-8\"/>\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\n"
        out += "<title>\(xmlEscaped(title))</title>\n<style>\n\(Self.css)\n</style>\n</head>\n<body>\n"
        out += "<header>\n<h1>\(xmlEscaped(title))</h1>\n"
        if !summary.isEmpty { out += "<p class=\"summary\">\(xmlEscaped(summary))</p>\n" }
        let sections = blocks.compactMap { b -> (String, String)? in
            if case .section(let heading, let id) = b { return (heading, id) } else { return nil }
        }
        if sections.count > 1 {
            out += "<nav aria-label=\"Contents\"><ol>\n"
            for (heading, id) in sections { out += "<li><a href=\"#\(id)\">\(xmlEscaped(heading))</a></li>\n" }
            out += "</ol></nav>\n"
        }
        out += "</header>\n<main>\n"
        var inSection = false
        for block in blocks {
            switch block {
            case .section(let heading, let id):
                if inSection { out += "</section>\n" }
                out += "<section id=\"\(id)\">\n<h2>\(xmlEscaped(heading))</h2>\n"
                inSection = true
            case .paragraph(let text):
                out += "<p>\(xmlEscaped(text))</p>\n"
            case .table(let table):
                out += table.html()
            case .figure(let svg, let caption):
                out += "<figure>\n\(Self.inlineSVG(svg))<figcaption>\(xmlEscaped(caption))</figcaption>\n</figure>\n"
            case .facts(let facts):
                out += "<dl class=\"facts\">\n"
                for (k, v) in facts { out += "<dt>\(xmlEscaped(k))</dt><dd>\(xmlEscaped(v))</dd>\n" }
                out += "</dl>\n"
            case .preformatted(let text):
                out += "<pre>\(xmlEscaped(text))</pre>\n"
            case .markup(let xhtml):
                out += xhtml
            case .subsection(let heading):
                out += "<h3>\(xmlEscaped(heading))</h3>\n"
            }
        }
        if inSection { out += "</section>\n" }
        out += "</main>\n"
        if !footer.isEmpty { out += "<footer>\(xmlEscaped(footer))</footer>\n" }
        out += "</body>\n</html>\n"
        return out
    }

    /// An XML declaration is legal only at the start of a document, so a standalone SVG loses it inline.
    static func inlineSVG(_ svg: String) -> String {
        var s = svg
        if s.hasPrefix("<?xml"), let end = s.range(of: "?>") {
            s = String(s[end.upperBound...]).trimmingCharacters(in: .whitespacesAndNewlines) + "\n"
        }
        return s
    }
}
