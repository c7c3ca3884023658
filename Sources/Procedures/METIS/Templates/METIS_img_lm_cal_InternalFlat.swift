import Analysis
import Observatory
import SimKernel

/// METIS_img_lm_cal_InternalFlat (seed 000): the template executed from its parameter table.
///
/// An OB file writes the invocation as the template's parameters with the table's keys
/// (`DET1 DIT: 1.3`, `INS OPTI10 NAME: L'`); the loader checks unknown keys,
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
struct InternalFlatTemplate: METISTemplate {
    static let name = METISInternalFlatTemplate.templateName
    static let summary = "The InternalFlat template table (`DET1 DIT`, `SEQ NEXPO`, `INS OPTI10 NAME`, …) executed; master flat accuracy."

    static let det1DIT: Key<Double> = METISInternalFlatTemplate.key("DET1 DIT")
    static let det1NDIT: Key<Int> = METISInternalFlatTemplate.key("DET1 NDIT")
    static let seqTimeKey: Key<Double> = METISInternalFlatTemplate.key("SEQ TIME")
    static let seqNEXPO: Key<Int> = METISInternalFlatTemplate.key("SEQ NEXPO")
    static let tempLKey = Key<Double>("temp_l", .quantity(.temperature), .defaultValue(.number(1000)), min: 300, max: 1400,
                                      doc: "TEMP-L, the WCU BB temperature for the L-band filters; 1000 K (REFERENCES.md §5.3 default) [U].")
    static let flatWindow = Key<Int>("flat_window", .integer, .defaultValue(.integer(64)), min: 8, max: 2048,
                                     doc: "Side (px) of the square window at the detector centre simulated at roi-pixels fidelity; 64 [U].")
    static let keys = METISInternalFlatTemplate.keySpecs + [tempLKey.spec, flatWindow.spec]

    static let metrics = [
        MetricSpec("master_flat_error_pct", unit: "%", doc: "RMS of master flat / true pixel response − 1 (pixel fidelities only)."),
        MetricSpec("flat_level_fraction_full_well", unit: "1", doc: "Expected flat signal per DIT as a fraction of full well."),
        METISSession.warmupMetric,
    ]

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

    init(configuration c: ActionConfiguration) throws {
        let p = c.values
        let hiddenSet = METISInternalFlatTemplate.parameters.filter { $0.hidden && p[$0.key] != nil }
        if let first = hiddenSet.first {
            throw ConfigurationError(path: "\(c.path).parameters.\(first.key)",
                                     "hidden parameter(s) " + hiddenSet.map { "`\($0.key)`" }.joined(separator: ", ")
                                        + " are set by the template, not by a user; remove them")
        }
        var v: [String: String] = [:]
        for row in METISInternalFlatTemplate.parameters {
            switch p[row.key] {
            case .string(let s)?: v[row.key] = s
            case .integer(let i)?: v[row.key] = String(i)
            case .number(let x)?: v[row.key] = NumberText.shortest(x)
            default: v[row.key] = row.effectiveDefault
            }
        }
        values = v
        dit = c[Self.det1DIT]
        seqTime = c[Self.seqTimeKey]
        ndit = c[Self.det1NDIT]
        nexpo = c[Self.seqNEXPO]
        offFrames = Int(v["SEQ WCU_OFF_NFRAMES"]!)!
        mode = v["DET1 NCORRS NAME"]!
        tempL = c[Self.tempLKey]
        windowSide = c[Self.flatWindow]
        var problems: [(String, String)] = []
        if ndit < 1 { problems.append((c.path(Self.det1NDIT), "NDIT 0 takes no integration; give at least 1")) }
        if nexpo < 1 { problems.append((c.path(Self.seqNEXPO), "NEXPO 0 takes no exposure; a master flat needs at least 1")) }
        if let m = try? DetectorModel.metisIMGLM().mode(named: mode), dit < m.minimumDITSeconds {
            problems.append((c.path(Self.det1DIT), "DIT \(NumberText.shortest(dit)) s is below the \(mode) mode's minimum DIT \(m.minimumDITSeconds) s"))
        }
        let filterName = v["INS OPTI10 NAME"] ?? ""
        let f = try? PassbandFilter.metis(named: filterName)
        if f == nil { problems.append(("\(c.path).parameters.INS OPTI10 NAME", "no passband modelled for `\(filterName)`")) }
        if let first = problems.first {
            throw ConfigurationError(path: first.0, problems.map(\.1).joined(separator: "; "))
        }
        filter = f!
        nd = NeutralDensity(rawValue: v["INS OPTI11 NAME"]!)!
    }

    /// INS OPTIn NAME → position, as the template sets them.
    var templatePositions: [String: String] {
        values.filter { $0.key.hasPrefix("INS OPTI") }
    }

    func run(in session: METISSession) async throws {
        let ctx = session.context
        let sim = session.sim
        let metis = session.metis
        let camera = session.camera("IMG-LM", .metisIMGLM())
        let bb = metis.wcu.blackbody
        // What this template measures, given to the session however the template ends.
        var metrics: [String: Double] = [:]
        var frames: [Frame] = []
        defer {
            session.metrics.merge(metrics) { _, b in b }
            session.frames += frames
        }
        // The flat-field window; a full frame is the whole imaging area.
        let centre = camera.model.imagingArea.centred(width: windowSide, height: windowSide)
        let fidelity = session.fidelity(.pixelsOrStatistics, windows: [centre], fullFrame: [camera.model.imagingArea])
        let rect: PixelRect
        if case .windows(let simulated)? = fidelity { rect = simulated[0] } else { rect = centre }
        let pixels = session.hasPixels
        var wcu = WCUSource()
        let header = [HeaderCard("TPL ID", METISInternalFlatTemplate.templateName)]
            + METISInternalFlatTemplate.parameters.compactMap { row in values[row.key].map { HeaderCard(row.key, $0) } }
            + [HeaderCard("SEQ TIME", seqTime, "[s] total integration time (template)")]
        var offs: [Image] = [], ons: [Image] = []
        do {    // The template's flow (a scope: the pipeline below needs only what it measured).
            var positions = templatePositions
            positions["INS OPTI19 NAME"] = "CLOSE"
            try await sim.step("Set WCU BB to TEMP-L and the instrument to the template's positions", lane: "WCU", use: .lamp) {
                session.setBlackbody(kelvin: tempL)
                try await sim.step("Set INS OPTIn NAME positions", lane: "METIS", use: .mechanism) { try await session.apply(templatePositions: positions) }
                try await sim.step("Wait for the WCU BB warm-up", lane: "WCU", use: .lamp) { try await session.waitForBlackbody() }
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
                try await session.move("WCU-BB-aperture-mask", to: values["INS OPTI19 NAME"]!)
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
        }
        if pixels, !ons.isEmpty, !offs.isEmpty {
            let masterOff = try MasterFrames.median(offs)
            let master = try MasterFrames.flat(ons, exposureSeconds: dit, masterBias: masterOff)
            let truth = Image(width: rect.width, height: rect.height, values: camera.response(rect))
            metrics["master_flat_error_pct"] = try MasterFrames.flatErrorPercent(master: master, truth: truth)
        }
    }
}
