import Foundation
import Procedures
import ScenarioKit
import Testing
@testable import Experiments

/// The METIS pipeline's raw-frame classification (AstarVienna/METIS_Pipeline@b75e7fa,
/// `metisp/workflows/metis/metis_classification.py` and `metis_chophome_wkf.py`): each rule is a set of
/// required header values; a frame is classified when every key of one rule has that value.
let metisClassificationRules: [(name: String, required: [String: String])] = {
    var rules: [(String, [String: String])] = []
    for (arm, detector) in [("LM", "2RG"), ("N", "GEO")] {
        let tech = "IMAGE,\(arm)"
        rules += [
            ("DETLIN_\(detector)_RAW", ["DPR.CATG": "CALIB", "DPR.TYPE": "DETLIN", "DPR.TECH": tech]),
            ("DARK_\(detector)_RAW", ["DPR.CATG": "CALIB", "DPR.TYPE": "DARK", "DPR.TECH": tech]),
            ("\(arm)_DISTORTION_RAW", ["DPR.CATG": "CALIB", "DPR.TYPE": "DISTORTION", "DPR.TECH": tech]),
            ("\(arm)_WCU_OFF_RAW", ["DPR.CATG": "CALIB", "DPR.TYPE": "DARK,WCUOFF", "DPR.TECH": tech]),
            ("\(arm)_FLAT_LAMP_RAW", ["DPR.CATG": "CALIB", "DPR.TYPE": "FLAT,LAMP", "DPR.TECH": tech]),
            ("\(arm)_TWILIGHT_FLAT", ["DPR.CATG": "CALIB", "DPR.TYPE": "FLAT,TWILIGHT", "DPR.TECH": tech]),
            ("\(arm)_IMAGE_SCI_RAW", ["DPR.CATG": "SCIENCE", "DPR.TYPE": "OBJECT", "DPR.TECH": tech]),
            ("\(arm)_IMAGE_SKY_RAW", ["DPR.TYPE": "SKY", "DPR.TECH": tech]),
            ("\(arm)_IMAGE_STD_RAW", ["DPR.CATG": "CALIB", "DPR.TYPE": "STD", "DPR.TECH": tech]),
        ]
    }
    rules += [
        ("LM_OFF_AXIS_PSF_RAW", ["DPR.CATG": "CALIB", "DPR.TYPE": "PSF,OFFAXIS", "DPR.TECH": "IMAGE,LM"]),
        ("DARK_IFU_RAW", ["DPR.CATG": "CALIB", "DPR.TYPE": "DARK", "DPR.TECH": "IFU"]),
        ("IFU_DISTORTION_RAW", ["DPR.CATG": "CALIB", "DPR.TYPE": "DISTORTION", "DPR.TECH": "IFU"]),
        ("IFU_WCU_OFF_RAW", ["DPR.CATG": "CALIB", "DPR.TYPE": "DARK,WCUOFF", "DPR.TECH": "IFU"]),
        ("LM_CHOPHOME_RAW", ["DPR.CATG": "CALIB", "DPR.TYPE": "CHOPHOME", "DPR.TECH": "IMAGE,LM"]),
    ]
    return rules.map { (name: $0.0, required: $0.1.merging(["INSTRUME": "METIS"]) { a, _ in a }) }
}()

/// The rules' keyword spelling (`dpr.catg`, upper-cased) of a written FITS keyword.
func classificationKey(_ keyword: String) -> String {
    (keyword.hasPrefix("HIERARCH ESO ") ? String(keyword.dropFirst(13)) : keyword).replacingOccurrences(of: " ", with: ".")
}

func classify(_ frame: Frame) -> [String] {
    var values: [String: String] = [:]
    for card in frame.header { if case .string(let s) = card.value { values[classificationKey(card.keyword)] = s } }
    return metisClassificationRules.filter { rule in rule.required.allSatisfy { values[$0.key] == $0.value } }.map(\.name)
}

@Suite struct METISClassificationTests {
    /// Every science-detector frame of one trial of each committed METIS scenario (pixels kept) is
    /// classified by exactly one rule, and carries DATE-OBS, MJD-OBS, TELESCOP and numeric SEQ keywords.
    @Test(arguments: ["metis-chopper-home", "metis-internal-flat", "metis-distortion-lm", "metis-distortion-n",
                      "metis-distortion-ifu", "twilight-flats-metis-lm", "twilight-flats-metis-n"])
    func everyFrameIsClassified(_ name: String) throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        var text = try String(contentsOf: root.appendingPathComponent("Scenarios/\(name).yaml"), encoding: .utf8)
        text = text.replacingOccurrences(of: "detector: roi-statistics", with: "detector: roi-pixels")
        let s = try ScenarioLoader.parse(text, file: "\(name).yaml")
        let run = try StudyRunner.runTrial(StudyRunner.procedures(for: s)[0], scenario: s, point: s.sweepPoints[0], trial: 0, keepsDetail: true)
        let frames = run.result.frames.filter { frame in
            !frame.header.contains { $0.keyword == "DETNAME" || ($0.keyword == "HIERARCH ESO DET NAME" && $0.value == .string("METIS SCAO WFS (K band)")) }
        }
        #expect(!frames.isEmpty, "\(name) wrote no frames")
        for frame in frames {
            #expect(classify(frame).count == 1, "\(name) \(frame.name): \(classify(frame)) — \(frame.header.filter { $0.keyword.contains("DPR") || $0.keyword == "INSTRUME" })")
            let keywords = Set(frame.header.map(\.keyword))
            for k in ["DATE-OBS", "MJD-OBS", "TELESCOP", "INSTRUME"] { #expect(keywords.contains(k), "\(name) \(frame.name) lacks \(k)") }
            for card in frame.header where card.keyword.hasPrefix("HIERARCH ESO SEQ ") {
                if case .string(let s) = card.value { #expect(Double(s) == nil, "\(card.keyword) = '\(s)' is a number written as text") }
            }
        }
    }
}
