/// Why a process was interrupted.
public enum InterruptCause: Sendable, Equatable, CustomStringConvertible {
    /// An explicit `interrupt(process, reason)`.
    case reason(String)
    /// A higher-priority request took the resource this process held.
    case preempted(resource: String, by: String, usageSince: Double)

    public var description: String {
        switch self {
        case .reason(let r): return r
        case .preempted(let res, let by, let since):
            return "preempted from \(res) by \(by) (held since t=\(since) s)"
        }
    }
}

/// Thrown at a process's suspension point when it is interrupted. Whatever the process was waiting for
/// (a timeout, a signal, a queued resource request) has been withdrawn by the time it sees this.
public struct Interrupted: Error, Sendable, Equatable, CustomStringConvertible {
    public let cause: InterruptCause
    public var description: String { "interrupted: \(cause)" }
}

/// Thrown at every suspension point once the simulation has been shut down, so that processes still
/// waiting when a run ends unwind instead of leaking. Processes must let it propagate.
public struct SimulationEnded: Error, Sendable, CustomStringConvertible {
    public var description: String { "simulation ended" }
}

/// A process failed and nothing awaited it: the run reports it instead of losing it.
public struct UnobservedProcessFailure: Error, CustomStringConvertible {
    public let process: String
    public let time: Double
    public let error: any Error
    public var description: String { "process \(process) failed at t=\(time) s: \(error)" }
}

/// A scheduling mistake in the calling code (not a modelled fault).
public enum KernelMisuse: Error, Sendable, CustomStringConvertible {
    case negativeDelay(Double)
    case notInProcess(String)
    case signalAlreadyTriggered(String)

    public var description: String {
        switch self {
        case .negativeDelay(let d): return "a delay must be finite and non-negative, got \(d) s"
        case .notInProcess(let what): return "\(what) must be called from inside a simulation process"
        case .signalAlreadyTriggered(let name): return "signal \(name) was already triggered"
        }
    }
}
