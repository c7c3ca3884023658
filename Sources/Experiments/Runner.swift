import Foundation
import Procedures
import ScenarioKit
import SimKernel
import Synchronization

/// One trial as it ran.
public struct TrialRun: Sendable {
    public let trial: Int
    public let point: Int
    public var result: TrialResult
    /// Simulated seconds from the procedure's start to its return (the metric `duration_s`).
    public let durationSeconds: Double
    /// When the procedure could start (`TrialResult.startSeconds`; 0, the epoch, for most procedures).
    public var startSeconds: Double = 0
    public let steps: [StepRecord]
    /// Present when the trace was asked for.
    public let trace: [TraceRecord]?
    public let traceFingerprint: UInt64?
}

/// A procedure's trial failed in a way that is a defect, not a documented outcome.
public struct TrialFailure: Error, CustomStringConvertible {
    public let trial: Int
    public let point: Int
    public let message: String
    public var description: String { "trial \(trial) (sweep point \(point)) failed: \(message)" }
}

/// Receives finished trials in trial order (trial-major, then sweep point), e.g. the trials.csv writer.
public protocol TrialSink: AnyObject {
    func write(_ trial: TrialRun) throws
}

public struct RunOptions: Sendable {
    public var threads: Int
    /// The trials this run covers; the whole study by default.
    public var trialRange: Range<Int>
    /// Checked between trials and between a trial's events; true stops the run (Ctrl-C), abandoning the
    /// trials in progress and leaving a partial state of the completed ones.
    public var shouldStop: @Sendable () -> Bool
    /// Called after each trial at each sweep point with (trial runs done, trial runs in this run); a trial
    /// run is one trial at one point, so a sweep's progress moves while a trial's points are still running.
    public var progress: @Sendable (Int, Int) -> Void

    public init(threads: Int = 1, trialRange: Range<Int>, shouldStop: @escaping @Sendable () -> Bool = { false },
                progress: @escaping @Sendable (Int, Int) -> Void = { _, _ in }) {
        self.threads = threads
        self.trialRange = trialRange
        self.shouldStop = shouldStop
        self.progress = progress
    }

    /// Shard `index` of `count` (0-based) of `trials`: contiguous, sizes differing by at most one.
    public static func shardRange(index: Int, count: Int, trials: Int) -> Range<Int> {
        // In 128 bits: trials × index overflows Int long before either does.
        let lo = Int128(trials) * Int128(index) / Int128(count)
        let hi = Int128(trials) * Int128(index + 1) / Int128(count)
        return Int(lo)..<Int(hi)
    }
}

public enum StudyRunner {
    /// Builds one procedure instance per sweep point.
    public static func procedures(for scenario: Scenario) throws -> [any Procedure] {
        try scenario.sweepPoints.map { try scenario.procedureType.init(configuration: scenario.point($0).configuration) }
    }

    /// Runs one trial on the calling thread.
    public static func runTrial(_ procedure: any Procedure, scenario: Scenario, point: SweepPoint, trial: Int,
                                trace: Bool = false, keepsDetail: Bool = false,
                                isCancelled: (@Sendable () -> Bool)? = nil) throws -> TrialRun {
        let sim = Simulation(seed: scenario.study.seed, trial: UInt64(trial))
        defer { sim.shutDown() }
        sim.isCancelled = isCancelled
        if trace { sim.trace = Trace() }
        let context = TrialContext(simulation: sim, seed: scenario.study.seed, trial: UInt64(trial), site: scenario.site,
                                   epochUnixSeconds: scenario.point(point).epochUnixSeconds,
                                   nightsUnixSeconds: scenario.nightsUnixSeconds, fidelity: scenario.study.fidelity,
                                   keepsDetail: keepsDetail)
        final class Box { var result: TrialResult?; var end = 0.0; var error: (any Error)? }
        let box = Box()
        let process = sim.process("procedure") {
            do {
                box.result = try await procedure.runTrial(context)
            } catch let abort as ProcedureAbort {
                box.result = TrialResult(outcome: .aborted(abort.cause), metrics: abort.metrics)
            } catch {
                box.error = error
            }
            box.end = sim.now
        }
        do {
            try sim.run(until: process)
        } catch let e as ProcessNeverFinished {
            throw TrialFailure(trial: trial, point: point.index, message: "the procedure is waiting for something that never happens (t = \(e.time) s)")
        }
        if let e = box.error { throw TrialFailure(trial: trial, point: point.index, message: "\(e)") }
        var result = box.result!
        let declared = Set(scenario.procedureType.schema.allMetrics.map(\.name))
        for name in result.metrics.keys where !declared.contains(name) {
            throw TrialFailure(trial: trial, point: point.index, message: "metric \(name) is not declared in the procedure's schema")
        }
        let start = scenario.procedureType.schema.waitsForStart ? min(box.end, max(0, result.startSeconds ?? 0)) : 0
        result.metrics["duration_s"] = box.end - start
        if scenario.procedureType.schema.waitsForStart { result.metrics["wait_before_start_s"] = start }
        var run = TrialRun(trial: trial, point: point.index, result: result, durationSeconds: box.end - start, steps: sim.steps,
                           trace: sim.trace?.records, traceFingerprint: sim.trace?.fingerprint())
        run.startSeconds = start
        return run
    }

