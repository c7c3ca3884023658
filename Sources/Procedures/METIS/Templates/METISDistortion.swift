import Analysis
import Observatory
import SimKernel

/// METIS distortion calibration (seed 001), shared by IMG-LM (METIS_img_lm_cal_distortion), IMG-NQ
/// (METIS_img_nq_cal_distortion) and the IFU (METIS_ifu_cal_distortion): each template's file gives its
/// `Variant` (detector, grid, setup moves, defaults), this file the keys, the flow and the pipeline.
///
/// Procedure as written: warm the WCU BB while the instrument is set up and the grid goes into WCU FP1;
/// close the BB shutters, background, open; a series of `n_exposures` (10, tbc) of the grid at each grid
/// position; the grid moved by known offsets with the chopper (`offset_grid` k: a k × k pattern of steps
/// pitch/k; 1 = no offsets). Pipeline (seed 001 "pipeline support"): background subtraction, flat fielding
/// (a perfect master flat), a Gaussian centroid per pinhole per exposure, averaged over the series; a 2-D
/// polynomial of total degree `fit_order` from detector to mask coordinates (design positions plus the
/// commanded offsets) by GSL linear least squares. The accuracy is the RMS over the field of recovered −
/// true mapping, on the sky; the true mapping is `OpticalDistortion`'s, the truth of the holes includes
/// their manufacturing errors and the chopper's relative-offset errors, neither of which the pipeline
/// knows.
///
/// At roi-statistics fidelity each centroid is the true position plus a Gaussian error of the
/// pixel fit's precision (its Cramér–Rao bound, `GaussianCentroid.cramerRaoErrorPixels`, from the hole's
/// electrons and the background, doubled by the background frame's subtraction); at roi-pixels and full-frame, windows around every pinhole are simulated and fitted.
struct METISDistortion {
    static let filterNames = PassbandFilter.metis.map(\.name)
    static let bbTemperature = Key<Double>("bb_temperature", .quantity(.temperature), .defaultValue(.number(1000)), min: 300, max: 1400,
                                           doc: "WCU BB temperature (\"tbd, appropriate for LM / NQ\", seed 001); 1000 K (REFERENCES.md §5.3) [U].")
    static let nExposuresKey = Key<Int>("n_exposures", .integer, .defaultValue(.integer(10)), min: 1, max: 1000,
                                        doc: "Exposures of the grid per grid position; 10 (seed 001, \"10, tbc\").")
    static let offsetGridKey = Key<Int>("offset_grid", .integer, .defaultValue(.integer(1)), min: 1, max: 6,
                                        doc: "Chopper grid offsets: a k × k pattern in steps of pitch/k; 1 = none (seed 001 asks \"?\") [U].")
    static let fitOrderKey = Key<Int>("fit_order", .integer, .defaultValue(.integer(3)), min: 1, max: 8,
                                      doc: "Total degree of the detector → mask polynomial; 3 [U] (REFERENCES.md §6 cites 6th–10th order for 10⁴ holes).")
    static let holePositionError = Key<Double>("hole_position_error", .quantity(.length), .defaultValue(.number(50e-9)), min: 0, max: 1e-4,
                                               doc: "Pinhole manufacturing error per axis (1σ); 50 nm (MICADO WAM, REFERENCES.md §6).")
    static let requirement = Key<Double>("requirement", .quantity(.angle), .defaultValue(.number(2.3 / 3_600_000)), min: 0,
                                         doc: "Required distortion accuracy on the sky; 2.3 mas (seed 001; REFERENCES.md §5.1: the figure is uncertain).")
    static let filterKey = Key<String>("filter", .choice(filterNames), .optional, doc: "Science filter; L' for img-lm and ifu, N2 for img-nq [U].")
    static let ndFilter = Key<String>("nd_filter", .choice(NeutralDensity.allCases.map(\.rawValue)), .optional,
                                      doc: "Neutral density filter; ND3 for img-lm and ifu, ND1 for img-nq [U] (pinhole peak below full well).")
    static let ditKey = Key<Double>("dit", .quantity(.time), .optional, min: 0.001, max: 3600,
                                    doc: "DIT; 1.3 s (SLOW minimum) for img-lm and ifu, 0.011 s for img-nq (minimum DIT, REFERENCES.md §5.2) [U].")
    static let nditKey = Key<Int>("ndit", .integer, .defaultValue(.integer(1)), min: 1, max: 10_000, doc: "NDIT; 1 [U].")
    static let fieldSamplesKey = Key<Int>("field_samples", .integer, .defaultValue(.integer(21)), min: 3, max: 201,
                                          doc: "Points per axis of the field grid the RMS is taken over; 21 [U].")
    static let flatGradientKey = Key<Double>("flat_gradient_residual", .number, .defaultValue(.number(5e-6)), min: 0, max: 1e-3,
                                             doc: "Large-scale response gradient left by the master flat (fraction per pixel; 1 % across 2048 px = 5e-6); biases each centroid by g σ² [U] (no METIS figure published).")
    static let intraPixelKey = Key<Double>("intrapixel_amplitude", .number, .defaultValue(.number(0.05)), min: 0, max: 0.3,
                                           doc: "Intra-pixel response 1 + a cos(2π u): edge-to-centre deficit a of the H2RG / GeoSnap pixels; 0.05 [U], range 0-0.3 (no METIS figure published).")
    static let keys = [flatGradientKey.spec, intraPixelKey.spec, bbTemperature.spec, nExposuresKey.spec, offsetGridKey.spec, fitOrderKey.spec, holePositionError.spec, requirement.spec,
                       filterKey.spec, ndFilter.spec, ditKey.spec, nditKey.spec, fieldSamplesKey.spec] + METISChopperKeys.specs
    static let metrics = [
        MetricSpec("distortion_rms_mas", unit: "mas", doc: "RMS over the field of |recovered − true| detector → sky mapping."),
        MetricSpec("requirement_met", unit: "1", doc: "1 when distortion_rms_mas is at most the requirement, else 0."),
        MetricSpec("fit_residual_rms_mas", unit: "mas", doc: "RMS of the fit residuals (QC DISTORT RMS, REFERENCES.md §6)."),
        MetricSpec("pixel_scale_mas", unit: "mas", doc: "Recovered pixel scale at the field centre (mas per pixel)."),
        MetricSpec("pixel_scale_error_mas", unit: "mas", doc: "Recovered − true pixel scale at the field centre (mas per pixel)."),
        MetricSpec("n_pinholes", unit: "1", doc: "Pinhole images used by the fit (all grid positions)."),
        MetricSpec("distortion_term_model_mas", unit: "mas", doc: "Distortion RMS term: the polynomial's own error, fitted to error-free centroids and hole positions."),
        MetricSpec("distortion_term_centroid_mas", unit: "mas", doc: "Distortion RMS term: centroid noise alone (RMS of that fit minus the error-free fit)."),
        MetricSpec("distortion_term_mask_mas", unit: "mas", doc: "Distortion RMS term: pinhole manufacturing errors alone."),
        MetricSpec("distortion_term_chopper_mas", unit: "mas", doc: "Distortion RMS term: the chopper's offset errors (repeatability, drift) alone."),
        MetricSpec("distortion_term_pixel_response_mas", unit: "mas", doc: "Distortion RMS term: the centroid bias of the pixel response (flat's residual gradient, intra-pixel response) alone."),
        MetricSpec("distortion_dominant_term", unit: "1", doc: "Largest term: 0 model, 1 centroid, 2 mask, 3 chopper, 4 pixel response."),
        MetricSpec("centroid_sigma_mas", unit: "mas", doc: "Median expected per-pinhole centroid error after averaging the series."),
        MetricSpec("peak_fraction_full_well", unit: "1", doc: "Expected brightest pixel per DIT as a fraction of full well."),
        METISSession.warmupMetric,
    ]

