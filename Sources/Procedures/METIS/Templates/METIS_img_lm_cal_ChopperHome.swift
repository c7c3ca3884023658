import Analysis
import Observatory
import SimKernel

/// METIS_img_lm_cal_ChopperHome (seed 000): the chopper home position measured as the offset between the
/// WCU LM-pinhole seen in K band by the SCAO WFS (before the chopper) and in L band by IMG-LM (after it).
///
/// The four blocks run as written: Setup WCU, Setup CFO and subsystems, Start Exposure, End Exposure. The
/// plan `parallel-cfo-setup` runs the second block while the blackbody warms (it moves only CFO, LMS and
/// IMG-LM devices, none of the WCU's); `document-order` runs it after. Choices where the document is
/// silent, all [U]:
/// - the chopper is powered on at the start, alongside the setup (a home exists only once it is powered);
/// - the K-band reference is taken by the WFS during the IMG-LM exposure (lane SCAO), DIT `wfs_dit` ×
///   NDIT `wfs_ndit`;
/// - the power readout is the blackbody's own (before the aperture mask, which may still be CLOSE);
/// - the background frame is subtracted from the L-band frame before the centroid fit.
struct ChopperHomeTemplate: METISTemplate {
    static let name = "METIS_img_lm_cal_ChopperHome"
    static let summary = "Chopper home offset from the LM-pinhole on IMG-LM and the SCAO WFS (seed 000)."
    static let plans = ["document-order", "parallel-cfo-setup"]
    static let lmFilters = PassbandFilter.metis.filter { $0.centralMicrons < 5.5 }.map(\.name)

    static let plan = Key<String>("plan", .choice(plans), .defaultValue(.string("document-order")),
                                  doc: "document-order, or parallel-cfo-setup: the CFO block while the blackbody warms ([U] planning option).")
    static let bbTemperature = Key<Double>("bb_temperature", .quantity(.temperature), .defaultValue(.number(1000)), min: 300, max: 1400,
                                           doc: "Requested WCU blackbody temperature; default 1000 K (REFERENCES.md §5.3); range [U].")
    static let filterKey = Key<String>("filter", .choice(lmFilters), .defaultValue(.string("L'")),
                                       doc: "IMG-LM science filter (the modelled passbands); L' [U].")
    static let ndFilter = Key<String>("nd_filter", .choice(NeutralDensity.allCases.map(\.rawValue)), .defaultValue(.string("ND4")),
                                      doc: "IMG-LM neutral density filter; ND4 [U] keeps the 1000 K pinhole below full well in 10 s.")
    static let ditKey = Key<Double>("dit", .quantity(.time), .defaultValue(.number(10)), min: 0.04, max: 3600,
                                    doc: "IMG-LM DIT; 10 s (METIS_Simulations ChopperHome template, REFERENCES.md §5.3).")
    static let nditKey = Key<Int>("ndit", .integer, .defaultValue(.integer(1)), min: 1, max: 1000,
                                  doc: "IMG-LM NDIT; 1 (REFERENCES.md §5.3).")
    static let readoutMode = Key<String>("readout_mode", .choice(["SLOW", "FAST"]), .defaultValue(.string("SLOW")),
                                         doc: "IMG-LM readout mode (REFERENCES.md §5.2); SLOW [U].")
    static let wfsDITKey = Key<Double>("wfs_dit", .quantity(.time), .defaultValue(.number(0.05)), min: 0.001, max: 10,
                                       doc: "SCAO WFS DIT for the K-band reference; 0.05 s [U] (peak below full well).")
    static let wfsNDITKey = Key<Int>("wfs_ndit", .integer, .defaultValue(.integer(20)), min: 1, max: 1000, doc: "SCAO WFS NDIT; 20 [U].")
    static let headerCollectionTime = Key<Double>("header_collection_time", .quantity(.time), .defaultValue(.number(5)), min: 0,
                                                  doc: "End Exposure: collect headers; 5 s [U].")
    static let archiveTransferTime = Key<Double>("archive_transfer_time", .quantity(.time), .defaultValue(.number(30)), min: 0,
                                                 doc: "End Exposure: send the file to the ESO Archive; 30 s [U].")
    static let windowHalfWidth = Key<Int>("window_half_width", .integer, .defaultValue(.integer(24)), min: 8, max: 200,
                                          doc: "Half-width (px) of the simulated windows around the pinhole images; 24 [U] (covers a 3σ home offset).")
    static let keys = [plan.spec, bbTemperature.spec, filterKey.spec, ndFilter.spec, ditKey.spec, nditKey.spec, readoutMode.spec,
                       wfsDITKey.spec, wfsNDITKey.spec, headerCollectionTime.spec, archiveTransferTime.spec, windowHalfWidth.spec]
        + METISChopperKeys.specs

