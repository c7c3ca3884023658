import Observatory
import SimKernel

/// AuxTel/LATISS running Rubin blocks: the scenario's `run:` list of block files (BLOCK-309, BLOCK-295,
/// BLOCK-310, …) in order, each script of the library below with its own configuration, the operator's
/// contingencies as data (seed 003's misalignment: report, home_dome, restart from the beginning). With
/// `weeks` > 1 one trial is a season: the nights between two runs move the dome and its encoder drifts.
public struct LATISS: Procedure {
    public static let name = "latiss"
    public static let summary = "AuxTel/LATISS running Rubin blocks (`run:`) with the operator's contingencies, the dome drift between weeks."

    /// The AuxTel/LATISS scripts, by the names block files use.
    public static let library = ActionLibrary<LATISSSession>(
        instrument: "LATISS",
        actions: [SetSummaryState.self, PowerOnATCalSys.self, PowerOffATCalSys.self, PrepareForFlat.self, MakeLATISSCalibrations.self,
                  TakeImageLATISS.self, HomeDome.self, SlewDome.self, StopTracking.self, LATISSTakeTwilightFlats.self],
        // Block files name standard scripts with `.py` (`set_summary_state.py`) and the issue without.
        aliases: ["set_summary_state.py": "set_summary_state", "auxtel/stop_tracking": "auxtel/stop_tracking.py",
                  "auxtel/make_latiss_calibrations": "auxtel/make_latiss_calibrations.py",
                  "auxtel/take_image_latiss": "auxtel/take_image_latiss.py", "auxtel/atdome/home_dome": "auxtel/atdome/home_dome.py",
                  "auxtel/atdome/slew_dome": "auxtel/atdome/slew_dome.py", "auxtel/prepare_for/flat": "auxtel/prepare_for/flat.py",
                  "auxtel/calibrations/power_on_atcalsys": "auxtel/calibrations/power_on_atcalsys.py",
                  "auxtel/calibrations/power_off_atcalsys": "auxtel/calibrations/power_off_atcalsys.py",
                  "auxtel/latiss_take_twilight_flats": "auxtel/latiss_take_twilight_flats.py"])

    /// Every element the flat-screen model knows, in either wheel.
    public static let knownElements: [String] = (Set(ATFlatScreen().relativeThroughput.keys)
        .union(AuxTel.Parameters.standard.gratings)).sorted()
    /// The wheels' installed elements by default: the document's, plus BG40_65mm and OG550_65mm (which
    /// the document names as "usage of filters BG40, OG550") at the end of the grating wheel, where they
    /// leave the document's wheel moves unchanged.
    public static let defaultFilterWheel = AuxTel.Parameters.standard.filters
    public static let defaultGratingWheel = AuxTel.Parameters.standard.gratings + ["BG40_65mm", "OG550_65mm"]
    /// The master flat scored as `master_flat_error_pct`.
    public static let scoredMasterFlatElement = "SDSSr_65mm"

    /// make_latiss_calibrations keys of the pipeline (cp_pipe via OCPS) and the butler, which the
    /// simulation does not run: accepted and ignored.
    public static let pipelineKeys: [AcceptedKey] = [
        "program", "reason", "note", "detectors", "generate_calibrations", "do_verify", "do_defects", "do_ptc", "do_gain_from_flat_pairs",
        "number_verification_tests_threshold_bias", "number_verification_tests_threshold_dark", "number_verification_tests_threshold_flat",
        "config_options_bias", "config_options_dark", "config_options_flat", "config_options_defects", "config_options_ptc", "n_processes",
        "certify_calib_begin_date", "certify_calib_end_date", "oods_timeout", "oods_timeout_retry_rate", "oods_timeout_max_try",
        "calib_collection", "repo", "input_collections_bias", "input_collections_dark", "input_collections_flat",
        "input_collections_defects", "input_collections_ptc",
    ].map { AcceptedKey($0, "pipeline/butler configuration (cp_pipe through OCPS); the pipeline is not simulated") }

