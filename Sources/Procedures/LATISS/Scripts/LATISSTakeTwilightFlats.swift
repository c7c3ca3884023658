import Foundation
import Observatory

/// `auxtel/latiss_take_twilight_flats.py` (ts_externalscripts, `TakeTwilightFlatsLatiss` on
/// `BaseTakeTwilightFlats`, REFERENCES §1.3), as its `take_twilight_flats` runs:
///
/// 1. the Sun must be within [min_sun_elevation, max_sun_elevation] (`assert_sun_location`, again after
///    every flat; outside, the script raises and the run aborts `sun_elevation`); `distance_from_sun`
///    (or `target_az` − Sun with `point_directly`) must be at least 60°;
/// 2. point at az = Sun + distance_from_sun (or target_az), el = target_el, the dome following, and set
///    the filter and grating;
/// 3. a min_exp_time flat to calibrate, then until n_flat flats: t = target_sky_counts·t_last/counts
///    (the existing rubin `TwilightExposureRule`), rounded to 0.01 s; below min_exp_time it is
///    min_exp_time·1.01 when max_counts would not be exceeded; above max_exp_time it is max_exp_time;
///    still below min_exp_time: evening (Sun setting, azimuth > 180°) sleep 30 s and take a
///    min_exp_time flat until it is not; morning: stop;
/// 4. an evening flat shorter than 2 s is followed by 4 fast repeats at the same time (they count);
/// 5. 40 darks of 15 s.
///
/// The sky is the twilight sky model of the twilight-flats procedure (no cirrus or clouds here: the
/// LATISS procedure draws no weather), averaged over each exposure by Simpson's rule; counts are the
/// frame's median post-ISR level times the mean gain (electrons, as `get_sky_counts` reads them).
public struct LATISSTakeTwilightFlats: Action {
    public static let name = "auxtel/latiss_take_twilight_flats.py"
    public static let summary = "Twilight flats at one pointing opposite the Sun, each exposure time from the last frame's counts; then 40 × 15 s darks."

    public static let filter = Key<String>("filter", .choice(LATISS.knownElements), .required,
                                           doc: "Filter wheel element; with `grating`, the element that names the sky band (SDSSr_65mm → SDSSr).")
    public static let grating = Key<String>("grating", .choice(LATISS.knownElements), .defaultValue(.string("empty_1")),
                                            doc: "Grating wheel element (script default empty_1).")
    public static let targetSkyCounts = Key<Int>("target_sky_counts", .integer, .defaultValue(.integer(15_000)), min: 1, max: 1e6,
                                                 doc: "Target mean electron count per flat (script default 15000).")
    public static let maxCounts = Key<Int>("max_counts", .integer, .defaultValue(.integer(60_000)), min: 0, max: 1e7,
                                           doc: "Maximum counts tolerable in a sky flat (script default 60000).")
    public static let nFlat = Key<Int>("n_flat", .integer, .defaultValue(.integer(20)), min: 1, max: 1000,
                                       doc: "Flats to take after the calibration frame (script default 20).")
    public static let maxExpTime = Key<Double>("max_exp_time", .quantity(.time), .defaultValue(.number(30)), min: 0.1, max: 401,
                                               doc: "Longest exposure (script default 30 s).")
    public static let minExpTime = Key<Double>("min_exp_time", .quantity(.time), .defaultValue(.number(1)), min: 0.1, max: 401,
                                               doc: "Shortest exposure, also the calibration frame's (script default 1 s, minimum 0.1 s).")
    public static let minSunElevation = Key<Double>("min_sun_elevation", .quantity(.angle), .defaultValue(.number(-18)), min: -90, max: 90,
                                                    doc: "Lowest Sun elevation for twilight flats (script default −18°).")
    public static let maxSunElevation = Key<Double>("max_sun_elevation", .quantity(.angle), .defaultValue(.number(0)), min: -90, max: 90,
                                                    doc: "Highest Sun elevation for twilight flats (script default 0°).")
    public static let distanceFromSun = Key<Double>("distance_from_sun", .quantity(.angle), .defaultValue(.number(179)), min: -180, max: 180,
                                                    doc: "Azimuth from the Sun (script default 179°; at least 60° from it).")
    public static let targetEl = Key<Double>("target_el", .quantity(.angle), .defaultValue(.number(45)), min: 0, max: 90,
                                             doc: "Elevation of the flats (script default 45°).")
    public static let targetAz = Key<Double>("target_az", .quantity(.angle), .defaultValue(.number(90)), min: -360, max: 360,
                                             doc: "Azimuth of the flats with `point_directly` (script default 90°).")
    public static let pointDirectly = Key<Bool>("point_directly", .bool, .defaultValue(.bool(false)),
                                                doc: "Point at target_az instead of relative to the Sun (script default false).")
    public static let keys = [filter.spec, grating.spec, targetSkyCounts.spec, maxCounts.spec, nFlat.spec, maxExpTime.spec, minExpTime.spec,
                              minSunElevation.spec, maxSunElevation.spec, distanceFromSun.spec, targetEl.spec, targetAz.spec, pointDirectly.spec]
    public static let acceptedKeys = [
        AcceptedKey("dither", "azimuth offset between flats (arcsec); the offset's time is not modelled and the sky model has no structure to dither over"),
        AcceptedKey("tracking", "tracking an empty field instead of a fixed az/el; the sky model is the same over the few minutes of the flats"),
        AcceptedKey("rotator_angle", "rotator angle; LATISS flats do not depend on it in the model"),
        AcceptedKey("ignore", "camera CSCs left out of the status check; the check is `csc_initial_states`"),
        AcceptedKey("program", "the observing program in the headers; no simulated effect"),
        AcceptedKey("reason", "the observation reason in the headers; no simulated effect"),
    ]

