import Foundation
import Testing
@testable import Observatory

@Suite("Sky: airmass and twilight sky brightness")
struct SkyBrightnessTests {
    let model = TwilightSkyModel()

    /// Kasten & Young 1989: 1.9943 at z = 60° (evaluated by hand from the formula) and 37.92 at the horizon
    /// (the paper's value); sec z = 2 at z = 60°.
    @Test func airmassFormulas() throws {
        #expect(abs(try Airmass.airmass(altitudeDegrees: 30) - 1.99429) < 1e-4)
        #expect(abs(try Airmass.airmass(altitudeDegrees: 0) - 37.92) < 0.01)
        #expect(abs(try Airmass.airmass(altitudeDegrees: 30, formula: .planeParallel) - 2) < 1e-12)
        #expect(throws: SkyError.self) { try Airmass.airmass(altitudeDegrees: -1) }
    }

    /// The twilight-flat pointings (airmass 1, 2, 2.5; seed 002) invert exactly; airmass 1 is the zenith.
    @Test func altitudeForAirmass() throws {
        #expect(try Airmass.altitudeDegrees(forAirmass: 1) == 90)
        // Just above 1 the formula is honoured: X_KY = 1.001 lies 4.2° from the zenith.
        #expect(abs(try Airmass.airmass(altitudeDegrees: Airmass.altitudeDegrees(forAirmass: 1.001)) - 1.001) < 1e-9)
        for x in [1.2, 2, 2.5, 10] {
            let alt = try Airmass.altitudeDegrees(forAirmass: x)
            #expect(abs(try Airmass.airmass(altitudeDegrees: alt) - x) < 1e-9)
        }
        #expect(abs(try Airmass.altitudeDegrees(forAirmass: 2, formula: .planeParallel) - 30) < 1e-12)
        #expect(throws: SkyError.self) { try Airmass.altitudeDegrees(forAirmass: 40) }
    }

    /// At ζ = 100° (φ = 5) the twilight term is the fit, a0 + 5·a1 + 25·a2 (REFERENCES §1.1 table).
    @Test func fitValuesAtZeta100() throws {
        let table: [Band: Double] = [.U: 20.92, .B: 17.87, .V: 18.01, .R: 17.64, .I: 16.73]
        for (band, mu) in table {
            let c = try #require(model.fit[band])
            #expect(abs(try model.twilightMagnitude(band: band, sunZenithDegrees: 100) - (c.a0 + 5 * c.a1 + 25 * c.a2)) < 1e-12)
            #expect(abs(try model.twilightMagnitude(band: band, sunZenithDegrees: 100) - mu) < 0.006)
            // The floor is 2+ mag fainter here, so the total is brighter than the fit by −2.5 log10(1 + 10^(−0.4Δ)).
            let night = try #require(model.nightSky[band])
            let expected = -2.5 * log10(pow(10, -0.4 * (c.a0 + 5 * c.a1 + 25 * c.a2)) + pow(10, -0.4 * night))
            #expect(abs(try model.brightness(band: band, sunZenithDegrees: 100) - expected) < 1e-9)
        }
    }

    /// Deep into the night the total tends to the Patat 2003 floor (at ζ = 150° the extrapolated twilight
    /// term is ≥ 10 mag below it in every band, a ≤ 1e-4 mag contribution); past 105° the twilight term
    /// keeps fading (linear extrapolation), never brightening as the quadratic would.
    @Test func nightFloorLimitAndMonotonic() throws {
        for band in Band.johnsonCousins {
            let floor = try #require(model.nightSky[band])
            #expect(abs(try model.brightness(band: band, sunZenithDegrees: 150) - floor) < 1e-3)
            var previous = -Double.infinity
            for zeta in stride(from: 85.0, through: 125, by: 0.5) {
                let mu = try model.twilightMagnitude(band: band, sunZenithDegrees: zeta)
                #expect(mu >= previous)
                previous = mu
            }
        }
    }

