import SimKernel

extension Simulation {
    /// Runs `bodies` as parallel sub-processes and waits for all of them. Every failure is observed
    /// (so none is reported as unobserved by `run`); the first one, in the order given, is rethrown.
    public func inParallel(_ name: String, _ bodies: [() async throws -> Void]) async throws {
        let processes = bodies.enumerated().map { k, body in process("\(name)[\(k)]") { try await body() } }
        var firstError: (any Error)?
        for p in processes {
            do { try await p.value() } catch { if firstError == nil { firstError = error } }
        }
        if let e = firstError { throw e }
    }
}
