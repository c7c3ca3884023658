/// A discrete-event simulation: a clock, an event queue, and processes written as plain `async` Swift.
///
/// ## Execution model
/// Every process is a Swift task whose executor preference is its own `ProcessCore`, a `TaskExecutor` that
/// hands each job to this simulation's ready queue. `run(until:)` drains that queue on the calling thread,
/// then fires the earliest scheduled wake-up, and so on. Nothing touches the global concurrency pool, so a
/// run is a pure function of its inputs; separate simulations may run on separate threads at once.
/// A suspended process parks an `UnsafeContinuation` in a slot; the queue holds plain
/// (time, sequence, slot, generation) entries.
///
/// A task executor rather than an actor per process: a continuation always resumes through the generic
/// executor, which reaches this ready queue only through the task's executor preference; a process isolated
/// to an actor of its own would first resume on the global pool (docs/performance.md, "Kernel resume").
///
/// ## Ordering
/// - Wake-ups at equal times fire in the order they were scheduled (a sequence number breaks ties).
/// - A process created with `process(_:_:)` starts running when the current job ends, before any further
///   scheduled wake-up, in creation order.
/// - When a signal triggers or a resource is granted, the waiting processes are scheduled at the current
///   time, in the order they started waiting, after everything already scheduled for that time.
/// - `run(until: t)` fires every wake-up strictly before `t` and none at or after it; the clock then reads
///   `t`.
///
/// A simulation is not thread-safe: it is created, run and shut down on one thread. It is
/// `@unchecked Sendable` only so that processes (Swift tasks) may refer to it.
public final class Simulation: @unchecked Sendable {
    /// Simulated seconds since the scenario's epoch.
    public private(set) var now: Double = 0
    /// The named random streams of this trial.
    public let streams: RandomStreams
    /// Opt-in detailed trace; `nil` (off) by default, as in Monte Carlo runs.
    public var trace: Trace?
    /// Per-step spans, always recorded: they give the per-step timing of every trial.
    public private(set) var steps: [StepRecord] = []
    /// Set to false to skip step recording (the kernel benchmark does).
    public var recordsSteps = true
    /// Asked before every event when set: true makes `run` throw `SimulationCancelled`, so an interrupted
    /// study abandons a long trial at once instead of finishing it.
    public var isCancelled: (@Sendable () -> Bool)?

    var queue = EventQueue()
    var seq: UInt64 = 0
    var slots: [Slot] = []
    var freeSlots: [Int32] = []
    var ready: [ReadyJob] = []
    var readyHead = 0
    /// The `limit` of the `run(until:)` in progress; −∞ outside one, so no wait takes the direct path.
    var runLimit = -Double.infinity
    /// Waits that continued at once instead of suspending (`isNextToRun`); for tests and benchmarks.
    public private(set) var directResumes = 0
    var live: [ProcessCore] = []
    var finishedCores: [ProcessCore] = []
    var failures: [(ProcessCore, SignalCore, any Error, Double)] = []
    var nextProcessID = 0
    /// True once `shutDown()` has begun: every suspension then throws `SimulationEnded`.
    public private(set) var isShutDown = false
    /// The process whose code is running right now (nil between jobs). Unowned: `live` keeps it alive,
    /// and skipping the reference count here is measurable on every event.
    public private(set) unowned(unsafe) var currentProcess: ProcessCore?

    public init(streams: RandomStreams) {
        GSLRuntime.prepare()
        self.streams = streams
    }

    /// A simulation for trial `trial` of a study seeded with `seed`.
    public convenience init(seed: UInt64 = 1, trial: UInt64 = 0) {
        self.init(streams: RandomStreams(masterSeed: seed, trial: trial))
    }

    deinit {
        if !isShutDown { shutDown() }
    }

    /// The named random stream of this trial (see `RandomStreams`).
    public func stream(_ name: String) -> RandomStream { streams.stream(name) }

    /// Number of wake-ups still scheduled (stale ones included).
    public var scheduledCount: Int { queue.count }
    /// Processes created and not yet finished.
    public var liveProcessCount: Int { live.count }

    // MARK: Processes