    /// What differs between the templates (each template's file gives its own).
    struct Variant {
        /// The instrument the variant runs on, as errors name it (`img-lm`, `img-nq`, `ifu`).
        var preset: String
        var templateID: String
        /// DPR TECH of the frames.
        var technique: String
        var detector: DetectorModel
        var lane: String
        var grid: WCUPinholeGrid
        var fp1Position: String
        var field: PixelRect
        var modeName: String
        var filter: String
        var nd: String
        var dit: Double
        var setup: [(device: String, position: String)]
        /// The imager's filter and ND wheels.
        var filterDevice: String
        var ndDevice: String
        /// True for the N-band imager: its filters are the N-band ones.
        var nBand: Bool
    }

    /// The moves every variant makes besides its own.
    static let commonSetup: [(device: String, position: String)] = [("WCU-periscope-arm", "IN"), ("WCU-FP2.1", "OPEN"), ("CFO-PP1", "PPS-CFO1"),
                                                                    ("CFO-PP1-ADC", "OUT"), ("CFO-FP2", "FIELD-11")]

    let variant: Variant
    let filter: PassbandFilter
    let nd: NeutralDensity
    let dit: Double
    let ndit: Int
    let bbKelvin: Double
    let nExposures: Int
    let offsetGrid: Int
    let fitOrder: Int
    let holeErrorMicrons: Double
    let chopper: Chopper.Parameters
    let requirementMas: Double
    let fieldSamples: Int
    let flatGradient: Double
    let intraPixelAmplitude: Double

