import Analysis
import Observatory
import SimKernel

/// One trial of the LATISS weekly calibrations: the operator running the document's blocks against the
/// AuxTel models. Per-trial state lives here; `LATISSWeekly` holds only configuration.
final class LATISSWeeklyRun {
    enum ImageType { case bias, dark, flat }

    let s: LATISSWeekly.Settings
    let context: TrialContext
    let sim: Simulation
    let auxTel: AuxTel
    let screen = ATFlatScreen()
    let detector: DetectorSimulator
    let detectorStream: RandomStream
    let overheadStream: RandomStream
    let ingestionStream: RandomStream
    let verificationStream: RandomStream
    /// nil at `timing` fidelity: no image is simulated except the flats the misalignment check reads.
    let fidelity: Fidelity?
    let keepsPixels: Bool
    let amplifierCount: Int

    // What the trial measured.
    var restarts = 0
    var contingencies = 0
    var contingencySeconds = 0.0
    /// Flats above the operator's ~30,000 ADU limit: the document has the operator report them and go on.
    var flatLimitReports = 0
    var anyAborted = false
    var sdssr6sLevels: [Double] = []
    var ptcMetrics: [String: Double] = [:]
    var masterFlatError: Double?
    var frames: [Frame] = []
    var levelSeries = TrialSeries(name: "post_isr_level", unit: "adu")
    var imageNumber = 0

    init(settings: LATISSWeekly.Settings, context: TrialContext) {
        s = settings
        self.context = context
        sim = context.simulation
        auxTel = AuxTel(context.simulation, parameters: settings.auxTel, state: .parked)
        var model = DetectorModel.latissITL3800()
        model.roiWidth = settings.roiSize
        model.roiHeight = settings.roiSize
        detector = DetectorSimulator(model: model)
        amplifierCount = model.amplifiers.count
        detectorStream = context.simulation.stream("LATISS.detector")
        overheadStream = context.simulation.stream("LATISS.overhead")
        ingestionStream = context.simulation.stream("OODS.ingestion")
        verificationStream = context.simulation.stream("OCPS.verification")
        switch context.fidelity {
        case .timing: fidelity = nil
        case .roiStatistics: fidelity = .roiStatistics
        case .roiPixels: fidelity = .roiPixels
        case .fullFrame: fidelity = .fullFrame
        }
        keepsPixels = context.fidelity == .roiPixels || context.fidelity == .fullFrame
    }

    // MARK: The trial

    func run() async throws -> TrialResult {
        if let e = s.initialEncoderErrorDegrees {
            auxTel.atDome.restore(believedAzimuthDegrees: AuxTelState.parked.domeBelievedAzimuthDegrees, encoderErrorDegrees: e,
                                  travelSinceHomeDegrees: Double(s.nightsSinceHome) * s.nightlyDomeTravelDegrees)
        } else {
            nightsOfDomeUse(s.nightsSinceHome)
        }
        do {
            for week in 0..<s.weeks {
                if week > 0 { nightsOfDomeUse(s.nightsBetween) }
                try await runWeek()
            }
        } catch let e as ThermalError {
            throw ProcedureAbort(cause: Self.cause(of: e), metrics: metrics())
        } catch let abort as ProcedureAbort {
            throw ProcedureAbort(cause: abort.cause, metrics: metrics().merging(abort.metrics) { a, _ in a })
        }
        let outcome: Outcome = anyAborted ? .aborted("restart_limit") : (restarts > 0 ? .completedAfterRestart : .completed)
        return TrialResult(outcome: outcome, metrics: metrics(), frames: frames,
                           series: context.keepsDetail ? [levelSeries] : [])
    }

    static func cause(of error: ThermalError) -> String {
        switch error {
        case .ignitionFailed: return "lamp_ignition"
        case .shutterTimeout: return "shutter_stuck"
        default: return "atcalsys"
        }
    }

    func metrics() -> [String: Double] {
        var m: [String: Double] = ["restarts": Double(restarts), "contingencies": Double(contingencies),
                                   "contingency_time_s": contingencySeconds, "flat_limit_reports": Double(flatLimitReports)]
        if !sdssr6sLevels.isEmpty { m["flat_sdssr_6s_adu"] = Self.median(sdssr6sLevels) }
        if let e = masterFlatError { m["master_flat_error_pct"] = e }
        m.merge(ptcMetrics) { _, b in b }
        return m
    }

