/// Why a motion command failed. Each case names what the caller asked for and what exists or is allowed,
/// so a procedure (or a person reading its log) can act on it.
public enum MotionError: Error, Sendable, Equatable, CustomStringConvertible {
    /// No device of that name in the assembly.
    case unknownDevice(String, known: [String])
    /// No template parameter key of that name.
    case unknownTemplateKey(String, known: [String])
    /// The device has no such named position.
    case unknownPosition(device: String, position: String, known: [String])
    /// The device jammed during a move (a modelled fault); it stays unusable until `recover()`.
    case jammed(device: String, from: String, to: String)
    /// A target outside an axis's limits.
    case outsideLimits(axis: String, degrees: Double, range: ClosedRange<Double>)
    /// A command that needs power on a device that is off (the chopper).
    case notPowered(device: String)

    public var description: String {
        switch self {
        case .unknownDevice(let name, let known):
            return "unknown device '\(name)'; devices: \(known.joined(separator: ", "))"
        case .unknownTemplateKey(let key, let known):
            return "unknown template key '\(key)'; keys: \(known.joined(separator: ", "))"
        case .unknownPosition(let device, let position, let known):
            return "\(device) has no position '\(position)'; positions: \(known.joined(separator: ", "))"
        case .jammed(let device, let from, let to):
            return "\(device) jammed moving from \(from) to \(to)"
        case .outsideLimits(let axis, let degrees, let range):
            return "\(axis) target \(degrees)° outside its limits \(range.lowerBound)°…\(range.upperBound)°"
        case .notPowered(let device):
            return "\(device) is not powered"
        }
    }
}
