import Analysis
import Foundation
import Observatory
import SimKernel

/// One flat frame as the agent took it and as the simulator knows it.
struct TwilightFlatRecord {
    var level: Int
    var airmass: Double
    var startSeconds: Double
    var ditSeconds: Double
    /// Post-ISR median level, ADU (dark current included).
    var adu: Double
    var fill: Double
    var counted: Bool
    /// Sky electrons the nominal sky model predicts for the frame (no cirrus): the linearity regression's
    /// illumination.
    var nominalSkyElectrons: Double
    /// True sky rate at mid-exposure (cirrus included), e⁻ s⁻¹ px⁻¹, and its thermal part.
    var trueRate: Double
    var thermalRate: Double
    /// Per-pixel temporal variance of amplifier 0's ROI, ADU².
    var temporalVarianceADU2: Double
    var pixels: [Double]?
}

/// The twilight-flats agent for one trial: the document's steps against the sky, weather and detector
/// models, then the pipeline support.
struct TwilightRun {
    let p: TwilightFlats
    let context: TrialContext
    let sim: Simulation
    let instrument: TwilightInstrument
    let sky: TwilightSkyView
    let simulator: DetectorSimulator
    let rule: TwilightExposureRule
    let cirrus: CirrusTransmission
    let nightSky: NightSky
    let fidelity: Fidelity
    let pixelRect: PixelRect?
    let darkCurrent: Double
    let epochMJD: Double
    /// The instrument's session, which configures the instrument and takes every frame (`TwilightImaging`).
    let imaging: any TwilightImaging

    var flats: [TwilightFlatRecord] = []
    var skySeries = TrialSeries(name: "sky_rate", unit: "e-/s/px")
    var ditSeries = TrialSeries(name: "dit", unit: "s")
    var fillSeries = TrialSeries(name: "fill_fraction", unit: "1")
    var sunSeries = TrialSeries(name: "sun_altitude", unit: "deg")
    var outputFrames: [Frame] = []
    /// When the wait for the twilight window ended (`TrialResult.startSeconds`).
    var startSeconds: Double?
    /// Measured over predicted sky rate of the last frame: the operator's correction of the sky model for
    /// the night's transparency when planning the first frame at a new pointing.
    var transparencyRatio = 1.0

    init(procedure: TwilightFlats, context: TrialContext, instrument: TwilightInstrument, sky: TwilightSkyView,
         imaging: any TwilightImaging) {
        p = procedure
        self.context = context
        sim = context.simulation
        self.instrument = instrument
        self.sky = sky
        self.imaging = imaging
        simulator = imaging.simulator
        rule = TwilightExposureRule(kind: procedure.ruleKind, targetElectrons: procedure.fillTarget * instrument.fullWellElectrons,
                                    minimumSeconds: instrument.minimumExposureSeconds, maximumSeconds: procedure.maximumExposure)
        // One uniform draw decides the night (bernoulli(p) is u < p): the override keeps every clear night
        // photometric; the climatology splits photometric, thin cloud and cloudy by the epoch's month.
        let u = context.simulation.stream("weather.clear").uniform()
        if let p = procedure.clearSkyProbability {
            nightSky = u < p ? .photometric : .cloudy
        } else {
            let month = SiteClimatology.utcMonth(unixSeconds: context.epochUnixSeconds)
            nightSky = SiteClimatology.named(context.site.name)?.night(month: month, uniform: u) ?? .photometric
        }
        cirrus = CirrusTransmission(sigma: nightSky == .thinCloud ? procedure.cirrusRMSThinCloud : procedure.cirrusRMS,
                                    timescaleSeconds: procedure.cirrusTimescale,
                                    stream: context.simulation.stream("sky.cirrus"))
        // One amplifier's region of interest, when the session's mapping gives pixels: enough pixels for a
        // flat-field error. At full-frame (LATISS) the frame is every amplifier and the error is amplifier 0's.
        let rect = simulator.model.roi(amplifier: 0)
        fidelity = imaging.fidelity(pixels: rect)
        switch fidelity {
        case .windows(let w): pixelRect = w.first
        case .fullFrame: pixelRect = simulator.model.amplifiers[0].region
        default: pixelRect = nil
        }
        darkCurrent = instrument.detector.darkCurrentElectronsPerSecond
        epochMJD = context.epochUnixSeconds / 86_400 + 40_587
    }