    /// Runs the trials of `options.trialRange` at every sweep point on `options.threads` threads. Each
    /// trial is its own `Simulation(seed:trial:)`, so what a trial draws does not depend on the thread
    /// that runs it; statistics merge exactly, so the state does not depend on the thread count either.
    public static func run(_ scenario: Scenario, options: RunOptions, sink: (any TrialSink)? = nil) throws -> StudyState {
        let procedures = try procedures(for: scenario)
        let points = scenario.sweepPoints
        var state = StudyState(scenario: scenario, ranges: [options.trialRange])
        let range = options.trialRange
        let chunk = 16
        let chunkCount = (range.count + chunk - 1) / chunk
        let nextChunk = Atomic<Int>(0)
        let stop = Atomic<Bool>(false)
        let runsDone = Atomic<Int>(0)
        let runsTotal = range.count * points.count
        let shared = Mutex(SharedRunState(pointCount: points.count, metricNames: scenario.procedureType.schema.allMetrics.map(\.name),
                                          nextTrial: range.lowerBound))
        let sinkBox = UncheckedBox(sink)
        let threadCount = max(1, min(options.threads, max(1, chunkCount)))

        let work: @Sendable () -> Void = {
            var local = points.map { _ in PointState(metricNames: scenario.procedureType.schema.allMetrics.map(\.name)) }
            var completed = 0
            while !stop.load(ordering: .relaxed) {
                let c = nextChunk.wrappingAdd(1, ordering: .relaxed).oldValue
                if c >= chunkCount { break }
                let lo = range.lowerBound + c * chunk
                let hi = min(range.upperBound, lo + chunk)
                for t in lo..<hi {
                    if options.shouldStop() { stop.store(true, ordering: .relaxed); break }
                    var runs: [TrialRun] = []
                    do {
                        for (p, procedure) in procedures.enumerated() {
                            runs.append(try runTrial(procedure, scenario: scenario, point: points[p], trial: t, isCancelled: options.shouldStop))
                            options.progress(runsDone.wrappingAdd(1, ordering: .relaxed).newValue, runsTotal)
                        }
                    } catch is Simulation.SimulationCancelled {
                        // Stopped inside a trial: it is abandoned, the completed ones make the partial state.
                        stop.store(true, ordering: .relaxed)
                        break
                    } catch {
                        shared.withLock { if $0.error == nil { $0.error = error } }
                        stop.store(true, ordering: .relaxed)
                        break
                    }
                    for r in runs { local[r.point].add(r) }
                    completed += 1
                    shared.withLock { s in
                        s.pending[t] = runs
                        s.flush(into: sinkBox.value)
                    }
                }
            }
            shared.withLock { s in
                for i in local.indices { s.points[i].merge(local[i]) }
                s.completed += completed
            }
        }

        if threadCount == 1 {
            work()
        } else {
            let group = DispatchGroup()
            for _ in 0..<threadCount {
                group.enter()
                let thread = Thread { work(); group.leave() }
                thread.stackSize = 8 << 20
                thread.start()
            }
            group.wait()
        }

        let final = shared.withLock { s -> (error: (any Error)?, points: [PointState], completed: Int) in
            // A stop leaves holes: write what remains in trial order.
            s.flushAll(into: sinkBox.value)
            return (s.error ?? s.sinkError, s.points, s.completed)
        }
        if let e = final.error { throw e }
        state.points = final.points
        state.completedTrials = final.completed
        state.partial = final.completed < range.count
        return state
    }
}

/// Results shared between worker threads, under a lock.
struct SharedRunState {
    var points: [PointState]
    var completed = 0
    var error: (any Error)?
    var sinkError: (any Error)?
    var nextTrial: Int
    /// Finished trials waiting for their predecessors, so the sink sees trial order; bounded by the
    /// threads × chunk size in flight.
    var pending: [Int: [TrialRun]] = [:]

    init(pointCount: Int, metricNames: [String], nextTrial: Int) {
        points = (0..<pointCount).map { _ in PointState(metricNames: metricNames) }
        self.nextTrial = nextTrial
    }

    mutating func flush(into sink: (any TrialSink)?) {
        while let runs = pending.removeValue(forKey: nextTrial) {
            write(runs, sink)
            nextTrial += 1
        }
    }

    mutating func flushAll(into sink: (any TrialSink)?) {
        for t in pending.keys.sorted() { write(pending[t]!, sink) }
        pending.removeAll()
    }

    mutating func write(_ runs: [TrialRun], _ sink: (any TrialSink)?) {
        guard let sink, sinkError == nil else { return }
        do { for r in runs { try sink.write(r) } } catch { sinkError = error }
    }
}

/// The sink is used only under the shared lock.
struct UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
