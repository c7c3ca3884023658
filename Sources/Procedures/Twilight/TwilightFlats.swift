import Analysis
import Foundation
import Observatory
import SimKernel

/// Twilight flats (seed 002): point at an empty patch of sky at the airmass of each illumination level,
/// set the exposure time for about 50 % of full well in a single DIT, take a series of 10 frames, repeat
/// at the other levels; then darks, the master flat (median of the frames with the same detector mode and
/// camera) and the linearity regression. One procedure for LATISS SDSSr and the METIS imagers (L′, M′, N).
public struct TwilightFlats: Procedure {
    public static let name = "twilight-flats"
    public static let summary = "Twilight flats at several airmasses with an exposure-time rule chasing the fading (or brightening) sky; feasibility, linearity and flat accuracy."

    static let maximumLevels = 3

    public static let schema = ProcedureSchema(
        parameters: [
            ParameterSpec("band", .choice(TwilightInstrument.bandNames), .optional,
                          doc: "Band: SDSSr on auxtel-latiss; L' or M' on metis-img-lm; N on metis-img-n. Default: the preset's first."),
            ParameterSpec("detector_mode", .choice(TwilightInstrument.modeNames), .optional,
                          doc: "Readout mode: NORMAL (LATISS); FAST or SLOW (IMG-LM, default FAST); HIGH_CAPACITY or LOW_CAPACITY (IMG-N, default HIGH_CAPACITY); REFERENCES §5.2."),
            ParameterSpec("twilight", .choice(["evening", "morning"]), .defaultValue(.string("evening")),
                          doc: "Evening (after the sunset of the epoch's date) or morning (before the following sunrise)."),
            ParameterSpec("start_offset", .quantity(.time), .defaultValue(.number(0)), min: -7200, max: 14_400,
                          doc: "When the operator is ready: minutes after sunset (evening) or before sunrise (morning). [U] our choice 0."),
            ParameterSpec("n_levels", .integer, .defaultValue(.integer(3)), min: 1, max: Double(maximumLevels),
                          doc: "Illumination levels (airmasses) to take, in the order airmass_1, airmass_2, airmass_3 (seed 002)."),
            ParameterSpec("airmass_1", .number, .defaultValue(.number(1)), min: 1, max: 3.5, doc: "First level's airmass (seed 002: 1)."),
            ParameterSpec("airmass_2", .number, .defaultValue(.number(2)), min: 1, max: 3.5, doc: "Second level's airmass (seed 002: 2)."),
            ParameterSpec("airmass_3", .number, .defaultValue(.number(2.5)), min: 1, max: 3.5, doc: "Third level's airmass (seed 002: 2.5)."),
            ParameterSpec("n_frames", .integer, .defaultValue(.integer(10)), min: 1, max: 200,
                          doc: "Frames in range per level (seed 002: 10, tbc)."),
            ParameterSpec("fill_target", .number, .defaultValue(.number(0.5)), min: 0.05, max: 0.95,
                          doc: "Fill fraction of full well aimed at per DIT (seed 002: about 50 %)."),
            ParameterSpec("fill_min", .number, .defaultValue(.number(0.4)), min: 0, max: 1,
                          doc: "Lowest fill fraction that counts (DESIGN.md: 40-60 % of full well)."),
            ParameterSpec("fill_max", .number, .defaultValue(.number(0.6)), min: 0, max: 1,
                          doc: "Highest fill fraction that counts (DESIGN.md: 40-60 % of full well)."),
            ParameterSpec("exposure_rule", .choice(TwilightExposureRuleKind.allCases.map(\.rawValue)),
                          .defaultValue(.string("extrapolated")),
                          doc: "extrapolated: Tyson & Gal exponential from the last two frames (REFERENCES §1.2); rubin: t_new = target·t_old/counts (REFERENCES §1.3)."),
            ParameterSpec("min_exposure", .quantity(.time), .optional, min: 0, max: 60,
                          doc: "Shortest exposure; default LATISS 1.0 s (Rubin min_exp, REFERENCES §1.3), METIS the mode's minimum DIT."),
            ParameterSpec("max_exposure", .quantity(.time), .defaultValue(.number(30)), min: 0.01, max: 600,
                          doc: "Longest exposure (Rubin max_exp 30 s, REFERENCES §1.3)."),
            ParameterSpec("frame_overhead", .quantity(.time), .defaultValue(.number(1)), min: 0, max: 120,
                          doc: "Per frame, after readout: reading the level and commanding the next exposure. [U] our choice 1 s."),
            ParameterSpec("sun_altitude_max", .quantity(.angle), .defaultValue(.number(0)), min: -18, max: 10,
                          doc: "Highest Sun altitude for twilight flats (Rubin window -18°…0°, REFERENCES §1.3)."),
            ParameterSpec("sun_altitude_min", .quantity(.angle), .defaultValue(.number(-18)), min: -30, max: 0,
                          doc: "Lowest Sun altitude for twilight flats (Rubin window -18°…0°, REFERENCES §1.3)."),
            ParameterSpec("clear_sky_probability", .number, .optional, min: 0, max: 1,
                          doc: "Override of the site's monthly climatology: probability that the night is clear (and photometric); 1 judges the sky alone. Default: the site's photometric and usable fractions for the epoch's month (docs/REFERENCES-physics.md §4)."),
            ParameterSpec("cirrus_rms", .number, .defaultValue(.number(0.02)), min: 0, max: 1,
                          doc: "RMS of the thin-cirrus transmission variation (lognormal, mean 1). [U] our choice 2 %."),
            ParameterSpec("cirrus_rms_thin_cloud", .number, .defaultValue(.number(0.1)), min: 0, max: 1,
                          doc: "RMS of the cirrus transmission variation on a usable but not photometric night (climatology only). [U] our choice 10 %."),
            ParameterSpec("cirrus_timescale", .quantity(.time), .defaultValue(.number(600)), min: 1, max: 86_400,
                          doc: "Correlation time of the cirrus variation (Ornstein-Uhlenbeck). [U] our choice 10 min."),
            ParameterSpec("lamp_illumination_rms", .number, .defaultValue(.number(0.01)), min: 0, max: 0.5,
                          doc: "RMS of the lamp (WCU / dome-screen) flat's large-scale illumination error, a random low-order pattern the twilight flat corrects. [U] our choice 1 %."),
            ParameterSpec("n_dark", .integer, .defaultValue(.integer(10)), min: 1, max: 100,
                          doc: "Darks per DIT for the dark subtraction, taken after the series (Rubin takes 40 × 15 s, REFERENCES §1.3). [U] our choice 10."),
            ParameterSpec("telescope_slew_time", .quantity(.time), .defaultValue(.number(180)), min: 0, max: 3600,
                          doc: "ELT slew and settle to each empty field (METIS only; AuxTel uses its mount and dome models). [U] our choice 3 min."),
        ],
        instrumentPresets: TwilightInstrument.presets,
        metrics: [
            MetricSpec("feasible", unit: "1", doc: "1 when every level got its frames in range, else 0: the mean is the feasibility."),
            MetricSpec("feasible_level_1", unit: "1", doc: "1 when level 1 got its frames in range."),
            MetricSpec("feasible_level_2", unit: "1", doc: "1 when level 2 got its frames in range (n_levels ≥ 2)."),
            MetricSpec("feasible_level_3", unit: "1", doc: "1 when level 3 got its frames in range (n_levels = 3)."),
            MetricSpec("frames_in_range", unit: "1", doc: "Frames within [fill_min, fill_max], all levels."),
            MetricSpec("frames_taken", unit: "1", doc: "Flat frames taken, in range or not."),
            MetricSpec("window_used_s", unit: "s", doc: "From the first flat's start to the last flat's end."),
            MetricSpec("window_available_s", unit: "s", doc: "The sky model's window for level 1 from when the operator is ready: Sun within limits, no saturation at the minimum exposure, target reachable at the maximum."),
            MetricSpec("linearity_slope_error_pct", unit: "%", doc: "Standard error of the signal-vs-illumination slope, % of the slope (unsaturated frames of all levels)."),
            MetricSpec("flat_error_pct", unit: "%", doc: "RMS of the master flat against the true pixel response (pixels), or its expected value from the noise model (roi-statistics)."),
            MetricSpec("lamp_flat_large_scale_error_pct", unit: "%", doc: "RMS over an 8 × 8 cell map of the lamp flat's large-scale illumination against the truth (lamp_illumination_rms drawn per trial)."),
            MetricSpec("corrected_flat_large_scale_error_pct", unit: "%", doc: "The same for the lamp flat after the illumination correction by the twilight master flat (a degree-2 fit to twilight / lamp): what the twilight flats buy."),
            MetricSpec("sky_gradient_pct_per_deg", unit: "%/deg", doc: "Largest relative gradient of the twilight sky among the counted frames (Chromey & Hasselbacher 1996: up to several %/deg)."),
            MetricSpec("night_photometric", unit: "1", doc: "1 when the night drew photometric (climatology or clear_sky_probability), 0 for thin cloud or cloudy."),
            MetricSpec("fill_fraction_min", unit: "1", doc: "Lowest fill fraction reachable during the frames: the minimum exposure on the faintest sky."),
            MetricSpec("fill_fraction_max", unit: "1", doc: "Highest fill fraction reachable during the frames: the maximum exposure on the brightest sky, at most 1."),
            MetricSpec("flux_range_ratio", unit: "1", doc: "Brightest over faintest sky rate among the frames: the range of fluxes the series samples."),
            MetricSpec("thermal_fraction", unit: "1", doc: "Mean share of the telescope's and the sky's thermal emission in the frames' flux."),
        ],
        waitsForStart: true
    )

