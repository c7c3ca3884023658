/// The untyped part of a one-shot signal: its state, its waiting processes and its callbacks.
public class SignalCore {
    public let name: String
    unowned(unsafe) let simulation: Simulation
    public private(set) var isTriggered = false
    /// The failure, once the signal has failed.
    public private(set) var failure: (any Error)?
    var waiters: [Int32] = []
    var callbacks: [(SignalCore) -> Void] = []
    /// Someone awaited or subscribed: a failure was seen, not lost.
    var observed = false

    init(_ simulation: Simulation, name: String) {
        self.simulation = simulation
        self.name = name
    }

    public var succeeded: Bool { isTriggered && failure == nil }

    /// Calls `callback` when the signal triggers (at once if it already has). Callbacks run synchronously,
    /// in registration order, at the moment of triggering.
    public func onTrigger(_ callback: @escaping (SignalCore) -> Void) {
        observed = true
        if isTriggered { callback(self) } else { callbacks.append(callback) }
    }

    func markTriggered(failure: (any Error)?) {
        precondition(!isTriggered, "\(KernelMisuse.signalAlreadyTriggered(name))")
        isTriggered = true
        self.failure = failure
        let sim = simulation
        for w in waiters {
            let i = Int(w)
            sim.slots[i].target = .none
            if let failure { sim.slots[i].failure = failure }
            sim.schedule(slot: w, at: sim.now)
        }
        waiters.removeAll()
        let cbs = callbacks
        callbacks.removeAll()
        for cb in cbs { cb(self) }
    }

    func failFromProcess(_ error: any Error) { markTriggered(failure: error) }

    func fireFromQueue() { markTriggered(failure: nil) }

    func removeWaiter(_ slot: Int32) { waiters.removeAll { $0 == slot } }

    /// Suspends the calling process until the signal triggers; throws its failure.
    func waitTriggered() async throws {
        observed = true
        if isTriggered {
            if let failure { throw failure }
            return
        }
        let sim = simulation
        let p = try sim.waitingProcess("waiting on signal \(name)")
        let s = sim.allocSlot(process: p, action: .resume)
        sim.slots[Int(s)].target = .signal(self)
        waiters.append(s)
        try await sim.suspend(s)
    }
}

/// A one-shot event that processes can await: it succeeds once with a value, or fails once with an error.
///
/// Awaiting a signal that has already triggered returns (or throws) at once, without suspending. When it
/// triggers, its waiting processes resume at the current time in the order they started waiting.
public final class Signal<Value>: SignalCore {
    public private(set) var value: Value?

    public override init(_ simulation: Simulation, name: String = "signal") {
        super.init(simulation, name: name)
    }

    /// Triggers the signal successfully. Triggering twice is a programming error.
    public func succeed(_ value: Value) {
        self.value = value
        markTriggered(failure: nil)
    }

    /// Triggers the signal with a failure, thrown to every waiter.
    public func fail(_ error: any Error) { markTriggered(failure: error) }

    override func fireFromQueue() {
        if let v = () as? Value { succeed(v) } else { markTriggered(failure: nil) }
    }

    /// The signal's value once it succeeds; throws its failure, or `Interrupted` if the waiting process is
    /// interrupted first (the wait is then withdrawn).
    public func wait() async throws -> Value {
        try await waitTriggered()
        return value!
    }
}

extension Signal where Value == Void {
    public func succeed() { succeed(()) }
}

extension Simulation {
    /// A signal that succeeds with the index of the first of `signals` to succeed, or fails with the
    /// failure of the first to fail (SimPy's `AnyOf`). Signals already triggered count at once, in order.
    public func anyOf(_ signals: [SignalCore], name: String = "anyOf") -> Signal<Int> {
        let result = Signal<Int>(self, name: name)
        for (k, s) in signals.enumerated() {
            s.onTrigger { s in
                guard !result.isTriggered else { return }
                if let f = s.failure { result.fail(f) } else { result.succeed(k) }
            }
        }
        return result
    }

    /// A signal that succeeds once all of `signals` have succeeded, or fails with the first failure
    /// (SimPy's `AllOf`). With no signals it succeeds at once.
    public func allOf(_ signals: [SignalCore], name: String = "allOf") -> Signal<Void> {
        let result = Signal<Void>(self, name: name)
        var remaining = signals.count
        if remaining == 0 { result.succeed(()); return result }
        for s in signals {
            s.onTrigger { s in
                guard !result.isTriggered else { return }
                if let f = s.failure { result.fail(f); return }
                remaining -= 1
                if remaining == 0 { result.succeed(()) }
            }
        }
        return result
    }
}
