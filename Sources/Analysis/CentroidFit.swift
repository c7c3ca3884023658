import CGSL

/// Centroid of a point source by a weighted least-squares fit of a pixel-integrated Gaussian PSF of known
/// width plus a constant background: the model of pixel (i, j) is
/// F·[Φ((i+1−x)/σ) − Φ((i−x)/σ)]·[Φ((j+1−y)/σ) − Φ((j−y)/σ)] + B, fitted for (F, x, y, B) by Gauss–Newton
/// steps, each a weighted linear least-squares solve (`gsl_multifit_wlinear`) with weights 1/variance from
/// the current model (photon noise) plus a fixed per-pixel variance (read noise, subtracted background),
/// floored at 1 e⁻² so that empty wings (a Poisson mean ≪ 1) do not get unbounded weights.
/// With weights from the model this is the Gaussian approximation of the maximum-likelihood fit, whose
/// precision reaches the photon limit σ_PSF/√N (REFERENCES.md §6); a first moment does not once there is
/// background in the window.
///
/// Coordinates are the detector's continuous pixel coordinates (pixel (i, j) covers [i, i+1) × [j, j+1)),
/// the same as `PointSource` renders.
public enum GaussianCentroid {
    public struct Result: Sendable, Equatable {
        public var x: Double
        public var y: Double
        /// Source electrons (the fitted F).
        public var flux: Double
        /// Background electrons per pixel.
        public var background: Double
        /// 1σ errors of x and y from the fit's covariance (pixels).
        public var xErrorPixels: Double
        public var yErrorPixels: Double
        public var iterations: Int
    }

    public enum Failure: Error, Sendable, Equatable, CustomStringConvertible {
        case windowOutsideImage
        case noFlux
        case singular(status: Int32)
        case noConvergence

        public var description: String {
            switch self {
            case .windowOutsideImage: return "the fit window does not overlap the image"
            case .noFlux: return "the window holds no positive flux"
            case .singular(let s): return "the least-squares step failed (GSL status \(s))"
            case .noConvergence: return "the centroid fit did not converge"
            }
        }
    }

    /// Fits the source near (`x`, `y`) in `image`, whose pixel (0, 0) is detector pixel (`originX`,
    /// `originY`). `electronsPerUnit` converts the image's values to electrons (the gain, for ADU);
    /// `extraVarianceElectrons` is the per-pixel variance not proportional to the model (read noise², the
    /// noise of a subtracted background frame).
    public static func fit(_ image: Image, originX: Int = 0, originY: Int = 0, x: Double, y: Double, halfWidth: Int,
                           sigmaPixels: Double, electronsPerUnit: Double = 1,
                           extraVarianceElectrons: Double = 0) throws(Failure) -> Result {
        precondition(sigmaPixels > 0 && halfWidth >= 1 && electronsPerUnit > 0, "a Gaussian fit needs σ > 0 and a window")
        let ix = Int(x.rounded(.down)) - originX, iy = Int(y.rounded(.down)) - originY
        let i0 = max(0, ix - halfWidth), i1 = min(image.width, ix + halfWidth + 1)
        let j0 = max(0, iy - halfWidth), j1 = min(image.height, iy + halfWidth + 1)
        guard i1 - i0 >= 3, j1 - j0 >= 3 else { throw .windowOutsideImage }
        let nx = i1 - i0, ny = j1 - j0, n = nx * ny
        var data = [Double](repeating: 0, count: n)
        for j in 0..<ny { for i in 0..<nx { data[j * nx + i] = image[i0 + i, j0 + j] * electronsPerUnit } }

        // Start: the border median as background, the summed excess as flux, the caller's position.
        var border: [Double] = []
        for j in 0..<ny { for i in 0..<nx where i == 0 || j == 0 || i == nx - 1 || j == ny - 1 { border.append(data[j * nx + i]) } }
        border.sort()
        var b = border.withUnsafeBufferPointer { gsl_stats_median_from_sorted_data($0.baseAddress, 1, $0.count) }
        var f = data.reduce(0) { $0 + ($1 - b) }
        guard f > 0 else { throw .noFlux }
        var cx = x, cy = y

        let X = gsl_matrix_alloc(n, 4)!, w = gsl_vector_alloc(n)!, r = gsl_vector_alloc(n)!
        let c = gsl_vector_alloc(4)!, cov = gsl_matrix_alloc(4, 4)!, work = gsl_multifit_linear_alloc(n, 4)!
        defer {
            gsl_matrix_free(X); gsl_vector_free(w); gsl_vector_free(r); gsl_vector_free(c); gsl_matrix_free(cov)
            gsl_multifit_linear_free(work)
        }
        var ax = [Double](repeating: 0, count: nx), dax = ax, ay = [Double](repeating: 0, count: ny), day = ay
        func axis(_ centre: Double, _ lo: Int, _ count: Int, _ a: inout [Double], _ d: inout [Double]) {
            var pPrev = gsl_cdf_gaussian_P(Double(lo) - centre, sigmaPixels)
            var phiPrev = gsl_ran_gaussian_pdf(Double(lo) - centre, sigmaPixels)
            for k in 0..<count {
                let edge = Double(lo + k + 1) - centre
                let p = gsl_cdf_gaussian_P(edge, sigmaPixels), phi = gsl_ran_gaussian_pdf(edge, sigmaPixels)
                a[k] = p - pPrev
                d[k] = phiPrev - phi            // ∂a/∂centre
                pPrev = p; phiPrev = phi
            }
        }
        for iteration in 1...50 {
            axis(cx, originX + i0, nx, &ax, &dax)
            axis(cy, originY + j0, ny, &ay, &day)
            for j in 0..<ny {
                for i in 0..<nx {
                    let k = j * nx + i
                    let model = f * ax[i] * ay[j] + b
                    gsl_matrix_set(X, k, 0, ax[i] * ay[j])
                    gsl_matrix_set(X, k, 1, f * dax[i] * ay[j])
                    gsl_matrix_set(X, k, 2, f * ax[i] * day[j])
                    gsl_matrix_set(X, k, 3, 1)
                    gsl_vector_set(w, k, 1 / max(max(model, 0) + extraVarianceElectrons, 1))
                    gsl_vector_set(r, k, data[k] - model)
                }
            }
            var chisq = 0.0
            let status = gsl_multifit_wlinear(X, w, r, c, cov, &chisq, work)
            guard status == GSL_SUCCESS else { throw .singular(status: status) }
            let df = gsl_vector_get(c, 0), dx = gsl_vector_get(c, 1), dy = gsl_vector_get(c, 2), db = gsl_vector_get(c, 3)
            // Damp a step that would leave the window: far from the optimum Gauss–Newton can overshoot.
            let step = max(abs(dx), abs(dy))
            let scale = step > Double(halfWidth) / 2 ? Double(halfWidth) / 2 / step : 1
            f += scale * df; cx += scale * dx; cy += scale * dy; b += scale * db
            if step < 1e-8 {
                // The covariance of the last step is that of the parameters (weights from the converged model).
                return Result(x: cx, y: cy, flux: f, background: b,
                              xErrorPixels: gsl_matrix_get(cov, 1, 1).squareRoot(), yErrorPixels: gsl_matrix_get(cov, 2, 2).squareRoot(),
                              iterations: iteration)
            }
        }
        throw .noConvergence
    }

