/// Something only `capacity` users may hold at once: a detector, a filter wheel, the dome.
///
/// ## Semantics
/// - Requests are served in order of `priority` (lower numbers first), then first-in first-out.
/// - A request that can be granted at once returns without suspending.
/// - `release` hands freed capacity to the next queued request; that process resumes at the current
///   time. Releasing a grant that is no longer held (already released, or lost to preemption) does nothing.
/// - With `preemptive: true`, a request made with `preempt: true` that finds no free capacity evicts the
///   holder with the largest priority number (the latest-granted among equals) if the request's priority
///   number is strictly smaller; the evicted holder's process is interrupted with
///   `InterruptCause.preempted(resource:by:usageSince:)` and its grant becomes void.
/// - An interrupted process's queued request is withdrawn; a grant it had been given but not yet seen is
///   released. Neither leaks capacity.
public final class Resource {
    public let name: String
    public let capacity: Int
    public let preemptive: Bool
    unowned(unsafe) let simulation: Simulation

    struct Holder {
        let id: UInt64
        let process: ProcessCore?
        let priority: Int
        let since: Double
    }

    struct Waiter {
        let id: UInt64
        let slot: Int32
        let process: ProcessCore
        let priority: Int
    }

    private(set) var holders: [Holder] = []
    private(set) var queue: [Waiter] = []
    private var nextID: UInt64 = 0

    public init(_ simulation: Simulation, name: String, capacity: Int = 1, preemptive: Bool = false) {
        precondition(capacity >= 1, "a resource needs a capacity of at least 1")
        self.simulation = simulation
        self.name = name
        self.capacity = capacity
        self.preemptive = preemptive
    }

    /// A held unit of the resource; hand it back with `release`.
    public struct Grant: Hashable, Sendable {
        public let id: UInt64
    }

    public var inUse: Int { holders.count }
    public var queueLength: Int { queue.count }
    public func isHeld(_ grant: Grant) -> Bool { holders.contains { $0.id == grant.id } }

    /// Waits for a unit of the resource. Lower `priority` numbers are served first.
    public func request(priority: Int = 0, preempt: Bool = false) async throws -> Grant {
        let sim = simulation
        let handle = try sim.waitingProcess("request of \(name)")
        let p = handle.takeUnretainedValue()
        nextID += 1
        let id = nextID
        if holders.count < capacity && queue.isEmpty {
            holders.append(Holder(id: id, process: p, priority: priority, since: sim.now))
            sim.trace?.record(sim.now, name, "granted", ["to": p.name])
            return Grant(id: id)
        }
        if preemptive && preempt, let victimIndex = preemptionVictim(for: priority) {
            let victim = holders.remove(at: victimIndex)
            holders.append(Holder(id: id, process: p, priority: priority, since: sim.now))
            sim.trace?.record(sim.now, name, "preempted", ["holder": victim.process?.name ?? "", "by": p.name])
            if let vp = victim.process {
                sim.interrupt(vp, .preempted(resource: name, by: p.name, usageSince: victim.since))
            }
            return Grant(id: id)
        }
        let s = sim.allocSlot(process: handle, action: .resume)
        sim.slots[Int(s)].target = .resourceQueued(self, id)
        let w = Waiter(id: id, slot: s, process: p, priority: priority)
        // Insert after every waiter of equal or better priority: FIFO within a priority.
        let at = queue.firstIndex { $0.priority > priority } ?? queue.count
        queue.insert(w, at: at)
        sim.trace?.record(sim.now, name, "queued", ["by": p.name, "priority": "\(priority)"])
        try await sim.suspend(s)
        return Grant(id: id)
    }

    /// Gives back a unit and grants queued requests while capacity allows.
    public func release(_ grant: Grant) { release(id: grant.id) }

    /// Holds one unit of the resource for the duration of `body`, releasing it however `body` ends.
    public func using<T>(priority: Int = 0, preempt: Bool = false, _ body: () async throws -> T) async throws -> T {
        let g = try await request(priority: priority, preempt: preempt)
        defer { release(g) }
        return try await body()
    }

    func release(id: UInt64) {
        guard let k = holders.firstIndex(where: { $0.id == id }) else { return }
        holders.remove(at: k)
        grantWaiters()
    }

    func withdraw(_ id: UInt64) {
        queue.removeAll { $0.id == id }
    }

    private func grantWaiters() {
        let sim = simulation
        while holders.count < capacity, !queue.isEmpty {
            let w = queue.removeFirst()
            holders.append(Holder(id: w.id, process: w.process, priority: w.priority, since: sim.now))
            sim.slots[Int(w.slot)].target = .resourceGranted(self, w.id)
            sim.schedule(slot: w.slot, at: sim.now)
            sim.trace?.record(sim.now, name, "granted", ["to": w.process.name])
        }
    }

    private func preemptionVictim(for priority: Int) -> Int? {
        var victim: Int?
        for (k, h) in holders.enumerated() {
            if let v = victim {
                if h.priority >= holders[v].priority { victim = k }
            } else {
                victim = k
            }
        }
        guard let v = victim, holders[v].priority > priority else { return nil }
        return v
    }
}