    static let metrics = [
        MetricSpec("chopper_home_error_mas", unit: "mas", doc: "|measured − true| chopper home offset on the sky."),
        MetricSpec("chopper_home_error_x_mas", unit: "mas", doc: "Measured − true home offset, x."),
        MetricSpec("chopper_home_error_y_mas", unit: "mas", doc: "Measured − true home offset, y."),
        MetricSpec("chopper_home_expected_sigma_mas", unit: "mas", doc: "Per-axis error expected from the two centroid fits' covariances."),
        MetricSpec("chopper_home_budget_lm_centroid_mas", unit: "mas", doc: "Error budget per axis: IMG-LM centroid (fit covariance)."),
        MetricSpec("chopper_home_budget_wfs_centroid_mas", unit: "mas", doc: "Error budget per axis: SCAO WFS centroid (fit covariance)."),
        MetricSpec("chopper_home_budget_repeatability_mas", unit: "mas", doc: "Error budget per axis: the chopper's repeatability reaching home."),
        MetricSpec("chopper_home_budget_drift_mas", unit: "mas", doc: "Error budget per axis: thermal drift from the exposure to the template's end."),
        MetricSpec("chopper_home_budget_total_mas", unit: "mas", doc: "Error budget per axis: quadrature sum of the terms."),
        METISSession.warmupMetric,
    ]

    let parallelCFO: Bool
    let bbKelvin: Double
    let filter: PassbandFilter
    let nd: NeutralDensity
    let dit: Double
    let ndit: Int
    let mode: String
    let wfsDIT: Double
    let wfsNDIT: Int
    let headerSeconds: Double
    let archiveSeconds: Double
    let halfWidth: Int
    let chopper: Chopper.Parameters

    init(configuration c: ActionConfiguration) throws {
        parallelCFO = c[Self.plan] == "parallel-cfo-setup"
        bbKelvin = c[Self.bbTemperature]
        guard let f = try? PassbandFilter.metis(named: c[Self.filterKey]) else {
            throw ConfigurationError(path: c.path(Self.filterKey), "no passband modelled for `\(c[Self.filterKey])`")
        }
        filter = f
        nd = NeutralDensity(rawValue: c[Self.ndFilter])!
        dit = c[Self.ditKey]; ndit = c[Self.nditKey]; mode = c[Self.readoutMode]
        wfsDIT = c[Self.wfsDITKey]; wfsNDIT = c[Self.wfsNDITKey]
        headerSeconds = c[Self.headerCollectionTime]; archiveSeconds = c[Self.archiveTransferTime]
        halfWidth = c[Self.windowHalfWidth]
        chopper = METISChopperKeys.parameters(c)
        let lm = DetectorModel.metisIMGLM()
        if let m = try? lm.mode(named: mode), dit < m.minimumDITSeconds {
            throw ConfigurationError(path: c.path(Self.ditKey), "DIT \(dit) s is below the \(mode) mode's minimum DIT \(m.minimumDITSeconds) s")
        }
    }