    var fullWell: Double { instrument.fullWellElectrons }
    var morning: Bool { p.morning }

    // MARK: - Windows from the sky model

    /// Electrons a frame of `dit` collects on the nominal sky at `t` (dark included).
    func nominalElectrons(at t: Double, airmass: Double, dit: Double) throws -> Double {
        try sky.totalRate(at: t, airmass: airmass) * dit + darkCurrent * dit
    }

    /// The window of a level from the sky model and the detector: opens (evening) when the minimum exposure
    /// no longer saturates and the Sun is below `sun_altitude_max`; closes when the maximum exposure can no
    /// longer reach `fill_min` or the Sun is below `sun_altitude_min`. The morning window is the mirror image.
    func window(airmass: Double, reference: Double) throws -> (open: Double?, close: Double) {
        try TwilightNightCaches.windows.value(for: TwilightWindowKey(self, airmass: airmass, reference: reference)) {
            try computeWindow(airmass: airmass, reference: reference)
        }
    }

    func computeWindow(airmass: Double, reference: Double) throws -> (open: Double?, close: Double) {
        let minExp = instrument.minimumExposureSeconds, maxExp = p.maximumExposure
        let saturates: (Double) throws -> Bool = { t in try nominalElectrons(at: t, airmass: airmass, dit: minExp) > fullWell }
        let tooDark: (Double) throws -> Bool = { t in try nominalElectrons(at: t, airmass: airmass, dit: maxExp) < p.fillMin * fullWell }
        let sunAltitude: (Double) -> Double = { t in sky.sunPosition(at: t).altitudeDegrees }
        if !morning {
            let lo = reference - 3 * 3600, hi = reference + 5 * 3600
            let open = try sky.firstTime(from: lo, to: hi) { t in try sunAltitude(t) <= p.sunAltitudeMax && !saturates(t) }
            let close = try sky.firstTime(from: lo, to: hi) { t in try sunAltitude(t) < p.sunAltitudeMin || tooDark(t) } ?? hi
            return (open.flatMap { $0 < close ? $0 : nil }, close)
        } else {
            let lo = reference - 5 * 3600, hi = reference + 3 * 3600
            let open = try sky.firstTime(from: lo, to: hi) { t in try sunAltitude(t) >= p.sunAltitudeMin && !tooDark(t) }
            let close = try sky.firstTime(from: lo, to: hi) { t in try sunAltitude(t) > p.sunAltitudeMax || saturates(t) } ?? hi
            return (open.flatMap { $0 < close ? $0 : nil }, close)
        }
    }

    /// The model's fading rate κ (dex/s, positive when fading) at `t`, by a ±30 s central difference.
    func modelFadingRate(at t: Double, airmass: Double) throws -> Double {
        let a = try sky.totalRate(at: t - 30, airmass: airmass), b = try sky.totalRate(at: t + 30, airmass: airmass)
        return -(log10(b) - log10(a)) / 60
    }

    /// Sunset (evening) or sunrise (morning) of the night of the epoch's UTC date, simulated seconds.
    func referenceEvent() throws -> Double {
        let dayStart = (context.epochUnixSeconds / 86_400).rounded(.down) * 86_400
        let noon = dayStart + 43_200 - sky.site.localMeanTimeOffsetSeconds
        let finder = SunCrossingFinder.twilightPlanning
        let events = try finder.planningEvent(site: sky.site, localMeanNoonUTCSeconds: noon, morning: morning)
        guard events.sunset != nil else {
            // No sunset: the Sun stays up (polar day) or never came up (polar night); its noon altitude says which.
            let noonAltitude = finder.algorithm.position(site: sky.site, utcSeconds: noon).altitudeDegrees
            throw NoTwilight(polarDay: noonAltitude > TwilightEvent.sunset.altitudeDegrees)
        }
        guard let event = events.event else { throw NoTwilight(polarDay: false) }
        return event - context.epochUnixSeconds
    }

