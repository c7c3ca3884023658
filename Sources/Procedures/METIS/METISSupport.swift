import Analysis
import Observatory
import SimKernel

/// What the METIS procedures share: the instrument built with a scenario's fault rates and a previous
/// use's mechanism positions, exposures that take simulated time, and the conversion of detector windows
/// to analysis images and report frames.
enum METISSupport {
    /// The fault rates every METIS procedure accepts (they all warm the WCU blackbody and move wheels).
    static let faultSpecs: [ParameterSpec] = [
        .faultProbability("bb_heater_failure", default: 0.005, doc: "Per warm-up (Blackbody.Parameters.metisWCU) [U]."),
        .faultProbability("bb_setpoint_shortfall", default: 0.005, doc: "Per warm-up (Blackbody.Parameters.metisWCU) [U]."),
        .faultProbability("mechanism_jam", default: 1e-4, doc: "Per move of a wheel or slide (METIS.Parameters) [U]."),
    ]

    static let warmupMetric = MetricSpec("warmup_s", unit: "s", doc: "Time from the set-point command to the blackbody being ready.")

    /// The METIS model with the scenario's fault probabilities applied.
    static func parameters(heaterFailure: Double, shortfall: Double, jam: Double) -> METIS.Parameters {
        var p = METIS.Parameters.standard
        p.blackbody.heaterFailureProbability = heaterFailure
        p.blackbody.setPointShortfallProbability = shortfall
        for k in p.devices.indices { p.devices[k].timing.jamProbabilityPerMove = jam }
        return p
    }

    /// The chopper's [U] error parameters as procedure parameters, with the ranges of
    /// `Chopper.Parameters.metis` (REFERENCES-physics.md §9). Angles in degrees, as every angle quantity.
    static let chopperSpecs: [ParameterSpec] = [
        ParameterSpec("chopper_repeatability", .quantity(.angle), .defaultValue(.number(0.1 / 3_600_000)), min: 0, max: 2 / 3_600_000,
                      doc: "Chopper repeatability per axis (1σ), home included; 0.1 mas [U], range 0.05–1.2 mas (REFERENCES-physics.md §9)."),
        ParameterSpec("chopper_drift", .quantity(.angle), .defaultValue(.number(0.3 / 3_600_000)), min: 0, max: 5 / 3_600_000,
                      doc: "Chopper thermal drift after power-on, settled amplitude per axis (1σ); 0.3 mas [U], range 0–1.2 mas."),
        ParameterSpec("chopper_drift_time_constant", .quantity(.time), .defaultValue(.number(1200)), min: 1, max: 86_400,
                      doc: "Time constant of the chopper's drift after power-on; 1200 s [U], range 300–3600 s."),
    ]

    /// `METIS.Parameters.standard`'s chopper with the `chopperSpecs` values.
    static func chopper(_ p: ValueSet) -> Chopper.Parameters {
        var c = Chopper.Parameters.metis
        c.relativeSigmaMas = p.double("chopper_repeatability") * 3_600_000
        c.driftSigmaMas = p.double("chopper_drift") * 3_600_000
        c.driftTimeConstantSeconds = p.double("chopper_drift_time_constant")
        return c
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

    /// The standard abort outcomes of a METIS trial for a modelled fault.
    static func outcome(for error: any Error) -> Outcome? {
        if let a = error as? ProcedureAbort { return .aborted(a.cause) }
        if case MotionError.jammed = error { return .aborted("mechanism_jam") }
        if error is ThermalError { return .aborted("blackbody_not_ready") }
        return nil
    }

    /// Awaits a side process, keeping its error observed; used after the main flow already failed.
    static func settle<T>(_ p: SimProcess<T>) async { _ = try? await p.value() }

    static func detectorFidelity(_ f: DetectorFidelity, windows: [PixelRect]) -> Fidelity? { f.detector(windows: windows) }
}

/// One METIS detector as a procedure drives it: an exposure occupies the detector's lane for its
/// duration (NDIT × DIT plus the final read) and, unless only timing is simulated, draws its pixels from
/// the stream "<detector>.detector".
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
        return try await sim.step(step, lane: lane) { () async throws -> ExposureResult? in
            let start = sim.now
            try await sim.timeout(seconds)
            guard let fidelity else { return nil }
            let request = ExposureRequest(ditSeconds: ditSeconds, ndit: ndit, modeName: modeName, illumination: illumination,
                                          fidelity: fidelity, header: header, startSeconds: start, epochMJD: epochMJD)
            return try simulator.expose(request, stream: sim.stream(streamName))
        }
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
