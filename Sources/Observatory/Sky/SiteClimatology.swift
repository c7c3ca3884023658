import Foundation

/// What a night's sky is, for calibrations that need it clear.
public enum NightSky: String, Sendable {
    /// No clouds (CTIO: "over 6 continuous hours of cloudless sky").
    case photometric
    /// Usable but not photometric: thin cloud (CTIO "spectroscopic": at most 3/8 cover for 6 hours).
    case thinCloud = "thin_cloud"
    /// Not usable.
    case cloudy
}

/// Monthly cloud climatology of a site: the fraction of nights photometric and usable (photometric or
/// thin cloud), by calendar month; a night draws its class from one uniform number u: photometric when
/// u < photometric[m], thin cloud when u < usable[m], cloudy otherwise (so a higher fraction never turns
/// a clear night cloudy: common random numbers across sweeps).
///
/// Sources (docs/REFERENCES-physics.md §4):
/// - Cerro Pachón: Cerro Tololo, 10 km away, CTIO facilities manual §7 (www.ctio.noao.edu/facil/s7/sec7.html)
///   [V]: average photometric and "observational" (spectroscopic + photometric) hours per night against the
///   maximum possible, by month, 1965–1989. Their hour fractions are taken as night fractions [U].
/// - Paranal: 88 % clear nights from GOES-12 (Cavazzani et al. 2011, arXiv:1011.4815, 2007–2008) [V abstract];
///   "about 60 % of nights are free of clouds" from the LHATPRO IR camera (Kerber, Querel & Hanuschik 2014,
///   arXiv:1408.1752) [V abstract]. No monthly breakdown found: the same fractions every month [U].
/// - Cerro Armazones (20 km from Paranal): Paranal's fractions [U].
public struct SiteClimatology: Sendable, Equatable {
    public let site: String
    /// Fraction of photometric nights, January first.
    public let photometric: [Double]
    /// Fraction of usable (photometric or thin-cloud) nights, January first.
    public let usable: [Double]

    public init(site: String, photometric: [Double], usable: [Double]) {
        precondition(photometric.count == 12 && usable.count == 12, "twelve months")
        self.site = site
        self.photometric = photometric
        self.usable = zip(photometric, usable).map { max($0, $1) }
    }

    /// CTIO §7 table: maximum possible, average photometric and average observational hours per night.
    public static let ctioHours: [(maximum: Double, photometric: Double, observational: Double)] = [
        (8.5, 6.7, 7.7), (9.5, 7.9, 8.9), (10.5, 8.1, 9.2), (11.5, 7.4, 9.5), (12.1, 5.2, 8.1), (12.4, 5.0, 8.3),
        (12.3, 5.2, 7.4), (11.8, 5.7, 8.0), (10.9, 5.7, 7.6), (9.9, 5.5, 7.2), (8.9, 6.0, 7.2), (8.2, 6.6, 7.3),
    ]

    public static let cerroPachon = SiteClimatology(
        site: "cerro-pachon",
        photometric: ctioHours.map { $0.photometric / $0.maximum },
        usable: ctioHours.map { $0.observational / $0.maximum })

    public static let paranal = SiteClimatology(site: "paranal", photometric: Array(repeating: 0.60, count: 12),
                                                usable: Array(repeating: 0.88, count: 12))

    public static let cerroArmazones = SiteClimatology(site: "cerro-armazones", photometric: paranal.photometric,
                                                       usable: paranal.usable)

    /// The climatology of a built-in site or one of the names scenarios use for it (`auxtel` is on Cerro
    /// Pachón, `elt` / `armazones` on Cerro Armazones); nil for any other site.
    public static func named(_ name: String) -> SiteClimatology? {
        switch name.lowercased() {
        case "cerro-pachon", "pachon", "auxtel", "rubin": return cerroPachon
        case "paranal", "vlt": return paranal
        case "cerro-armazones", "armazones", "elt": return cerroArmazones
        default: return nil
        }
    }

    /// The class of a night in `month` (1–12) for a uniform draw `u` in [0, 1).
    public func night(month: Int, uniform u: Double) -> NightSky {
        let m = min(max(month, 1), 12) - 1
        return u < photometric[m] ? .photometric : u < usable[m] ? .thinCloud : .cloudy
    }

    /// Calendar month (1–12) of a UTC instant, Unix seconds (civil-from-days, proleptic Gregorian).
    public static func utcMonth(unixSeconds: Double) -> Int {
        let days = Int((unixSeconds / 86_400).rounded(.down)) + 719_468
        let era = (days >= 0 ? days : days - 146_096) / 146_097
        let doe = days - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        return mp < 10 ? mp + 3 : mp - 9
    }
}