    // MARK: - The procedure

    mutating func execute() async throws -> TrialResult {
        let reference: Double
        do {
            reference = try referenceEvent()
        } catch let polar as NoTwilight {
            // A date of a year-long sweep at high latitude: that point's outcome, not the study's end.
            return TrialResult(outcome: polar.outcome, metrics: ["feasible": 0])
        }
        let ready = morning ? reference - p.startOffsetSeconds : reference + p.startOffsetSeconds
        let firstWindow = try window(airmass: p.airmasses[0], reference: reference)
        var metrics: [String: Double] = [:]
        if let open = firstWindow.open {
            metrics["window_available_s"] = max(0, firstWindow.close - max(ready, open))
        } else {
            metrics["window_available_s"] = 0
        }

        let telescope = TwilightTelescope(simulation: sim, auxTel: imaging.auxTel, eltSlewSeconds: p.telescopeSlewSeconds)
        try await configureInstrument(telescope)
        let clear = nightSky != .cloudy
        try await sim.step("wait for the twilight window", lane: "operator", use: .other) { try await sim.wait(until: ready) }
        // The instrument is configured in the afternoon; the procedure's own time starts with the window.
        startSeconds = sim.now
        if !clear {
            sim.record("operator", "clouded out")
            return finish(outcome: .aborted("clouded_out"), metrics: metrics, levelsDone: [])
        }

        var levelsDone: [Bool] = []
        var firstCause: String?
        var anyWindow = false
        for (k, airmass) in p.airmasses.enumerated() {
            let w = try window(airmass: airmass, reference: reference)
            guard let open = w.open, sim.now < w.close else {
                anyWindow = anyWindow || w.open != nil
                levelsDone.append(false)
                if w.open != nil { firstCause = firstCause ?? (morning ? "sky_too_bright" : "sky_too_dark") }
                continue
            }
            anyWindow = true
            let sun = sky.sunPosition(at: max(sim.now, open))
            try await sim.step("point telescope towards an empty patch of sky", lane: telescope.lane, use: .mechanism) {
                try await telescope.point(airmass: airmass, antiSolarOfAzimuth: sun.azimuthDegrees)
            }
            if sim.now < open {
                try await sim.step("wait for the twilight window", lane: "operator", use: .other) { try await sim.wait(until: open) }
            }
            let series = try await takeSeries(level: k + 1, airmass: airmass, deadline: w.close)
            levelsDone.append(series.cause == nil)
            firstCause = firstCause ?? series.cause
            // A morning sky too bright at one airmass is too bright at every larger one.
            if morning && series.cause == "sky_too_bright" { break }
        }
        while levelsDone.count < p.airmasses.count { levelsDone.append(false) }

        if !flats.isEmpty { try await takeDarksAndReduce(into: &metrics) }
        let feasible = levelsDone.allSatisfy { $0 }
        let outcome: Outcome = feasible ? .completed
            : !anyWindow ? .aborted("no_window")
            : .aborted(firstCause ?? (morning ? "sky_too_bright" : "sky_too_dark"))
        return finish(outcome: outcome, metrics: metrics, levelsDone: levelsDone)
    }

    func configureInstrument(_ telescope: TwilightTelescope) async throws {
        try await sim.step("configure instrument", lane: instrument.lane, use: .mechanism) { try await imaging.configure(instrument) }
    }

