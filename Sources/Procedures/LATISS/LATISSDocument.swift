/// What the LATISS weekly-calibration document (seed 003, "LATISS Weekly Calibrations: BIAS, DARK and
/// FLAT (All Filters + Empty)") prescribes, as data: the configuration sets of BLOCK-295 and the PTC
/// sequence.

/// One `auxtel/make_latiss_calibrations.py` configuration (script_mode BIAS_DARK_FLAT). Exposure lists
/// hold one time per image taken, discard frames first (the script takes `n_discard_*` extra images of
/// each type before the sequence and drops them).
public struct LATISSCalibrationSet: Sendable, Equatable {
    /// The document's heading: "Set configuration for <name>".
    public var name: String
    public var filter: String
    public var grating: String
    public var nBias: Int
    public var expTimesDark: [Double]
    public var expTimesFlat: [Double]
    public var nDiscard: Int
    /// The step name, built once (no string formatting per trial).
    public let stepName: String

    public init(name: String, filter: String, grating: String, nBias: Int, expTimesDark: [Double], expTimesFlat: [Double],
                nDiscard: Int) {
        self.name = name
        self.filter = filter
        self.grating = grating
        self.nBias = nBias
        self.expTimesDark = expTimesDark
        self.expTimesFlat = expTimesFlat
        self.nDiscard = nDiscard
        stepName = "make_latiss_calibrations " + name
    }

    /// Biases taken, discards included (a bias is a zero-second exposure).
    public var biasCount: Int { nBias + nDiscard }
}

public enum LATISSWeeklyDocument {
    /// make_latiss_calibrations defaults (ts_externalscripts base_make_calibrations.py, REFERENCES.md §3):
    /// n_bias 20, n_dark 22, one discard of each image type, and the default dark list "one discarded
    /// dark plus four darks at 5 s, two at 15 s, sixteen at 30 s".
    public static let defaultNBias = 20
    public static let defaultNDark = 22
    public static let defaultNDiscard = 1
    public static let defaultExpTimesDark: [Double] = Array(repeating: 5, count: 5) + Array(repeating: 15, count: 2)
        + Array(repeating: 30, count: 16)

    /// The five configuration sets of BLOCK-295, in the document's order, with its values; SDSSr_65mm
    /// gives no bias/dark counts, so the script defaults apply there.
    public static func calibrationSets(nFlat: Int = 20, defaultNBias: Int = defaultNBias, defaultNDark: Int = defaultNDark,
                                       defaultExpTimesDark: [Double] = defaultExpTimesDark,
                                       nDiscard: Int = defaultNDiscard) -> [LATISSCalibrationSet] {
        func list(_ t: Double, _ n: Int) -> [Double] { Array(repeating: t, count: n + nDiscard) }
        // A default dark list already counts its discard (23 = 22 + 1); a changed n_dark takes the list's
        // first n_dark + n_discard entries, repeating the last one if it is short.
        let darks = (0..<(defaultNDark + nDiscard)).map { defaultExpTimesDark[min($0, defaultExpTimesDark.count - 1)] }
        return [
            LATISSCalibrationSet(name: "SDSSr_65mm", filter: "SDSSr_65mm", grating: "empty_1", nBias: defaultNBias,
                                 expTimesDark: darks, expTimesFlat: list(6, nFlat), nDiscard: nDiscard),
            LATISSCalibrationSet(name: "SDSSg_65mm", filter: "SDSSg_65mm", grating: "empty_1", nBias: 3,
                                 expTimesDark: list(6, 3), expTimesFlat: list(6, nFlat), nDiscard: nDiscard),
            LATISSCalibrationSet(name: "SDSSz_65mm", filter: "SDSSz_65mm", grating: "empty_1", nBias: 3,
                                 expTimesDark: list(6, 3), expTimesFlat: list(3, nFlat), nDiscard: nDiscard),
            // The document mounts SDSSy_65mm in the grating wheel: filter empty_1, grating SDSSy_65mm.
            LATISSCalibrationSet(name: "SDSSy_65mm", filter: "empty_1", grating: "SDSSy_65mm", nBias: 3,
                                 expTimesDark: list(6, 3), expTimesFlat: list(30, nFlat), nDiscard: nDiscard),
            LATISSCalibrationSet(name: "empty_1", filter: "empty_1", grating: "empty_1", nBias: 3,
                                 expTimesDark: list(1, 3), expTimesFlat: list(1, nFlat), nDiscard: nDiscard),
        ]
    }

    /// The weekly PTC of `auxtel/take_image_latiss.py` (image_type FLAT, filter SDSSr_65mm, grating
    /// empty_1, reason weekly_PTC): the document's 60 exposure times, in its order (pairs adjacent).
    public static let ptcExposureTimes: [Double] = [
        0.25, 0.25, 1.42, 1.42, 6.53, 6.53, 4.23, 4.23, 30.04, 30.04, 12.56, 12.56, 57.75, 57.75, 8.13, 8.13,
        2.73, 2.73, 3.40, 3.40, 1.77, 1.77, 111.03, 111.03, 37.35, 37.35, 0.48, 0.48, 0.59, 0.59, 10.10, 10.10,
        1.14, 1.14, 0.20, 0.20, 89.29, 89.29, 71.81, 71.81, 0.38, 0.38, 0.31, 0.31, 19.43, 19.43, 2.20, 2.20,
        15.62, 15.62, 0.92, 0.92, 0.74, 0.74, 24.16, 24.16, 5.25, 5.25, 46.44, 46.44,
    ]
    public static let ptcFilter = "SDSSr_65mm"
    public static let ptcGrating = "empty_1"

    /// Operator checks on the post-ISR images (RubinTV): BIAS and DARK "maximum count rates of about
    /// 10 ADUs"; FLATs "below ≈ 30000 ADUs"; a 6 s SDSSr_65mm flat "< 10,000 counts" is misaligned.
    public static let biasDarkLimitADU = 10.0
    public static let flatLimitADU = 30_000.0
    public static let misalignedFlatThresholdADU = 10_000.0
    public static let misalignmentCheckFilter = "SDSSr_65mm"
    public static let misalignmentCheckExposureSeconds = 6.0
}
