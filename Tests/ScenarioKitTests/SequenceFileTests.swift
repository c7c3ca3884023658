import Foundation
import Testing
@testable import Procedures
@testable import ScenarioKit

/// A fresh folder for one test's files, under one folder per test process that is removed when the process
/// exits, so a test run leaves nothing in the temporary directory.
func scratchFolder(_ prefix: String) -> String {
    testScratchRoot + "/\(prefix)-\(UUID().uuidString)"
}

let testScratchRoot: String = {
    let root = NSTemporaryDirectory() + "obsim-tests-\(getpid())"
    atexit { try? FileManager.default.removeItem(atPath: NSTemporaryDirectory() + "obsim-tests-\(getpid())") }
    return root
}()

/// A scenario and its block files in a fresh folder; returns the problems, or [] when it loads.
func sequenceProblems(scenario: String, files: [String: String]) throws -> (diagnostics: [ScenarioDiagnostic], dir: String) {
    let dir = scratchFolder("seq")
    try FileManager.default.createDirectory(atPath: dir + "/Sequences", withIntermediateDirectories: true)
    for (name, text) in files { try text.write(toFile: dir + "/Sequences/" + name, atomically: true, encoding: .utf8) }
    let path = dir + "/s.yaml"
    try scenario.write(toFile: path, atomically: true, encoding: .utf8)
    do {
        _ = try ScenarioLoader.load(path: path)
        return ([], dir)
    } catch let e as ScenarioErrors {
        return (e.diagnostics, dir)
    }
}

func scenarioRunning(_ run: String, contingencies: String = "") -> String {
    "name: s\nprocedure: latiss\nrun: \(run)\n\(contingencies)study: {trials: 1, detector: timing}\n"
}

/// ts_config_ocs's block-310-shutdown_latiss_calibrations.json as it is published (three CSCs to STANDBY).
let publishedBlock310 = """
{
    "name": "shutdown_latiss_calibrations",
    "program": "BLOCK-310",
    "constraints": [],
    "scripts": [
        {
            "name": "auxtel/calibrations/power_off_atcalsys.py",
            "standard": true,
            "parameters": {}
        },
        {
            "name": "set_summary_state.py",
            "standard": true,
            "parameters": {
                "data": [
                    [
                        "ATWhiteLight",
                        "STANDBY"
                    ]
                ]
            }
        },
        {
            "name": "set_summary_state.py",
            "standard": true,
            "parameters": {
                "data": [
                    [
                        "Electrometer:201",
                        "STANDBY"
                    ]
                ]
            }
        },
        {
            "name": "set_summary_state.py",
            "standard": true,
            "parameters": {
                "data": [
                    [
                        "FiberSpectrograph:3",
                        "STANDBY"
                    ]
                ]
            }
        }
    ]
}
"""

@Suite struct SequenceFileTests {
    @Test func publishedBlockFileLoadsUnchanged() throws {
        let (d, dir) = try sequenceProblems(scenario: scenarioRunning("[BLOCK-310]"), files: ["BLOCK-310.json": publishedBlock310])
        #expect(d.isEmpty, "\(d)")
        let s = try ScenarioLoader.load(path: dir + "/s.yaml")
        let block = try #require(s.configuration.sequences.first)
        #expect(block.id == "BLOCK-310" && block.name == "shutdown_latiss_calibrations" && block.steps.count == 4)
        #expect(block.steps[2].action == "set_summary_state" && block.steps[2].parameters["data"] == .strings(["Electrometer:201", "STANDBY"]))
    }

    @Test func shippedBlocksKeepTheRealKeysWithoutSimulatedMeaning() throws {
        // BLOCK-295.json carries `constraints`, `standard` and `program` inside every script's parameters.
        let text = try String(contentsOfFile: repositoryRoot + "/Sequences/BLOCK-295.json", encoding: .utf8)
        #expect(text.contains("\"constraints\"") && text.contains("\"standard\"") && text.contains("\"program\": \"BLOCK-295\""))
        _ = try latissScenario()
    }

    @Test func scriptDefaultsApplyWhereAKeyIsAbsent() throws {
        let block = """
        {"name": "b", "program": "BLOCK-1", "constraints": [],
         "scripts": [{"name": "auxtel/make_latiss_calibrations.py", "standard": false, "parameters": {"script_mode": "BIAS"}}]}
        """
        let (d, dir) = try sequenceProblems(scenario: scenarioRunning("[BLOCK-1]"), files: ["BLOCK-1.json": block])
        #expect(d.isEmpty, "\(d)")
        let s = try ScenarioLoader.load(path: dir + "/s.yaml")
        let p = s.configuration.sequences[0].steps[0].parameters
        // base_make_calibrations.py defaults (REFERENCES §3): n_bias 20, n_dark 22, n_flat 20 at 5 s, 1 discard.
        #expect(p["n_bias"] == .integer(20) && p["n_dark"] == .integer(22) && p["n_flat"] == .integer(20))
        #expect(p["exp_times_flat"] == .numbers([5]) && p["n_discard_bias"] == .integer(1))
        let set = try #require(try LATISS.library.instantiate(s.configuration.sequences[0]).first as? MakeLATISSCalibrations)
        #expect(set.biasCount == 21 && !set.takesDarks && set.setName == "BIAS")
    }

