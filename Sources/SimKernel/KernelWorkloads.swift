import CGSL

/// The two seeded workloads of the kernel benchmark, defined so that an independent SimPy program (not
/// part of this repository; `tools/bench-vs-simpy.sh` runs it when given) reproduces them bit for bit: stream `s` is
/// `gsl_rng_alloc(gsl_rng_mt19937)` + `gsl_rng_set(r, s)`, an exponential of mean `m` is
/// `gsl_ran_exponential(r, m)`.
public enum KernelWorkloads {
    public struct TimeoutResult: Sendable {
        public let processes: Int
        public let until: Double
        public let seed: UInt
        public let events: Int
        public let checksum: Double
        public let wallSeconds: Double
    }

    /// `processes` processes; process i owns stream `seed + i`; each loops
    /// `d = Exp(1); timeout(d); events += 1; checksum += now` until the run stops at `until`.
    public static func timeout(processes: Int, until: Double, seed: UInt) throws -> TimeoutResult {
        let sim = Simulation(seed: UInt64(seed))
        sim.recordsSteps = false
        var events = 0
        var checksum = 0.0
        let counter = UncheckedSendableBox(Counter())
        for i in 0..<processes {
            let stream = RandomStream(gslSeed: seed + UInt(i))
            sim.process("p\(i)") {
                let c = counter.value
                while true {
                    try await sim.timeout(gsl_ran_exponential(stream.rng, 1.0))
                    c.events += 1
                    c.checksum += sim.now
                }
            }
        }
        let t0 = MonotonicClock.now()
        try sim.run(until: until)
        let wall = MonotonicClock.seconds(since: t0)
        sim.shutDown()
        events = counter.value.events
        checksum = counter.value.checksum
        return TimeoutResult(processes: processes, until: until, seed: seed, events: events,
                             checksum: checksum, wallSeconds: wall)
    }

    /// The timeout workload's event count without a kernel: the partial sums of each stream below `until`.
    public static func expectedTimeoutEvents(processes: Int, until: Double, seed: UInt) -> Int {
        var total = 0
        for i in 0..<processes {
            let stream = RandomStream(gslSeed: seed + UInt(i))
            var t = 0.0
            while true {
                t += gsl_ran_exponential(stream.rng, 1.0)
                if t >= until { break }
                total += 1
            }
        }
        return total
    }

    public struct MMcResult: Sendable {
        public let servers: Int
        public let arrivalRate: Double
        public let serviceRate: Double
        public let customers: Int
        public let seed: UInt
        public let meanWait: Double
        public let sumWait: Double
        /// Batch means of the waits (20 batches, in service-start order).
        public let batchMeans: [Double]
        public let erlangCWait: Double
        public let wallSeconds: Double

        /// Half-width of the 95% confidence interval of the mean wait from the batch means (Student t).
        public var ci95HalfWidth: Double {
            let n = batchMeans.count
            let m = batchMeans.reduce(0, +) / Double(n)
            let v = batchMeans.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(n - 1)
            return gsl_cdf_tdist_Pinv(0.975, Double(n - 1)) * (v / Double(n)).squareRoot()
        }
    }

    /// M/M/c with FIFO servers: one stream `seed`; for each customer k the source draws
    /// `ia = Exp(1/λ)` then `svc = Exp(1/μ)`, waits `ia`, starts customer k, which requests a server,
    /// records `wait = start − arrival` (summed in service-start order), holds `svc`, releases.
    public static func mmc(servers: Int, arrivalRate: Double, serviceRate: Double, customers: Int,
                           seed: UInt, batches: Int = 20) throws -> MMcResult {
        let sim = Simulation(seed: UInt64(seed))
        sim.recordsSteps = false
        let stream = RandomStream(gslSeed: seed)
        let desk = Resource(sim, name: "servers", capacity: servers)
        let log = UncheckedSendableBox(WaitLog(capacity: customers))
        sim.process("source") {
            for k in 0..<customers {
                let ia = gsl_ran_exponential(stream.rng, 1.0 / arrivalRate)
                let svc = gsl_ran_exponential(stream.rng, 1.0 / serviceRate)
                try await sim.timeout(ia)
                sim.process("c\(k)") {
                    let arrival = sim.now
                    let g = try await desk.request()
                    log.value.waits.append(sim.now - arrival)
                    try await sim.timeout(svc)
                    desk.release(g)
                }
            }
        }
        let t0 = MonotonicClock.now()
        try sim.run()
        let wall = MonotonicClock.seconds(since: t0)
        sim.shutDown()
        let waits = log.value.waits
        var total = 0.0
        for w in waits { total += w }
        let size = waits.count / batches
        let means = (0..<batches).map { b in waits[(b * size)..<((b + 1) * size)].reduce(0, +) / Double(size) }
        return MMcResult(servers: servers, arrivalRate: arrivalRate, serviceRate: serviceRate,
                         customers: waits.count, seed: seed, meanWait: total / Double(waits.count),
                         sumWait: total, batchMeans: means,
                         erlangCWait: erlangCWait(servers: servers, arrivalRate: arrivalRate, serviceRate: serviceRate),
                         wallSeconds: wall)
    }

    /// Mean wait in queue of M/M/c (Erlang C): W_q = C(c, a) / (cμ − λ), a = λ/μ.
    public static func erlangCWait(servers c: Int, arrivalRate lam: Double, serviceRate mu: Double) -> Double {
        let a = lam / mu
        let rho = a / Double(c)
        precondition(rho < 1, "M/M/c is unstable for λ ≥ cμ")
        var term = 1.0
        var sum = 0.0
        for k in 0..<c {
            if k > 0 { term *= a / Double(k) }
            sum += term
        }
        let tail = term * a / Double(c) / (1 - rho)
        let pWait = tail / (sum + tail)
        return pWait / (Double(c) * mu - lam)
    }

    final class Counter {
        var events = 0
        var checksum = 0.0
    }

    final class WaitLog {
        var waits: [Double]
        init(capacity: Int) { waits = []; waits.reserveCapacity(capacity) }
    }
}

/// Wall-clock timing for benchmarks and progress reports (never for simulated time).
public enum MonotonicClock {
    public static func now() -> UInt64 { DispatchTimeShim.nanoseconds() }
    public static func seconds(since start: UInt64) -> Double { Double(now() &- start) / 1e9 }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

enum DispatchTimeShim {
    static func nanoseconds() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }
}
