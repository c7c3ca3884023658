import CGSL

/// A 2-D polynomial mapping of total degree `order` from detector pixels (x, y) to mask/sky coordinates
/// (u, v): u = Σ a_pq·ξ^p·η^q, v = Σ b_pq·ξ^p·η^q over p + q ≤ order, with ξ = (x − cx)/h and
/// η = (y − cy)/h the detector coordinates centred and scaled to about ±1 (keeps the normal matrix well
/// conditioned). The distortion map of the METIS distortion calibration (REFERENCES.md §6: "solve for a
/// 2-D polynomial mapping (x,y)_det → (x,y)_mask").
public struct PolynomialMapping2D: Sendable, Equatable {
    public let order: Int
    public let centreX: Double
    public let centreY: Double
    public let halfSize: Double
    /// Coefficients in term order: degree d = 0…order, and within a degree q = 0…d for ξ^(d−q)·η^q.
    public let uCoefficients: [Double]
    public let vCoefficients: [Double]

    public init(order: Int, centreX: Double, centreY: Double, halfSize: Double, uCoefficients: [Double], vCoefficients: [Double]) {
        precondition(uCoefficients.count == Self.termCount(order: order) && vCoefficients.count == uCoefficients.count,
                     "a mapping of order \(order) has \(Self.termCount(order: order)) coefficients per axis")
        self.order = order; self.centreX = centreX; self.centreY = centreY; self.halfSize = halfSize
        self.uCoefficients = uCoefficients; self.vCoefficients = vCoefficients
    }

    public static func termCount(order: Int) -> Int { (order + 1) * (order + 2) / 2 }

    /// The basis values ξ^(d−q)·η^q at detector (x, y).
    public func terms(x: Double, y: Double) -> [Double] {
        Self.terms(xi: (x - centreX) / halfSize, eta: (y - centreY) / halfSize, order: order)
    }

    static func terms(xi: Double, eta: Double, order: Int) -> [Double] {
        var out: [Double] = []
        out.reserveCapacity(termCount(order: order))
        for d in 0...order {
            for q in 0...d { out.append(pow(xi, d - q) * pow(eta, q)) }
        }
        return out
    }

    @inline(__always) static func pow(_ v: Double, _ k: Int) -> Double {
        var r = 1.0
        for _ in 0..<k { r *= v }
        return r
    }

    /// Mask/sky coordinates of detector position (x, y).
    public func map(x: Double, y: Double) -> (u: Double, v: Double) {
        let t = terms(x: x, y: y)
        var u = 0.0, v = 0.0
        for k in t.indices { u += uCoefficients[k] * t[k]; v += vCoefficients[k] * t[k] }
        return (u, v)
    }

    /// The local plate scale at (x, y): √|det J| of the mapping's Jacobian, in (u, v) units per pixel
    /// (finite differences of ±0.5 px, exact for the polynomial to rounding at degree ≤ 2 and to O(h²)
    /// above).
    public func pixelScale(x: Double, y: Double) -> Double {
        let a = map(x: x + 0.5, y: y), b = map(x: x - 0.5, y: y), c = map(x: x, y: y + 0.5), d = map(x: x, y: y - 0.5)
        let dudx = a.u - b.u, dvdx = a.v - b.v, dudy = c.u - d.u, dvdy = c.v - d.v
        return abs(dudx * dvdy - dudy * dvdx).squareRoot()
    }
}

/// Least-squares fit of a `PolynomialMapping2D` to matched detector and mask positions (GSL
/// `gsl_multifit_linear`, one solve per axis with the same design matrix).
public enum DistortionFit {
    public struct Result: Sendable {
        public var mapping: PolynomialMapping2D
        /// RMS of the fit residuals (|mask − mapped|, both axes), in mask units: the pipeline's QC
        /// `DISTORT RMS` (REFERENCES.md §6), here in sky units rather than pixels.
        public var residualRMS: Double
        public var pointCount: Int
    }