    /// Fields a contingency's `when` may test on a LATISS image.
    public static let imageFields: [ParameterSpec] = [
        ParameterSpec("image_type", .choice(["BIAS", "DARK", "FLAT"]), .optional, doc: "Image type."),
        ParameterSpec("filter", .choice(knownElements), .optional, doc: "Filter wheel element."),
        ParameterSpec("grating", .choice(knownElements), .optional, doc: "Grating wheel element."),
        ParameterSpec("exp_time", .quantity(.time), .optional, min: 0, doc: "Exposure time."),
    ]

    public static let schema = ProcedureSchema(
        parameters: [
            ParameterSpec("bias_dark_limit", .quantity(.adu), .defaultValue(.number(10)), min: 0,
                          doc: "Post-ISR BIAS/DARK level above which the operator reports an ISR problem (seed 003: ~10 ADU)."),
            ParameterSpec("flat_limit", .quantity(.adu), .defaultValue(.number(30_000)), min: 0,
                          doc: "make_latiss_calibrations FLAT level above which the operator reports (seed 003: ~30,000 ADU)."),
            ParameterSpec("nights_since_home", .integer, .defaultValue(.integer(7)), min: 0, max: 10_000,
                          doc: "Nights of dome use since the last homing before the first run [U]."),
            ParameterSpec("nightly_dome_travel", .quantity(.angle), .defaultValue(.number(Dome.Parameters.nightlyTravelDegrees)),
                          min: 0, max: 36_000, doc: "Dome travel per night of use [U] (Dome.Parameters: two turns)."),
            ParameterSpec("weeks", .integer, .defaultValue(.integer(1)), min: 1, max: 520,
                          doc: "Runs of the `run:` list per trial; > 1 is a season with nights of dome use between them."),
            ParameterSpec("nights_between", .integer, .defaultValue(.integer(7)), min: 0, max: 365,
                          doc: "Nights of dome use between two runs (a week)."),
            ParameterSpec("preventive_home", .bool, .defaultValue(.bool(false)),
                          doc: "Run home_dome before every run (the season study's alternative plan)."),
        ],
        instrumentPresets: ["auxtel"],
        instrument: [
            ParameterSpec("detector.roi_size", .integer, .defaultValue(.integer(256)), min: 8, max: 509,
                          doc: "Side of the square region of interest per amplifier (LATISS preset: 256)."),
            ParameterSpec("dome.drift", .number, .defaultValue(.number(Dome.Parameters.atDome.driftDegreesPerSqrtDegree)), min: 0, max: 1,
                          doc: "Encoder drift k, degrees per √degree travelled (Dome.Parameters.atDome, [U])."),
            ParameterSpec("dome.initial_encoder_error", .quantity(.angle), .optional, min: -180, max: 180,
                          doc: "Start with this encoder error instead of drawing it from the nights since homing."),
            ParameterSpec("filter_wheel", .choiceList(knownElements), .defaultValue(.strings(defaultFilterWheel)),
                          doc: "Elements installed in the filter wheel, in slot order (the document's) [U: the installation changes]."),
            ParameterSpec("grating_wheel", .choiceList(knownElements), .defaultValue(.strings(defaultGratingWheel)),
                          doc: "Elements installed in the grating wheel, in slot order (the document's, plus BG40_65mm and OG550_65mm)."),
        ] + [
            ParameterSpec("csc_initial_states", .rows([LATISSCSCs.names, CSCState.allCases.map(\.rawValue)]),
                          .defaultValue(.strings(LATISSCSCs.defaultRows)),
                          doc: "[CSC, state] rows: the summary state each CSC starts a trial in; CSCs not listed keep their default [U] (ATCS and LATISS groups ENABLED; ATWhiteLight, OCPS:1, Electrometer:201, FiberSpectrograph:3 STANDBY)."),
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
            MetricSpec("restarts", unit: "1", doc: "Restarts of the run after a failed contingency check (all weeks)."),
            MetricSpec("contingencies", unit: "1", doc: "Failed contingency checks, e.g. a misaligned 6 s SDSSr_65mm flat (all weeks)."),
            MetricSpec("contingency_time_s", unit: "s", doc: "Time lost to contingencies: aborted attempts, incident report, the response's scripts."),
            MetricSpec("flat_sdssr_6s_adu", unit: "adu", doc: "Median post-ISR level of the images the contingencies watch (the 6 s SDSSr_65mm flats; last script that took any)."),
            MetricSpec("flat_limit_reports", unit: "1", doc: "Flats above the ~30,000 ADU operator limit, each reported (seed 003) while the run goes on; the lamp's flux varies by bulb and warm-up."),
            MetricSpec("twilight_flats", unit: "1", doc: "Twilight flats latiss_take_twilight_flats took (calibration and wait frames left out); also on a `sun_elevation` abort."),
            MetricSpec("ptc_turnoff_adu", unit: "adu", doc: "PTC turn-off, median over amplifiers (last PTC)."),
            MetricSpec("ptc_turnoff_exptime_s", unit: "s", doc: "Exposure time of the turn-off point, median over amplifiers."),
            MetricSpec("ptc_gain_error_pct", unit: "%", doc: "PTC gain − true gain, mean over amplifiers (pixel fidelity)."),
            MetricSpec("ptc_noise_error_pct", unit: "%", doc: "PTC read noise − true read noise, mean over amplifiers (pixel fidelity)."),
            MetricSpec("master_flat_error_pct", unit: "%", doc: "RMS of the SDSSr_65mm master flat against the true PRNU (pixel fidelity)."),
        ],
        sequences: SequenceSchema(format: .block, actions: library.declarations, aliases: library.aliases, imageFields: imageFields),
        sensitivity: LATISSTimingKeys.sensitivity)