    func run(in session: METISSession) async throws {
        let sim = session.sim
        let metis = session.metis
        let start = sim.now
        let lmCamera = session.camera("IMG-LM", .metisIMGLM())
        let wfsCamera = session.camera("SCAO", .scaoWFSCamera())

        metis.chopper.parameters = chopper
        let chopperOn = sim.process("chopper power on") { try await metis.chopper.powerOn() }
        let cfo: SimProcess<Void>? = parallelCFO ? sim.process("Setup CFO and subsystems") { try await setupCFO(session) } : nil
        let bgWindow: PixelWindow?
        do {
            bgWindow = try await setupWCU(session, camera: lmCamera)
            if let cfo { try await cfo.value() } else { try await setupCFO(session) }
            try await chopperOn.value()
        } catch {
            if let cfo { await METISSession.settle(cfo) }
            await METISSession.settle(chopperOn)
            throw error
        }

        // Start Exposure: IMG-LM in L band, the SCAO WFS in K band at the same time; the chopper is where it
        // points at the exposure's midpoint (its drift over one exposure is < 10⁻³ of the drift amplitude).
        let measuredAt = sim.now + dit * Double(ndit) / 2
        let pointing = metis.chopper.truePosition(atSeconds: measuredAt)
        var views = ChopperHomeViews(chopperOffsetXArcsec: pointing.xMas / 1000, chopperOffsetYArcsec: pointing.yMas / 1000)
        views.lmPixelScaleArcsec = lmCamera.model.pixelScaleArcsec
        views.wfsPixelScaleArcsec = wfsCamera.model.pixelScaleArcsec
        var wcu = WCUSource()
        wcu.blackbodyKelvin = metis.wcu.blackbody.temperatureKelvin
        let lmRect = window(around: views.lmReferencePixel, in: lmCamera.model)
        let wfsRect = window(around: views.wfsReferencePixel, in: wfsCamera.model)
        // DPR values as the METIS pipeline classifies LM_CHOPHOME_RAW (AstarVienna/METIS_Pipeline).
        let header = [HeaderCard("TPL ID", "METIS_img_lm_cal_ChopperHome"), HeaderCard("DPR CATG", "CALIB"),
                      HeaderCard("DPR TYPE", "CHOPHOME"), HeaderCard("DPR TECH", "IMAGE,LM"),
                      HeaderCard("INS OPTI10 NAME", filter.name), HeaderCard("INS OPTI11 NAME", nd.rawValue)]
        let wfsTask = sim.process("SCAO WFS K-band reference") { () async throws -> ExposureResult? in
            try await wfsCamera.expose(step: "SCAO WFS K-band reference", ditSeconds: wfsDIT, ndit: wfsNDIT, modeName: nil,
                                       illumination: Illumination(scene: views.wfsScene()),
                                       fidelity: session.fidelity(.pixelFit, windows: [wfsRect]))
        }
        let lm: ExposureResult?
        do {
            lm = try await sim.step("Start Exposure", lane: "IMG-LM", use: .other) {
                try await lmCamera.expose(step: "Start exposures with the IMG-LM with the requested DIT and NDIT", ditSeconds: dit,
                                          ndit: ndit, modeName: mode,
                                          illumination: Illumination(scene: views.lmScene(wcu: wcu, filter: filter, nd: nd)),
                                          fidelity: session.fidelity(.pixelFit, windows: [lmRect]), header: header)
            }
        } catch {
            await METISSession.settle(wfsTask)
            throw error
        }
        let wfs = try await wfsTask.value()

        try await sim.step("End Exposure", lane: "DCS", use: .dataWait) {
            try await sim.step("Collect headers", lane: "DCS", use: .dataWait) { try await sim.timeout(headerSeconds) }
            try await sim.step("Send file to ESO Archive", lane: "archive", use: .dataWait) { try await sim.timeout(archiveSeconds) }
        }

        if let lm, let wfs, let bg = bgWindow, let lmWin = lm.windows.first, let wfsWin = wfs.windows.first {
            let lmMode = try lmCamera.model.mode(named: mode)
            // Flat fielding with a master flat taken as perfect (the detector's response), so the
            // fixed pixel pattern does not bias the centroids; InternalFlat measures how good one is.
            let lmFlat = lmCamera.response(lmWin.rect), wfsFlat = wfsCamera.response(wfsWin.rect)
            let lmFit = try? Self.centroid(on: lmWin, background: bg, flat: lmFlat, gain: lmMode.gainElectronsPerADU[0], ndit: ndit,
                                           sigmaPixels: DiffractionPSF.sigmaPixels(wavelengthMicrons: filter.centralMicrons,
                                                                                   pixelScaleArcsec: views.lmPixelScaleArcsec))
            let wfsMode = try wfsCamera.model.mode()
            let wfsFit = try? Self.centroid(on: wfsWin, background: nil, flat: wfsFlat, gain: wfsMode.gainElectronsPerADU[0], ndit: wfsNDIT,
                                            readNoiseElectrons: wfsMode.readNoiseElectrons[0],
                                            biasADU: wfsCamera.model.amplifiers[0].biasADU,
                                            sigmaPixels: DiffractionPSF.sigmaPixels(wavelengthMicrons: views.kWavelengthMicrons,
                                                                                    pixelScaleArcsec: views.wfsPixelScaleArcsec))
            if let lmFit, let wfsFit {
                let measured = views.measuredOffsetArcsec(lmCentroid: (lmFit.x, lmFit.y), wfsCentroid: (wfsFit.x, wfsFit.y))
                // The home the chopper keeps after the template: true home plus its drift at the end.
                let truth = metis.chopper.trueHomeOffset + metis.chopper.drift(atSeconds: sim.now)
                let ex = measured.x * 1000 - truth.xMas, ey = measured.y * 1000 - truth.yMas
                session.metrics["chopper_home_error_x_mas"] = ex
                session.metrics["chopper_home_error_y_mas"] = ey
                session.metrics["chopper_home_error_mas"] = (ex * ex + ey * ey).squareRoot()
                let sLM = 0.5 * (lmFit.xErrorPixels + lmFit.yErrorPixels) * views.lmPixelScaleArcsec
                let sWFS = 0.5 * (wfsFit.xErrorPixels + wfsFit.yErrorPixels) * views.wfsPixelScaleArcsec
                session.metrics["chopper_home_expected_sigma_mas"] = 1000 * (sLM * sLM + sWFS * sWFS).squareRoot()
                let on = metis.chopper.poweredOnAtSeconds
                let budget = ChopperHomeErrorBudget(lmCentroidMas: 1000 * sLM, wfsCentroidMas: 1000 * sWFS, chopper: metis.chopper.parameters,
                                                    measuredAt: measuredAt - on, endAt: sim.now - on)
                for (name, mas) in budget.terms { session.metrics["chopper_home_budget_\(name)_mas"] = mas }
                session.metrics["chopper_home_budget_total_mas"] = budget.totalMas
            }
            if session.context.keepsDetail {
                session.frames += [lm.frame(name: "0001_CHOPPERHOME_IMG_LM"), wfs.frame(name: "0002_CHOPPERHOME_SCAO_WFS")].compactMap { $0 }
            }
        }
        if session.context.keepsDetail {
            // This template's warm-up; a later template in the OB has its own.
            let bb = metis.wcu.blackbody
            session.series.append(TrialSeries(name: "WCU blackbody temperature", unit: "K",
                                              points: stride(from: start, through: sim.now, by: max(1, (sim.now - start) / 200)).map { ($0, bb.temperatureKelvin(atSeconds: $0)) }))
        }
    }

