import CGSL
import Foundation
import Observatory
import Procedures
import SimKernel

/// Fits the LATISS control-software timing (LATISSControlTiming) to observed step durations.
///
/// Method. An image step (`take_imgtype BIAS|DARK|FLAT`) of n images of total exposure E lasts
/// E + Σᵢ(readout + overheadᵢ) + min(W, oods_timeout): independent Gamma overheads and a capped Gamma
/// ingestion wait, whose mean and variance are closed form (DurationDistribution) though the law of the
/// sum is not. So the fit is Gaussian quasi-maximum-likelihood on those exact first two moments — the
/// estimating equations are unbiased whatever the law's shape — maximised with GSL's Nelder–Mead simplex
/// (`gsl_multimin_fminimizer_nmsimplex2`, the likelihood being cheap and its variance terms making
/// derivatives awkward), and the uncertainty is the sandwich covariance F⁻¹JF⁻¹ (F the expected
/// information, J the empirical covariance of the per-step scores), which stays valid when the step
/// durations are skewed, as capped Gamma waits are.
///
/// What the data constrain. Each parameter is scaled by its documented range (LATISSTimingKeys.ranges),
/// read as a uniform prior of sd 1/√12 in scaled units. Parameters are taken in a fixed order, the [U]
/// ones first and the published readout last; one joins the fitted set when, with it and those already in
/// free, every member's Laplace posterior sd ((F + prior)⁻¹) is at most `constraintRatio` of the prior's —
/// the data pin it to a quarter of what the documentation allows. A parameter that fails stays at its
/// scenario value and is reported as not constrained, with the fitted parameter it is most correlated with
/// (readout and the mean per-image overhead enter every image step only as their sum, so at most one of
/// them can be fitted). Selection is made at the scenario's values and redone at the fit until it is stable.
public struct TimingCalibration {
    /// Fit order: the [U] parameters first, the published readout last.
    public static let parameterKeys = [LATISSTimingKeys.imageOverhead, LATISSTimingKeys.imageOverheadSD,
                                       LATISSTimingKeys.ingestionWait, LATISSTimingKeys.ingestionWaitSD,
                                       LATISSTimingKeys.readout]
    public static let constraintRatio = 0.25
    static let priorSD = 1 / 12.0.squareRoot()

    public struct Estimate: Sendable, Equatable {
        public var key: String
        public var before: Double
        public var value: Double
        /// 1σ; nil when not constrained.
        public var sigma: Double?
        /// The 95 % confidence interval (a spread's is its variance's, mapped, so it is not symmetric).
        public var lower95: Double?
        public var upper95: Double?
        public var constrained: Bool
        /// Posterior sd over prior sd (what the constraint criterion reads).
        public var shrinkage: Double
        /// Why a parameter is not constrained.
        public var note: String
    }

    public struct Result: Sendable {
        public var estimates: [Estimate]
        public var before: LATISSControlTiming
        public var after: LATISSControlTiming
        public var logLikelihoodBefore: Double
        public var logLikelihoodAfter: Double
        public var modelledSteps: Int
        /// Observed step names the model does not predict, with their row counts (left out of the fit).
        public var ignoredSteps: [String: Int]

        public func estimate(_ key: String) -> Estimate? { estimates.first { $0.key == key } }
    }

    public enum Failure: Error, CustomStringConvertible {
        case noModelledSteps(ignored: [String])
        case fitFailed(String)
        public var description: String {
            switch self {
            case .noModelledSteps(let names):
                return "no observed step is one the timing model predicts (take_imgtype BIAS/DARK/FLAT with images and exposure); steps given: \(names.joined(separator: ", "))"
            case .fitFailed(let why): return "the fit failed: \(why)"
            }
        }
    }

    public let rows: [ObservedStep]
    public let ignoredSteps: [String: Int]
    public let base: LATISSControlTiming
    let ranges: [LATISSTimingKeys.Range]

    public init(observed: [ObservedStep], base: LATISSControlTiming = .latiss) {
        var kept: [ObservedStep] = [], ignored: [String: Int] = [:]
        for r in observed {
            if r.step.hasPrefix(ObservedStepsReader.imageStepPrefix), r.images != nil, r.exposureSeconds != nil { kept.append(r) }
            else { ignored[r.step, default: 0] += 1 }
        }
        rows = kept
        ignoredSteps = ignored
        self.base = base
        ranges = Self.parameterKeys.map { key in LATISSTimingKeys.ranges.first { $0.key == key }! }
    }

    // MARK: Parameters

