import Testing
@testable import Procedures
import Observatory
import SimKernel
import Analysis

/// A template built from its keys' defaults and `overrides`, as an OB file would give them.
func metisTemplate<T: METISTemplate>(_ type: T.Type, _ overrides: [String: ParameterValue] = [:]) throws -> T {
    var v = T.defaults
    for (k, x) in overrides { v[k] = x }
    return try T(configuration: ActionConfiguration(values: v, path: "test"))
}

/// No faults: the tests below are about the document's flow, not about jams.
let metisWithoutFaults = METISSession.parameters(heaterFailure: 0, shortfall: 0, jam: 0)

final class METISRun {
    var result: TrialResult?
    var steps: [StepRecord] = []
    var duration = 0.0
    var session: METISSession?
}

/// Runs `templates` as one OB in one trial's session.
func runMETIS(_ templates: [any Action<METISSession>], parameters: METIS.Parameters = metisWithoutFaults, seed: UInt64 = 3,
              trial: UInt64 = 0, fidelity: DetectorFidelity = .roiPixels, trace: Bool = false,
              epochUnixSeconds: Double = 0) throws -> METISRun {
    let sim = Simulation(seed: seed, trial: trial)
    if trace { sim.trace = Trace() }
    let box = METISRun()
    let ctx = TrialContext(simulation: sim, seed: seed, trial: trial,
                           site: SiteLocation(name: "armazones", latitudeDegrees: -24.5899, longitudeDegrees: -70.1918, elevationMetres: 3060),
                           epochUnixSeconds: epochUnixSeconds, nightsUnixSeconds: [], fidelity: fidelity, keepsDetail: false)
    _ = sim.process("trial") {
        let session = try METISSession(context: ctx, parameters: parameters)
        box.session = session
        for t in templates {
            try await session.run(t)
            if !session.outcome.isCompleted { break }
        }
        box.result = session.result
        box.duration = sim.now
    }
    try sim.run()
    box.steps = sim.steps
    sim.shutDown()
    return box
}

private func run(_ template: any Action<METISSession>, seed: UInt64 = 3, trial: UInt64 = 0, fidelity: DetectorFidelity = .roiPixels) throws -> METISRun {
    try runMETIS([template], seed: seed, trial: trial, fidelity: fidelity)
}

@Suite struct METISChopperHomeTests {
    static let documentSteps = [
        "Setup WCU", "Move periscopic arm to IN", "Set temperature of the blackbody to specified temperature",
        "Wait for about 45 minutes (warming up time)", "Set WCU-FP2.1 to LM-pinhole", "Set WCU-PP1 to ELT mask", "Check the power readout",
        "Set WCU-BB-aperture-mask to CLOSE", "take background measurement", "Set WCU-BB-aperture-mask to OPEN",
        "Setup CFO and subsystems", "Set CFO-PP1 to PPS-CFO1", "Set CFO-FP2 to FIELD-11", "Set LMS beamsplitter pickoff wheel to OUT",
        "Set the IMG-LM mask to SPM-LM", "Set the IMG-LM science filter to the specified filter",
        "Set the IMG-LM neutral density filter to the specified filter",
        "Start Exposure", "Start exposures with the IMG-LM with the requested DIT and NDIT",
        "End Exposure", "Collect headers", "Send file to ESO Archive",
    ]

