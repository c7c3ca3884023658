import Procedures
import SimKernel

/// A small procedure exercising the whole pipeline: parallel steps on two lanes, named random streams,
/// a fault with a restart contingency, an abort, and a metric that aborted trials lack.
struct TestCalibration: Procedure {
    static let name = "test-calibration"
    static let summary = "Warm a lamp while the dome moves, then take flats; restarts on ignition failure."
    static let schema = ProcedureSchema(
        parameters: [
            ParameterSpec("n_flat", .integer, .defaultValue(.integer(5)), min: 1, max: 100, doc: "Flats to take."),
            ParameterSpec("exposure", .quantity(.time), .defaultValue(.number(6)), min: 0.1, max: 60, doc: "Flat exposure time."),
            ParameterSpec("warmup", .quantity(.time), .defaultValue(.number(900)), min: 0, doc: "Lamp warm-up."),
            ParameterSpec("max_restarts", .integer, .defaultValue(.integer(2)), min: 0, doc: "Restarts before giving up."),
        ],
        instrumentPresets: ["auxtel"],
        instrument: [
            ParameterSpec("dome.speed", .quantity(.angularSpeed), .defaultValue(.number(1.5)), min: 0.1, max: 10, doc: "Dome azimuth speed."),
        ],
        faults: [ParameterSpec.faultProbability("lamp_ignition_failure", default: 0.2, doc: "Per ignition attempt.")],
        metrics: [MetricSpec("flat_level_adu", unit: "adu", doc: "Mean flat level."), MetricSpec("restarts", unit: "1", doc: "Restarts.")]
    )

    let nFlat: Int
    let exposure: Double
    let warmup: Double
    let maxRestarts: Int
    let domeSpeed: Double
    let ignitionFailure: Double

    init(configuration c: ProcedureConfiguration) throws {
        nFlat = c.parameters.int("n_flat")
        exposure = c.parameters.double("exposure")
        warmup = c.parameters.double("warmup")
        maxRestarts = c.parameters.int("max_restarts")
        domeSpeed = c.instrument.double("dome.speed")
        ignitionFailure = c.faults.double("lamp_ignition_failure")
        if Double(nFlat) * exposure > 600 {
            throw ConfigurationError(path: "parameters.n_flat", "n_flat × exposure must stay under 600 s, got \(Double(nFlat) * exposure) s")
        }
    }

    func runTrial(_ context: TrialContext) async throws -> TrialResult {
        let sim = context.simulation
        let dome = sim.stream("dome")
        let lamp = sim.stream("lamp")
        let detector = sim.stream("detector")
        var restarts = 0
        while true {
            let distance = dome.uniform(0, 180)
            let move = sim.process("dome") {
                try await sim.step("move dome", lane: "ATDome", use: .mechanism) { try await sim.timeout(distance / self.domeSpeed) }
            }
            let ignited = try await sim.step("ignite lamp", lane: "lamp", use: .lamp) { () async throws -> Bool in
                try await sim.timeout(30)
                return !lamp.bernoulli(self.ignitionFailure)
            }
            try await move.value()
            if !ignited {
                if restarts == maxRestarts { throw ProcedureAbort(cause: "lamp_ignition", metrics: ["restarts": Double(restarts)]) }
                restarts += 1
                continue
            }
            try await sim.step("warm up", lane: "lamp", use: .lamp) { try await sim.timeout(warmup) }
            var sum = 0.0
            for _ in 0..<nFlat {
                sum += try await sim.step("take flat", lane: "detector", use: .exposure) { () async throws -> Double in
                    try await sim.timeout(exposure + 2)
                    return detector.gaussian(mean: 4000 * exposure, sigma: 100)
                }
            }
            return TrialResult(outcome: restarts == 0 ? .completed : .completedAfterRestart,
                               metrics: ["flat_level_adu": sum / Double(nFlat), "restarts": Double(restarts)])
        }
    }
}
