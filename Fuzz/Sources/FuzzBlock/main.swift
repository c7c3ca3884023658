import Foundation
import FuzzDriver
import Procedures
import ScenarioKit

// A Rubin block file as a scenario's `run:` reads it: JSON or YAML, every script and parameter checked
// against the script's schema. Each input is written as the block beside a fixed LATISS scenario.
for procedure in BuiltInProcedures.all { ProcedureRegistry.register(procedure) }
let folder = FileManager.default.temporaryDirectory.appendingPathComponent("obsim-fuzz-block-\(getpid())")
try! FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
let block = folder.appendingPathComponent("fuzz-block.json")
let scenarioFile = folder.appendingPathComponent("fuzz.yaml").path
let scenario = """
name: fuzz
procedure: latiss
site: auxtel
instrument:
  preset: auxtel
run: [fuzz-block.json]
study:
  trials: 1
"""
runFuzzer { data in
    try! data.write(to: block)
    guard let s = try? ScenarioLoader.parse(scenario, file: scenarioFile) else { return }
    _ = ScenarioDigest.of(s)
}
