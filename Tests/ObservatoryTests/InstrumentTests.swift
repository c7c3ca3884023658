import Foundation
import Testing
import SimKernel
@testable import Observatory

@Suite struct InstrumentTests {
    /// Every position of the InternalFlat parameter table (seed 000), exactly as spelled there, by key.
    static let internalFlatTable: [(String, [String])] = [
        ("INS OPTI1 NAME", ["PPS-CFO1", "RAP-LM"]),
        ("INS OPTI2 NAME", ["OUT", "ADC-1", "ADC-2"]),
        ("INS OPTI3 NAME", ["FIELD-11", "FIELD-14", "FIELD-3", "VPM-L", "VPM-M", "PI-MASK", "PNH-1"]),
        ("INS OPTI4 NAME", ["OUT", "IN"]),
        ("INS OPTI9 NAME", ["open", "PPS-LM", "RLS-LM", "CLS-LM", "APP-LM", "SPM-LM"]),
        ("INS OPTI10 NAME", ["L'", "H2Oice", "shortL", "IB4.05", "PAH3.3", "PAH3.3ref", "Br-alpha", "Br-alpharef", "M'",
                             "CO(1-0)/ice", "COref", "HCIL-short", "HCIL-long"]),
        ("INS OPTI11 NAME", ["OPEN", "ND1", "ND2", "ND3", "ND4", "ND5", "DARK"]),
        ("INS OPTI15 NAME", ["OUT", "IN"]),
        ("INS OPTI17 NAME", ["IN"]),
        ("INS OPTI18 NAME", ["WCU_mask", "AIV_mask", "ELT_mask"]),
        ("INS OPTI19 NAME", ["OPEN"]),
        ("INS OPTI20 NAME", ["LM-pinhole"]),
    ]

