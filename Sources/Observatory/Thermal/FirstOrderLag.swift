import Foundation

/// A first-order thermal lag toward a set point, with a time constant that depends on the step.
///
/// ## Law
/// T(t) = T_set − (T_set − T₀)·e^(−t/τ), with τ(ΔT) = τ_ref·(|ΔT|/ΔT_ref)^β.
/// β = 0 is a plain linear lag (the time to tolerance still grows as ln|ΔT|); β > 0 makes larger steps
/// slower still, as a heater of limited power does. The temperature is within `toleranceKelvin` of the
/// set point from t_tol = τ·ln(|ΔT|/tol) on (closed form, no stepping), and the source is *ready* once
/// it has stayed there for `holdSeconds`: t_ready = t_tol + hold (the approach is monotonic, so the
/// hold is never interrupted).
public struct FirstOrderLag: Sendable, Equatable {
    public var referenceTimeConstantSeconds: Double
    public var referenceStepKelvin: Double
    public var stepExponent: Double
    public var toleranceKelvin: Double
    public var holdSeconds: Double

    public init(referenceTimeConstantSeconds: Double, referenceStepKelvin: Double, stepExponent: Double,
                toleranceKelvin: Double, holdSeconds: Double) {
        precondition(referenceTimeConstantSeconds > 0 && referenceStepKelvin > 0 && toleranceKelvin > 0 && holdSeconds >= 0,
                     "a lag needs τ_ref > 0, ΔT_ref > 0, tolerance > 0 and hold >= 0")
        self.referenceTimeConstantSeconds = referenceTimeConstantSeconds
        self.referenceStepKelvin = referenceStepKelvin
        self.stepExponent = stepExponent
        self.toleranceKelvin = toleranceKelvin
        self.holdSeconds = holdSeconds
    }

    /// The lag whose reference step is ready exactly at `readySeconds`:
    /// τ_ref = (t_ready − hold) / ln(ΔT_ref / tol).
    public static func calibrated(referenceStepKelvin: Double, toleranceKelvin: Double, readySeconds: Double,
                                  holdSeconds: Double, stepExponent: Double) -> FirstOrderLag {
        precondition(referenceStepKelvin > toleranceKelvin && readySeconds > holdSeconds,
                     "calibration needs a step larger than the tolerance and a ready time longer than the hold")
        let tau = (readySeconds - holdSeconds) / log(referenceStepKelvin / toleranceKelvin)
        return FirstOrderLag(referenceTimeConstantSeconds: tau, referenceStepKelvin: referenceStepKelvin,
                             stepExponent: stepExponent, toleranceKelvin: toleranceKelvin, holdSeconds: holdSeconds)
    }

    /// τ for a step of `stepKelvin` (sign ignored).
    public func timeConstantSeconds(stepKelvin: Double) -> Double {
        let s = abs(stepKelvin)
        guard s > 0 else { return referenceTimeConstantSeconds }
        return referenceTimeConstantSeconds * pow(s / referenceStepKelvin, stepExponent)
    }

    /// The temperature `elapsedSeconds` after the set point changed from `startKelvin` to `setPointKelvin`.
    public func temperatureKelvin(startKelvin: Double, setPointKelvin: Double, elapsedSeconds: Double) -> Double {
        let step = setPointKelvin - startKelvin
        guard step != 0, elapsedSeconds > 0 else { return elapsedSeconds > 0 ? setPointKelvin : startKelvin }
        return setPointKelvin - step * exp(-elapsedSeconds / timeConstantSeconds(stepKelvin: step))
    }

    /// t_tol = τ·ln(|ΔT|/tol), 0 if the step is already within tolerance.
    public func secondsToTolerance(stepKelvin: Double) -> Double {
        let s = abs(stepKelvin)
        guard s > toleranceKelvin else { return 0 }
        return timeConstantSeconds(stepKelvin: s) * log(s / toleranceKelvin)
    }

    /// t_ready = t_tol + hold.
    public func secondsToReady(stepKelvin: Double) -> Double { secondsToTolerance(stepKelvin: stepKelvin) + holdSeconds }
}