    /// Frames at one level until `n_frames` are in range or the sky leaves the detector's range; returns
    /// the frames in range and, when short, why (an outcome cause).
    mutating func takeSeries(level: Int, airmass: Double, deadline: Double) async throws -> (counted: Int, cause: String?) {
        var counted = 0
        var cause: String?
        var measurements: [TwilightFrameMeasurement] = []
        // `self` is mutated inside the step: work on a copy there, assign after.
        var local = self
        try await sim.step("take a series of exposures", lane: instrument.lane, use: .exposure) {
            while counted < local.p.nFrames {
                let t = local.sim.now
                let sunAltitude = local.sky.sunPosition(at: t).altitudeDegrees
                if local.morning ? sunAltitude > local.p.sunAltitudeMax : sunAltitude < local.p.sunAltitudeMin {
                    cause = "sun_limit"
                    break
                }
                let (last, kappa) = try local.planningBasis(at: t, airmass: airmass, measurements: measurements)
                let rule = local.rule, fullWell = local.fullWell
                let fillAtMinimum = rule.predictedElectrons(startingAt: t, ditSeconds: rule.minimumSeconds, last: last, fadingDexPerSecond: kappa) / fullWell
                let fillAtMaximum = rule.predictedElectrons(startingAt: t, ditSeconds: rule.maximumSeconds, last: last, fadingDexPerSecond: kappa) / fullWell
                // The sky moves away from the detector's range: stop (evening too dark, morning too bright).
                if !local.morning && fillAtMaximum < local.p.fillMin { cause = "sky_too_dark"; break }
                if local.morning && fillAtMinimum > local.p.fillMax { cause = "sky_too_bright"; break }
                // The sky must still come into range: Rubin's twilight script sleeps 30 s and re-tests
                // (REFERENCES §1.3), as long as the extrapolated sky gets there before the window closes.
                let ahead = local.morning ? (fillAtMaximum < local.p.fillMin ? local.p.fillMin / fillAtMaximum : 1)
                                          : (fillAtMinimum > local.p.fillMax ? fillAtMinimum / local.p.fillMax : 1)
                if ahead > 1 {
                    let rate = local.morning ? -kappa : kappa   // dex/s towards the range
                    let needed = rate > 0 ? log10(ahead) / rate : .infinity
                    if t + needed > deadline {
                        cause = local.morning ? "sky_too_dark" : "sky_too_bright"
                        break
                    }
                    try await local.sim.timeout(30)
                    continue
                }
                let dit = rule.clamp(rule.unclampedExposure(startingAt: t, last: last, fadingDexPerSecond: kappa))
                let record = try await local.expose(level: level, airmass: airmass, dit: dit)
                measurements.append(TwilightFrameMeasurement(startSeconds: record.startSeconds, ditSeconds: dit,
                                                             electrons: record.fill * fullWell,
                                                             darkElectronsPerSecond: local.darkCurrent))
                if record.counted { counted += 1 }
            }
        }
        self = local
        return (counted, counted >= p.nFrames ? nil : cause ?? (morning ? "sky_too_bright" : "sky_too_dark"))
    }

    /// The frame the rule extrapolates from, and κ: the last frame of this pointing (κ from the last two,
    /// or the sky model's for the second frame); before the first, the sky model's prediction corrected by
    /// the transparency the previous frames measured.
    func planningBasis(at t: Double, airmass: Double,
                       measurements: [TwilightFrameMeasurement]) throws -> (TwilightFrameMeasurement, Double) {
        let kappaLimit = 1.0 / 60   // 1 dex/min: ten times the fastest published fading (REFERENCES §1.2)
        let rubin = rule.kind == .rubin
        if let last = measurements.last {
            if rubin { return (last, 0) }
            var kappa: Double
            if measurements.count >= 2, let k = TwilightExposureRule.fadingRate(from: measurements[measurements.count - 2], to: last) {
                kappa = k
            } else {
                kappa = try modelFadingRate(at: t, airmass: airmass)
            }
            kappa = min(kappaLimit, max(-kappaLimit, kappa))
            return (last, kappa)
        }
        let rate = try sky.totalRate(at: t, airmass: airmass) * transparencyRatio
        let synthetic = TwilightFrameMeasurement(startSeconds: t - 0.5, ditSeconds: 1, electrons: rate + darkCurrent,
                                                 darkElectronsPerSecond: darkCurrent)
        return (synthetic, rubin ? 0 : try modelFadingRate(at: t, airmass: airmass))
    }

