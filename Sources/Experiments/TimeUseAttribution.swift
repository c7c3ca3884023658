import SimKernel

/// One trial's duration cut into what it was spent on (`TimeUse`), from the leaves of its step tree.
///
/// Each instant of the trial's window goes to the innermost steps running then: the top-level steps
/// running at that instant share it equally, and a step passes its part on, in equal parts, to its own
/// sub-steps running then; a step with no sub-step running keeps its part, under its own `use`. Parallel
/// children (a mount slew beside a dome move) therefore split the time they overlap instead of counting it
/// twice, and an instant in no step is `other`. A sub-step that outlives its parent (a process started
/// inside a step) hangs from its nearest running ancestor, or from the top. The parts of a trial add up to
/// its duration.
public enum TimeUseAttribution {
    public static func seconds(_ steps: [StepRecord], window: ClosedRange<Double>) -> [TimeUse: Double] {
        let (parts, used) = secondsByOrdinal(steps, window: window)
        var out: [TimeUse: Double] = [:]
        for use in TimeUse.allCases where used[use.ordinal] { out[use] = parts[use.ordinal] }
        return out
    }

    /// The same parts indexed by `TimeUse.ordinal`, with whether each use had any time: a trial adds to
    /// its uses thousands of times (three leaves per image), and a `TimeUse` key hashes its raw string.
    /// The additions per use happen in the same order as into a dictionary, so every part is the same.
    ///
    /// The events are ordered once and swept with each running step's nearest running ancestor and count
    /// of running sub-steps kept up to date as steps start and end, so an interval costs one pass over the
    /// steps running in it. That bookkeeping relies on a step starting no earlier than its parent (as
    /// `Simulation.step` records them); records that break it go to `referenceSweep`, which finds each
    /// interval's ancestors afresh.
    static func secondsByOrdinal(_ steps: [StepRecord], window: ClosedRange<Double>) -> (parts: [Double], used: [Bool]) {
        var out = UseParts()
        var starts: [(time: Double, start: Bool, index: Int)] = [], ends: [(time: Double, start: Bool, index: Int)] = []
        starts.reserveCapacity(steps.count)
        ends.reserveCapacity(steps.count)
        var parentsFirst = true, startsInOrder = true
        // Fields one at a time: a copy of a whole record retains its strings.
        for i in steps.indices {
            if let p = steps[i].parent, p >= i || steps[p].start > steps[i].start { parentsFirst = false }
            let a = max(steps[i].start, window.lowerBound), b = min(steps[i].end, window.upperBound)
            guard b > a else { continue }
            if let previous = starts.last, previous.time > a { startsInOrder = false }
            starts.append((a, true, i))
            ends.append((b, false, i))
        }
        // Ends before starts at one instant: a step that ends as its successor starts is not running then.
        func precedes(_ x: (time: Double, start: Bool, index: Int), _ y: (time: Double, start: Bool, index: Int)) -> Bool {
            (x.time, x.start ? 1 : 0, x.index) < (y.time, y.start ? 1 : 0, y.index)
        }
        var events: [(time: Double, start: Bool, index: Int)]
        if startsInOrder {
            // Steps are recorded as they start, so only the ends need sorting; then one merge.
            ends.sort(by: precedes)
            events = []
            events.reserveCapacity(starts.count + ends.count)
            var i = 0, j = 0
            while i < starts.count || j < ends.count {
                if j < ends.count, i == starts.count || precedes(ends[j], starts[i]) { events.append(ends[j]); j += 1 } else { events.append(starts[i]); i += 1 }
            }
        } else {
            events = starts + ends
            events.sort(by: precedes)
        }
        guard parentsFirst else { return referenceSweep(steps, events: events, window: window) }
        // The running steps, in start order (a parent before its sub-steps, so its weight is known when
        // theirs are computed); a handful at any instant, so a plain array beats a set here.
        var running: [Int] = []
        var live = [Live](repeating: Live(), count: steps.count)
        var topLevel = 0
        var last = window.lowerBound
        var k = 0
        while k <= events.count {
            let t = k < events.count ? events[k].time : window.upperBound
            let dt = t - last
            if dt > 0 {
                if running.isEmpty { out.add(dt, to: .other) }
                for a in running {
                    let p = live[a].parent
                    let siblings = p < 0 ? topLevel : live[p].children
                    live[a].weight = (p < 0 ? dt : live[p].weight) / Double(siblings)
                    if live[a].children == 0 { out.add(live[a].weight, to: steps[a].use) }
                }
            }
            last = max(last, t)
            guard k < events.count else { break }
            // Apply every event at this instant before the next interval.
            while k < events.count, events[k].time == t {
                let x = events[k].index
                if events[k].start {
                    var p = steps[x].parent
                    while let q = p, !live[q].running { p = steps[q].parent }
                    let parent = p ?? -1
                    live[x] = Live(parent: parent, children: 0, weight: 0, running: true)
                    if parent < 0 { topLevel += 1 } else { live[parent].children += 1 }
                    running.append(x)
                } else if let j = running.firstIndex(of: x) {
                    running.remove(at: j)
                    let parent = live[x].parent
                    // Its running sub-steps now hang from its own nearest running ancestor.
                    let orphans = live[x].children - 1
                    if parent < 0 { topLevel += orphans } else { live[parent].children += orphans }
                    if live[x].children > 0 { for a in running where live[a].parent == x { live[a].parent = parent } }
                    live[x].running = false
                    live[x].children = 0
                }
                k += 1
            }
        }
        return (out.seconds, out.used)
    }

