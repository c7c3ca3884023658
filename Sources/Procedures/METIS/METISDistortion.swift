import Analysis
import Observatory
import SimKernel

/// METIS distortion calibration (seed 001) for IMG-LM (METIS_img_lm_cal_distortion), IMG-NQ
/// (METIS_img_nq_cal_distortion) and the IFU (METIS_ifu_cal_distortion), one instrument preset each.
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
///
/// The IFU variant is simpler [U]: the LMS is modelled as an imager on an HAWAII-2RG with 8.2 mas pixels and
/// a 0.9″ × 0.9″ field (no slicing, no spectral dimension, no cube reconstruction), seeing the 5 × 5
/// LMS sub-grid of grid_lm at 0.1656″ pitch.
struct METISDistortion: Procedure {
    static let name = "metis-distortion"
    static let summary = "METIS distortion calibration (IMG-LM, IMG-NQ, IFU): pinhole grid, centroids, polynomial distortion map."
    static let presets = ["img-lm", "img-nq", "ifu"]
    static let filterNames = PassbandFilter.metis.map(\.name)
    static let schema = ProcedureSchema(
        parameters: [
            ParameterSpec("bb_temperature", .quantity(.temperature), .defaultValue(.number(1000)), min: 300, max: 1400,
                          doc: "WCU BB temperature (\"tbd, appropriate for LM / NQ\", seed 001); 1000 K (REFERENCES.md §5.3) [U]."),
            ParameterSpec("n_exposures", .integer, .defaultValue(.integer(10)), min: 1, max: 1000,
                          doc: "Exposures of the grid per grid position; 10 (seed 001, \"10, tbc\")."),
            ParameterSpec("offset_grid", .integer, .defaultValue(.integer(1)), min: 1, max: 6,
                          doc: "Chopper grid offsets: a k × k pattern in steps of pitch/k; 1 = none (seed 001 asks \"?\") [U]."),
            ParameterSpec("fit_order", .integer, .defaultValue(.integer(3)), min: 1, max: 8,
                          doc: "Total degree of the detector → mask polynomial; 3 [U] (REFERENCES.md §6 cites 6th–10th order for 10⁴ holes)."),
            ParameterSpec("hole_position_error", .quantity(.length), .defaultValue(.number(50e-9)), min: 0, max: 1e-4,
                          doc: "Pinhole manufacturing error per axis (1σ); 50 nm (MICADO WAM, REFERENCES.md §6)."),
            ParameterSpec("requirement", .quantity(.angle), .defaultValue(.number(2.3 / 3_600_000)), min: 0,
                          doc: "Required distortion accuracy on the sky; 2.3 mas (seed 001; REFERENCES.md §5.1: the figure is uncertain)."),
            ParameterSpec("filter", .choice(filterNames), .optional, doc: "Science filter; L' for img-lm and ifu, N2 for img-nq [U]."),
            ParameterSpec("nd_filter", .choice(NeutralDensity.allCases.map(\.rawValue)), .optional,
                          doc: "Neutral density filter; ND3 for img-lm and ifu, ND1 for img-nq [U] (pinhole peak below full well)."),
            ParameterSpec("dit", .quantity(.time), .optional, min: 0.001, max: 3600,
                          doc: "DIT; 1.3 s (SLOW minimum) for img-lm and ifu, 0.011 s for img-nq (minimum DIT, REFERENCES.md §5.2) [U]."),
            ParameterSpec("ndit", .integer, .defaultValue(.integer(1)), min: 1, max: 10_000, doc: "NDIT; 1 [U]."),
            ParameterSpec("field_samples", .integer, .defaultValue(.integer(21)), min: 3, max: 201,
                          doc: "Points per axis of the field grid the RMS is taken over; 21 [U]."),
        ] + METISSupport.chopperSpecs,
        instrumentPresets: presets,
        faults: METISSupport.faultSpecs,
        metrics: [
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
            MetricSpec("distortion_dominant_term", unit: "1", doc: "Largest term: 0 model, 1 centroid, 2 mask, 3 chopper."),
            MetricSpec("centroid_sigma_mas", unit: "mas", doc: "Median expected per-pinhole centroid error after averaging the series."),
            MetricSpec("peak_fraction_full_well", unit: "1", doc: "Expected brightest pixel per DIT as a fraction of full well."),
            METISSupport.warmupMetric,
        ])

    /// What differs between the variants.
    struct Variant {
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
    }

