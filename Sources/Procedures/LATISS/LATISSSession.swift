import Analysis
import Observatory
import SimKernel

/// What every AuxTel/LATISS script of one trial shares: the AuxTel models, the LATISS detector, taking
/// an image (exposure, readout, the fidelity, detail frames and headers), moving the wheels with their
/// jam handling, every CSC's summary state (carried through the whole run: BLOCK-310 starts where BLOCK-295
/// left them), and the operator's contingency watch on every image. A script (`LATISSScripts`) reads and drives only this.
public final class LATISSSession {
    public enum ImageType: String, Sendable, CaseIterable { case bias = "BIAS", dark = "DARK", flat = "FLAT" }

    let settings: LATISS.Settings
    public let context: TrialContext
    public let sim: Simulation
    public let auxTel: AuxTel
    let screen: ATFlatScreen
    let detector: DetectorSimulator
    let detectorStream: RandomStream
    let overheadStream: RandomStream
    let ingestionStream: RandomStream
    let verificationStream: RandomStream
    /// True when images have pixels (PTC pairs and master frames are measured).
    public let keepsPixels: Bool
    let amplifierCount: Int
    /// Every CSC of `LATISSCSCs`, by name; ATWhiteLight's is the lamp model's own.
    public let cscs: [String: CSCStateMachine]
    /// The ATCS and LATISS groups' machines in `LATISSCSCs` order, and ATSpectrograph's, looked up once:
    /// the LATISS group is asserted before every image and ATSpectrograph at every wheel move, where a
    /// lookup by name cost a String-keyed dictionary probe per CSC.
    let atcsGroup: [CSCStateMachine]
    let latissGroup: [CSCStateMachine]
    let atSpectrograph: [CSCStateMachine]
    /// `settings.contingencies`' image selections in the same order, their `when` fields read once.
    let imageWatches: [LATISSImageWatch]
    /// The flat screen's throughput of each (filter, grating) pair the trial has lit, in first-use order:
    /// every flat needs it, and `ATFlatScreen.throughput` looks each element up by name. `screen` never
    /// changes during a trial, so an entry never goes stale; a trial uses a handful of pairs.
    var pairThroughputs: [(filter: String, grating: String, throughput: Double)] = []

    /// The contingency whose check failed: the running sequence stops at once (scripts test `stopped`
    /// after every image) and the run's response takes over.
    public internal(set) var triggered: Contingency?
    public var stopped: Bool { triggered != nil }
    /// Levels of the watched images of the script running now, discards left out.
    var pendingLevels: [Double] = []
    /// Levels of the watched images of the last script that took any (the failing one alone after a
    /// failed check): `flat_sdssr_6s_adu`.
    var watchedLevels: [Double] = []

    // What the trial measured.
    var ptcMetrics: [String: Double] = [:]
    var masterFlatError: Double?
    var frames: [Frame] = []
    /// One series per image type: a BIAS's ~10 ADU and a FLAT's ~20,000 ADU are different checks.
    var levelSeries = ImageType.allCases.map { TrialSeries(name: "post_isr_level", unit: "adu", kind: $0.rawValue) }
    var imageNumber = 0
    /// Flats above the operator's ~30,000 ADU limit: the document has the operator report them and go on.
    var flatLimitReports = 0
    /// Twilight flats taken by latiss_take_twilight_flats (the calibration frames and sleeps' frames left out).
    var twilightFlats = 0

