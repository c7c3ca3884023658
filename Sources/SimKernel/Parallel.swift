extension Simulation {
    /// Runs `bodies` as parallel sub-processes named `name[k]` and waits for all of them: the one way
    /// steps run side by side. Every failure is observed (so none is reported as unobserved by `run`);
    /// the first one, in the order given, is rethrown.
    public func inParallel(_ name: String, _ bodies: [() async throws -> Void]) async throws {
        let processes = bodies.enumerated().map { k, body in process("\(name)[\(k)]") { try await body() } }
        var firstError: (any Error)?
        for p in processes {
            do { try await p.value() } catch { if firstError == nil { firstError = error } }
        }
        if let e = firstError { throw e }
    }

    /// Runs until `process` has finished, a simulated day at a time: models may keep background
    /// processes alive forever (drifts, weather), so "until the queue is empty" may never come. Throws
    /// `ProcessNeverFinished` when nothing is scheduled and the process still waits. The one trial
    /// harness of the runner and the tests.
    public func run<T>(until process: SimProcess<T>, chunkSeconds: Double = 86_400) throws {
        while !process.isFinished {
            if scheduledCount == 0 {
                try run()
                if !process.isFinished { throw ProcessNeverFinished(process: process.name, time: now) }
                return
            }
            try run(until: now + chunkSeconds)
        }
    }
}

/// A process waits for something that never happens.
public struct ProcessNeverFinished: Error, Sendable, CustomStringConvertible {
    public let process: String
    public let time: Double
    public var description: String { "\(process) is waiting for something that never happens (t = \(time) s)" }
}
