import CGSL

/// Blackbody photon radiance (Planck's law in photon units) and its band integrals, by GSL quadrature.
///
/// B_λ(T) = 2c / λ⁴ · 1 / (exp(hc/λkT) − 1)  [photons s⁻¹ m⁻² sr⁻¹ per metre of wavelength]
/// (e.g. Rybicki & Lightman 1979, eq. 1.51, divided by the photon energy hc/λ). CODATA 2018 exact
/// constants. The integral over all wavelengths times π is the photon exitance
/// 4πζ(3)k³T³/(h³c²) = 1.5205×10¹⁵ T³ photons s⁻¹ m⁻², the check used in the tests.
public enum Planck {
    public static let h = 6.626_070_15e-34        // J s (exact, SI 2019)
    public static let c = 299_792_458.0           // m s⁻¹ (exact)
    public static let k = 1.380_649e-23           // J K⁻¹ (exact, SI 2019)
    /// hc/k in µm·K (second radiation constant c₂).
    public static let c2MicronKelvin = h * c / k * 1e6

    /// Photon spectral radiance at `wavelengthMicrons`, in photons s⁻¹ m⁻² sr⁻¹ µm⁻¹.
    public static func photonRadiance(wavelengthMicrons lam: Double, kelvin t: Double) -> Double {
        guard lam > 0, t > 0 else { return 0 }
        let x = c2MicronKelvin / (lam * t)
        if x > 700 { return 0 }                     // exp overflow; the radiance is < 10⁻³⁰⁰ of its peak
        // 2c/λ⁴ with λ in m, per m of wavelength → × 1e-6 per µm: 2c·1e24/λµ⁴·1e-6.
        return 2 * c * 1e18 / (lam * lam * lam * lam) / gsl_sf_expm1(x)
    }

    /// ∫ B_λ dλ over [`fromMicrons`, `toMicrons`] (photons s⁻¹ m⁻² sr⁻¹), adaptive Gauss–Kronrod (QAGS)
    /// to a relative error of 10⁻¹⁰.
    public static func bandPhotonRadiance(fromMicrons a: Double, toMicrons b: Double, kelvin t: Double) -> Double {
        guard b > a, t > 0 else { return 0 }
        return integrate(kelvin: t) { f, w, result, err in
            gsl_integration_qags(f, a, b, 0, 1e-10, 1000, w, result, err)
        }
    }

    /// ∫₀^∞ B_λ dλ (photons s⁻¹ m⁻² sr⁻¹), QAGIU on [λ₀, ∞) with λ₀ = c₂/(700 T) below which the integrand
    /// underflows to zero.
    public static func totalPhotonRadiance(kelvin t: Double) -> Double {
        guard t > 0 else { return 0 }
        let start = c2MicronKelvin / (700 * t)
        return integrate(kelvin: t) { f, w, result, err in
            gsl_integration_qagiu(f, start, 0, 1e-10, 1000, w, result, err)
        }
    }

    private static func integrate(kelvin t: Double,
                                  _ rule: (UnsafeMutablePointer<gsl_function>, UnsafeMutablePointer<gsl_integration_workspace>,
                                           UnsafeMutablePointer<Double>, UnsafeMutablePointer<Double>) -> Int32) -> Double {
        guard let w = gsl_integration_workspace_alloc(1000) else { return .nan }
        defer { gsl_integration_workspace_free(w) }
        var temperature = t
        var result = 0.0, error = 0.0
        let status = withUnsafeMutablePointer(to: &temperature) { tp -> Int32 in
            var f = gsl_function(function: { lam, p in
                Planck.photonRadiance(wavelengthMicrons: lam, kelvin: p!.load(as: Double.self))
            }, params: UnsafeMutableRawPointer(tp))
            return rule(&f, w, &result, &error)
        }
        // GSL_EROUND etc. still leave the best estimate; only a failed setup gives NaN.
        return status == GSL_SUCCESS || status == GSL_EROUND ? result : (result.isFinite ? result : .nan)
    }
}
