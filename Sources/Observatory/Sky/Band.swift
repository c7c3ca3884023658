import Foundation

/// Photometric bands of the sky model. Wavelengths and widths in nanometres; a band is modelled as a
/// top hat of that width around its centre (enough for sky rates; a filter curve is [U] here).
public enum Band: String, Sendable, CaseIterable {
    /// Johnson–Cousins, the bands of the Patat et al. 2006 twilight fits (Vega system).
    case U, B, V, R, I
    /// LATISS SDSS-type filters (AB system).
    case g = "SDSSg", r = "SDSSr", i = "SDSSi", z = "SDSSz", y = "SDSSy"
    /// METIS thermal-infrared imaging bands.
    case lPrime = "Lp", mPrime = "Mp", n = "N"

    public enum System: Sendable { case vega, ab, thermalInfrared }

    public var system: System {
        switch self {
        case .U, .B, .V, .R, .I: return .vega
        case .g, .r, .i, .z, .y: return .ab
        case .lPrime, .mPrime, .n: return .thermalInfrared
        }
    }

    /// Effective wavelength, nm. UBVRI: Bessell, Castelli & Plez 1998 (A&A 333, 231) Table A2 [S].
    /// g r i z: SDSS effective wavelengths (Fukugita et al. 1996, AJ 111, 1748) [S]. y: Rubin y band,
    /// ≈970 nm [U]. L′ 3.78 µm, M′ 4.68 µm (MKO, Tokunaga & Vacca 2005, PASP 117, 421) [S]; N 10.65 µm,
    /// the centre of the 8–13.3 µm atmospheric window [U].
    public var centralWavelengthNm: Double {
        switch self {
        case .U: return 366
        case .B: return 438
        case .V: return 545
        case .R: return 641
        case .I: return 798
        case .g: return 477
        case .r: return 623
        case .i: return 763
        case .z: return 913
        case .y: return 970
        case .lPrime: return 3780
        case .mPrime: return 4680
        case .n: return 10_650
        }
    }

    /// Band width (FWHM), nm. UBVRI: Binney & Merrifield 1998 Table 2.1 (after Bessell 1990) [S];
    /// g r i z: Fukugita et al. 1996 [S]; y [U]; L′ 0.70 µm, M′ 0.22 µm (MKO, Tokunaga, Simons & Vacca 2002, PASP 114, 180) [S];
    /// N 5.3 µm, the whole 8–13.3 µm window [U].
    public var widthNm: Double {
        switch self {
        case .U: return 66
        case .B: return 94
        case .V: return 88
        case .R: return 138
        case .I: return 149
        case .g: return 137
        case .r: return 137
        case .i: return 153
        case .z: return 95
        case .y: return 130
        case .lPrime: return 700
        case .mPrime: return 220
        case .n: return 5300
        }
    }

    /// Photon spectral flux density of a zero-magnitude source at the effective wavelength,
    /// photons s⁻¹ m⁻² nm⁻¹. Vega bands from Bessell et al. 1998 Table A2 f_λ zero points [S]
    /// (V: 363.1e-11 erg cm⁻² s⁻¹ Å⁻¹ → 996 photons cm⁻² s⁻¹ Å⁻¹); AB bands from f_ν = 3631 Jy
    /// (Oke & Gunn 1983; Fukugita et al. 1996). Not defined for the thermal-infrared bands.
    public var zeroPointPhotonsPerSecondPerM2PerNm: Double? {
        let lambdaM = centralWavelengthNm * 1e-9
        switch system {
        case .vega:
            let fLambdaCGS: Double   // erg cm⁻² s⁻¹ Å⁻¹
            switch self {
            case .U: fLambdaCGS = 417.5e-11
            case .B: fLambdaCGS = 632e-11
            case .V: fLambdaCGS = 363.1e-11
            case .R: fLambdaCGS = 217.7e-11
            default: fLambdaCGS = 112.6e-11
            }
            // 1 erg cm⁻² s⁻¹ Å⁻¹ = 1e7 W m⁻² m⁻¹; photons = energy·λ/(hc); per nm = per m × 1e-9.
            return fLambdaCGS * 1e7 * lambdaM / (PhysicalConstants.h * PhysicalConstants.c) * 1e-9
        case .ab:
            // N_λ = f_ν / (h λ) photons s⁻¹ m⁻² m⁻¹.
            return 3631e-26 / (PhysicalConstants.h * lambdaM) * 1e-9
        case .thermalInfrared:
            return nil
        }
    }

    public static let johnsonCousins: [Band] = [.U, .B, .V, .R, .I]
}

/// CODATA 2018 / SI 2019 exact values.
enum PhysicalConstants {
    static let h = 6.626_070_15e-34     // J s
    static let c = 299_792_458.0        // m s⁻¹
    static let k = 1.380_649e-23        // J K⁻¹
    /// Square arcseconds per steradian: (180·3600/π)².
    static let arcsec2PerSteradian = pow(180 * 3600 / Double.pi, 2)
}