    /// True sky rate at `t` (thin cirrus on the atmospheric terms) and the nominal one.
    mutating func skyRates(at t: Double, airmass: Double) throws -> (true: Double, nominal: Double, thermal: Double) {
        let r = try sky.rates(at: t, airmass: airmass)
        let atmosphere = (r.twilight + r.night + r.thermalSky) * cirrus.transmission(at: t)
        return (atmosphere + r.thermalTelescope, r.total, r.thermalSky * cirrus.transmission(at: t) + r.thermalTelescope)
    }

    mutating func expose(level: Int, airmass: Double, dit: Double) async throws -> TwilightFlatRecord {
        let t0 = sim.now
        // Simpson's rule over the exposure: exact to 1e-6 for a 30 s frame at 0.14 dex/min.
        let a = try skyRates(at: t0, airmass: airmass)
        let m = try skyRates(at: t0 + dit / 2, airmass: airmass)
        let b = try skyRates(at: t0 + dit, airmass: airmass)
        let meanTrue = (a.true + 4 * m.true + b.true) / 6
        let meanNominal = (a.nominal + 4 * m.nominal + b.nominal) / 6
        let header = context.keepsDetail ? frameHeader(level: level, airmass: airmass) : []
        let request = ExposureRequest(ditSeconds: dit, ndit: 1, modeName: instrument.mode.name,
                                      illumination: Illumination(photonsPerSecondPerPixel: meanTrue, quantumEfficiency: 1),
                                      fidelity: fidelity, header: header, startSeconds: t0, epochMJD: epochMJD)
        let result = try await takeFrame(request, ditSeconds: dit)
        let adu = result.medianPostISRADU
        let fill = adu * instrument.gain / fullWell
        let counted = fill >= p.fillMin && fill <= p.fillMax
        let record = TwilightFlatRecord(level: level, airmass: airmass, startSeconds: t0, ditSeconds: dit, adu: adu, fill: fill,
                                        counted: counted, nominalSkyElectrons: meanNominal * dit, trueRate: m.true,
                                        thermalRate: m.thermal,
                                        temporalVarianceADU2: result.amplifiers.first?.temporalVarianceADU2 ?? 0,
                                        pixels: result.windows.first?.values)
        flats.append(record)
        transparencyRatio = (fill * fullWell - darkCurrent * dit) / dit / max(1e-9, meanNominal)
        sim.record(instrument.lane, "flat", ["dit": "\(dit)", "fill": "\(fill)", "counted": "\(counted)"])
        if context.keepsDetail {
            skySeries.points.append((t0, m.true))
            ditSeries.points.append((t0, dit))
            fillSeries.points.append((t0, fill))
            sunSeries.points.append((t0, sky.sunPosition(at: t0).altitudeDegrees))
            if let window = result.windows.first {
                outputFrames.append(Frame(name: String(format: "%04d_FLAT_%@", flats.count, instrument.lane), window: window,
                                          header: result.header, convention: instrument.telescope == .auxTel ? .rubin : .eso))
            }
        }
        return record
    }

    /// One frame through the instrument's session (its time passes, then its pixels are drawn), and the
    /// per-frame overhead after it.
    func takeFrame(_ request: ExposureRequest, ditSeconds dit: Double) async throws -> ExposureResult {
        let result = try await imaging.take(request, seconds: instrument.frameSeconds(ditSeconds: dit))
        try await sim.timeout(p.frameOverhead)
        return result
    }

    // MARK: - Darks and the pipeline

    struct DarkSet {
        var ditSeconds: Double
        var meanADU: Double
        var temporalVarianceADU2: Double
        var median: Image?
    }

