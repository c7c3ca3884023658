import Analysis
import Observatory
import SimKernel

/// METIS_img_lm_cal_InternalFlat (seed 000): the template executed from its parameter table.
///
/// An OB file writes the invocation as the template's parameters with the table's keys
/// (`DET1 DIT: 1.3`, `INS OPTI10 NAME: L'`; `InternalFlatTemplate`); the loader checks unknown keys,
/// allowed lists, ranges, NODEFAULT and hidden keys with file and line. `METISInternalFlatTemplate`
/// does the same for an invocation given as text (all problems at once).
///
/// Execution, where the document gives only the table (our reading, [U]):
/// 1. the WCU blackbody to TEMP-L (`temp_l`), while every INS OPTIn device moves to its value (the METIS
///    assembly maps the keys to devices) with the BB aperture mask CLOSE for the off frames;
/// 2. wait for the warm-up; SEQ WCU_OFF_NFRAMES off frames (aperture CLOSE);
/// 3. the aperture mask OPEN (INS OPTI19 NAME); SEQ NEXPO exposures of NDIT × DIT;
/// 4. pipeline: master off = median of the off frames; master flat = median of the off-subtracted,
///    self-normalised exposures (`MasterFrames.flat`), compared with the detector's true response.
/// The table puts WCU-FP2.1 at LM-pinhole (hidden, the only value): through a pinhole there would be no
/// flat field, so the mechanism is set as written but the light is the integrating sphere's open exit —
/// an inconsistency of the document, reported, not resolved.
/// SEQ TIME (NODEFAULT) is validated and written to the headers; the exposures are NEXPO × NDIT × DIT as
/// the table's other rows say (the document does not say how SEQ TIME relates to them).
struct METISInternalFlat: Procedure {
    static let name = "metis-internal-flat"
    static let summary = "METIS_img_lm_cal_InternalFlat: the template table validated and executed; master flat against the true pixel response."
    static let schema = ProcedureSchema(
        parameters: METISInternalFlatTemplate.scenarioSpecs + [
            ParameterSpec("temp_l", .quantity(.temperature), .defaultValue(.number(1000)), min: 300, max: 1400,
                          doc: "TEMP-L, the WCU BB temperature for the L-band filters; 1000 K (REFERENCES.md §5.3 default) [U]."),
            ParameterSpec("flat_window", .integer, .defaultValue(.integer(64)), min: 8, max: 2048,
                          doc: "Side (px) of the square window at the detector centre simulated at roi-pixels fidelity; 64 [U]."),
        ],
        instrumentPresets: ["metis"],
        faults: METISSupport.faultSpecs,
        metrics: [
            MetricSpec("master_flat_error_pct", unit: "%", doc: "RMS of master flat / true pixel response − 1 (pixel fidelities only)."),
            MetricSpec("flat_level_fraction_full_well", unit: "1", doc: "Expected flat signal per DIT as a fraction of full well."),
            METISSupport.warmupMetric,
        ])

    /// Every value the template runs with, by table key.
    let values: [String: String]
    let dit: Double
    let ndit: Int
    let nexpo: Int
    let offFrames: Int
    let seqTime: Double
    let mode: String
    let filter: PassbandFilter
    let nd: NeutralDensity
    let tempL: Double
    let windowSide: Int
    let metisParameters: METIS.Parameters

    init(configuration c: ProcedureConfiguration) throws {
        let p = c.parameters
        let hiddenSet = METISInternalFlatTemplate.parameters.filter { $0.hidden && p["template.\($0.key)"] != nil }
        if let first = hiddenSet.first {
            throw ConfigurationError(path: "parameters.template.\(first.key)",
                                     "hidden parameter(s) " + hiddenSet.map { "`\($0.key)`" }.joined(separator: ", ")
                                        + " are set by the template, not by a user; remove them")
        }
        var v: [String: String] = [:]
        for row in METISInternalFlatTemplate.parameters {
            switch p["template.\(row.key)"] {
            case .string(let s)?: v[row.key] = s
            case .integer(let i)?: v[row.key] = String(i)
            case .number(let x)?: v[row.key] = NumberText.shortest(x)
            default: v[row.key] = row.effectiveDefault
            }
        }
        values = v
        dit = p.double("template.DET1 DIT")
        seqTime = p.double("template.SEQ TIME")
        ndit = p.int("template.DET1 NDIT")
        nexpo = p.int("template.SEQ NEXPO")
        offFrames = Int(v["SEQ WCU_OFF_NFRAMES"]!)!
        mode = v["DET1 NCORRS NAME"]!
        tempL = p.double("temp_l")
        windowSide = p.int("flat_window")
        var problems: [(String, String)] = []
        if ndit < 1 { problems.append(("parameters.template.DET1 NDIT", "NDIT 0 takes no integration; give at least 1")) }
        if nexpo < 1 { problems.append(("parameters.template.SEQ NEXPO", "NEXPO 0 takes no exposure; a master flat needs at least 1")) }
        if let m = try? DetectorModel.metisIMGLM().mode(named: mode), dit < m.minimumDITSeconds {
            problems.append(("parameters.template.DET1 DIT", "DIT \(NumberText.shortest(dit)) s is below the \(mode) mode's minimum DIT \(m.minimumDITSeconds) s"))
        }
        let filterName = v["INS OPTI10 NAME"] ?? ""
        let f = try? PassbandFilter.metis(named: filterName)
        if f == nil { problems.append(("parameters.template.INS OPTI10 NAME", "no passband modelled for `\(filterName)`")) }
        if let first = problems.first {
            throw ConfigurationError(path: first.0, problems.map(\.1).joined(separator: "; "))
        }
        filter = f!
        nd = NeutralDensity(rawValue: v["INS OPTI11 NAME"]!)!
        metisParameters = METISSupport.parameters(heaterFailure: c.faults.double("bb_heater_failure"),
                                                  shortfall: c.faults.double("bb_setpoint_shortfall"),
                                                  jam: c.faults.double("mechanism_jam"))
    }

