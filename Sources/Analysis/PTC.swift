import CGSL
import SimKernel

/// One point of a photon transfer curve: one flat pair on one amplifier.
public struct PTCPoint: Sendable, Equatable {
    public var exposureSeconds: Double
    /// μ = ½(μ₁ + μ₂), the clipped means of the two bias-subtracted flats (ADU).
    public var meanADU: Double
    /// ½ var_clip of the scaled difference image (ADU²).
    public var varianceADU2: Double
    /// Pixels kept by the clip of the difference image (what the variance's weight counts).
    public var pixelCount: Int

    public init(exposureSeconds: Double, meanADU: Double, varianceADU2: Double, pixelCount: Int) {
        self.exposureSeconds = exposureSeconds
        self.meanADU = meanADU
        self.varianceADU2 = varianceADU2
        self.pixelCount = pixelCount
    }
}

/// The solved photon transfer curve of one amplifier (cp_pipe `PhotonTransferCurveDataset` fields).
public struct PTCFit: Sendable, Equatable {
    public var gainElectronsPerADU: Double
    public var gainErrorElectronsPerADU: Double
    /// √n00, e⁻.
    public var noiseElectrons: Double
    /// Brighter-fatter / non-linearity coefficient of Astier et al. 2019 eq. 16 (1/e⁻).
    public var a00: Double
    /// n00 of eq. 16, e⁻².
    public var n00ElectronsSquared: Double
    /// ptcTurnoff: the largest mean of the points kept by the fit (ADU).
    public var turnoffADU: Double
    /// Exposure time of that point.
    public var turnoffExposureSeconds: Double
    /// Half the gap in mean to the next point above the turnoff (cp_pipe's ptcTurnoffSamplingError); 0 if
    /// none lies above.
    public var turnoffSamplingErrorADU: Double
    /// Which input points the final fit used, in the order given.
    public var retained: [Bool]
    /// χ² per degree of freedom of the final fit with the 2v²/N variance weights.
    public var reducedChiSquare: Double
}

/// The photon transfer curve as the Rubin pipeline measures it (lsst/cp_pipe, REFERENCES.md §4):
/// `cpPtcExtract` pairs flats by exposure time and measures mean and half the variance of the scaled
/// difference image per amplifier; `cpPtcSolve` with `ptcFitType: EXPAPPROXIMATION` fits Astier et al.
/// 2019 (A&A 629, A36) eq. 16, C00(μ) = [exp(2·a00·μ·g) − 1]/(2·a00·g²) + n00/g², with GSL's
/// trust-region non-linear least squares instead of scipy's.
public enum PhotonTransferCurve {
    public struct Options: Sendable, Equatable {
        /// nSigmaClipPtc 5.5 with 3 iterations (cpPtcExtract defaults).
        public var nSigmaClip = 5.5
        public var clipIterations = 3
        /// minVarPivotSearch 10,000 ADU² and consecutivePointsVarDecreases 2 (cpPtcSolve defaults).
        public var minVarPivotSearch = 10_000.0
        public var consecutivePointsVarDecreases = 2
        /// sigmaCutPtcOutliers 5 and maxIterationsPtcOutliers 2 (cpPtcSolve defaults).
        public var sigmaCutOutliers = 5.0
        public var maxOutlierIterations = 2
        /// maxSignalInitialPtcOutlierFit 50,000 e⁻, scaled by the approximate gain median(μ/var).
        public var maxSignalInitialFitElectrons = 50_000.0
        /// Initial [a00, g, n00] and bounds of cp_pipe's EXPAPPROXIMATION fit.
        public var initial: (a00: Double, gain: Double, n00: Double) = (-2e-6, 1.5, 25)
        public var a00Bounds: ClosedRange<Double> = -1e-4...0
        public var gainBounds: ClosedRange<Double> = 0.1...10
        public var n00Bounds: ClosedRange<Double> = 0...2000

        public init() {}

        public static func == (a: Options, b: Options) -> Bool {
            a.nSigmaClip == b.nSigmaClip && a.clipIterations == b.clipIterations && a.minVarPivotSearch == b.minVarPivotSearch
                && a.consecutivePointsVarDecreases == b.consecutivePointsVarDecreases && a.sigmaCutOutliers == b.sigmaCutOutliers
                && a.maxOutlierIterations == b.maxOutlierIterations && a.maxSignalInitialFitElectrons == b.maxSignalInitialFitElectrons
                && a.initial == b.initial && a.a00Bounds == b.a00Bounds && a.gainBounds == b.gainBounds && a.n00Bounds == b.n00Bounds
        }
    }