    /// Starts `body` as a new process named `name`. It runs when the current job ends (see "Ordering").
    /// Its result, or its error, is delivered to whoever awaits `value()`; a failure nobody awaited is
    /// reported by `run` as `UnobservedProcessFailure`.
    @discardableResult
    public func process<T>(_ name: String, _ body: @escaping () async throws -> T) -> SimProcess<T> {
        let core = ProcessCore(simulation: self, name: name, id: nextProcessID)
        nextProcessID += 1
        // A process started inside a step (a parallel move) nests its steps under that step.
        core.currentStep = currentProcess?.currentStep ?? -1
        core.liveIndex = live.count
        live.append(core)
        let done = Signal<T>(self, name: name)
        // The closure and the signal are used only on this simulation's thread; the box tells the compiler
        // what the executor design guarantees, once, here.
        let box = UncheckedSendableBox((body, done, core))
        _ = Task(executorPreference: core) {
            let (body, done, core) = box.value
            do {
                let v = try await body()
                done.succeed(v)
            } catch {
                core.simulation.processFailed(core, done, error)
            }
            core.simulation.processFinished(core)
        }
        return SimProcess(core: core, completion: done)
    }

    /// Interrupts `process`: each thing it is waiting for is withdrawn (a timeout cancelled, a queued
    /// resource request removed, a granted-but-unseen resource released, a signal wait dropped) and
    /// `Interrupted(cause)` is thrown at its suspension point at the current time. A process that is not
    /// suspended (it is running, or about to resume) receives it at its next suspension. Interrupting a
    /// finished process does nothing.
    public func interrupt(_ process: ProcessCore, _ cause: InterruptCause) {
        guard !process.isFinished else { return }
        let error = Interrupted(cause: cause)
        if process.activeSlots.isEmpty {
            if process.pendingInterrupt == nil { process.pendingInterrupt = error }
            return
        }
        for s in process.activeSlots {
            let i = Int(s)
            withdraw(slot: i)
            slots[i].generation &+= 1
            slots[i].failure = error
            schedule(slot: s, at: now)
        }
        trace?.record(now, process.name, "interrupted", ["cause": cause.description])
    }

    public func interrupt<T>(_ process: SimProcess<T>, _ cause: InterruptCause) { interrupt(process.core, cause) }

    public func interrupt<T>(_ process: SimProcess<T>, reason: String) { interrupt(process.core, .reason(reason)) }

    // MARK: Waiting

    /// Suspends the calling process for `delay` simulated seconds.
    public func timeout(_ delay: Double) async throws {
        guard delay >= 0, delay.isFinite else { throw KernelMisuse.negativeDelay(delay) }
        let p = try waitingProcess("timeout")
        if isNextToRun(at: now + delay) { now += delay; return }
        let s = allocSlot(process: p, action: .resume)
        schedule(slot: s, at: now + delay)
        try await suspend(s)
    }

    /// Suspends the calling process until simulated time `time` (at once if it has passed). The wake-up is
    /// at `time` itself, not at now + (time − now), which can differ in the last bit: a span cut into parts
    /// (an image's overhead, exposure and readout) then ends exactly where the uncut span would.
    public func wait(until time: Double) async throws {
        guard time > now else { return try await timeout(0) }
        guard time.isFinite else { throw KernelMisuse.negativeDelay(time - now) }
        let p = try waitingProcess("wait(until:)")
        if isNextToRun(at: time) { now = time; return }
        let s = allocSlot(process: p, action: .resume)
        schedule(slot: s, at: time)
        try await suspend(s)
    }

    /// A signal that succeeds `delay` seconds from now; for races such as "this or a 30 s time limit".
    public func timeoutSignal(_ delay: Double, name: String = "timeout") -> Signal<Void> {
        precondition(delay >= 0 && delay.isFinite, "a delay must be finite and non-negative")
        let sig = Signal<Void>(self, name: name)
        let s = allocSlot(process: nil, action: .fire(sig))
        schedule(slot: s, at: now + delay)
        return sig
    }

    /// Runs `action` at `now + delay`, outside any process (for model events such as a fault).
    public func schedule(after delay: Double, _ action: @escaping () -> Void) {
        precondition(delay >= 0 && delay.isFinite, "a delay must be finite and non-negative")
        let s = allocSlot(process: nil, action: .call(action))
        schedule(slot: s, at: now + delay)
    }

    // MARK: Running

