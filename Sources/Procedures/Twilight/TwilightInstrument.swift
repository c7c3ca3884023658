import Observatory

/// The camera a twilight-flat series runs on: the sky-to-electrons conversion, the detector and its
/// readout mode, the filter, and the per-frame timing.
struct TwilightInstrument {
    enum Telescope { case auxTel, elt }

    let preset: String
    let band: Band
    /// The band as scenarios and headers write it (`SDSSr`, `L'`, `M'`, `N`).
    let bandName: String
    /// The filter position the instrument moves to (LATISS `SDSSr_65mm`, METIS `L'`, `M'`, `N2`).
    let filterName: String
    let filterDevice: String?
    let neutralDensityDevice: String?
    let camera: SkyCamera
    let detector: DetectorModel
    let mode: ReadoutMode
    let telescope: Telescope
    /// The lane of the camera's steps.
    let lane: String
    /// The shortest exposure the operator will set.
    let minimumExposureSeconds: Double

    static let presets = ["auxtel-latiss", "metis-img-lm", "metis-img-n"]
    /// LATISS takes twilight flats in every optical band the sky model has (SDSSr first, the default);
    /// METIS in L′, M′ and N.
    static let latissBands = ["SDSSr", "SDSSg", "SDSSi", "SDSSz", "SDSSy", "U", "B", "V", "R", "I"]
    static let bandNames = latissBands + ["L'", "M'", "N"]
    static let modeNames = ["NORMAL", "FAST", "SLOW", "HIGH_CAPACITY", "LOW_CAPACITY"]

    /// Bands each preset offers, the first being its default.
    static func bands(of preset: String) -> [String] {
        switch preset {
        case "auxtel-latiss": return latissBands
        case "metis-img-lm": return ["L'", "M'"]
        default: return ["N"]
        }
    }

    /// Readout modes of each preset, the first being its default. IMG-LM defaults to FAST: in SLOW the
    /// 1.3 s minimum DIT already overfills the 1e5 e⁻ well on the ELT's L′/M′ thermal background (≈0.9e5 and
    /// 1.5e5 e⁻ s⁻¹ px⁻¹ from the sky model). IMG-N defaults to HIGH_CAPACITY for the same reason
    /// (≈1e8 e⁻ s⁻¹ px⁻¹ × 0.011 s = 1.1e6 e⁻ is 6 low-capacity wells).
    static func modes(of preset: String) -> [String] {
        switch preset {
        case "auxtel-latiss": return ["NORMAL"]
        case "metis-img-lm": return ["FAST", "SLOW"]
        default: return ["HIGH_CAPACITY", "LOW_CAPACITY"]
        }
    }

    init(preset: String, bandName: String, modeName: String, minimumExposureSeconds: Double?) throws {
        self.preset = preset
        self.bandName = bandName
        switch preset {
        case "auxtel-latiss":
            // Band's raw values are the scenario spellings (`SDSSg`, `V`); LATISS's SDSS filters are the 65 mm ones.
            band = Band(rawValue: bandName) ?? .r
            filterName = bandName.hasPrefix("SDSS") ? bandName + "_65mm" : bandName
            filterDevice = nil
            neutralDensityDevice = nil
            camera = .auxTelLATISS
            detector = .latissITL3800()
            telescope = .auxTel
            lane = "LATISS"
        case "metis-img-lm":
            band = bandName == "M'" ? .mPrime : .lPrime
            filterName = bandName
            filterDevice = "IMG-LM-filter"
            neutralDensityDevice = "IMG-LM-ND"
            camera = .eltMETISImgLM
            detector = .metisIMGLM()
            telescope = .elt
            lane = "IMG-LM"
        default:
            band = .n
            // METIS N2 is the broad N filter of the IMG-N wheel; which one a twilight flat uses is [U].
            filterName = "N2"
            filterDevice = "IMG-N-filter"
            neutralDensityDevice = "IMG-N-ND"
            camera = .eltMETISImgN
            detector = .metisIMGN()
            telescope = .elt
            lane = "IMG-N"
        }
        mode = try detector.mode(named: modeName)
        // LATISS: Rubin's twilight-flat min_exp 1.0 s (REFERENCES §1.3), the shutter's shortest even exposure;
        // METIS: the readout mode's minimum DIT (REFERENCES §5.2).
        let floor = preset == "auxtel-latiss" ? 1.0 : mode.minimumDITSeconds
        self.minimumExposureSeconds = max(minimumExposureSeconds ?? floor, mode.minimumDITSeconds)
    }

    var fullWellElectrons: Double { mode.fullWellElectrons }
    var gain: Double { mode.meanGainElectronsPerADU }

    /// Time one frame occupies the camera: LATISS exposure + 2.0 s readout, the shutter travel inside the
    /// exposure (`LATISSCameraTiming`, REFERENCES §3); METIS DIT + one read (`DetectorModel`).
    func frameSeconds(ditSeconds: Double) -> Double {
        switch telescope {
        case .auxTel: return LATISSCameraTiming().frameSeconds(exposureSeconds: ditSeconds)
        case .elt: return detector.exposureDurationSeconds(ditSeconds: ditSeconds, ndit: 1, mode: mode)
        }
    }
}
