import CGSL
import Foundation

/// Sky signal in one band, electrons per second per pixel, split by origin so a study can see which
/// term dominates (the METIS twilight-flats document: the telescope's own emission in the thermal IR).
public struct SkyElectronRates: Sendable, Equatable {
    /// Scattered sunlight (optical: the Patat et al. 2006 fit above the dark sky; IR: its extrapolation).
    public let twilight: Double
    /// Dark-sky floor (Patat 2003, optical bands; zero in the thermal IR, where `thermalSky` plays that part).
    public let night: Double
    /// Thermal emission of the warm telescope optics.
    public let thermalTelescope: Double
    /// Thermal emission of the atmosphere along the line of sight.
    public let thermalSky: Double

    public var thermal: Double { thermalTelescope + thermalSky }
    public var total: Double { twilight + night + thermal }
}

/// Where a sky-brightness value comes from: inside the Patat et al. 2006 fits, or our extrapolation.
public enum SkyModelRegime: String, Sendable {
    /// 95° ≤ ζ ≤ 105°: the published fit.
    case fit
    /// 90° ≤ ζ < 95° (Sun between 0° and −5°): the fit's slope at 95° carried on, brighter [U].
    case extrapolatedBright = "extrapolated_bright"
    /// ζ < 90° (Sun up): held at the ζ = 90° value [U]; no twilight flat is taken there.
    case sunUp = "sun_up"
    /// ζ > 105°: the scattered part fades on from the fit's end onto the dark sky [U].
    case extrapolatedDark = "extrapolated_dark"
}

/// Twilight sky brightness as a function of the Sun's zenith distance ζ and of the pointing, per band;
/// and its conversion to detector electrons.
///
/// Optical: Patat, Ugolnikov & Postylyakov 2006 (A&A 455, 385) second-order fits for UBVRI at Paranal,
/// μ(φ) = a0 + a1·φ + a2·φ², φ = ζ − 95°, valid 95° ≤ ζ ≤ 105° (coefficients: docs/REFERENCES-physics.md §1).
/// The fits are of the *observed* zenith sky (the paper's Fig. 8: "second order polynomials fitted to the
/// observed data"; the FORS1 frames hold the night sky too), so inside the fit range the total is the fit
/// itself and the scattered-sunlight term is what the fit holds above the Patat 2003 dark sky:
/// S = max(F_fit − F_night, 0). Adding the dark sky to the fit would count it twice (0.62 mag too bright
/// in V at ζ = 105°). Outside the range [U] our choice, continuous and monotonic (`SkyModelRegime`):
///   - ζ > 105°: S fades on with the logarithmic slope it has at 105° (the total's slope a1 + 20·a2 times
///     F/S, so the total is smooth there) and the total tends to the dark sky. U is the exception: its fit
///     falls below the U dark sky (22.3) at ζ ≈ 101.5°, after which U is the dark sky alone.
///   - 90° ≤ ζ < 95°: linear with the slope at 95° (a1), brighter; ζ < 90° (Sun up): held at the ζ = 90° value.
/// SDSS g r i z y: the photon spectral radiance of each UBVRI term is interpolated log-linearly in
/// wavelength between the two Johnson–Cousins bands that bracket the band's effective wavelength;
/// beyond I (z, y) it is held at I's value (nearest band) [U]. Their magnitudes are AB.
/// Away from the zenith (`directionFactor`): every atmospheric term scales with the airmass X (optically
/// thin sky) [U], and the scattered sunlight in addition by exp(β·z·cos Δaz), Δaz the azimuth from the Sun,
/// β = tan(`nullPointOffsetDegrees`): the brightness then has its minimum (the null point of Chromey &
/// Hasselbacher 1996, PASP 108, 944, "close to the zenith") on the anti-solar side at zenith distance
/// `nullPointOffsetDegrees`, and relative gradients of a few % per degree at airmass 2–2.5 (their "up to
/// several percent per degree"). The telescope's emission does not depend on the pointing.
public struct TwilightSkyModel: Sendable {
    /// Patat et al. 2006 fit coefficients (a0, a1, a2).
    public var fit: [Band: (a0: Double, a1: Double, a2: Double)]
    /// Dark-sky zenith brightness, mag arcsec⁻² (Patat 2003, A&A 400, 1183, abstract).
    public var nightSky: [Band: Double]
    /// Scattered sunlight in the thermal IR: photon spectral radiance of the I-band twilight term times
    /// `infraredScatterScale`·(λ/λ_I)^(−`infraredScatterSpectralIndex`). Index 4 [U]: a solar photon
    /// spectrum ∝ λ^−3 (Rayleigh–Jeans) scattered by aerosols ∝ λ^−1; no L/M/N twilight photometry exists.
    public var infraredScatterSpectralIndex: Double
    public var infraredScatterScale: Double
    /// Zenith distance of the brightness minimum on the anti-solar meridian, degrees. [U] 13°: the value
    /// quoted for Chromey & Hasselbacher 1996, whose abstract says only "close to the zenith".
    public var nullPointOffsetDegrees: Double

