import Foundation
import Testing
@testable import Procedures
import Observatory
import SimKernel

/// The `twilight-flats` study on LATISS takes its frames through `LATISSSession` (`LATISSTwilightImaging`).
@Suite struct LATISSTwilightSessionTests {
    static let epoch = "2026-03-20T20:00:00Z"

    static func procedure() throws -> TwilightFlats {
        var values: [String: ParameterValue] = [:]
        for spec in TwilightFlats.schema.parameters {
            if case .defaultValue(let v) = spec.requirement { values[spec.key] = v }
        }
        values["clear_sky_probability"] = .number(1)
        values["n_levels"] = .integer(1)
        return try TwilightFlats(configuration: ProcedureConfiguration(parameters: ValueSet(values), instrumentPreset: "auxtel-latiss"))
    }

    static func context(_ sim: Simulation, fidelity: DetectorFidelity = .roiStatistics) -> TrialContext {
        TrialContext(simulation: sim, seed: 42, trial: 0,
                     site: SiteLocation(name: "auxtel", latitudeDegrees: -30.244789, longitudeDegrees: -70.747686, elevationMetres: 2650),
                     epochUnixSeconds: UTCDate.parse(epoch)!, nightsUnixSeconds: [], fidelity: fidelity, keepsDetail: false)
    }