    static func value(_ t: LATISSControlTiming, _ key: String) -> Double {
        switch key {
        case LATISSTimingKeys.readout: return t.readoutSeconds
        case LATISSTimingKeys.imageOverhead: return t.imageOverhead.meanSeconds
        case LATISSTimingKeys.imageOverheadSD: return t.imageOverhead.sdSeconds
        case LATISSTimingKeys.ingestionWait: return t.ingestionWait.meanSeconds
        case LATISSTimingKeys.ingestionWaitSD: return t.ingestionWait.sdSeconds
        default: return .nan
        }
    }

    static func setting(_ t: LATISSControlTiming, _ key: String, _ v: Double) -> LATISSControlTiming {
        var t = t
        switch key {
        case LATISSTimingKeys.readout: t.readoutSeconds = v
        case LATISSTimingKeys.imageOverhead: t.imageOverhead.meanSeconds = v
        case LATISSTimingKeys.imageOverheadSD: t.imageOverhead.sdSeconds = v
        case LATISSTimingKeys.ingestionWait: t.ingestionWait.meanSeconds = v
        case LATISSTimingKeys.ingestionWaitSD: t.ingestionWait.sdSeconds = v
        default: break
        }
        return t
    }

    /// A spread enters the step variances as its square, so it is fitted as a variance: the information
    /// about s vanishes as s → 0 (∂v/∂s = 2ns), that about s² does not, and a confidence interval for s² maps
    /// to one for s with the same coverage.
    static func isSpread(_ key: String) -> Bool { key.hasSuffix("_sd") }

    /// The fitted coordinate of a parameter: θ, or θ² for a spread.
    static func coordinate(_ key: String, _ v: Double) -> Double { isSpread(key) ? v * v : v }
    static func parameter(_ key: String, _ c: Double) -> Double { isSpread(key) ? max(0, c).squareRoot() : c }

    /// Scaled coordinates: u = (c − c(lower))/(c(upper) − c(lower)).
    func scaled(_ t: LATISSControlTiming) -> [Double] {
        ranges.map { r in
            let lo = Self.coordinate(r.key, r.lower), hi = Self.coordinate(r.key, r.upper)
            return (Self.coordinate(r.key, Self.value(t, r.key)) - lo) / (hi - lo)
        }
    }

    func width(_ k: Int) -> Double {
        Self.coordinate(ranges[k].key, ranges[k].upper) - Self.coordinate(ranges[k].key, ranges[k].lower)
    }

    func timing(_ u: [Double]) -> LATISSControlTiming {
        var t = base
        for (k, r) in ranges.enumerated() {
            t = Self.setting(t, r.key, Self.parameter(r.key, Self.coordinate(r.key, r.lower) + u[k] * width(k)))
        }
        return t
    }

    // MARK: Likelihood

    static func moments(_ row: ObservedStep, _ t: LATISSControlTiming) -> (mean: Double, variance: Double) {
        t.imageTypeStepMoments(images: row.images ?? 0, exposureSeconds: row.exposureSeconds ?? 0)
    }

    /// Gaussian quasi-log-likelihood of every modelled row.
    func logLikelihood(_ t: LATISSControlTiming) -> Double {
        var sum = 0.0
        for r in rows {
            let m = Self.moments(r, t)
            let v = max(m.variance, 1e-12)
            let d = r.durationSeconds - m.mean
            sum -= 0.5 * (d * d / v + gsl_sf_log(2 * Double.pi * v))
        }
        return sum
    }

    /// Expected information F and empirical score covariance J over `free` (scaled coordinates), by central
    /// differences of the closed-form moments.
    func information(_ u: [Double], free: [Int]) -> (f: [[Double]], j: [[Double]]) {
        let p = free.count
        var f = [[Double]](repeating: [Double](repeating: 0, count: p), count: p)
        var j = f
        let h = 1e-5
        var up: [LATISSControlTiming] = [], down: [LATISSControlTiming] = [], widths: [Double] = []
        for k in free {
            var a = u, b = u
            a[k] = min(u[k] + h, 1 + h)
            b[k] = max(u[k] - h, 0)
            up.append(timing(a)); down.append(timing(b)); widths.append(a[k] - b[k])
        }
        let center = timing(u)
        for r in rows {
            let m = Self.moments(r, center)
            let v = max(m.variance, 1e-12)
            let resid = r.durationSeconds - m.mean
            var dm = [Double](repeating: 0, count: p), dv = dm, score = dm
            for a in 0..<p {
                let hi = Self.moments(r, up[a]), lo = Self.moments(r, down[a])
                dm[a] = (hi.mean - lo.mean) / widths[a]
                dv[a] = (hi.variance - lo.variance) / widths[a]
                score[a] = resid / v * dm[a] + 0.5 * (resid * resid / (v * v) - 1 / v) * dv[a]
            }
            for a in 0..<p {
                for b in 0..<p {
                    f[a][b] += dm[a] * dm[b] / v + dv[a] * dv[b] / (2 * v * v)
                    j[a][b] += score[a] * score[b]
                }
            }
        }
        return (f, j)
    }

