import Observatory

/// The hook through which the instrument's session (LATISS: `LATISSSession`, METIS: `METISSession`)
/// configures the instrument and takes the frames of a twilight series, so they go through that
/// session's devices, camera and fidelity mapping; `TwilightRun` has no imaging of its own.
protocol TwilightImaging {
    /// The detector that draws the frames (its pixel response is the master flat's truth).
    var simulator: DetectorSimulator { get }
    /// AuxTel when the session models it (its mount and dome point the flats); nil on the ELT.
    var auxTel: AuxTel? { get }
    /// What a frame simulates; `pixels` is the window when the study has pixels.
    func fidelity(pixels: PixelRect) -> Fidelity
    /// The step "configure instrument": the filter in, the neutral density out.
    func configure(_ instrument: TwilightInstrument) async throws
    /// One frame: it occupies the camera `seconds`, then its pixels are drawn.
    func take(_ request: ExposureRequest, seconds: Double) async throws -> ExposureResult
}