    @Test func everyInternalFlatPositionExistsUnderItsTemplateKey() throws {
        let sim = Simulation(seed: 1)
        let metis = try METIS(sim)
        for (key, positions) in Self.internalFlatTable {
            let d = try metis.device(forTemplateKey: key)
            for p in positions { #expect(try d.canonical(p) == p, "\(key) \(p)") }
        }
        // Table defaults are the initial positions where the table gives one.
        #expect(metis.cfo.fp2.position == "FIELD-11" && metis.imgLM.mask.position == "SPM-LM" && metis.wcu.pp1.position == "ELT_mask")
    }

    @Test func unknownDevicesKeysAndPositionsNameWhatExists() throws {
        let sim = Simulation(seed: 1)
        let metis = try METIS(sim)
        do {
            _ = try metis.device("CFO-FP3")
            Issue.record("expected an error")
        } catch let e as MotionError {
            guard case .unknownDevice(let name, let known) = e else { Issue.record("\(e)"); return }
            #expect(name == "CFO-FP3" && known.contains("CFO-FP2") && known.contains("WCU-FP2.1"))
        }
        #expect(throws: MotionError.self) { try metis.device(forTemplateKey: "INS OPTI5 NAME") }
        #expect(throws: MotionError.unknownPosition(device: "CFO-FP2", position: "FIELD-12",
                                                    known: ["FIELD-11", "FIELD-14", "FIELD-3", "VPM-L", "VPM-M", "PI-MASK", "PNH-1"])) {
            try metis.device("CFO-FP2").canonical("FIELD-12")
        }
        let sim2 = Simulation(seed: 1)
        let auxTel = AuxTel(sim2)
        #expect(throws: MotionError.unknownDevice("prism", known: ["filter", "grating"])) { try auxTel.wheel("prism") }
        #expect(throws: MotionError.self) { try auxTel.filterWheel.canonical("SDSSy_65mm") } // it is in the grating wheel
        #expect(try auxTel.gratingWheel.canonical("SDSSy_65mm") == "SDSSy_65mm")
    }

    /// The ChopperHome document's WCU and CFO setup, step by step, reads like the document; "ELT mask" in
    /// its text is the table's `ELT_mask`.
    @Test func chopperHomeSetupRunsAsDocumented() throws {
        let sim = Simulation(seed: 3)
        var params = METIS.Parameters.standard
        params.blackbody.heaterFailureProbability = 0
        params.blackbody.setPointShortfallProbability = 0
        params.blackbody.warmupSpread = 0
        for k in params.devices.indices { params.devices[k].timing.jamProbabilityPerMove = 0 }
        let metis = try METIS(sim, parameters: params)
        let out = MechanicsBox<[String: Double]>([:])
        sim.process("ChopperHome") {
            try await metis.device("periscopic arm").move(to: "IN")
            metis.wcu.blackbody.setTemperature(kelvin: 1000)
            try await metis.wcu.blackbody.waitUntilReady()
            out.value["warm"] = sim.now
            try await metis.device("WCU-FP2.1").move(to: "LM-pinhole")
            try await metis.device("WCU-PP1").move(to: "ELT mask")
            try await metis.device("WCU-BB-aperture-mask").move(to: "OPEN")
            out.value["detectable"] = metis.wcu.isPowerDetectable ? 1 : 0
            try await metis.device("WCU-BB-aperture-mask").move(to: "CLOSE")
            out.value["closedReadout"] = metis.wcu.powerReadoutWatts
            try await metis.device("WCU-BB-aperture-mask").move(to: "OPEN")
            try await metis.apply(templatePositions: ["INS OPTI1 NAME": "PPS-CFO1", "INS OPTI3 NAME": "FIELD-11",
                                                      "INS OPTI4 NAME": "OUT", "INS OPTI9 NAME": "SPM-LM",
                                                      "INS OPTI10 NAME": "Br-alpha", "INS OPTI11 NAME": "ND3"])
            out.value["end"] = sim.now
        }
        try sim.run()
        // Arm 30 s + 2 s settle, then the 45-minute warm-up.
        #expect(abs(out.value["warm"]! - (32 + 2700)) < 1e-6)
        #expect(out.value["detectable"] == 1 && out.value["closedReadout"] == 0)
        #expect(metis.wcu.pp1.position == "ELT_mask" && metis.imgLM.filter.position == "Br-alpha" && metis.imgLM.neutralDensity.position == "ND3")
        // The template moves overlap: the step takes the longest one (filter L' → Br-alpha, 6 slots: 13 s).
        let templateStep = sim.steps.filter { $0.name.hasPrefix("IMG-LM-filter") }
        #expect(templateStep.count == 1 && templateStep[0].lane == "IMG-LM" && templateStep[0].duration == 13)
        let lanes = Set(sim.steps.map(\.lane))
        #expect(lanes.isSuperset(of: ["WCU", "IMG-LM"]))
    }

    /// prepare_for/flat (atcs.py prepare_for_flatfield) points the telescope without waiting for the dome,
    /// settles 3 s and a further 3 s, and only then slews the dome, which settles 3 s: the sum, not the
    /// longer of the two.
    @Test func auxTelFlatPositionAndNightToNightState() throws {
        let sim = Simulation(seed: 5)
        let auxTel = AuxTel(sim)
        let mountSeconds = try auxTel.atMount.slewSeconds(azimuthDegrees: 188.7, elevationDegrees: 39)
        let domeSeconds = try auxTel.atDome.moveSeconds(toAzimuth: 3.0)
        let out = MechanicsBox<Double>(0)
        sim.process("flat") {
            try await auxTel.prepareForFlat()
            out.value = sim.now
            try await auxTel.setInstrument(filter: "empty_1", grating: "SDSSy_65mm")
        }
        try sim.run()
        #expect(abs(out.value - (mountSeconds + 3 + 3 + domeSeconds + 3)) < 1e-9)
        #expect(abs(Azimuth.shortestDelta(from: 3.0, to: auxTel.atDome.believedAzimuthDegrees)) <= 0.5)
        let state = auxTel.state
        #expect(state.grating == "SDSSy_65mm" && state.filter == "empty_1")
        // The next night starts where this one ended, encoder error included.
        let next = AuxTel(Simulation(seed: 6), state: state)
        #expect(next.state == state)
        #expect(next.atDome.trueAzimuthDegrees == auxTel.atDome.trueAzimuthDegrees)
        #expect(LATISSCameraTiming().frameSeconds(exposureSeconds: 6) == 8)
    }

    @Test func metisStateCarriesOverAndRejectsUnknownDevices() throws {
        let sim = Simulation(seed: 1)
        let metis = try METIS(sim, state: METISState(positions: ["CFO-FP2": "PNH-1"], blackbodyKelvin: 600))
        #expect(metis.cfo.fp2.position == "PNH-1")
        #expect(abs(metis.wcu.blackbody.temperatureKelvin - 600) < 1e-9)
        #expect(throws: MotionError.self) { try METIS(Simulation(seed: 1), state: METISState(positions: ["CFO-FP9": "x"])) }
    }
}
