import SimKernel
@testable import Experiments

/// The per-trial, text-keyed reduction `StepLedger` replaced, kept as the tests' reference: the ledger must
/// give its numbers bit for bit, since summary.json may not change. Shares come from the same sweep.
enum ReferenceStepAttribution {
    struct Total: Sendable, Equatable {
        var lane: String
        /// Sum of the durations of this path's records in the trial.
        var seconds: Double
        /// The part of the parent's time this step accounts for: each instant of the parent's span is
        /// shared equally among the children running at that instant, so parallel children (a mount slew
        /// and a dome move) split the time they overlap and the children of a step never exceed it.
        var shareOfParentSeconds: Double
    }

    /// Per path, over the records that end after `window.lowerBound` (a step finished before the procedure
    /// could start, such as configuring for a twilight window, belongs to the wait, not to the procedure);
    /// top-level steps share `window` the way children share their parent.
    static func totals(_ steps: [StepRecord], window: ClosedRange<Double>) -> [String: Total] {
        // Paths are interned by (parent path, name): a trial repeats a few hundred paths thousands of times
        // (three leaves per image), and building and hashing each long path string per record would cost
        // more than the trial itself.
        struct PathKey: Hashable { let parent: Int; let name: String }
        var interned: [PathKey: Int] = [:]
        var pathText: [String] = []
        var key = [Int](repeating: 0, count: steps.count)
        // By parent record (slot 0: the top); shares are per record, so the order parents are visited in
        // changes no number.
        var children = [[Int]](repeating: [], count: steps.count + 1)
        var included = [Bool](repeating: false, count: steps.count)
        for (i, s) in steps.enumerated() {
            let k = PathKey(parent: s.parent.map { key[$0] } ?? -1, name: s.name)
            if let id = interned[k] { key[i] = id } else {
                key[i] = pathText.count
                interned[k] = pathText.count
                pathText.append(k.parent >= 0 ? pathText[k.parent] + StepPath.separator + s.name : s.name)
            }
            included[i] = s.end > window.lowerBound || s.start >= window.lowerBound
            if included[i] { children[(s.parent ?? -1) + 1].append(i) }
        }
        var share = [Double](repeating: 0, count: steps.count)
        for (slot, kids) in children.enumerated() where !kids.isEmpty {
            let parent = slot - 1
            let span = parent < 0 ? window : steps[parent].start...max(steps[parent].start, steps[parent].end)
            attribute(kids.map { (steps[$0].start, steps[$0].end) }, within: span).enumerated().forEach { share[kids[$0.offset]] = $0.element }
        }
        var byPath = [Total?](repeating: nil, count: pathText.count)
        for i in steps.indices where included[i] {
            let s = steps[i]
            var t = byPath[key[i]] ?? Total(lane: s.lane, seconds: 0, shareOfParentSeconds: 0)
            t.lane = min(t.lane, s.lane)
            t.seconds += s.duration
            t.shareOfParentSeconds += share[i]
            byPath[key[i]] = t
        }
        // Sized once: growing it rehashes every long (non-ASCII) path text again.
        var out: [String: Total] = [:]
        out.reserveCapacity(pathText.count)
        for (id, total) in byPath.enumerated() {
            guard let total else { continue }
            // Two interned paths can spell the same text only if a name holds the separator: pool them.
            if var t = out[pathText[id]] {
                t.lane = min(t.lane, total.lane)
                t.seconds += total.seconds
                t.shareOfParentSeconds += total.shareOfParentSeconds
                out[pathText[id]] = t
            } else {
                out[pathText[id]] = total
            }
        }
        return out
    }

    /// Splits `span` among `intervals` (clipped to it): each instant goes in equal parts to the intervals
    /// covering it. With G(t) = ∫ dt / (number running), an interval's part is G(end) − G(start).
    static func attribute(_ intervals: [(Double, Double)], within span: ClosedRange<Double>) -> [Double] {
        let steps = intervals.map { StepRecord(name: "", lane: "", process: "", start: $0.0, end: $0.1, completed: true) }
        var result = [Double](repeating: 0, count: intervals.count)
        var sweep = StepAttribution.Sweep()
        sweep.attribute(Array(steps.indices)[...], of: steps, within: span, into: &result)
        return result
    }
}
