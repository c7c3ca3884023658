import Analysis
import Observatory
import SimKernel

/// What every METIS template of one OB shares, from the first template to the last: the instrument
/// (built once with the scenario's fault rates, its mechanisms where the previous use left them, then
/// where each template leaves them for the next), the WCU blackbody (a second template warms from the
/// temperature the first one left), device moves, the cameras per lane, the one mapping from the study's
/// fidelity to a frame's, faults as outcomes, and what the templates measured. A template
/// (`Sources/Procedures/METIS/Templates/`) reads and drives only this.
public final class METISSession {
    public let context: TrialContext
    public let sim: Simulation
    public let metis: METIS
    var cameras: [String: METISCamera] = [:]
    /// When the blackbody's current set point was commanded: `warmup_s` counts from it.
    var blackbodySetAt: Double?

    // What the OB measured. A metric measured by two templates keeps the later value.
    var outcome = Outcome.completed
    var metrics: [String: Double] = [:]
    var frames: [Frame] = []
    var series: [TrialSeries] = []

    /// The session of one trial with the scenario's fault rates (`faultSpecs`).
    convenience init(context: TrialContext, faults: ValueSet) throws {
        try self.init(context: context, parameters: Self.parameters(heaterFailure: faults.double("bb_heater_failure"),
                                                                    shortfall: faults.double("bb_setpoint_shortfall"),
                                                                    jam: faults.double("mechanism_jam")))
    }

    convenience init(context: TrialContext, parameters: METIS.Parameters) throws {
        try self.init(context: context, parameters: parameters,
                      state: Self.previousUseState(parameters, stream: context.simulation.stream("METIS.initial-state")))
    }

    /// The session with the mechanisms in `state`: the `twilight-flats` study's METIS starts from the
    /// table defaults (`METISState()`), as it always has.
    init(context: TrialContext, parameters: METIS.Parameters, state: METISState) throws {
        self.context = context
        sim = context.simulation
        metis = try METIS(context.simulation, parameters: parameters, state: state)
    }

    var result: TrialResult { TrialResult(outcome: outcome, metrics: metrics, frames: frames, series: series) }

    // MARK: Faults

    /// The fault rates every METIS template accepts (they all warm the WCU blackbody and move wheels).
    static let faultSpecs: [ParameterSpec] = [
        .faultProbability("bb_heater_failure", default: 0.005, doc: "Per warm-up (Blackbody.Parameters.metisWCU) [U]."),
        .faultProbability("bb_setpoint_shortfall", default: 0.005, doc: "Per warm-up (Blackbody.Parameters.metisWCU) [U]."),
        .faultProbability("mechanism_jam", default: 1e-4, doc: "Per move of a wheel or slide (METIS.Parameters) [U]."),
    ]

    /// The METIS model with the scenario's fault probabilities applied.
    static func parameters(heaterFailure: Double, shortfall: Double, jam: Double) -> METIS.Parameters {
        var p = METIS.Parameters.standard
        p.blackbody.heaterFailureProbability = heaterFailure
        p.blackbody.setPointShortfallProbability = shortfall
        for k in p.devices.indices { p.devices[k].timing.jamProbabilityPerMove = jam }
        return p
    }

    /// Where the previous use left the mechanisms: each device at a position drawn uniformly from its
    /// installed ones (stream "METIS.initial-state"). [U] our choice: no document says what state a
    /// calibration starts from, and starting every device at the table default would make every setup
    /// move free.
    static func previousUseState(_ p: METIS.Parameters, stream: RandomStream) -> METISState {
        var positions: [String: String] = [:]
        for d in p.devices { positions[d.name] = d.positions[stream.uniformInt(d.positions.count)] }
        return METISState(positions: positions)
    }

    /// The outcome of a modelled fault, nil for any other error (a defect, not a fault). A jammed
    /// mechanism ends the template and the OB (`mechanism_jam`): a template does not recover a
    /// mechanism, the operator does after the OB.
    static func outcome(for error: any Error) -> Outcome? {
        if let a = error as? ProcedureAbort { return .aborted(a.cause) }
        if case MotionError.jammed = error { return .aborted("mechanism_jam") }
        if error is ThermalError { return .aborted("blackbody_not_ready") }
        return nil
    }