    /// A night's dome use in closed form: the encoder error is a random walk with variance k² per degree
    /// travelled (Dome), so N nights of `nightly_dome_travel` add one Gaussian of variance k²·N·travel, the
    /// sum of all the night's steps. The night ends with the telescope parked (mount el 80°, az 0°; dome
    /// az 285°, atcs.py). The draw comes from its own stream, so a plan that moves the dome differently
    /// during calibrations sees the same nights (common random numbers).
    func nightsOfDomeUse(_ nights: Int) {
        let dome = auxTel.atDome
        let travel = Double(nights) * s.nightlyDomeTravelDegrees
        let k = dome.parameters.driftDegreesPerSqrtDegree
        var error = dome.encoderErrorDegrees
        if k > 0 && travel > 0 { error += sim.stream("ATDome.nightly").gaussian(sigma: k * travel.squareRoot()) }
        dome.restore(believedAzimuthDegrees: AuxTelState.parked.domeBelievedAzimuthDegrees, encoderErrorDegrees: error,
                     travelSinceHomeDegrees: dome.travelSinceHomeDegrees + travel)
        auxTel.atMount.restore(azimuthDegrees: AuxTelState.parked.mountAzimuthDegrees,
                               elevationDegrees: AuxTelState.parked.mountElevationDegrees)
    }

    /// One weekly calibration, restarted from the beginning after each misalignment (seed 003,
    /// "Restart the Procedure Steps from the beginning").
    func runWeek() async throws {
        if s.preventiveHome { try await auxTel.atDome.home() }
        var weekRestarts = 0
        while true {
            let attemptStart = sim.now
            try await setupBlock()
            let misaligned = try await sim.step(s.ptcOnly ? "take_image_latiss weekly_PTC" : "BLOCK-295 latiss_weekly_calibrations",
                                                lane: "ATQueue") { () async throws -> Bool in
                s.ptcOnly ? try await ptcSequence() : try await weeklyBlock()
            }
            if !misaligned {
                try await shutdownBlock()
                return
            }
            contingencies += 1
            try await misalignmentTroubleshooting()
            contingencySeconds += sim.now - attemptStart
            if weekRestarts >= s.maxRestarts {
                anyAborted = true
                try await shutdownBlock()
                return
            }
            weekRestarts += 1
            restarts += 1
        }
    }

    // MARK: Blocks

    /// BLOCK-309 (setup_latiss_calibrations).
    func setupBlock() async throws {
        try await sim.step("BLOCK-309 setup_latiss_calibrations", lane: "ATQueue") {
            try await auxTel.atWhiteLight.setSummaryState(.enabled)
            // OCPS:1 is not modelled as a device: STANDBY → DISABLED → ENABLED, one transition time each,
            // as ATWhiteLight's CSC.
            try await sim.step("set_summary_state OCPS:1 ENABLED", lane: "OCPS") {
                try await sim.timeout(2 * s.auxTel.whiteLight.transitionSeconds)
            }
            try await auxTel.atCalSys.powerOn()
            try await auxTel.prepareForFlat()
        }
    }

    /// BLOCK-310 (shutdown_latiss_calibrations).
    func shutdownBlock() async throws {
        try await sim.step("BLOCK-310 shutdown_latiss_calibrations", lane: "ATQueue") {
            try await auxTel.atCalSys.powerOff()
            try await auxTel.atWhiteLight.setSummaryState(.standby)
        }
    }

    /// BLOCK-295: the five make_latiss_calibrations sets, then the weekly PTC. Returns true when the
    /// operator found the dome and lamp misaligned (the block is stopped there).
    func weeklyBlock() async throws -> Bool {
        for set in s.sets {
            if try await calibrationSet(set) { return true }
        }
        return try await sim.step("take_image_latiss weekly_PTC", lane: "LATISS") { try await ptcSequence() }
    }

    /// The contingency of seed 003: report the incident, then home_dome; the caller restarts.
    func misalignmentTroubleshooting() async throws {
        try await sim.step("ATDome and ATWhiteLight Misalignment Troubleshooting", lane: "operator") {
            try await sim.step("Report the incident to the AuxTel team", lane: "operator") {
                try await sim.timeout(s.incidentReportSeconds)
            }
            try await auxTel.atDome.home()
        }
    }

    // MARK: make_latiss_calibrations