    init(configuration c: ActionConfiguration, variant base: Variant) throws {
        var v = base
        if let f = c.optional(Self.filterKey) { v.filter = f }
        if let n = c.optional(Self.ndFilter) { v.nd = n }
        if let d = c.optional(Self.ditKey) { v.dit = d }
        variant = v
        let f = PassbandFilter.metis.first { $0.name == v.filter }!
        let isN = v.nBand
        if isN != (f.centralMicrons > 7) {
            throw ConfigurationError(path: c.path(Self.filterKey), "`\(f.name)` is not a filter of \(v.preset); use "
                                        + PassbandFilter.metis.filter { ($0.centralMicrons > 7) == isN }.map { "`\($0.name)`" }.joined(separator: ", "))
        }
        filter = f
        nd = NeutralDensity(rawValue: v.nd)!
        dit = v.dit
        ndit = c[Self.nditKey]
        let mode = try v.detector.mode(named: v.modeName)
        if dit < mode.minimumDITSeconds {
            throw ConfigurationError(path: c.path(Self.ditKey), "DIT \(dit) s is below \(v.lane)'s minimum DIT \(mode.minimumDITSeconds) s")
        }
        bbKelvin = c[Self.bbTemperature]
        nExposures = c[Self.nExposuresKey]
        offsetGrid = c[Self.offsetGridKey]
        fitOrder = c[Self.fitOrderKey]
        holeErrorMicrons = c[Self.holePositionError] * 1e6
        chopper = METISChopperKeys.parameters(c)
        requirementMas = c[Self.requirement] * 3_600_000
        fieldSamples = c[Self.fieldSamplesKey]
        flatGradient = c[Self.flatGradientKey]
        intraPixelAmplitude = c[Self.intraPixelKey]
    }

    var truth: OpticalDistortion {
        OpticalDistortion(pixelScaleArcsec: variant.detector.pixelScaleArcsec,
                          referencePixel: (Double(variant.field.x0) + Double(variant.field.width) / 2,
                                           Double(variant.field.y0) + Double(variant.field.height) / 2))
    }

    /// The chopper offsets (arcsec): a k × k pattern in steps of pitch/k, home first.
    var offsets: [(u: Double, v: Double)] {
        let step = variant.grid.pitchArcsec / Double(offsetGrid)
        var out: [(Double, Double)] = []
        for j in 0..<offsetGrid { for i in 0..<offsetGrid { out.append((Double(i) * step, Double(j) * step)) } }
        return out
    }