    let instrumentPreset: String
    let bandName: String
    let modeName: String
    let morning: Bool
    let startOffsetSeconds: Double
    let airmasses: [Double]
    let nFrames: Int
    let fillTarget: Double
    let fillMin: Double
    let fillMax: Double
    let ruleKind: TwilightExposureRuleKind
    let minimumExposure: Double?
    let maximumExposure: Double
    let frameOverhead: Double
    let sunAltitudeMax: Double
    let sunAltitudeMin: Double
    let clearSkyProbability: Double?
    let cirrusRMSThinCloud: Double
    let cirrusRMS: Double
    let cirrusTimescale: Double
    let lampIlluminationRMS: Double
    let nDark: Int
    let telescopeSlewSeconds: Double

    public init(configuration c: ProcedureConfiguration) throws {
        let p = c.parameters
        instrumentPreset = c.instrumentPreset.isEmpty ? TwilightInstrument.presets[0] : c.instrumentPreset
        let bands = TwilightInstrument.bands(of: instrumentPreset)
        bandName = p.optionalString("band") ?? bands[0]
        guard bands.contains(bandName) else {
            throw ConfigurationError(path: "parameters.band", "band `\(bandName)` is not available on \(instrumentPreset); allowed: \(bands.joined(separator: ", "))")
        }
        let modes = TwilightInstrument.modes(of: instrumentPreset)
        modeName = p.optionalString("detector_mode") ?? modes[0]
        guard modes.contains(modeName) else {
            throw ConfigurationError(path: "parameters.detector_mode", "mode `\(modeName)` is not a mode of \(instrumentPreset); allowed: \(modes.joined(separator: ", "))")
        }
        morning = p.string("twilight") == "morning"
        startOffsetSeconds = p.double("start_offset")
        let levels = p.int("n_levels")
        airmasses = Array([p.double("airmass_1"), p.double("airmass_2"), p.double("airmass_3")].prefix(levels))
        nFrames = p.int("n_frames")
        fillTarget = p.double("fill_target")
        fillMin = p.double("fill_min")
        fillMax = p.double("fill_max")
        guard fillMin < fillTarget, fillTarget < fillMax else {
            throw ConfigurationError(path: "parameters.fill_target", "need fill_min < fill_target < fill_max, got \(fillMin), \(fillTarget), \(fillMax)")
        }
        ruleKind = TwilightExposureRuleKind(rawValue: p.string("exposure_rule")) ?? .extrapolated
        minimumExposure = p.optionalDouble("min_exposure")
        maximumExposure = p.double("max_exposure")
        frameOverhead = p.double("frame_overhead")
        sunAltitudeMax = p.double("sun_altitude_max")
        sunAltitudeMin = p.double("sun_altitude_min")
        guard sunAltitudeMin < sunAltitudeMax else {
            throw ConfigurationError(path: "parameters.sun_altitude_min", "must be below sun_altitude_max (\(sunAltitudeMax) deg), got \(sunAltitudeMin) deg")
        }
        clearSkyProbability = p.optionalDouble("clear_sky_probability")
        if clearSkyProbability == nil, let siteName = c.siteName, SiteClimatology.named(siteName) == nil {
            throw ConfigurationError(path: "parameters.clear_sky_probability",
                                     "site `\(siteName)` has no cloud climatology; give clear_sky_probability (0 to 1)")
        }
        cirrusRMSThinCloud = p.double("cirrus_rms_thin_cloud")
        cirrusRMS = p.double("cirrus_rms")
        cirrusTimescale = p.double("cirrus_timescale")
        lampIlluminationRMS = p.double("lamp_illumination_rms")
        nDark = p.int("n_dark")
        telescopeSlewSeconds = p.double("telescope_slew_time")
        let instrument = try TwilightInstrument(preset: instrumentPreset, bandName: bandName, modeName: modeName,
                                                minimumExposureSeconds: minimumExposure)
        guard instrument.minimumExposureSeconds < maximumExposure else {
            throw ConfigurationError(path: "parameters.max_exposure", "must exceed the minimum exposure \(instrument.minimumExposureSeconds) s, got \(maximumExposure) s")
        }
    }