    /// `base_take_twilight_flats.py` constants: the evening sleep, the fast-repeat threshold and count,
    /// the darks, the minimum distance from the Sun.
    static let sleepSeconds = 30.0
    static let repeatBelowSeconds = 2.0
    static let repeats = 4
    static let darkSeconds = 15.0
    static let darkCount = 40
    static let minimumSunDistance = 60.0

    public let filterName: String
    public let gratingName: String
    public let band: Band
    let targetCounts: Double
    let maxCountsValue: Double
    let flats: Int
    let minExp: Double
    let maxExp: Double
    let sunLimits: ClosedRange<Double>
    let sunDistance: Double
    let elevation: Double
    let directAzimuth: Double?

    public init(configuration c: ActionConfiguration) throws {
        filterName = c[Self.filter]
        gratingName = c[Self.grating]
        let element = filterName == ATFlatScreen.emptyName ? gratingName : filterName
        let bandName = element.hasSuffix("_65mm") ? String(element.dropLast(5)) : element
        guard TwilightInstrument.latissBands.contains(bandName), let band = Band(rawValue: bandName) else {
            throw ConfigurationError(path: c.path(Self.filter), "`\(element)` has no band in the twilight sky model; allowed: "
                                     + TwilightInstrument.latissBands.map { $0.hasPrefix("SDSS") ? $0 + "_65mm" : $0 }.joined(separator: ", "))
        }
        self.band = band
        targetCounts = Double(c[Self.targetSkyCounts])
        maxCountsValue = Double(c[Self.maxCounts])
        flats = c[Self.nFlat]
        minExp = c[Self.minExpTime]
        maxExp = c[Self.maxExpTime]
        guard minExp < maxExp else { throw ConfigurationError(path: c.path(Self.minExpTime), "must be below max_exp_time (\(maxExp) s), got \(minExp) s") }
        let lo = c[Self.minSunElevation], hi = c[Self.maxSunElevation]
        guard lo < hi else { throw ConfigurationError(path: c.path(Self.minSunElevation), "must be below max_sun_elevation (\(hi)°), got \(lo)°") }
        sunLimits = lo...hi
        sunDistance = c[Self.distanceFromSun]
        elevation = c[Self.targetEl]
        directAzimuth = c[Self.pointDirectly] ? c[Self.targetAz] : nil
        if directAzimuth == nil && abs(sunDistance) < Self.minimumSunDistance {
            throw ConfigurationError(path: c.path(Self.distanceFromSun), "is less than \(Self.minimumSunDistance)° from the Sun, got \(sunDistance)°")
        }
    }