    /// Runs one template; a modelled fault ends the OB with its outcome, keeping what was measured.
    func run(_ template: any Action<METISSession>) async throws {
        do {
            try await template.run(in: self)
        } catch {
            guard let o = Self.outcome(for: error) else { throw error }
            if let a = error as? ProcedureAbort { metrics.merge(a.metrics) { _, b in b } }
            outcome = o
        }
    }

    /// Awaits a side process, keeping its error observed; used after the main flow already failed.
    static func settle<T>(_ p: SimProcess<T>) async { _ = try? await p.value() }

    // MARK: Devices

    /// Moves a device (by name or documented alias); a jam throws and so ends the OB with `mechanism_jam`.
    func move(_ device: String, to position: String) async throws {
        try await metis.device(device).move(to: position)
    }

    /// Moves several devices at once, as the process `name`'s children.
    func moveInParallel(_ name: String, _ moves: [(device: String, position: String)]) async throws {
        let resolved = try moves.map { (try metis.device($0.device), $0.position) }
        try await sim.inParallel(name, resolved.map { d, p in { try await d.move(to: p) } })
    }

    /// Sets devices by InternalFlat template key (`INS OPTIn NAME`), all at once.
    func apply(templatePositions: [String: String]) async throws {
        try await metis.apply(templatePositions: templatePositions)
    }

    // MARK: WCU blackbody

    /// Commands a new set point (an instant command). The warm-up starts from the temperature the
    /// blackbody has now: ambient at the OB's start, the previous template's set point after it.
    func setBlackbody(kelvin: Double) {
        blackbodySetAt = sim.now
        metis.wcu.blackbody.setTemperature(kelvin: kelvin)
    }

    /// Waits until the set point is ready (with the operator's heater reset) and records `warmup_s`.
    func waitForBlackbody() async throws {
        try await metis.wcu.blackbody.waitUntilReadyRetryingHeater()
        metrics["warmup_s"] = sim.now - (blackbodySetAt ?? sim.now)
    }

    static let warmupMetric = MetricSpec("warmup_s", unit: "s", doc: "Time from the set-point command to the blackbody being ready.")

    // MARK: Cameras

    /// The camera on `lane` (IMG-LM, IMG-N, LMS, SCAO), built once per OB: its pixel response is the
    /// same for every template.
    func camera(_ lane: String, _ model: @autoclosure () -> DetectorModel) -> METISCamera {
        if let c = cameras[lane] { return c }
        let c = METISCamera(sim, model: model(), lane: lane, epochMJD: context.epochMJD)
        cameras[lane] = c
        return c
    }

    /// What a template reads from its frames: the input of the fidelity mapping.
    enum FrameUse {
        /// A fit to pixels in windows (a centroid): pixels whenever an image is simulated, since ROI
        /// statistics have no stand-in for the fit.
        case pixelFit
        /// Pixels when the study simulates them, ROI statistics below (a master flat, or centroids drawn
        /// with the fit's precision).
        case pixelsOrStatistics
        /// The level of every frame, which decides the next exposure (the twilight exposure-time rule):
        /// ROI statistics even at timing fidelity.
        case level
    }

    /// The one mapping from the study's fidelity to a METIS frame's: nil is no image (timing). A METIS
    /// frame is the windows its template reads; at full-frame those windows are `fullFrame` when the
    /// template gives them (the InternalFlat's whole imaging area), else the same windows.
    func fidelity(_ use: FrameUse, windows: [PixelRect], fullFrame: [PixelRect]? = nil) -> Fidelity? {
        switch (context.fidelity, use) {
        case (.timing, .level): return .roiStatistics
        case (.timing, _): return nil
        case (.roiStatistics, .pixelFit): return .windows(windows)
        case (.roiStatistics, _): return .roiStatistics
        case (.roiPixels, _): return .windows(windows)
        case (.fullFrame, _): return .windows(fullFrame ?? windows)
        }
    }

