import Foundation
import SimKernel
import Testing
@testable import Procedures
@testable import ScenarioKit

func metisScenario(_ run: String, detector: DetectorFidelity = .timing) throws -> Scenario {
    try ScenarioLoader.parse("name: t\nprocedure: metis\nsite: armazones\nrun: \(run)\nstudy: {trials: 2, seed: 7, detector: \(detector.rawValue)}\n",
                             file: repositoryRoot + "/Scenarios/t.yaml")
}

@Suite struct METISOBTests {
    @Test func everyMETISProcedureOfTheDocumentsHasAnOB() throws {
        let scenario = try metisScenario("[METIS-ChopperHome, METIS-InternalFlat, METIS-distortion-lm, METIS-distortion-nq, METIS-distortion-ifu, METIS-TwilightFlat-LM]")
        #expect(scenario.configuration.sequences.map { $0.steps[0].action } == [
            "METIS_img_lm_cal_ChopperHome", "METIS_img_lm_cal_InternalFlat", "METIS_img_lm_cal_distortion",
            "METIS_img_nq_cal_distortion", "METIS_ifu_cal_distortion", "METIS_all_cal_TwilightFlat"])
        // The InternalFlat OB uses the table's keys; SEQ NEXPO is the document's row.
        #expect(scenario.configuration.sequences[1].steps[0].parameters["SEQ NEXPO"] == .integer(10))
        #expect(scenario.configuration.sequences[1].steps[0].parameters["DET1 DIT"] == .number(1.3))
    }

    /// An OB the documents do not contain, written only as a file: ChopperHome at 800 K, then at 1200 K.
    @Test func chopperHomeAtTwoBlackbodyTemperaturesRunsBothTemplatesInOrder() throws {
        let scenario = try metisScenario("[METIS-ChopperHome-two-temperatures]")
        let ob = try #require(scenario.configuration.sequences.first)
        #expect(ob.steps.map { $0.parameters["bb_temperature"] } == [.number(800), .number(1200)])
        let (result, steps) = try runTrial(scenario)
        #expect(result.outcome == .completed)
        let warmups = steps.filter { $0.name == "Wait for about 45 minutes (warming up time)" }
        let exposures = steps.filter { $0.name == "Start Exposure" }
        #expect(warmups.count == 2 && exposures.count == 2)
        // The second template starts when the first has ended: its warm-up follows the first exposure.
        #expect(warmups[1].start >= exposures[0].end)
        // The templates share one session: the second warms from the first's 800 K, not from ambient
        // (METISSessionTests checks the warm-up time against the blackbody's closed form).
        let single = try runTrial(try metisScenario("[METIS-ChopperHome]"))
        let end = try #require(steps.map(\.end).max())
        let singleEnd = try #require(single.steps.map(\.end).max())
        #expect(end > singleEnd)
    }

    @Test func anOBRunsTheSameStepsAsTheTemplateAlways() throws {
        // A one-template OB adds no step of its own: the template's timeline is the trial's.
        let (_, steps) = try runTrial(try metisScenario("[METIS-InternalFlat]"))
        #expect(steps.first?.name == "Set WCU BB to TEMP-L and the instrument to the template's positions")
        #expect(steps.filter { $0.name == "Flat exposure" }.count == 10)
    }

    @Test func templateCrossKeyErrorsNameTheOBFileAndKey() throws {
        let ob = """
        name: bad
        templates:
          - id: METIS_img_lm_cal_InternalFlat
            parameters: {DET1 DIT: 0.5, SEQ TIME: 5, INS OPTI10 NAME: L', SEQ NEXPO: 10}
          - id: METIS_img_lm_cal_ChoperHome
        """
        let (d, dir) = try sequenceProblems(scenario: "name: s\nprocedure: metis\nrun: [bad]\n", files: ["bad.yaml": ob])
        #expect(d.contains { $0.path == "bad.templates[1].id" && $0.message.contains("did you mean `METIS_img_lm_cal_ChopperHome`") && $0.line == 5 })
        #expect(d.allSatisfy { $0.file == dir + "/Sequences/bad.yaml" })
        // With the unknown template removed, the DIT below the SLOW mode's minimum (1.3 s) is reported at its key.
        let fixed = ob.components(separatedBy: "\n").prefix(4).joined(separator: "\n")
        let (d2, _) = try sequenceProblems(scenario: "name: s\nprocedure: metis\nrun: [bad]\n", files: ["bad.yaml": fixed])
        let e = try #require(d2.first)
        #expect(d2.count == 1 && e.path == "bad.templates[0].parameters.DET1 DIT" && e.message.contains("minimum DIT"))
        #expect(e.line == 4)
    }
}

@Suite struct METISOBAbortTests {
    /// An aborted template ends its OB: the blackbody heater fails at the first ChopperHome, the second
    /// template never starts.
    @Test func aFailedTemplateEndsTheOB() throws {
        let scenario = try ScenarioLoader.parse("""
            name: t
            procedure: metis
            run: [METIS-ChopperHome-two-temperatures]
            faults: {bb_heater_failure: 1}
            study: {trials: 1, seed: 7, detector: timing}
            """, file: repositoryRoot + "/Scenarios/t.yaml")
        let (result, steps) = try runTrial(scenario)
        #expect(!result.outcome.isCompleted)
        #expect(steps.filter { $0.name == "Move periscopic arm to IN" }.count == 1)
    }
}