    func window(around p: (x: Double, y: Double), in model: DetectorModel) -> PixelRect {
        PixelRect(x0: Int(p.x) - halfWidth, y0: Int(p.y) - halfWidth, width: 2 * halfWidth, height: 2 * halfWidth)
            .intersection(model.imagingArea)
    }
    /// Setup WCU, bullet by bullet; returns the background frame's window (nil when only timing).
    func setupWCU(_ session: METISSession, camera: METISCamera) async throws -> PixelWindow? {
        let sim = session.sim
        let bb = session.metis.wcu.blackbody
        return try await sim.step("Setup WCU", lane: "WCU", use: .mechanism) { () async throws -> PixelWindow? in
            try await sim.step("Move periscopic arm to IN", lane: "WCU", use: .mechanism) { try await session.move("WCU-periscope-arm", to: "IN") }
            try await sim.step("Set temperature of the blackbody to specified temperature", lane: "WCU", use: .lamp) { session.setBlackbody(kelvin: bbKelvin) }
            try await sim.step("Wait for about 45 minutes (warming up time)", lane: "WCU", use: .lamp) { try await session.waitForBlackbody() }
            try await sim.step("Set WCU-FP2.1 to LM-pinhole", lane: "WCU", use: .mechanism) { try await session.move("WCU-FP2.1", to: "LM-pinhole") }
            try await sim.step("Set WCU-PP1 to ELT mask", lane: "WCU", use: .mechanism) { try await session.move("WCU-PP1", to: "ELT mask") }
            let detectable = try await sim.step("Check the power readout", lane: "WCU", use: .lamp) { bb.isPowerDetectable }
            sim.record("WCU-BB", "power readout", ["watts": "\(bb.radiatedPowerWatts)", "detectable": "\(detectable)"])
            guard detectable else { throw ProcedureAbort(cause: "no_power_readout") }
            try await sim.step("Set WCU-BB-aperture-mask to CLOSE", lane: "WCU", use: .mechanism) { try await session.move("WCU-BB-aperture-mask", to: "CLOSE") }
            var wcu = WCUSource()
            wcu.blackbodyKelvin = bb.temperatureKelvin
            wcu.apertureMaskOpen = false
            wcu.mask = .lmPinhole
            let background = Illumination(photonsPerSecondPerPixel: wcu.flatPhotonsPerSecondPerPixel(filter: filter, nd: nd, pixelScaleArcsec: camera.model.pixelScaleArcsec)
                                              + wcu.maskBackgroundPhotonsPerSecondPerPixel(filter: filter, nd: nd, pixelScaleArcsec: camera.model.pixelScaleArcsec))
            let rect = window(around: (1024, 1024), in: camera.model)
            let bg = try await camera.expose(step: "take background measurement", ditSeconds: dit, ndit: ndit, modeName: mode,
                                             illumination: background, fidelity: session.fidelity(.pixelFit, windows: [rect]))
            try await sim.step("Set WCU-BB-aperture-mask to OPEN", lane: "WCU", use: .mechanism) { try await session.move("WCU-BB-aperture-mask", to: "OPEN") }
            return bg?.windows.first
        }
    }

