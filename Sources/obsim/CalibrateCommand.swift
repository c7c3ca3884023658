import ArgumentParser
import Experiments
import Foundation
import Procedures
import Reporting
import ScenarioKit

struct Calibrate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Fit the LATISS control-software timing to observed step durations.",
        discussion: """
        OBSERVED is a CSV with a header: night,step,start,end[,images,exposure] — one row per executed step, \
        the step named as `obsim trace` shows it, start and end in seconds or ISO UTC; image steps \
        (take_imgtype BIAS/DARK/FLAT) need their image count and total exposure seconds (docs/calibrate.md). \
        Writes to --out: calibration.html (fitted values with 95 % intervals, the parameters the data do not \
        constrain, per-step QQ plots and KS tests before and after the fit), calibration.json, and \
        calibrated.yaml — the scenario with the fitted values as instrument keys, which `obsim run` accepts.
        """
    )

    @Argument(help: "The scenario whose timing is calibrated (a LATISS procedure).") var scenario: String
    @Argument(help: "The observed steps, CSV.") var observed: String
    @Option(help: "Report folder (default Reports/<scenario name>-calibration).") var out: String?
    @Option(help: "Simulated durations per observed step in the comparison.", transform: Parse.int(min: 1, max: 100_000))
    var draws: Int = 200
    @Option(help: "Seed of the comparison's simulated durations.", transform: Parse.int(min: 0)) var seed: Int = 1

    func run() throws {
        let s = try loadScenario(scenario)
        guard s.configuration.instrument.values[LATISSTimingKeys.readout] != nil else {
            throw CommandFailure("\(scenario): procedure `\(s.procedureName)` has no LATISS control-software timing (instrument.timing.*) to calibrate")
        }
        let rows: [ObservedStep]
        do {
            rows = try ObservedStepsReader.read(path: observed)
        } catch let e as ScenarioErrors {
            printError(e.description)
            throw CommandFailure("\(observed): \(e.diagnostics.count) problem(s), listed above")
        }
        let base = LATISSTimingKeys.timing(s.configuration.instrument)
        let calibration = TimingCalibration(observed: rows, base: base)
        let result: TimingCalibration.Result
        do { result = try calibration.fit() } catch let e as TimingCalibration.Failure { throw CommandFailure("\(observed): \(e.description)") }

        let fitted = result.estimates.filter(\.constrained).map { (key: $0.key, seconds: $0.value) }
        let baseText = try String(contentsOfFile: scenario, encoding: .utf8)
        let calibrated: String
        do {
            calibrated = try CalibratedScenario.text(base: baseText, file: scenario, values: fitted,
                                                     note: "fitted by obsim calibrate to \((observed as NSString).lastPathComponent)")
        } catch let e as CalibratedScenario.Failure { throw CommandFailure(e.description) }

        let comparisons = StepComparison.all(rows: calibration.rows, before: result.before, after: result.after, draws: draws,
                                             seed: UInt64(seed))
        let folder = out ?? "Reports/\(s.name)-calibration"
        let html = CalibrationReport.html(result: result, comparisons: comparisons, observedFile: observed, scenarioName: s.name,
                                          calibratedScenario: "calibrated.yaml")
        let json = CalibrationReport.json(result: result, comparisons: comparisons, observedFile: observed, scenarioFile: scenario)
        try writeFolder(folder, files: ["calibration.html": html, "calibration.json": json, "calibrated.yaml": calibrated])

        for e in result.estimates {
            if e.constrained, let lo = e.lower95, let hi = e.upper95 {
                print(String(format: "%@ = %.3f s (95 %% %.3f – %.3f), scenario %.3f s", e.key, e.value, lo, hi, e.before))
            } else {
                print("\(e.key): not constrained (\(e.note)); kept at \(CalibratedScenario.format(e.before)) s")
            }
        }
        for c in comparisons {
            print(String(format: "%@: KS p %.4f before, %.4f after (%d observed)", c.step, c.before.ksPValue, c.after.ksPValue, c.before.observedCount))
        }
        print("wrote \(folder)/calibration.html, calibration.json, calibrated.yaml")
    }

    /// Writes the files into a temporary sibling folder and renames it into place, so an existing report
    /// is replaced whole or not at all.
    func writeFolder(_ folder: String, files: [String: String]) throws {
        let fm = FileManager.default
        let target = URL(fileURLWithPath: folder)
        let parent = target.deletingLastPathComponent()
        let temporary = parent.appendingPathComponent(".\(target.lastPathComponent).tmp-\(ProcessInfo.processInfo.processIdentifier)")
        do {
            try fm.createDirectory(at: parent, withIntermediateDirectories: true)
            try? fm.removeItem(at: temporary)
            try fm.createDirectory(at: temporary, withIntermediateDirectories: false)
            for (name, text) in files.sorted(by: { $0.key < $1.key }) {
                try Data(text.utf8).write(to: temporary.appendingPathComponent(name))
            }
            if fm.fileExists(atPath: target.path) {
                _ = try fm.replaceItemAt(target, withItemAt: temporary)
            } else {
                try fm.moveItem(at: temporary, to: target)
            }
        } catch {
            try? fm.removeItem(at: temporary)
            throw CommandFailure("cannot write \(folder): \(error.localizedDescription)")
        }
    }
}