    @Test func everyBadKeyIsReportedAtOnceWithFileLineAndColumn() throws {
        let block = """
        {
            "name": "b",
            "program": "BLOCK-1",
            "scripts": [
                {"name": "auxtel/make_latiss_calibration.py", "parameters": {}},
                {"name": "auxtel/make_latiss_calibrations.py", "parameters": {"n_flats": 20, "n_bias": "three", "n_dark": 0}},
                {"name": "auxtel/take_image_latiss.py", "parameters": {"image_type": "FLATS", "exp_times": [1, -2]}}
            ],
            "priority": 3
        }
        """
        let (d, dir) = try sequenceProblems(scenario: scenarioRunning("[BLOCK-1]"), files: ["BLOCK-1.json": block])
        let file = dir + "/Sequences/BLOCK-1.json"
        func find(_ path: String) -> ScenarioDiagnostic? { d.first { $0.path == path } }
        let unknownScript = try #require(find("BLOCK-1.scripts[0].name"))
        #expect(unknownScript.file == file && unknownScript.line == 5)
        #expect(unknownScript.message.contains("did you mean `auxtel/make_latiss_calibrations.py`?"))
        let unknownKey = try #require(find("BLOCK-1.scripts[1].parameters.n_flats"))
        #expect(unknownKey.line == 6 && unknownKey.message.contains("did you mean `n_flat`"))
        #expect(find("BLOCK-1.scripts[1].parameters.n_bias")?.message.contains("expected an integer, got `three`") == true)
        #expect(find("BLOCK-1.scripts[1].parameters.n_dark")?.message.contains("out of range") == true)
        #expect(find("BLOCK-1.scripts[2].parameters.image_type")?.message.contains("did you mean `FLAT`") == true)
        #expect(find("BLOCK-1.scripts[2].parameters.exp_times")?.message.contains("out of range") == true)
        let unknownTop = try #require(find("priority"))
        #expect(unknownTop.line == 9 && unknownTop.column > 1)
        #expect(d.count == 7)
        #expect(d.allSatisfy { $0.file == file })
    }

    @Test func missingBlockFileNamesWhereItLooked() throws {
        let (d, _) = try sequenceProblems(scenario: scenarioRunning("[BLOCK-309, BLOCK-999]"), files: [:])
        #expect(d.count == 2)
        #expect(d.allSatisfy { $0.message.contains("no file for") && $0.message.contains("Sequences/") })
        #expect(d.map(\.line) == [3, 3])
    }

    @Test func anElementNotInstalledIsAnErrorAtItsKey() throws {
        let block = """
        name: b
        program: BLOCK-1
        scripts:
          - name: auxtel/take_image_latiss.py
            parameters:
              image_type: FLAT
              exp_times: 6
              filter: OG550_65mm
        """
        let (d, dir) = try sequenceProblems(scenario: scenarioRunning("[BLOCK-1]"), files: ["BLOCK-1.yaml": block])
        let e = try #require(d.first)
        #expect(d.count == 1 && e.file == dir + "/Sequences/BLOCK-1.yaml" && e.line == 8)
        #expect(e.message.contains("not installed in the filter wheel"))
    }

    @Test func aCheckOnAnImageNobodyTakesIsAnError() throws {
        let check = """
        contingencies:
          - name: x
            when: {image_type: FLAT, filter: SDSSg_65mm, exp_time: 6 s}
            below: 10 adu

        """
        let block = "name: b\nprogram: BLOCK-1\nscripts:\n  - name: auxtel/make_latiss_calibrations.py\n    parameters: {script_mode: BIAS_DARK}\n"
        let (d, _) = try sequenceProblems(scenario: scenarioRunning("[BLOCK-1]", contingencies: check), files: ["BLOCK-1.yaml": block])
        let e = try #require(d.first)
        #expect(d.count == 1 && e.path == "contingencies[0].when" && e.line == 6)
        #expect(e.message.contains("no script of the run takes such an image"))
    }

    @Test func malformedContingencyIsReportedWithWhatIsAllowed() throws {
        let check = """
        contingencies:
          - name: x
            when: {image_type: FLAT, filtre: SDSSr_65mm}
            below: 10
            scripts:
              - name: auxtel/atdome/home_dom.py
            on_restart_limit: [BLOCK-31]

        """
        let (d, _) = try sequenceProblems(scenario: scenarioRunning("[BLOCK-1]", contingencies: check),
                                          files: ["BLOCK-1.yaml": "name: b\nprogram: BLOCK-1\nscripts: []\n"])
        #expect(d.contains { $0.path == "contingencies[0].when.filtre" && $0.message.contains("did you mean `filter`") })
        #expect(d.contains { $0.path == "contingencies[0].below" && $0.message.contains("has no unit") })
        #expect(d.contains { $0.path == "contingencies[0].scripts[0].name" && $0.message.contains("did you mean `auxtel/atdome/home_dome.py`") })
        #expect(d.allSatisfy { $0.line >= 4 })
    }