    /// Runs until no wake-up remains or the next one is at or after `limit`. Throws
    /// `UnobservedProcessFailure` for the first process that failed with nobody awaiting it.
    public func run(until limit: Double = .infinity) throws {
        runLimit = limit
        defer { runLimit = -.infinity }
        drainReady()
        while let top = queue.first, top.time < limit {
            if let isCancelled, isCancelled() { throw SimulationCancelled() }
            _ = queue.pop()
            // A withdrawn wake-up (interrupted, or resumed some other way) must not move the clock.
            guard slots[Int(top.slot)].generation == top.generation else { continue }
            now = top.time
            fire(top)
            drainReady()
        }
        if limit.isFinite && limit > now { now = limit }
        try reportUnobservedFailures()
    }

    /// Thrown by `run` when `isCancelled` said so; the trial's results are incomplete and must be dropped.
    public struct SimulationCancelled: Error, CustomStringConvertible {
        public init() {}
        public var description: String { "the simulation was cancelled" }
    }

    /// Ends the simulation: every process still waiting is resumed with `SimulationEnded` and allowed to
    /// unwind, so no task outlives its simulation. Further waits throw `SimulationEnded` at once.
    public func shutDown() {
        guard !isShutDown else { return }
        isShutDown = true
        drainReady()
        var rounds = 0
        while live.contains(where: { !$0.activeSlots.isEmpty }) {
            rounds += 1
            precondition(rounds < 1_000_000, "a process keeps waiting after SimulationEnded: it must not swallow that error")
            for core in live {
                for s in core.activeSlots {
                    let i = Int(s)
                    withdraw(slot: i)
                    slots[i].generation &+= 1
                    if let c = slots[i].continuation {
                        slots[i].continuation = nil
                        core.activeSlots.removeAll { $0 == s }
                        releaseSlot(i)
                        c.resume(throwing: SimulationEnded())
                    }
                }
            }
            drainReady()
        }
        queue = EventQueue()
    }

    // MARK: Steps

    /// Runs `body` as the documented step `name` on `lane` (the subsystem it occupies, a Gantt lane) and
    /// records its start and end, whether it completes or throws, and its parent: the step of the same
    /// process that encloses it when it starts, or for a process's outermost steps the step that was
    /// running when the process was started (nil at the top).
    /// `use` is what the step's own time (outside its sub-steps) is spent on, for the time-use breakdown.
    public func step<T>(_ name: String, lane: String, use: TimeUse, _ body: () async throws -> T) async throws -> T {
        let start = now
        let index = steps.count
        let process = currentProcess
        let enclosing = process?.currentStep ?? -1
        if recordsSteps {
            steps.append(StepRecord(name: name, lane: lane, process: process?.name ?? "", start: start, end: start, completed: false,
                                    parent: enclosing >= 0 ? Int(enclosing) : nil, use: use))
            process?.currentStep = Int32(index)
        }
        // Restored on every exit: the process is the same object after each suspension.
        defer { if recordsSteps { process?.currentStep = enclosing } }
        trace?.record(now, lane, "begin", ["step": name])
        do {
            let v = try await body()
            if recordsSteps { steps[index].end = now; steps[index].completed = true }
            trace?.record(now, lane, "end", ["step": name])
            return v
        } catch {
            if recordsSteps { steps[index].end = now }
            trace?.record(now, lane, "abort", ["step": name, "error": "\(error)"])
            throw error
        }
    }

    /// Records an instantaneous action in the trace (no-op when tracing is off).
    @inline(__always)
    public func record(_ actor: String, _ action: String, _ attributes: KeyValuePairs<String, String> = [:]) {
        trace?.record(now, actor, action, attributes)
    }

    // MARK: Internals

    /// The running process, unretained (`live` owns it), after the checks every wait makes first.
    @inline(__always)
    func waitingProcess(_ what: @autoclosure () -> String) throws -> Unmanaged<ProcessCore> {
        if isShutDown { throw SimulationEnded() }
        guard let p = currentProcess else { throw KernelMisuse.notInProcess(what()) }
        if let pending = p.pendingInterrupt {
            p.pendingInterrupt = nil
            throw pending
        }
        return Unmanaged.passUnretained(p)
    }

    /// True when a wake-up at `time` scheduled now would be the very next thing `run` does: no other job is
    /// ready, the earliest scheduled wake-up is strictly later (an equal time was scheduled first and fires
    /// first), `time` is inside the run's limit, and the study has not been cancelled. The waiting process
    /// then continues where it is with the clock moved on, exactly as if it had suspended and been resumed,
    /// without a task switch (the executor-preference lookup, the continuation, a ready-queue round trip:
    /// docs/performance.md, "Kernel resume"). Most waits of a single procedure are of this kind.
    @inline(__always)
    func isNextToRun(at time: Double) -> Bool {
        guard readyHead == ready.count, time < runLimit else { return false }
        if let top = queue.first, !(time < top.time) { return false }
        if let isCancelled, isCancelled() { return false }
        directResumes &+= 1
        return true
    }

