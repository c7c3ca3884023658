import CGSL
import Foundation

/// Direction of an altitude crossing.
public enum CrossingDirection: String, Sendable, CaseIterable {
    /// The Sun goes down through the altitude (evening).
    case setting
    /// The Sun comes up through the altitude (morning).
    case rising
}

/// The eight twilight events of a night, in the order they happen.
public enum TwilightEvent: String, Sendable, CaseIterable {
    case sunset, civilDusk = "civil_dusk", nauticalDusk = "nautical_dusk", astronomicalDusk = "astronomical_dusk"
    case astronomicalDawn = "astronomical_dawn", nauticalDawn = "nautical_dawn", civilDawn = "civil_dawn", sunrise

    /// Altitude of the Sun's centre at the event, degrees, geometric. −0.833° is the conventional
    /// rise/set altitude (34′ horizon refraction + 16′ semi-diameter, REFERENCES §7); −6/−12/−18° are the
    /// civil, nautical and astronomical definitions (REFERENCES §7).
    public var altitudeDegrees: Double {
        switch self {
        case .sunset, .sunrise: return -0.833
        case .civilDusk, .civilDawn: return -6
        case .nauticalDusk, .nauticalDawn: return -12
        case .astronomicalDusk, .astronomicalDawn: return -18
        }
    }

    public var direction: CrossingDirection {
        switch self {
        case .sunset, .civilDusk, .nauticalDusk, .astronomicalDusk: return .setting
        default: return .rising
        }
    }
}

/// The twilight events of night D: the first crossings after local mean noon of D.
public struct TwilightNight: Sendable, Equatable {
    public let site: Site
    public let year: Int, month: Int, day: Int
    /// Local mean noon of D (12:00 UTC − longitude/15 h), POSIX seconds: where the search starts.
    public let localMeanNoonUTCSeconds: Double
    /// POSIX seconds of each event, nil when it does not happen within 24 h of local mean noon.
    public let events: [TwilightEvent: Double]

    public subscript(_ event: TwilightEvent) -> Double? { events[event] }
    public var nightLabel: String {
        String(format: "%04d-%02d-%02d", year, month, day)
    }
}

/// Finds when the Sun's centre crosses an altitude (geometric): a scan of the altitude curve
/// brackets the crossing, GSL's Brent solver refines it.
public struct SunCrossingFinder: Sendable {
    public var algorithm: SolarPositionAlgorithm
    /// Scan step, seconds. A pair of crossings closer together than this (the Sun grazing the
    /// altitude, within ~0.01° of its daily extremum at 5 min) can be missed: [U] our choice.
    public var scanStepSeconds: Double
    /// Root tolerance in time, seconds.
    public var toleranceSeconds: Double

    public init(algorithm: SolarPositionAlgorithm = SolarPositionAlgorithm(), scanStepSeconds: Double = 300,
                toleranceSeconds: Double = 0.01) {
        self.algorithm = algorithm
        self.scanStepSeconds = scanStepSeconds
        self.toleranceSeconds = toleranceSeconds
    }

    /// The first time after `utcSeconds` (POSIX) within `searchSeconds` at which the Sun's centre
    /// crosses `altitudeDegrees` in `direction`; nil if it does not.
    public func crossing(site: Site, altitudeDegrees: Double, direction: CrossingDirection, after utcSeconds: Double,
                         searchSeconds: Double = 86_400) throws(SkyError) -> Double? {
        let scan = AltitudeScan(finder: self, site: site, start: utcSeconds, span: searchSeconds)
        return try scan.crossing(altitudeDegrees: altitudeDegrees, direction: direction)
    }

    /// The eight events of night D at `site`.
    public func night(site: Site, year: Int, month: Int, day: Int) throws(SkyError) -> TwilightNight {
        let noon = UTCTime.utcSeconds(year: year, month: month, day: day, hour: 12) - site.localMeanTimeOffsetSeconds
        let scan = AltitudeScan(finder: self, site: site, start: noon, span: 86_400)
        var events: [TwilightEvent: Double] = [:]
        for event in TwilightEvent.allCases {
            if let t = try scan.crossing(altitudeDegrees: event.altitudeDegrees, direction: event.direction) {
                events[event] = t
            }
        }
        return TwilightNight(site: site, year: year, month: month, day: day, localMeanNoonUTCSeconds: noon,
                             events: events)
    }

    /// Sun altitude rate, degrees per second, by a central difference over ±`halfStepSeconds`.
    public func altitudeRateDegreesPerSecond(site: Site, utcSeconds: Double, halfStepSeconds: Double = 30) -> Double {
        let up = algorithm.position(site: site, utcSeconds: utcSeconds + halfStepSeconds).altitudeDegrees
        let down = algorithm.position(site: site, utcSeconds: utcSeconds - halfStepSeconds).altitudeDegrees
        return (up - down) / (2 * halfStepSeconds)
    }
}