    func takeDarksAndReduce(into metrics: inout [String: Double]) async throws {
        let counted = flats.filter(\.counted)
        let reference = (counted.isEmpty ? flats : counted).map(\.ditSeconds).sorted()
        let shortDIT = instrument.mode.minimumDITSeconds
        let longDIT = reference[reference.count / 2]
        let dits = abs(longDIT - shortDIT) < 1e-9 ? [shortDIT] : [shortDIT, longDIT]
        var sets: [DarkSet] = []
        let local = self
        try await sim.step("take darks", lane: instrument.lane, use: .exposure) {
            for dit in dits { sets.append(try await local.takeDarks(ditSeconds: dit)) }
        }
        reduce(darks: sets, into: &metrics)
    }

    func takeDarks(ditSeconds dit: Double) async throws -> DarkSet {
        var levels: [Double] = [], variance = 0.0, images: [Image] = []
        for _ in 0..<p.nDark {
            let request = ExposureRequest(ditSeconds: dit, ndit: 1, modeName: instrument.mode.name, illumination: .dark,
                                          fidelity: fidelity, startSeconds: sim.now, epochMJD: epochMJD)
            let result = try await takeFrame(request, ditSeconds: dit)
            levels.append(result.medianPostISRADU)
            variance = result.amplifiers.first?.temporalVarianceADU2 ?? 0
            if let w = result.windows.first { images.append(Image(width: w.rect.width, height: w.rect.height, values: w.values)) }
        }
        let median = images.isEmpty ? nil : try MasterFrames.median(images)
        return DarkSet(ditSeconds: dit, meanADU: levels.reduce(0, +) / Double(levels.count), temporalVarianceADU2: variance, median: median)
    }

    /// Post-ISR dark level at `dit`, ADU: a line through the two dark sets (bias + dark current × DIT).
    func darkLevel(_ darks: [DarkSet], dit: Double) -> Double {
        guard darks.count == 2 else { return darks[0].meanADU }
        let slope = (darks[1].meanADU - darks[0].meanADU) / (darks[1].ditSeconds - darks[0].ditSeconds)
        return darks[0].meanADU + slope * (dit - darks[0].ditSeconds)
    }

    func reduce(darks: [DarkSet], into metrics: inout [String: Double]) {
        // Linearity: every unsaturated frame of every level ("frames with different illumination"); 90 %
        // of full well as the saturation cut is [U] our choice.
        let usable = flats.filter { $0.fill < 0.9 }
        if let fit = try? Linearity.fit(x: usable.map(\.nominalSkyElectrons),
                                        y: usable.map { $0.adu - darkLevel(darks, dit: $0.ditSeconds) }),
           fit.slopeErrorPercent.isFinite {
            metrics["linearity_slope_error_pct"] = fit.slopeErrorPercent
        }
        let counted = flats.filter(\.counted)
        if !counted.isEmpty {
            if let rect = pixelRect, darks.allSatisfy({ $0.median != nil }) {
                if let e = try? pixelFlatError(counted, darks: darks, rect: rect) { metrics["flat_error_pct"] = e }
            } else {
                metrics["flat_error_pct"] = expectedFlatError(counted, darks: darks)
            }
            if let e = try? illuminationErrors(counted, flatErrorPercent: metrics["flat_error_pct"]) {
                metrics["lamp_flat_large_scale_error_pct"] = e.lamp
                metrics["corrected_flat_large_scale_error_pct"] = e.corrected
                metrics["sky_gradient_pct_per_deg"] = e.skyGradient
            }
        }
    }

