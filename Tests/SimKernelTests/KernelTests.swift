import Testing
@testable import SimKernel
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Mutable state the test processes write into (one thread: the simulation's).
final class Log<T>: @unchecked Sendable {
    var items: [T] = []
    func add(_ x: T) { items.append(x) }
}

@Suite struct KernelWorkloadTests {
    @Test func timeoutEventCountEqualsKernelFreeCount() throws {
        let r = try KernelWorkloads.timeout(processes: 50, until: 200, seed: 1)
        #expect(r.events == KernelWorkloads.expectedTimeoutEvents(processes: 50, until: 200, seed: 1))
        #expect(r.events > 9_000)  // 50 × 200 expected, minus the last partial interval of each
    }

    @Test func twoRunsGiveIdenticalChecksums() throws {
        let a = try KernelWorkloads.timeout(processes: 20, until: 100, seed: 7)
        let b = try KernelWorkloads.timeout(processes: 20, until: 100, seed: 7)
        #expect(a.checksum.bitPattern == b.checksum.bitPattern)
        #expect(a.events == b.events)
        let c = try KernelWorkloads.timeout(processes: 20, until: 100, seed: 8)
        #expect(c.checksum.bitPattern != a.checksum.bitPattern)
    }

    @Test func smallTimeoutRunMatchesSimPyReference() throws {
        // simpy_bench.py timeout --n 10 --T 100 --seed 1 printed events 1026, checksum 0x1.8f23fe1bca4b7p+15.
        let r = try KernelWorkloads.timeout(processes: 10, until: 100, seed: 1)
        #expect(r.events == 1026)
        #expect(r.checksum == Double("0x1.8f23fe1bca4b7p+15")!)
    }

    @Test func mmcMeanWaitAgreesWithErlangC() throws {
        // The batch-means interval is the run's own 95% interval for the mean wait; Erlang C is exact.
        let r = try KernelWorkloads.mmc(servers: 3, arrivalRate: 2.4, serviceRate: 1.0, customers: 60_000, seed: 1)
        #expect(r.customers == 60_000)
        #expect(abs(r.meanWait - r.erlangCWait) <= r.ci95HalfWidth)
        #expect(abs(KernelWorkloads.erlangCWait(servers: 3, arrivalRate: 2.4, serviceRate: 1) - 1.0786516853932584) < 1e-12)
        // M/M/1 check of the formula itself: W_q = ρ/(μ − λ).
        #expect(abs(KernelWorkloads.erlangCWait(servers: 1, arrivalRate: 0.5, serviceRate: 1) - 1.0) < 1e-12)
    }
}

@Suite struct OrderingTests {
    @Test func equalTimesRunFirstInFirstOut() throws {
        let sim = Simulation()
        let log = Log<String>()
        for name in ["a", "b", "c", "d"] {
            sim.process(name) { try await sim.timeout(5); log.add(name) }
        }
        sim.process("e") { try await sim.timeout(2); try await sim.timeout(3); log.add("e") }
        try sim.run()
        #expect(log.items == ["a", "b", "c", "d", "e"])
        #expect(sim.now == 5)
    }

    @Test func runUntilNeverExecutesAtOrAfterTheLimit() throws {
        let sim = Simulation()
        let log = Log<Double>()
        sim.process("p") {
            for d in [1.0, 2.0, 3.0] { try await sim.timeout(d); log.add(sim.now) }
        }
        try sim.run(until: 3)  // wake-ups at 1, 3, 6: the one at exactly 3 must not run
        #expect(log.items == [1])
        #expect(sim.now == 3)
        try sim.run(until: 3.5)
        #expect(log.items == [1, 3])
        try sim.run()
        #expect(log.items == [1, 3, 6])
    }

    @Test func processesStartInCreationOrderBeforeLaterEvents() throws {
        let sim = Simulation()
        let log = Log<String>()
        sim.process("parent") {
            log.add("parent")
            sim.process("child1") { log.add("child1") }
            sim.process("child2") { log.add("child2") }
            try await sim.timeout(0)
            log.add("parent after timeout(0)")
        }
        try sim.run()
        #expect(log.items == ["parent", "child1", "child2", "parent after timeout(0)"])
    }

    @Test func negativeDelayIsAnError() throws {
        let sim = Simulation()
        let log = Log<String>()
        sim.process("p") {
            do { try await sim.timeout(-1) } catch let e as KernelMisuse { log.add(e.description) }
        }
        try sim.run()
        #expect(log.items.count == 1)
    }

    /// wait(until:) wakes at the instant itself: 0.2 + (0.9 − 0.2) is not 0.9 in doubles, so a
    /// span cut into parts (an image's overhead, exposure, readout) could otherwise end an ulp off the uncut one.
    @Test func waitUntilWakesAtTheInstantItself() throws {
        let sim = Simulation()
        let log = Log<Double>()
        sim.process("p") {
            try await sim.timeout(0.2)
            try await sim.wait(until: 0.9)
            log.add(sim.now)
            try await sim.wait(until: 0.5)
            log.add(sim.now)
        }
        try sim.run()
        #expect(0.2 + (0.9 - 0.2) != 0.9)
        #expect(log.items == [0.9, 0.9])
    }
}

@Suite struct InterruptTests {
    @Test func interruptIsThrownAtTheSuspensionPointAndCancelsTheTimeout() throws {
        let sim = Simulation()
        let log = Log<String>()
        let sleeper = sim.process("sleeper") {
            do {
                try await sim.timeout(100)
                log.add("woke normally")
            } catch let e as Interrupted {
                log.add("interrupted at \(sim.now): \(e.cause)")
            }
            try await sim.timeout(1)
            log.add("done at \(sim.now)")
        }
        sim.process("waker") {
            try await sim.timeout(10)
            sim.interrupt(sleeper, reason: "dome fault")
        }
        try sim.run()
        #expect(log.items == ["interrupted at 10.0: dome fault", "done at 11.0"])
        // The withdrawn 100 s timeout never resumed anyone: the clock stopped at 11, not 100.
        #expect(sim.now == 11)
    }

    @Test func interruptWithdrawsAQueuedResourceRequest() throws {
        let sim = Simulation()
        let wheel = Resource(sim, name: "filter wheel")
        let log = Log<String>()
        sim.process("holder") {
            try await wheel.using { try await sim.timeout(10) }
        }
        let waiter = sim.process("waiter") {
            try await sim.timeout(1)
            do { _ = try await wheel.request() } catch is Interrupted { log.add("gave up at \(sim.now)") }
        }
        sim.process("interrupter") {
            try await sim.timeout(5)
            #expect(wheel.queueLength == 1)
            sim.interrupt(waiter, reason: "operator abort")
            try await sim.timeout(0)
            #expect(wheel.queueLength == 0)
        }
        sim.process("latecomer") {
            try await sim.timeout(12)
            _ = try await wheel.request()  // free at once: nothing leaked
            log.add("latecomer granted at \(sim.now)")
        }
        try sim.run()
        #expect(log.items == ["gave up at 5.0", "latecomer granted at 12.0"])
    }

    @Test func interruptReleasesAGrantTheProcessHadNotSeenYet() throws {
        let sim = Simulation()
        let dome = Resource(sim, name: "ATDome")
        let log = Log<String>()
        let b = Log<SimProcess<Void>>()
        sim.process("A") {
            let g = try await dome.request()
            try await sim.timeout(10)
            dome.release(g)  // grants B, whose resumption is scheduled at t = 10 ...
            sim.interrupt(b.items[0], reason: "cancelled")  // ... but B is interrupted first:
            #expect(dome.inUse == 0)                        // the grant B never saw is released at once.
            try await sim.timeout(0)
            log.add("released at \(sim.now)")
        }
        b.add(sim.process("B") {
            try await sim.timeout(1)
            do { _ = try await dome.request(); log.add("B got the dome") } catch is Interrupted { log.add("B interrupted at \(sim.now)") }
        })
        try sim.run()
        #expect(log.items == ["B interrupted at 10.0", "released at 10.0"])
    }

    @Test func interruptOfARunningProcessArrivesAtItsNextSuspension() throws {
        let sim = Simulation()
        let log = Log<String>()
        let me = Log<ProcessCore>()
        let p = sim.process("self-interrupting") {
            sim.interrupt(me.items[0], .reason("now"))
            log.add("still running")
            do { try await sim.timeout(5) } catch let e as Interrupted { log.add("\(e.cause) at \(sim.now)") }
        }
        me.add(p.core)
        try sim.run()
        #expect(log.items == ["still running", "now at 0.0"])
    }

    @Test func interruptingAFinishedProcessDoesNothing() throws {
        let sim = Simulation()
        let p = sim.process("short") { try await sim.timeout(1) }
        sim.process("late") { try await sim.timeout(2); sim.interrupt(p, reason: "too late") }
        try sim.run()
        #expect(p.isFinished)
    }
}

@Suite struct ResourceTests {
    @Test func priorityRequestsAreServedInPriorityThenFIFOOrder() throws {
        let sim = Simulation()
        let detector = Resource(sim, name: "detector")
        let log = Log<String>()
        sim.process("holder") { try await detector.using { try await sim.timeout(10) } }
        for (name, priority) in [("low1", 5), ("high", 0), ("low2", 5), ("mid", 2)] {
            sim.process(name) {
                try await sim.timeout(1)
                try await detector.using(priority: priority) { log.add(name); try await sim.timeout(1) }
            }
        }
        try sim.run()
        #expect(log.items == ["high", "mid", "low1", "low2"])
        #expect(sim.now == 14)
    }

    @Test func capacityIsRespected() throws {
        let sim = Simulation()
        let servers = Resource(sim, name: "servers", capacity: 2)
        let log = Log<Double>()
        for k in 0..<5 {
            sim.process("c\(k)") { try await servers.using { log.add(sim.now); try await sim.timeout(3) } }
        }
        try sim.run()
        #expect(log.items == [0, 0, 3, 3, 6])
    }

    @Test func preemptionInterruptsTheHolderAndTellsItWhy() throws {
        let sim = Simulation()
        let mount = Resource(sim, name: "ATMount", preemptive: true)
        let log = Log<String>()
        sim.process("calibration") {
            let g = try await mount.request(priority: 5)
            do {
                try await sim.timeout(100)
                log.add("calibration finished")
            } catch let e as Interrupted {
                if case .preempted(let res, let by, let since) = e.cause {
                    log.add("preempted from \(res) by \(by) at \(sim.now), held since \(since)")
                }
            }
            mount.release(g)  // no longer held: does nothing
            #expect(mount.inUse == 1)
        }
        sim.process("target of opportunity") {
            try await sim.timeout(30)
            try await mount.using(priority: 0, preempt: true) {
                log.add("ToO got the mount at \(sim.now)")
                try await sim.timeout(10)
            }
        }
        try sim.run()
        #expect(log.items == ["ToO got the mount at 30.0", "preempted from ATMount by target of opportunity at 30.0, held since 0.0"])
        #expect(mount.inUse == 0)
    }

    @Test func equalPriorityDoesNotPreempt() throws {
        let sim = Simulation()
        let mount = Resource(sim, name: "ATMount", preemptive: true)
        let log = Log<Double>()
        sim.process("first") { try await mount.using(priority: 1) { try await sim.timeout(10) } }
        sim.process("second") {
            try await sim.timeout(1)
            try await mount.using(priority: 1, preempt: true) { log.add(sim.now) }
        }
        try sim.run()
        #expect(log.items == [10])
    }
}

@Suite struct SignalTests {
    @Test func waitersResumeWithTheValueInWaitingOrder() throws {
        let sim = Simulation()
        let ready = Signal<Double>(sim, name: "WCU ready")
        let log = Log<String>()
        for n in ["x", "y"] {
            sim.process(n) { let v = try await ready.wait(); log.add("\(n) \(v) at \(sim.now)") }
        }
        sim.process("heater") { try await sim.timeout(2700); ready.succeed(900) }
        try sim.run()
        #expect(log.items == ["x 900.0 at 2700.0", "y 900.0 at 2700.0"])
    }

    struct LampFault: Error, Equatable {}

    @Test func failureIsThrownToWaiters() throws {
        let sim = Simulation()
        let lamp = Signal<Void>(sim, name: "lamp on")
        let log = Log<String>()
        sim.process("w") {
            do { try await lamp.wait() } catch is LampFault { log.add("fault at \(sim.now)") }
        }
        sim.process("lamp") { try await sim.timeout(20); lamp.fail(LampFault()) }
        try sim.run()
        #expect(log.items == ["fault at 20.0"])
    }

    @Test func anyOfGivesTheFirstAndAllOfWaitsForAll() throws {
        let sim = Simulation()
        let log = Log<String>()
        sim.process("p") {
            let a = sim.timeoutSignal(30), b = sim.timeoutSignal(20), c = sim.timeoutSignal(25)
            let first = try await sim.anyOf([a, b, c]).wait()
            log.add("first \(first) at \(sim.now)")
            try await sim.allOf([a, b, c]).wait()
            log.add("all at \(sim.now)")
            try await sim.allOf([]).wait()
            log.add("empty at \(sim.now)")
        }
        try sim.run()
        #expect(log.items == ["first 1 at 20.0", "all at 30.0", "empty at 30.0"])
    }

    @Test func awaitingAProcessGivesItsResult() throws {
        let sim = Simulation()
        let log = Log<Int>()
        sim.process("parent") {
            let a = sim.process("a") { try await sim.timeout(3); return 3 }
            let b = sim.process("b") { try await sim.timeout(5); return 5 }
            let sum = try await a.value() + b.value()
            log.add(sum)
            log.add(Int(sim.now))
        }
        try sim.run()
        #expect(log.items == [8, 5])
    }

    @Test func asyncLetStepsRunInParallelWithinOneProcess() throws {
        let sim = Simulation()
        let log = Log<Double>()
        sim.process("setup") {
            async let warm: Void = sim.timeout(2700)
            async let wheels: Void = sim.timeout(40)
            _ = try await (warm, wheels)
            log.add(sim.now)
        }
        try sim.run()
        #expect(log.items == [2700])
    }
}

@Suite struct LifecycleTests {
    struct Boom: Error {}

    @Test func anUnobservedFailureIsReported() throws {
        let sim = Simulation()
        sim.process("faulty") { try await sim.timeout(1); throw Boom() }
        #expect(throws: UnobservedProcessFailure.self) { try sim.run() }
    }

    @Test func anObservedFailureIsNotReportedTwice() throws {
        let sim = Simulation()
        let log = Log<String>()
        sim.process("parent") {
            let child = sim.process("faulty") { try await sim.timeout(1); throw Boom() }
            do { try await child.value() } catch is Boom { log.add("caught") }
        }
        try sim.run()
        #expect(log.items == ["caught"])
    }

    @Test func shutDownUnwindsWaitingProcesses() throws {
        let sim = Simulation()
        let r = Resource(sim, name: "r")
        let log = Log<String>()
        for k in 0..<3 {
            sim.process("p\(k)") {
                do { try await r.using { try await sim.timeout(1_000) } } catch is SimulationEnded { log.add("ended p\(k)") }
            }
        }
        try sim.run(until: 10)
        #expect(sim.liveProcessCount == 3)
        sim.shutDown()
        #expect(sim.liveProcessCount == 0)
        #expect(log.items.sorted() == ["ended p0", "ended p1", "ended p2"])
    }

    /// A step's parent is the enclosing step of its process; a process started inside a step nests its
    /// outermost steps under that step, even while the spawning process moves on to a sibling step; an
    /// aborted step restores its process's enclosing step.
    @Test func stepsRecordTheirParent() throws {
        let sim = Simulation()
        sim.process("agent") {
            try await sim.step("BLOCK-295", lane: "queue", use: .other) {
                try await sim.step("prepare_for/flat", lane: "mount", use: .other) {
                    let dome = sim.process("dome") { try await sim.step("ATDome to az 3.0", lane: "dome", use: .other) { try await sim.timeout(16) } }
                    try await sim.step("ATMount slew", lane: "mount", use: .other) { try await sim.timeout(39) }
                    try await dome.value()
                }
                _ = try? await sim.step("take_imgtype BIAS", lane: "LATISS", use: .other) { () async throws -> Void in
                    try await sim.timeout(1)
                    throw StepFault()
                }
                try await sim.step("take_imgtype DARK", lane: "LATISS", use: .other) { try await sim.timeout(5) }
            }
            try await sim.step("shutdown", lane: "lamp", use: .other) { try await sim.timeout(900) }
        }
        try sim.run()
        func parent(_ name: String) -> String? { sim.steps.first { $0.name == name }!.parent.map { sim.steps[$0].name } }
        #expect(parent("BLOCK-295") == nil)
        #expect(parent("prepare_for/flat") == "BLOCK-295")
        #expect(parent("ATMount slew") == "prepare_for/flat")
        #expect(parent("ATDome to az 3.0") == "prepare_for/flat")
        #expect(parent("take_imgtype BIAS") == "BLOCK-295")
        #expect(parent("take_imgtype DARK") == "BLOCK-295")
        #expect(parent("shutdown") == nil)
        let dark = sim.steps.firstIndex { $0.name == "take_imgtype DARK" }!
        #expect(StepRecord.path(of: dark, in: sim.steps) == ["BLOCK-295", "take_imgtype DARK"])
    }

    @Test func stepsAndTraceRecordWhatHappened() throws {
        let sim = Simulation()
        sim.trace = Trace()
        sim.process("agent") {
            try await sim.step("power_on_atcalsys", lane: "lamp", use: .other) { try await sim.timeout(900) }
            try await sim.step("prepare_for/flat", lane: "dome", use: .other) { try await sim.timeout(60) }
        }
        try sim.run()
        #expect(sim.steps.map(\.name) == ["power_on_atcalsys", "prepare_for/flat"])
        #expect(sim.steps.map(\.duration) == [900, 60])
        #expect(sim.steps.allSatisfy { $0.completed })
        let actions = sim.trace!.records.map { "\($0.time) \($0.actor) \($0.action)" }
        #expect(actions == ["0.0 lamp begin", "900.0 lamp end", "900.0 dome begin", "960.0 dome end"])
        #expect(sim.trace!.fingerprint() != Trace().fingerprint())
    }
}

private struct StepFault: Error {}

/// The resume path (`Simulation.fire` → continuation → ready queue → `drainReady`): after every wake-up the
/// resumed process is the current one, on the thread that called `run`, with nothing left parked, and a
/// slot freed by an interrupt carries neither its failure nor its old wake-up into its next use.
@Suite struct ResumePathTests {
    @Test func everyResumeRunsTheResumedProcessOnTheRunThreadWithNothingParked() throws {
        let sim = Simulation()
        let log = Log<String>()
        let cores = Log<ProcessCore>()
        // `run` is called below on this thread; every process job must run on it.
        let runThread = pthread_self()
        for k in 0..<3 {
            let p = sim.process("camera\(k)") {
                let me = cores.items[k]
                for step in 0..<4 {
                    // Equal wake-up times across the three processes: FIFO by scheduling order.
                    try await sim.timeout(step == 0 ? Double(k) * 0.25 : 1)
                    let here = pthread_equal(pthread_self(), runThread) != 0
                    log.add("\(sim.now) camera\(k) current=\(sim.currentProcess === me) thread=\(here) parked=\(me.activeSlots.count)")
                }
            }
            cores.add(p.core)
        }
        try sim.run()
        let expected = (0..<4).flatMap { step in
            (0..<3).map { k in "\(Double(k) * 0.25 + Double(step)) camera\(k) current=true thread=true parked=0" }
        }
        #expect(log.items == expected)
        #expect(sim.currentProcess == nil)
    }

    @Test func aSlotFreedByAnInterruptIsReusedWithoutItsFailureOrItsOldWakeUp() throws {
        let sim = Simulation()
        let log = Log<String>()
        let shutter = sim.process("shutter") {
            do { try await sim.timeout(10) } catch is Interrupted { log.add("interrupted at \(sim.now)") }
            // The next wait reuses the freed slot; the stale 10 s entry must not wake it, nor the old failure.
            try await sim.timeout(20)
            log.add("closed at \(sim.now)")
            try await sim.timeout(1)
            log.add("idle at \(sim.now)")
        }
        sim.process("operator") {
            try await sim.timeout(1)
            sim.interrupt(shutter, reason: "abort exposure")
        }
        try sim.run()
        #expect(log.items == ["interrupted at 1.0", "closed at 21.0", "idle at 22.0"])
        #expect(sim.slots.count == sim.freeSlots.count)
    }
}

/// A wait whose wake-up would be the next event continues without suspending (`Simulation.isNextToRun`).
/// It must be indistinguishable from suspending and being resumed: the clock, the order of equal times, the
/// run's limit, processes not yet started and cancellation all behave as on the suspending path.
@Suite struct DirectResumeTests {
    @Test func aLoneProcessNeverSuspendsAndKeepsNoWakeUps() throws {
        let sim = Simulation()
        let log = Log<Double>()
        let scheduled = Log<Int>()
        sim.process("filter wheel") {
            for _ in 0..<10 {
                try await sim.timeout(1.5)
                log.add(sim.now)
                scheduled.add(sim.scheduledCount)
            }
        }
        try sim.run()
        #expect(log.items == (1...10).map { 1.5 * Double($0) })
        #expect(sim.directResumes == 10)
        #expect(scheduled.items.allSatisfy { $0 == 0 })
        #expect(sim.slots.isEmpty)
    }

    @Test func anEqualTimeWakeUpScheduledEarlierStillRunsFirst() throws {
        let sim = Simulation()
        let log = Log<String>()
        sim.process("dome") { try await sim.timeout(1); log.add("dome at \(sim.now)") }
        sim.process("camera") {
            try await sim.timeout(0.5)  // the dome's 1.0 is later: continues at once
            try await sim.timeout(0.5)  // 1.0, equal to the dome's, which was scheduled first
            log.add("camera at \(sim.now)")
        }
        try sim.run()
        #expect(log.items == ["dome at 1.0", "camera at 1.0"])
        #expect(sim.directResumes == 1)
    }

    @Test func aWaitUntilAnEqualTimeScheduledEarlierStillRunsSecond() throws {
        let sim = Simulation()
        let log = Log<String>()
        sim.process("dome") { try await sim.timeout(2); log.add("dome") }
        sim.process("camera") { try await sim.wait(until: 2); log.add("camera") }
        try sim.run()
        #expect(log.items == ["dome", "camera"])
        #expect(sim.directResumes == 0)
    }

    @Test func aWakeUpAtOrPastTheRunLimitWaitsForTheNextRun() throws {
        let sim = Simulation()
        let log = Log<Double>()
        sim.process("shutter") {
            for _ in 0..<3 { try await sim.timeout(2); log.add(sim.now) }
        }
        try sim.run(until: 4)  // the wake-up at 2 continues at once; the one at exactly 4 must not run
        #expect(log.items == [2])
        #expect(sim.now == 4)
        try sim.run()
        #expect(log.items == [2, 4, 6])
        #expect(sim.directResumes == 2)
    }

    @Test func aProcessStartedEarlierButNotYetRunGoesFirst() throws {
        let sim = Simulation()
        let log = Log<String>()
        sim.process("mount") { try await sim.timeout(1); log.add("mount at \(sim.now)") }
        sim.process("dome") { log.add("dome at \(sim.now)") }
        try sim.run()
        #expect(log.items == ["dome at 0.0", "mount at 1.0"])
    }

    @Test func aCancelledStudyStopsBeforeTheNextWakeUp() throws {
        let sim = Simulation()
        let log = Log<Double>()
        sim.isCancelled = { true }
        sim.process("flats") {
            for _ in 0..<1000 { try await sim.timeout(1); log.add(sim.now) }
        }
        #expect(throws: Simulation.SimulationCancelled.self) { try sim.run() }
        #expect(log.items.isEmpty)
        #expect(sim.now == 0)
    }
}
