import SimKernel

/// A sweep point's step statistics (`PointState.steps`), accumulated trial by trial without building or
/// hashing a path text per trial.
///
/// A trial repeats a few hundred step paths thousands of times (three leaves per image), and each path's
/// text joins non-ASCII separators, so hashing it normalises it to NFC every time: keyed by text, the
/// per-trial bookkeeping cost a third of a trial. Here each (enclosing path, step name) is interned once
/// into a path *node*, found again by comparing plain names among the enclosing node's children; each
/// distinct path text is a *slot* whose statistics live in an array. Texts are built once per node, and
/// the text-keyed dictionary only when a report or state file asks for it.
///
/// The numbers are those of the per-trial text-keyed reduction this replaced (kept in the tests as
/// `ReferenceStepAttribution`), bit for bit: a path's per-trial total adds its records' durations and
/// shares in record order, paths whose texts coincide (a name holding the separator) are pooled in the
/// order the trial first reaches them, and names compare as `String` keys do (canonical equivalence), so
/// no two paths the text-keyed statistics kept apart are conflated and none they pooled is split.
public struct StepLedger: Sendable, Equatable {
    /// Per slot: its path text (as first spelled) and its statistics, which count only once `present`
    /// (a trial included the path). Not optionals: a write through one copies the statistics out and back.
    private var texts: [String] = []
    private var statistics: [StepStatistics] = []
    private var present: [Bool] = []
    private var slotByText: [String: Int] = [:]
    /// Per node: its slot and its own path text (from its own names, which may differ in spelling from the
    /// slot's first one only by canonical equivalence).
    private var nodeSlot: [Int] = []
    private var nodeText: [String] = []
    /// The interned children of each node, at index node + 1 (0: the top-level steps).
    private var children: [Children] = [Children()]

    public init() {}

    public init(_ steps: [String: StepStatistics]) {
        for (path, s) in steps {
            let slot = slot(forText: path)
            statistics[slot] = s
            present[slot] = true
        }
    }

    /// Every path with statistics, keyed by its text.
    public var byPath: [String: StepStatistics] {
        var out: [String: StepStatistics] = [:]
        out.reserveCapacity(statistics.count)
        for slot in statistics.indices where present[slot] { out[texts[slot]] = statistics[slot] }
        return out
    }

    public var isEmpty: Bool { !present.contains(true) }

    /// Equal when the text-keyed statistics are: the interning order is how one run happened to meet the
    /// paths, not part of the result.
    public static func == (a: StepLedger, b: StepLedger) -> Bool { a.byPath == b.byPath }

    public mutating func merge(_ other: StepLedger) {
        for slot in other.statistics.indices where other.present[slot] {
            let mine = self.slot(forText: other.texts[slot])
            if present[mine] { statistics[mine].merge(other.statistics[slot]) } else { statistics[mine] = other.statistics[slot] }
            present[mine] = true
        }
    }