    var psfSigmaPixels: Double {
        DiffractionPSF.sigmaPixels(wavelengthMicrons: filter.centralMicrons, pixelScaleArcsec: variant.detector.pixelScaleArcsec)
    }

    /// The roi-statistics centroid error per axis of one exposure: the Cramér–Rao bound of the pixel
    /// pipeline's fit (same window, same weights, the background frame's noise in `backgroundVarianceElectrons`),
    /// so both fidelities scatter alike.
    static func statisticsCentroidSigmaPixels(sigmaPixels s: Double, sourceElectrons: Double, backgroundVarianceElectrons: Double) -> Double {
        GaussianCentroid.cramerRaoErrorPixels(sigmaPixels: s, sourceElectrons: sourceElectrons, extraVarianceElectrons: backgroundVarianceElectrons,
                                              halfWidth: ChopperHomeTemplate.fitHalfWidth(sigmaPixels: s))
    }

    /// The pixel response's centroid bias (pixels) of a pinhole at `p`, per axis: deterministic, so the
    /// series does not average it down. Both fidelities add it to their centroid (the pixel path's frames
    /// are flat-fielded by the true PRNU, so what is left is the flat's gradient and the intra-pixel response,
    /// which the window's pixels do not yet carry).
    func pixelResponseBias(_ p: (x: Double, y: Double)) -> (x: Double, y: Double) {
        let s = psfSigmaPixels
        let hw = ChopperHomeTemplate.fitHalfWidth(sigmaPixels: s)
        return (PixelResponseCentroidBias.biasPixels(position: p.x, sigmaPixels: s, gradientPerPixel: flatGradient, amplitude: intraPixelAmplitude, halfWidth: hw),
                PixelResponseCentroidBias.biasPixels(position: p.y, sigmaPixels: s, gradientPerPixel: flatGradient, amplitude: intraPixelAmplitude, halfWidth: hw))
    }

    var windowHalfWidth: Int { max(4, Int((4 * psfSigmaPixels).rounded(.up)) + 1) }