    public static let fitRangeZenithDegrees: ClosedRange<Double> = 95...105

    public init(infraredScatterSpectralIndex: Double = 4, infraredScatterScale: Double = 1,
                nullPointOffsetDegrees: Double = 13) {
        fit = [.U: (15.01, 1.376, -0.039), .B: (11.84, 1.411, -0.041), .V: (11.84, 1.518, -0.057),
               .R: (11.40, 1.567, -0.064), .I: (10.93, 1.470, -0.062)]
        nightSky = [.U: 22.3, .B: 22.6, .V: 21.6, .R: 20.9, .I: 19.7]
        self.infraredScatterSpectralIndex = infraredScatterSpectralIndex
        self.infraredScatterScale = infraredScatterScale
        self.nullPointOffsetDegrees = nullPointOffsetDegrees
    }

    /// Which part of the model answers for the Sun at zenith distance `zeta`.
    public static func regime(sunZenithDegrees zeta: Double) -> SkyModelRegime {
        if zeta < 90 { return .sunUp }
        if zeta < fitRangeZenithDegrees.lowerBound { return .extrapolatedBright }
        if zeta > fitRangeZenithDegrees.upperBound { return .extrapolatedDark }
        return .fit
    }

    // MARK: Magnitudes (optical bands)

    /// The Patat 2006 polynomial (observed total at the zenith), mag arcsec⁻², with the bright-side
    /// extrapolation; past 105° the quadratic itself (it turns over near 108°), only used up to 105° here.
    public func fitMagnitude(band: Band, sunZenithDegrees zeta: Double) throws(SkyError) -> Double {
        guard let c = fit[band] else {
            throw .invalid(field: "band", value: band.rawValue, allowed: Band.johnsonCousins.map(\.rawValue).joined(separator: ", "))
        }
        let z = max(zeta, 90)
        if z < 95 { return c.a0 + c.a1 * (z - 95) }
        let phi = z - 95
        return c.a0 + c.a1 * phi + c.a2 * phi * phi
    }

    /// Scattered sunlight alone at the zenith, mag arcsec⁻² (+∞ once it is gone), Johnson–Cousins band.
    public func twilightMagnitude(band: Band, sunZenithDegrees zeta: Double) throws(SkyError) -> Double {
        let s = try zenithFluxes(band: band, sunZenithDegrees: zeta).twilight
        return s > 0 ? -2.5 * log10(s) : .infinity
    }

    /// Zenith surface brightness, twilight and dark sky together, mag arcsec⁻² (Vega for UBVRI, AB for SDSS).
    public func brightness(band: Band, sunZenithDegrees zeta: Double) throws(SkyError) -> Double {
        let (tw, night) = try photonRadiance(band: band, sunZenithDegrees: zeta)
        return -2.5 * log10((tw + night) / zeroPoint(band))
    }

    /// Fading (evening) rate of `brightness`, mag per minute, for a Sun zenith-distance rate in degrees
    /// per minute (central difference of `brightness`, ±0.001°).
    public func fadingRateMagPerMinute(band: Band, sunZenithDegrees zeta: Double,
                                       zenithRateDegreesPerMinute: Double) throws(SkyError) -> Double {
        let h = 1e-3
        let up = try brightness(band: band, sunZenithDegrees: zeta + h)
        let down = try brightness(band: band, sunZenithDegrees: zeta - h)
        return (up - down) / (2 * h) * zenithRateDegreesPerMinute
    }

    /// Scattered and dark-sky zenith fluxes in units of the band's zero point (10^(−0.4 μ)).
    private func zenithFluxes(band: Band, sunZenithDegrees zeta: Double) throws(SkyError) -> (twilight: Double, night: Double) {
        guard let c = fit[band], let nightMag = nightSky[band] else {
            throw .invalid(field: "band", value: band.rawValue, allowed: Band.johnsonCousins.map(\.rawValue).joined(separator: ", "))
        }
        let night = pow(10, -0.4 * nightMag)
        let end = Self.fitRangeZenithDegrees.upperBound
        guard zeta > end else {
            return (max(pow(10, -0.4 * (try fitMagnitude(band: band, sunZenithDegrees: zeta))) - night, 0), night)
        }
        let totalEnd = pow(10, -0.4 * (try fitMagnitude(band: band, sunZenithDegrees: end)))
        let scatteredEnd = totalEnd - night
        guard scatteredEnd > 0 else { return (0, night) }
        // d ln S/dζ = (F/S)·d ln F/dζ at the fit's end, in mag per degree.
        let slope = (c.a1 + 20 * c.a2) * totalEnd / scatteredEnd
        return (scatteredEnd * pow(10, -0.4 * slope * (zeta - end)), night)
    }

