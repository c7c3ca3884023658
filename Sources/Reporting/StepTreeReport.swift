import Experiments
import Foundation
import Procedures

/// The step tree of one point in the report's three forms. Each level's rows are shares of their parent
/// (the whole procedure for the top level) and end with the time no child accounts for, so every level
/// sums to 100 %.
enum StepTreeReport {
    static let otherLabel = "(other / not in a child step)"

    static func tree(_ p: PointState) -> StepTree {
        let d = p.metrics["duration_s"] ?? RunningStatistics()
        return StepTree(steps: p.steps, totalSeconds: (d.mean ?? 0) * Double(d.count))
    }

    static func percent(_ f: Double) -> String { String(format: "%.1f %%", 100 * f) }

    /// "take_imgtype DARK (under make_latiss_calibrations SDSSr_65mm), 34.2 % of the time, 9 min 41 s on average"
    static func dominantLeafText(_ t: StepTree) -> String? {
        guard let (node, share) = t.dominant, share > 0 else { return nil }
        var text = node.name
        if let parent = StepPath.parent(node.path) { text += " (under \(StepPath.name(parent)))" }
        if !node.isLeaf { text += ", its own time outside its sub-steps" }
        return text + ", \(percent(share)) of the time (the step lasts \(formatDuration(seconds: node.meanSeconds)) on average)"
    }

    static func markdown(_ p: PointState) -> String {
        let t = tree(p)
        guard !t.roots.isEmpty else { return "" }
        let steps = p.steps
        var out = "\n| step | lane | trials | mean (s) | p50 (s) | p95 (s) | share of parent | share of total |\n|---|---|---:|---:|---:|---:|---:|---:|\n"
        func f(_ d: Double?) -> String { d.map { String(format: "%.4g", $0) } ?? "–" }
        func indent(_ depth: Int) -> String { String(repeating: "· ", count: depth) }
        func row(_ n: StepTree.Node) {
            let s = steps[n.path]!.seconds
            out += "| \(indent(StepPath.depth(n.path)))\(markdownEscaped(n.name)) | \(n.lane) | \(n.trials) | \(f(s.mean)) | \(f(s.quantile(0.5))) | \(f(s.quantile(0.95))) | \(percent(n.shareOfParent)) | \(percent(n.shareOfTotal)) |\n"
            n.children.forEach(row)
            if !n.children.isEmpty && n.otherShare > 0.0005 {
                out += "| \(indent(StepPath.depth(n.path) + 1))\(otherLabel) | | | | | | \(percent(n.otherShare)) | \(percent(n.otherShare * n.shareOfTotal)) |\n"
            }
        }
        t.roots.forEach(row)
        if t.otherShare > 0.0005 { out += "| \(otherLabel) | | | | | | \(percent(t.otherShare)) | \(percent(t.otherShare)) |\n" }
        out += "\nShares of parent: the part of the enclosing step's time (the whole trial for top-level steps) each step accounts for; steps running in parallel split the time they overlap, so each level sums to 100 %.\n"
        if let d = dominantLeafText(t) { out += "\nThe dominant leaf step is **\(markdownEscaped(d))**.\n" }
        return out
    }

    /// Nested `<details>`: a step with sub-steps opens to them (top level open), a leaf is a plain row.
    static func html(_ p: PointState) -> String {
        let t = tree(p)
        guard !t.roots.isEmpty else { return "" }
        var out = "<div class=\"step-tree\">\n"
        func label(_ name: String, _ lane: String, mean: Double?, share: Double, total: Double) -> String {
            var s = "<span class=\"share\">\(xmlEscaped(percent(share)))</span> <span class=\"name\">\(xmlEscaped(name))</span>"
            if !lane.isEmpty { s += " <span class=\"lane\">\(xmlEscaped(lane))</span>" }
            if let mean { s += " <span class=\"mean\">mean \(xmlEscaped(formatDuration(seconds: mean)))</span>" }
            s += " <span class=\"total\">(\(xmlEscaped(percent(total))) of the total)</span>"
            return s
        }
        func node(_ n: StepTree.Node, depth: Int) {
            let bar = "<span class=\"bar\" style=\"width: \(FixedNumber.format(min(100, 100 * n.shareOfParent), decimals: 1))%\"></span>"
            let text = label(n.name, n.lane, mean: n.meanSeconds, share: n.shareOfParent, total: n.shareOfTotal)
            if n.children.isEmpty {
                out += "<div class=\"leaf\" title=\"\(xmlEscaped(n.path))\">\(bar)\(text)</div>\n"
                return
            }
            out += "<details\(depth == 0 ? " open=\"open\"" : "")><summary title=\"\(xmlEscaped(n.path))\">\(bar)\(text)</summary>\n"
            n.children.forEach { node($0, depth: depth + 1) }
            if n.otherShare > 0.0005 {
                out += "<div class=\"leaf other\">\(label(otherLabel, "", mean: nil, share: n.otherShare, total: n.otherShare * n.shareOfTotal))</div>\n"
            }
            out += "</details>\n"
        }
        t.roots.forEach { node($0, depth: 0) }
        if t.otherShare > 0.0005 {
            out += "<div class=\"leaf other\">\(label(otherLabel, "", mean: nil, share: t.otherShare, total: t.otherShare))</div>\n"
        }
        return out + "</div>\n"
    }

    /// summary.json's `steps`: per path its statistics plus its place in the tree.
    static func json(_ p: PointState) -> JSONValue {
        let t = tree(p)
        var byPath: [String: StepTree.Node] = [:]
        for n in t.nodes { byPath[n.path] = n }
        var out: [String: JSONValue] = [:]
        for (path, st) in p.steps {
            var o = SummaryJSON.statistics(st.seconds)
            o["lane"] = .string(st.lane)
            o["unit"] = .string("s")
            o["name"] = .string(StepPath.name(path))
            o["parent"] = StepPath.parent(path).map { .string($0) } ?? .null
            let n = byPath[path]
            o["share_of_parent"] = .number(n?.shareOfParent)
            o["share_of_total"] = .number(n?.shareOfTotal)
            o["other_share"] = (n?.isLeaf ?? true) ? .null : .number(n?.otherShare)
            out[path] = .object(o)
        }
        return .object(out)
    }
}