    @Test func aRunNeverStartsOnAFailedFile() throws {
        // `obsim run` builds its study from ScenarioLoader.load: a failed file throws before any trial.
        let (d, dir) = try sequenceProblems(scenario: scenarioRunning("[BLOCK-1]"),
                                            files: ["BLOCK-1.yaml": "name: b\nprogram: BLOCK-1\nscripts:\n  - name: nope\n"])
        #expect(!d.isEmpty)
        #expect(throws: ScenarioErrors.self) { try ScenarioLoader.load(path: dir + "/s.yaml") }
    }
}

@Suite struct ScriptSemanticsTests {
    func set(_ parameters: String) throws -> MakeLATISSCalibrations {
        let block = "name: b\nprogram: BLOCK-1\nscripts:\n  - name: auxtel/make_latiss_calibrations.py\n    parameters: \(parameters)\n"
        let (d, dir) = try sequenceProblems(scenario: scenarioRunning("[BLOCK-1]"), files: ["BLOCK-1.yaml": block])
        #expect(d.isEmpty, "\(d)")
        let s = try ScenarioLoader.load(path: dir + "/s.yaml")
        return try #require(try LATISS.library.instantiate(s.configuration.sequences[0]).first as? MakeLATISSCalibrations)
    }

    /// base_make_calibrations.py: a list of n_dark times; the discarded dark is taken first at the list's
    /// first time. A list of n_dark + n_discard_dark is taken as written; one value repeats.
    @Test func exposureListsAndDiscards() throws {
        #expect(try set("{n_dark: 3, exp_times_dark: [5, 10, 15]}").darkTimes == [5, 5, 10, 15])
        #expect(try set("{n_dark: 3, exp_times_dark: [1, 5, 10, 15]}").darkTimes == [1, 5, 10, 15])
        #expect(try set("{n_dark: 3, exp_times_dark: 7, n_discard_dark: 2}").darkTimes == [7, 7, 7, 7, 7])
        #expect(try set("{n_flat: 2, exp_times_flat: [3, 4], n_discard_flat: 0}").flatTimes == [3, 4])
        let block = "name: b\nprogram: BLOCK-1\nscripts:\n  - name: auxtel/make_latiss_calibrations.py\n    parameters: {n_dark: 3, exp_times_dark: [5, 10]}\n"
        let (d, _) = try sequenceProblems(scenario: scenarioRunning("[BLOCK-1]"), files: ["BLOCK-1.yaml": block])
        #expect(d.count == 1 && d.first?.path == "BLOCK-1.scripts[0].parameters.exp_times_dark" && d.first?.line == 5)
        #expect(d.first?.message.contains("give one value, 3, or 4") == true)
    }

    /// The operator checks every watched image, discards too, but the level metric counts only kept images.
    @Test func discardedImagesAreCheckedButNotMeasured() throws {
        let block = """
        name: b
        program: BLOCK-1
        scripts:
          - name: auxtel/make_latiss_calibrations.py
            parameters: {n_bias: 1, n_dark: 1, exp_times_dark: 1, n_flat: 1, exp_times_flat: [6, 3], filter: SDSSr_65mm, grating: empty_1}
        """
        let dir = scratchFolder("seq")
        try FileManager.default.createDirectory(atPath: dir + "/Sequences", withIntermediateDirectories: true)
        try block.write(toFile: dir + "/Sequences/BLOCK-1.yaml", atomically: true, encoding: .utf8)
        try publishedBlock310.write(toFile: dir + "/Sequences/BLOCK-310.json", atomically: true, encoding: .utf8)
        try FileManager.default.copyItem(atPath: repositoryRoot + "/Sequences/BLOCK-309.json", toPath: dir + "/Sequences/BLOCK-309.json")
        func scenario(_ encoderError: Double) throws -> Scenario {
            let text = "name: t\nprocedure: latiss\nrun: [BLOCK-309, BLOCK-1, BLOCK-310]\ninstrument: {dome: {initial_encoder_error: \(encoderError) deg}}\n"
                + misalignment() + nominalFaults + "study: {trials: 1, detector: timing}\n"
            try text.write(toFile: dir + "/t.yaml", atomically: true, encoding: .utf8)
            return try ScenarioLoader.load(path: dir + "/t.yaml")
        }
        // Aligned dome at the lamp: the only 6 s flat is the discard; no level is measured.
        let aligned = try runTrial(try scenario(0))
        #expect(aligned.result.outcome == .completed && aligned.result.metrics["flat_sdssr_6s_adu"] == nil)
        // 4° off: the discard flat alone reveals the misalignment.
        let misaligned = try runTrial(try scenario(4))
        #expect(misaligned.result.metrics["contingencies"] == 1)
    }
}
