import Foundation

/// Topocentric position of the Sun's centre.
public struct SunPosition: Sendable, Equatable {
    /// Geometric (airless) topocentric altitude of the Sun's centre, degrees.
    public let altitudeDegrees: Double
    /// Topocentric azimuth, degrees from north through east, 0 ≤ az < 360.
    public let azimuthDegrees: Double
    /// Topocentric right ascension and declination (apparent, of date), degrees.
    public let rightAscensionDegrees: Double
    public let declinationDegrees: Double
    /// Topocentric local hour angle, degrees, −180 < H ≤ 180 (positive west of the meridian).
    public let hourAngleDegrees: Double
    /// Earth–Sun distance, astronomical units.
    public let distanceAU: Double

    public var zenithDistanceDegrees: Double { 90 - altitudeDegrees }
}

/// The NREL Solar Position Algorithm: Reda, I. & Andreas, A. 2004, "Solar Position Algorithm for
/// Solar Radiation Applications", NREL/TP-560-34302 (revised 2008); Solar Energy 76, 577. Stated
/// uncertainty ±0.0003° for years −2000…6000. Equation numbers below are the report's.
///
/// Apparent place of date (nutation, aberration), topocentric parallax for the observer's height on
/// the report's Earth ellipsoid. No refraction: `Refraction` is separate.
public struct SolarPositionAlgorithm: Sendable {
    /// Default ΔT = TT − UT1 for 2026–2030, seconds. TT − UTC = 32.184 s + (TAI − UTC = 37 s, IERS
    /// Bulletin C, unchanged since 2017-01-01) = 69.184 s, and |UT1 − UTC| < 0.9 s by the definition of
    /// UTC (IERS Bulletin A had UT1 − UTC within ±0.1 s through 2024–2025), so ΔT ≈ 69.2 s. A 1 s error
    /// in ΔT moves the Sun by 0.04″: negligible here.
    public static let defaultDeltaTSeconds = 69.2

    /// ΔT = TT − UT1, seconds.
    public var deltaTSeconds: Double

    public init(deltaTSeconds: Double = SolarPositionAlgorithm.defaultDeltaTSeconds) {
        self.deltaTSeconds = deltaTSeconds
    }

    /// Intermediate quantities of the report, exposed for checks against its worked example (Table A5.1).
    public struct Details: Sendable {
        public let julianDay: Double
        public let heliocentricLongitudeDegrees: Double
        public let heliocentricLatitudeDegrees: Double
        public let radiusAU: Double
        public let nutationLongitudeDegrees: Double
        public let nutationObliquityDegrees: Double
        public let trueObliquityDegrees: Double
        public let apparentSiderealTimeDegrees: Double
        public let geocentricRightAscensionDegrees: Double
        public let geocentricDeclinationDegrees: Double
        public let position: SunPosition
    }

    /// Sun position at a UTC instant (POSIX seconds; UT1 is taken equal to UTC, |UT1 − UTC| < 0.9 s).
    public func position(site: Site, utcSeconds: Double) -> SunPosition {
        details(site: site, julianDay: UTCTime.julianDate(utcSeconds: utcSeconds)).position
    }

    public func details(site: Site, julianDay jd: Double) -> Details {
        let deg = Double.pi / 180
        let jde = jd + deltaTSeconds / 86_400                  // eq. 5
        let jce = (jde - 2_451_545) / 36_525                   // eq. 7
        let jme = jce / 10                                     // eq. 8

        // Earth heliocentric coordinates, eqs. 9–12 (radians ×1e8 in the tables).
        let lRad = Self.series(SPATables.L, jme)
        let bRad = Self.series(SPATables.B, jme)
        let r = Self.series(SPATables.R, jme)
        let l = Self.normalized(lRad / deg)
        let b = bRad / deg
        let theta = Self.normalized(l + 180)                  // eq. 13
        let beta = -b                                          // eq. 14

        // Nutation, eqs. 15–23.
        let x0 = 297.85036 + jce * (445_267.111480 + jce * (-0.0019142 + jce / 189_474))
        let x1 = 357.52772 + jce * (35_999.050340 + jce * (-0.0001603 - jce / 300_000))
        let x2 = 134.96298 + jce * (477_198.867398 + jce * (0.0086972 + jce / 56_250))
        let x3 = 93.27191 + jce * (483_202.017538 + jce * (-0.0036825 + jce / 327_270))
        let x4 = 125.04452 + jce * (-1934.136261 + jce * (0.0020708 + jce / 450_000))
        var dPsi = 0.0, dEps = 0.0
        for i in 0..<SPATables.nutationY.count {
            let y = SPATables.nutationY[i]
            let c = SPATables.nutationABCD[i]
            let arg = (y.0 * x0 + y.1 * x1 + y.2 * x2 + y.3 * x3 + y.4 * x4) * deg
            dPsi += (c.0 + c.1 * jce) * sin(arg)
            dEps += (c.2 + c.3 * jce) * cos(arg)
        }
        dPsi /= 36_000_000
        dEps /= 36_000_000

        // True obliquity, eqs. 24–25.
        let u = jme / 10
        var eps0 = 2.45
        for c in [5.79, 27.87, 7.12, -39.05, -249.67, -51.38, 1999.25, -1.55, -4680.93, 84_381.448] {
            eps0 = eps0 * u + c
        }
        let eps = eps0 / 3600 + dEps

        let dTau = -20.4898 / (3600 * r)                       // eq. 26, aberration
        let lambda = theta + dPsi + dTau                       // eq. 27

        // Apparent sidereal time at Greenwich, eqs. 28–29.
        let nu0 = Self.meanSiderealTimeDegrees(julianDay: jd)
        let nu = nu0 + dPsi * cos(eps * deg)

        // Geocentric right ascension and declination, eqs. 30–31.
        let lam = lambda * deg, ep = eps * deg, be = beta * deg
        let alpha = Self.normalized(atan2(sin(lam) * cos(ep) - tan(be) * sin(ep), cos(lam)) / deg)
        let delta = asin(sin(be) * cos(ep) + cos(be) * sin(ep) * sin(lam)) / deg

        let position = Self.topocentric(site: site, siderealTimeDegrees: nu, rightAscensionDegrees: alpha,
                                        declinationDegrees: delta, radiusAU: r)
        return Details(julianDay: jd, heliocentricLongitudeDegrees: l, heliocentricLatitudeDegrees: b, radiusAU: r,
                       nutationLongitudeDegrees: dPsi, nutationObliquityDegrees: dEps, trueObliquityDegrees: eps,
                       apparentSiderealTimeDegrees: nu, geocentricRightAscensionDegrees: alpha,
                       geocentricDeclinationDegrees: delta, position: position)
    }

