/// `auxtel/prepare_for/flat.py`: mount (az 188.7°, el 39.0°) and dome (az 3.0°) to the FLAT position, in
/// parallel (AuxTel.prepareForFlat).
public struct PrepareForFlat: Action {
    public static let name = "auxtel/prepare_for/flat.py"
    public static let summary = "Points the telescope at the flat screen (mount az 188.7°, el 39.0°) and the dome to az 3.0°."
    public static let keys: [ParameterSpec] = []
    public init(configuration: ActionConfiguration) throws {}
    public func run(in session: LATISSSession) async throws {
        // ATCS.prepare_for_flatfield begins with assert_all_enabled (ts_observatory_control atcs.py).
        try session.requireEnabled(session.atcsGroup, for: "prepare_for_flatfield")
        try await session.auxTel.prepareForFlat()
    }
}