    @Test func documentOrderOfSteps() throws {
        let p = try metisTemplate(ChopperHomeTemplate.self)
        let r = try run(p, fidelity: .timing)
        #expect(r.result?.outcome == .completed)
        let seen = r.steps.filter { Self.documentSteps.contains($0.name) }
        #expect(seen.map(\.name) == Self.documentSteps)
        // Each step starts no earlier than the one before it, and each block ends before the next begins.
        for (a, b) in zip(seen, seen.dropFirst()) { #expect(b.start >= a.start) }
        func block(_ name: String) -> StepRecord { seen.first { $0.name == name }! }
        #expect(block("Setup WCU").end <= block("Setup CFO and subsystems").start)
        #expect(block("Setup CFO and subsystems").end <= block("Start Exposure").start)
        #expect(block("Start Exposure").end <= block("End Exposure").start)
        // The warm-up dominates: about 45 min of a ~47 min procedure (seed 000, "about 45 minutes"); each
        // warm-up's time constant spreads by 10 % (Blackbody.Parameters.metisWCU): 2700 s ± 4 × 264 s.
        let wait = block("Wait for about 45 minutes (warming up time)")
        #expect(abs(wait.duration - 2700) < 4 * 0.1 * 2640)
        #expect(wait.duration / r.duration > 0.9)
    }

    /// With common random numbers the parallel plan saves exactly the CFO block's duration whenever that
    /// block is shorter than the warm-up (it then hides entirely behind it).
    @Test func parallelCFOSetupSavesTheCFOBlock() throws {
        for trial in UInt64(0)..<5 {
            let doc = try run(metisTemplate(ChopperHomeTemplate.self), trial: trial, fidelity: .timing)
            let par = try run(metisTemplate(ChopperHomeTemplate.self, ["plan": .string("parallel-cfo-setup")]), trial: trial, fidelity: .timing)
            let cfo = doc.steps.first { $0.name == "Setup CFO and subsystems" }!.duration
            #expect(abs((doc.duration - par.duration) - cfo) < 1e-6)
            let parCFO = par.steps.first { $0.name == "Setup CFO and subsystems" }!
            let wait = par.steps.first { $0.name == "Wait for about 45 minutes (warming up time)" }!
            #expect(parCFO.start < wait.end)
        }
    }

    /// 400 K: ε·σ·A·(T⁴ − T_amb⁴) = 0.98 · 5.67e-8 W m⁻² K⁻⁴ · 5.07e-4 m² · (400⁴ − 300⁴) K⁴ = 0.49 W, below
    /// the 1 W detectable threshold: the procedure stops at the check with that outcome.
    @Test func undetectablePowerReadoutAborts() throws {
        let p = try metisTemplate(ChopperHomeTemplate.self, ["bb_temperature": .number(400)])
        let r = try run(p, fidelity: .timing)
        #expect(r.result?.outcome == .aborted("no_power_readout"))
        #expect(r.steps.contains { $0.name == "Check the power readout" })
        #expect(!r.steps.contains { $0.name == "Set WCU-BB-aperture-mask to CLOSE" || $0.name == "Start Exposure" })
        // The default 1000 K is detectable.
        let ok = try run(metisTemplate(ChopperHomeTemplate.self), fidelity: .timing)
        #expect(ok.result?.outcome == .completed)
    }

    /// The chopper's [U] parameters reach the budget: 1 mas repeatability is that term; no drift, no drift
    /// term; a 10 s drift time constant has settled long before the exposure (≈ 45 min after power-on).
    @Test func chopperParametersReachTheBudget() throws {
        let mas = 1.0 / 3_600_000
        let p = try metisTemplate(ChopperHomeTemplate.self, ["chopper_repeatability": .number(mas), "chopper_drift": .number(0)])
        let m = try #require(try run(p, fidelity: .roiStatistics).result?.metrics)
        #expect(abs(m["chopper_home_budget_repeatability_mas"]! - 1) < 1e-9 && m["chopper_home_budget_drift_mas"] == 0)
        #expect(abs(m["chopper_home_budget_total_mas"]! - (1 + pow2(m["chopper_home_budget_lm_centroid_mas"]!)
                                                            + pow2(m["chopper_home_budget_wfs_centroid_mas"]!)).squareRoot()) < 1e-12)
        let q = try metisTemplate(ChopperHomeTemplate.self, ["chopper_drift": .number(mas), "chopper_drift_time_constant": .number(10)])
        #expect(try run(q, fidelity: .roiStatistics).result!.metrics["chopper_home_budget_drift_mas"]! < 1e-12)
        let slow = try metisTemplate(ChopperHomeTemplate.self, ["chopper_drift": .number(mas), "chopper_drift_time_constant": .number(3600)])
        // With τ = 1 h the ≈ 45 s from the exposure to the end still drift by ≈ 45/3600·e^(−0.75) ≈ 0.006 mas.
        let d = try run(slow, fidelity: .roiStatistics).result!.metrics["chopper_home_budget_drift_mas"]!
        #expect(d > 0.002 && d < 0.02, "\(d)")
    }

    func pow2(_ x: Double) -> Double { x * x }

    /// The measured home minus the true home, divided by the error budget's total (the two centroid fits'
    /// covariances, the repeatability and the drift in quadrature), is N(0, 1) per axis. 60 trials give 120
    /// values: the mean must be within 3/√120 = 0.27 of 0, the sample standard deviation within
    /// 3/√(2·119) = 0.19 of 1. The repeatability (0.1 mas) dominates the centroids (≈ 0.03 mas): dropping it
    /// from the total makes the standard deviation ≈ 3.
    @Test func chopperHomeErrorIsConsistentWithItsErrorBudget() throws {
        let p = try metisTemplate(ChopperHomeTemplate.self)
        var z: [Double] = []
        for trial in UInt64(0)..<60 {
            let r = try run(p, seed: 21, trial: trial)
            let m = try #require(r.result?.metrics)
            let s = try #require(m["chopper_home_budget_total_mas"])
            #expect(m["chopper_home_budget_repeatability_mas"] == Chopper.Parameters.metis.relativeSigmaMas)
            #expect(m["chopper_home_budget_lm_centroid_mas"]! > 0 && m["chopper_home_budget_wfs_centroid_mas"]! > 0)
            #expect(m["chopper_home_budget_drift_mas"]! > 0)
            z.append(m["chopper_home_error_x_mas"]! / s)
            z.append(m["chopper_home_error_y_mas"]! / s)
        }
        let n = Double(z.count)
        let mean = z.reduce(0, +) / n
        let sd = (z.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / (n - 1)).squareRoot()
        #expect(abs(mean) < 3 / n.squareRoot())
        #expect(abs(sd - 1) < 3 / (2 * (n - 1)).squareRoot())
    }
}

