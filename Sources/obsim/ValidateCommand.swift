import ArgumentParser
import Foundation
import Procedures
import ScenarioKit

struct Validate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check scenario files: every problem of every file, with line and column.",
        discussion: "Exits 1 if any file has a problem. With --reference, prints the scenario key reference instead."
    )

    @Argument(help: "Scenario YAML files.") var files: [String] = []
    @Flag(help: "Print the key reference (the text of Scenarios/README.md) and exit.") var reference = false

    func validate() throws {
        if !reference && files.isEmpty { throw ValidationError("give at least one scenario file (or --reference)") }
    }

    func run() throws {
        if reference { print(ScenarioReference.markdown(), terminator: ""); return }
        var failed = 0
        for f in files {
            do {
                let s = try ScenarioLoader.load(path: f)
                print("\(f): ok (\(s.procedureName), \(s.study.trials) trials × \(s.sweepPoints.count) point(s))")
            } catch let e as ScenarioErrors {
                failed += 1
                printError(e.description)
            }
        }
        if failed > 0 { throw CommandFailure("\(failed) of \(files.count) file(s) have problems, listed above") }
    }
}

struct ScenarioReferenceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scenario-reference",
        abstract: "Print the scenario key reference generated from the code (Scenarios/README.md)."
    )
    func run() throws { print(ScenarioReference.markdown(), terminator: "") }
}
