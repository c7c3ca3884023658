import Foundation
import Procedures
import Testing
@testable import ScenarioKit

/// Input validation accepts nothing that later crashes a conversion or asks for unbounded memory: the
/// crashes found by fuzzing the loader, each as a scenario that must now give a diagnostic.
@Suite struct BoundsTests {
    func messages(_ text: String) -> [String] { diagnostics(text).map { "\($0.path): \($0.message)" } }

    @Test func fractionsOfSecondsFollowTheGrammar() {
        #expect(UTCDate.parse("2026-01-01T00:00:00.25Z") == UTCDate.parse("2026-01-01")! + 0.25)
        #expect(UTCDate.parse("2026-01-01T00:00:00.123456789Z") == UTCDate.parse("2026-01-01")! + 0.123456789)
        for bad in ["2026-01-01T00:00:00.9e9Z", "2026-01-01T00:00:00.5e400Z", "2026-01-01T00:00:00.Z",
                    "2026-01-01T00:00:00.+5Z", "2026-01-01T00:00:00.1234567890Z", "2026-01-01T00:00:00.0x1Z"] {
            #expect(UTCDate.parse(bad) == nil, "\(bad)")
        }
        let d = messages(valid.replacingOccurrences(of: "epoch: 2026-03-01T23:15:00Z", with: "epoch: 2026-01-01T00:00:00.9e9Z"))
        #expect(d.count == 1 && d[0].hasPrefix("epoch: expected a UTC date"), "\(d)")
        // Printing a date far outside the calendar does not trap.
        #expect(UTCDate.format(1e300) == "1e+300 s after 1970-01-01")
    }

    @Test func integersBeyondTheirRangeAreReportedNotConverted() {
        let d = messages(valid.replacingOccurrences(of: "      from: 10\n      to: 30", with: "      from: 9223372036854775000\n      to: 9223372036854775807"))
        #expect(d.contains { $0.contains("9223372036854775000 is out of range; allowed: 1 to 100") }, "\(d)")
    }

    @Test func countsAndDurationsWithoutADocumentedMaximumStillHaveOne() {
        let d = messages(valid.replacingOccurrences(of: "warmup: 45 min", with: "warmup: 1e300 s"))
        #expect(d.count == 1 && d[0].contains("out of range; allowed: 0 s to 1000000000 s (Obsim's bound"), "\(d)")
        let list = messages(valid.replacingOccurrences(of: "exposures: [1 s, 500 ms, 0.5 min]", with: "exposures: [1 s, 1e300 s]"))
        #expect(list.count == 1 && list[0].hasPrefix("parameters.exposures"), "\(list)")
    }

    @Test func sweepsAreBoundedBeforeAnyPointIsBuilt() {
        let firstAxis = "    - parameter: parameters.n_flat\n      from: 10\n      to: 30\n      step: 10"
        // A step so small the count exceeds Int: a diagnostic, not a trap.
        let tiny = messages(valid.replacingOccurrences(of: firstAxis, with: "    - parameter: parameters.warmup\n      from: 0 s\n      to: 1000 s\n      step: 1e-300 s"))
        #expect(tiny.contains { $0.hasPrefix("study.sweep[0].step: gives 1e+303 points; at most 10000") }, "\(tiny)")
        // Two axes of 10,000 each: 10^8 points in all.
        let wide = valid
            .replacingOccurrences(of: firstAxis, with: "    - parameter: parameters.warmup\n      from: 0 s\n      to: 9999 s\n      step: 1 s")
            .replacingOccurrences(of: "    - parameter: parameters.filter\n      values: [L', Br-alpha]",
                                  with: "    - parameter: parameters.temperature\n      from: 250 K\n      to: 1249.9 K\n      step: 0.1 K")
        let w = messages(wide)
        #expect(w.contains { $0.hasPrefix("study.sweep: gives 100000000 sweep points in all; at most 10000") }, "\(w)")
        let runs = messages(valid.replacingOccurrences(of: "trials: 50", with: "trials: 999999999999"))
        #expect(runs.contains { $0.hasPrefix("study.trials: 999999999999 trials × 6 sweep points") }, "\(runs)")
    }
}
