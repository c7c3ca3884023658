import Observatory

/// The `twilight-flats` study on LATISS through the trial's `LATISSSession`: its AuxTel points the flats
/// and moves the filter wheel, its detector takes every flat and dark after the frame's time has passed
/// (`LATISSSession.expose`), and its fidelity mapping (`DetectorFidelity.detector`) gives the frames'
/// fidelity, ROI statistics at timing since the exposure rule reads every frame's level.
struct LATISSTwilightImaging: TwilightImaging {
    let session: LATISSSession

    var simulator: DetectorSimulator { session.detector }
    var auxTel: AuxTel? { session.auxTel }

    func fidelity(pixels: PixelRect) -> Fidelity { session.measuredFidelity(windows: [pixels]) }

    /// The filter in; a jam is cleared and the move retried once (`TwilightTelescope.move`).
    func configure(_ instrument: TwilightInstrument) async throws {
        try await TwilightTelescope.move(session.auxTel.filterWheel, to: instrument.filterName)
    }

    func take(_ request: ExposureRequest, seconds: Double) async throws -> ExposureResult {
        try await session.expose(request, occupying: seconds)
    }
}

extension LATISS.Settings {
    /// A session that runs no block (the `twilight-flats` study's): the standard AuxTel, no contingency,
    /// every operator limit the LATISS procedure's default.
    static func withoutBlocks(roiSize: Int) -> Self {
        var defaults: [String: ParameterValue] = [:]
        for spec in LATISS.schema.parameters {
            if case .defaultValue(let v) = spec.requirement { defaults[spec.key] = v }
        }
        let p = ValueSet(defaults)
        return Self(run: [], contingencies: [], responses: [],
                    biasDarkLimitADU: p.double("bias_dark_limit"), flatLimitADU: p.double("flat_limit"),
                    nightsSinceHome: p.int("nights_since_home"), nightlyDomeTravelDegrees: p.double("nightly_dome_travel"),
                    weeks: p.int("weeks"), nightsBetween: p.int("nights_between"), preventiveHome: p.bool("preventive_home"),
                    roiSize: roiSize, auxTel: .standard, screen: ATFlatScreen(), initialEncoderErrorDegrees: nil)
    }
}
