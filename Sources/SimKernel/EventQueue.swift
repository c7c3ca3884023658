/// One scheduled wake-up: which slot to fire at which time. Plain data, so the heap moves it without
/// reference counting.
@usableFromInline
struct QueueEntry {
    @usableFromInline var time: Double
    @usableFromInline var seq: UInt64
    @usableFromInline var slot: Int32
    @usableFromInline var generation: UInt32

    @inlinable @inline(__always)
    init(time: Double, seq: UInt64, slot: Int32, generation: UInt32) {
        self.time = time; self.seq = seq; self.slot = slot; self.generation = generation
    }

    /// Earlier time first; at equal times, earlier scheduling first (first-in first-out).
    @inlinable @inline(__always)
    func precedes(_ o: QueueEntry) -> Bool { time < o.time || (time == o.time && seq < o.seq) }
}

/// A 4-ary min-heap keyed by (time, sequence). Four children per node halve the depth of a binary heap
/// and keep siblings in one cache line, which is what the timeout benchmark spends most of its time on.
@usableFromInline
struct EventQueue {
    @usableFromInline var items: [QueueEntry] = []

    @inlinable var isEmpty: Bool { items.isEmpty }
    @inlinable var count: Int { items.count }
    @inlinable var first: QueueEntry? { items.first }

    @inlinable
    mutating func push(_ e: QueueEntry) {
        items.append(e)
        items.withUnsafeMutableBufferPointer { h in
            var i = h.count - 1
            while i > 0 {
                let parent = (i - 1) >> 2
                if !e.precedes(h[parent]) { break }
                h[i] = h[parent]
                i = parent
            }
            h[i] = e
        }
    }

    @inlinable
    mutating func pop() -> QueueEntry? {
        guard let top = items.first else { return nil }
        let last = items.removeLast()
        if items.isEmpty { return top }
        items.withUnsafeMutableBufferPointer { h in
            let n = h.count
            var i = 0
            while true {
                let c0 = 4 * i + 1
                if c0 >= n { break }
                var best = c0
                let end = min(c0 + 4, n)
                var c = c0 + 1
                while c < end {
                    if h[c].precedes(h[best]) { best = c }
                    c += 1
                }
                if !h[best].precedes(last) { break }
                h[i] = h[best]
                i = best
            }
            h[i] = last
        }
        return top
    }
}