    /// One trial of the study as the runner starts it (`runTrial(_:)`), traced; `probe` is a second
    /// process started at 0 beside it.
    static func run(probe: ((Simulation) async throws -> Void)? = nil) throws -> (result: TrialResult, trace: [TraceRecord]) {
        let p = try procedure()
        let sim = Simulation(seed: 42, trial: 0)
        defer { sim.shutDown() }
        sim.trace = Trace()
        let context = context(sim)
        final class Box { var result: TrialResult?; var error: (any Error)? }
        let box = Box()
        sim.process("procedure") {
            do { box.result = try await p.runTrial(context) } catch { box.error = error }
        }
        if let probe { sim.process("probe") { try await probe(sim) } }
        try sim.run(until: 3 * 86_400)
        if let e = box.error { throw e }
        return (try #require(box.result), sim.trace?.records ?? [])
    }

    /// A twilight flat occupies the camera for its exposure plus the 2 s readout (LATISSCameraTiming), and
    /// only then draws its frame from "LATISS.detector", before the 1 s frame overhead. The first flat's
    /// times come from its trace record (at the end of the overhead); a probe drawing from the stream
    /// halfway through that flat's exposure gets the stream's first value, one halfway through the
    /// overhead after it does not.
    @Test func pixelsAreDrawnOnlyAfterTheExposureTime() throws {
        let reference = try Self.run()
        #expect((reference.result.metrics["frames_taken"] ?? 0) > 0)
        let flat = try #require(reference.trace.first { $0.actor == "LATISS" && $0.action == "flat" })
        let dit = try #require(flat.attributes.first { $0.key == "dit" }.flatMap { Double($0.value) })
        let overhead = 1.0
        let frameEnd = flat.time - overhead
        let frameStart = frameEnd - LATISSCameraTiming().frameSeconds(exposureSeconds: dit)
        #expect(frameEnd - frameStart >= dit + 2 - 1e-9)
        // Every flat occupies the camera for its exposure, readout and overhead: consecutive records are at
        // least that far apart (more when the operator waits for the sky).
        let flats = reference.trace.filter { $0.actor == "LATISS" && $0.action == "flat" }
        for (a, b) in zip(flats, flats.dropFirst()) {
            let bDIT = try #require(b.attributes.first { $0.key == "dit" }.flatMap { Double($0.value) })
            #expect(b.time - a.time >= LATISSCameraTiming().frameSeconds(exposureSeconds: bDIT) + overhead - 1e-9)
        }
        let firstDraw = Simulation(seed: 42, trial: 0).stream("LATISS.detector").uniform()
        for (at, beforeTheEnd) in [(frameStart + dit / 2, true), (frameEnd + overhead / 2, false)] {
            var drawn: Double?
            _ = try Self.run { sim in
                try await sim.timeout(at)
                drawn = sim.stream("LATISS.detector").uniform()
            }
            let d = try #require(drawn)
            if beforeTheEnd {
                #expect(d == firstDraw, "pixels drawn before the exposure time passed (probe at \(at) s)")
            } else {
                #expect(d != firstDraw, "no pixels drawn at the end of the frame (probe at \(at) s)")
            }
        }
    }

    /// The study's frames and instrument are the session's: through a session of our own, its filter
    /// wheel ends at SDSSr_65mm and its mount at the level's elevation (airmass 1: 90°, REFERENCES §1.3's
    /// anti-solar pointing), and the trial is the one `runTrial(_:)` gives.
    @Test func theSessionPointsConfiguresAndTakesTheFrames() throws {
        let p = try Self.procedure()
        let sim = Simulation(seed: 42, trial: 0)
        defer { sim.shutDown() }
        let context = Self.context(sim)
        let session = LATISSSession(settings: .withoutBlocks(roiSize: 256), context: context)
        #expect(session.auxTel.filterWheel.position == "empty_1")
        final class Box { var result: TrialResult? }
        let box = Box()
        sim.process("procedure") { box.result = try await p.runTrial(context) { _ in LATISSTwilightImaging(session: session) } }
        try sim.run(until: 3 * 86_400)
        let r = try #require(box.result)
        #expect(session.auxTel.filterWheel.position == "SDSSr_65mm")
        #expect(abs(session.auxTel.atMount.elevationDegrees - 90) < 1e-6)
        let alone = try Self.run().result
        #expect(r.outcome == alone.outcome)
        #expect(r.metrics == alone.metrics)
    }

    /// The one LATISS mapping (`DetectorFidelity.detector`): a twilight flat, whose level sets the next
    /// exposure, has ROI statistics at timing (as a watched image has); an image nobody reads has none. The study's frames are
    /// amplifier 0's 256 × 256 region of interest at roi-pixels, the whole detector at full-frame, and its
    /// master flat is measured on amplifier 0's pixels whenever there are pixels.
    @Test func fidelityMapping() throws {
        let w = [PixelRect(x0: 10, y0: 20, width: 8, height: 8)]
        let model = DetectorModel.latissITL3800()
        let roi = model.roi(amplifier: 0)
        #expect(roi.width == 256 && roi.height == 256)
        let expected: [DetectorFidelity: (read: Fidelity, unread: Fidelity?, study: Fidelity, pixels: PixelRect?)] = [
            .timing: (.roiStatistics, nil, .roiStatistics, nil),
            .roiStatistics: (.roiStatistics, .roiStatistics, .roiStatistics, nil),
            .roiPixels: (.windows(w), .windows(w), .windows([roi]), roi),
            .fullFrame: (.fullFrame, .fullFrame, .fullFrame, model.amplifiers[0].region),
        ]
        let p = try Self.procedure()
        let instrument = try TwilightInstrument(preset: "auxtel-latiss", bandName: "SDSSr", modeName: "NORMAL", minimumExposureSeconds: nil)
        let site = try Site(name: "auxtel", latitudeDegrees: -30.244789, longitudeDegrees: -70.747686, heightMetres: 2650)
        for (study, row) in expected {
            let context = Self.context(Simulation(seed: 1, trial: 0), fidelity: study)
            let session = LATISSSession(settings: .withoutBlocks(roiSize: 256), context: context)
            let imaging = LATISSTwilightImaging(session: session)
            #expect(imaging.fidelity(pixels: w[0]) == row.read, "\(study)")
            #expect(session.fidelity(windows: w) == row.unread, "\(study)")
            #expect(session.measuredFidelity(windows: w) == row.read, "\(study)")
            let sky = TwilightSkyView(site: site, band: instrument.band, camera: instrument.camera, epochUnixSeconds: context.epochUnixSeconds)
            let run = TwilightRun(procedure: p, context: context, instrument: instrument, sky: sky, imaging: imaging)
            #expect(run.fidelity == row.study, "\(study)")
            #expect(run.pixelRect == row.pixels, "\(study)")
        }
    }

    /// On METIS the study on its own runs through a `METISSession` whose mechanisms start at the table's
    /// defaults (METIS.Parameters.standard: IMG-LM-filter L', IMG-N-filter N2, both ND wheels OPEN), as
    /// the study always has: "configure instrument" is 0 s for N (N2, OPEN already in), and for M' the
    /// shorter way round the 13-slot IMG-LM wheel from L' (8 slots one way, 5 the other): 5 × 2 s + 1 s
    /// settle = 11 s.
    @Test(arguments: [("metis-img-n", "N", 0.0), ("metis-img-lm", "M'", 11.0)])
    func metisStudyStartsFromTheTableDefaults(preset: String, band: String, configureSeconds: Double) throws {
        var values: [String: ParameterValue] = [:]
        for spec in TwilightFlats.schema.parameters {
            if case .defaultValue(let v) = spec.requirement { values[spec.key] = v }
        }
        values["clear_sky_probability"] = .number(1)
        values["n_levels"] = .integer(1)
        values["band"] = .string(band)
        let p = try TwilightFlats(configuration: ProcedureConfiguration(parameters: ValueSet(values), instrumentPreset: preset))
        let sim = Simulation(seed: 42, trial: 0)
        defer { sim.shutDown() }
        let context = TrialContext(simulation: sim, seed: 42, trial: 0,
                                   site: SiteLocation(name: "armazones", latitudeDegrees: -24.5899, longitudeDegrees: -70.1918, elevationMetres: 3060),
                                   epochUnixSeconds: UTCDate.parse(Self.epoch)!, nightsUnixSeconds: [], fidelity: .timing, keepsDetail: false)
        final class Box { var result: TrialResult? }
        let box = Box()
        sim.process("procedure") { box.result = try await p.runTrial(context) }
        try sim.run(until: 3 * 86_400)
        _ = try #require(box.result)
        let configure = try #require(sim.steps.first { $0.name == "configure instrument" })
        #expect(abs(configure.duration - configureSeconds) < 1e-9, "\(preset): \(configure.duration) s")
    }
}