    /// Cramér–Rao bound per axis (pixels) of `fit`'s position in a (2·`halfWidth` + 1)² window centred on
    /// the source's pixel: the inverse of the Fisher information Σ ∂μ/∂θᵢ ∂μ/∂θⱼ / var over the window for
    /// θ = (F, x, y, B), with μ the pixel-integrated model (`backgroundElectrons` per pixel) and var the
    /// variance `fit` weights with (max(μ, 0) + `extraVarianceElectrons`, floored at 1 e⁻²). This is the
    /// precision the weighted fit reaches; Thompson's closed form (`expectedErrorPixels`) is not: it ignores
    /// the window, the fitted background and the photon noise of the source where the background noise
    /// also counts (it was 11 % optimistic for the METIS L′ pinhole with a subtracted background frame, issue
    /// 15; 4–5 % for the pinhole of `CentroidFidelityTests`). The variance is averaged over a 4 × 4 grid of sub-pixel source positions, as the
    /// true positions fall anywhere in a pixel.
    public static func cramerRaoErrorPixels(sigmaPixels s: Double, sourceElectrons n: Double, backgroundElectrons b: Double = 0,
                                            extraVarianceElectrons extra: Double, halfWidth h: Int) -> Double {
        guard n > 0, s > 0, h >= 1 else { return .infinity }
        let fisher = gsl_matrix_alloc(4, 4)!
        defer { gsl_matrix_free(fisher) }
        let count = 2 * h + 1
        var a = [Double](repeating: 0, count: count), d = a, ay = a, dy = a
        func axis(_ phase: Double, _ a: inout [Double], _ d: inout [Double]) {
            var pPrev = gsl_cdf_gaussian_P(Double(-h) - phase, s), phiPrev = gsl_ran_gaussian_pdf(Double(-h) - phase, s)
            for k in 0..<count {
                let edge = Double(-h + k + 1) - phase
                let p = gsl_cdf_gaussian_P(edge, s), phi = gsl_ran_gaussian_pdf(edge, s)
                a[k] = p - pPrev; d[k] = phiPrev - phi
                pPrev = p; phiPrev = phi
            }
        }
        let phases = 4
        var variance = 0.0
        for px in 0..<phases {
            for py in 0..<phases {
                axis((Double(px) + 0.5) / Double(phases), &a, &d)
                axis((Double(py) + 0.5) / Double(phases), &ay, &dy)
                gsl_matrix_set_zero(fisher)
                for j in 0..<count {
                    for i in 0..<count {
                        let model = n * a[i] * ay[j] + b
                        let weight = 1 / max(max(model, 0) + extra, 1)
                        let g = [a[i] * ay[j], n * d[i] * ay[j], n * a[i] * dy[j], 1.0]
                        for r in 0..<4 { for c in 0..<4 { gsl_matrix_set(fisher, r, c, gsl_matrix_get(fisher, r, c) + weight * g[r] * g[c]) } }
                    }
                }
                guard gsl_linalg_cholesky_decomp1(fisher) == GSL_SUCCESS, gsl_linalg_cholesky_invert(fisher) == GSL_SUCCESS else {
                    return .infinity
                }
                variance += gsl_matrix_get(fisher, 1, 1)
            }
        }
        return (variance / Double(phases * phases)).squareRoot()
    }

    /// Expected 1σ error per axis (pixels) of a least-squares Gaussian centroid (Thompson, Larson & Webb
    /// 2002, Biophys. J. 82, 2775, eq. 14 with pixel size 1): σ² = (s² + 1/12)/N + 8π s⁴ b²/N², for PSF σ
    /// `s` (pixels), N source electrons and background noise variance b² (electrons² per pixel). Without
    /// background it is the photon limit FWHM/(2.355·SNR) of REFERENCES.md §6 with the pixelation term.
    public static func expectedErrorPixels(sigmaPixels s: Double, sourceElectrons n: Double,
                                           backgroundVarianceElectrons b2: Double) -> Double {
        guard n > 0 else { return .infinity }
        return ((s * s + 1.0 / 12) / n + 8 * Double.pi * s * s * s * s * b2 / (n * n)).squareRoot()
    }
}