    /// A step's place in the sweep while it runs.
    private struct Live {
        var parent = -1
        var children = 0
        var weight = 0.0
        var running = false
    }

    /// The parts by the reference sweep alone, every event sorted together: what `secondsByOrdinal` must
    /// equal bit for bit (tests).
    static func referenceSecondsByOrdinal(_ steps: [StepRecord], window: ClosedRange<Double>) -> (parts: [Double], used: [Bool]) {
        var events: [(time: Double, start: Bool, index: Int)] = []
        for (i, s) in steps.enumerated() {
            let a = max(s.start, window.lowerBound), b = min(s.end, window.upperBound)
            guard b > a else { continue }
            events.append((a, true, i))
            events.append((b, false, i))
        }
        events.sort { ($0.time, $0.start ? 1 : 0, $0.index) < ($1.time, $1.start ? 1 : 0, $1.index) }
        return referenceSweep(steps, events: events, window: window)
    }

    /// The sweep with every interval's ancestors found afresh (`split`), for any order of records.
    static func referenceSweep(_ steps: [StepRecord], events: [(time: Double, start: Bool, index: Int)],
                               window: ClosedRange<Double>) -> (parts: [Double], used: [Bool]) {
        var out = UseParts()
        var running: [Int] = []
        var effectiveParent: [Int] = []
        var weight: [Double] = []
        var hasChild: [Bool] = []
        var last = window.lowerBound
        var k = 0
        while k <= events.count {
            let t = k < events.count ? events[k].time : window.upperBound
            let dt = t - last
            if dt > 0 { split(dt, running: running, steps: steps, parent: &effectiveParent, weight: &weight, hasChild: &hasChild, into: &out) }
            last = max(last, t)
            guard k < events.count else { break }
            while k < events.count, events[k].time == t {
                if events[k].start { running.append(events[k].index) } else if let j = running.firstIndex(of: events[k].index) { running.remove(at: j) }
                k += 1
            }
        }
        return (out.seconds, out.used)
    }

    struct UseParts {
        var seconds = [Double](repeating: 0, count: TimeUse.allCases.count)
        var used = [Bool](repeating: false, count: TimeUse.allCases.count)
        mutating func add(_ x: Double, to use: TimeUse) {
            seconds[use.ordinal] += x
            used[use.ordinal] = true
        }
    }

    /// Shares `dt` seconds among the running steps as the type's comment says. A parent always starts
    /// before its sub-steps, so in `running` (start order) it comes first and its weight is known when
    /// its sub-steps' are computed.
    static func split(_ dt: Double, running: [Int], steps: [StepRecord], parent: inout [Int], weight: inout [Double],
                      hasChild: inout [Bool], into out: inout UseParts) {
        guard !running.isEmpty else { out.add(dt, to: .other); return }
        let r = running.count
        parent.removeAll(keepingCapacity: true)
        weight.removeAll(keepingCapacity: true)
        hasChild.removeAll(keepingCapacity: true)
        // The nearest running ancestor of each running step, as a position in `running` (-1: the top).
        for i in running {
            var p = steps[i].parent
            var position = -1
            while let q = p {
                if let j = running.firstIndex(of: q) { position = j; break }
                p = steps[q].parent
            }
            parent.append(position)
            weight.append(0)
            hasChild.append(false)
        }
        for a in 0..<r where parent[a] >= 0 { hasChild[parent[a]] = true }
        for a in 0..<r {
            let siblings = (0..<r).reduce(0) { $0 + (parent[$1] == parent[a] ? 1 : 0) }
            weight[a] = (parent[a] < 0 ? dt : weight[parent[a]]) / Double(siblings)
        }
        for a in 0..<r where !hasChild[a] { out.add(weight[a], to: steps[running[a]].use) }
    }
}
