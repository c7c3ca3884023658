import CGSL
import Foundation

/// Airmass of a pointing and its inverse.
public enum Airmass {
    public enum Formula: String, Sendable, CaseIterable {
        /// Kasten, F. & Young, A. T. 1989, Applied Optics 28, 4735: X = 1/(cos z + 0.50572·(96.07995° − z)^−1.6364),
        /// z the apparent zenith distance in degrees; 37.92 at the horizon.
        case kastenYoung = "kasten-young"
        /// Plane-parallel atmosphere, X = sec z: for reference (diverges at the horizon).
        case planeParallel = "sec-z"
    }

    /// Airmass at an (apparent) altitude in degrees, 0 ≤ alt ≤ 90.
    public static func airmass(altitudeDegrees alt: Double, formula: Formula = .kastenYoung) throws(SkyError) -> Double {
        guard alt.isFinite, (0...90).contains(alt) else {
            throw .invalid(field: "altitude", value: "\(alt)", allowed: "0 to 90 degrees")
        }
        let z = 90 - alt
        switch formula {
        case .kastenYoung: return 1 / (cos(z * .pi / 180) + 0.50572 * pow(96.07995 - z, -1.6364))
        case .planeParallel:
            guard alt > 0 else { throw .invalid(field: "altitude", value: "\(alt)", allowed: "above 0 degrees for sec z") }
            return 1 / sin(alt * .pi / 180)
        }
    }

    /// Altitude (degrees) at which the airmass equals `x`. A request x ≤ 1 ("airmass 1" of the
    /// twilight-flats document) is the zenith, 90°: Kasten–Young is 0.99971 there, and taken literally
    /// X_KY = 1 would point 1.4° off the zenith for a 0.03 % fit artefact. Above 37.92 is an error.
    public static func altitudeDegrees(forAirmass x: Double, formula: Formula = .kastenYoung) throws(SkyError) -> Double {
        switch formula {
        case .planeParallel:
            guard x.isFinite, x >= 1 else { throw .invalid(field: "airmass", value: "\(x)", allowed: "≥ 1 for sec z") }
            return asin(1 / x) * 180 / .pi
        case .kastenYoung:
            let atZenith = try airmass(altitudeDegrees: 90), atHorizon = try airmass(altitudeDegrees: 0)
            guard x.isFinite, x > 0, x <= atHorizon else {
                throw .invalid(field: "airmass", value: "\(x)", allowed: String(format: "up to %.2f (Kasten-Young at the horizon)", atHorizon))
            }
            if x <= max(1, atZenith) { return 90 }
            // A study asks for the same few airmasses (a twilight level's pointing) at every frame; the
            // Brent solve is ~5,000 instructions, the shared look-up a lock and a hash.
            return try kastenYoungInverse.value(for: x.bitPattern) { () throws(SkyError) -> Double in try solveKastenYoung(x) }
        }
    }

    private static let kastenYoungInverse = NightCache<UInt64, Double>(capacity: 10_000)

    /// GSL Brent on alt ∈ [0°, 90°]; Kasten–Young decreases monotonically with altitude.
    private static func solveKastenYoung(_ x: Double) throws(SkyError) -> Double {
        guard let solver = gsl_root_fsolver_alloc(cgsl_root_fsolver_brent()) else {
            throw .numerical("gsl_root_fsolver_alloc failed")
        }
        defer { gsl_root_fsolver_free(solver) }
        var target = x
        return try withUnsafeMutablePointer(to: &target) { (ptr) throws(SkyError) -> Double in
            var function = gsl_function(
                function: { alt, params in
                    let z = 90 - alt
                    let value = 1 / (cos(z * .pi / 180) + 0.50572 * pow(96.07995 - z, -1.6364))
                    return value - params!.assumingMemoryBound(to: Double.self).pointee
                },
                params: UnsafeMutableRawPointer(ptr))
            let status = gsl_root_fsolver_set(solver, &function, 0, 90)
            guard status == GSL_SUCCESS else { throw .numerical("gsl_root_fsolver_set status \(status)") }
            for _ in 0..<200 {
                guard gsl_root_fsolver_iterate(solver) == GSL_SUCCESS else { throw .numerical("Brent iteration failed") }
                let lo = gsl_root_fsolver_x_lower(solver), hi = gsl_root_fsolver_x_upper(solver)
                if gsl_root_test_interval(lo, hi, 1e-10, 0) == GSL_SUCCESS { return gsl_root_fsolver_root(solver) }
            }
            throw .numerical("Brent solver did not converge for airmass \(x)")
        }
    }
}