    /// dμ/dt = (a1 + 2·a2·φ)·dζ/dt: with the Paranal equinox depression rate 15°/h·cos(24.63°) = 0.227°/min
    /// (REFERENCES §1.1, derived) V fades 0.34, 0.24, 0.19, 0.09 mag/min at ζ = 95, 99, 101, 105°.
    /// Tested on the twilight term (floor-free), then the total at 95° where the floor weight is 1 − 1e-4.
    @Test func fadingRate() throws {
        let rate = 15.0 / 60 * cos(24.6272 * .pi / 180)
        #expect(abs(rate - 0.227) < 0.0005)
        let c = try #require(model.fit[.V])
        for (zeta, rounded) in [(95.0, 0.34), (99, 0.24), (101, 0.19), (105, 0.09)] {
            let h = 1e-4
            let slope = (try model.twilightMagnitude(band: .V, sunZenithDegrees: zeta + (zeta == 105 ? -h : h))
                - model.twilightMagnitude(band: .V, sunZenithDegrees: zeta)) / (zeta == 105 ? -h : h)
            let formula = c.a1 + 2 * c.a2 * (zeta - 95)
            #expect(abs(slope - formula) < 1e-3)
            #expect(abs(formula * rate - rounded) <= 0.005 + 1e-9)
        }
        let total = try model.fadingRateMagPerMinute(band: .V, sunZenithDegrees: 95, zenithRateDegreesPerMinute: rate)
        let weight = 1 / (1 + pow(10, -0.4 * (21.6 - 11.84)))
        #expect(abs(total - c.a1 * rate * weight) < 1e-5)
    }

    /// Our SPA's Sun depression rate at Paranal on the 2026 March equinox at ζ = 95°, against the spherical
    /// formula dh/dt = −15°/h·cos φ·cos δ·sin H / cos h (δ ≈ 0 at the equinox: |δ| < 0.5° that evening, a
    /// < 0.01 % effect through cos δ and ≤ 0.4 % through H, so 1 % tolerance).
    @Test func depressionRateFromSunPosition() throws {
        let site = try Site.named("paranal")
        let finder = SunCrossingFinder()
        let start = UTCTime.utcSeconds(year: 2026, month: 3, day: 20, hour: 12) - site.localMeanTimeOffsetSeconds
        let t = try #require(try finder.crossing(site: site, altitudeDegrees: -5, direction: .setting, after: start))
        let rate = -finder.altitudeRateDegreesPerSecond(site: site, utcSeconds: t) * 60
        let phi = site.latitudeDegrees * .pi / 180, h = -5 * Double.pi / 180
        let sinH = (1 - pow(sin(h) / cos(phi), 2)).squareRoot()
        let expected = 15.0 / 60 * cos(phi) * sinH / cos(h)
        #expect(abs(rate / expected - 1) < 0.01, "SPA rate \(rate) °/min vs \(expected)")
    }

    /// SDSS mapping: g lies between B and V, so its photon radiance lies between theirs; z and y hold I's.
    @Test func sdssInterpolation() throws {
        for zeta in [95.0, 100, 104] {
            let b = try model.photonRadiance(band: .B, sunZenithDegrees: zeta).twilight
            let v = try model.photonRadiance(band: .V, sunZenithDegrees: zeta).twilight
            let g = try model.photonRadiance(band: .g, sunZenithDegrees: zeta).twilight
            #expect(g >= min(b, v) && g <= max(b, v))
            let i = try model.photonRadiance(band: .I, sunZenithDegrees: zeta)
            let z = try model.photonRadiance(band: .z, sunZenithDegrees: zeta)
            #expect(z.twilight == i.twilight && z.night == i.night)
        }
    }

