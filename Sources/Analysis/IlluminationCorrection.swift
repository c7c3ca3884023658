import CGSL
import Foundation

/// The large-scale ("illumination") correction of a lamp flat by a twilight flat, on a grid of cells
/// over the detector: the lamp flat times a smooth fit to twilight / lamp (the usual illumination
/// correction), and the large-scale error of a flat against the truth.
public enum IlluminationCorrection {
    /// Cell centres of an `n` × `n` grid in normalised detector coordinates, row by row.
    public static func cellCentres(grid n: Int) -> [(u: Double, v: Double)] {
        var c: [(u: Double, v: Double)] = []
        for j in 0..<n { for i in 0..<n { c.append((-1 + (2 * Double(i) + 1) / Double(n), -1 + (2 * Double(j) + 1) / Double(n))) } }
        return c
    }

    /// RMS, %, of a flat's cells divided by the truth's, each normalised to mean 1.
    public static func largeScaleErrorPercent(flat: [Double], truth: [Double]) -> Double {
        precondition(flat.count == truth.count && !flat.isEmpty)
        let ratio = zip(flat, truth).map { $0 / $1 }
        let mean = ratio.reduce(0, +) / Double(ratio.count)
        let ms = ratio.reduce(0) { $0 + ($1 / mean - 1) * ($1 / mean - 1) } / Double(ratio.count)
        return 100 * ms.squareRoot()
    }

    public struct FitFailed: Error, CustomStringConvertible {
        public let status: Int32
        public var description: String { "illumination-correction fit failed (GSL status \(status))" }
    }

    /// The lamp flat corrected by the twilight flat: lamp × S(twilight / lamp), S the least-squares fit of
    /// total degree ≤ `degree` in (u, v) (GSL `gsl_multifit_linear`), evaluated at the cell centres.
    public static func corrected(lamp: [Double], twilight: [Double], grid n: Int, degree: Int = 2) throws(FitFailed) -> [Double] {
        let centres = cellCentres(grid: n)
        precondition(lamp.count == centres.count && twilight.count == centres.count)
        var exponents: [(Int, Int)] = []
        for total in 0...degree { for a in stride(from: total, through: 0, by: -1) { exponents.append((a, total - a)) } }
        let m = centres.count, p = exponents.count
        let X = gsl_matrix_alloc(m, p)!, y = gsl_vector_alloc(m)!, c = gsl_vector_alloc(p)!, cov = gsl_matrix_alloc(p, p)!
        let work = gsl_multifit_linear_alloc(m, p)!
        defer { gsl_matrix_free(X); gsl_vector_free(y); gsl_vector_free(c); gsl_matrix_free(cov); gsl_multifit_linear_free(work) }
        for (k, centre) in centres.enumerated() {
            for (q, e) in exponents.enumerated() { gsl_matrix_set(X, k, q, pow(centre.u, Double(e.0)) * pow(centre.v, Double(e.1))) }
            gsl_vector_set(y, k, twilight[k] / lamp[k])
        }
        var chi2 = 0.0
        let status = gsl_multifit_linear(X, y, c, cov, &chi2, work)
        guard status == GSL_SUCCESS else { throw FitFailed(status: status) }
        return centres.enumerated().map { k, centre in
            var s = 0.0
            for (q, e) in exponents.enumerated() { s += gsl_vector_get(c, q) * pow(centre.u, Double(e.0)) * pow(centre.v, Double(e.1)) }
            return lamp[k] * s
        }
    }
}