extension SunCrossingFinder {
    /// The search a twilight study plans with (the procedure's reference event and the report's clock use
    /// this one, so they agree to the bit). A 30-minute scan cannot miss the one daily crossing of −0.833°
    /// at the sites of these studies; 0.5 s is far below a frame's duration.
    public static let twilightPlanning = SunCrossingFinder(scanStepSeconds: 1800, toleranceSeconds: 0.5)

    /// Sunset after local mean noon `noonUTCSeconds` and, for a morning, the sunrise after that sunset
    /// (POSIX seconds), shared by every trial, point and report of a process. nil where it does not happen.
    public func planningEvent(site: Site, localMeanNoonUTCSeconds noon: Double, morning: Bool) throws(SkyError)
        -> (sunset: Double?, event: Double?) {
        guard let sunset = try sharedCrossing(site: site, altitudeDegrees: TwilightEvent.sunset.altitudeDegrees,
                                              direction: .setting, after: noon) else { return (nil, nil) }
        if !morning { return (sunset, sunset) }
        return (sunset, try sharedCrossing(site: site, altitudeDegrees: TwilightEvent.sunrise.altitudeDegrees,
                                           direction: .rising, after: sunset))
    }
}

/// Sun altitudes sampled once over a window, shared by all the events of a night.
private struct AltitudeScan {
    let finder: SunCrossingFinder
    let site: Site
    let start: Double
    let times: [Double]
    let altitudes: [Double]

    init(finder: SunCrossingFinder, site: Site, start: Double, span: Double) {
        self.finder = finder
        self.site = site
        self.start = start
        let n = max(1, Int((span / finder.scanStepSeconds).rounded(.up)))
        let step = span / Double(n)
        times = (0...n).map { start + Double($0) * step }
        altitudes = times.map { finder.algorithm.position(site: site, utcSeconds: $0).altitudeDegrees }
    }

    func crossing(altitudeDegrees h0: Double, direction: CrossingDirection) throws(SkyError) -> Double? {
        for i in 0..<(times.count - 1) {
            let a = altitudes[i] - h0, b = altitudes[i + 1] - h0
            let brackets = direction == .setting ? (a > 0 && b <= 0) : (a < 0 && b >= 0)
            if brackets {
                if b == 0 { return times[i + 1] }
                return try refine(h0: h0, lower: times[i], upper: times[i + 1])
            }
        }
        return nil
    }

    /// Brent's method (GSL `gsl_root_fsolver_brent`) on altitude − h0 in seconds from `lower`.
    private func refine(h0: Double, lower: Double, upper: Double) throws(SkyError) -> Double {
        final class Context {
            let algorithm: SolarPositionAlgorithm, site: Site, origin: Double, target: Double
            init(algorithm: SolarPositionAlgorithm, site: Site, origin: Double, target: Double) {
                self.algorithm = algorithm; self.site = site; self.origin = origin; self.target = target
            }
        }
        let context = Context(algorithm: finder.algorithm, site: site, origin: lower, target: h0)
        guard let solver = gsl_root_fsolver_alloc(cgsl_root_fsolver_brent()) else {
            throw .numerical("gsl_root_fsolver_alloc failed")
        }
        defer { gsl_root_fsolver_free(solver) }
        return try withExtendedLifetime(context) { () throws(SkyError) -> Double in
            var function = gsl_function(
                function: { x, params in
                    let c = Unmanaged<Context>.fromOpaque(params!).takeUnretainedValue()
                    return c.algorithm.position(site: c.site, utcSeconds: c.origin + x).altitudeDegrees - c.target
                },
                params: Unmanaged.passUnretained(context).toOpaque())
            let status = gsl_root_fsolver_set(solver, &function, 0, upper - lower)
            guard status == GSL_SUCCESS else { throw .numerical("gsl_root_fsolver_set status \(status)") }
            for _ in 0..<100 {
                let iterate = gsl_root_fsolver_iterate(solver)
                guard iterate == GSL_SUCCESS else { throw .numerical("gsl_root_fsolver_iterate status \(iterate)") }
                let lo = gsl_root_fsolver_x_lower(solver), hi = gsl_root_fsolver_x_upper(solver)
                if gsl_root_test_interval(lo, hi, finder.toleranceSeconds, 0) == GSL_SUCCESS {
                    return lower + gsl_root_fsolver_root(solver)
                }
            }
            throw .numerical("Brent solver did not converge within 100 iterations")
        }
    }
}
