import Foundation
import FuzzDriver
import Procedures
import ScenarioKit

// A scenario file as `obsim validate` reads it: YAML, every key checked, the procedure built at every
// sweep point. Any bytes must give a scenario or diagnostics, never a crash or an unbounded allocation.
for procedure in BuiltInProcedures.all { ProcedureRegistry.register(procedure) }
runFuzzer { data in
    guard let scenario = try? ScenarioLoader.parse(String(decoding: data, as: UTF8.self), file: "fuzz.yaml") else { return }
    _ = ScenarioDigest.of(scenario)
    _ = scenario.sweepPoints.count
}
