import Foundation
import Procedures
import ScenarioKit
import Observatory

/// The civil clock people at a site plan in, for report labels (no time-zone database: the rule is here).
/// Chile's built-in sites (Cerro Pachón, Cerro Armazones, Paranal) keep continental Chile time: UTC−3
/// (CLST) from the first Sunday of September to the first Sunday of April, UTC−4 (CLT) otherwise, the
/// changes at 00:00 local time (04:00 and 03:00 UTC), the rule in force since 2019. Any other site gets the
/// zone of its longitude (15° per hour, UTC±N, no summer time): a custom site's country is not known.
public struct SiteCivilTime: Sendable, Equatable {
    public let chilean: Bool
    public let longitudeDegrees: Double

    static let chileanSites: Set<String> = ["cerro-pachon", "cerro-armazones", "paranal"]

    public init(siteName: String, longitudeDegrees: Double) {
        chilean = Self.chileanSites.contains(siteName)
        self.longitudeDegrees = longitudeDegrees
    }

    /// Hours east of UTC at the instant.
    public func offsetHours(atUnixSeconds t: Double) -> Int {
        guard chilean else { return Int((longitudeDegrees / 15).rounded()) }
        let date = Date(timeIntervalSince1970: t)
        var utc = Calendar(identifier: .gregorian)
        utc.timeZone = TimeZone(identifier: "UTC")!
        let year = utc.component(.year, from: date)
        // First Sunday of the month, 00:00 local, as POSIX seconds.
        func firstSunday(_ month: Int, utcHour: Int) -> Double {
            let first = utc.date(from: DateComponents(year: year, month: month, day: 1))!
            let weekday = utc.component(.weekday, from: first)   // 1 = Sunday
            let day = 1 + (8 - weekday) % 7
            return utc.date(from: DateComponents(year: year, month: month, day: day, hour: utcHour))!.timeIntervalSince1970
        }
        let summerEnds = firstSunday(4, utcHour: 3), summerStarts = firstSunday(9, utcHour: 4)
        return t >= summerEnds && t < summerStarts ? -4 : -3
    }

    /// The zone's short name: CLT / CLST in Chile, UTC±N elsewhere.
    public func zoneName(_ hours: Int) -> String {
        if chilean { return hours == -3 ? "CLST" : "CLT" }
        return hours == 0 ? "UTC" : hours > 0 ? "UTC+\(hours)" : "UTC−\(-hours)"
    }

    /// "20:26 CLST (UTC−3)": the local clock at the instant, to the nearest minute.
    public func label(atUnixSeconds t: Double) -> String {
        let hours = offsetHours(atUnixSeconds: t)
        let minutes = Int(((t + Double(hours) * 3600) / 60).rounded())
        let m = ((minutes % 1440) + 1440) % 1440
        func twoDigits(_ v: Int) -> String { v < 10 ? "0\(v)" : "\(v)" }
        let clock = twoDigits(m / 60) + ":" + twoDigits(m % 60)
        let offset = hours == 0 ? "UTC" : hours > 0 ? "UTC+\(hours)" : "UTC−\(-hours)"
        return chilean ? "\(clock) \(zoneName(hours)) (\(offset))" : "\(clock) \(offset)"
    }
}

/// A twilight study's clock: the event its start offset counts from (sunset of the evening, or the
/// following sunrise for a morning), found as the procedure finds it, and the site's civil time.
public struct TwilightPlanningClock: Sendable {
    public let site: Site
    public let civil: SiteCivilTime
    public let evening: Bool

    public init(site: Site, evening: Bool) {
        self.site = site
        civil = SiteCivilTime(siteName: site.name, longitudeDegrees: site.longitudeDegrees)
        self.evening = evening
    }

    public var event: TwilightEvent { evening ? .sunset : .sunrise }
    /// "after sunset" / "before sunrise".
    public var offsetMeaning: String { evening ? "after sunset" : "before sunrise" }

    /// POSIX seconds of the reference event on the night of `date` ("YYYY-MM-DD", the evening's date).
    public func eventSeconds(date: String) -> Double? {
        let parts = date.prefix(10).split(separator: "-").compactMap { Int($0) }
        guard parts.count == 3 else { return nil }
        let noon = UTCTime.utcSeconds(year: parts[0], month: parts[1], day: parts[2], hour: 12) - site.localMeanTimeOffsetSeconds
        return (try? SunCrossingFinder.twilightPlanning.planningEvent(site: site, localMeanNoonUTCSeconds: noon, morning: !evening))?.event
    }

    /// The local civil time the procedure starts on the night of `date`, `offsetSeconds` after sunset or
    /// before sunrise; nil when the Sun does not set or rise that night.
    public func startLabel(date: String, offsetSeconds: Double) -> String? {
        startLabel(eventSeconds: eventSeconds(date: date), offsetSeconds: offsetSeconds)
    }

    /// The same label from the night's event already found (`eventSeconds(date:)`).
    public func startLabel(eventSeconds event: Double?, offsetSeconds: Double) -> String? {
        event.map { civil.label(atUnixSeconds: evening ? $0 + offsetSeconds : $0 - offsetSeconds) }
    }
}

extension TwilightPlanningClock {
    /// The clock of a scenario whose `parameters.twilight` names the evening or morning; nil otherwise.
    public static func of(_ scenario: Scenario) -> TwilightPlanningClock? {
        guard case .string(let twilight)? = scenario.configuration.parameters["twilight"],
              let site = try? Site(name: scenario.site.name, latitudeDegrees: scenario.site.latitudeDegrees,
                                   longitudeDegrees: scenario.site.longitudeDegrees, heightMetres: scenario.site.elevationMetres)
        else { return nil }
        return TwilightPlanningClock(site: site, evening: twilight != "morning")
    }
}
