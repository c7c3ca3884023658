import ArgumentParser
import Experiments
import Foundation
import Procedures
import ScenarioKit

/// The fixed study workloads `obsim bench study` times: committed scenarios with the trial count and
/// detector fidelity pinned, so a figure measured today compares with one measured after a change.
enum StudyWorkload: String, ExpressibleByArgument, CaseIterable {
    case latissTiming = "latiss-timing"
    case latissROI = "latiss-roi-statistics"
    case twilightSweep = "twilight-sweep"
    case metisPixels = "metis-pixels"

    var scenarioFile: String {
        switch self {
        case .latissTiming, .latissROI: return "latiss-weekly.yaml"
        case .twilightSweep: return "twilight-feasibility-year.yaml"
        case .metisPixels: return "metis-internal-flat.yaml"
        }
    }

    var fidelity: DetectorFidelity {
        switch self {
        case .latissTiming: return .timing
        case .latissROI, .twilightSweep: return .roiStatistics
        case .metisPixels: return .roiPixels
        }
    }

    /// Trials per sweep point in one round at --scale 1: about a CPU-second each on this project's
    /// 2-core machine, so that rounds can interleave.
    var trialsPerPoint: Int {
        switch self {
        case .latissTiming: return 2000
        case .latissROI: return 1000
        case .twilightSweep: return 2      // × 338 sweep points (26 dates × 13 start offsets)
        case .metisPixels: return 4        // × 6 sweep points of SEQ NEXPO
        }
    }
}

struct BenchStudy: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "study",
        abstract: "Trials per CPU-second of fixed study workloads (medians of interleaved rounds).",
        discussion: """
        Workloads: latiss-timing and latiss-roi-statistics (Scenarios/latiss-weekly.yaml at detector timing and \
        roi-statistics), twilight-sweep (Scenarios/twilight-feasibility-year.yaml, 338 sweep points), \
        metis-pixels (Scenarios/metis-internal-flat.yaml at roi-pixels). Each round runs every selected workload \
        once, in order, so a background load spreads over all of them; CPU time is getrusage(RUSAGE_SELF) user + \
        system around the study, which excludes time the process was not scheduled. `checksum` is the pooled \
        mean of duration_s as a hexadecimal float: two binaries that simulate the same thing print the same one. \
        Instructions per trial: see tools/instructions-per-trial.sh (callgrind on a debug-stripped copy of the \
        release binary). Build with -c release for real figures.
        """
    )

    @Option(parsing: .upToNextOption, help: "Workloads (default all): \(StudyWorkload.allCases.map(\.rawValue).joined(separator: ", ")).")
    var workload: [StudyWorkload] = StudyWorkload.allCases
    @Option(parsing: .unconditional, help: "Interleaved rounds; the median is reported (>= 1).", transform: Parse.int(min: 1))
    var rounds: Int = 3
    @Option(parsing: .unconditional, help: "Multiplies every workload's trial count (>= 1).", transform: Parse.int(min: 1))
    var scale: Int = 1
    @Option(parsing: .unconditional, help: "Trials per sweep point, overriding the workload's own count (>= 1).", transform: Parse.int(min: 1))
    var trials: Int?
    @Option(parsing: .unconditional, help: "Worker threads (>= 1).", transform: Parse.int(min: 1)) var threads: Int = 1
    @Option(name: .customLong("scenarios"), help: "Folder holding the committed scenarios.") var scenarios: String = "Scenarios"
    @Flag(help: "Print one JSON object per workload and round, then one per workload with the medians.") var json = false

    func run() throws {
        var loaded: [(StudyWorkload, Scenario)] = []
        for w in workload {
            var s = try loadScenario((scenarios as NSString).appendingPathComponent(w.scenarioFile))
            s.study.fidelity = w.fidelity
            s.study.trials = trials ?? w.trialsPerPoint * scale
            loaded.append((w, s))
        }
        var rates: [StudyWorkload: [Double]] = [:], walls: [StudyWorkload: [Double]] = [:]
        var checksums: [StudyWorkload: String] = [:]
        for round in 0..<rounds {
            for (w, s) in loaded {
                let trialCount = s.study.trials * s.sweepPoints.count
                let cpu0 = processCPUSeconds(), wall0 = DispatchTime.now().uptimeNanoseconds
                let state = try StudyRunner.run(s, options: RunOptions(threads: threads, trialRange: 0..<s.study.trials))
                let cpu = processCPUSeconds() - cpu0
                let wall = Double(DispatchTime.now().uptimeNanoseconds - wall0) / 1e9
                let rate = Double(trialCount) / cpu
                let checksum = hexFloat(state.pooled.metrics["duration_s"]?.mean ?? .nan)
                rates[w, default: []].append(rate)
                walls[w, default: []].append(wall)
                checksums[w] = checksum
                if json {
                    print(JSONLine([("workload", .string(w.rawValue)), ("round", .int(round)), ("trials", .int(trialCount)),
                                    ("threads", .int(threads)), ("cpu_s", .double(cpu)), ("wall_s", .double(wall)),
                                    ("trials_per_cpu_s", .double(rate)), ("checksum_hex", .string(checksum))]).text)
                }
            }
        }
        for (w, s) in loaded {
            let r = median(rates[w]!), wall = median(walls[w]!)
            let trialCount = s.study.trials * s.sweepPoints.count
            if json {
                print(JSONLine([("workload", .string(w.rawValue)), ("rounds", .int(rounds)), ("trials", .int(trialCount)),
                                ("threads", .int(threads)), ("median_trials_per_cpu_s", .double(r)),
                                ("median_trials_per_wall_s", .double(Double(trialCount) / wall)),
                                ("checksum_hex", .string(checksums[w]!))]).text)
            } else {
                print(w.rawValue.padding(toLength: 22, withPad: " ", startingAt: 0) + String(format: " %6d trials × %d rounds, %d thread(s): %9.1f trials/CPU-s, %9.1f trials/wall-s (median), checksum %@",
                             trialCount, rounds, threads, r, Double(trialCount) / wall, checksums[w]!))
            }
        }
    }

    func median(_ v: [Double]) -> Double {
        let s = v.sorted()
        return s.count % 2 == 1 ? s[s.count / 2] : 0.5 * (s[s.count / 2 - 1] + s[s.count / 2])
    }
}

/// User + system CPU seconds of this process so far (getrusage).
func processCPUSeconds() -> Double {
    var u = rusage()
    #if os(Linux)
    getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &u)
    #else
    getrusage(RUSAGE_SELF, &u)
    #endif
    func s(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
    return s(u.ru_utime) + s(u.ru_stime)
}