    public struct Settings: Sendable {
        public var run: [(file: SequenceFile, actions: [any Action<LATISSSession>])]
        public var contingencies: [Contingency]
        public var responses: [[any Action<LATISSSession>]]
        public var biasDarkLimitADU: Double
        public var flatLimitADU: Double
        public var nightsSinceHome: Int
        public var nightlyDomeTravelDegrees: Double
        public var weeks: Int
        public var nightsBetween: Int
        public var preventiveHome: Bool
        public var roiSize: Int
        public var auxTel: AuxTel.Parameters
        public var screen: ATFlatScreen
        public var initialEncoderErrorDegrees: Double?
        public var controlTiming: LATISSControlTiming = .latiss
        /// The summary state of each CSC at the start of a trial (`LATISSCSCs`; the defaults where absent).
        public var cscInitialStates: [String: CSCState] = [:]
    }

    public let settings: Settings

    public init(configuration c: ProcedureConfiguration) throws {
        let p = c.parameters
        if c.sequences.isEmpty { throw ConfigurationError(path: "run", "names no block; give `run: [BLOCK-309, BLOCK-295, BLOCK-310]` or other block files") }
        var auxTel = AuxTel.Parameters.standard
        auxTel.dome.driftDegreesPerSqrtDegree = c.instrument.double("dome.drift")
        auxTel.whiteLight.ignitionFailureProbability = c.faults.double("lamp_ignition_failure")
        auxTel.whiteLight.shutterStuckProbability = c.faults.double("shutter_stuck")
        auxTel.wheel.jamProbabilityPerMove = c.faults.double("wheel_jam")
        auxTel.whiteLight.bulbFluxSpread = c.instrument.double("lamp.bulb_flux_spread")
        auxTel.whiteLight.warmupFluxSpread = c.instrument.double("lamp.warmup_flux_spread")
        auxTel.whiteLight = LATISSTimingKeys.whiteLight(c.instrument, auxTel.whiteLight)
        let controlTiming = LATISSTimingKeys.timing(c.instrument)
        auxTel.camera = controlTiming.camera
        auxTel.filters = c.instrument.strings("filter_wheel")
        auxTel.gratings = c.instrument.strings("grating_wheel")
        for (key, wheel) in [("filter_wheel", auxTel.filters), ("grating_wheel", auxTel.gratings)] {
            if !wheel.contains(ATFlatScreen.emptyName) {
                throw ConfigurationError(path: "instrument.\(key)", "must hold `\(ATFlatScreen.emptyName)` (the parked position)")
            }
            if Set(wheel).count != wheel.count { throw ConfigurationError(path: "instrument.\(key)", "names an element twice") }
        }
        var cscInitialStates: [String: CSCState] = [:]
        if case .strings(let words)? = c.instrument["csc_initial_states"] {
            for i in stride(from: 0, to: words.count - 1, by: 2) {
                guard let state = CSCState(rawValue: words[i + 1]) else { continue }
                if cscInitialStates[words[i]] != nil {
                    throw ConfigurationError(path: "instrument.csc_initial_states", "names `\(words[i])` twice")
                }
                cscInitialStates[words[i]] = state
            }
        }
        let run = try c.sequences.map { ($0, try Self.library.instantiate($0)) }
        let responses = try c.contingencies.map { try Self.library.instantiate($0.response) }
        let ids = Set(c.sequences.map(\.id))
        for (k, contingency) in c.contingencies.enumerated() {
            for id in contingency.onRestartLimit where !ids.contains(id) {
                throw ConfigurationError(path: "contingencies[\(k)].on_restart_limit",
                                         "`\(id)` is not in `run`\(Suggestions.hint(id, ids.sorted())); run: \(c.sequences.map(\.id).joined(separator: ", "))")
            }
        }
        try Self.checkImages(run, contingencies: c.contingencies, filters: auxTel.filters, gratings: auxTel.gratings)
        settings = Settings(
            run: run, contingencies: c.contingencies, responses: responses,
            biasDarkLimitADU: p.double("bias_dark_limit"), flatLimitADU: p.double("flat_limit"),
            nightsSinceHome: p.int("nights_since_home"), nightlyDomeTravelDegrees: p.double("nightly_dome_travel"),
            weeks: p.int("weeks"), nightsBetween: p.int("nights_between"), preventiveHome: p.bool("preventive_home"),
            roiSize: c.instrument.int("detector.roi_size"), auxTel: auxTel, screen: ATFlatScreen(),
            initialEncoderErrorDegrees: c.instrument.optionalDouble("dome.initial_encoder_error"), controlTiming: controlTiming,
            cscInitialStates: cscInitialStates)
    }

