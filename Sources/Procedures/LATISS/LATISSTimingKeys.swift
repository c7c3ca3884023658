import Observatory

/// The scenario's `instrument.timing.*` keys of the LATISS control-software timing (LATISSControlTiming):
/// what a planner overrides and what `obsim calibrate` fits. The ranges are the documented ranges the
/// calibration scales its parameters by and the sensitivity study moves them over.
public enum LATISSTimingKeys {
    public static let readout = "timing.readout"
    public static let imageOverhead = "timing.image_overhead"
    public static let imageOverheadSD = "timing.image_overhead_sd"
    public static let ingestionWait = "timing.oods_wait"
    public static let ingestionWaitSD = "timing.oods_wait_sd"
    public static let backgroundVerification = "timing.background_verification"
    public static let verificationJob = "timing.verification_job"
    public static let verificationJobSD = "timing.verification_job_sd"
    public static let lampIgnition = "timing.lamp_ignition"
    public static let lampIgnitionSD = "timing.lamp_ignition_sd"
    public static let chillerTimeConstant = "timing.chiller_time_constant"
    public static let lampShutterMove = "timing.lamp_shutter_move"

    /// A timing parameter's default (LATISSControlTiming.latiss) and documented range. Every wait may be set
    /// to 0 s (and every spread to 0: a constant), the document's most optimistic reading.
    public struct Range: Sendable, Equatable {
        public let key: String
        public let lower: Double
        public let upper: Double
        public let doc: String
    }

    public static let ranges: [Range] = [
        Range(key: readout, lower: 1.5, upper: 3.0, doc: "Readout per image (base_camera.py read_out_time 2.0 s)."),
        Range(key: imageOverhead, lower: 0, upper: 6,
              doc: "Mean overhead of one take_imgtype call: commands, shutter 2 × 1 s (base_camera.py shutter_time) [U] 2 s."),
        Range(key: imageOverheadSD, lower: 0, upper: 3, doc: "Spread of the per-image overhead [U] 0.5 s."),
        Range(key: ingestionWait, lower: 0, upper: 120,
              doc: "Mean wait for OODS ingestion after each image type [U] 8 s (capped at oods_timeout 120 s)."),
        Range(key: ingestionWaitSD, lower: 0, upper: 60, doc: "Spread of the OODS ingestion wait [U] 4 s."),
        Range(key: verificationJob, lower: 0, upper: 600, doc: "Mean duration of one OCPS cp_verify job [U] 90 s."),
        Range(key: verificationJobSD, lower: 0, upper: 300, doc: "Spread of one OCPS job's duration [U] 30 s."),
        // The ATWhiteLight ones (ATWhiteLight.Parameters.auxTel). The 900 s warm-up and cool-down are the CSC's
        // own fixed waits (lamp_model.py), not uncertain, so they are not ranges; neither are the mount and
        // dome speeds, which are measured (REFERENCES §2).
        Range(key: lampIgnition, lower: 0, upper: 25,
              doc: "Mean time from the lamp-on command to light, per attempt [U] 8 s (the CSC waits at most 25 s, lamp_model.py)."),
        Range(key: lampIgnitionSD, lower: 0, upper: 12, doc: "Spread of the ignition time [U] 4 s."),
        Range(key: chillerTimeConstant, lower: 20, upper: 300,
              doc: "Time constant of the ATWhiteLight chiller reaching its 20 °C set point [U] 60 s (readings every 7 s)."),
        Range(key: lampShutterMove, lower: 1, upper: 30, doc: "ATWhiteLight shutter open/close [U] 3 s (the CSC's limit is 30 s)."),
    ]

    /// The ranges as `study.sensitivity` moves them (full scenario paths).
    public static var sensitivity: [SensitivityRange] {
        ranges.map { SensitivityRange(path: "instrument." + $0.key, lower: $0.lower, upper: $0.upper, doc: $0.doc) }
    }

    static func spec(_ r: Range, _ value: Double) -> ParameterSpec {
        ParameterSpec(r.key, .quantity(.time), .defaultValue(.number(value)), min: r.lower, max: r.upper, doc: r.doc)
    }

    /// The instrument keys a LATISS procedure declares.
    public static var specs: [ParameterSpec] {
        let d = LATISSControlTiming.latiss
        let lamp = ATWhiteLight.Parameters.auxTel
        let values: [String: Double] = [
            readout: d.readoutSeconds, imageOverhead: d.imageOverhead.meanSeconds, imageOverheadSD: d.imageOverhead.sdSeconds,
            ingestionWait: d.ingestionWait.meanSeconds, ingestionWaitSD: d.ingestionWait.sdSeconds,
            verificationJob: d.verificationJob.meanSeconds, verificationJobSD: d.verificationJob.sdSeconds,
            lampIgnition: lamp.ignitionDelay.meanSeconds, lampIgnitionSD: lamp.ignitionDelay.sdSeconds,
            chillerTimeConstant: lamp.chillerLag.referenceTimeConstantSeconds, lampShutterMove: lamp.shutterMoveSeconds,
        ]
        return ranges.map { spec($0, values[$0.key]!) } + [
            ParameterSpec(backgroundVerification, .bool, .defaultValue(.bool(d.backgroundVerification)),
                          doc: "OCPS verification in the background, waited for at the script's end (ts_externalscripts since 2024-11); false: blocking after each image type (mid-2024)."),
        ]
    }

    /// The ATWhiteLight timing a scenario's instrument values give, on top of `parameters`.
    public static func whiteLight(_ values: ValueSet, _ parameters: ATWhiteLight.Parameters) -> ATWhiteLight.Parameters {
        var p = parameters
        p.ignitionDelay = DurationDistribution(meanSeconds: values.double(lampIgnition), sdSeconds: values.double(lampIgnitionSD))
        p.chillerLag.referenceTimeConstantSeconds = values.double(chillerTimeConstant)
        p.shutterMoveSeconds = values.double(lampShutterMove)
        return p
    }

    /// The timing a scenario's instrument values give.
    public static func timing(_ values: ValueSet) -> LATISSControlTiming {
        var t = LATISSControlTiming.latiss
        t.readoutSeconds = values.double(readout)
        t.imageOverhead = DurationDistribution(meanSeconds: values.double(imageOverhead), sdSeconds: values.double(imageOverheadSD))
        t.ingestionWait = DurationDistribution(meanSeconds: values.double(ingestionWait), sdSeconds: values.double(ingestionWaitSD))
        t.verificationJob = DurationDistribution(meanSeconds: values.double(verificationJob), sdSeconds: values.double(verificationJobSD))
        t.backgroundVerification = values.bool(backgroundVerification)
        return t
    }
}