    public enum Failure: Error, Sendable, Equatable, CustomStringConvertible {
        case sizeMismatch(Int, Int)
        case tooFewPoints(Int)
        case fitFailed(String)
        public var description: String {
            switch self {
            case .sizeMismatch(let a, let b): return "flat pair differs in size: \(a) and \(b) pixels"
            case .tooFewPoints(let n): return "a PTC fit needs at least 4 usable points, got \(n)"
            case .fitFailed(let s): return "PTC fit failed: \(s)"
            }
        }
    }

    /// Pairs exposures whose times agree within `tolerance` (cp_pipe `matchExposuresType: TIME`, 5e-3 s):
    /// each exposure pairs with the next unpaired one of the same time; a leftover single is dropped.
    public static func pairIndices(exposureSeconds t: [Double], tolerance: Double = 5e-3) -> [(first: Int, second: Int)] {
        var used = [Bool](repeating: false, count: t.count)
        var pairs: [(Int, Int)] = []
        for i in t.indices where !used[i] {
            guard let j = (i + 1 ..< t.count).first(where: { !used[$0] && abs(t[$0] - t[i]) <= tolerance }) else { continue }
            used[i] = true
            used[j] = true
            pairs.append((i, j))
        }
        return pairs
    }

    /// Sigma-clipped mean and variance (afw MEANCLIP / VARIANCECLIP): `iterations` passes, each keeping
    /// |x − mean| < nσ of the previous pass.
    public static func clippedStatistics(_ x: UnsafeBufferPointer<Double>, nSigma: Double, iterations: Int)
        -> (mean: Double, variance: Double, count: Int) {
        var mean = 0.0, variance = 0.0, count = 0
        var lo = -Double.infinity, hi = Double.infinity
        for _ in 0...max(0, iterations) {
            // Two-pass (shifted) sums for accuracy: flats sit ~10⁵ ADU above zero with variance ~10⁵.
            var s = 0.0, n = 0
            for v in x where v > lo && v < hi { s += v; n += 1 }
            guard n > 1 else { break }
            let m = s / Double(n)
            var ss = 0.0
            for v in x where v > lo && v < hi { let d = v - m; ss += d * d }
            mean = m
            variance = ss / Double(n - 1)
            if n == count { break }
            count = n
            let half = nSigma * variance.squareRoot()
            lo = m - half
            hi = m + half
        }
        return (mean, variance, count)
    }

    /// cpPtcExtract `measureMeanVarCov` for one amplifier: μ = ½(μ₁ + μ₂) of the clipped means of the two
    /// bias-subtracted flats, var = ½·var_clip((μ₂·I₁ − μ₁·I₂)/μ). Scaling each image by the other's mean
    /// cancels the pixel response pattern and a lamp drift between the two.
    public static func measurePair(_ first: [Double], _ second: [Double], exposureSeconds: Double,
                                   options: Options = Options()) throws(Failure) -> PTCPoint {
        guard first.count == second.count else { throw .sizeMismatch(first.count, second.count) }
        let s1 = first.withUnsafeBufferPointer { clippedStatistics($0, nSigma: options.nSigmaClip, iterations: options.clipIterations) }
        let s2 = second.withUnsafeBufferPointer { clippedStatistics($0, nSigma: options.nSigmaClip, iterations: options.clipIterations) }
        let mu = 0.5 * (s1.mean + s2.mean)
        var diff = [Double](repeating: 0, count: first.count)
        let a = s2.mean / mu, b = s1.mean / mu
        for k in diff.indices { diff[k] = a * first[k] - b * second[k] }
        let d = diff.withUnsafeBufferPointer { clippedStatistics($0, nSigma: options.nSigmaClip, iterations: options.clipIterations) }
        return PTCPoint(exposureSeconds: exposureSeconds, meanADU: mu, varianceADU2: 0.5 * d.variance, pixelCount: d.count)
    }

    /// Astier et al. 2019 eq. 16 (cp_pipe `funcAstier`): μ in ADU, a00 in 1/e⁻, g in e⁻/ADU, n00 in e⁻².
    public static func expApproximation(meanADU mu: Double, a00: Double, gain g: Double, n00: Double) -> Double {
        let x = 2 * a00 * mu * g
        // expm1(x)/(2·a00·g²) tends to μ/g as a00 → 0; expm1 keeps the digits the subtraction would lose.
        let shot = a00 == 0 ? mu / g : gsl_expm1(x) / (2 * a00 * g * g)
        return shot + n00 / (g * g)
    }