    static func variant(_ preset: String) -> Variant {
        let common: [(device: String, position: String)] = [("WCU-periscope-arm", "IN"), ("WCU-FP2.1", "OPEN"), ("CFO-PP1", "PPS-CFO1"),
                                          ("CFO-PP1-ADC", "OUT"), ("CFO-FP2", "FIELD-11")]
        switch preset {
        case "img-nq":
            let d = DetectorModel.metisIMGN()
            return Variant(detector: d, lane: "IMG-N", grid: .gridN, fp1Position: "grid_n", field: d.imagingArea, modeName: "HIGH_CAPACITY",
                           filter: "N2", nd: "ND1", dit: 0.011,
                           setup: common + [("LMS-pickoff", "OUT"), ("IMG-N-mask", "open")])
        case "ifu":
            var d = DetectorModel.metisIMGLM()
            d.name = "METIS LMS HAWAII-2RG (IFU as an imager)"
            d.pixelScaleArcsec = 0.0082          // [U] LMS spaxel scale along the slices
            let side = Int((0.9 / d.pixelScaleArcsec).rounded())   // [U] 0.9″ field
            return Variant(detector: d, lane: "LMS", grid: .gridLMS, fp1Position: "grid_lm",
                           field: d.imagingArea.centred(width: side, height: side), modeName: "SLOW", filter: "L'", nd: "ND3", dit: 1.3,
                           setup: common + [("LMS-pickoff", "IN")])
        default:
            let d = DetectorModel.metisIMGLM()
            return Variant(detector: d, lane: "IMG-LM", grid: .gridLM, fp1Position: "grid_lm", field: d.imagingArea, modeName: "SLOW",
                           filter: "L'", nd: "ND3", dit: 1.3,
                           setup: common + [("LMS-pickoff", "OUT"), ("IMG-LM-mask", "open"), ("IMG-LM-pupil-lens", "OUT")])
        }
    }

    let preset: String
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
    let requirementMas: Double
    let fieldSamples: Int
    let metisParameters: METIS.Parameters