    /// Photon spectral radiance at the zenith, photons s⁻¹ m⁻² nm⁻¹ arcsec⁻², of the twilight and night terms.
    public func photonRadiance(band: Band, sunZenithDegrees zeta: Double) throws(SkyError) -> (twilight: Double, night: Double) {
        switch band.system {
        case .vega:
            let zp = zeroPoint(band)
            let f = try zenithFluxes(band: band, sunZenithDegrees: zeta)
            return (zp * f.twilight, zp * f.night)
        case .ab:
            let jc = Band.johnsonCousins
            let lambda = band.centralWavelengthNm
            var tw: [Double] = [], night: [Double] = []
            tw.reserveCapacity(jc.count); night.reserveCapacity(jc.count)
            for b in jc {
                let r = try photonRadiance(band: b, sunZenithDegrees: zeta)
                tw.append(r.twilight); night.append(r.night)
            }
            guard let upper = jc.firstIndex(where: { $0.centralWavelengthNm >= lambda }) else {
                return (tw[jc.count - 1], night[jc.count - 1])
            }
            if upper == 0 { return (tw[0], night[0]) }
            let l0 = jc[upper - 1].centralWavelengthNm, l1 = jc[upper].centralWavelengthNm
            let f = (lambda - l0) / (l1 - l0)
            // A term that has faded to zero in one band interpolates to zero.
            func logInterp(_ a: Double, _ b: Double) -> Double { a > 0 && b > 0 ? exp(log(a) * (1 - f) + log(b) * f) : 0 }
            return (logInterp(tw[upper - 1], tw[upper]), logInterp(night[upper - 1], night[upper]))
        case .thermalInfrared:
            let iBand = try photonRadiance(band: .I, sunZenithDegrees: zeta)
            let ratio = band.centralWavelengthNm / Band.I.centralWavelengthNm
            return (iBand.twilight * infraredScatterScale * pow(ratio, -infraredScatterSpectralIndex), 0)
        }
    }

    // MARK: Direction

    /// Zenith distance, degrees, of a pointing at `airmass` (Kasten & Young; airmass ≤ 1 is the zenith).
    static func zenithDistanceDegrees(airmass: Double) throws(SkyError) -> Double {
        airmass <= 1 ? 0 : 90 - (try Airmass.altitudeDegrees(forAirmass: airmass))
    }

    /// Scattered-sunlight brightness at a pointing relative to the zenith: X·exp(β·z·cos Δaz).
    public func directionFactor(airmass: Double, azimuthFromSunDegrees: Double) throws(SkyError) -> Double {
        let z = try Self.zenithDistanceDegrees(airmass: airmass) * .pi / 180
        let beta = tan(nullPointOffsetDegrees * .pi / 180)
        return airmass * exp(beta * z * cos(azimuthFromSunDegrees * .pi / 180))
    }

    /// Relative gradient of the sky brightness at a pointing, fraction per degree on the sky: `altitude`
    /// along increasing zenith distance (towards the horizon), `azimuth` along increasing azimuth. Each
    /// atmospheric term contributes d ln X/dz (≈ tan z for the plane-parallel part), the scattered sunlight
    /// in addition β·cos Δaz along z and −β·z·sin Δaz / sin z across; weighted by their shares of `rates`.
    public func gradientPerDegree(airmass: Double, azimuthFromSunDegrees: Double,
                                  rates: SkyElectronRates) throws(SkyError) -> (altitude: Double, azimuth: Double) {
        let zDeg = try Self.zenithDistanceDegrees(airmass: airmass)
        // d ln X/dz by a central difference of Kasten & Young (tan z at small z), per degree.
        let h = 0.01
        func lnX(_ zd: Double) throws(SkyError) -> Double { log(try Airmass.airmass(altitudeDegrees: 90 - min(max(zd, 0), 89))) }
        let dlnX = zDeg < h ? (try lnX(zDeg + h) - lnX(zDeg)) / h : (try lnX(zDeg + h) - lnX(zDeg - h)) / (2 * h)
        let total = rates.total
        guard total > 0 else { return (0, 0) }
        let atmosphere = (rates.twilight + rates.night + rates.thermalSky) / total
        let scattered = rates.twilight / total
        let beta = tan(nullPointOffsetDegrees * .pi / 180)
        let dAz = azimuthFromSunDegrees * .pi / 180, z = zDeg * .pi / 180
        let alongZ = atmosphere * dlnX + scattered * beta * cos(dAz) * .pi / 180
        let across = z < 1e-6 ? 0 : -scattered * beta * z * sin(dAz) / sin(z) * .pi / 180
        return (alongZ, across)
    }

