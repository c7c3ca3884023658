// swift-tools-version: 6.1
// Obsim: a discrete-event simulator of an observatory's calibration work.
// Module arrows follow docs/DESIGN.md ("Layout"): obsim -> Reporting, Experiments, ScenarioKit -> Procedures
// -> Observatory, Analysis -> SimKernel -> CGSL. Nothing below `obsim` prints.
import PackageDescription
import Foundation

/// Nonisolated async functions run on their caller's executor (SE-0461) instead of hopping to the generic
/// executor on entry and back after every call: a process calls a few thousand of them per trial that never
/// suspend, and each hop was a task switch with an executor-preference look-up (docs/performance.md,
/// "Kernel resume").
let strict: [SwiftSetting] = [.swiftLanguageMode(.v6), .enableUpcomingFeature("NonisolatedNonsendingByDefault")]

let package = Package(
    name: "Obsim",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "obsim", targets: ["obsim"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
    ],
    targets: [
        .systemLibrary(name: "CGSL", pkgConfig: "gsl", providers: [.apt(["libgsl-dev"])]),
        .systemLibrary(name: "CFITSIO", pkgConfig: "cfitsio", providers: [.apt(["libcfitsio-dev"])]),
        .target(name: "SimKernel", dependencies: ["CGSL"], swiftSettings: strict + [.unsafeFlags(["-enforce-exclusivity=unchecked"])]),
        .target(name: "Observatory", dependencies: ["SimKernel", "CGSL"], swiftSettings: strict),
        .target(name: "Analysis", dependencies: ["SimKernel", "CGSL"], swiftSettings: strict),
        .target(name: "Procedures", dependencies: ["Observatory", "Analysis", "SimKernel"], swiftSettings: strict),
        .target(name: "ScenarioKit", dependencies: ["Procedures", "Observatory", "SimKernel", "Yams"], swiftSettings: strict),
        .target(name: "Experiments", dependencies: ["Procedures", "ScenarioKit", "SimKernel", "CGSL"], swiftSettings: strict),
        .target(name: "Reporting", dependencies: ["Experiments", "ScenarioKit", "Procedures", "Observatory", "SimKernel", "CFITSIO"], swiftSettings: strict),
        .executableTarget(
            name: "obsim",
            dependencies: [
                "Reporting", "Experiments", "ScenarioKit", "Procedures", "Observatory", "Analysis", "SimKernel",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strict
        ),
        .testTarget(name: "SimKernelTests", dependencies: ["SimKernel", "CGSL"], swiftSettings: strict),
        .testTarget(name: "ObservatoryTests", dependencies: ["Observatory", "SimKernel", "CGSL"], swiftSettings: strict),
        .testTarget(name: "AnalysisTests", dependencies: ["Analysis", "SimKernel"], swiftSettings: strict),
        .testTarget(name: "ProceduresTests", dependencies: ["Procedures", "Observatory", "Analysis", "SimKernel"], swiftSettings: strict),
        .testTarget(name: "ScenarioKitTests", dependencies: ["ScenarioKit", "Procedures", "Observatory", "SimKernel"], swiftSettings: strict),
        .testTarget(name: "ExperimentsTests", dependencies: ["Experiments", "ScenarioKit", "Procedures", "SimKernel", "Reporting", "Observatory"], swiftSettings: strict),
        .testTarget(name: "ReportingTests", dependencies: ["Reporting", "Experiments", "Procedures", "CFITSIO"], swiftSettings: strict),
        // The repository as a user's clone sees it: no paths outside it, README examples that run.
        .testTarget(name: "RepositoryTests", swiftSettings: strict),
    ]
)

// Fuzz targets (`make fuzz`): only when OBSIM_FUZZ is set, as they link libFuzzer, which exists only in a
// `-sanitize=fuzzer` build; the normal build and `make test` never see them.
if ProcessInfo.processInfo.environment["OBSIM_FUZZ"] != nil {
    package.targets += [
        .target(name: "FuzzDriver", path: "Fuzz/Sources/FuzzDriver", swiftSettings: strict),
        .executableTarget(name: "FuzzScenario", dependencies: ["FuzzDriver", "ScenarioKit", "Procedures"],
                          path: "Fuzz/Sources/FuzzScenario", swiftSettings: strict),
        .executableTarget(name: "FuzzBlock", dependencies: ["FuzzDriver", "ScenarioKit", "Procedures"],
                          path: "Fuzz/Sources/FuzzBlock", swiftSettings: strict),
        .executableTarget(name: "FuzzOB", dependencies: ["FuzzDriver", "ScenarioKit", "Procedures"],
                          path: "Fuzz/Sources/FuzzOB", swiftSettings: strict),
        .executableTarget(name: "FuzzState", dependencies: ["FuzzDriver", "Experiments", "Reporting"],
                          path: "Fuzz/Sources/FuzzState", swiftSettings: strict),
    ]
}