    init(configuration c: ProcedureConfiguration) throws {
        let p = c.parameters
        preset = c.instrumentPreset.isEmpty ? "img-lm" : c.instrumentPreset
        var v = Self.variant(preset)
        if let f = p.optionalString("filter") { v.filter = f }
        if let n = p.optionalString("nd_filter") { v.nd = n }
        if let d = p.optionalDouble("dit") { v.dit = d }
        variant = v
        let f = PassbandFilter.metis.first { $0.name == v.filter }!
        let isN = preset == "img-nq"
        if isN != (f.centralMicrons > 7) {
            throw ConfigurationError(path: "parameters.filter", "`\(f.name)` is not a filter of \(preset); use "
                                        + PassbandFilter.metis.filter { ($0.centralMicrons > 7) == isN }.map { "`\($0.name)`" }.joined(separator: ", "))
        }
        filter = f
        nd = NeutralDensity(rawValue: v.nd)!
        dit = v.dit
        ndit = p.int("ndit")
        let mode = try v.detector.mode(named: v.modeName)
        if dit < mode.minimumDITSeconds {
            throw ConfigurationError(path: "parameters.dit", "DIT \(dit) s is below \(v.lane)'s minimum DIT \(mode.minimumDITSeconds) s")
        }
        bbKelvin = p.double("bb_temperature")
        nExposures = p.int("n_exposures")
        offsetGrid = p.int("offset_grid")
        fitOrder = p.int("fit_order")
        holeErrorMicrons = p.double("hole_position_error") * 1e6
        requirementMas = p.double("requirement") * 3_600_000
        fieldSamples = p.int("field_samples")
        var metis = METISSupport.parameters(heaterFailure: c.faults.double("bb_heater_failure"),
                                            shortfall: c.faults.double("bb_setpoint_shortfall"),
                                            jam: c.faults.double("mechanism_jam"))
        metis.chopper = METISSupport.chopper(p)
        metisParameters = metis
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
                                              halfWidth: METISChopperHome.fitHalfWidth(sigmaPixels: s))
    }

    var windowHalfWidth: Int { max(4, Int((4 * psfSigmaPixels).rounded(.up)) + 1) }

    func runTrial(_ ctx: TrialContext) async throws -> TrialResult {
        let sim = ctx.simulation
        let metis = try METIS(sim, parameters: metisParameters,
                              state: METISSupport.previousUseState(metisParameters, stream: sim.stream("METIS.initial-state")))
        let camera = METISCamera(sim, model: variant.detector, lane: variant.lane, epochMJD: ctx.epochMJD)
        let bb = metis.wcu.blackbody
        let truth = self.truth
        var metrics: [String: Double] = [:]
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
        let pixels = ctx.fidelity == .roiPixels || ctx.fidelity == .fullFrame
        let allRects = rects.flatMap { $0 }

        var wcu = WCUSource()
        wcu.mask = variant.grid.holeDiameterMicrons > 30 ? .nPinhole : .lmPinhole
        let header = [HeaderCard("TPL ID", "METIS_\(preset == "ifu" ? "ifu" : preset == "img-nq" ? "img_nq" : "img_lm")_cal_distortion"),
                      HeaderCard("DPR CATG", "CALIB"), HeaderCard("DPR TYPE", "DISTORTION"),
                      HeaderCard("DPR TECH", preset == "ifu" ? "IFU" : preset == "img-nq" ? "IMAGE,N" : "IMAGE,LM"),
                      HeaderCard("FILTER", filter.name)]
        var background: [PixelRect: PixelWindow] = [:]
        var measured: [[(x: Double, y: Double, n: Int)]] = poses.map { _ in [] }
        // Per grid position: the pinholes' error-free detector positions and the chopper's offset error
        // (true shift − commanded), for the term-by-term budget.
        var trueDetector: [[(x: Double, y: Double)]] = poses.map { _ in [] }
        var chopperError: [(u: Double, v: Double)] = poses.map { _ in (0, 0) }
        var expectedSigmaPixels: [Double] = []
        var frames: [Frame] = []
        do {
            let chopperOn: SimProcess<Void>? = usesChopper ? sim.process("chopper power on") { try await metis.chopper.powerOn() } : nil
            let setup = sim.process("setup") {
                try await sim.step("Setup instrument for the observing mode and insert grid into WCU FP1", lane: "METIS") {
                    let moves = try ([(device: "WCU-FP1", position: variant.fp1Position)] + variant.setup + imagerMoves(metis)).map { m in
                        (try metis.device(m.device), m.position)
                    }
                    try await sim.inParallel("setup", moves.map { d, p in { try await d.move(to: p) } })
                }
            }
            do {
                try await sim.step("Warm up WCU BB", lane: "WCU") {
                    let setAt = sim.now
                    bb.setTemperature(kelvin: bbKelvin)
                    try await bb.waitUntilReadyRetryingHeater()
                    metrics["warmup_s"] = sim.now - setAt
                }
                try await setup.value()
                if let chopperOn { try await chopperOn.value() }
            } catch {
                await METISSupport.settle(setup)
                if let chopperOn { await METISSupport.settle(chopperOn) }
                throw error
            }
            wcu.blackbodyKelvin = bb.temperatureKelvin

            try await sim.step("Close WCU BB shutters", lane: "WCU") { try await metis.wcu.bbApertureMask.move(to: "CLOSE") }
            wcu.apertureMaskOpen = false
            let closedScene = scene(wcu: wcu, truth: truth, holeErrors: holeErrors, poseIndex: 0, shift: (0, 0))
            let bgFidelity: Fidelity? = ctx.fidelity == .timing ? nil : (pixels ? .windows(allRects) : .roiStatistics)
            // The background frame's pixels are drawn at every window of every grid position; with the
            // shutters closed the holes pass only the 300 K sphere's emission, left out (< 10⁻⁴ of the lamp).
            var bgScene = closedScene
            bgScene.sources = []
            let bg = try await camera.expose(step: "Take a background measurement", ditSeconds: dit, ndit: ndit, modeName: variant.modeName,
                                             illumination: Illumination(scene: bgScene), fidelity: bgFidelity, header: header)
            if let bg, pixels { for w in bg.windows { background[w.rect] = w } }
            try await sim.step("Open WCU BB shutters", lane: "WCU") { try await metis.wcu.bbApertureMask.move(to: "OPEN") }
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
                    try await sim.step("Move grid by known offsets in the field using the chopper", lane: "chopper") {
                        try await metis.chopper.move(to: SkyOffset(xMas: o.u * 1000, yMas: o.v * 1000))
                    }
                }
                // The home offset is common to every grid position (the mask frame's origin); what moves the
                // grid is the chopper's true position relative to home.
                let rel = usesChopper ? metis.chopper.truePosition - metis.chopper.trueHomeOffset : SkyOffset.zero
                let shift = (rel.xMas / 1000, rel.yMas / 1000)
                let gridScene = scene(wcu: wcu, truth: truth, holeErrors: holeErrors, poseIndex: pi, shift: shift, poseHoles: poseHoles)
                trueDetector[pi] = gridScene.sources.map { ($0.x, $0.y) }
                chopperError[pi] = (shift.0 - o.u, shift.1 - o.v)
                measured[pi] = poseHoles[pi].map { _ in (0, 0, 0) }
                try await sim.step("Take a series of exposures of the grid", lane: variant.lane) {
                    for e in 0..<nExposures {
                        let fidelity: Fidelity? = ctx.fidelity == .timing ? nil : (pixels ? .windows(rects[pi]) : .roiStatistics)
                        let r = try await camera.expose(step: "Grid exposure", ditSeconds: dit, ndit: ndit, modeName: variant.modeName,
                                                        illumination: Illumination(scene: gridScene), fidelity: fidelity, header: header)
                        if ctx.keepsDetail, pi == 0, e == 0, let r, let f = r.frame(name: "0001_DISTORTION_GRID") { frames.append(f) }
                        guard ctx.fidelity != .timing else { continue }
                        for (m, source) in gridScene.sources.enumerated() {
                            var c: (x: Double, y: Double)?
                            if pixels, let r, m < r.windows.count, let b = background[r.windows[m].rect] {
                                let w = r.windows[m]
                                if let fit = try? METISChopperHome.centroid(on: w, background: b, flat: camera.response(w.rect), gain: gain,
                                                                            ndit: ndit, sigmaPixels: s) {
                                    c = (fit.x, fit.y)
                                }
                            } else if !pixels {
                                c = (source.x + noise.gaussian(sigma: sigmaOne), source.y + noise.gaussian(sigma: sigmaOne))
                            }
                            if let c { measured[pi][m].x += c.x; measured[pi][m].y += c.y; measured[pi][m].n += 1 }
                        }
                    }
                }
            }
            expectedSigmaPixels.append(sigmaOne / Double(nExposures).squareRoot())
        } catch {
            guard let outcome = METISSupport.outcome(for: error) else { throw error }
            return TrialResult(outcome: outcome, metrics: metrics)
        }
        guard ctx.fidelity != .timing else { return TrialResult(outcome: .completed, metrics: metrics, frames: frames) }

        // Pipeline: detector centroids against design mask positions + commanded offsets.
        var det: [(x: Double, y: Double)] = [], mask: [(u: Double, v: Double)] = []
        // The same pinholes without centroid noise, and their true mask positions less one error source
        // (the pipeline's ignorance of that source alone).
        var detTrue: [(x: Double, y: Double)] = [], maskTrue: [(u: Double, v: Double)] = []
        var maskNoHole: [(u: Double, v: Double)] = [], maskNoChopper: [(u: Double, v: Double)] = []
        for (pi, o) in poses.enumerated() {
            for (m, k) in poseHoles[pi].enumerated() where measured[pi][m].n > 0 {
                let n = Double(measured[pi][m].n)
                det.append((measured[pi][m].x / n, measured[pi][m].y / n))
                let h = variant.grid.holes[k]
                mask.append((h.uArcsec + o.u, h.vArcsec + o.v))
                detTrue.append(trueDetector[pi][m])
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
            return TrialResult(outcome: .aborted("too_few_pinholes"), metrics: metrics, frames: frames)
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
           let cen = try? DistortionFit.fit(detector: det, mask: maskTrue, order: fitOrder, centre: centre, halfSize: half),
           let hole = try? DistortionFit.fit(detector: detTrue, mask: maskNoHole, order: fitOrder, centre: centre, halfSize: half),
           let chop = try? DistortionFit.fit(detector: detTrue, mask: maskNoChopper, order: fitOrder, centre: centre, halfSize: half) {
            let terms = [1000 * DistortionFit.rmsDifference({ model.mapping.map(x: $0, y: $1) }, { truth.skyPosition(x: $0, y: $1) }, over: samples)]
                + [cen, hole, chop].map { f in
                    1000 * DistortionFit.rmsDifference({ f.mapping.map(x: $0, y: $1) }, { model.mapping.map(x: $0, y: $1) }, over: samples)
                }
            for (name, value) in zip(["model", "centroid", "mask", "chopper"], terms) { metrics["distortion_term_\(name)_mas"] = value }
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
        return TrialResult(outcome: .completed, metrics: metrics, frames: frames)
    }

    /// The imager's filter and ND wheels (the variant's own devices).
    func imagerMoves(_ metis: METIS) -> [(device: String, position: String)] {
        switch preset {
        case "img-nq": return [("IMG-N-filter", filter.name), ("IMG-N-ND", nd.rawValue)]
        default: return [("IMG-LM-filter", filter.name), ("IMG-LM-ND", nd.rawValue)]
        }
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