    /// Adds one trial: per path, its total over the records that end after `window.lowerBound` and its
    /// share of the parents' spans (`StepAttribution.Sweep`).
    public mutating func add(_ steps: [StepRecord], window: ClosedRange<Double>) {
        let n = steps.count
        guard n > 0 else { return }
        // Each record's node; the nodes in the order the trial first reaches them (`position`), which is
        // the order the text-keyed reduction pooled coinciding paths in.
        var nodeOf = [Int](repeating: 0, count: n)
        var included = [Bool](repeating: false, count: n)
        // The included children of each record, grouped by parent (slot 0: the top) in record order.
        var childCount = [Int](repeating: 0, count: n + 2)
        // Fields are read one at a time: a copy of a whole record retains its three strings.
        for i in 0..<n {
            let parent = steps[i].parent ?? -1
            nodeOf[i] = node(under: parent < 0 ? -1 : nodeOf[parent], named: steps[i].name)
            included[i] = steps[i].end > window.lowerBound || steps[i].start >= window.lowerBound
            if included[i] { childCount[parent + 2] += 1 }
        }
        // childCount[slot + 1] becomes the first position of slot's children.
        for k in 1..<(n + 2) { childCount[k] += childCount[k - 1] }
        var grouped = [Int](repeating: 0, count: childCount[n + 1])
        var fill = childCount
        for i in 0..<n where included[i] {
            let slot = (steps[i].parent ?? -1) + 1
            grouped[fill[slot]] = i
            fill[slot] += 1
        }
        var share = [Double](repeating: 0, count: n)
        var sweep = StepAttribution.Sweep()
        for slot in 0...n where childCount[slot + 1] > childCount[slot] {
            let parent = slot - 1
            let span = parent < 0 ? window : steps[parent].start...max(steps[parent].start, steps[parent].end)
            sweep.attribute(grouped[childCount[slot]..<childCount[slot + 1]], of: steps, within: span, into: &share)
        }

        // Per node reached, its trial total, in first-reached order.
        var position = [Int](repeating: -1, count: nodeSlot.count)
        var reached: [Int] = []
        var lane: [String?] = []
        var seconds: [Double] = []
        var shareOfParent: [Double] = []
        for i in 0..<n {
            let node = nodeOf[i]
            var p = position[node]
            if p < 0 {
                p = reached.count
                position[node] = p
                reached.append(node)
                lane.append(nil)
                seconds.append(0)
                shareOfParent.append(0)
            }
            guard included[i] else { continue }
            lane[p] = lane[p].map { min($0, steps[i].lane) } ?? steps[i].lane
            seconds[p] += steps[i].duration
            shareOfParent[p] += share[i]
        }
        // Pooled per slot (a slot shared by two nodes adds the later one's total to the earlier one's).
        var pooled = [Int](repeating: -1, count: texts.count)
        var slots: [Int] = []
        for p in reached.indices {
            guard let l = lane[p] else { continue }
            let slot = nodeSlot[reached[p]]
            let q = pooled[slot]
            if q < 0 {
                pooled[slot] = p
                slots.append(slot)
            } else {
                lane[q] = min(lane[q]!, l)
                seconds[q] += seconds[p]
                shareOfParent[q] += shareOfParent[p]
            }
        }
        for slot in slots {
            let p = pooled[slot], l = lane[p]!
            if !present[slot] {
                statistics[slot] = StepStatistics(lane: l)
                present[slot] = true
            }
            statistics[slot].add(seconds[p], share: shareOfParent[p], lane: l)
        }
    }

    /// A node's interned children. Among a step's children the next one asked for is nearly always the
    /// one after the last (the overhead, exposure and readout of an image, image after image), so the scan
    /// starts there and rarely compares more than one name; a step with many children also keeps an index.
    private struct Children: Sendable {
        var names: [String] = []
        var nodes: [Int] = []
        var next = 0
        var index: [String: Int]? = nil
        static let scanned = 8
    }

    /// The node of step `name` directly under `parent` (-1: the top), interned on first use.
    private mutating func node(under parent: Int, named name: String) -> Int {
        let list = parent + 1
        let count = children[list].names.count
        if count > 0 {
            var j = children[list].next
            for _ in 0..<min(count, Children.scanned) {
                if j >= count { j = 0 }
                if children[list].names[j] == name {
                    children[list].next = j + 1
                    return children[list].nodes[j]
                }
                j += 1
            }
            if let index = children[list].index {
                if let j = index[name] {
                    children[list].next = j + 1
                    return children[list].nodes[j]
                }
            }
        }
        let text = parent < 0 ? name : nodeText[parent] + StepPath.separator + name
        let node = nodeSlot.count
        nodeSlot.append(slot(forText: text))
        nodeText.append(text)
        children.append(Children())
        children[list].names.append(name)
        children[list].nodes.append(node)
        children[list].next = count + 1
        if children[list].index != nil {
            children[list].index![name] = count
        } else if count + 1 > Children.scanned {
            var index: [String: Int] = [:]
            for (j, n) in children[list].names.enumerated() { index[n] = j }
            children[list].index = index
        }
        return node
    }

    /// Shared by every slot not yet present, so an absent slot allocates nothing.
    private static let placeholder = StepStatistics(lane: "")

    private mutating func slot(forText text: String) -> Int {
        if let s = slotByText[text] { return s }
        let s = texts.count
        texts.append(text)
        statistics.append(Self.placeholder)
        present.append(false)
        slotByText[text] = s
        return s
    }
}