    /// Master flat from pixels: each frame dark-subtracted with the dark interpolated to its DIT (per pixel,
    /// from the two dark medians), normalised and median-combined (`MasterFrames.flat`), against the PRNU.
    func pixelFlatError(_ frames: [TwilightFlatRecord], darks: [DarkSet], rect: PixelRect) throws -> Double {
        let d0 = darks[0].median!
        let rate: Image? = darks.count == 2
            ? darks[1].median!.subtracting(d0).applying(scale: 1 / (darks[1].ditSeconds - darks[0].ditSeconds)) : nil
        var corrected: [Image] = []
        for f in frames {
            guard let px = f.pixels else { continue }
            var c = Image(width: rect.width, height: rect.height, values: px).subtracting(d0)
            if let rate { c = c.subtracting(rate.applying(scale: f.ditSeconds - darks[0].ditSeconds)) }
            corrected.append(c)
        }
        let zero = Image(width: rect.width, height: rect.height, constant: 0)
        let master = try MasterFrames.flat(corrected, exposureSeconds: 1, masterBias: zero)
        let truth = Image(width: rect.width, height: rect.height, values: simulator.prnu.values(rect: rect, amplifier: 0))
        return try MasterFrames.flatErrorPercent(master: master, truth: truth)
    }

    /// The flat error the median combine is expected to have, from the noise model (roi-statistics): a
    /// median of N frames has π/2 times the variance of their mean, Σσᵢ²/N² in relative units, plus the
    /// master dark's noise, common to all frames.
    func expectedFlatError(_ frames: [TwilightFlatRecord], darks: [DarkSet]) -> Double {
        let n = Double(frames.count)
        var sum = 0.0, meanSignal = 0.0
        for f in frames {
            let s = max(1e-9, f.adu - darkLevel(darks, dit: f.ditSeconds))
            sum += f.temporalVarianceADU2 / (s * s)
            meanSignal += s / n
        }
        let darkVariance = darks.last!.temporalVarianceADU2 / Double(p.nDark) / (meanSignal * meanSignal)
        return 100 * (Double.pi / 2 * (sum / (n * n) + darkVariance)).squareRoot()
    }

    // MARK: - Result

    func finish(outcome: Outcome, metrics base: [String: Double], levelsDone: [Bool]) -> TrialResult {
        var metrics = base
        metrics["night_photometric"] = nightSky == .photometric ? 1 : 0
        metrics["feasible"] = levelsDone.count == p.airmasses.count && levelsDone.allSatisfy { $0 } ? 1 : 0
        for k in 0..<p.airmasses.count { metrics["feasible_level_\(k + 1)"] = k < levelsDone.count && levelsDone[k] ? 1 : 0 }
        metrics["frames_in_range"] = Double(flats.filter(\.counted).count)
        metrics["frames_taken"] = Double(flats.count)
        if let first = flats.first, let last = flats.last {
            metrics["window_used_s"] = last.startSeconds + instrument.frameSeconds(ditSeconds: last.ditSeconds) - first.startSeconds
            let rates = flats.map(\.trueRate)
            let lo = rates.min()!, hi = rates.max()!
            let minExp = instrument.minimumExposureSeconds, maxExp = p.maximumExposure
            metrics["fill_fraction_min"] = (lo + darkCurrent) * minExp / fullWell
            metrics["fill_fraction_max"] = min(1, (hi + darkCurrent) * maxExp / fullWell)
            metrics["flux_range_ratio"] = hi / lo
            metrics["thermal_fraction"] = flats.reduce(0) { $0 + $1.thermalRate / $1.trueRate } / Double(flats.count)
        } else {
            metrics["window_used_s"] = 0
        }
        var series: [TrialSeries] = []
        if context.keepsDetail { series = [skySeries, ditSeries, fillSeries, sunSeries] }
        return TrialResult(outcome: outcome, metrics: metrics, frames: outputFrames, series: series, startSeconds: startSeconds)
    }