    @inline(__always)
    func allocSlot(process: Unmanaged<ProcessCore>?, action: SlotAction) -> Int32 {
        let s: Int32
        if let f = freeSlots.popLast() {
            s = f
            if case .resume = action {} else { slots[Int(f)].action = action }
            slots[Int(f)].process = process
        } else {
            s = Int32(slots.count)
            slots.append(Slot(action: action, process: process))
        }
        process?._withUnsafeGuaranteedRef { $0.activeSlots.append(s) }
        return s
    }

    @inline(__always)
    func releaseSlot(_ i: Int) {
        Self.vacate(&slots[i])
        freeSlots.append(Int32(i))
    }

    /// Empties a slot for its next use; any queue entry still naming it goes stale (the generation).
    @inline(__always)
    static func vacate(_ slot: inout Slot) {
        slot.generation &+= 1
        slot.process = nil
        // Only touch the reference-counted fields when they hold something: the common timeout slot
        // never does, and unconditional stores would release on every event.
        if slot.failure != nil { slot.failure = nil }
        if case .none = slot.target {} else { slot.target = .none }
        if case .resume = slot.action {} else { slot.action = .resume }
    }

    @inline(__always)
    func schedule(slot s: Int32, at time: Double) {
        seq &+= 1
        queue.push(QueueEntry(time: time, seq: seq, slot: s, generation: slots[Int(s)].generation))
    }

    @inline(__always)
    func suspend(_ s: Int32) async throws {
        try await withUnsafeThrowingContinuation { (c: UnsafeContinuation<Void, any Error>) in
            slots[Int(s)].continuation = c
        }
    }

    /// Undoes whatever the slot's process was queued on, before the slot is resumed some other way.
    func withdraw(slot i: Int) {
        switch slots[i].target {
        case .none: break
        case .signal(let sig): sig.removeWaiter(Int32(i))
        case .resourceQueued(let res, let id): res.withdraw(id)
        case .resourceGranted(let res, let id): res.release(id: id)
        }
        slots[i].target = .none
    }

    @inline(__always)
    func fire(_ e: QueueEntry) {
        let i = Int(e.slot)
        switch slots[i].action {
        case .resume:
            // One exclusive access to the slot table instead of one uniqueness check per field.
            let woken: (UnsafeContinuation<Void, any Error>, (any Error)?, Unmanaged<ProcessCore>?)? =
                slots.withUnsafeMutableBufferPointer { b in
                    guard let c = b[i].continuation else { return nil }
                    b[i].continuation = nil
                    let process = b[i].process
                    var failure: (any Error)?
                    if b[i].failure != nil { failure = b[i].failure; b[i].failure = nil }
                    Self.vacate(&b[i])
                    return (c, failure, process)
                }
            guard let (c, failure, process) = woken else { return }
            freeSlots.append(e.slot)
            if let p = process?.takeUnretainedValue() { p.removeActive(e.slot) }
            if let failure { c.resume(throwing: failure) } else { c.resume() }
        case .fire(let sig):
            releaseSlot(i)
            sig.fireFromQueue()
        case .call(let action):
            releaseSlot(i)
            action()
        }
    }

    @inline(__always)
    func enqueueReady(_ job: UnownedJob, _ core: ProcessCore) {
        ready.append(ReadyJob(job: job, core: Unmanaged.passUnretained(core)))
    }

    func drainReady() {
        while readyHead < ready.count {
            let r = ready[readyHead]
            readyHead += 1
            let core = r.core.takeUnretainedValue()
            currentProcess = core
            r.job.runSynchronously(on: core.asUnownedTaskExecutor())
            currentProcess = nil
        }
        // One job is the common case after a wake-up: removeLast is a decrement, removeAll a range replacement.
        if readyHead == 1 { ready.removeLast() } else { ready.removeAll(keepingCapacity: true) }
        readyHead = 0
        if !finishedCores.isEmpty { finishedCores.removeAll(keepingCapacity: true) }
    }

    func processFailed(_ core: ProcessCore, _ done: SignalCore, _ error: any Error) {
        trace?.record(now, core.name, "failed", ["error": "\(error)"])
        done.failFromProcess(error)
        if !(error is SimulationEnded) { failures.append((core, done, error, now)) }
    }