    func run(in session: METISSession) async throws {
        let sim = session.sim
        let ctx = session.context
        let metis = session.metis
        let camera = session.camera(variant.lane, variant.detector)
        let truth = self.truth
        // What this template measures, given to the session however the template ends.
        var metrics: [String: Double] = [:]
        var frames: [Frame] = []
        defer {
            session.metrics.merge(metrics) { _, b in b }
            session.frames += frames
        }
        let poses = offsets
        let usesChopper = poses.count > 1

        // The holes' true sky positions (design + manufacturing error); the error is this trial's mask.
        let holeErrors = variant.grid.manufacturingErrors(sigmaMicrons: holeErrorMicrons, stream: sim.stream("WCU-FP1.manufacturing"))
        let margin = Double(windowHalfWidth + 2)
        func onField(_ p: (x: Double, y: Double)) -> Bool {
            p.x >= Double(variant.field.x0) + margin && p.x <= Double(variant.field.x1) - margin
                && p.y >= Double(variant.field.y0) + margin && p.y <= Double(variant.field.y1) - margin
        }
        // Windows where each pose's pinholes fall (placement only: a window is ±4σ of the PSF wide).
        var poseHoles: [[Int]] = []
        var rects: [[PixelRect]] = []
        for o in poses {
            var idx: [Int] = [], rs: [PixelRect] = []
            for (k, h) in variant.grid.holes.enumerated() {
                let p = truth.detectorPosition(u: h.uArcsec + o.u, v: h.vArcsec + o.v)
                guard onField(p) else { continue }
                idx.append(k)
                rs.append(PixelRect(x0: Int(p.x) - windowHalfWidth, y0: Int(p.y) - windowHalfWidth,
                                    width: 2 * windowHalfWidth + 1, height: 2 * windowHalfWidth + 1))
            }
            poseHoles.append(idx)
            rects.append(rs)
        }
        let pixels = session.hasPixels
        let allRects = rects.flatMap { $0 }

        var wcu = WCUSource()
        wcu.mask = variant.grid.holeDiameterMicrons > 30 ? .nPinhole : .lmPinhole
        let header = [HeaderCard("TPL ID", variant.templateID),
                      HeaderCard("DPR CATG", "CALIB"), HeaderCard("DPR TYPE", "DISTORTION"),
                      HeaderCard("DPR TECH", variant.technique),
                      HeaderCard("FILTER", filter.name)]
        var background: [PixelRect: PixelWindow] = [:]
        var measured: [[(x: Double, y: Double, n: Int)]] = poses.map { _ in [] }
        // Per grid position: the pinholes' error-free detector positions and the chopper's offset error
        // (true shift − commanded), for the term-by-term budget.
        var trueDetector: [[(x: Double, y: Double)]] = poses.map { _ in [] }
        var chopperError: [(u: Double, v: Double)] = poses.map { _ in (0, 0) }
        var biases: [[(x: Double, y: Double)]] = poses.map { _ in [] }
        var expectedSigmaPixels: [Double] = []
        do {    // The document's flow (a scope: the pipeline below needs only what it measured).
            if usesChopper { metis.chopper.parameters = chopper }
            let chopperOn: SimProcess<Void>? = usesChopper ? sim.process("chopper power on") { try await metis.chopper.powerOn() } : nil
            let setup = sim.process("setup") {
                try await sim.step("Setup instrument for the observing mode and insert grid into WCU FP1", lane: "METIS", use: .mechanism) {
                    try await session.moveInParallel("setup", [(device: "WCU-FP1", position: variant.fp1Position)] + variant.setup + imagerMoves)
                }
            }
            do {
                try await sim.step("Warm up WCU BB", lane: "WCU", use: .lamp) {
                    session.setBlackbody(kelvin: bbKelvin)
                    try await session.waitForBlackbody()
                }
                try await setup.value()
                if let chopperOn { try await chopperOn.value() }
            } catch {
                await METISSession.settle(setup)
                if let chopperOn { await METISSession.settle(chopperOn) }
                throw error
            }
            wcu.blackbodyKelvin = metis.wcu.blackbody.temperatureKelvin

            try await sim.step("Close WCU BB shutters", lane: "WCU", use: .mechanism) { try await session.move("WCU-BB-aperture-mask", to: "CLOSE") }
            wcu.apertureMaskOpen = false
            let closedScene = scene(wcu: wcu, truth: truth, holeErrors: holeErrors, poseIndex: 0, shift: (0, 0))
            let bgFidelity = session.fidelity(.pixelsOrStatistics, windows: allRects)
            // The background frame's pixels are drawn at every window of every grid position; with the
            // shutters closed the holes pass only the 300 K sphere's emission, left out (< 10⁻⁴ of the lamp).
            var bgScene = closedScene
            bgScene.sources = []
            let bg = try await camera.expose(step: "Take a background measurement", ditSeconds: dit, ndit: ndit, modeName: variant.modeName,
                                             illumination: Illumination(scene: bgScene), fidelity: bgFidelity, header: header)
            if let bg, pixels { for w in bg.windows { background[w.rect] = w } }
            try await sim.step("Open WCU BB shutters", lane: "WCU", use: .mechanism) { try await session.move("WCU-BB-aperture-mask", to: "OPEN") }
            wcu.apertureMaskOpen = true

            let mode = try camera.model.mode(named: variant.modeName)
            let gain = mode.gainElectronsPerADU[0]
            let qe = camera.model.quantumEfficiency
            let holeRate = wcu.pinholePhotonsPerSecond(filter: filter, nd: nd)
            let bgRate = wcu.maskBackgroundPhotonsPerSecondPerPixel(filter: filter, nd: nd, pixelScaleArcsec: camera.model.pixelScaleArcsec)
            let s = psfSigmaPixels
            let peakFraction = PointSourceScene(sources: [PointSource(x: 0.5, y: 0.5, photonsPerSecond: 1, sigmaPixels: s)])
                .meanPhotonRate(over: PixelRect(x0: 0, y0: 0, width: 1, height: 1))
            metrics["peak_fraction_full_well"] = ((holeRate * peakFraction + bgRate) * qe + camera.model.darkCurrentElectronsPerSecond) * dit / mode.fullWellElectrons
            // A saturated pinhole core has no usable centroid: the series would be wasted.
            if metrics["peak_fraction_full_well"]! >= 1 { throw ProcedureAbort(cause: "saturated", metrics: metrics) }
            // Least-squares centroid precision of one exposure (electrons summed over NDIT; background
            // variance doubled by the subtraction of the background frame).
            let sourceE = holeRate * qe * dit * Double(ndit)
            let bgVarE = 2 * ((bgRate * qe + camera.model.darkCurrentElectronsPerSecond) * dit * Double(ndit)
                              + Double(ndit) * mode.readNoiseElectrons[0] * mode.readNoiseElectrons[0])
            let sigmaOne = Self.statisticsCentroidSigmaPixels(sigmaPixels: s, sourceElectrons: sourceE, backgroundVarianceElectrons: bgVarE)
            let noise = sim.stream("distortion.centroids")

            for (pi, o) in poses.enumerated() {
                if pi > 0 {
                    try await sim.step("Move grid by known offsets in the field using the chopper", lane: "chopper", use: .mechanism) {
                        try await metis.chopper.move(to: SkyOffset(xMas: o.u * 1000, yMas: o.v * 1000))
                    }
                }
                // The home offset is common to every grid position (the mask frame's origin); what moves the
                // grid is the chopper's true position relative to home.
                let rel = usesChopper ? metis.chopper.truePosition - metis.chopper.trueHomeOffset : SkyOffset.zero
                let shift = (rel.xMas / 1000, rel.yMas / 1000)
                let gridScene = scene(wcu: wcu, truth: truth, holeErrors: holeErrors, poseIndex: pi, shift: shift, poseHoles: poseHoles)
                trueDetector[pi] = gridScene.sources.map { ($0.x, $0.y) }
                biases[pi] = trueDetector[pi].map { pixelResponseBias($0) }
                chopperError[pi] = (shift.0 - o.u, shift.1 - o.v)
                measured[pi] = poseHoles[pi].map { _ in (0, 0, 0) }
                try await sim.step("Take a series of exposures of the grid", lane: variant.lane, use: .other) {
                    for e in 0..<nExposures {
                        let fidelity = session.fidelity(.pixelsOrStatistics, windows: rects[pi])
                        let r = try await camera.expose(step: "Grid exposure", ditSeconds: dit, ndit: ndit, modeName: variant.modeName,
                                                        illumination: Illumination(scene: gridScene), fidelity: fidelity, header: header)
                        if ctx.keepsDetail, pi == 0, e == 0, let r, let f = r.frame(name: "0001_DISTORTION_GRID") { frames.append(f) }
                        guard ctx.fidelity != .timing else { continue }
                        for (m, source) in gridScene.sources.enumerated() {
                            var c: (x: Double, y: Double)?
                            if pixels, let r, m < r.windows.count, let b = background[r.windows[m].rect] {
                                let w = r.windows[m]
                                if let fit = try? ChopperHomeTemplate.centroid(on: w, background: b, flat: camera.response(w.rect), gain: gain,
                                                                            ndit: ndit, sigmaPixels: s) {
                                    c = (fit.x, fit.y)
                                }
                            } else if !pixels {
                                c = (source.x + noise.gaussian(sigma: sigmaOne), source.y + noise.gaussian(sigma: sigmaOne))
                            }
                            if let c {
                                let b = biases[pi][m]
                                measured[pi][m].x += c.x + b.x; measured[pi][m].y += c.y + b.y; measured[pi][m].n += 1
                            }
                        }
                    }
                }
            }
            expectedSigmaPixels.append(sigmaOne / Double(nExposures).squareRoot())
        }
        guard ctx.fidelity != .timing else { return }

        // Pipeline: detector centroids against design mask positions + commanded offsets.
        var det: [(x: Double, y: Double)] = [], mask: [(u: Double, v: Double)] = []
        // The same pinholes without centroid noise, and their true mask positions less one error source
        // (the pipeline's ignorance of that source alone).
        var detTrue: [(x: Double, y: Double)] = [], detBiased: [(x: Double, y: Double)] = [], detNoise: [(x: Double, y: Double)] = [], maskTrue: [(u: Double, v: Double)] = []
        var maskNoHole: [(u: Double, v: Double)] = [], maskNoChopper: [(u: Double, v: Double)] = []
        for (pi, o) in poses.enumerated() {
            for (m, k) in poseHoles[pi].enumerated() where measured[pi][m].n > 0 {
                let n = Double(measured[pi][m].n)
                det.append((measured[pi][m].x / n, measured[pi][m].y / n))
                let h = variant.grid.holes[k]
                mask.append((h.uArcsec + o.u, h.vArcsec + o.v))
                detTrue.append(trueDetector[pi][m])
                let b = biases[pi][m]
                detBiased.append((trueDetector[pi][m].x + b.x, trueDetector[pi][m].y + b.y))
                detNoise.append((det[det.count - 1].x - b.x, det[det.count - 1].y - b.y))
                let e = holeErrors[k], c = chopperError[pi]
                maskTrue.append((h.uArcsec + o.u + e.du + c.u, h.vArcsec + o.v + e.dv + c.v))
                maskNoHole.append((h.uArcsec + o.u + c.u, h.vArcsec + o.v + c.v))
                maskNoChopper.append((h.uArcsec + o.u + e.du, h.vArcsec + o.v + e.dv))
            }
        }
        metrics["n_pinholes"] = Double(det.count)
        metrics["centroid_sigma_mas"] = (expectedSigmaPixels.first ?? .nan) * variant.detector.pixelScaleArcsec * 1000
        let field = variant.field
        let centre = (x: Double(field.x0) + Double(field.width) / 2, y: Double(field.y0) + Double(field.height) / 2)
        guard let fit = try? DistortionFit.fit(detector: det, mask: mask, order: fitOrder, centre: centre,
                                               halfSize: Double(max(field.width, field.height)) / 2) else {
            throw ProcedureAbort(cause: "too_few_pinholes")
        }
        var samples: [(x: Double, y: Double)] = []
        let n = fieldSamples
        for j in 0..<n {
            for i in 0..<n {
                samples.append((Double(field.x0) + Double(field.width) * Double(i) / Double(n - 1),
                                Double(field.y0) + Double(field.height) * Double(j) / Double(n - 1)))
            }
        }
        let rms = 1000 * DistortionFit.rmsDifference({ fit.mapping.map(x: $0, y: $1) }, { truth.skyPosition(x: $0, y: $1) }, over: samples)
        metrics["distortion_rms_mas"] = rms
        // Term by term: each error source alone against the error-free fit (the fit is linear in the mask
        // coordinates and, to first order, in the centroids, so independent terms add in quadrature).
        let half = Double(max(field.width, field.height)) / 2
        if let model = try? DistortionFit.fit(detector: detTrue, mask: maskTrue, order: fitOrder, centre: centre, halfSize: half),
           let cen = try? DistortionFit.fit(detector: detNoise, mask: maskTrue, order: fitOrder, centre: centre, halfSize: half),
           let hole = try? DistortionFit.fit(detector: detTrue, mask: maskNoHole, order: fitOrder, centre: centre, halfSize: half),
           let chop = try? DistortionFit.fit(detector: detTrue, mask: maskNoChopper, order: fitOrder, centre: centre, halfSize: half),
           let resp = try? DistortionFit.fit(detector: detBiased, mask: maskTrue, order: fitOrder, centre: centre, halfSize: half) {
            let terms = [1000 * DistortionFit.rmsDifference({ model.mapping.map(x: $0, y: $1) }, { truth.skyPosition(x: $0, y: $1) }, over: samples)]
                + [cen, hole, chop, resp].map { f in
                    1000 * DistortionFit.rmsDifference({ f.mapping.map(x: $0, y: $1) }, { model.mapping.map(x: $0, y: $1) }, over: samples)
                }
            for (name, value) in zip(["model", "centroid", "mask", "chopper", "pixel_response"], terms) { metrics["distortion_term_\(name)_mas"] = value }
            metrics["distortion_dominant_term"] = Double(terms.indices.max { terms[$0] < terms[$1] }!)
        }
        metrics["requirement_met"] = rms <= requirementMas ? 1 : 0
        metrics["fit_residual_rms_mas"] = 1000 * fit.residualRMS
        let scale = fit.mapping.pixelScale(x: centre.x, y: centre.y)
        let a = truth.skyPosition(x: centre.x + 0.5, y: centre.y), b = truth.skyPosition(x: centre.x - 0.5, y: centre.y)
        let c = truth.skyPosition(x: centre.x, y: centre.y + 0.5), d = truth.skyPosition(x: centre.x, y: centre.y - 0.5)
        let trueScale = abs((a.u - b.u) * (c.v - d.v) - (c.u - d.u) * (a.v - b.v)).squareRoot()
        metrics["pixel_scale_mas"] = 1000 * scale
        metrics["pixel_scale_error_mas"] = 1000 * (scale - trueScale)
    }

