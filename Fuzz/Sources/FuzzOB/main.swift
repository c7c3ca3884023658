import Foundation
import FuzzDriver
import Procedures
import ScenarioKit

// An ESO OB file as a METIS scenario's `run:` reads it: YAML templates, every template parameter checked
// against the template's table. Each input is written as the OB beside a fixed METIS scenario.
for procedure in BuiltInProcedures.all { ProcedureRegistry.register(procedure) }
let folder = FileManager.default.temporaryDirectory.appendingPathComponent("obsim-fuzz-ob-\(getpid())")
try! FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
let ob = folder.appendingPathComponent("fuzz-ob.yaml")
let scenarioFile = folder.appendingPathComponent("fuzz.yaml").path
let scenario = """
name: fuzz
procedure: metis
site: armazones
run: [fuzz-ob.yaml]
study:
  trials: 1
  detector: timing
"""
runFuzzer { data in
    try! data.write(to: ob)
    guard let s = try? ScenarioLoader.parse(scenario, file: scenarioFile) else { return }
    _ = ScenarioDigest.of(s)
}
