import Observatory

/// METIS_all_cal_TwilightFlat (seed 002): the twilight procedure (`TwilightFlats`: the exposure-time rule
/// chasing the sky, the darks, the master flat) on IMG-LM or IMG-N, its instrument and frames through the
/// OB's session (`METISTwilightImaging`).
struct TwilightFlatTemplate: METISTemplate {
    static let name = "METIS_all_cal_TwilightFlat"
    static let summary = "Twilight flats with the exposure-time rule chasing the sky (seed 002); `imager` picks IMG-LM or IMG-N."
    static let imager = Key<String>("imager", .choice(["metis-img-lm", "metis-img-n"]), .defaultValue(.string("metis-img-lm")),
                                    doc: "The imager the flats are taken with.")
    static var keys: [ParameterSpec] { [imager.spec] + TwilightFlats.schema.parameters }
    static var metrics: [MetricSpec] { TwilightFlats.schema.metrics }

    let procedure: TwilightFlats

    init(configuration c: ActionConfiguration) throws {
        var parameters = c.values
        parameters["imager"] = nil
        do {
            procedure = try TwilightFlats(configuration: ProcedureConfiguration(parameters: parameters, instrumentPreset: c[Self.imager]))
        } catch let e as ConfigurationError {
            let key = e.path.hasPrefix("parameters.") ? String(e.path.dropFirst("parameters.".count)) : e.path
            throw ConfigurationError(path: "\(c.path).parameters.\(key)", e.message)
        }
    }

    func run(in session: METISSession) async throws {
        let r = try await procedure.runTrial(session.context) { METISTwilightImaging(session: session, instrument: $0) }
        session.outcome = r.outcome
        session.metrics.merge(r.metrics) { _, b in b }
        session.frames += r.frames
        session.series += r.series
    }
}

/// A twilight series through the OB's session: its METIS moves the filter in and the neutral density
/// out (a jam ends the OB, as in every template), its camera on the imager's lane takes the frames, and
/// its mapping gives their fidelity (a level per frame even at timing: the rule needs it).
struct METISTwilightImaging: TwilightImaging {
    let session: METISSession
    let camera: METISCamera

    init(session: METISSession, instrument: TwilightInstrument) {
        self.session = session
        camera = session.camera(instrument.lane, instrument.detector)
    }

    var simulator: DetectorSimulator { camera.simulator }

    func fidelity(pixels: PixelRect) -> Fidelity { session.fidelity(.level, windows: [pixels]) ?? .roiStatistics }

    func configure(_ instrument: TwilightInstrument) async throws {
        if let f = instrument.filterDevice { try await session.move(f, to: instrument.filterName) }
        if let nd = instrument.neutralDensityDevice { try await session.move(nd, to: "OPEN") }
    }

    func take(_ request: ExposureRequest, seconds: Double) async throws -> ExposureResult {
        try await camera.take(request, seconds: seconds)
    }
}