@Suite struct METISInternalFlatTemplateTests {
    static let valid: [String: String] = ["DET1 DIT": "1.3", "SEQ TIME": "13", "INS OPTI10 NAME": "L'"]

    @Test func tableIsTheDocumentsTable() {
        let t = METISInternalFlatTemplate.parameters
        #expect(t.count == 22)
        #expect(t.map(\.key).first == "DPR CATG" && t.map(\.key).last == "INS OPTI20 NAME")
        #expect(t.filter { !$0.hidden }.map(\.key) == ["DET1 DIT", "DET1 NDIT", "DET1 NCORRS NAME", "SEQ TIME", "SEQ NEXPO",
                                                       "INS OPTI9 NAME", "INS OPTI10 NAME", "INS OPTI11 NAME"])
        #expect(t.filter(\.noDefault).map(\.key) == ["DPR TECH", "DET1 DIT", "SEQ TIME", "INS OPTI10 NAME"])
        let f = METISInternalFlatTemplate.parameter("INS OPTI10 NAME")!
        #expect(f.allowed == .values(["L'", "H2Oice", "shortL", "IB4.05", "PAH3.3", "PAH3.3ref", "Br-alpha", "Br-alpharef", "M'",
                                      "CO(1-0)/ice", "COref", "HCIL-short", "HCIL-long"]))
        #expect(METISInternalFlatTemplate.parameter("INS OPTI3 NAME")!.defaultValue == "FIELD-11")
        #expect(METISInternalFlatTemplate.parameter("DET1 NDIT")!.allowed == .range(lower: 0, upper: nil))
        #expect(METISInternalFlatTemplate.parameter("DET1 NDIT")!.defaultValue == "1")
    }

    @Test func validInvocationResolvesDefaults() throws {
        for filter in ["L'", "CO(1-0)/ice", "Br-alpha"] {
            var inv = Self.valid
            inv["INS OPTI10 NAME"] = filter
            let v = try METISInternalFlatTemplate.resolve(inv).get()
            #expect(v["INS OPTI10 NAME"] == filter)
            #expect(v["SEQ NEXPO"] == "1" && v["INS OPTI11 NAME"] == "OPEN" && v["INS OPTI20 NAME"] == "LM-pinhole")
            #expect(v["DPR TECH"] == "IMAGE" && v["SEQ WCU_BB_TEMP"] == "TEMP-L")
        }
    }

    @Test func everyKindOfErrorAtOnce() {
        var inv = Self.valid
        inv.removeValue(forKey: "SEQ TIME")                 // NODEFAULT missing
        inv["DET1 DIT"] = "-1"                              // out of range
        inv["INS OPTI11 NAME"] = "ND6"                      // not in the list
        inv["INS OPTI3 NAME"] = "FIELD-11"                  // hidden, even with an allowed value
        inv["SEQ NEXPOS"] = "3"                             // unknown
        inv["DET1 NDIT"] = "two"                            // not a number
        guard case .failure(let e) = METISInternalFlatTemplate.resolve(inv) else { Issue.record("accepted"); return }
        #expect(e.errors == [
            .outOfRange(key: "DET1 DIT", value: "-1", range: "0..TBD"),
            .notANumber(key: "DET1 NDIT", value: "two", kind: "an integer"),
            .missingNoDefault(key: "SEQ TIME", label: "Total integration time (sec)"),
            .hiddenSetByUser(key: "INS OPTI3 NAME", label: "CFO FP2 mask/slit wheel"),
            .valueNotAllowed(key: "INS OPTI11 NAME", value: "ND6", allowed: ["OPEN", "ND1", "ND2", "ND3", "ND4", "ND5", "DARK"]),
            .unknownParameter(key: "SEQ NEXPOS", suggestion: ["SEQ NEXPO"]),
        ])
        #expect(e.description.contains("`ND6` is not allowed; allowed: `OPEN`, `ND1`"))
        #expect(e.description.contains("did you mean `SEQ NEXPO`?"))
    }

    @Test func hiddenKeysInAnOBAreRejectedWithTheirPath() throws {
        let valid: [String: ParameterValue] = ["DET1 DIT": .number(1.3), "SEQ TIME": .number(13), "INS OPTI10 NAME": .string("L'")]
        #expect((try? metisTemplate(InternalFlatTemplate.self, valid)) != nil)
        var c = valid
        c["DPR CATG"] = .string("TEST")
        c["INS OPTI17 NAME"] = .string("IN")
        do {
            _ = try metisTemplate(InternalFlatTemplate.self, c)
            Issue.record("a hidden key was accepted")
        } catch let e as ConfigurationError {
            #expect(e.path == "test.parameters.DPR CATG")
            #expect(e.message.contains("`DPR CATG`, `INS OPTI17 NAME`"))
        } catch { Issue.record("unexpected \(error)") }
        // The OB's keys are the table's: a visible NODEFAULT row is required, a hidden row optional.
        let specs = Dictionary(uniqueKeysWithValues: InternalFlatTemplate.keys.map { ($0.key, $0) })
        #expect(specs["DET1 DIT"]?.requirement == .required)
        #expect(specs["DPR CATG"]?.requirement == .optional)
        #expect(specs["INS OPTI10 NAME"]?.type == .choice(["L'", "H2Oice", "shortL", "IB4.05", "PAH3.3", "PAH3.3ref", "Br-alpha",
                                                            "Br-alpharef", "M'", "CO(1-0)/ice", "COref", "HCIL-short", "HCIL-long"]))
    }
}

