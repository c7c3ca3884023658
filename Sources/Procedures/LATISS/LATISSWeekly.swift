import Observatory
import SimKernel

/// The LATISS weekly calibrations (seed 003): BLOCK-309 setup, BLOCK-295 (five BIAS/DARK/FLAT sets and
/// the weekly PTC), BLOCK-310 shutdown, with the operator's checks on every image and the dome/lamp
/// misalignment contingency (home_dome, restart from the beginning). With `weeks` > 1 one trial is a
/// season: the nights between two calibrations move the dome and its encoder drifts.
public struct LATISSWeekly: Procedure {
    public static let name = "latiss-weekly"
    public static let summary = "LATISS weekly BIAS/DARK/FLAT (all filters + empty) and PTC, with the dome misalignment contingency."

    public static let schema = ProcedureSchema(
        parameters: [
            ParameterSpec("sequence", .choice(["weekly", "ptc"]), .defaultValue(.string("weekly")),
                          doc: "`weekly`: the whole document; `ptc`: setup, the PTC sequence alone, shutdown."),
            ParameterSpec("n_flat", .integer, .defaultValue(.integer(20)), min: 1, max: 200,
                          doc: "n_flat of every configuration set (seed 003: 20)."),
            ParameterSpec("default_n_bias", .integer, .defaultValue(.integer(LATISSWeeklyDocument.defaultNBias)), min: 1, max: 200,
                          doc: "make_latiss_calibrations default n_bias, used by SDSSr_65mm (REFERENCES §3: 20)."),
            ParameterSpec("default_n_dark", .integer, .defaultValue(.integer(LATISSWeeklyDocument.defaultNDark)), min: 1, max: 200,
                          doc: "make_latiss_calibrations default n_dark, used by SDSSr_65mm (REFERENCES §3: 22)."),
            ParameterSpec("default_exp_times_dark", .quantityList(.time),
                          .defaultValue(.numbers(LATISSWeeklyDocument.defaultExpTimesDark)), min: 0, max: 3600,
                          doc: "Default dark list, discard first (REFERENCES §3: 5×5 s, 2×15 s, 16×30 s)."),
            ParameterSpec("n_discard", .integer, .defaultValue(.integer(LATISSWeeklyDocument.defaultNDiscard)), min: 0, max: 10,
                          doc: "Images of each type taken and dropped before a sequence (REFERENCES §3: 1)."),
            ParameterSpec("ptc_exp_times", .quantityList(.time), .defaultValue(.numbers(LATISSWeeklyDocument.ptcExposureTimes)),
                          min: 0, max: 401, doc: "PTC exposure times in order (seed 003's 60 values; max exptime 401 s, REFERENCES §3)."),
            ParameterSpec("max_restarts", .integer, .defaultValue(.integer(2)), min: 0, max: 20,
                          doc: "Restarts after a misalignment before giving up (`aborted_restart_limit`) [U]."),
            ParameterSpec("misaligned_flat_threshold", .quantity(.adu), .defaultValue(.number(LATISSWeeklyDocument.misalignedFlatThresholdADU)),
                          min: 0, doc: "A 6 s SDSSr_65mm flat below this is misaligned (seed 003: 10,000)."),
            ParameterSpec("bias_dark_limit", .quantity(.adu), .defaultValue(.number(LATISSWeeklyDocument.biasDarkLimitADU)), min: 0,
                          doc: "Post-ISR BIAS/DARK level above which the operator reports an ISR problem (seed 003: ~10 ADU)."),
            ParameterSpec("flat_limit", .quantity(.adu), .defaultValue(.number(LATISSWeeklyDocument.flatLimitADU)), min: 0,
                          doc: "Weekly FLAT level above which the operator reports (seed 003: ~30,000 ADU)."),
            ParameterSpec("incident_report_time", .quantity(.time), .defaultValue(.number(300)), min: 0, max: 7200,
                          doc: "Reporting the misalignment to the AuxTel team (Dome GUI screenshot, Slack) [U]."),
            ParameterSpec("nights_since_home", .integer, .defaultValue(.integer(7)), min: 0, max: 10_000,
                          doc: "Nights of dome use since the last homing before the first calibration [U]."),
            ParameterSpec("nightly_dome_travel", .quantity(.angle), .defaultValue(.number(Dome.Parameters.nightlyTravelDegrees)),
                          min: 0, max: 36_000, doc: "Dome travel per night of use [U] (Dome.Parameters: two turns)."),
            ParameterSpec("weeks", .integer, .defaultValue(.integer(1)), min: 1, max: 520,
                          doc: "Weekly calibrations per trial; > 1 is a season with a week of nightly dome use between them."),
            ParameterSpec("nights_between", .integer, .defaultValue(.integer(7)), min: 0, max: 365,
                          doc: "Nights of dome use between two weekly calibrations (a week)."),
            ParameterSpec("preventive_home", .bool, .defaultValue(.bool(false)),
                          doc: "Run home_dome before every BLOCK-309 (the season study's alternative plan)."),
        ],
        instrumentPresets: ["auxtel"],
        instrument: [
            ParameterSpec("detector.roi_size", .integer, .defaultValue(.integer(256)), min: 8, max: 509,
                          doc: "Side of the square region of interest per amplifier (LATISS preset: 256)."),
            ParameterSpec("dome.drift", .number, .defaultValue(.number(Dome.Parameters.atDome.driftDegreesPerSqrtDegree)), min: 0, max: 1,
                          doc: "Encoder drift k, degrees per √degree travelled (Dome.Parameters.atDome, [U])."),
            ParameterSpec("dome.initial_encoder_error", .quantity(.angle), .optional, min: -180, max: 180,
                          doc: "Start with this encoder error instead of drawing it from the nights since homing."),
            ParameterSpec("lamp.bulb_flux_spread", .number, .defaultValue(.number(ATWhiteLight.Parameters.auxTel.bulbFluxSpread)), min: 0, max: 0.5,
                          doc: "Relative sd of the flat-screen illumination between ATWhiteLight bulbs [U]; one bulb per trial."),
            ParameterSpec("lamp.warmup_flux_spread", .number, .defaultValue(.number(ATWhiteLight.Parameters.auxTel.warmupFluxSpread)), min: 0, max: 0.5,
                          doc: "Relative sd of the illumination between warm-ups of one bulb [U]; drawn at each ignition."),
        ] + LATISSTimingKeys.specs,
        faults: [
            .faultProbability("lamp_ignition_failure", default: ATWhiteLight.Parameters.auxTel.ignitionFailureProbability,
                              doc: "Per ignition attempt (ATWhiteLight.Parameters.auxTel, [U])."),
            .faultProbability("shutter_stuck", default: ATWhiteLight.Parameters.auxTel.shutterStuckProbability,
                              doc: "Per ATWhiteLight shutter move (ATWhiteLight.Parameters.auxTel, [U])."),
            .faultProbability("wheel_jam", default: AuxTel.Parameters.standard.wheel.jamProbabilityPerMove,
                              doc: "Per filter/grating wheel move (AuxTel.Parameters.standard, [U])."),
        ],
        metrics: [
            MetricSpec("restarts", unit: "1", doc: "Restarts of the procedure after a misalignment (all weeks)."),
            MetricSpec("contingencies", unit: "1", doc: "Misalignments detected on a 6 s SDSSr_65mm flat (all weeks)."),
            MetricSpec("contingency_time_s", unit: "s", doc: "Time lost to misalignments: aborted attempts, incident report, home_dome."),
            MetricSpec("flat_sdssr_6s_adu", unit: "adu", doc: "Median post-ISR level of the 6 s SDSSr_65mm flats (last attempt)."),
            MetricSpec("flat_limit_reports", unit: "1", doc: "Flats above the ~30,000 ADU operator limit, each reported (seed 003) while the procedure goes on; lamp flux varies by bulb and warm-up."),
            MetricSpec("ptc_turnoff_adu", unit: "adu", doc: "PTC turn-off, median over amplifiers (last week)."),
            MetricSpec("ptc_turnoff_exptime_s", unit: "s", doc: "Exposure time of the turn-off point, median over amplifiers."),
            MetricSpec("ptc_gain_error_pct", unit: "%", doc: "PTC gain − true gain, mean over amplifiers (pixel fidelity)."),
            MetricSpec("ptc_noise_error_pct", unit: "%", doc: "PTC read noise − true read noise, mean over amplifiers (pixel fidelity)."),
            MetricSpec("master_flat_error_pct", unit: "%", doc: "RMS of the SDSSr_65mm master flat against the true PRNU (pixel fidelity)."),
        ])

