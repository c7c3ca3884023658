import Foundation
import Testing
@testable import Procedures
import Observatory
import SimKernel

/// What the templates of one OB share through `METISSession`, each against a closed form of the models.
@Suite struct METISSessionTests {
    /// No faults and every warm-up at its nominal time constant: the times below are the models' closed forms.
    static let nominal: METIS.Parameters = {
        var p = metisWithoutFaults
        p.blackbody.warmupSpread = 0
        return p
    }()

    /// The device steps (`<device> to <position>`) that start at or after `t`.
    static func deviceMoves(_ steps: [StepRecord], from t: Double) -> [StepRecord] {
        let devices = Set(METIS.Parameters.standard.devices.map(\.name))
        return steps.filter { s in s.start >= t && devices.contains(where: { s.name.hasPrefix($0 + " to ") }) }
    }

    /// A second ChopperHome in the same OB finds every device where the first left it: each of its setup
    /// moves costs 0 s (`NamedPositionDevice.moveSeconds`: 0 slots), except the BB aperture mask, which the
    /// first left OPEN and the document closes for the background and opens again: one slide slot each,
    /// 5 s + 1 s settle (METIS.Parameters.slide).
    @Test func aSecondTemplatePaysNoMoveAlreadyDone() throws {
        let t = try metisTemplate(ChopperHomeTemplate.self)
        let r = try runMETIS([t, t], parameters: Self.nominal, fidelity: .timing)
        #expect(r.result?.outcome == .completed)
        let setups = r.steps.filter { $0.name == "Setup WCU" }
        #expect(setups.count == 2)
        // The first template starts from the previous use's positions: some of its moves take time.
        let first = Self.deviceMoves(r.steps, from: 0).filter { $0.end <= setups[1].start }
        #expect(first.contains { $0.duration > 0 })
        let second = Self.deviceMoves(r.steps, from: setups[1].start)
        #expect(second.count == 11)
        for s in second {
            let expected = s.name.hasPrefix("WCU-BB-aperture-mask") ? 5.0 + 1.0 : 0.0
            #expect(abs(s.duration - expected) < 1e-9, "\(s.name): \(s.duration) s")
        }
    }

    /// FirstOrderLag's law: t_ready(ΔT) = τ_ref·(ΔT/700 K)^0.5·ln(ΔT/1 K) + 60 s, with
    /// τ_ref = (2700 − 60) s / ln(700) (45 min for the reference 300 → 1000 K step, Blackbody.Parameters.metisWCU).
    static func readySeconds(stepKelvin s: Double) -> Double {
        let tauRef = (2700.0 - 60) / log(700.0)
        return tauRef * (s / 700).squareRoot() * log(s / 1) + 60
    }

    /// ChopperHome at 800 K then at 1200 K: the second warm-up starts where the first left the blackbody,
    /// within its 1 K tolerance below 800 K (the approach is monotonic), so its step lies in [400, 401] K
    /// and its wait between t_ready(400) = 1885 s and t_ready(401); from ambient (900 K) it would be 3169 s.
    @Test func theBlackbodyTemperatureCarriesOverToTheNextTemplate() throws {
        let at800 = try metisTemplate(ChopperHomeTemplate.self, ["bb_temperature": .number(800), "nd_filter": .string("ND3")])
        let at1200 = try metisTemplate(ChopperHomeTemplate.self, ["bb_temperature": .number(1200)])
        let r = try runMETIS([at800, at1200], parameters: Self.nominal, fidelity: .timing)
        #expect(r.result?.outcome == .completed)
        let waits = r.steps.filter { $0.name == "Wait for about 45 minutes (warming up time)" }
        #expect(waits.count == 2)
        #expect(abs(waits[0].duration - Self.readySeconds(stepKelvin: 500)) < 1e-6)
        let lo = Self.readySeconds(stepKelvin: 400), hi = Self.readySeconds(stepKelvin: 401)
        #expect(waits[1].duration >= lo - 1e-6 && waits[1].duration <= hi + 1e-6, "\(waits[1].duration) s, expected [\(lo), \(hi)]")
        // warmup_s is the later template's.
        #expect(abs((r.result?.metrics["warmup_s"] ?? 0) - waits[1].duration) < 1e-9)
        #expect(Self.readySeconds(stepKelvin: 900) - hi > 1000)
    }