    /// Setup CFO and subsystems, bullet by bullet, in document order.
    func setupCFO(_ session: METISSession) async throws {
        let sim = session.sim
        try await sim.step("Setup CFO and subsystems", lane: "CFO", use: .mechanism) {
            try await sim.step("Set CFO-PP1 to PPS-CFO1", lane: "CFO", use: .mechanism) { try await session.move("CFO-PP1", to: "PPS-CFO1") }
            try await sim.step("Set CFO-FP2 to FIELD-11", lane: "CFO", use: .mechanism) { try await session.move("CFO-FP2", to: "FIELD-11") }
            try await sim.step("Set LMS beamsplitter pickoff wheel to OUT", lane: "LMS", use: .mechanism) { try await session.move("LMS-pickoff", to: "OUT") }
            try await sim.step("Set the IMG-LM mask to SPM-LM", lane: "IMG-LM", use: .mechanism) { try await session.move("IMG-LM-mask", to: "SPM-LM") }
            try await sim.step("Set the IMG-LM science filter to the specified filter", lane: "IMG-LM", use: .mechanism) {
                try await session.move("IMG-LM-filter", to: filter.name)
            }
            try await sim.step("Set the IMG-LM neutral density filter to the specified filter", lane: "IMG-LM", use: .mechanism) {
                try await session.move("IMG-LM-ND", to: nd.rawValue)
            }
        }
    }

    /// The centroid of the source in `window` (ADU, NDIT-averaged): background frame (or bias) subtracted,
    /// divided by the master flat when given,
    /// converted to electrons summed over NDIT, fitted with the known PSF width. The per-pixel variance not
    /// in the model is twice the background frame's (both frames carry it) or the read noise alone.
    /// Half-width (px) of the centroid fit's window: ±4 PSF σ holds all but 6·10⁻⁵ of the flux per axis.
    static func fitHalfWidth(sigmaPixels: Double) -> Int { max(3, Int((4 * sigmaPixels).rounded(.up))) }

    static func centroid(on window: PixelWindow, background: PixelWindow?, flat: [Double]? = nil, gain: Double, ndit: Int, readNoiseElectrons: Double = 0,
                         biasADU: Double = 0, sigmaPixels: Double) throws -> GaussianCentroid.Result {
        let scale = gain * Double(ndit)
        var values = window.values
        var extra = Double(ndit) * readNoiseElectrons * readNoiseElectrons
        if let background {
            for k in values.indices { values[k] -= background.values[k] }
            let bgE = background.values.map { $0 * scale }
            let n = Double(bgE.count)
            let mean = bgE.reduce(0, +) / n
            extra = 2 * bgE.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / (n - 1)
        } else {
            for k in values.indices { values[k] -= biasADU }
        }
        if let flat { for k in values.indices { values[k] /= flat[k] } }
        let image = Image(width: window.rect.width, height: window.rect.height, values: values)
        var peak = 0
        for k in values.indices where values[k] > values[peak] { peak = k }
        let px = Double(window.rect.x0 + peak % window.rect.width) + 0.5, py = Double(window.rect.y0 + peak / window.rect.width) + 0.5
        return try GaussianCentroid.fit(image, originX: window.rect.x0, originY: window.rect.y0, x: px, y: py,
                                        halfWidth: fitHalfWidth(sigmaPixels: sigmaPixels), sigmaPixels: sigmaPixels,
                                        electronsPerUnit: scale, extraVarianceElectrons: extra)
    }
}