    func calibrationSet(_ set: LATISSCalibrationSet) async throws -> Bool {
        try await sim.step(set.stepName, lane: "LATISS") { () async throws -> Bool in
            try await setInstrument(filter: set.filter, grating: set.grating)
            var pixels = keepsPixels ? LATISSSetPixels(amplifiers: amplifierCount) : nil
            var verification = VerificationJobs()
            try await sim.step("take_imgtype BIAS", lane: "LATISS") {
                for k in 0..<set.biasCount {
                    guard let r = try await takeImage(.bias, seconds: 0, set.filter, set.grating) else { continue }
                    checkBiasOrDark(r)
                    if k >= set.nDiscard { pixels?.add(bias: r) }
                }
                try await waitForIngestion()
            }
            try await verify("BIAS", &verification)
            try await sim.step("take_imgtype DARK", lane: "LATISS") {
                for (k, t) in set.expTimesDark.enumerated() {
                    guard let r = try await takeImage(.dark, seconds: t, set.filter, set.grating) else { continue }
                    checkBiasOrDark(r)
                    if k >= set.nDiscard { pixels?.add(dark: r) }
                }
                try await waitForIngestion()
            }
            try await verify("DARK", &verification)
            let checksAlignment = set.filter == LATISSWeeklyDocument.misalignmentCheckFilter && set.grating == ATFlatScreen.emptyName
            var levels: [Double] = []
            let misaligned = try await sim.step("take_imgtype FLAT", lane: "LATISS") { () async throws -> Bool in
                for (k, t) in set.expTimesFlat.enumerated() {
                    let checked = checksAlignment && t == LATISSWeeklyDocument.misalignmentCheckExposureSeconds
                    guard let r = try await takeImage(.flat, seconds: t, set.filter, set.grating, forceStatistics: checked) else { continue }
                    let level = r.medianPostISRADU
                    if checked {
                        if k >= set.nDiscard || set.expTimesFlat.count <= set.nDiscard { levels.append(level) }
                        if level < s.misalignedFlatThresholdADU {
                            sdssr6sLevels = [level]
                            record("misaligned flat", level)
                            return true
                        }
                    }
                    if level > s.flatLimitADU {
                        flatLimitReports += 1
                        record("report ISR problem", level)
                    }
                    if k >= set.nDiscard { pixels?.add(flat: r) }
                }
                try await waitForIngestion()
                return false
            }
            if misaligned { return true }
            try await verify("FLAT", &verification)
            try await verify("GAIN", &verification)
            try await waitForBackgroundTasks(verification)
            if checksAlignment && !levels.isEmpty { sdssr6sLevels = levels }
            if set.name == LATISSWeeklyDocument.misalignmentCheckFilter, let p = pixels {
                masterFlatError = try p.masterFlatErrorPercent(detector: detector)
            } else if let p = pixels {
                // Every set's masters are built, as cpBias/cpDark/cpFlat do; only SDSSr_65mm is scored.
                _ = try p.masterFlatErrorPercent(detector: detector)
            }
            return false
        }
    }

    // MARK: Waits for data and pipelines (LATISSControlTiming)

    /// make_latiss_calibrations after each image type: until the OODS has ingested every image, at most
    /// oods_timeout (then it logs an error and goes on).
    func waitForIngestion() async throws {
        let seconds = s.controlTiming.ingestionWaitSeconds(stream: ingestionStream)
        try await sim.step("wait image_in_oods", lane: "OODS") { try await sim.timeout(seconds) }
    }

    /// The OCPS jobs one make_latiss_calibrations run started: when each will be done.
    struct VerificationJobs {
        var endSeconds: [Double] = []
    }

    /// One cp_verify job (BIAS, DARK, FLAT, and the gain from flat pairs after the flats): in the background
    /// it only starts; blocking (the mid-2024 script) the script waits for it.
    func verify(_ type: String, _ jobs: inout VerificationJobs) async throws {
        let seconds = s.controlTiming.verificationJob.sample(verificationStream)
        if s.controlTiming.backgroundVerification {
            jobs.endSeconds.append(sim.now + seconds)
        } else {
            try await sim.step("cp_verify \(type)", lane: "OCPS") { try await sim.timeout(seconds) }
        }
    }

    /// wait_for_background_tasks: until every job is done, at most background_task_timeout × the number of
    /// jobs; then the script cancels them and ends.
    func waitForBackgroundTasks(_ jobs: VerificationJobs) async throws {
        guard s.controlTiming.backgroundVerification, let last = jobs.endSeconds.max() else { return }
        let limit = s.controlTiming.backgroundTaskTimeoutSeconds * Double(jobs.endSeconds.count)
        let seconds = min(max(0, last - sim.now), limit)
        guard seconds > 0 else { return }
        try await sim.step("wait_for_background_tasks", lane: "OCPS") { try await sim.timeout(seconds) }
    }

