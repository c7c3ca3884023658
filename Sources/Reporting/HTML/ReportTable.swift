import Foundation

/// A table for both report.html and summary.md: numbers are right-aligned, units sit in the headers
/// ("p50 (s)"), never repeated in every cell.
public struct ReportTable: Sendable, Equatable {
    public struct Column: Sendable, Equatable {
        public var title: String
        public var unit: String?
        public var numeric: Bool
        public init(_ title: String, unit: String? = nil, numeric: Bool = false) {
            self.title = title
            self.unit = unit
            self.numeric = numeric
        }
        public var header: String {
            guard let unit, !unit.isEmpty else { return title }
            return "\(title) (\(unit))"
        }
    }

    public enum Cell: Sendable, Equatable {
        case text(String)
        case number(Double, decimals: Int)
        case integer(Int)
        case empty

        public var text: String {
            switch self {
            case .text(let s): return s
            case .number(let v, let decimals): return FixedNumber.format(v, decimals: decimals)
            case .integer(let i): return "\(i)"
            case .empty: return ""
            }
        }
    }

    public var caption: String?
    public var columns: [Column]
    public var rows: [[Cell]]

    public init(caption: String? = nil, columns: [Column], rows: [[Cell]]) {
        self.caption = caption
        self.columns = columns
        self.rows = rows
    }

    /// A table element; numeric columns get class "num" (right-aligned, tabular figures).
    public func html() -> String {
        var out = "<table>\n"
        if let caption { out += "<caption>\(xmlEscaped(caption))</caption>\n" }
        out += "<thead><tr>"
        for c in columns { out += "<th scope=\"col\"\(c.numeric ? " class=\"num\"" : "")>\(xmlEscaped(c.header))</th>" }
        out += "</tr></thead>\n<tbody>\n"
        for row in rows {
            out += "<tr>"
            for (i, c) in columns.enumerated() {
                let cell = i < row.count ? row[i] : .empty
                out += "<td\(c.numeric ? " class=\"num\"" : "")>\(xmlEscaped(cell.text))</td>"
            }
            out += "</tr>\n"
        }
        out += "</tbody>\n</table>\n"
        return out
    }

    /// A GitHub-flavoured Markdown pipe table (caption as a bold line above it).
    public func markdown() -> String {
        var out = ""
        if let caption { out += "**\(markdownEscaped(caption))**\n\n" }
        out += "| " + columns.map { markdownEscaped($0.header) }.joined(separator: " | ") + " |\n"
        out += "|" + columns.map { $0.numeric ? " ---: " : " --- " }.joined(separator: "|") + "|\n"
        for row in rows {
            let cells = columns.indices.map { i in markdownEscaped(i < row.count ? row[i].text : "") }
            out += "| " + cells.joined(separator: " | ") + " |\n"
        }
        return out
    }
}

/// Escapes text for a Markdown table cell or paragraph: pipes would split cells, and `*`, `_`, backticks,
/// brackets and `<` would turn step names such as `power_on_atcalsys` into formatting, links or HTML.
public func markdownEscaped(_ text: String) -> String {
    var out = ""
    for ch in text {
        switch ch {
        case "\\", "|", "*", "_", "`", "[", "]", "<", ">", "#":
            out.append("\\")
            out.append(ch)
        case "\n", "\r", "\r\n":
            out.append(" ")
        default:
            out.append(ch)
        }
    }
    return out
}