    /// The imager's filter and ND wheels (the variant's own devices).
    var imagerMoves: [(device: String, position: String)] {
        [(variant.filterDevice, filter.name), (variant.ndDevice, nd.rawValue)]
    }

    /// The pinholes of one grid position at their true detector positions, over the mask's background:
    /// design + manufacturing error + the chopper's true shift (commanded offset + its error).
    func scene(wcu: WCUSource, truth: OpticalDistortion, holeErrors: [(du: Double, dv: Double)], poseIndex: Int,
               shift: (Double, Double), poseHoles: [[Int]]? = nil) -> PointSourceScene {
        let rate = wcu.pinholePhotonsPerSecond(filter: filter, nd: nd)
        let s = psfSigmaPixels
        let indices = poseHoles?[poseIndex] ?? []
        let sources = indices.map { k -> PointSource in
            let h = variant.grid.holes[k]
            let p = truth.detectorPosition(u: h.uArcsec + holeErrors[k].du + shift.0, v: h.vArcsec + holeErrors[k].dv + shift.1)
            return PointSource(x: p.x, y: p.y, photonsPerSecond: rate, sigmaPixels: s)
        }
        return PointSourceScene(sources: sources,
                                backgroundPhotonsPerSecondPerPixel: wcu.maskBackgroundPhotonsPerSecondPerPixel(filter: filter, nd: nd,
                                                                                                             pixelScaleArcsec: variant.detector.pixelScaleArcsec))
    }

}

/// A distortion template: its name and `Variant`; the keys, flow and pipeline are `METISDistortion`'s.
protocol DistortionTemplate: METISTemplate {
    static var variant: METISDistortion.Variant { get }
    var distortion: METISDistortion { get }
    init(distortion: METISDistortion)
}

extension DistortionTemplate {
    static var keys: [ParameterSpec] { METISDistortion.keys }
    static var metrics: [MetricSpec] { METISDistortion.metrics }
    init(configuration c: ActionConfiguration) throws { self.init(distortion: try METISDistortion(configuration: c, variant: Self.variant)) }
    func run(in session: METISSession) async throws { try await distortion.run(in: session) }
}