    private func zeroPoint(_ band: Band) -> Double { band.zeroPointPhotonsPerSecondPerM2PerNm ?? .nan }

    // MARK: Electrons

    /// Electrons s⁻¹ px⁻¹ for a pointing at `airmass` with the Sun at `sunAltitudeDegrees` (geometric).
    /// `azimuthFromSunDegrees` 180 is the anti-solar side, where twilight flats are pointed.
    public func electronsPerSecondPerPixel(band: Band, sunAltitudeDegrees: Double, airmass: Double,
                                           azimuthFromSunDegrees: Double = 180,
                                           camera: SkyCamera) throws(SkyError) -> SkyElectronRates {
        guard let throughput = camera.throughput[band], let qe = camera.quantumEfficiency[band] else {
            throw .invalid(field: "band", value: band.rawValue,
                           allowed: "\(camera.bands.map(\.rawValue).joined(separator: ", ")) for \(camera.name)")
        }
        guard airmass.isFinite, airmass >= 0.99 else {
            throw .invalid(field: "airmass", value: "\(airmass)", allowed: "≥ 1")
        }
        // photons s⁻¹ m⁻² nm⁻¹ arcsec⁻² → e⁻ s⁻¹ px⁻¹
        let etendue = band.widthNm * camera.collectingAreaM2 * camera.pixelSolidAngleArcsec2 * throughput * qe
        let r = try photonRadiance(band: band, sunZenithDegrees: 90 - sunAltitudeDegrees)
        var thermalTelescope = 0.0, thermalSky = 0.0
        if band.system == .thermalInfrared {
            let blackbody = try Self.planckPhotonRadiance(band: band, kelvin: camera.ambientKelvin)
            let perPixel = blackbody * camera.collectingAreaM2 * camera.pixelSolidAngleArcsec2 * throughput * qe
            thermalTelescope = camera.telescopeEmissivity * perPixel
            thermalSky = (camera.skyEmissivity[band] ?? 0) * airmass * perPixel
        }
        let direction = try directionFactor(airmass: airmass, azimuthFromSunDegrees: azimuthFromSunDegrees)
        return SkyElectronRates(twilight: r.twilight * etendue * direction, night: r.night * etendue * airmass,
                                thermalTelescope: thermalTelescope, thermalSky: thermalSky)
    }

    /// Blackbody photon radiance integrated over the band's top hat, photons s⁻¹ m⁻² arcsec⁻²:
    /// ∫ 2c/λ⁴ / (exp(hc/λkT) − 1) dλ (Planck), GSL QNG quadrature.
    public static func planckPhotonRadiance(band: Band, kelvin: Double) throws(SkyError) -> Double {
        guard kelvin.isFinite, kelvin > 0 else { throw .invalid(field: "temperature", value: "\(kelvin)", allowed: "> 0 K") }
        var t = kelvin
        let lo = (band.centralWavelengthNm - band.widthNm / 2) * 1e-9
        let hi = (band.centralWavelengthNm + band.widthNm / 2) * 1e-9
        var result = 0.0, error = 0.0
        var evaluations = 0
        let status = withUnsafeMutablePointer(to: &t) { ptr -> Int32 in
            var function = gsl_function(
                function: { lambda, params in
                    let temperature = params!.assumingMemoryBound(to: Double.self).pointee
                    let x = PhysicalConstants.h * PhysicalConstants.c / (lambda * PhysicalConstants.k * temperature)
                    return 2 * PhysicalConstants.c / pow(lambda, 4) / gsl_expm1(x)
                },
                params: UnsafeMutableRawPointer(ptr))
            return gsl_integration_qng(&function, lo, hi, 0, 1e-9, &result, &error, &evaluations)
        }
        guard status == GSL_SUCCESS else { throw .numerical("gsl_integration_qng status \(status) for \(band.rawValue)") }
        return result / PhysicalConstants.arcsec2PerSteradian
    }
}