    /// cpPtcSolve for one amplifier: turn-off pivot search, initial fit below the initial signal limit,
    /// then 5σ outlier rejection over all points (at most 2 iterations), bounds as cp_pipe's.
    ///
    /// Weights: cp_pipe's 1/√Var(v) with Var(v) = 2v²/N, but with v taken from the fitted curve after the
    /// first fit (iteratively re-weighted) rather than from the measured points, which removes an O(2/N)
    /// gain bias. Residuals are normalised by the same expected standard deviation, not by √v as cp_pipe
    /// does: with a small region of interest √v is smaller than the
    /// variance's own noise and would reject good points; for a whole amplifier (10⁶ pixels) the two cuts
    /// differ little.
    public static func solve(_ points: [PTCPoint], options: Options = Options()) throws(Failure) -> PTCFit {
        let order = points.indices.filter { points[$0].meanADU.isFinite && points[$0].varianceADU2.isFinite && points[$0].meanADU > 0
            && points[$0].varianceADU2 > 0 && points[$0].pixelCount > 1 }
            .sorted { points[$0].meanADU < points[$1].meanADU }
        guard order.count >= 4 else { throw .tooFewPoints(order.count) }
        let mu = order.map { points[$0].meanADU }
        let v = order.map { points[$0].varianceADU2 }
        let relative = order.map { (2 / Double(points[$0].pixelCount)).squareRoot() }
        var sigma = zip(v, relative).map { $0 * $1 }

        // _getInitialGoodPoints: the first run of `consecutivePointsVarDecreases` variance decreases starting
        // above minVarPivotSearch marks the turn-off; every point after its start is dropped.
        var good = [Bool](repeating: true, count: mu.count)
        var run: [Int] = []
        func closeRun() -> Bool {
            if run.count >= options.consecutivePointsVarDecreases, let first = run.first {
                for k in (first + 1)..<good.count { good[k] = false }
                return true
            }
            run.removeAll()
            return false
        }
        var found = false
        for p in 0..<(mu.count - 1) where v[p + 1] < v[p] && v[p] > options.minVarPivotSearch {
            if let last = run.last, last != p - 1, closeRun() { found = true; break }
            run.append(p)
        }
        if !found { _ = closeRun() }

        let approxGain = gslMedian(zip(mu, v).map { $0 / $1 })
        let initialLimit = options.maxSignalInitialFitElectrons / approxGain
        var mask = zip(good, mu).map { $0 && $1 <= initialLimit }
        if mask.filter({ $0 }).count < 4 { mask = good }

        var parameters = [options.initial.a00, options.initial.gain, options.initial.n00]
        var result: (parameters: [Double], errors: [Double], chi2: Double) = ([], [], 0)
        func modelSigma() -> [Double] {
            mu.indices.map { expApproximation(meanADU: mu[$0], a00: parameters[0], gain: parameters[1], n00: parameters[2]) * relative[$0] }
        }
        for iteration in 0...options.maxOutlierIterations + 1 {
            result = try boundedFit(mu: mu, v: v, sigma: sigma, mask: mask, start: parameters, options: options)
            parameters = result.parameters
            // Re-weight with the fitted curve: weights from the measured variances favour the points that
            // scattered low and bias the gain high by O(2/N) (0.4 % for a 32 × 32 region of interest).
            sigma = modelSigma()
            result = try boundedFit(mu: mu, v: v, sigma: sigma, mask: mask, start: parameters, options: options)
            parameters = result.parameters
            sigma = modelSigma()
            if iteration > options.maxOutlierIterations { break }
            var next = good
            for k in mu.indices where good[k] {
                let model = expApproximation(meanADU: mu[k], a00: parameters[0], gain: parameters[1], n00: parameters[2])
                next[k] = abs(v[k] - model) / sigma[k] < options.sigmaCutOutliers
            }
            if next.filter({ $0 }).count < 4 || next == mask { break }
            mask = next
        }

        var retained = [Bool](repeating: false, count: points.count)
        var top = -1
        for k in mu.indices where mask[k] {
            retained[order[k]] = true
            if top < 0 || mu[k] > mu[top] { top = k }
        }
        let sampling = top + 1 < mu.count ? 0.5 * (mu[top + 1] - mu[top]) : 0
        return PTCFit(gainElectronsPerADU: parameters[1], gainErrorElectronsPerADU: result.errors[1],
                      noiseElectrons: parameters[2].squareRoot(), a00: parameters[0], n00ElectronsSquared: parameters[2],
                      turnoffADU: mu[top], turnoffExposureSeconds: points[order[top]].exposureSeconds,
                      turnoffSamplingErrorADU: sampling, retained: retained, reducedChiSquare: result.chi2)
    }

