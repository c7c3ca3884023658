import CGSL
import Foundation

/// The Sun's geocentric apparent place (right ascension, declination, distance and the nutation in right
/// ascension) tabulated hourly and interpolated with GSL's cubic spline, so that a twilight trial pays the
/// observer's part of the solar position algorithm (eqs. 32–45, ≈ 20 trigonometric calls) and not its
/// periodic series (≈ 330).
///
/// Why the error is negligible: what is interpolated changes slowly — right ascension about 1° a day with
/// annual terms, declination at most 0.4° a day, nutation with periods of days and longer — so the
/// spline's interior error (5/384)·h⁴·max|f⁗| with h = 1 h is of order 10⁻¹⁰°, 1.5 µas. The Earth's
/// rotation, the fast part, is computed exactly (eq. 28) at every instant. Measured against the exact
/// algorithm over 2026 at three sites (`SunEphemerisTableTests`): 4.1·10⁻¹⁰° in altitude, 3.9·10⁻¹⁰° in
/// azimuth·cos(alt); the algorithm's own stated uncertainty is 3·10⁻⁴°.
///
/// Each table covers one UTC day and is padded by 6 h on either side, where the natural spline's end
/// condition is felt (its influence decays by 2 − √3 per knot: 10⁻⁴ after 6 knots, on an end error
/// that is itself ~10⁻⁸°). Tables are keyed by the UTC day and ΔT only, so a value depends on the instant
/// alone, never on which trial or thread asked first: sharing changes no number between runs.
public final class SunEphemerisTable: @unchecked Sendable {
    // @unchecked: the GSL spline objects are written once in `init` and only read afterwards;
    // `gsl_interp_eval` with a nil accelerator does not write to them.
    static let stepSeconds = 3600.0
    static let padSamples = 6
    static let daySeconds = 86_400.0

    let startSeconds: Double
    let times: [Double]
    /// Right ascension unwrapped across 360°, declination, distance, and apparent − mean sidereal time.
    let series: [[Double]]
    private let splines: [UnsafeMutablePointer<gsl_interp>]

    init(day: Int, algorithm: SolarPositionAlgorithm, site: Site) {
        let start = Double(day) * Self.daySeconds - Double(Self.padSamples) * Self.stepSeconds
        let count = Int(Self.daySeconds / Self.stepSeconds) + 2 * Self.padSamples + 1
        let times = (0..<count).map { start + Double($0) * Self.stepSeconds }
        startSeconds = start
        self.times = times
        var ra: [Double] = [], dec: [Double] = [], r: [Double] = [], nutation: [Double] = []
        for t in times {
            let jd = UTCTime.julianDate(utcSeconds: t)
            let d = algorithm.details(site: site, julianDay: jd)
            var alpha = d.geocentricRightAscensionDegrees
            if let last = ra.last { alpha += 360 * ((last - alpha) / 360).rounded() }
            ra.append(alpha)
            dec.append(d.geocentricDeclinationDegrees)
            r.append(d.radiusAU)
            nutation.append(d.apparentSiderealTimeDegrees - SolarPositionAlgorithm.meanSiderealTimeDegrees(julianDay: jd))
        }
        let series = [ra, dec, r, nutation]
        self.series = series
        splines = series.map { y in
            let spline = gsl_interp_alloc(cgsl_interp_cspline(), count)!
            _ = times.withUnsafeBufferPointer { x in y.withUnsafeBufferPointer { gsl_interp_init(spline, x.baseAddress, $0.baseAddress, count) } }
            return spline
        }
    }

    deinit { for s in splines { gsl_interp_free(s) } }

    /// The tabulated quantity `k` of `series` at `utcSeconds`, which must lie in this table's UTC day.
    @inline(__always) func value(_ k: Int, at utcSeconds: Double) -> Double {
        times.withUnsafeBufferPointer { x in
            series[k].withUnsafeBufferPointer { gsl_interp_eval(splines[k], x.baseAddress, $0.baseAddress, utcSeconds, nil) }
        }
    }

    /// The Sun at `utcSeconds` as `SolarPositionAlgorithm.position` gives it, to the table's error.
    func position(site: Site, utcSeconds: Double) -> SunPosition {
        let jd = UTCTime.julianDate(utcSeconds: utcSeconds)
        let nu = SolarPositionAlgorithm.meanSiderealTimeDegrees(julianDay: jd) + value(3, at: utcSeconds)
        return SolarPositionAlgorithm.topocentric(site: site, siderealTimeDegrees: nu,
                                                  rightAscensionDegrees: SolarPositionAlgorithm.normalized(value(0, at: utcSeconds)),
                                                  declinationDegrees: value(1, at: utcSeconds), radiusAU: value(2, at: utcSeconds))
    }
}

struct SunEphemerisKey: Hashable, Sendable {
    let day: Int
    let deltaTSeconds: Double
}

extension SolarPositionAlgorithm {
    static let ephemerisTables = NightCache<SunEphemerisKey, SunEphemerisTable>(capacity: 4096)

    /// `position(site:utcSeconds:)` from the shared hourly ephemeris (`SunEphemerisTable`): the same Sun to
    /// better than 10⁻⁹°, at a tenth of the cost. For code that asks for many positions per night (a
    /// twilight trial's frames); event searches validated against PyEphem keep the exact algorithm.
    public func tabulatedPosition(site: Site, utcSeconds: Double) -> SunPosition {
        guard utcSeconds.isFinite, abs(utcSeconds) < 1e13 else { return position(site: site, utcSeconds: utcSeconds) }
        let day = Int((utcSeconds / SunEphemerisTable.daySeconds).rounded(.down))
        let table = Self.ephemerisTables.value(for: SunEphemerisKey(day: day, deltaTSeconds: deltaTSeconds)) {
            SunEphemerisTable(day: day, algorithm: self, site: site)
        }
        return table.position(site: site, utcSeconds: utcSeconds)
    }
}