    // MARK: Selection

    struct Selection {
        var free: [Int]
        var shrinkage: [Int: Double]
        var notes: [Int: String]
    }

    func select(at u: [Double]) -> Selection {
        var free: [Int] = []
        var shrinkage: [Int: Double] = [:], notes: [Int: String] = [:]
        let precision = 1 / (Self.priorSD * Self.priorSD)
        for k in ranges.indices {
            let trial = free + [k]
            let info = information(u, free: trial).f
            var posterior = info
            for a in trial.indices { posterior[a][a] += precision }
            guard let cov = Self.invert(posterior) else { notes[k] = "the information matrix is singular"; continue }
            let ratios = trial.indices.map { cov[$0][$0].squareRoot() / Self.priorSD }
            shrinkage[k] = ratios.last!
            if ratios.allSatisfy({ $0 <= Self.constraintRatio }) {
                free = trial
                continue
            }
            let last = trial.count - 1
            if ratios[last] > Self.constraintRatio && trial.count > 1 {
                // The partner is the fitted parameter it is most correlated with.
                var best = 0, bestRho = 0.0
                for a in 0..<last {
                    let rho = cov[a][last] / (cov[a][a] * cov[last][last]).squareRoot()
                    if abs(rho) > abs(bestRho) { bestRho = rho; best = a }
                }
                let ownInfo = info[last][last]
                notes[k] = ownInfo * Self.priorSD * Self.priorSD < 1e-6
                    ? "no observed step depends on it"
                    : String(format: "confounded with %@ (posterior correlation %.2f): the data fix only a combination", ranges[trial[best]].key, bestRho)
            } else if ratios[last] > Self.constraintRatio {
                notes[k] = info[last][last] * Self.priorSD * Self.priorSD < 1e-6
                    ? "no observed step depends on it"
                    : String(format: "the data leave %.0f %% of its documented spread", 100 * ratios[last])
            } else {
                notes[k] = "fitting it would leave an already fitted parameter unconstrained"
            }
        }
        return Selection(free: free, shrinkage: shrinkage, notes: notes)
    }

    // MARK: The fit

    public func fit() throws -> Result {
        guard !rows.isEmpty else { throw Failure.noModelledSteps(ignored: ignoredSteps.keys.sorted()) }
        GSLRuntime.prepare()
        let start = scaled(base).map { min(max($0, 0), 1) }
        var selection = select(at: start)
        var u = selection.free.isEmpty ? start : try minimise(from: start, free: selection.free)
        for _ in 0..<3 {
            let again = select(at: u)
            let changed = again.free != selection.free
            selection = again
            if !changed { break }
            u = selection.free.isEmpty ? start : try minimise(from: start, free: selection.free)
        }
        var intervals: [Int: (sigma: Double, lower: Double, upper: Double)] = [:]
        if !selection.free.isEmpty {
            let (f, j) = information(u, free: selection.free)
            guard let fi = Self.invert(f) else { throw Failure.fitFailed("the information matrix of the fitted parameters is singular") }
            let sandwich = Self.multiply(Self.multiply(fi, j), fi)
            for (a, k) in selection.free.enumerated() {
                let key = ranges[k].key
                let c = Self.coordinate(key, ranges[k].lower) + u[k] * width(k)
                let sc = max(0, sandwich[a][a]).squareRoot() * width(k)
                let z = 1.959963984540054
                // A spread's interval is its variance's, mapped; its σ is that interval's half-width over 1.96
                // (the delta method's σ_{s²}/2s diverges as s → 0).
                let lower = Self.parameter(key, c - z * sc), upper = Self.parameter(key, c + z * sc)
                intervals[k] = (Self.isSpread(key) ? (upper - lower) / (2 * z) : sc, lower, upper)

            }
        }
        let after = timing(u)
        let estimates = ranges.indices.map { k -> Estimate in
            let fitted = selection.free.contains(k)
            return Estimate(key: ranges[k].key, before: Self.value(base, ranges[k].key),
                            value: Self.value(fitted ? after : base, ranges[k].key), sigma: intervals[k]?.sigma,
                            lower95: intervals[k]?.lower, upper95: intervals[k]?.upper, constrained: fitted,
                            shrinkage: selection.shrinkage[k] ?? 1, note: fitted ? "" : selection.notes[k] ?? "not constrained")
        }
        return Result(estimates: estimates, before: base, after: fitted(after, selection.free), logLikelihoodBefore: logLikelihood(base),
                      logLikelihoodAfter: logLikelihood(after), modelledSteps: rows.count, ignoredSteps: ignoredSteps)
    }

    /// The fitted timing keeps the scenario's value of every parameter not fitted.
    func fitted(_ t: LATISSControlTiming, _ free: [Int]) -> LATISSControlTiming {
        var out = base
        for k in free { out = Self.setting(out, ranges[k].key, Self.value(t, ranges[k].key)) }
        return out
    }