    public enum Failure: Error, Sendable, Equatable, CustomStringConvertible {
        case tooFewPoints(have: Int, need: Int)
        case countMismatch(detector: Int, mask: Int)
        case fitFailed(status: Int32)

        public var description: String {
            switch self {
            case .tooFewPoints(let h, let n): return "a distortion fit of this order needs at least \(n) pinholes, got \(h)"
            case .countMismatch(let d, let m): return "\(d) detector positions but \(m) mask positions"
            case .fitFailed(let s): return "the polynomial least-squares fit failed (GSL status \(s))"
            }
        }
    }

    /// Fits detector → mask of total degree `order`. `centre` and `halfSize` fix the normalisation (the
    /// detector's centre and half-width); by default the points' bounding box.
    public static func fit(detector: [(x: Double, y: Double)], mask: [(u: Double, v: Double)], order: Int,
                           centre: (x: Double, y: Double)? = nil, halfSize: Double? = nil) throws(Failure) -> Result {
        guard detector.count == mask.count else { throw .countMismatch(detector: detector.count, mask: mask.count) }
        let p = PolynomialMapping2D.termCount(order: order), n = detector.count
        guard n >= p else { throw .tooFewPoints(have: n, need: p) }
        let xs = detector.map(\.x), ys = detector.map(\.y)
        let cx = centre?.x ?? (xs.min()! + xs.max()!) / 2, cy = centre?.y ?? (ys.min()! + ys.max()!) / 2
        let h = halfSize ?? max(1, max(xs.max()! - xs.min()!, ys.max()! - ys.min()!) / 2)

        let X = gsl_matrix_alloc(n, p)!, yu = gsl_vector_alloc(n)!, yv = gsl_vector_alloc(n)!
        let cu = gsl_vector_alloc(p)!, cv = gsl_vector_alloc(p)!, cov = gsl_matrix_alloc(p, p)!
        let work = gsl_multifit_linear_alloc(n, p)!
        defer {
            gsl_matrix_free(X); gsl_vector_free(yu); gsl_vector_free(yv); gsl_vector_free(cu); gsl_vector_free(cv)
            gsl_matrix_free(cov); gsl_multifit_linear_free(work)
        }
        for k in 0..<n {
            let t = PolynomialMapping2D.terms(xi: (xs[k] - cx) / h, eta: (ys[k] - cy) / h, order: order)
            for m in 0..<p { gsl_matrix_set(X, k, m, t[m]) }
            gsl_vector_set(yu, k, mask[k].u)
            gsl_vector_set(yv, k, mask[k].v)
        }
        var chiU = 0.0, chiV = 0.0
        var status = gsl_multifit_linear(X, yu, cu, cov, &chiU, work)
        guard status == GSL_SUCCESS else { throw .fitFailed(status: status) }
        status = gsl_multifit_linear(X, yv, cv, cov, &chiV, work)
        guard status == GSL_SUCCESS else { throw .fitFailed(status: status) }
        let mapping = PolynomialMapping2D(order: order, centreX: cx, centreY: cy, halfSize: h,
                                          uCoefficients: (0..<p).map { gsl_vector_get(cu, $0) },
                                          vCoefficients: (0..<p).map { gsl_vector_get(cv, $0) })
        return Result(mapping: mapping, residualRMS: ((chiU + chiV) / Double(n)).squareRoot(), pointCount: n)
    }

    /// RMS over `points` of the vector difference between two mappings (e.g. recovered − true), in the
    /// mappings' units.
    public static func rmsDifference(_ a: (Double, Double) -> (u: Double, v: Double), _ b: (Double, Double) -> (u: Double, v: Double),
                                     over points: [(x: Double, y: Double)]) -> Double {
        guard !points.isEmpty else { return 0 }
        var sum = 0.0
        for p in points {
            let m = a(p.x, p.y), t = b(p.x, p.y)
            sum += (m.u - t.u) * (m.u - t.u) + (m.v - t.v) * (m.v - t.v)
        }
        return (sum / Double(points.count)).squareRoot()
    }
}