    /// `get_new_exptime`: the rubin rule, the 1.01·min_exp_time short exposure when max_counts allows it,
    /// else rounded to 0.01 s.
    func nextExposure(counts: Double, last: Double) -> Double {
        let rule = TwilightExposureRule(kind: .rubin, targetElectrons: targetCounts, minimumSeconds: minExp, maximumSeconds: maxExp)
        let t = rule.unclampedExposure(startingAt: 0, last: TwilightFrameMeasurement(startSeconds: 0, ditSeconds: last, electrons: counts,
                                                                                    darkElectronsPerSecond: 0), fadingDexPerSecond: 0)
        if t < minExp && maxCountsValue * last / counts > minExp { return minExp * 1.01 }
        return (t * 100).rounded() / 100
    }

    struct SunOutOfLimits: Error {}

    public func run(in session: LATISSSession) async throws {
        let sim = session.sim
        let context = session.context
        let site = try Site(name: context.site.name, latitudeDegrees: context.site.latitudeDegrees,
                            longitudeDegrees: context.site.longitudeDegrees, heightMetres: context.site.elevationMetres)
        let sky = TwilightSkyView(site: site, band: band, camera: .auxTelLATISS, epochUnixSeconds: context.epochUnixSeconds)
        let airmass = try Airmass.airmass(altitudeDegrees: elevation)
        let gain = try session.detector.model.mode().meanGainElectronsPerADU
        var taken = 0
        func assertSun() throws -> SunPosition {
            let sun = sky.sunPosition(at: sim.now)
            guard sunLimits.contains(sun.altitudeDegrees) else {
                sim.record("LATISS", "sun outside limits", ["sun_el": "\(sun.altitudeDegrees)"])
                throw ProcedureAbort(cause: "sun_elevation", metrics: ["twilight_flats": Double(taken)])
            }
            return sun
        }
        /// One flat at `seconds`; returns its counts in electrons.
        func flat(_ seconds: Double) async throws -> Double {
            let t0 = sim.now
            let a = try sky.totalRate(at: t0, airmass: airmass), m = try sky.totalRate(at: t0 + seconds / 2, airmass: airmass)
            let b = try sky.totalRate(at: t0 + seconds, airmass: airmass)
            let rate = (a + 4 * m + b) / 6
            let r = try await session.takeImage(.flat, seconds: seconds, filter: filterName, grating: gratingName, reason: "twilight_flats",
                                                sky: Illumination(photonsPerSecondPerPixel: rate, quantumEfficiency: 1), measured: true)
            return max(1e-9, (r?.medianPostISRADU ?? 0) * gain)
        }
        let first = try assertSun()
        let setting = first.azimuthDegrees > 180
        let azimuth = Azimuth.normalized(directAzimuth ?? (first.azimuthDegrees + sunDistance))
        if let direct = directAzimuth, abs(first.azimuthDegrees - Azimuth.normalized(direct)) < Self.minimumSunDistance {
            throw ProcedureAbort(cause: "sun_distance", metrics: [:])
        }
        try await sim.step("point telescope towards an empty patch of sky", lane: "ATMount", use: .mechanism) {
            try session.requireEnabled(session.atcsGroup, for: "point_azel")
            try await TwilightTelescope.point(session.auxTel, simulation: sim, azimuth: azimuth, elevation: elevation)
            try await session.setInstrument(filter: filterName, grating: gratingName)
        }
        try await sim.step("take a series of exposures", lane: "LATISS", use: .other) {
            var exposure = minExp
            var counts = try await flat(minExp)
            while taken < flats {
                exposure = min(nextExposure(counts: counts, last: exposure), maxExp)
                if exposure < minExp {
                    guard setting else { break }
                    while exposure < minExp {
                        try await sim.step("wait for the sky to fade", lane: "operator", use: .other) { try await sim.timeout(Self.sleepSeconds) }
                        counts = try await flat(minExp)
                        exposure = nextExposure(counts: counts, last: minExp)
                    }
                }
                counts = try await flat(exposure)
                taken += 1
                _ = try assertSun()
                if exposure < Self.repeatBelowSeconds && setting {
                    for _ in 0..<Self.repeats {
                        counts = try await flat(exposure)
                        taken += 1
                        _ = try assertSun()
                    }
                }
            }
        }
        session.twilightFlats += taken
        try await sim.step("take darks", lane: "LATISS", use: .other) {
            for _ in 0..<Self.darkCount {
                _ = try await session.takeImage(.dark, seconds: Self.darkSeconds, filter: filterName, grating: gratingName, reason: "twilight_flats")
            }
        }
    }
}