    /// Walks the run as the wheels will move: every element a script names must be installed in its
    /// wheel, and every contingency must watch an image some script takes.
    static func checkImages(_ run: [(file: SequenceFile, actions: [any Action<LATISSSession>])], contingencies: [Contingency],
                            filters: [String], gratings: [String]) throws {
        var filter = AuxTelState.parked.filter, grating = AuxTelState.parked.grating
        var taken: [(type: String, filter: String, grating: String, seconds: Double)] = []
        for (file, actions) in run {
            for (i, action) in actions.enumerated() {
                let path = "\(file.id).\(file.stepsKey)[\(i)].parameters"
                var wheels: (String?, String?) = (nil, nil)
                var images: [(String, [Double])] = []
                if let m = action as? MakeLATISSCalibrations {
                    wheels = (m.filterName, m.gratingName)
                    images = [("BIAS", [0]), ("DARK", m.takesDarks ? m.darkTimes : []), ("FLAT", m.takesFlats ? m.flatTimes : [])]
                } else if let t = action as? TakeImageLATISS {
                    wheels = (t.filterName, t.gratingName)
                    images = [(t.type.rawValue, t.times)]
                } else if let t = action as? LATISSTakeTwilightFlats {
                    wheels = (t.filterName, t.gratingName)
                }
                if let f = wheels.0 {
                    guard filters.contains(f) else {
                        throw ConfigurationError(path: "\(path).filter", "`\(f)` is not installed in the filter wheel; installed: \(filters.joined(separator: ", ")) (instrument.filter_wheel)")
                    }
                    filter = f
                }
                if let g = wheels.1 {
                    guard gratings.contains(g) else {
                        throw ConfigurationError(path: "\(path).grating", "`\(g)` is not installed in the grating wheel; installed: \(gratings.joined(separator: ", ")) (instrument.grating_wheel)")
                    }
                    grating = g
                }
                for (type, times) in images { for t in times { taken.append((type, filter, grating, t)) } }
            }
        }
        for (k, c) in contingencies.enumerated() {
            if !taken.contains(where: { c.watches($0.type, filter: $0.filter, grating: $0.grating, seconds: $0.seconds) }) {
                let described = c.when.values.keys.sorted().map { "\($0) \(c.when[$0]!)" }.joined(separator: ", ")
                throw ConfigurationError(path: "contingencies[\(k)].when", "no script of the run takes such an image (\(described)); the check would never run")
            }
        }
    }