    func frameHeader(level: Int, airmass: Double) -> [HeaderCard] {
        switch instrument.telescope {
        case .auxTel:
            return [HeaderCard("IMGTYPE", "FLAT", "twilight flat"), HeaderCard("OBJECT", "twilight", ""),
                    HeaderCard("FILTER", instrument.filterName, "LATISS filter"), HeaderCard("GRATING", "empty_1", "LATISS grating"),
                    HeaderCard("AIRMASS", airmass, "requested airmass"), HeaderCard("LEVEL", level, "illumination level")]
        case .elt:
            let optiKey = instrument.lane == "IMG-N" ? "INS OPTI13 NAME" : "INS OPTI10 NAME"
            return [HeaderCard("DPR CATG", "CALIB", "observation category"), HeaderCard("DPR TYPE", "FLAT,TWILIGHT", "observation type"),
                    HeaderCard("DPR TECH", instrument.lane == "IMG-N" ? "IMAGE,N" : "IMAGE,LM", "observation technique"),
                    HeaderCard("TPL ID", "METIS_all_cal_TwilightFlat", "template (seed 002)"),
                    HeaderCard(optiKey, instrument.filterName, "filter"), HeaderCard("TEL AIRM START", airmass, "requested airmass"),
                    HeaderCard("SEQ LEVEL", level, "illumination level")]
        }
    }
}

/// Where the flats are pointed: AuxTel's mount and dome models (the LATISS session's), or the ELT with a
/// slew-time parameter.
struct TwilightTelescope {
    let simulation: Simulation
    let auxTel: AuxTel?
    let eltSlewSeconds: Double

    var lane: String { auxTel == nil ? "ELT" : "ATMount" }

    /// Slews to the airmass on the side away from the Sun (Rubin's twilight flats point 179° in azimuth
    /// from the Sun, REFERENCES §1.3), the dome following in parallel. The move times come from the
    /// ATMount and ATDome kinematics; the dome's encoder drift does not matter on the sky.
    func point(airmass: Double, antiSolarOfAzimuth sunAzimuth: Double) async throws {
        let sim = simulation
        guard let auxTel else {
            try await sim.timeout(eltSlewSeconds)
            return
        }
        try await Self.point(auxTel, simulation: sim, azimuth: Azimuth.normalized(sunAzimuth + 180),
                             elevation: try Airmass.altitudeDegrees(forAirmass: airmass))
    }

    /// AuxTel to a fixed (az, el), the dome following in parallel: the move times from the ATMount and
    /// ATDome kinematics (shared with latiss_take_twilight_flats).
    static func point(_ auxTel: AuxTel, simulation sim: Simulation, azimuth: Double, elevation: Double) async throws {
        let mount = auxTel.atMount, dome = auxTel.atDome
        let mountSeconds = try mount.slewSeconds(azimuthDegrees: azimuth, elevationDegrees: elevation)
        let wrapped = try mount.wrapAzimuth(azimuth)
        let domeSeconds = try dome.moveSeconds(toAzimuth: azimuth)
        try await sim.inParallel("point", [
            { try await sim.step("ATMount slew", lane: "ATMount", use: .mechanism) { try await sim.timeout(mountSeconds) } },
            { try await sim.step("ATDome follow", lane: "ATDome", use: .mechanism) { try await sim.timeout(domeSeconds) } },
        ])
        mount.restore(azimuthDegrees: wrapped, elevationDegrees: elevation)
        dome.restore(believedAzimuthDegrees: azimuth, encoderErrorDegrees: dome.encoderErrorDegrees,
                     travelSinceHomeDegrees: dome.travelSinceHomeDegrees + abs(Azimuth.shortestDelta(from: dome.believedAzimuthDegrees, to: azimuth)))
    }

    /// A wheel move; a jam (a modelled fault) is cleared and the move retried once.
    static func move(_ device: NamedPositionDevice, to position: String) async throws {
        do {
            try await device.move(to: position)
        } catch MotionError.jammed {
            try await device.recover()
            try await device.move(to: position)
        }
    }
}

/// The Sun does not cross the horizon on the night asked for.
struct NoTwilight: Error {
    let polarDay: Bool
    var outcome: Outcome { Outcome(kind: polarDay ? "no_twilight_polar_day" : "no_twilight_polar_night") }
}
