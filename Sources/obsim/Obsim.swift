import ArgumentParser
import SimKernel

@main
struct Obsim: ParsableCommand {
    static func main() { CommandLineRunner.main(Obsim.self) }

    static let configuration = CommandConfiguration(
        commandName: "obsim",
        abstract: "Discrete-event simulator of an observatory's calibration work.",
        version: ObsimVersion.string,
        subcommands: [Bench.self, Sky.self, Motion.self, Run.self, Validate.self, ScenarioReferenceCommand.self, Merge.self,
                      TraceCommand.self, BaselineCommand.self, Check.self, Calibrate.self]
    )
}

enum ObsimVersion {
    static let string = "0.1.0"
}