    // MARK: The weekly PTC

    /// take_image_latiss.py: FLAT, SDSSr_65mm, empty_1, reason weekly_PTC, the exposure times in order.
    /// Returns false (the PTC has no misalignment check of its own).
    func ptcSequence() async throws -> Bool {
        let filter = LATISSWeeklyDocument.ptcFilter, grating = LATISSWeeklyDocument.ptcGrating
        try await setInstrument(filter: filter, grating: grating)
        let times = s.ptcExposureTimes
        let pairs = PhotonTransferCurve.pairIndices(exposureSeconds: times)
        var partner = [Int](repeating: -1, count: times.count)
        for p in pairs { partner[p.second] = p.first; partner[p.first] = -2 }
        var pending: [Int: [[Double]]] = [:]
        var pendingMeans: [Int: [Double]] = [:]
        var points = [[PTCPoint]](repeating: [], count: amplifierCount)
        var pairTimes: [Double] = []
        var pairMeans = [[Double]](repeating: [], count: amplifierCount)
        for (i, t) in times.enumerated() {
            guard let r = try await takeImage(.flat, seconds: t, filter, grating, reason: "weekly_PTC") else { continue }
            if partner[i] == -2 {
                pendingMeans[i] = r.amplifiers.map(\.postISRMeanADU)
                if keepsPixels { pending[i] = Self.postISRWindows(r) }
            } else if partner[i] >= 0, let firstMeans = pendingMeans.removeValue(forKey: partner[i]) {
                pairTimes.append(t)
                for a in 0..<min(amplifierCount, r.amplifiers.count) {
                    pairMeans[a].append(0.5 * (firstMeans[a] + r.amplifiers[a].postISRMeanADU))
                }
                if keepsPixels, let first = pending.removeValue(forKey: partner[i]) {
                    let second = Self.postISRWindows(r)
                    for a in 0..<min(first.count, second.count) {
                        points[a].append(try PhotonTransferCurve.measurePair(first[a], second[a], exposureSeconds: t))
                    }
                }
            }
        }
        solvePTC(points: points, pairTimes: pairTimes, pairMeans: pairMeans)
        return false
    }

    /// The bias-subtracted pixels of each amplifier's window (a perfect overscan correction: the
    /// amplifier's true mean bias; the bias plane left over is common to both flats of a pair).
    static func postISRWindows(_ r: ExposureResult) -> [[Double]] {
        zip(r.windows, r.amplifiers).map { w, a in
            let bias = a.biasADU
            return w.values.map { $0 - bias }
        }
    }

    func solvePTC(points: [[PTCPoint]], pairTimes: [Double], pairMeans: [[Double]]) {
        var turnoffs: [Double] = [], turnoffTimes: [Double] = []
        var gainErrors: [Double] = [], noiseErrors: [Double] = []
        let mode = try? detector.model.mode()
        for a in 0..<amplifierCount {
            if keepsPixels, let mode, points[a].count >= 4, let fit = try? PhotonTransferCurve.solve(points[a]) {
                turnoffs.append(fit.turnoffADU)
                turnoffTimes.append(fit.turnoffExposureSeconds)
                gainErrors.append(100 * (fit.gainElectronsPerADU / mode.gainElectronsPerADU[a] - 1))
                noiseErrors.append(100 * (fit.noiseElectrons / mode.readNoiseElectrons[a] - 1))
            } else if !keepsPixels, !pairMeans[a].isEmpty,
                      let t = PhotonTransferCurve.turnoffFromMeans(exposureSeconds: pairTimes, meansADU: pairMeans[a]) {
                turnoffs.append(t.adu)
                turnoffTimes.append(t.seconds)
            }
        }
        ptcMetrics = [:]
        if !turnoffs.isEmpty {
            ptcMetrics["ptc_turnoff_adu"] = Self.median(turnoffs)
            ptcMetrics["ptc_turnoff_exptime_s"] = Self.median(turnoffTimes)
        }
        if !gainErrors.isEmpty {
            ptcMetrics["ptc_gain_error_pct"] = gainErrors.reduce(0, +) / Double(gainErrors.count)
            ptcMetrics["ptc_noise_error_pct"] = noiseErrors.reduce(0, +) / Double(noiseErrors.count)
        }
    }