    init(settings: LATISS.Settings, context: TrialContext) {
        self.settings = settings
        self.context = context
        sim = context.simulation
        auxTel = AuxTel(context.simulation, parameters: settings.auxTel, state: .parked)
        screen = settings.screen
        var model = DetectorModel.latissITL3800()
        model.roiWidth = settings.roiSize
        model.roiHeight = settings.roiSize
        detector = DetectorSimulator(model: model)
        amplifierCount = model.amplifiers.count
        detectorStream = context.simulation.stream("LATISS.detector")
        overheadStream = context.simulation.stream("LATISS.overhead")
        ingestionStream = context.simulation.stream("OODS.ingestion")
        verificationStream = context.simulation.stream("OCPS.verification")
        keepsPixels = context.fidelity.hasPixels
        var cscs: [String: CSCStateMachine] = [:]
        for entry in LATISSCSCs.all {
            let machine = entry.name == auxTel.atWhiteLight.name ? auxTel.atWhiteLight.csc
                : CSCStateMachine(context.simulation, name: entry.name, lane: entry.lane, state: entry.initial,
                                  transitionSeconds: settings.auxTel.whiteLight.transitionSeconds,
                                  externallyCommandable: entry.externallyCommandable)
            machine.restore(settings.cscInitialStates[entry.name] ?? entry.initial)
            cscs[entry.name] = machine
        }
        self.cscs = cscs
        // A name with no machine is skipped, as `requireEnabled(_:for:)` by name skips it.
        atcsGroup = LATISSCSCs.atcsGroup.compactMap { cscs[$0] }
        latissGroup = LATISSCSCs.latissGroup.compactMap { cscs[$0] }
        atSpectrograph = ["ATSpectrograph"].compactMap { cscs[$0] }
        imageWatches = settings.contingencies.map(LATISSImageWatch.init)
    }

    // MARK: Devices

