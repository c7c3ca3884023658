import Foundation
import Testing
@testable import Observatory

@Suite("Sky: tabulated Sun ephemeris")
struct SunEphemerisTableTests {
    /// The tabulated Sun against the exact algorithm every 7 h 13 min 17 s through 2026 (so the instants
    /// fall at every phase of the hourly grid and of the day, including the padded ends of each table) at
    /// the three built-in sites, plus instants on the table's day boundaries. The bound, 10⁻⁹°, is the
    /// spline error analysis of `SunEphemerisTable` with a hundredfold margin; a wrong sidereal term, an
    /// unwrapped right ascension or a table used outside its day is off by 10⁻³° or more.
    @Test func tabulatedSunMatchesTheAlgorithm() throws {
        let spa = SolarPositionAlgorithm()
        let start = UTCTime.utcSeconds(year: 2026, month: 1, day: 1, hour: 0, minute: 0, second: 0)
        let step: Double = 7 * 3600 + 13 * 60 + 17
        var instants: [Double] = Array(stride(from: start, to: start + 365 * 86_400, by: step))
        for d in 0..<30 {
            let boundary: Double = start + Double(d) * 86_400
            instants.append(boundary)
            instants.append(boundary - 1e-3)
        }
        // Where the Sun's right ascension passes 360° → 0° (the March equinox).
        let equinox = UTCTime.utcSeconds(year: 2026, month: 3, day: 20, hour: 0, minute: 0, second: 0)
        instants += Array(stride(from: equinox, to: equinox + 86_400, by: 611.0))
        var maxAlt = 0.0, maxAz = 0.0, maxDec = 0.0
        for name in ["cerro-pachon", "paranal", "cerro-armazones"] {
            let site = try #require(Site.builtIn[name])
            for t in instants {
                let exact = spa.position(site: site, utcSeconds: t)
                let table = spa.tabulatedPosition(site: site, utcSeconds: t)
                maxAlt = max(maxAlt, abs(table.altitudeDegrees - exact.altitudeDegrees))
                var dAz = abs(table.azimuthDegrees - exact.azimuthDegrees)
                dAz = min(dAz, 360 - dAz) * cos(exact.altitudeDegrees * .pi / 180)
                maxAz = max(maxAz, dAz)
                maxDec = max(maxDec, abs(table.declinationDegrees - exact.declinationDegrees))
            }
        }
        print("SUN-TABLE max |Δalt| \(maxAlt)°, |Δaz|·cos(alt) \(maxAz)°, |Δdec| \(maxDec)° over \(instants.count) instants × 3 sites")
        #expect(maxAlt < 1e-9)
        #expect(maxAz < 1e-9)
        #expect(maxDec < 1e-9)
    }

    /// A value depends on the instant only: the same instant read before and after other days' tables
    /// were built (by any trial, in any order) is the same double.
    @Test func tabulatedSunIsAFunctionOfTheInstantAlone() throws {
        let spa = SolarPositionAlgorithm()
        let site = try #require(Site.builtIn["cerro-pachon"])
        let t = UTCTime.utcSeconds(year: 2027, month: 7, day: 4, hour: 23, minute: 41, second: 7)
        let first = spa.tabulatedPosition(site: site, utcSeconds: t)
        for d in -3...3 { _ = spa.tabulatedPosition(site: site, utcSeconds: t + Double(d) * 86_400) }
        #expect(spa.tabulatedPosition(site: site, utcSeconds: t) == first)
        let other = SolarPositionAlgorithm(deltaTSeconds: 69.2 + 60)
        #expect(other.tabulatedPosition(site: site, utcSeconds: t) != first)
    }
}