@Suite struct METISInternalFlatTests {
    func procedure(nexpo: Int) throws -> InternalFlatTemplate {
        try metisTemplate(InternalFlatTemplate.self, [
            "DET1 DIT": .number(1.3), "SEQ TIME": .number(13), "INS OPTI10 NAME": .string("L'"),
            "INS OPTI11 NAME": .string("ND4"), "SEQ NEXPO": .integer(nexpo), "flat_window": .integer(48),
        ])
    }

    /// One exposure: the master flat's error is the per-pixel noise of one flat, √(S + RN² + g²/12)/S for
    /// S electrons (read noise 15 e⁻, gain 2.5 e⁻/ADU, REFERENCES.md §5.2); the off frames (3, read noise
    /// only) add < 0.1 % of it. The RMS over 48² pixels has a relative standard error 1/√(2·2304) = 1.5 %;
    /// tolerance 3 SE.
    @Test func singleExposureErrorIsThePixelNoise() throws {
        let r = try run(procedure(nexpo: 1))
        let m = try #require(r.result?.metrics)
        let s = m["flat_level_fraction_full_well"]! * 1e5
        let expected = 100 * (s + 15 * 15 + 2.5 * 2.5 / 12).squareRoot() / s
        #expect(abs(m["master_flat_error_pct"]! / expected - 1) < 3 / (2 * 48.0 * 48).squareRoot())
        // The template's positions were applied: the warm-up and the exposures set the duration.
        #expect(r.steps.contains { $0.name == "CFO-FP2 to FIELD-11" || $0.name == "Set INS OPTIn NAME positions" })
    }

