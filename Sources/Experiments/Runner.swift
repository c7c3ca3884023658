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

    /// Threads and batch size for `items` (trial, point) pairs: at least eight batches per thread so the
    /// last ones balance, at most 16 items per batch so a stop or a progress line is never far away.
    static func workSplit(items: Int, threads: Int) -> (threads: Int, batch: Int) {
        let t = max(1, min(threads, items))
        return (t, max(1, min(16, items / (t * 8))))
    }

    /// Runs the trials of `options.trialRange` at every sweep point on `options.threads` threads. Each
    /// trial is its own `Simulation(seed:trial:)`, so what a trial draws does not depend on the thread
    /// that runs it; statistics merge exactly, so the state does not depend on the thread count either.
    ///
    /// Threads share the work by (trial, sweep point) pairs, handed out in trial-major order in batches
    /// small enough that every thread has work even for a handful of trials (a sweep of 338 points at 20
    /// trials, or 6 points at 2). A trial counts, and is added to the statistics, once all of its points
    /// are done, so a stopped run never holds a trial at some points and not at others.
    public static func run(_ scenario: Scenario, options: RunOptions, sink: (any TrialSink)? = nil) throws -> StudyState {
        let procedures = try procedures(for: scenario)
        let points = scenario.sweepPoints
        let pointCount = points.count
        var state = StudyState(scenario: scenario, ranges: [options.trialRange])
        let range = options.trialRange
        let itemCount = range.count * pointCount
        let (threadCount, batch) = workSplit(items: itemCount, threads: options.threads)
        let nextItem = Atomic<Int>(0)
        let stop = Atomic<Bool>(false)
        let runsDone = Atomic<Int>(0)
        let runsTotal = itemCount
        let metricNames = scenario.procedureType.schema.allMetrics.map(\.name)
        // Empty points as the scenario defines them (each with its resolved deadline, if any).
        let emptyPoints = StudyState(scenario: scenario, ranges: []).points
        let shared = Mutex(SharedRunState(pointCount: pointCount, metricNames: metricNames, nextTrial: range.lowerBound, emptyPoints: emptyPoints))
        let sinkBox = UncheckedBox(sink)

        let work: @Sendable () -> Void = {
            var local = emptyPoints
            var completed = 0
            outer: while !stop.load(ordering: .relaxed) {
                let first = nextItem.wrappingAdd(batch, ordering: .relaxed).oldValue
                if first >= itemCount { break }
                for item in first..<min(itemCount, first + batch) {
                    if options.shouldStop() { stop.store(true, ordering: .relaxed); break outer }
                    let t = range.lowerBound + item / pointCount, p = item % pointCount
                    let run: TrialRun
                    do {
                        run = try runTrial(procedures[p], scenario: scenario, point: points[p], trial: t, isCancelled: options.shouldStop)
                        options.progress(runsDone.wrappingAdd(1, ordering: .relaxed).newValue, runsTotal)
                    } catch is Simulation.SimulationCancelled {
                        // Stopped inside a trial: it is abandoned, the completed ones make the partial state.
                        stop.store(true, ordering: .relaxed)
                        break outer
                    } catch {
                        shared.withLock { if $0.error == nil { $0.error = error } }
                        stop.store(true, ordering: .relaxed)
                        break outer
                    }
                    let whole = shared.withLock { s -> (runs: [TrialRun]?, done: Int) in
                        let runs = s.finish(run, trial: t)
                        s.flush(into: sinkBox.value)
                        if runs != nil { s.completedCount += 1 }
                        return (runs, s.completedCount)
                    }
                    if let runs = whole.runs {
                        for r in runs { local[r.point].add(r) }
                        completed += 1
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
    let pointCount: Int
    var completed = 0
    /// Trials with every point done so far (for progress).
    var completedCount = 0
    var error: (any Error)?
    var sinkError: (any Error)?
    var nextTrial: Int
    /// A trial's points as they finish, until all have.
    /// (`filled` counts the slots in, so filing a point costs no pass over the trial's other points.)
    var partialTrials: [Int: (slots: [TrialRun?], filled: Int)] = [:]
    /// Finished trials waiting for their predecessors, so the sink sees trial order; bounded by the
    /// threads × batch size in flight.
    var pending: [Int: [TrialRun]] = [:]

    init(pointCount: Int, metricNames: [String], nextTrial: Int, emptyPoints: [PointState]) {
        points = emptyPoints.count == pointCount ? emptyPoints : (0..<pointCount).map { _ in PointState(metricNames: metricNames) }
        self.pointCount = pointCount
        self.nextTrial = nextTrial
    }

    /// Files one point's run; returns the trial's runs in point order once its last point is in.
    mutating func finish(_ run: TrialRun, trial t: Int) -> [TrialRun]? {
        if pointCount == 1 {
            pending[t] = [run]
            return [run]
        }
        var entry = partialTrials.removeValue(forKey: t) ?? ([TrialRun?](repeating: nil, count: pointCount), 0)
        entry.slots[run.point] = run
        entry.filled += 1
        guard entry.filled == pointCount else { partialTrials[t] = entry; return nil }
        let runs = entry.slots.map { $0! }
        pending[t] = runs
        return runs
    }

    mutating func flush(into sink: (any TrialSink)?) {
        while let runs = pending.removeValue(forKey: nextTrial) {
            write(runs, sink)
            nextTrial += 1
        }
    }

    /// After a stop: the complete trials still waiting, in trial order; a trial done at only some points is
    /// left out, as it is of the statistics.
    mutating func flushAll(into sink: (any TrialSink)?) {
        for t in pending.keys.sorted() { write(pending[t]!, sink) }
        pending.removeAll()
        partialTrials.removeAll()
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
