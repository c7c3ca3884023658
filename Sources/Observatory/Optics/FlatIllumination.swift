import Foundation
import SimKernel

/// A smooth large-scale illumination deviation over a detector, δ(u, v) with u, v ∈ [−1, 1] the
/// detector's normalised coordinates: a sum of Legendre products c·P_i(u)·P_j(v), 1 ≤ i + j ≤ 2 (tilt,
/// saddle and bowl). A flat lit with it records (1 + δ) times the detector's true response.
///
/// Lamp flats (METIS WCU integrating sphere, AuxTel dome screen) carry such a pattern: the METIS
/// twilight-flats document exists to "improve accuracy of lamp flatfield in terms of homogeneity". No
/// amplitude is published for either lamp: [U], a documented parameter (docs/REFERENCES-physics.md §3).
public struct IlluminationPattern: Sendable, Equatable {
    /// (i, j) of each coefficient, in order.
    public static let terms: [(i: Int, j: Int)] = [(1, 0), (0, 1), (2, 0), (1, 1), (0, 2)]
    public var coefficients: [Double]

    public init(coefficients: [Double]) {
        precondition(coefficients.count == Self.terms.count, "one coefficient per Legendre term")
        self.coefficients = coefficients
    }

    public static let uniform = IlluminationPattern(coefficients: [0, 0, 0, 0, 0])

    static func legendre(_ n: Int, _ x: Double) -> Double {
        switch n {
        case 0: return 1
        case 1: return x
        default: return 1.5 * x * x - 0.5
        }
    }

    public func deviation(u: Double, v: Double) -> Double {
        var d = 0.0
        for (k, t) in Self.terms.enumerated() { d += coefficients[k] * Self.legendre(t.i, u) * Self.legendre(t.j, v) }
        return d
    }

    /// RMS of δ over the square, √Σ c²/((2i+1)(2j+1)) by the Legendre polynomials' orthogonality
    /// (∫₋₁¹ P_n² dx/2 = 1/(2n+1)); δ has zero mean there.
    public var rms: Double {
        var s = 0.0
        for (k, t) in Self.terms.enumerated() { s += coefficients[k] * coefficients[k] / Double((2 * t.i + 1) * (2 * t.j + 1)) }
        return s.squareRoot()
    }

    /// A pattern drawn with Gaussian coefficients whose expected mean square over the square is `rms`²,
    /// shared equally among the five terms.
    public static func random(rms: Double, stream: RandomStream) -> IlluminationPattern {
        let share = rms * rms / Double(terms.count)
        return IlluminationPattern(coefficients: terms.map { t in
            stream.gaussian(sigma: (share * Double((2 * t.i + 1) * (2 * t.j + 1))).squareRoot())
        })
    }

    /// The sky's gradient across the field as a ramp: `gradient` (fraction per degree along the detector's
    /// x and y) over a field `halfWidthDegrees` from centre to edge.
    public static func ramp(gradientPerDegree g: (x: Double, y: Double), halfWidthDegrees h: Double) -> IlluminationPattern {
        IlluminationPattern(coefficients: [g.x * h, g.y * h, 0, 0, 0])
    }

    /// A sky gradient given along (altitude, azimuth) turned onto the detector by the field's position
    /// angle `angleRadians` (the rotator's, relative to the vertical).
    public static func rotated(_ g: (altitude: Double, azimuth: Double), by angleRadians: Double) -> (x: Double, y: Double) {
        (g.altitude * cos(angleRadians) - g.azimuth * sin(angleRadians), g.altitude * sin(angleRadians) + g.azimuth * cos(angleRadians))
    }
}