    public init(settings: Settings) { self.settings = settings }

    public func runTrial(_ context: TrialContext) async throws -> TrialResult {
        let run = LATISSRun(settings: settings, session: LATISSSession(settings: settings, context: context))
        return try await run.run()
    }
}

/// One trial: the operator running the blocks, restarting after a failed check.
final class LATISSRun {
    let s: LATISS.Settings
    let session: LATISSSession
    let sim: Simulation
    var restarts = 0
    var contingencies = 0
    var contingencySeconds = 0.0
    var anyAborted = false

    init(settings: LATISS.Settings, session: LATISSSession) {
        s = settings
        self.session = session
        sim = session.sim
    }

    func run() async throws -> TrialResult {
        let dome = session.auxTel.atDome
        if let e = s.initialEncoderErrorDegrees {
            dome.restore(believedAzimuthDegrees: AuxTelState.parked.domeBelievedAzimuthDegrees, encoderErrorDegrees: e,
                         travelSinceHomeDegrees: Double(s.nightsSinceHome) * s.nightlyDomeTravelDegrees)
        } else {
            nightsOfDomeUse(s.nightsSinceHome)
        }
        do {
            for week in 0..<s.weeks {
                if week > 0 { nightsOfDomeUse(s.nightsBetween) }
                try await runWeek()
            }
        } catch let e as ThermalError {
            throw ProcedureAbort(cause: Self.cause(of: e), metrics: metrics())
        } catch is CSCCommandRejected {
            throw ProcedureAbort(cause: "csc_state", metrics: metrics())
        } catch let abort as ProcedureAbort {
            throw ProcedureAbort(cause: abort.cause, metrics: metrics().merging(abort.metrics) { a, _ in a })
        }
        let outcome: Outcome = anyAborted ? .aborted("restart_limit") : (restarts > 0 ? .completedAfterRestart : .completed)
        return TrialResult(outcome: outcome, metrics: metrics(), frames: session.frames,
                           series: session.context.keepsDetail ? session.levelSeries.filter { !$0.points.isEmpty } : [])
    }

    static func cause(of error: ThermalError) -> String {
        switch error {
        case .ignitionFailed: return "lamp_ignition"
        case .shutterTimeout: return "shutter_stuck"
        case .notEnabled: return "csc_state"
        default: return "atcalsys"
        }
    }

    func metrics() -> [String: Double] {
        var m: [String: Double] = ["restarts": Double(restarts), "contingencies": Double(contingencies),
                                   "contingency_time_s": contingencySeconds, "flat_limit_reports": Double(session.flatLimitReports)]
        if !session.watchedLevels.isEmpty { m["flat_sdssr_6s_adu"] = LATISSSession.median(session.watchedLevels) }
        if let e = session.masterFlatError { m["master_flat_error_pct"] = e }
        if s.run.contains(where: { $0.actions.contains { $0 is LATISSTakeTwilightFlats } }) { m["twilight_flats"] = Double(session.twilightFlats) }
        m.merge(session.ptcMetrics) { _, b in b }
        return m
    }