    public struct Settings: Sendable {
        public var ptcOnly: Bool
        public var sets: [LATISSCalibrationSet]
        public var ptcExposureTimes: [Double]
        public var maxRestarts: Int
        public var misalignedFlatThresholdADU: Double
        public var biasDarkLimitADU: Double
        public var flatLimitADU: Double
        public var incidentReportSeconds: Double
        public var nightsSinceHome: Int
        public var nightlyDomeTravelDegrees: Double
        public var weeks: Int
        public var nightsBetween: Int
        public var preventiveHome: Bool
        public var roiSize: Int
        public var auxTel: AuxTel.Parameters
        public var initialEncoderErrorDegrees: Double?
        public var controlTiming: LATISSControlTiming = .latiss
    }

    public let settings: Settings

    public init(configuration c: ProcedureConfiguration) throws {
        let p = c.parameters
        let nDiscard = p.int("n_discard")
        let darkList = p.doubles("default_exp_times_dark")
        if darkList.isEmpty {
            throw ConfigurationError(path: "parameters.default_exp_times_dark", "needs at least one exposure time, got an empty list")
        }
        let ptc = p.doubles("ptc_exp_times")
        if ptc.count < 2 {
            throw ConfigurationError(path: "parameters.ptc_exp_times", "needs at least one pair of exposure times, got \(ptc.count) value(s)")
        }
        var auxTel = AuxTel.Parameters.standard
        auxTel.dome.driftDegreesPerSqrtDegree = c.instrument.double("dome.drift")
        auxTel.whiteLight.ignitionFailureProbability = c.faults.double("lamp_ignition_failure")
        auxTel.whiteLight.shutterStuckProbability = c.faults.double("shutter_stuck")
        auxTel.wheel.jamProbabilityPerMove = c.faults.double("wheel_jam")
        auxTel.whiteLight.bulbFluxSpread = c.instrument.double("lamp.bulb_flux_spread")
        auxTel.whiteLight.warmupFluxSpread = c.instrument.double("lamp.warmup_flux_spread")
        let controlTiming = LATISSTimingKeys.timing(c.instrument)
        auxTel.camera = controlTiming.camera
        settings = Settings(
            ptcOnly: p.string("sequence") == "ptc",
            sets: LATISSWeeklyDocument.calibrationSets(nFlat: p.int("n_flat"), defaultNBias: p.int("default_n_bias"),
                                                       defaultNDark: p.int("default_n_dark"), defaultExpTimesDark: darkList,
                                                       nDiscard: nDiscard),
            ptcExposureTimes: ptc, maxRestarts: p.int("max_restarts"),
            misalignedFlatThresholdADU: p.double("misaligned_flat_threshold"), biasDarkLimitADU: p.double("bias_dark_limit"),
            flatLimitADU: p.double("flat_limit"), incidentReportSeconds: p.double("incident_report_time"),
            nightsSinceHome: p.int("nights_since_home"), nightlyDomeTravelDegrees: p.double("nightly_dome_travel"),
            weeks: p.int("weeks"), nightsBetween: p.int("nights_between"), preventiveHome: p.bool("preventive_home"),
            roiSize: c.instrument.int("detector.roi_size"), auxTel: auxTel,
            initialEncoderErrorDegrees: c.instrument.optionalDouble("dome.initial_encoder_error"),
            controlTiming: controlTiming)
    }

    public init(settings: Settings) { self.settings = settings }

    public func runTrial(_ context: TrialContext) async throws -> TrialResult {
        let run = LATISSWeeklyRun(settings: settings, context: context)
        return try await run.run()
    }
}