    // MARK: Images

    /// Filter and grating wheels (make_latiss_calibrations' `filter`/`grating`); a jammed wheel is
    /// recovered and the move retried, twice at most.
    func setInstrument(filter: String, grating: String) async throws {
        var attempt = 0
        while true {
            do {
                try await auxTel.setInstrument(filter: filter, grating: grating)
                return
            } catch MotionError.jammed {
                attempt += 1
                if attempt > 2 { throw ProcedureAbort(cause: "wheel_jam") }
                try await auxTel.filterWheel.recover()
                try await auxTel.gratingWheel.recover()
            }
        }
    }

    /// What the flat screen sends while the LATISS shutter is open: the lamp's state (off unless lit with
    /// the ATWhiteLight shutter open; ramping during the warm-up) and the dome's TRUE azimuth.
    func photonRate(filter: String, grating: String) throws -> Double {
        let wl = auxTel.atWhiteLight
        var lamp = ATFlatScreen.LampState.off
        if wl.isShutterOpen, case .on(let since) = wl.lampState {
            let progress = (sim.now - since) / wl.parameters.warmupSeconds
            lamp = progress >= 1 ? .on : .warming(progress: progress)
        }
        return try screen.photonsPerSecondPerPixel(filter: filter, grating: grating, lamp: lamp,
                                                   trueDomeAzimuthDegrees: auxTel.atDome.trueAzimuthDegrees) * wl.fluxFactor
    }

    /// One image: exposure plus readout on the camera (LATISSCameraTiming: the LATISS shutter's travel is
    /// inside the exposure) plus the take_imgtype call's overhead (LATISSControlTiming), then the detector's
    /// frame at the trial's fidelity. Returns nil when nothing is simulated (timing fidelity, unless
    /// `forceStatistics`).
    func takeImage(_ type: ImageType, seconds: Double, _ filter: String, _ grating: String, reason: String? = nil,
                   forceStatistics: Bool = false) async throws -> ExposureResult? {
        let start = sim.now
        let rate = type == .flat ? try photonRate(filter: filter, grating: grating) : 0
        try await sim.timeout(s.controlTiming.imageSeconds(exposureSeconds: seconds, stream: overheadStream))
        imageNumber += 1
        guard let f = fidelity ?? (forceStatistics ? .roiStatistics : nil) else { return nil }
        var request = ExposureRequest(ditSeconds: seconds, illumination: Illumination(photonsPerSecondPerPixel: rate),
                                      fidelity: f, startSeconds: start)
        if context.keepsDetail {
            let imageType = type == .bias ? "BIAS" : type == .dark ? "DARK" : "FLAT"
            request.header = [HeaderCard("IMGTYPE", imageType, "image type"), HeaderCard("FILTER", filter, "filter wheel"),
                              HeaderCard("GRATING", grating, "grating wheel"),
                              HeaderCard("REASON", reason ?? "weekly calibrations", "observation reason")]
            request.epochMJD = context.epochUnixSeconds / 86_400 + 40_587
        }
        let result = try detector.expose(request, stream: detectorStream)
        if context.keepsDetail { keepDetail(result, type: type, filter: filter) }
        return result
    }

    func keepDetail(_ r: ExposureResult, type: ImageType, filter: String) {
        let level = r.medianPostISRADU
        levelSeries.points.append((r.startSeconds, level))
        guard let window = r.windows.first else { return }
        let number = String(imageNumber)
        let stem = String(repeating: "0", count: max(0, 4 - number.count)) + number
        let kind = type == .bias ? "BIAS" : type == .dark ? "DARK" : "FLAT_" + filter
        frames.append(Frame(name: stem + "_" + kind, window: window, header: r.header, convention: .rubin))
    }

    func checkBiasOrDark(_ r: ExposureResult) {
        let level = r.medianPostISRADU
        if abs(level) > s.biasDarkLimitADU { record("report ISR problem", level) }
    }

    /// The operator's note in the trace; the text is built only when a trace is kept.
    func record(_ action: String, _ level: Double) {
        guard sim.trace != nil else { return }
        sim.record("operator", action, ["post_isr_adu": "\(level)", "true_dome_az": "\(auxTel.atDome.trueAzimuthDegrees)"])
    }

    static func median(_ values: [Double]) -> Double {
        let v = values.sorted()
        return v.count % 2 == 1 ? v[v.count / 2] : 0.5 * (v[v.count / 2 - 1] + v[v.count / 2])
    }
}
