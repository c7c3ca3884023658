import SimKernel

/// Steps form a tree (`StepRecord.parent`); statistics are kept per *path*, the names from the outermost
/// step down (`BLOCK-295 latiss_weekly_calibrations › make_latiss_calibrations SDSSr_65mm › take_imgtype
/// BIAS`), so the same document step under two parents (BIAS of each filter) stays two rows.
public enum StepPath {
    public static let separator = " › "

    public static func join(_ names: [String]) -> String { names.joined(separator: separator) }
    public static func components(_ path: String) -> [String] {
        var pieces: [String] = []
        var start = 0
        for cut in separatorOffsets(path) {
            pieces.append(slice(path, start..<cut))
            start = cut + separatorUTF8.count
        }
        pieces.append(slice(path, start..<path.utf8.count))
        return pieces
    }
    /// The step's own name (the last component).
    public static func name(_ path: String) -> String {
        slice(path, (separatorOffsets(path).last.map { $0 + separatorUTF8.count } ?? 0)..<path.utf8.count)
    }
    /// The enclosing step's path, nil for a top-level step.
    public static func parent(_ path: String) -> String? { separatorOffsets(path).last.map { slice(path, 0..<$0) } }
    public static func depth(_ path: String) -> Int { separatorOffsets(path).count }

    private static func slice(_ path: String, _ bytes: Range<Int>) -> String {
        String(decoding: path.utf8.dropFirst(bytes.lowerBound).prefix(bytes.count), as: UTF8.self)
    }

    /// Where the separators start (UTF-8 offsets), left to right, as `components(separatedBy:)` cuts the path.
    static func separatorOffsets(_ path: String) -> [Int] {
        if let cuts = asciiSeparatorOffsets(path) { return cuts }
        var cuts: [Int] = []
        var offset = 0
        for piece in path.components(separatedBy: separator).dropLast() {
            offset += piece.utf8.count
            cuts.append(offset)
            offset += separatorUTF8.count
        }
        return cuts
    }

    static let separatorUTF8 = Array(separator.utf8)

    /// The separators' offsets found on the bytes, or nil when the path holds any other non-ASCII byte.
    /// `components(separatedBy:)` matches Characters, which a byte match equals only when no
    /// character next to a separator can join a grapheme cluster with its space (a combining mark after it, a
    /// prepended one before it); with ASCII names around the separators none can, and the byte scan spares
    /// the grapheme breaking that made a year map's summary.json mostly string splitting.
    static func asciiSeparatorOffsets(_ path: String) -> [Int]? {
        var path = path
        let sep = separatorUTF8
        return path.withUTF8 { b -> [Int]? in
            var cuts: [Int] = []
            var i = 0
            let n = b.count
            while i < n {
                if b[i] == sep[0], i + sep.count <= n, (1..<sep.count).allSatisfy({ b[i + $0] == sep[$0] }) {
                    cuts.append(i)
                    i += sep.count
                    continue
                }
                if b[i] >= 0x80 { return nil }
                i += 1
            }
            return cuts
        }
    }
}

/// How a step's span is shared among its children (`StepLedger`).
enum StepAttribution {
    /// Splits a span among intervals (clipped to it): each instant goes in equal parts to the intervals
    /// covering it, so parallel children (a mount slew and a dome move) split the time they overlap and the
    /// children of a step never exceed it. With G(t) = ∫ dt / (number running), an interval's part is
    /// G(end) − G(start). The buffers are kept from one parent to the next (a trial has one call per step
    /// with sub-steps).
    struct Sweep {
        private var events: [(time: Double, delta: Int, index: Int)] = []
        private var startG: [Double] = []