    /// The filter and grating wheels (make_latiss_calibrations' and take_image_latiss' `filter`/`grating`);
    /// a jammed wheel is recovered and the move retried, twice at most.
    public func setInstrument(filter: String, grating: String) async throws {
        try requireEnabled(atSpectrograph, for: "changeFilter/changeDisperser")
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

    /// set_summary_state for one CSC: the salobj path from its present state, one command per transition
    /// (`CSCStateMachine`); nothing to send when it is already there.
    public func setSummaryState(_ csc: String, _ state: CSCState) async throws {
        guard let machine = cscs[csc] else { throw CSCCommandRejected(csc: csc, command: "set_summary_state", state: .offline) }
        if machine === auxTel.atWhiteLight.csc {
            try await auxTel.atWhiteLight.setSummaryState(state)
        } else {
            try await machine.setSummaryState(state)
        }
    }

    /// A group's `assert_all_enabled` before a command that needs it (ts_observatory_control: ATCS before
    /// prepare_for_flatfield, LATISS before every image); the first CSC not ENABLED refuses.
    /// A name with no machine is skipped.
    public func requireEnabled(_ names: [String], for command: @autoclosure () -> String) throws {
        try requireEnabled(names.compactMap { cscs[$0] }, for: command())
    }

    /// The same for a group already resolved to its machines (`atcsGroup`, `latissGroup`).
    func requireEnabled(_ group: [CSCStateMachine], for command: @autoclosure () -> String) throws {
        for machine in group { try machine.requireEnabled(for: command()) }
    }

    // MARK: Images

    /// What the flat screen sends while the LATISS shutter is open: the lamp's state (off unless lit with
    /// the ATWhiteLight shutter open; ramping during the warm-up) and the dome's TRUE azimuth.
    func photonRate(filter: String, grating: String) throws -> Double {
        let wl = auxTel.atWhiteLight
        var lamp = ATFlatScreen.LampState.off
        if wl.isShutterOpen, case .on(let since) = wl.lampState {
            let progress = (sim.now - since) / wl.parameters.warmupSeconds
            lamp = progress >= 1 ? .on : .warming(progress: progress)
        }
        return screen.photonsPerSecondPerPixel(throughput: try throughput(filter: filter, grating: grating), lamp: lamp,
                                               trueDomeAzimuthDegrees: auxTel.atDome.trueAzimuthDegrees) * wl.fluxFactor
    }

    /// `ATFlatScreen.throughput` of the pair, from `pairThroughputs` after its first flat. An unknown name
    /// is never kept, so it throws at every flat as the screen does.
    func throughput(filter: String, grating: String) throws -> Double {
        for pair in pairThroughputs where pair.filter == filter && pair.grating == grating { return pair.throughput }
        let throughput = try screen.throughput(filter: filter, grating: grating)
        pairThroughputs.append((filter, grating, throughput))
        return throughput
    }

    /// The first contingency that watches an image of this kind, as its index in `settings.contingencies`
    /// (the contingency itself is copied only when its check fails).
    func watcher(_ type: ImageType, seconds: Double, filter: String, grating: String) -> Int? {
        let imageType = type.rawValue
        return imageWatches.firstIndex { $0.matches(imageType, filter: filter, grating: grating, seconds: seconds) }
    }

    /// One image: exposure plus readout on the camera (LATISSCameraTiming: the LATISS shutter's travel is
    /// inside the exposure) plus the take_imgtype call's overhead (LATISSControlTiming), then the detector's frame at the trial's fidelity, then the operator's
    /// contingency check when one watches it. `counts` is false for the discarded images of a sequence.
    /// Returns nil when nothing is simulated (timing fidelity and no watcher).
    /// `sky` replaces the flat screen (a twilight flat: the sky's electrons per second per pixel, the
    /// QE inside), and `measured` asks for the frame's statistics even at timing fidelity (a script that
    /// reads the counts of its last image, as latiss_take_twilight_flats does).
    public func takeImage(_ type: ImageType, seconds: Double, filter: String, grating: String, reason: String? = nil,
                          counts: Bool = true, sky: Illumination? = nil, measured: Bool = false) async throws -> ExposureResult? {
        try requireEnabled(latissGroup, for: "take_imgtype \(type.rawValue)")
        let start = sim.now
        let illumination = try sky ?? Illumination(photonsPerSecondPerPixel: type == .flat ? try photonRate(filter: filter, grating: grating) : 0)
        let watcher = watcher(type, seconds: seconds, filter: filter, grating: grating)
        // Overhead, exposure, readout as three leaves of the step tree (one time use each); the readout ends
        // at start + the image's time exactly, where one uncut wait did.
        let parts = settings.controlTiming.imageParts(exposureSeconds: seconds, stream: overheadStream)
        func occupyCamera() async throws {
            try await sim.step("image overhead", lane: "LATISS", use: .readoutOverhead) { try await sim.timeout(max(0, parts.overheadSeconds)) }
            if seconds > 0 { try await sim.step("exposure", lane: "LATISS", use: .exposure) { try await sim.timeout(seconds) } }
            try await sim.step("readout", lane: "LATISS", use: .readoutOverhead) { try await sim.wait(until: start + parts.totalSeconds) }
        }
        guard let f = watcher != nil || measured ? measuredFidelity() : fidelity() else {
            try await occupyCamera()
            imageNumber += 1
            return nil
        }
        var request = ExposureRequest(ditSeconds: seconds, illumination: illumination,
                                      fidelity: f, startSeconds: start)
        if context.keepsDetail {
            request.header = [HeaderCard("IMGTYPE", type.rawValue, "image type"), HeaderCard("FILTER", filter, "filter wheel"),
                              HeaderCard("GRATING", grating, "grating wheel"),
                              HeaderCard("REASON", reason ?? "weekly calibrations", "observation reason")]
            request.epochMJD = context.epochUnixSeconds / 86_400 + 40_587
        }
        let result = try await expose(request, occupying: occupyCamera)
        imageNumber += 1
        if context.keepsDetail { keepDetail(result, type: type, filter: filter) }
        if let watcher {
            let level = result.medianPostISRADU
            if counts { pendingLevels.append(level) }
            if level < imageWatches[watcher].belowADU {
                let failed = settings.contingencies[watcher]
                watchedLevels = [level]
                pendingLevels = []
                triggered = failed
                record(failed.note, level)
            }
        }
        return result
    }

    /// The one mapping from the study's fidelity to a LATISS frame's (`DetectorFidelity.detector`): nil is
    /// no image (timing). `windows` are the pixels the caller reads at roi-pixels; none is every
    /// amplifier's region of interest.
    func fidelity(windows: [PixelRect]? = nil) -> Fidelity? { context.fidelity.detector(windows: windows) }

    /// A frame whose counts are read (a watched image; a twilight flat, whose level sets the next
    /// exposure): the same mapping, and ROI statistics at timing.
    func measuredFidelity(windows: [PixelRect]? = nil) -> Fidelity { fidelity(windows: windows) ?? .roiStatistics }

    /// One frame on the camera: `occupy` passes the frame's time on the camera (takeImage's overhead,
    /// exposure and readout steps), and only then are its pixels drawn from "LATISS.detector", so a draw
    /// elsewhere during the exposure never sees the frame's.
    func expose(_ request: ExposureRequest, occupying occupy: () async throws -> Void) async throws -> ExposureResult {
        try await occupy()
        return try detector.expose(request, stream: detectorStream)
    }

    /// A frame that occupies the camera `seconds` (the twilight study's exposure and readout).
    func expose(_ request: ExposureRequest, occupying seconds: Double) async throws -> ExposureResult {
        try await expose(request) { try await sim.timeout(seconds) }
    }

    /// Called by the runner after each script that was not stopped.
    func scriptEnded() {
        if !pendingLevels.isEmpty { watchedLevels = pendingLevels }
        pendingLevels = []
    }

    func keepDetail(_ r: ExposureResult, type: ImageType, filter: String) {
        let level = r.medianPostISRADU
        levelSeries[ImageType.allCases.firstIndex(of: type)!].points.append((r.startSeconds, level))
        let number = String(imageNumber)
        let stem = String(repeating: "0", count: max(0, 4 - number.count)) + number
        let kind = type == .flat ? "FLAT_" + filter : type.rawValue
        // The segments' overscan noise has its own stream: keeping frames moves no other draw.
        if let frame = Frame(latissRaw: stem + "_" + kind, exposure: r, model: detector.model, sequenceNumber: imageNumber,
                             stream: sim.stream("LATISS.segments")) {
            frames.append(frame)
        }
    }

    /// The operator's post-ISR check of a BIAS or DARK (seed 003: "about 10 ADUs").
    func checkBiasOrDark(_ r: ExposureResult) {
        let level = r.medianPostISRADU
        if abs(level) > settings.biasDarkLimitADU { record("report ISR problem", level) }
    }

    /// The operator's post-ISR check of a weekly FLAT (seed 003: "below ≈ 30000 ADUs").
    func checkFlat(_ r: ExposureResult) {
        let level = r.medianPostISRADU
        if level > settings.flatLimitADU {
            flatLimitReports += 1
            record("report ISR problem", level)
        }
    }

    // MARK: Waits for data and pipelines (LATISSControlTiming)

    /// make_latiss_calibrations after each image type: until the OODS has ingested every image, at most
    /// oods_timeout (then it logs an error and goes on).
    public func waitForIngestion() async throws {
        let seconds = settings.controlTiming.ingestionWaitSeconds(stream: ingestionStream)
        guard seconds > 0 else { return }
        try await sim.step("wait image_in_oods", lane: "OODS", use: .dataWait) { try await sim.timeout(seconds) }
    }

    /// The OCPS jobs one make_latiss_calibrations run started: when each will be done.
    public struct VerificationJobs: Sendable {
        var endSeconds: [Double] = []
        public init() {}
    }

    /// One cp_verify job (each image type, and the gain from flat pairs after the flats): in the background
    /// (ts_externalscripts since 2024-11) it only starts; blocking (the mid-2024 script) the script waits.
    public func verify(_ type: String, _ jobs: inout VerificationJobs) async throws {
        let seconds = settings.controlTiming.verificationJob.sample(verificationStream)
        if settings.controlTiming.backgroundVerification {
            jobs.endSeconds.append(sim.now + seconds)
        } else {
            try await sim.step("cp_verify \(type)", lane: "OCPS", use: .dataWait) { try await sim.timeout(seconds) }
        }
    }

    /// wait_for_background_tasks: until every job is done, at most background_task_timeout × the number of
    /// jobs; then the script cancels them and ends.
    public func waitForBackgroundTasks(_ jobs: VerificationJobs) async throws {
        guard settings.controlTiming.backgroundVerification, let last = jobs.endSeconds.max() else { return }
        let limit = settings.controlTiming.backgroundTaskTimeoutSeconds * Double(jobs.endSeconds.count)
        let seconds = min(max(0, last - sim.now), limit)
        guard seconds > 0 else { return }
        try await sim.step("wait_for_background_tasks", lane: "OCPS", use: .dataWait) { try await sim.timeout(seconds) }
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
