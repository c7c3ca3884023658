import Foundation
import Testing
@testable import Observatory
import SimKernel

@Suite("Site climatology")
struct SiteClimatologyTests {
    /// Cerro Pachón's fractions are the CTIO §7 hours over the maximum: January 6.7/8.5 photometric and
    /// 7.7/8.5 usable, June 5.0/12.4 and 8.3/12.4; the austral summer (Dec–Feb) is clearer than the winter
    /// (Jun–Aug) in the table itself, by 0.81 against 0.44 photometric.
    @Test func pachonFromTheCTIOTable() throws {
        let c = try #require(SiteClimatology.named("auxtel"))
        #expect(c == SiteClimatology.cerroPachon)
        #expect(abs(c.photometric[0] - 6.7 / 8.5) < 1e-12 && abs(c.usable[0] - 7.7 / 8.5) < 1e-12)
        #expect(abs(c.photometric[5] - 5.0 / 12.4) < 1e-12 && abs(c.usable[5] - 8.3 / 12.4) < 1e-12)
        let summer = (c.photometric[11] + c.photometric[0] + c.photometric[1]) / 3
        let winter = (c.photometric[5] + c.photometric[6] + c.photometric[7]) / 3
        #expect(abs(summer - 0.81) < 0.005 && abs(winter - 0.44) < 0.005)
        for m in 0..<12 { #expect(c.usable[m] >= c.photometric[m]) }
    }

    /// Paranal: 88 % clear (Cavazzani et al. 2011) and 60 % cloud-free (Kerber et al. 2014) every month;
    /// Armazones takes Paranal's; an unknown site has none.
    @Test func paranalAndArmazones() throws {
        let p = try #require(SiteClimatology.named("paranal"))
        #expect(p.usable.allSatisfy { $0 == 0.88 } && p.photometric.allSatisfy { $0 == 0.60 })
        #expect(SiteClimatology.named("cerro-armazones")?.usable == p.usable)
        #expect(SiteClimatology.named("mauna-kea") == nil)
    }

    /// Drawn nights reproduce the fractions: 20 000 June nights at Pachón, fixed seed, 3 binomial errors.
    @Test func drawnNightsHaveTheMonthlyFractions() {
        let c = SiteClimatology.cerroPachon, stream = RandomStream(key: [0x434C494D, 6])
        let n = 20_000
        var photometric = 0, usable = 0
        for _ in 0..<n {
            switch c.night(month: 6, uniform: stream.uniform()) {
            case .photometric: photometric += 1; usable += 1
            case .thinCloud: usable += 1
            case .cloudy: break
            }
        }
        for (count, p) in [(photometric, c.photometric[5]), (usable, c.usable[5])] {
            let se = (p * (1 - p) / Double(n)).squareRoot()
            #expect(abs(Double(count) / Double(n) - p) < 3 * se)
        }
    }

    /// Civil month of UTC instants, including the ends of months and a leap day.
    @Test func utcMonth() {
        let cases: [(Double, Int)] = [(0, 1), (1_772_323_200, 3), (1_772_323_199, 2), (1_709_164_800, 2), (1_798_761_599, 12)]
        for (t, m) in cases { #expect(SiteClimatology.utcMonth(unixSeconds: t) == m, "\(t)") }
    }
}
