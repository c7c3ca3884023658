import CGSL
import Foundation

/// Sky signal in one band, electrons per second per pixel, split by origin so a study can see which
/// term dominates (the METIS twilight-flats document: the telescope's own emission in the thermal IR).
public struct SkyElectronRates: Sendable, Equatable {
    /// Scattered sunlight (optical: the Patat et al. 2006 twilight term; IR: its extrapolation).
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

/// Twilight sky brightness at the zenith as a function of the Sun's zenith distance ζ, with the
/// dark-sky floor, per band; and its conversion to detector electrons.
///
/// Optical: Patat, Ugolnikov & Postylyakov 2006 (A&A 455, 385) second-order fits for UBVRI at Paranal,
/// μ(φ) = a0 + a1·φ + a2·φ², φ = ζ − 95°, valid 95° ≤ ζ ≤ 105° (coefficients: REFERENCES §1.1 [S]).
/// Outside the fit range [U] our choice, continuous and monotonic:
///   - ζ > 105°: linear with the fit's slope at 105° (a1 + 20·a2); the quadratic itself would turn over
///     and brighten again past ζ ≈ 108°. The night floor takes over there anyway.
///   - 90° ≤ ζ < 95°: linear with the slope at 95° (a1), brighter; ζ < 90° (Sun up): held at the ζ = 90° value.
/// Night floor: Patat 2003 (A&A 400, 1183) Paranal zenith dark sky; μ_total = −2.5 log10(10^(−0.4 μ_tw) + 10^(−0.4 μ_night)).
/// SDSS g r i z y: the photon spectral radiance of each UBVRI term is interpolated log-linearly in
/// wavelength between the two Johnson–Cousins bands that bracket the band's effective wavelength;
/// beyond I (z, y) it is held at I's value (nearest band) [U]. Their magnitudes are AB.
/// Airmass: twilight, night and sky-thermal terms scale linearly with airmass (optically thin sky) [U];
/// the telescope's emission does not.
public struct TwilightSkyModel: Sendable {
    /// Patat et al. 2006 fit coefficients (a0, a1, a2), REFERENCES §1.1.
    public var fit: [Band: (a0: Double, a1: Double, a2: Double)]
    /// Dark-sky zenith brightness, mag arcsec⁻² (Patat 2003, REFERENCES §1.1).
    public var nightSky: [Band: Double]
    /// Scattered sunlight in the thermal IR: photon spectral radiance of the I-band twilight term times
    /// `infraredScatterScale`·(λ/λ_I)^(−`infraredScatterSpectralIndex`). Index 4 [U]: a solar photon
    /// spectrum ∝ λ^−3 (Rayleigh–Jeans) scattered by aerosols ∝ λ^−1; no L/M/N twilight photometry exists
    /// (REFERENCES §1.4).
    public var infraredScatterSpectralIndex: Double
    public var infraredScatterScale: Double

    public init(infraredScatterSpectralIndex: Double = 4, infraredScatterScale: Double = 1) {
        fit = [.U: (15.01, 1.376, -0.039), .B: (11.84, 1.411, -0.041), .V: (11.84, 1.518, -0.057),
               .R: (11.40, 1.567, -0.064), .I: (10.93, 1.470, -0.062)]
        nightSky = [.U: 22.3, .B: 22.6, .V: 21.6, .R: 20.9, .I: 19.7]
        self.infraredScatterSpectralIndex = infraredScatterSpectralIndex
        self.infraredScatterScale = infraredScatterScale
    }

    // MARK: Magnitudes (optical bands)

    /// Twilight term alone, mag arcsec⁻², for a Johnson–Cousins band.
    public func twilightMagnitude(band: Band, sunZenithDegrees zeta: Double) throws(SkyError) -> Double {
        guard let c = fit[band] else {
            throw .invalid(field: "band", value: band.rawValue, allowed: Band.johnsonCousins.map(\.rawValue).joined(separator: ", "))
        }
        let z = max(zeta, 90)
        if z > 105 { return c.a0 + c.a1 * 10 + c.a2 * 100 + (c.a1 + 20 * c.a2) * (z - 105) }
        if z < 95 { return c.a0 + c.a1 * (z - 95) }
        let phi = z - 95
        return c.a0 + c.a1 * phi + c.a2 * phi * phi
    }

    /// Zenith surface brightness including the dark-sky floor, mag arcsec⁻² (Vega for UBVRI, AB for SDSS).
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

    /// Photon spectral radiance at the zenith, photons s⁻¹ m⁻² nm⁻¹ arcsec⁻², of the twilight and night terms.
    public func photonRadiance(band: Band, sunZenithDegrees zeta: Double) throws(SkyError) -> (twilight: Double, night: Double) {
        switch band.system {
        case .vega:
            let zp = zeroPoint(band)
            return (zp * pow(10, -0.4 * (try twilightMagnitude(band: band, sunZenithDegrees: zeta))),
                    zp * pow(10, -0.4 * (nightSky[band] ?? .infinity)))
        case .ab:
            let jc = Band.johnsonCousins
            let lambda = band.centralWavelengthNm
            var tw: [Double] = [], night: [Double] = []
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
            func logInterp(_ a: Double, _ b: Double) -> Double { exp(log(a) * (1 - f) + log(b) * f) }
            return (logInterp(tw[upper - 1], tw[upper]), logInterp(night[upper - 1], night[upper]))
        case .thermalInfrared:
            let iBand = try photonRadiance(band: .I, sunZenithDegrees: zeta)
            let ratio = band.centralWavelengthNm / Band.I.centralWavelengthNm
            return (iBand.twilight * infraredScatterScale * pow(ratio, -infraredScatterSpectralIndex), 0)
        }
    }

    private func zeroPoint(_ band: Band) -> Double { band.zeroPointPhotonsPerSecondPerM2PerNm ?? .nan }

    // MARK: Electrons

    /// Electrons s⁻¹ px⁻¹ for a pointing at `airmass` with the Sun at `sunAltitudeDegrees` (geometric).
    public func electronsPerSecondPerPixel(band: Band, sunAltitudeDegrees: Double, airmass: Double,
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
        return SkyElectronRates(twilight: r.twilight * etendue * airmass, night: r.night * etendue * airmass,
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