    /// Mean sidereal time at Greenwich, eq. 28, normalised to [0, 360).
    @inline(__always) static func meanSiderealTimeDegrees(julianDay jd: Double) -> Double {
        let jc = (jd - 2_451_545) / 36_525
        return normalized(280.46061837 + 360.98564736629 * (jd - 2_451_545) + jc * jc * (0.000387933 - jc / 38_710_000))
    }

    /// The observer's part of the algorithm, eqs. 32–45: hour angle, topocentric parallax, altitude and
    /// azimuth, from the geocentric apparent place and the apparent sidereal time.
    static func topocentric(site: Site, siderealTimeDegrees nu: Double, rightAscensionDegrees alpha: Double,
                            declinationDegrees delta: Double, radiusAU r: Double) -> SunPosition {
        let deg = Double.pi / 180
        let h = Self.normalized(nu + site.longitudeDegrees - alpha)   // eq. 32

        // Topocentric parallax, eqs. 33–38.
        let xi = 8.794 / (3600 * r) * deg
        let phi = site.latitudeDegrees * deg
        let uu = atan(0.99664719 * tan(phi))
        let xTerm = cos(uu) + site.heightMetres / 6_378_140 * cos(phi)
        let yTerm = 0.99664719 * sin(uu) + site.heightMetres / 6_378_140 * sin(phi)
        let hr = h * deg, dr = delta * deg
        let denom = cos(dr) - xTerm * sin(xi) * cos(hr)
        let dAlpha = atan2(-xTerm * sin(xi) * sin(hr), denom)
        let deltaPrime = atan2((sin(dr) - yTerm * sin(xi)) * cos(dAlpha), denom)
        let hPrime = hr - dAlpha

        // Topocentric altitude (eq. 41, without refraction) and azimuth (eqs. 44–45).
        let e0 = asin(sin(phi) * sin(deltaPrime) + cos(phi) * cos(deltaPrime) * cos(hPrime)) / deg
        let gamma = atan2(sin(hPrime), cos(hPrime) * sin(phi) - tan(deltaPrime) * cos(phi)) / deg
        let azimuth = Self.normalized(gamma + 180)
        var hourAngle = Self.normalized(hPrime / deg)
        if hourAngle > 180 { hourAngle -= 360 }
        return SunPosition(altitudeDegrees: e0, azimuthDegrees: azimuth,
                           rightAscensionDegrees: Self.normalized(alpha + dAlpha / deg),
                           declinationDegrees: deltaPrime / deg, hourAngleDegrees: hourAngle, distanceAU: r)
    }

    /// Σ_i (Σ_j A cos(B + C·JME))·JME^i / 1e8: eqs. 9–11 for one of L, B, R.
    private static func series(_ groups: [[(Double, Double, Double)]], _ jme: Double) -> Double {
        var total = 0.0
        var power = 1.0
        for group in groups {
            var s = 0.0
            for (a, b, c) in group { s += a * cos(b + c * jme) }
            total += s * power
            power *= jme
        }
        return total / 1e8
    }

    @inline(__always) static func normalized(_ degrees: Double) -> Double {
        let x = degrees.truncatingRemainder(dividingBy: 360)
        return x < 0 ? x + 360 : x
    }
}

/// Atmospheric refraction, a correction applied on request to a geometric altitude.
public enum Refraction {
    /// SPA eq. 42 (Bennett 1982 form with pressure and temperature scaling), degrees to add to the
    /// geometric altitude. As in the SPA reference code, no correction is applied when the Sun is below
    /// −(0.26667° + `horizonRefractionDegrees`), i.e. fully set.
    public static func correctionDegrees(geometricAltitudeDegrees e0: Double, pressureMillibar: Double,
                                         temperatureCelsius: Double,
                                         horizonRefractionDegrees: Double = 0.5667) -> Double {
        guard e0 >= -(0.26667 + horizonRefractionDegrees) else { return 0 }
        return pressureMillibar / 1010 * 283 / (273 + temperatureCelsius)
            * 1.02 / (60 * tan((e0 + 10.3 / (e0 + 5.11)) * Double.pi / 180))
    }

    /// Apparent (refracted) altitude at the site's typical pressure and temperature.
    public static func apparentAltitudeDegrees(geometric e0: Double, site: Site) -> Double {
        e0 + correctionDegrees(geometricAltitudeDegrees: e0, pressureMillibar: site.pressureMillibar,
                               temperatureCelsius: site.ambientCelsius)
    }
}
