import ArgumentParser
import Foundation
import SimKernel

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Benchmarks, measured in this process (build with -c release for real figures).",
        subcommands: [BenchKernel.self, BenchDetector.self, BenchStudy.self]
    )
}

enum KernelWorkload: String, ExpressibleByArgument, CaseIterable {
    case timeout, mmc
}

struct BenchKernel: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kernel",
        abstract: "Kernel throughput on the seeded timeout or M/M/c workload (cross-checked against SimPy).",
        discussion: """
        timeout: N processes, process i drawing Exp(1) delays from GSL mt19937 stream seed+i, until time T.
        mmc: an M/M/c queue fed from one stream; its mean wait is compared with the Erlang-C formula.
        `*_hex` fields are C99 hexadecimal floats, for an exact comparison with the SimPy reference.
        """
    )

    @Option(help: "Workload: \(KernelWorkload.allCases.map(\.rawValue).joined(separator: ", ")).")
    var workload: KernelWorkload = .timeout
    @Option(parsing: .unconditional, help: "timeout: number of processes (>= 1).", transform: Parse.int(min: 1)) var processes: Int = 1000
    @Option(parsing: .unconditional, help: "timeout: simulated time limit in seconds (> 0).", transform: Parse.double(min: 0, exclusiveMin: true)) var until: Double = 2000
    @Option(parsing: .unconditional, help: "Master seed (>= 0).", transform: Parse.int(min: 0)) var seed: Int = 1
    @Option(parsing: .unconditional, help: "mmc: number of servers c (>= 1).", transform: Parse.int(min: 1)) var servers: Int = 3
    @Option(name: .customLong("arrival-rate"), parsing: .unconditional, help: "mmc: arrival rate λ per second (> 0, < c·μ).",
            transform: Parse.double(min: 0, exclusiveMin: true)) var arrivalRate: Double = 2.4
    @Option(name: .customLong("service-rate"), parsing: .unconditional, help: "mmc: service rate μ per second (> 0).",
            transform: Parse.double(min: 0, exclusiveMin: true)) var serviceRate: Double = 1.0
    @Option(parsing: .unconditional, help: "mmc: number of customers (>= 20).", transform: Parse.int(min: 20)) var customers: Int = 200_000
    @Option(parsing: .unconditional, help: "Repeat the measurement this many times and report the median rate (>= 1).", transform: Parse.int(min: 1)) var runs: Int = 1
    @Flag(help: "Print one JSON object per run.") var json = false

    func validate() throws {
        if arrivalRate >= Double(servers) * serviceRate {
            throw ValidationError("--arrival-rate \(arrivalRate) must be below servers × service-rate = \(Double(servers) * serviceRate) for a stable queue")
        }
    }

    func run() throws {
        var rates: [Double] = []
        for _ in 0..<runs {
            switch workload {
            case .timeout:
                let r = try KernelWorkloads.timeout(processes: processes, until: until, seed: UInt(seed))
                let rate = Double(r.events) / r.wallSeconds
                rates.append(rate)
                if json {
                    print(JSONLine([
                        ("workload", .string("timeout")), ("processes", .int(r.processes)), ("until", .double(r.until)),
                        ("seed", .int(Int(r.seed))), ("events", .int(r.events)), ("checksum_hex", .string(hexFloat(r.checksum))),
                        ("wall_s", .double(r.wallSeconds)), ("events_per_s", .double(rate)),
                    ]).text)
                } else {
                    print(String(format: "timeout: %d processes until t=%g: %d events, checksum %@, %.3f s wall, %.3g events/s",
                                 r.processes, r.until, r.events, hexFloat(r.checksum), r.wallSeconds, rate))
                }
            case .mmc:
                let r = try KernelWorkloads.mmc(servers: servers, arrivalRate: arrivalRate, serviceRate: serviceRate,
                                                customers: customers, seed: UInt(seed))
                let rate = Double(r.customers) / r.wallSeconds
                rates.append(rate)
                if json {
                    print(JSONLine([
                        ("workload", .string("mmc")), ("servers", .int(r.servers)), ("arrival_rate", .double(r.arrivalRate)),
                        ("service_rate", .double(r.serviceRate)), ("customers", .int(r.customers)), ("seed", .int(Int(r.seed))),
                        ("mean_wait", .double(r.meanWait)), ("sum_wait_hex", .string(hexFloat(r.sumWait))),
                        ("ci95_halfwidth", .double(r.ci95HalfWidth)), ("erlang_c_wait", .double(r.erlangCWait)),
                        ("wall_s", .double(r.wallSeconds)), ("customers_per_s", .double(rate)),
                    ]).text)
                } else {
                    print(String(format: "mmc: c=%d λ=%g μ=%g, %d customers: mean wait %.5f ± %.5f (95%%), Erlang C %.5f; %.3f s wall, %.3g customers/s",
                                 r.servers, r.arrivalRate, r.serviceRate, r.customers, r.meanWait, r.ci95HalfWidth,
                                 r.erlangCWait, r.wallSeconds, rate))
                }
            }
        }
        if runs > 1 {
            let median = rates.sorted()[rates.count / 2]
            let key = workload == .timeout ? "events_per_s" : "customers_per_s"
            if json {
                print(JSONLine([("median_" + key, .double(median)), ("runs", .int(runs))]).text)
            } else {
                print(String(format: "median of %d runs: %.4g %@", runs, median, key.replacingOccurrences(of: "_per_s", with: "/s")))
            }
        }
    }
}

/// C99 `%a` text of a double, exact and comparable with Python's `float.hex()` after parsing.
func hexFloat(_ x: Double) -> String { String(format: "%a", x) }

/// A one-line JSON object with fields in the given order.
struct JSONLine {
    enum Value { case string(String), int(Int), double(Double), bool(Bool) }
    let text: String
    init(_ fields: [(String, Value)]) {
        let parts = fields.map { k, v -> String in
            let value: String
            switch v {
            case .string(let s): value = "\"" + s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
            case .int(let i): value = String(i)
            case .double(let d): value = d.isFinite ? "\(d)" : "null"
            case .bool(let b): value = b ? "true" : "false"
            }
            return "\"\(k)\": \(value)"
        }
        text = "{" + parts.joined(separator: ", ") + "}"
    }
}
