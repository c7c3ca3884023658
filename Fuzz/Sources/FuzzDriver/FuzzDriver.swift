import Foundation

// libFuzzer's entry when linked with `-sanitize=fuzzer`: SwiftPM links an executable with
// `--defsym main=<Module>_main`, so libFuzzer's own `main` never runs and the target hands control to it here.
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(_ argc: UnsafeMutablePointer<CInt>,
                         _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
                         _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> CInt

/// The input parser under test; a C callback cannot capture it, so it waits here.
nonisolated(unsafe) var fuzzBody: (Data) -> Void = { _ in }

/// Runs libFuzzer over `body` with the process's arguments (`-max_total_time=60 CORPUS...`). The body must
/// return normally for every input: a trap, a sanitizer report or a leak is the finding.
public func runFuzzer(_ body: @escaping (Data) -> Void) -> Never {
    fuzzBody = body
    var argc = CommandLine.argc
    var argv = CommandLine.unsafeArgv
    exit(LLVMFuzzerRunDriver(&argc, &argv, fuzzOneInput))
}

/// One input. Also exported under libFuzzer's conventional name, which its (unused) `main` refers to.
@_cdecl("LLVMFuzzerTestOneInput")
func fuzzOneInput(_ bytes: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    fuzzBody(bytes.map { Data(bytes: $0, count: count) } ?? Data())
    return 0
}