    /// INS OPTIn NAME → position, as the template sets them.
    var templatePositions: [String: String] {
        values.filter { $0.key.hasPrefix("INS OPTI") }
    }

    func runTrial(_ ctx: TrialContext) async throws -> TrialResult {
        let sim = ctx.simulation
        let metis = try METIS(sim, parameters: metisParameters,
                              state: METISSupport.previousUseState(metisParameters, stream: sim.stream("METIS.initial-state")))
        let camera = METISCamera(sim, model: .metisIMGLM(), lane: "IMG-LM", epochMJD: ctx.epochMJD)
        let bb = metis.wcu.blackbody
        var metrics: [String: Double] = [:]
        let rect: PixelRect
        switch ctx.fidelity {
        case .fullFrame: rect = camera.model.imagingArea
        default: rect = camera.model.imagingArea.centred(width: windowSide, height: windowSide)
        }
        let pixels = ctx.fidelity == .roiPixels || ctx.fidelity == .fullFrame
        let fidelity: Fidelity? = ctx.fidelity == .timing ? nil : (pixels ? .windows([rect]) : .roiStatistics)
        var wcu = WCUSource()
        let header = [HeaderCard("TPL ID", METISInternalFlatTemplate.templateName)]
            + METISInternalFlatTemplate.parameters.compactMap { row in values[row.key].map { HeaderCard(row.key, $0) } }
            + [HeaderCard("SEQ TIME", seqTime, "[s] total integration time (template)")]
        var offs: [Image] = [], ons: [Image] = []
        var frames: [Frame] = []
        do {
            var positions = templatePositions
            positions["INS OPTI19 NAME"] = "CLOSE"
            try await sim.step("Set WCU BB to TEMP-L and the instrument to the template's positions", lane: "WCU", use: .lamp) {
                let setAt = sim.now
                bb.setTemperature(kelvin: tempL)
                try await sim.step("Set INS OPTIn NAME positions", lane: "METIS", use: .mechanism) { try await metis.apply(templatePositions: positions) }
                try await sim.step("Wait for the WCU BB warm-up", lane: "WCU", use: .lamp) { try await bb.waitUntilReadyRetryingHeater() }
                metrics["warmup_s"] = sim.now - setAt
            }
            wcu.blackbodyKelvin = bb.temperatureKelvin
            wcu.apertureMaskOpen = false
            let offLight = Illumination(photonsPerSecondPerPixel: wcu.flatPhotonsPerSecondPerPixel(filter: filter, nd: nd, pixelScaleArcsec: camera.model.pixelScaleArcsec))
            try await sim.step("SEQ WCU_OFF_NFRAMES WCU off frames", lane: "IMG-LM", use: .other) {
                for k in 0..<offFrames {
                    let r = try await camera.expose(step: "WCU off frame", ditSeconds: dit, ndit: ndit, modeName: mode, illumination: offLight,
                                                    fidelity: fidelity, header: header.filter { $0.key != "DPR TYPE" } + [HeaderCard("DPR TYPE", "DARK,WCUOFF")])
                    if pixels, let w = r?.windows.first { offs.append(w.image) }
                    if ctx.keepsDetail, k == 0, let f = r?.frame(name: "0001_INTERNALFLAT_OFF") { frames.append(f) }
                }
            }
            try await sim.step("Set WCU-BB-aperture-mask to OPEN (INS OPTI19 NAME)", lane: "WCU", use: .mechanism) {
                try await metis.wcu.bbApertureMask.move(to: values["INS OPTI19 NAME"]!)
            }
            wcu.apertureMaskOpen = true
            let rate = wcu.flatPhotonsPerSecondPerPixel(filter: filter, nd: nd, pixelScaleArcsec: camera.model.pixelScaleArcsec)
            let m = try camera.model.mode(named: mode)
            metrics["flat_level_fraction_full_well"] = (rate * camera.model.quantumEfficiency + camera.model.darkCurrentElectronsPerSecond) * dit / m.fullWellElectrons
            try await sim.step("SEQ NEXPO exposures of NDIT × DIT", lane: "IMG-LM", use: .other) {
                for k in 0..<nexpo {
                    let r = try await camera.expose(step: "Flat exposure", ditSeconds: dit, ndit: ndit, modeName: mode,
                                                    illumination: Illumination(photonsPerSecondPerPixel: rate), fidelity: fidelity, header: header)
                    if pixels, let w = r?.windows.first { ons.append(w.image) }
                    if ctx.keepsDetail, k == 0, let f = r?.frame(name: "0002_INTERNALFLAT_ON") { frames.append(f) }
                }
            }
        } catch {
            guard let outcome = METISSupport.outcome(for: error) else { throw error }
            return TrialResult(outcome: outcome, metrics: metrics)
        }
        if pixels, !ons.isEmpty, !offs.isEmpty {
            let masterOff = try MasterFrames.median(offs)
            let master = try MasterFrames.flat(ons, exposureSeconds: dit, masterBias: masterOff)
            let truth = Image(width: rect.width, height: rect.height, values: camera.response(rect))
            metrics["master_flat_error_pct"] = try MasterFrames.flatErrorPercent(master: master, truth: truth)
        }
        return TrialResult(outcome: .completed, metrics: metrics, frames: frames)
    }
}
