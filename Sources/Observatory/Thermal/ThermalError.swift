/// A thermal or lamp fault, or a command the device refuses. Procedures catch these and decide (retry,
/// abort, skip); each case carries what a log line needs.
public enum ThermalError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The heater stopped during warm-up (a modelled fault); the source cools back toward ambient.
    case heaterFailed(device: String, atSeconds: Double, kelvin: Double)
    /// The time limit passed before the temperature was within tolerance for the hold time.
    case setPointNotReached(device: String, setPointKelvin: Double, reachedKelvin: Double, afterSeconds: Double)
    /// Every ignition attempt failed.
    case ignitionFailed(device: String, attempts: Int)
    /// Ignition was requested during the cool-down, when the lamp must not be re-ignited.
    case coolingDown(device: String, remainingSeconds: Double)
    /// Turning the lamp off before its warm-up ended, without forcing it.
    case warmingUp(device: String, remainingSeconds: Double)
    /// The chiller must run while the lamp is on or cooling down.
    case chillerNeeded(device: String, reason: String)
    /// A shutter move did not complete within its time limit.
    case shutterTimeout(device: String, limitSeconds: Double)
    /// Waiting for a lamp warm-up while the lamp is off.
    case lampOff(device: String)
    /// A command that needs the CSC in ENABLED.
    case notEnabled(device: String, state: String)

    public var description: String {
        switch self {
        case .heaterFailed(let d, let t, let k):
            return "\(d): heater failed at t=\(t) s at \(k) K"
        case .setPointNotReached(let d, let sp, let r, let t):
            return "\(d): set point \(sp) K not reached after \(t) s (at \(r) K)"
        case .ignitionFailed(let d, let n):
            return "\(d): lamp did not ignite in \(n) attempts"
        case .coolingDown(let d, let r):
            return "\(d): lamp is cooling down, cannot re-ignite for another \(r) s"
        case .warmingUp(let d, let r):
            return "\(d): lamp is warming up for another \(r) s; turn it off only with force"
        case .chillerNeeded(let d, let why):
            return "\(d): chiller needed: \(why)"
        case .shutterTimeout(let d, let s):
            return "\(d): shutter did not finish moving within \(s) s"
        case .lampOff(let d):
            return "\(d): the lamp is off, nothing to warm up"
        case .notEnabled(let d, let s):
            return "\(d): command needs ENABLED, CSC is \(s)"
        }
    }
}