    /// Electrons from magnitudes: F = N0·10^(−0.4μ)·Δλ·A·Ω·T·QE·X (REFERENCES §1.1 flux conversion),
    /// recomputed by hand for AuxTel in V at ζ = 100°, airmass 1 and 2.
    @Test func electronConversion() throws {
        let cam = SkyCamera.auxTelLATISS
        #expect(abs(cam.collectingAreaM2 - 1.0854) < 1e-3)
        #expect(abs(cam.pixelScaleArcsec - 0.0957) < 1e-4)
        let mu = try model.twilightMagnitude(band: .V, sunZenithDegrees: 100)
        // 363.1e-11 erg cm⁻² s⁻¹ Å⁻¹ at 545 nm = 996.2 photons cm⁻² s⁻¹ Å⁻¹ = 9.962e7 photons m⁻² s⁻¹ nm⁻¹.
        let n0 = try #require(Band.V.zeroPointPhotonsPerSecondPerM2PerNm)
        #expect(abs(n0 / 9.962e7 - 1) < 1e-3)
        let expected = n0 * pow(10, -0.4 * mu) * 88 * cam.collectingAreaM2 * pow(cam.pixelScaleArcsec, 2) * 0.62 * 0.88
        for x in [1.0, 2.0] {
            let r = try model.electronsPerSecondPerPixel(band: .V, sunAltitudeDegrees: -10, airmass: x, camera: cam)
            #expect(abs(r.twilight / (expected * x) - 1) < 1e-12)
            #expect(r.thermal == 0)
        }
        #expect(throws: SkyError.self) {
            try model.electronsPerSecondPerPixel(band: .lPrime, sunAltitudeDegrees: -10, airmass: 1, camera: cam)
        }
    }

    /// Planck photon radiance in L′ at 280.15 K against a midpoint-rule sum (1000 slices) of the same law.
    @Test func planckIntegral() throws {
        let t = 280.15
        let gsl = try TwilightSkyModel.planckPhotonRadiance(band: .lPrime, kelvin: t)
        let lo = 3430e-9, hi = 4130e-9, n = 1000
        var sum = 0.0
        for k in 0..<n {
            let l = lo + (Double(k) + 0.5) * (hi - lo) / Double(n)
            sum += 2 * 299_792_458 / pow(l, 4) / expm1(6.62607015e-34 * 299_792_458 / (l * 1.380649e-23 * t))
        }
        sum *= (hi - lo) / Double(n) / pow(180 * 3600 / Double.pi, 2)
        #expect(abs(gsl / sum - 1) < 1e-5)
    }

    /// Seed 002: METIS's background is dominated by the telescope's own emission. Default IMG-LM, L′,
    /// airmass 1, Sun at −5° (ζ = 95°, the bright end of the Patat fit, where a twilight-flat window
    /// opens): thermal > scattered sunlight. The margin is orders of magnitude, so the [U] emissivities
    /// are not tuned to pass; how the thermal total splits between telescope and sky rests only on [U]
    /// emissivities and is therefore reported (`obsim sky background`), not asserted.
    @Test func thermalDominatesInLPrime() throws {
        for band in [Band.lPrime, .mPrime] {
            let r = try model.electronsPerSecondPerPixel(band: band, sunAltitudeDegrees: -5, airmass: 1,
                                                         camera: .eltMETISImgLM)
            #expect(r.thermal > 100 * r.twilight, "\(band): thermal \(r.thermal), twilight \(r.twilight)")
        }
        let n = try model.electronsPerSecondPerPixel(band: .n, sunAltitudeDegrees: -5, airmass: 1, camera: .eltMETISImgN)
        #expect(n.thermal > 100 * n.twilight)
        // Roughly constant through twilight: from Sun −5° to −15° the total changes by < 1 %.
        let early = try model.electronsPerSecondPerPixel(band: .lPrime, sunAltitudeDegrees: -5, airmass: 1, camera: .eltMETISImgLM)
        let late = try model.electronsPerSecondPerPixel(band: .lPrime, sunAltitudeDegrees: -15, airmass: 1, camera: .eltMETISImgLM)
        #expect(abs(early.total / late.total - 1) < 0.01)
    }
}
