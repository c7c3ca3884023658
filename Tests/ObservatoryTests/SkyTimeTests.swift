import Testing
@testable import Observatory

@Suite("Sky: time and sites")
struct SkyTimeTests {
    /// J2000.0 = JD 2451545.0 = 2000-01-01T12:00:00 (the SPA's epoch, Reda & Andreas 2004 eq. 6).
    @Test func julianDate() throws {
        let t = try #require(UTCTime.parseISO8601("2000-01-01T12:00:00Z"))
        #expect(UTCTime.julianDate(utcSeconds: t) == 2_451_545.0)
        #expect(UTCTime.parseISO8601("1970-01-01T00:00:00Z") == 0)
    }

    @Test func iso8601RoundTripAndOffsets() throws {
        let t = try #require(UTCTime.parseISO8601("2026-03-01T23:14:05.34Z"))
        #expect(UTCTime.iso8601(utcSeconds: t) == "2026-03-01T23:14:05.3Z")
        #expect(UTCTime.parseISO8601("2026-03-01T20:14:05.34-03:00") == t)
        #expect(UTCTime.iso8601(utcSeconds: try #require(UTCTime.parseISO8601("2028-02-29T23:59:59.96Z"))) == "2028-03-01T00:00:00.0Z")
        for bad in ["2026-02-29T00:00Z", "2026-13-01T00:00Z", "2026-03-01", "2026-03-01T25:00Z", "yesterday", "2026-03-01T10:00:0aZ"] {
            #expect(UTCTime.parseISO8601(bad) == nil, "\(bad)")
        }
        #expect(UTCTime.parseDate("2028-02-29") != nil)
        #expect(UTCTime.parseDate("2026-02-29") == nil)
    }

    @Test func sites() throws {
        #expect(try Site.named("cerro-armazones").heightMetres == 3046)
        #expect(throws: SkyError.invalid(field: "site", value: "la-silla", allowed: "cerro-armazones, cerro-pachon, paranal")) {
            try Site.named("la-silla")
        }
        #expect(throws: SkyError.self) { try Site(latitudeDegrees: 91, longitudeDegrees: 0, heightMetres: 0) }
        // ISO 2533 pressure at 2635 m: 1013.25·(1 − 2.25577e-5·2635)^5.25588 = 734.2 mbar.
        #expect(abs(try Site.named("paranal").pressureMillibar - 734.24) < 0.01)
    }

    /// A night without events never crashes: Tromsø (69.65° N) at midsummer has none of the eight, and a
    /// general crossing below the Sun's lowest altitude returns nil.
    @Test func polarSummer() throws {
        let site = try Site(latitudeDegrees: 69.6492, longitudeDegrees: 18.9553, heightMetres: 0)
        let night = try SunCrossingFinder().night(site: site, year: 2026, month: 6, day: 21)
        #expect(night.events.isEmpty)
        let start = UTCTime.utcSeconds(year: 2026, month: 6, day: 21)
        #expect(try SunCrossingFinder().crossing(site: site, altitudeDegrees: 0, direction: .setting, after: start) == nil)
        // The midnight Sun's lowest altitude there is δ − (90° − φ) = 23.44 − 20.35 = 3.09°: it never crosses 2°,
        // but it does dip through 4°.
        #expect(try SunCrossingFinder().crossing(site: site, altitudeDegrees: 2, direction: .setting, after: start) == nil)
        #expect(try SunCrossingFinder().crossing(site: site, altitudeDegrees: 4, direction: .setting, after: start) != nil)
    }
}