    public func runTrial(_ context: TrialContext) async throws -> TrialResult { try await runTrial(context, imaging: nil) }

    /// One trial; `imaging` gives the instrument's own session for its frames (METIS_all_cal_TwilightFlat).
    func runTrial(_ context: TrialContext, imaging: ((TwilightInstrument) -> any TwilightImaging)?) async throws -> TrialResult {
        let instrument = try TwilightInstrument(preset: instrumentPreset, bandName: bandName, modeName: modeName,
                                                minimumExposureSeconds: minimumExposure)
        let site = try Site(name: context.site.name, latitudeDegrees: context.site.latitudeDegrees,
                            longitudeDegrees: context.site.longitudeDegrees, heightMetres: context.site.elevationMetres)
        if clearSkyProbability == nil && SiteClimatology.named(context.site.name) == nil {
            throw ConfigurationError(path: "parameters.clear_sky_probability",
                                     "site `\(context.site.name)` has no cloud climatology; give clear_sky_probability (0 to 1)")
        }
        let sky = TwilightSkyView(site: site, band: instrument.band, camera: instrument.camera,
                                  epochUnixSeconds: context.epochUnixSeconds)
        var run = TwilightRun(procedure: self, context: context, instrument: instrument, sky: sky, imaging: imaging?(instrument))
        return try await run.execute()
    }
}