    final class Objective {
        let evaluate: ([Double]) -> Double
        init(_ evaluate: @escaping ([Double]) -> Double) { self.evaluate = evaluate }
    }

    /// −log L over the free scaled coordinates with GSL's simplex, restarted once from its result (the
    /// usual guard against a simplex that collapsed early).
    func minimise(from start: [Double], free: [Int]) throws -> [Double] {
        let objective = Objective { x in
            var u = start
            for (a, k) in free.enumerated() {
                if !(x[a] >= 0 && x[a] <= 1) { return 1e300 }
                u[k] = x[a]
            }
            let l = self.logLikelihood(self.timing(u))
            return l.isFinite ? -l : 1e300
        }
        let p = free.count
        let context = Unmanaged.passRetained(objective)
        defer { context.release() }
        var function = gsl_multimin_function()
        function.n = p
        function.params = context.toOpaque()
        function.f = { x, params in
            guard let x, let params else { return Double.nan }
            let o = Unmanaged<Objective>.fromOpaque(params).takeUnretainedValue()
            return o.evaluate((0..<x.pointee.size).map { gsl_vector_get(x, $0) })
        }
        guard let minimiser = gsl_multimin_fminimizer_alloc(cgsl_multimin_fminimizer_nmsimplex2(), p) else {
            throw Failure.fitFailed("cannot allocate the GSL simplex")
        }
        defer { gsl_multimin_fminimizer_free(minimiser) }
        let x = gsl_vector_alloc(p)!, step = gsl_vector_alloc(p)!
        defer { gsl_vector_free(x); gsl_vector_free(step) }
        var current = free.map { start[$0] }
        for round in 0..<2 {
            for a in 0..<p {
                gsl_vector_set(x, a, current[a])
                gsl_vector_set(step, a, round == 0 ? 0.05 : 0.01)
            }
            var status = gsl_multimin_fminimizer_set(minimiser, &function, x, step)
            guard status == GSL_SUCCESS else { throw Failure.fitFailed(String(cString: gsl_strerror(status))) }
            for _ in 0..<5000 {
                status = gsl_multimin_fminimizer_iterate(minimiser)
                if status != GSL_SUCCESS { break }
                if gsl_multimin_test_size(gsl_multimin_fminimizer_size(minimiser), 1e-7) == GSL_SUCCESS { break }
            }
            let best = gsl_multimin_fminimizer_x(minimiser)!
            current = (0..<p).map { gsl_vector_get(best, $0) }
        }
        guard current.allSatisfy({ $0.isFinite }) else { throw Failure.fitFailed("non-finite parameters") }
        var u = start
        for (a, k) in free.enumerated() { u[k] = current[a] }
        return u
    }

    // MARK: Simulated steps

    /// One simulated duration of `row`'s step under `t` — the model the procedures run.
    public static func simulate(_ row: ObservedStep, _ t: LATISSControlTiming, stream: RandomStream) -> Double {
        var d = row.exposureSeconds ?? 0
        for _ in 0..<(row.images ?? 0) { d += t.imageSeconds(exposureSeconds: 0, stream: stream) }
        return d + t.ingestionWaitSeconds(stream: stream)
    }

    // MARK: Linear algebra (GSL)

    static func invert(_ m: [[Double]]) -> [[Double]]? {
        let n = m.count
        guard n > 0 else { return [] }
        let a = gsl_matrix_alloc(n, n)!, inverse = gsl_matrix_alloc(n, n)!, perm = gsl_permutation_alloc(n)!
        defer { gsl_matrix_free(a); gsl_matrix_free(inverse); gsl_permutation_free(perm) }
        for i in 0..<n { for j in 0..<n { gsl_matrix_set(a, i, j, m[i][j]) } }
        var sign: Int32 = 0
        guard gsl_linalg_LU_decomp(a, perm, &sign) == GSL_SUCCESS else { return nil }
        let det = gsl_linalg_LU_det(a, sign)
        var scale = 1.0
        for i in 0..<n { scale *= abs(m[i][i]) }
        guard det.isFinite, scale > 0, abs(det) > 1e-14 * scale else { return nil }
        guard gsl_linalg_LU_invert(a, perm, inverse) == GSL_SUCCESS else { return nil }
        return (0..<n).map { i in (0..<n).map { j in gsl_matrix_get(inverse, i, j) } }
    }

    static func multiply(_ a: [[Double]], _ b: [[Double]]) -> [[Double]] {
        let n = a.count, m = b.first?.count ?? 0, inner = b.count
        return (0..<n).map { i in (0..<m).map { j in (0..<inner).reduce(0) { $0 + a[i][$1] * b[$1][j] } } }
    }
}