    @Test func errorFallsWithNEXPO() throws {
        let one = try run(procedure(nexpo: 1)).result!.metrics["master_flat_error_pct"]!
        let nine = try run(procedure(nexpo: 9)).result!.metrics["master_flat_error_pct"]!
        // A median of 9 has variance π/2·σ²/9 asymptotically (larger for small n): between 1/3 and
        // √(π/2)/3 ≈ 0.42 of one frame's error, plus 3 SE of slack (5 %).
        #expect(nine / one > 1.0 / 3 * 0.95 && nine / one < (Double.pi / 2).squareRoot() / 3 * 1.05, "ratio \(nine / one)")
    }
}

@Suite struct METISDistortionTests {
    @Test func documentFlowAndSeries() throws {
        let p = try metisTemplate(LMDistortionTemplate.self, ["n_exposures": .integer(4), "offset_grid": .integer(2)])
        let r = try run(p, fidelity: .roiStatistics)
        #expect(r.result?.outcome == .completed)
        let warm = r.steps.first { $0.name == "Warm up WCU BB" }!
        let setup = r.steps.first { $0.name == "Setup instrument for the observing mode and insert grid into WCU FP1" }!
        #expect(setup.start < warm.end)                       // set up while waiting for the warm-up
        let close = r.steps.first { $0.name == "Close WCU BB shutters" }!
        let bg = r.steps.first { $0.name == "Take a background measurement" }!
        let open = r.steps.first { $0.name == "Open WCU BB shutters" }!
        #expect(close.start >= warm.end && bg.start >= close.end && open.start >= bg.end)
        #expect(r.steps.filter { $0.name == "Grid exposure" }.count == 4 * 4)
        #expect(r.steps.filter { $0.name == "Move grid by known offsets in the field using the chopper" }.count == 3)
        // The IRDB grid puts 48 holes on IMG-LM at home (16 of the main grid, the 8-hole ring, the fine grid's 24).
        #expect(r.result!.metrics["n_pinholes"]! >= 4 * 48)
    }

    /// The pixel pipeline (windows, background subtraction, flat fielding, Gaussian fits) on the IFU's
    /// small field recovers the pixel scale: the LMS sub-grid's 0.1656″ pitch in 8.2 mas pixels.
    @Test func pixelPipelineRecoversThePixelScale() throws {
        let p = try metisTemplate(IFUDistortionTemplate.self, ["n_exposures": .integer(2)])
        let r = try run(p, fidelity: .roiPixels)
        let m = try #require(r.result?.metrics)
        #expect(m["n_pinholes"] == 24)            // the IRDB's fine grid lacks one of its 5 × 5 holes
        // The centroid error per hole (~0.02 mas) over a 0.33″ lever arm bounds the scale error to ~1e-4.
        #expect(abs(m["pixel_scale_mas"]! / 8.2 - 1) < 1e-3)
        #expect(m["distortion_rms_mas"]! < m["centroid_sigma_mas"]! * 10)
    }

    @Test func saturatedPinholesAbort() throws {
        let p = try metisTemplate(LMDistortionTemplate.self, ["nd_filter": .string("OPEN")])
        #expect(try run(p, fidelity: .roiStatistics).result?.outcome == .aborted("saturated"))
    }

    @Test func filterMustBelongToTheImager() {
        #expect(throws: ConfigurationError.self) {
            try metisTemplate(LMDistortionTemplate.self, ["filter": .string("N2")])
        }
    }
}