    /// True when frames have pixels at the study's fidelity (master frames, pixel centroids).
    var hasPixels: Bool { context.fidelity.hasPixels }
}

/// One METIS detector as a template drives it: an exposure occupies the detector's lane for its
/// duration (NDIT × DIT plus the final read); only then, unless only timing is simulated, are its pixels
/// drawn from the stream "<lane>.detector".
final class METISCamera {
    let simulator: DetectorSimulator
    let lane: String
    let streamName: String
    /// When set, frames carry MJD-OBS and DATE-OBS (the METIS pipeline groups raw frames by them).
    let epochMJD: Double?
    unowned let simulation: Simulation

    init(_ simulation: Simulation, model: DetectorModel, lane: String, epochMJD: Double? = nil) {
        self.simulation = simulation
        self.epochMJD = epochMJD
        self.simulator = DetectorSimulator(model: model)
        self.lane = lane
        self.streamName = "\(lane).detector"
    }

    var model: DetectorModel { simulator.model }

    /// Takes one exposure as the step `step`; returns nil when `fidelity` is nil (timing only).
    func expose(step: String, ditSeconds: Double, ndit: Int, modeName: String?, illumination: Illumination,
                fidelity: Fidelity?, header: [HeaderCard] = []) async throws -> ExposureResult? {
        let sim = simulation
        let mode = try model.mode(named: modeName)
        try model.validate(ditSeconds: ditSeconds, ndit: ndit, mode: mode)
        let seconds = model.exposureDurationSeconds(ditSeconds: ditSeconds, ndit: ndit, mode: mode)
        let integration = Double(ndit) * max(ditSeconds, mode.minimumDITSeconds)
        return try await sim.step(step, lane: lane, use: .other) { () async throws -> ExposureResult? in
            let start = sim.now
            // Shutter, NDIT × DIT, readout as three leaves (one time use each); the last ends at start +
            // seconds exactly, where the uncut exposure did.
            if model.shutterSeconds > 0 {
                try await sim.step("shutter", lane: lane, use: .readoutOverhead) { try await sim.timeout(model.shutterSeconds) }
            }
            try await sim.step("NDIT × DIT", lane: lane, use: .exposure) { try await sim.timeout(integration) }
            try await sim.step("readout", lane: lane, use: .readoutOverhead) { try await sim.wait(until: start + seconds) }
            guard let fidelity else { return nil }
            let request = ExposureRequest(ditSeconds: ditSeconds, ndit: ndit, modeName: modeName, illumination: illumination,
                                          fidelity: fidelity, header: header, startSeconds: start, epochMJD: epochMJD)
            return try simulator.expose(request, stream: sim.stream(streamName))
        }
    }

    /// One frame inside a step the caller already runs on this lane (a twilight series): the frame
    /// occupies the camera `seconds`, then its pixels are drawn.
    func take(_ request: ExposureRequest, seconds: Double) async throws -> ExposureResult {
        try await simulation.timeout(seconds)
        return try simulator.expose(request, stream: simulation.stream(streamName))
    }

    /// The pixel response (PRNU) over `rect`, which may span amplifiers: a perfect master flat.
    func response(_ rect: PixelRect) -> [Double] {
        var out = [Double](repeating: 1, count: rect.pixelCount)
        for (a, amp) in model.amplifiers.enumerated() {
            let sub = rect.intersection(amp.region)
            if sub.isEmpty { continue }
            let v = simulator.prnu.values(rect: sub, amplifier: a)
            for j in 0..<sub.height {
                for i in 0..<sub.width { out[(sub.y0 - rect.y0 + j) * rect.width + (sub.x0 - rect.x0 + i)] = v[j * sub.width + i] }
            }
        }
        return out
    }
}

extension PixelWindow {
    var image: Image { Image(width: rect.width, height: rect.height, values: values) }
}

extension ExposureResult {
    /// The window as a report frame with the exposure's header cards, ESO style.
    func frame(name: String, window k: Int = 0) -> Frame? {
        guard k < windows.count else { return nil }
        return Frame(name: name, window: windows[k], header: header, convention: .eso)
    }
}