    func processFinished(_ core: ProcessCore) {
        core.isFinished = true
        // Swap-remove from the live list; keep the core alive until the job that finished it has returned.
        let i = core.liveIndex
        let last = live.count - 1
        if i != last {
            live[i] = live[last]
            live[i].liveIndex = i
        }
        live.removeLast()
        core.liveIndex = -1
        finishedCores.append(core)
    }

    func reportUnobservedFailures() throws {
        guard !failures.isEmpty else { return }
        let pending = failures
        failures.removeAll()
        for (core, done, error, time) in pending where !done.observed {
            throw UnobservedProcessFailure(process: core.name, time: time, error: error)
        }
    }
}

/// Whatever a parked slot does when its wake-up fires.
enum SlotAction {
    case resume
    case fire(SignalCore)
    case call(() -> Void)
}

/// What a suspended process is queued on, so an interrupt can withdraw it.
enum WaitTarget {
    case none
    case signal(SignalCore)
    case resourceQueued(Resource, UInt64)
    case resourceGranted(Resource, UInt64)
}

struct Slot {
    var generation: UInt32 = 0
    var continuation: UnsafeContinuation<Void, any Error>?
    var failure: (any Error)?
    var target: WaitTarget = .none
    var action: SlotAction
    var process: Unmanaged<ProcessCore>?

    init(action: SlotAction, process: Unmanaged<ProcessCore>?) {
        self.action = action
        self.process = process
    }
}

struct ReadyJob {
    let job: UnownedJob
    let core: Unmanaged<ProcessCore>
}

/// The executor of one process: every job of the process's task (and of its `async let` children) is
/// handed to the simulation's ready queue, tagged with the process, so the kernel always knows which
/// process is running.
public final class ProcessCore: TaskExecutor, @unchecked Sendable {
    public let name: String
    public let id: Int
    unowned(unsafe) let simulation: Simulation
    var activeSlots: [Int32] = []
    var pendingInterrupt: Interrupted?
    var liveIndex = -1
    /// Index in `Simulation.steps` of the innermost step this process is running, -1 for none.
    var currentStep: Int32 = -1
    public internal(set) var isFinished = false

    init(simulation: Simulation, name: String, id: Int) {
        self.simulation = simulation
        self.name = name
        self.id = id
    }

    public func enqueue(_ job: consuming ExecutorJob) {
        simulation.enqueueReady(UnownedJob(job), self)
    }

    @inline(__always)
    func removeActive(_ s: Int32) {
        // removeLast, not removeAll(keepingCapacity:): the latter is a range replacement on every wake-up.
        if activeSlots.count == 1 { activeSlots.removeLast(); return }
        if let k = activeSlots.firstIndex(of: s) {
            activeSlots.swapAt(k, activeSlots.count - 1)
            activeSlots.removeLast()
        }
    }
}

/// A handle on a running process: await its result, or interrupt it.
public struct SimProcess<Value> {
    public let core: ProcessCore
    public let completion: Signal<Value>
    public var name: String { core.name }
    public var isFinished: Bool { core.isFinished }
    /// The process's result; rethrows its error.
    public func value() async throws -> Value { try await completion.wait() }
}

/// One documented step of a procedure, as it ran.
public struct StepRecord: Sendable, Equatable {
    public let name: String
    public let lane: String
    public let process: String
    public let start: Double
    public var end: Double
    public var completed: Bool
    /// Index in the same `steps` array of the enclosing step (see `Simulation.step`), nil at the top.
    public var parent: Int? = nil
    /// What the step's own time is spent on (`Simulation.step`).
    public var use: TimeUse = .other
    public var duration: Double { end - start }

    public init(name: String, lane: String, process: String, start: Double, end: Double, completed: Bool, parent: Int? = nil,
                use: TimeUse = .other) {
        self.name = name
        self.lane = lane
        self.process = process
        self.start = start
        self.end = end
        self.completed = completed
        self.parent = parent
        self.use = use
    }

    /// The names from the outermost enclosing step down to this one.
    public static func path(of index: Int, in steps: [StepRecord]) -> [String] {
        var names: [String] = []
        var i: Int? = index
        while let k = i { names.append(steps[k].name); i = steps[k].parent }
        return names.reversed()
    }
}

/// Carries a value into a `Task` closure where the kernel's single-thread design, not the type system,
/// guarantees it is never shared between threads.
struct UncheckedSendableBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