    /// A night's dome use in closed form: the encoder error is a random walk with variance k² per degree
    /// travelled (Dome), so N nights of `nightly_dome_travel` add one Gaussian of variance k²·N·travel, the
    /// sum of all the night's steps. The night ends with the telescope parked (mount el 80°, az 0°; dome
    /// az 285°, atcs.py). The draw comes from its own stream, so a plan that moves the dome differently
    /// during calibrations sees the same nights (common random numbers).
    func nightsOfDomeUse(_ nights: Int) {
        let auxTel = session.auxTel
        let dome = auxTel.atDome
        let travel = Double(nights) * s.nightlyDomeTravelDegrees
        let k = dome.parameters.driftDegreesPerSqrtDegree
        var error = dome.encoderErrorDegrees
        if k > 0 && travel > 0 { error += sim.stream("ATDome.nightly").gaussian(sigma: k * travel.squareRoot()) }
        dome.restore(believedAzimuthDegrees: AuxTelState.parked.domeBelievedAzimuthDegrees, encoderErrorDegrees: error,
                     travelSinceHomeDegrees: dome.travelSinceHomeDegrees + travel)
        auxTel.atMount.restore(azimuthDegrees: AuxTelState.parked.mountAzimuthDegrees,
                               elevationDegrees: AuxTelState.parked.mountElevationDegrees)
    }

    /// One run of the `run:` list, restarted from its first block after each failed check (seed 003,
    /// "Restart the Procedure Steps from the beginning").
    func runWeek() async throws {
        if s.preventiveHome { try await session.auxTel.atDome.home() }
        var restartsOf = [Int](repeating: 0, count: s.contingencies.count)
        while true {
            let attemptStart = sim.now
            for (file, actions) in s.run {
                try await runSequence(file, actions)
                if session.stopped { break }
            }
            guard let failed = session.triggered, let k = s.contingencies.firstIndex(of: failed) else { return }
            session.triggered = nil
            contingencies += 1
            try await sim.step(failed.name, lane: "operator", use: .contingency) {
                if let report = failed.reportStep {
                    try await sim.step(report, lane: "operator", use: .contingency) { try await sim.timeout(failed.reportSeconds) }
                }
                for action in s.responses[k] { try await action.run(in: session) }
            }
            session.triggered = nil
            contingencySeconds += sim.now - attemptStart
            if restartsOf[k] >= failed.maxRestarts {
                anyAborted = true
                for id in failed.onRestartLimit {
                    if let (file, actions) = s.run.first(where: { $0.file.id == id }) { try await runSequence(file, actions) }
                }
                return
            }
            restartsOf[k] += 1
            restarts += 1
        }
    }

    /// One block on the ATQueue: its scripts in order, stopped by a failed check.
    func runSequence(_ file: SequenceFile, _ actions: [any Action<LATISSSession>]) async throws {
        try await sim.step(file.stepName, lane: "ATQueue", use: .other) {
            for action in actions {
                try await action.run(in: session)
                if session.stopped { return }
                session.scriptEnded()
            }
        }
    }
}

extension Contingency {
    /// True when this contingency's `when` selects a LATISS image: every field it gives matches.
    func watches(_ imageType: String, filter: String, grating: String, seconds: Double) -> Bool {
        LATISSImageWatch(self).matches(imageType, filter: filter, grating: grating, seconds: seconds)
    }
}

/// A contingency's `when` on LATISS images with its fields read once: a session asks at every image
/// whether a check watches it, and each field read from `when` is a String-keyed lookup.
struct LATISSImageWatch {
    /// The fields `when` gives (nil: any image).
    let imageType: String?
    let filter: String?
    let grating: String?
    let seconds: Double?
    /// The contingency's threshold: a watched image below it fails the check.
    let belowADU: Double

    init(_ contingency: Contingency) {
        let when = contingency.when
        imageType = when.optionalString("image_type")
        filter = when.optionalString("filter")
        grating = when.optionalString("grating")
        seconds = when.optionalDouble("exp_time")
        belowADU = contingency.belowADU
    }

    /// True when every field it gives matches the image.
    func matches(_ imageType: String, filter: String, grating: String, seconds: Double) -> Bool {
        (self.imageType.map { $0 == imageType } ?? true)
            && (self.filter.map { $0 == filter } ?? true)
            && (self.grating.map { $0 == grating } ?? true)
            && (self.seconds.map { $0 == seconds } ?? true)
    }
}