/// Both fidelities on the same pinhole: roi-statistics draws a Gaussian of `statisticsCentroidSigmaPixels`,
/// roi-pixels renders the window and a background frame with Poisson and read noise, subtracts the frame
/// and fits (`ChopperHomeTemplate.centroid`). 2000 realisations give 4000 per-axis errors; the sample standard
/// deviation of n normal values has a relative standard error 1/√(2(n−1)) = 1.1 %, tolerance 3 SE. The
/// pinhole is background-noise dominated (L′-like: PSF σ 1.6 px, 5000 e⁻, 300 e⁻ per pixel in each
/// frame, read noise 15 e⁻), where Thompson's closed form is optimistic.
@Suite struct DistortionBudgetTests {
    /// The IMG-LM holes of the IRDB grid at their error-free detector positions.
    static func lmHoles() -> (truth: OpticalDistortion, design: [WCUPinholeGrid.Hole], det: [(x: Double, y: Double)]) {
        let truth = OpticalDistortion(pixelScaleArcsec: 0.00547, referencePixel: (1024, 1024))
        let design = WCUPinholeGrid.gridLM.holes.filter { abs($0.uArcsec) < 5.5 && abs($0.vArcsec) < 5.5 }
        return (truth, design, design.map { truth.detectorPosition(u: $0.uArcsec, v: $0.vArcsec) })
    }

    @Test func irdbGridIsTheMaskFile() {
        let g = WCUPinholeGrid.gridLM
        #expect(g.holes.count == 85)
        #expect(g.holes.contains { $0.uArcsec == 12.88 && $0.vArcsec == 0 } && g.holes.contains { $0.uArcsec == -7.93 && $0.vArcsec == -9.78 })
        // The main grid lacks its central 3 × 3 (the 1.36″ ring and the fine grid are there instead).
        #expect(!g.holes.contains { $0.uArcsec == 2.15 && $0.vArcsec == 0 })
        #expect(Self.lmHoles().design.count == 48)
        #expect(WCUPinholeGrid.gridLMS.holes.count == 24)
    }

    /// Mask errors e ~ N(0, σ) per axis pass through the linear least-squares fit as H·e, H the hat
    /// matrix of p = (n+1)(n+2)/2 terms per axis: at the N holes, E Σ|H·e|² = 2σ²·tr H = 2σ²p, so the
    /// mean square over the holes is 2σ²p/N. Σ|H·e|²/σ² is χ² with 2p degrees of freedom: R realisations
    /// average to it within 3/√(pR).
    @Test func maskErrorsEnterTheFitThroughTheHatMatrix() throws {
        let (truth, design, det) = Self.lmHoles()
        let order = 3, p = Double(PolynomialMapping2D.termCount(order: order)), n = Double(design.count)
        let sigma = 1e-3                                       // arcsec
        let clean = try DistortionFit.fit(detector: det, mask: design.map { ($0.uArcsec, $0.vArcsec) }, order: order,
                                          centre: truth.referencePixel, halfSize: 1024)
        let stream = RandomStream(key: [15, 3])
        let r = 200
        var meanSquare = 0.0
        for _ in 0..<r {
            let e = design.map { _ in (stream.gaussian(sigma: sigma), stream.gaussian(sigma: sigma)) }
            let noisy = try DistortionFit.fit(detector: det, mask: zip(design, e).map { ($0.uArcsec + $1.0, $0.vArcsec + $1.1) }, order: order,
                                              centre: truth.referencePixel, halfSize: 1024)
            let d = DistortionFit.rmsDifference({ noisy.mapping.map(x: $0, y: $1) }, { clean.mapping.map(x: $0, y: $1) }, over: det)
            meanSquare += d * d / Double(r)
        }
        let expected = 2 * sigma * sigma * p / n
        #expect(abs(meanSquare / expected - 1) < 3 / (p * Double(r)).squareRoot(), "\(meanSquare) vs \(expected)")
    }

