import Observatory

/// The hook through which an instrument with its own session (METIS: `METISSession`, for
/// METIS_all_cal_TwilightFlat) configures itself and takes the frames of a twilight series, so they go
/// through that session's devices, cameras and fidelity mapping. Without one, `TwilightRun` uses its own.
protocol TwilightImaging {
    /// The detector that draws the frames (its pixel response is the master flat's truth).
    var simulator: DetectorSimulator { get }
    /// What a frame simulates; `pixels` is the window when the study has pixels.
    func fidelity(pixels: PixelRect) -> Fidelity
    /// The step "configure instrument": the filter in, the neutral density out.
    func configure(_ instrument: TwilightInstrument) async throws
    /// One frame: it occupies the camera `seconds`, then its pixels are drawn.
    func take(_ request: ExposureRequest, seconds: Double) async throws -> ExposureResult
}
