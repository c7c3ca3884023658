import Foundation
import Observatory
import Procedures
import Testing
@testable import ScenarioKit

/// `study.deadline`: a duration, or an evening event resolved at the scenario's site after the epoch.
@Suite struct DeadlineTests {
    static func scenario(site: String = "auxtel", epoch: String = "2026-01-05T14:00:00Z", deadline: String) -> String {
        """
        name: d
        procedure: schema-only
        site: \(site)
        epoch: \(epoch)
        parameters:
          warmup: 1 min
        study:
          trials: 5
          deadline: \(deadline)

        """
    }

    @Test func aDurationCountsFromTheStart() throws {
        let s = try parse(Self.scenario(deadline: "2 h"))
        #expect(s.study.deadline == .duration(7200))
        let limit = try #require(try s.deadlineLimit(epochUnixSeconds: s.epochUnixSeconds))
        #expect(limit.seconds == 7200 && !limit.fromEpoch)
    }

    /// `obsim sky twilight --site cerro-pachon --night 2026-01-05` prints sunset 2026-01-05T23:48:51.8Z and
    /// civil dusk 2026-01-06T00:16:07.8Z; from an epoch of 14:00 UTC those are 35,331.8 s and 36,967.8 s.
    @Test func anEventIsTheNextOneAfterTheEpochAtTheSite() throws {
        for (name, seconds) in [("sunset", 35_331.8), ("civil_dusk", 36_967.8), ("nautical_dusk", 38_951.8), ("astronomical_dusk", 41_069.1)] {
            let s = try parse(Self.scenario(deadline: name))
            #expect(s.study.deadline == .event(TwilightEvent(rawValue: name)!))
            let limit = try #require(try s.deadlineLimit(epochUnixSeconds: s.epochUnixSeconds))
            #expect(limit.fromEpoch)
            #expect(abs(limit.seconds - seconds) < 0.2, "\(name): \(limit.seconds) s")
        }
        // An epoch after that sunset gives the next evening's, a day later.
        let late = try parse(Self.scenario(epoch: "2026-01-06T02:00:00Z", deadline: "sunset"))
        let next = try #require(try late.deadlineLimit(epochUnixSeconds: late.epochUnixSeconds))
        #expect(next.seconds > 21 * 3600 && next.seconds < 22 * 3600)
    }

    @Test func badDeadlinesAreRejectedWithLineAndAllowedValues() {
        for bad in ["sunrise", "teatime", "2 kg", "-1 h", "[1 h]"] {
            let d = diagnostics(Self.scenario(deadline: bad))
            #expect(d.count == 1, "\(bad): \(d)")
            #expect(d.first?.path == "study.deadline" && d.first?.line == 9 && d.first?.file == "s.yaml", "\(bad): \(d)")
        }
        let message = diagnostics(Self.scenario(deadline: "teatime")).first?.message ?? ""
        #expect(message.contains("civil_dusk") && message.contains("astronomical_dusk") && message.contains("teatime"))
        // Polar night: no sunset within a day of the epoch at 80° S in June.
        let polar = diagnostics(Self.scenario(site: "{latitude: -80 deg, longitude: 0 deg, elevation: 0 m}", epoch: "2026-06-21T12:00:00Z", deadline: "sunset"))
        #expect(polar.first?.path == "study.deadline" && polar.first?.line == 9, "\(polar)")
    }

    @Test func theDeadlineIsPartOfTheContent() throws {
        #expect(try parse(Self.scenario(deadline: "2 h")).contentDigest != (try parse(Self.scenario(deadline: "3 h")).contentDigest))
    }
}