    /// The one mapping from the study's fidelity to a METIS frame's, case by case as documented.
    @Test func fidelityMapping() throws {
        let w = [PixelRect(x0: 10, y0: 20, width: 8, height: 8)], full = [PixelRect(x0: 0, y0: 0, width: 2048, height: 2048)]
        let expected: [DetectorFidelity: [METISSession.FrameUse: Fidelity?]] = [
            .timing: [.pixelFit: nil, .pixelsOrStatistics: nil, .level: .roiStatistics],
            .roiStatistics: [.pixelFit: .windows(w), .pixelsOrStatistics: .roiStatistics, .level: .roiStatistics],
            .roiPixels: [.pixelFit: .windows(w), .pixelsOrStatistics: .windows(w), .level: .windows(w)],
            .fullFrame: [.pixelFit: .windows(full), .pixelsOrStatistics: .windows(full), .level: .windows(full)],
        ]
        for (study, row) in expected {
            let session = try Self.session(fidelity: study)
            for (use, f) in row {
                #expect(session.fidelity(use, windows: w, fullFrame: full) == f, "\(study) \(use)")
            }
            // Without full-frame windows a full frame is the template's own windows.
            if study == .fullFrame { #expect(session.fidelity(.pixelFit, windows: w) == .windows(w)) }
            #expect(session.hasPixels == (study == .roiPixels || study == .fullFrame))
        }
    }

    /// An exposure occupies the camera for NDIT × DIT + one read, and only then draws from "IMG-LM.detector":
    /// halfway through, a draw from that stream is still the stream's first value; just after the end it is
    /// not. Both camera paths (a template's step, a twilight frame) are checked.
    @Test func pixelsAreDrawnOnlyAfterTheExposureTime() throws {
        let model = DetectorModel.metisIMGLM()
        let mode = try model.mode(named: "SLOW")
        let seconds = model.exposureDurationSeconds(ditSeconds: 10, ndit: 1, mode: mode)
        let firstDraw = Simulation(seed: 5, trial: 0).stream("IMG-LM.detector").uniform()
        for viaStep in [true, false] {
            for probe in [seconds / 2, seconds + 1e-3] {
                let sim = Simulation(seed: 5, trial: 0)
                let session = try METISSession(context: Self.context(sim, fidelity: .roiStatistics), parameters: Self.nominal)
                let camera = session.camera("IMG-LM", model)
                var drawn: Double?
                var end: Double?
                _ = sim.process("exposure") {
                    if viaStep {
                        _ = try await camera.expose(step: "exposure", ditSeconds: 10, ndit: 1, modeName: "SLOW",
                                                    illumination: Illumination(photonsPerSecondPerPixel: 100), fidelity: .roiStatistics)
                    } else {
                        _ = try await camera.take(ExposureRequest(ditSeconds: 10, ndit: 1, modeName: "SLOW", fidelity: .roiStatistics),
                                                  seconds: seconds)
                    }
                    end = sim.now
                }
                _ = sim.process("probe") {
                    try await sim.timeout(probe)
                    drawn = sim.stream("IMG-LM.detector").uniform()
                }
                try sim.run()
                sim.shutDown()
                #expect(abs((end ?? 0) - seconds) < 1e-9)
                if probe < seconds {
                    #expect(drawn == firstDraw, "step \(viaStep): pixels drawn before the exposure ended")
                } else {
                    #expect(drawn != firstDraw, "step \(viaStep): no pixels drawn at the exposure's end")
                }
            }
        }
    }

    /// A jam is a modelled fault: with every move jamming, the first move that has to travel jams, the OB
    /// ends with `mechanism_jam`, and the next template never starts.
    @Test func aJamEndsTheOBWithMechanismJam() throws {
        var p = Self.nominal
        for k in p.devices.indices { p.devices[k].timing.jamProbabilityPerMove = 1 }
        let t = try metisTemplate(ChopperHomeTemplate.self)
        let r = try runMETIS([t, t], parameters: p, fidelity: .timing)
        #expect(r.result?.outcome == .aborted("mechanism_jam"))
        #expect(r.steps.filter { $0.name == "Setup WCU" }.count == 1)
        #expect(r.result?.metrics["chopper_home_error_mas"] == nil)
    }

    /// The cameras are per lane and per OB: the second template exposes on the same detector (one pixel
    /// response for the whole OB).
    @Test func oneCameraPerLane() throws {
        let session = try Self.session(fidelity: .timing)
        let a = session.camera("IMG-LM", .metisIMGLM())
        #expect(session.camera("IMG-LM", .metisIMGLM()) === a)
        #expect(session.camera("SCAO", .scaoWFSCamera()) !== a)
    }

    /// METIS_all_cal_TwilightFlat takes its frames through the session (its camera on IMG-N, its filter and
    /// ND moves) and the hook changes who takes them, not what they are: the same trial as the twilight
    /// procedure on its own gives the same frames (to rounding: the frame and its overhead are two waits).
    @Test func twilightFlatsTakeTheirFramesThroughTheSession() throws {
        let overrides: [String: ParameterValue] = ["n_levels": .integer(1), "cirrus_rms": .number(0)]
        var ob = overrides
        ob["imager"] = .string("metis-img-n")
        ob["clear_sky_probability"] = .number(1)
        let t = try metisTemplate(TwilightFlatTemplate.self, ob)
        let r = try runMETIS([t], parameters: Self.nominal, seed: 42, fidelity: .roiStatistics,
                             epochUnixSeconds: UTCDate.parse("2026-03-20T20:00:00Z")!)
        let alone = try runTwilightTrial(overrides, preset: "metis-img-n")
        let m = try #require(r.result?.metrics)
        #expect(r.result?.outcome == alone.outcome)
        #expect((m["frames_taken"] ?? 0) > 0)
        for key in ["frames_taken", "frames_in_range", "flat_error_pct", "window_used_s", "linearity_slope_error_pct"] {
            let a = try #require(m[key]), b = try #require(alone.metrics[key])
            #expect(abs(a - b) <= 1e-9 * max(1, abs(b)), "\(key): \(a) through the session, \(b) alone")
        }
        let session = try #require(r.session)
        #expect(session.cameras["IMG-N"] != nil)
        #expect(try session.metis.device("IMG-N-filter").position == "N2")
        #expect(try session.metis.device("IMG-N-ND").position == "OPEN")
    }

    static func context(_ sim: Simulation, fidelity: DetectorFidelity) -> TrialContext {
        TrialContext(simulation: sim, seed: 5, trial: 0,
                     site: SiteLocation(name: "armazones", latitudeDegrees: -24.5899, longitudeDegrees: -70.1918, elevationMetres: 3060),
                     epochUnixSeconds: 0, nightsUnixSeconds: [], fidelity: fidelity, keepsDetail: false)
    }

    static func session(fidelity: DetectorFidelity) throws -> METISSession {
        try METISSession(context: context(Simulation(seed: 5, trial: 0), fidelity: fidelity), parameters: nominal)
    }
}
