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
        var out: [TimeUse: Double] = [:]
        var events: [(time: Double, start: Bool, index: Int)] = []
        events.reserveCapacity(2 * steps.count)
        for (i, s) in steps.enumerated() {
            let a = max(s.start, window.lowerBound), b = min(s.end, window.upperBound)
            guard b > a else { continue }
            events.append((a, true, i))
            events.append((b, false, i))
        }
        // Ends before starts at one instant: a step that ends as its successor starts is not running then.
        events.sort { ($0.time, $0.start ? 1 : 0, $0.index) < ($1.time, $1.start ? 1 : 0, $1.index) }
        var running = Set<Int>()
        var last = window.lowerBound
        var k = 0
        while k <= events.count {
            let t = k < events.count ? events[k].time : window.upperBound
            let dt = t - last
            if dt > 0 { split(dt, running: running, steps: steps, into: &out) }
            last = max(last, t)
            guard k < events.count else { break }
            // Apply every event at this instant before the next interval.
            while k < events.count, events[k].time == t {
                if events[k].start { running.insert(events[k].index) } else { running.remove(events[k].index) }
                k += 1
            }
        }
        return out
    }

    /// Shares `dt` seconds among the running steps as the type's comment says.
    static func split(_ dt: Double, running: Set<Int>, steps: [StepRecord], into out: inout [TimeUse: Double]) {
        guard !running.isEmpty else { out[.other, default: 0] += dt; return }
        var children: [Int: [Int]] = [:]
        for i in running.sorted() {
            var p = steps[i].parent
            while let q = p, !running.contains(q) { p = steps[q].parent }
            children[p ?? -1, default: []].append(i)
        }
        func give(_ node: Int, _ amount: Double) {
            guard let kids = children[node], !kids.isEmpty else { out[steps[node].use, default: 0] += amount; return }
            let each = amount / Double(kids.count)
            for c in kids { give(c, each) }
        }
        give(-1, dt)
    }
}