    /// The turn-off from pair means alone (no variances: the region-of-interest statistics level): the
    /// points sorted by exposure time, the turn-off is the last one before the mean stops growing, i.e.
    /// before a step whose mean rises by less than half of what the exposure-time ratio predicts
    /// (below saturation μ ∝ t; a saturated frame stays at full well). Returns (mean, exposure time).
    public static func turnoffFromMeans(exposureSeconds t: [Double], meansADU mu: [Double]) -> (adu: Double, seconds: Double)? {
        let order = t.indices.filter { t[$0] > 0 && mu[$0].isFinite }.sorted { t[$0] < t[$1] }
        guard let first = order.first else { return nil }
        var last = first
        for k in order.dropFirst() {
            let expected = mu[last] * (t[k] / t[last] - 1)
            if mu[k] - mu[last] < 0.5 * expected { break }
            last = k
        }
        return (mu[last], t[last])
    }

    static func gslMedian(_ values: [Double]) -> Double {
        var copy = values
        return copy.withUnsafeMutableBufferPointer { b in
            gsl_sort(b.baseAddress, 1, b.count)
            return gsl_stats_median_from_sorted_data(b.baseAddress, 1, b.count)
        }
    }

    /// scipy's `least_squares(bounds=...)` keeps parameters inside their box; GSL's trust region has no
    /// bounds, so a parameter that leaves its box is fixed at the bound and the others are refitted.
    static func boundedFit(mu: [Double], v: [Double], sigma: [Double], mask: [Bool], start: [Double],
                           options: Options) throws(Failure) -> (parameters: [Double], errors: [Double], chi2: Double) {
        let bounds = [options.a00Bounds, options.gainBounds, options.n00Bounds]
        var fixed = [false, false, false]
        var x = zip(start, bounds).map { min(max($0, $1.lowerBound), $1.upperBound) }
        // a00 = 0 is the bound and a singular point of the a00 derivative: start just inside.
        if x[0] == 0 { x[0] = -1e-9 }
        for _ in 0..<3 {
            let fit = try nonlinearFit(mu: mu, v: v, sigma: sigma, mask: mask, start: x, fixed: fixed)
            var outside = false
            for k in 0..<3 where !fixed[k] && !bounds[k].contains(fit.parameters[k]) {
                x = fit.parameters
                x[k] = fit.parameters[k] < bounds[k].lowerBound ? bounds[k].lowerBound : bounds[k].upperBound
                fixed[k] = true
                outside = true
            }
            if !outside { return fit }
        }
        return try nonlinearFit(mu: mu, v: v, sigma: sigma, mask: mask, start: x, fixed: fixed)
    }

    /// What the C callbacks see: the masked data and which parameters are free.
    final class FitData {
        let mu: [Double], v: [Double], sigma: [Double]
        let fixedValues: [Double]
        let free: [Int]
        init(mu: [Double], v: [Double], sigma: [Double], fixedValues: [Double], free: [Int]) {
            self.mu = mu; self.v = v; self.sigma = sigma; self.fixedValues = fixedValues; self.free = free
        }
        /// a00 is fitted in units of 10⁻⁶ e⁻¹ so that all three parameters are of order one.
        static let a00Scale = 1e-6
        func parameters(_ x: UnsafePointer<gsl_vector>) -> [Double] {
            var p = fixedValues
            for (k, index) in free.enumerated() {
                p[index] = gsl_vector_get(x, k) * (index == 0 ? Self.a00Scale : 1)
            }
            return p
        }
    }