    /// An injected distortion the polynomial can follow is recovered from error-free centroids: with the
    /// radial fifth-order term off, an order-3 fit leaves < 1 % of the distortion; with it on (3 mas at the
    /// corners), the order-3 fit cannot follow it and order 5 can.
    @Test func injectedDistortionIsRecovered() throws {
        let holes = Self.lmHoles(), design = holes.design
        var truth = holes.truth
        var samples: [(x: Double, y: Double)] = []
        for j in 0...20 { for i in 0...20 { samples.append((Double(i) * 2048 / 20, Double(j) * 2048 / 20)) } }
        func residual(_ t: OpticalDistortion, order: Int) throws -> Double {
            let det = design.map { t.detectorPosition(u: $0.uArcsec, v: $0.vArcsec) }
            let f = try DistortionFit.fit(detector: det, mask: design.map { ($0.uArcsec, $0.vArcsec) }, order: order, centre: t.referencePixel, halfSize: 1024)
            return DistortionFit.rmsDifference({ f.mapping.map(x: $0, y: $1) }, { t.skyPosition(x: $0, y: $1) }, over: samples)
        }
        let undistorted = OpticalDistortion(pixelScaleArcsec: 0.00547, referencePixel: (1024, 1024), k3PerArcsec2: 0, k5PerArcsec4: 0,
                                            p1PerArcsec: 0, p2PerArcsec: 0)
        let injected = DistortionFit.rmsDifference({ truth.skyPosition(x: $0, y: $1) }, { undistorted.skyPosition(x: $0, y: $1) }, over: samples)
        #expect(injected > 0.005)                              // > 5 mas RMS over the field
        truth.k5PerArcsec4 = 0
        let cubic = try residual(truth, order: 3)
        #expect(cubic < 0.01 * injected, "\(cubic) of \(injected)")
        truth.k5PerArcsec4 = 1e-7
        let third = try residual(truth, order: 3), fifth = try residual(truth, order: 5)
        #expect(third > 5 * cubic && fifth < third / 10, "\(cubic) \(third) \(fifth) of \(injected)")
    }

    /// Per trial the distortion RMS is the term budget's quadrature sum up to cross terms that average to
    /// zero: over 30 trials the mean of (rms² − Σ term²)/rms² is within 3 standard errors of 0. With 3 µm
    /// holes (0.9 mas per axis) and four chopper positions, the mask or the chopper term dominates (the
    /// chopper's 0.1 mas per-position error moves whole subsets of holes, which the polynomial turns into
    /// 0.4–1 mas at the field's edges); without chopper offsets the mask term does, and with the default
    /// 50 nm holes the polynomial's own error does.
    @Test func distortionTermsAddInQuadratureAndNameTheDominantOne() throws {
        func config(_ o: [String: ParameterValue]) throws -> LMDistortionTemplate {
            try metisTemplate(LMDistortionTemplate.self, o.merging(["n_exposures": .integer(2)]) { a, _ in a })
        }
        let rough = try config(["offset_grid": .integer(2), "hole_position_error": .number(3e-6)])
        var ratios: [Double] = []
        for trial in UInt64(0)..<30 {
            let m = try #require(try run(rough, seed: 9, trial: trial, fidelity: .roiStatistics).result?.metrics)
            let rms = m["distortion_rms_mas"]!
            let terms = ["model", "centroid", "mask", "chopper", "pixel_response"].map { m["distortion_term_\($0)_mas"]! }
            ratios.append((rms * rms - terms.reduce(0) { $0 + $1 * $1 }) / (rms * rms))
            #expect(m["distortion_dominant_term"] == 2 || m["distortion_dominant_term"] == 3, "\(terms)")
            #expect(terms[3] > 0)
        }
        let n = Double(ratios.count), mean = ratios.reduce(0, +) / n
        let sd = (ratios.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / (n - 1)).squareRoot()
        #expect(abs(mean) < 3 * sd / n.squareRoot(), "\(mean) ± \(sd / n.squareRoot())")
        let still = try #require(try run(config(["hole_position_error": .number(3e-6)]), fidelity: .roiStatistics).result?.metrics)
        #expect(still["distortion_dominant_term"] == 2 && still["distortion_term_chopper_mas"] == 0)
        let fine = try #require(try run(config([:]), fidelity: .roiStatistics).result?.metrics)
        #expect(fine["distortion_dominant_term"] == 0 && fine["distortion_term_chopper_mas"] == 0)
    }