        /// The parts of `span` of the records `members` (in that order, which breaks ties), written at
        /// their indices in `share`.
        mutating func attribute(_ members: ArraySlice<Int>, of steps: [StepRecord], within span: ClosedRange<Double>,
                                into share: inout [Double]) {
            events.removeAll(keepingCapacity: true)
            startG.removeAll(keepingCapacity: true)
            for (k, i) in members.enumerated() {
                startG.append(0)
                share[i] = 0
                // Fields one at a time: a copy of a whole record retains its strings.
                let a = min(max(steps[i].start, span.lowerBound), span.upperBound), b = min(max(steps[i].end, span.lowerBound), span.upperBound)
                guard b > a else { continue }
                events.append((a, 1, k))
                events.append((b, -1, k))
            }
            events.sort { ($0.time, $0.delta, $0.index) < ($1.time, $1.delta, $1.index) }
            var g = 0.0, last = span.lowerBound, running = 0
            for e in events {
                if running > 0 { g += (e.time - last) / Double(running) }
                last = e.time
                if e.delta > 0 { startG[e.index] = g; running += 1 } else { share[members[members.startIndex + e.index]] = g - startG[e.index]; running -= 1 }
            }
        }
    }
}

/// The step statistics of a point arranged as a tree, for reports: each node's share of its parent (the
/// trial for a top-level step) and the remainder no child accounts for, which sum to 100 %.
public struct StepTree: Sendable {
    public struct Node: Sendable {
        public let path: String
        public var name: String { StepPath.name(path) }
        public let lane: String
        /// Mean per-trial total over the trials in which the step ran, and that count.
        public let meanSeconds: Double
        public let trials: UInt64
        /// Σ share-of-parent / Σ parent time, over all trials.
        public let shareOfParent: Double
        /// Product of the shares up the tree: the fraction of the whole procedure's time.
        public let shareOfTotal: Double
        public var children: [Node]
        /// The part of this step's time inside none of its children (0 for a leaf's own accounting).
        public let otherShare: Double
        public var isLeaf: Bool { children.isEmpty }
    }

    public let roots: [Node]
    /// The share of the procedure's time inside no top-level step.
    public let otherShare: Double

    /// `totalSeconds` is Σ duration_s over the point's trials (the root's time).
    public init(steps: [String: StepStatistics], totalSeconds: Double) {
        var kids: [String: [String]] = [:]
        for path in steps.keys { kids[StepPath.parent(path) ?? "", default: []].append(path) }
        func build(_ path: String, parentSum: Double, parentShare: Double) -> Node {
            let s = steps[path]!
            let sum = s.seconds.mean.map { $0 * Double(s.seconds.count) } ?? 0
            let shareSum = s.shareOfParentSeconds.mean.map { $0 * Double(s.shareOfParentSeconds.count) } ?? 0
            let share = parentSum > 0 ? shareSum / parentSum : 0
            let children = (kids[path] ?? []).map { build($0, parentSum: sum, parentShare: parentShare * share) }
                .sorted { ($0.shareOfParent, $1.path) > ($1.shareOfParent, $0.path) }
            let other = children.isEmpty ? 0 : max(0, 1 - children.map(\.shareOfParent).reduce(0, +))
            return Node(path: path, lane: s.lane, meanSeconds: s.seconds.mean ?? 0, trials: s.seconds.count, shareOfParent: share,
                        shareOfTotal: parentShare * share, children: children, otherShare: other)
        }
        roots = (kids[""] ?? []).map { build($0, parentSum: totalSeconds, parentShare: 1) }
            .sorted { ($0.shareOfParent, $1.path) > ($1.shareOfParent, $0.path) }
        otherShare = roots.isEmpty ? 1 : max(0, 1 - roots.map(\.shareOfParent).reduce(0, +))
    }

    /// Every node, depth first in display order.
    public var nodes: [Node] {
        var out: [Node] = []
        func walk(_ n: Node) { out.append(n); n.children.forEach(walk) }
        roots.forEach(walk)
        return out
    }

    /// The step that accounts for the most of the procedure's time by itself: a leaf's whole share, or a
    /// step's own time outside its sub-steps (a PTC sequence whose exposures are not steps, beside its two
    /// wheel moves). Containers are never named for their children's time. Ties: the path first in order.
    public var dominant: (node: Node, share: Double)? {
        nodes.map { ($0, $0.isLeaf ? $0.shareOfTotal : $0.otherShare * $0.shareOfTotal) }
            .max { ($0.1, $1.0.path) < ($1.1, $0.0.path) }
    }
}
