import Foundation

/// UTC instants as POSIX seconds since 1970-01-01T00:00:00Z (leap seconds not counted, so a UTC
/// day is always 86 400 s), with Julian-date conversion and ISO 8601 text. Integer calendar
/// arithmetic only: nothing here touches Foundation's Date/Calendar, so it is safe in loops.
public enum UTCTime {
    /// Julian date of the POSIX epoch.
    public static let julianDateOfEpoch = 2_440_587.5

    public static func julianDate(utcSeconds: Double) -> Double { julianDateOfEpoch + utcSeconds / 86_400 }
    public static func utcSeconds(julianDate: Double) -> Double { (julianDate - julianDateOfEpoch) * 86_400 }

    /// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
    public static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    /// Inverse of `daysFromCivil`.
    public static func civilFromDays(_ z0: Int) -> (year: Int, month: Int, day: Int) {
        let z = z0 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    public static func utcSeconds(year: Int, month: Int, day: Int, hour: Int = 0, minute: Int = 0,
                                  second: Double = 0) -> Double {
        Double(daysFromCivil(year: year, month: month, day: day)) * 86_400
            + Double(hour * 3600 + minute * 60) + second
    }

    /// A calendar date `YYYY-MM-DD`, validated (month 1–12, day within the month).
    public static func parseDate(_ text: String) -> (year: Int, month: Int, day: Int)? {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2,
              let y = Int(parts[0]), let m = Int(parts[1]), let d = Int(parts[2]),
              (1...12).contains(m), d >= 1, d <= daysInMonth(year: y, month: m) else { return nil }
        return (y, m, d)
    }

    static func daysInMonth(year: Int, month: Int) -> Int {
        let next = month == 12 ? daysFromCivil(year: year + 1, month: 1, day: 1)
                               : daysFromCivil(year: year, month: month + 1, day: 1)
        return next - daysFromCivil(year: year, month: month, day: 1)
    }

    /// `YYYY-MM-DDTHH:MM[:SS[.fff]][Z|±HH:MM]` (a space may replace `T`; no suffix means UTC).
    /// Returns POSIX seconds, or nil if the text is not such a timestamp.
    public static func parseISO8601(_ text: String) -> Double? {
        var s = Substring(text.trimmingCharacters(in: .whitespaces))
        guard s.count >= 16 else { return nil }
        let dateText = s.prefix(10)
        guard let (y, m, d) = parseDate(String(dateText)) else { return nil }
        s = s.dropFirst(10)
        guard let sep = s.first, sep == "T" || sep == "t" || sep == " " else { return nil }
        s = s.dropFirst()
        var offsetSeconds = 0.0
        if s.hasSuffix("Z") || s.hasSuffix("z") {
            s = s.dropLast()
        } else if s.count >= 6, let signChar = s.dropLast(5).last, signChar == "+" || signChar == "-" {
            let tz = s.suffix(5)
            let tzParts = tz.split(separator: ":")
            guard tzParts.count == 2, let oh = Int(tzParts[0]), let om = Int(tzParts[1]), tzParts[0].count == 2,
                  tzParts[1].count == 2, oh <= 14, om < 60 else { return nil }
            offsetSeconds = Double(oh * 3600 + om * 60) * (signChar == "-" ? -1 : 1)
            s = s.dropLast(6)
        }
        let hms = s.split(separator: ":", omittingEmptySubsequences: false)
        guard hms.count == 2 || hms.count == 3, hms[0].count == 2, hms[1].count == 2,
              let hh = Int(hms[0]), let mm = Int(hms[1]), (0...23).contains(hh), (0...59).contains(mm) else { return nil }
        var sec = 0.0
        if hms.count == 3 {
            guard hms[2].count >= 2, hms[2].prefix(2).allSatisfy(\.isNumber), let v = Double(hms[2]),
                  v >= 0, v < 61 else { return nil }
            sec = v
        }
        return utcSeconds(year: y, month: m, day: d, hour: hh, minute: mm, second: sec) - offsetSeconds
    }

    /// ISO 8601 UTC text at 0.1 s resolution, e.g. `2026-03-01T23:14:05.3Z` (rounded to nearest 0.1 s).
    public static func iso8601(utcSeconds: Double, offsetSeconds: Double = 0, suffix: String = "Z") -> String {
        let rounded = Int64(((utcSeconds + offsetSeconds) * 10).rounded())
        let days = Int(floorDiv(rounded, 864_000))
        let rem = Int(rounded - Int64(days) * 864_000)
        let (y, m, d) = civilFromDays(days)
        let h = rem / 36_000, mi = (rem / 600) % 60, s = (rem / 10) % 60, t = rem % 10
        return String(format: "%04d-%02d-%02dT%02d:%02d:%02d.%d", y, m, d, h, mi, s, t) + suffix
    }

    private static func floorDiv(_ a: Int64, _ b: Int64) -> Int64 {
        let q = a / b
        return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q
    }
}