    /// A residual flat gradient g moves every centroid by g σ² on both axes: the fit's mapping is then off
    /// by that shift everywhere, √2 g σ² pixels on the sky (the Jacobian is the pixel scale to 10⁻³ over the
    /// field); the intra-pixel part of a Nyquist-sampled pinhole adds nothing measurable. The term is the
    /// same at both fidelities, as the bias is deterministic; even at the range's top (10⁻³ px⁻¹, 0.02 mas)
    /// it stays below the order-3 polynomial's own error, which keeps the lead.
    @Test func pixelResponseTermIsTheGradientShift() throws {
        let g = 1e-3
        let t = try metisTemplate(LMDistortionTemplate.self, ["n_exposures": .integer(2), "flat_gradient_residual": .number(g),
                                                              "intrapixel_amplitude": .number(0.3)])
        let s = t.distortion.psfSigmaPixels
        let expected = 2.0.squareRoot() * g * s * s * 5.47
        for fidelity in [DetectorFidelity.roiStatistics, .roiPixels] {
            let m = try #require(try run(t, fidelity: fidelity).result?.metrics)
            #expect(abs(m["distortion_term_pixel_response_mas"]! / expected - 1) < 0.01, "\(fidelity): \(m["distortion_term_pixel_response_mas"]!) vs \(expected)")
            #expect(m["distortion_dominant_term"] == 0)
        }
        let off = try metisTemplate(LMDistortionTemplate.self, ["n_exposures": .integer(2), "flat_gradient_residual": .number(0),
                                                                "intrapixel_amplitude": .number(0)])
        let m = try #require(try run(off, fidelity: .roiStatistics).result?.metrics)
        #expect(m["distortion_term_pixel_response_mas"]! < 1e-9)
    }
}

@Suite struct CentroidFidelityTests {
    @Test func statisticsScatterEqualsThePixelFit() throws {
        let s = 1.6, electrons = 5000.0, bgE = 300.0, rn = 15.0, gain = 2.5
        let stream = RandomStream(key: [0x46494445, 15])
        let half = max(4, Int((4 * s).rounded(.up)) + 1)
        var errors: [Double] = []
        for _ in 0..<2000 {
            let x = 50 + stream.uniform(), y = 40 + stream.uniform()
            let rect = PixelRect(x0: Int(x) - half, y0: Int(y) - half, width: 2 * half + 1, height: 2 * half + 1)
            var rates = [Double](repeating: 0, count: rect.pixelCount)
            let scene = PointSourceScene(sources: [PointSource(x: x, y: y, photonsPerSecond: electrons, sigmaPixels: s)],
                                         backgroundPhotonsPerSecondPerPixel: bgE)
            rates.withUnsafeMutableBufferPointer { scene.addPhotonRates(into: $0, rect: rect) }
            let frame = rates.map { (Double(stream.poisson($0)) + stream.gaussian(sigma: rn)) / gain }
            let background = rates.map { _ in (Double(stream.poisson(bgE)) + stream.gaussian(sigma: rn)) / gain }
            let fit = try ChopperHomeTemplate.centroid(on: PixelWindow(rect: rect, values: frame), background: PixelWindow(rect: rect, values: background),
                                                    gain: gain, ndit: 1, sigmaPixels: s)
            errors.append(fit.x - x)
            errors.append(fit.y - y)
        }
        let n = Double(errors.count)
        let mean = errors.reduce(0, +) / n
        let sd = (errors.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / (n - 1)).squareRoot()
        let bgVar = 2 * (bgE + rn * rn)
        let statistics = METISDistortion.statisticsCentroidSigmaPixels(sigmaPixels: s, sourceElectrons: electrons, backgroundVarianceElectrons: bgVar)
        #expect(abs(sd / statistics - 1) < 3 / (2 * (n - 1)).squareRoot(), "pixel \(sd), statistics \(statistics)")
        #expect(abs(mean) < 3 * sd / n.squareRoot())
        // Thompson's closed form, the statistics path before, misses by more than the tolerance.
        let thompson = GaussianCentroid.expectedErrorPixels(sigmaPixels: s, sourceElectrons: electrons, backgroundVarianceElectrons: bgVar)
        #expect(thompson / sd < 1 - 3 / (2 * (n - 1)).squareRoot(), "thompson \(thompson), pixel \(sd)")
    }
}
