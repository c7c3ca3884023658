import SimKernel

/// A filter/mask wheel or a linear slide with named positions, as the documents name them.
///
/// A move costs `secondsPerSlot` per slot passed (a wheel turns the shorter way round, a slide goes
/// straight), plus `settleSeconds`; a move to the current position costs nothing. Moves hold the device's
/// `Resource`, so moves on one device are serial and moves on different devices overlap. Each move is a
/// traced step on the device's subsystem lane. A move jams with probability `jamProbabilityPerMove`
/// (drawn from the stream "<name>.jam"): the device stops part-way, stays at its old position, and refuses
/// moves until `recover()`.
public final class NamedPositionDevice {
    public enum Geometry: String, Sendable { case wheel, slide }

    public struct Parameters: Sendable, Equatable {
        public var secondsPerSlot: Double
        public var settleSeconds: Double
        public var jamProbabilityPerMove: Double
        /// Time to clear a jam (re-initialise the device and drive it home).
        public var recoverSeconds: Double

        public init(secondsPerSlot: Double, settleSeconds: Double, jamProbabilityPerMove: Double, recoverSeconds: Double) {
            self.secondsPerSlot = secondsPerSlot
            self.settleSeconds = settleSeconds
            self.jamProbabilityPerMove = jamProbabilityPerMove
            self.recoverSeconds = recoverSeconds
        }
    }

    public let name: String
    /// The Gantt lane of the subsystem it belongs to ("WCU", "CFO", "IMG-LM", "wheels" ...).
    public let lane: String
    public let geometry: Geometry
    /// Position names in slot order, spelled as in the documents.
    public let positions: [String]
    /// Other spellings the documents use for a position (e.g. "ELT mask" for `ELT_mask`).
    public let aliases: [String: String]
    public var parameters: Parameters
    public private(set) var position: String
    public private(set) var isJammed = false
    public let resource: Resource
    unowned let simulation: Simulation

    public init(_ simulation: Simulation, name: String, lane: String, geometry: Geometry, positions: [String],
                aliases: [String: String] = [:], initial: String? = nil, parameters: Parameters) {
        precondition(!positions.isEmpty, "\(name) needs at least one position")
        precondition(Set(positions).count == positions.count, "\(name) has duplicate position names")
        self.simulation = simulation
        self.name = name
        self.lane = lane
        self.geometry = geometry
        self.positions = positions
        self.aliases = aliases
        self.parameters = parameters
        let start = initial ?? positions[0]
        precondition(positions.contains(start), "\(name): initial position \(start) is not installed")
        self.position = start
        self.resource = Resource(simulation, name: name)
    }

    /// The installed position's canonical name: an exact name, or a documented alias.
    public func canonical(_ requested: String) throws -> String {
        if positions.contains(requested) { return requested }
        if let p = aliases[requested] { return p }
        throw MotionError.unknownPosition(device: name, position: requested, known: positions)
    }

    /// Slots passed between two positions (the shorter way round on a wheel).
    public func slots(from: String, to: String) throws -> Int {
        let i = positions.firstIndex(of: try canonical(from))!
        let k = positions.firstIndex(of: try canonical(to))!
        let straight = abs(i - k)
        return geometry == .wheel ? min(straight, positions.count - straight) : straight
    }

    /// Time a move from the current position to `target` takes, settle included.
    public func moveSeconds(to target: String) throws -> Double {
        let n = try slots(from: position, to: target)
        return n == 0 ? 0 : Double(n) * parameters.secondsPerSlot + parameters.settleSeconds
    }

    /// Moves to `target` (a document's name). Throws `unknownPosition` naming the installed positions, or
    /// `jammed` (a modelled fault) after the time spent before the jam.
    public func move(to target: String) async throws {
        let goal = try canonical(target)
        let sim = simulation
        try await sim.step("\(name) to \(goal)", lane: lane, use: .mechanism) {
            try await resource.using {
                if isJammed { throw MotionError.jammed(device: name, from: position, to: goal) }
                let seconds = try moveSeconds(to: goal)
                guard seconds > 0 else { return }
                let faults = sim.stream("\(name).jam")
                if parameters.jamProbabilityPerMove > 0 && faults.bernoulli(parameters.jamProbabilityPerMove) {
                    try await sim.timeout(seconds * faults.uniform())
                    isJammed = true
                    sim.record(name, "jammed", ["from": position, "to": goal])
                    throw MotionError.jammed(device: name, from: position, to: goal)
                }
                try await sim.timeout(seconds)
                position = goal
                sim.record(name, "in position", ["position": goal])
            }
        }
    }

    /// Clears a jam: the device re-initialises and ends at its last good position.
    public func recover() async throws {
        let sim = simulation
        try await sim.step("\(name) recover", lane: lane, use: .contingency) {
            try await resource.using {
                guard isJammed else { return }
                try await sim.timeout(parameters.recoverSeconds)
                isJammed = false
            }
        }
    }

    /// Puts the device at `position` without a move (restoring a previous night's state).
    public func restore(position: String, jammed: Bool = false) throws {
        self.position = try canonical(position)
        self.isJammed = jammed
    }
}