    static func nonlinearFit(mu allMu: [Double], v allV: [Double], sigma allSigma: [Double], mask: [Bool], start: [Double],
                             fixed: [Bool]) throws(Failure) -> (parameters: [Double], errors: [Double], chi2: Double) {
        let rows = mask.indices.filter { mask[$0] }
        let free = (0..<3).filter { !fixed[$0] }
        let data = FitData(mu: rows.map { allMu[$0] }, v: rows.map { allV[$0] }, sigma: rows.map { allSigma[$0] },
                           fixedValues: start, free: free)
        let n = rows.count, p = free.count
        guard n > p else { throw .tooFewPoints(n) }
        GSLRuntime.prepare()

        var fdf = gsl_multifit_nlinear_fdf()
        fdf.f = { x, params, f in
            guard let x, let params, let f else { return Int32(GSL_EINVAL) }
            let d = Unmanaged<FitData>.fromOpaque(params).takeUnretainedValue()
            let q = d.parameters(x)
            for i in d.mu.indices {
                let model = PhotonTransferCurve.expApproximation(meanADU: d.mu[i], a00: q[0], gain: q[1], n00: q[2])
                gsl_vector_set(f, i, (model - d.v[i]) / d.sigma[i])
            }
            return Int32(GSL_SUCCESS)
        }
        fdf.df = { x, params, jac in
            guard let x, let params, let jac else { return Int32(GSL_EINVAL) }
            let d = Unmanaged<FitData>.fromOpaque(params).takeUnretainedValue()
            let q = d.parameters(x)
            let a = q[0], g = q[1], n00 = q[2]
            for i in d.mu.indices {
                let m = d.mu[i]
                let e = gsl_sf_exp(2 * a * m * g), em1 = gsl_expm1(2 * a * m * g)
                // ∂C/∂a00 = μE/(a g) − (E − 1)/(2a²g²); ∂C/∂g = μE/g² − (E − 1)/(a g³) − 2n00/g³; ∂C/∂n00 = 1/g².
                let dA = m * e / (a * g) - em1 / (2 * a * a * g * g)
                let dG = m * e / (g * g) - em1 / (a * g * g * g) - 2 * n00 / (g * g * g)
                let dN = 1 / (g * g)
                let derivatives = [dA * FitData.a00Scale, dG, dN]
                for (k, index) in d.free.enumerated() { gsl_matrix_set(jac, i, k, derivatives[index] / d.sigma[i]) }
            }
            return Int32(GSL_SUCCESS)
        }
        fdf.fvv = nil
        fdf.n = n
        fdf.p = p
        let context = Unmanaged.passRetained(data)
        defer { context.release() }
        fdf.params = context.toOpaque()

        var fitParameters = gsl_multifit_nlinear_default_parameters()
        guard let work = gsl_multifit_nlinear_alloc(cgsl_multifit_nlinear_trust(), &fitParameters, n, p) else {
            throw .fitFailed("cannot allocate the GSL workspace")
        }
        defer { gsl_multifit_nlinear_free(work) }
        let x0 = gsl_vector_alloc(p)!
        defer { gsl_vector_free(x0) }
        for (k, index) in free.enumerated() { gsl_vector_set(x0, k, start[index] / (index == 0 ? FitData.a00Scale : 1)) }
        var status = gsl_multifit_nlinear_init(x0, &fdf, work)
        guard status == GSL_SUCCESS else { throw .fitFailed("init: \(String(cString: gsl_strerror(status)))") }
        var info: Int32 = 0
        status = gsl_multifit_nlinear_driver(200, 1e-10, 1e-10, 0, nil, nil, &info, work)
        guard status == GSL_SUCCESS || status == GSL_EMAXITER else {
            throw .fitFailed("driver: \(String(cString: gsl_strerror(status)))")
        }
        let position = gsl_multifit_nlinear_position(work)!
        let fitted = data.parameters(position)
        guard fitted.allSatisfy({ $0.isFinite }) else { throw .fitFailed("non-finite parameters") }

        // Covariance scaled by χ²/dof, as scipy's curve_fit (absolute_sigma=False) reports it.
        let residuals = gsl_multifit_nlinear_residual(work)!
        var chi2 = 0.0
        for i in 0..<n { let r = gsl_vector_get(residuals, i); chi2 += r * r }
        let dof = Double(max(1, n - p))
        let covariance = gsl_matrix_alloc(p, p)!
        defer { gsl_matrix_free(covariance) }
        gsl_multifit_nlinear_covar(gsl_multifit_nlinear_jac(work), 0, covariance)
        var errors = [0.0, 0.0, 0.0]
        for (k, index) in free.enumerated() {
            errors[index] = (gsl_matrix_get(covariance, k, k) * chi2 / dof).squareRoot() * (index == 0 ? FitData.a00Scale : 1)
        }
        return (fitted, errors, chi2 / dof)
    }
}
