import Testing
@testable import Procedures
import Observatory
import SimKernel

/// What `LATISSSession` resolves once instead of looking up by name at every image: the flat screen's
/// throughput per (filter, grating) pair, the contingencies' image selections, the CSC groups asserted
/// before an image or a wheel move. Each must give what the lookup by name gives, for the right element.
@Suite struct LATISSImageKeysTests {
    static func context(_ sim: Simulation) -> TrialContext {
        TrialContext(simulation: sim, seed: 7, trial: 0,
                     site: SiteLocation(name: "auxtel", latitudeDegrees: -30.244789, longitudeDegrees: -70.747686, elevationMetres: 2650),
                     epochUnixSeconds: 1_774_036_800, nightsUnixSeconds: [], fidelity: .timing, keepsDetail: false)
    }

    /// Runs `body` as the trial's one process; returns the error it threw.
    static func run(_ session: LATISSSession, _ body: @escaping (LATISSSession) async throws -> Void) throws -> (any Error)? {
        final class Box { var error: (any Error)? }
        let box = Box()
        session.sim.process("trial") { do { try await body(session) } catch { box.error = error } }
        try session.sim.run(until: 86_400)
        return box.error
    }

    static func contingency(_ name: String, _ when: [String: ParameterValue], belowADU: Double) -> Contingency {
        Contingency(name: name, when: ValueSet(when), belowADU: belowADU, note: "note " + name, reportStep: nil, reportSeconds: 0,
                    response: SequenceFile(id: name, name: name, file: name + ".yaml", format: .block, steps: []),
                    maxRestarts: 1, onRestartLimit: [])
    }

    /// Every element a different throughput, and SDSSr_65mm not 1, so that no two of the pairs below share
    /// a value f·g/empty: a pair answered with another pair's entry (a filter or a grating change missed)
    /// gives the wrong number.
    @Test func pairThroughputIsThePairsOwnAcrossWheelChanges() throws {
        var settings = LATISS.Settings.withoutBlocks(roiSize: 8)
        settings.screen.relativeThroughput = ["SDSSr_65mm": 1.2, "SDSSg_65mm": 0.8, "SDSSy_65mm": 0.25, "holo4_003": 0.5, "empty_1": 4.0]
        let sim = Simulation(seed: 7, trial: 0)
        defer { sim.shutDown() }
        let session = LATISSSession(settings: settings, context: Self.context(sim))
        let screen = settings.screen
        // Flats in the order a run could take them: the same filter twice, a grating change under one
        // filter, a filter change under one grating, back to an earlier pair.
        let pairs = [("SDSSr_65mm", "empty_1"), ("SDSSg_65mm", "empty_1"), ("SDSSr_65mm", "empty_1"), ("SDSSr_65mm", "SDSSy_65mm"),
                     ("empty_1", "SDSSy_65mm"), ("SDSSr_65mm", "SDSSy_65mm"), ("SDSSr_65mm", "holo4_003"), ("SDSSg_65mm", "SDSSy_65mm"),
                     ("SDSSr_65mm", "empty_1"), ("empty_1", "empty_1")]
        let distinct = Set(pairs.map { "\($0.0)/\($0.1)" })
        #expect(Set(try distinct.map { name -> Double in
            let p = name.split(separator: "/").map(String.init)
            return try screen.throughput(filter: p[0], grating: p[1])
        }).count == distinct.count, "two pairs share a throughput: the test could not tell them apart")
        for (filter, grating) in pairs {
            let expected = screen.relativeThroughput[filter]! * screen.relativeThroughput[grating]! / screen.relativeThroughput["empty_1"]!
            #expect(try session.throughput(filter: filter, grating: grating) == expected, "\(filter) + \(grating)")
            #expect(try session.throughput(filter: filter, grating: grating) == (try screen.throughput(filter: filter, grating: grating)))
        }
        // One entry per pair lit: later flats of a pair are answered from it.
        #expect(session.pairThroughputs.count == distinct.count)
        // An element the screen does not know is refused at every flat, never kept.
        for _ in 0..<2 { #expect(throws: OpticsError.self) { try session.throughput(filter: "SDSSq", grating: "empty_1") } }
        #expect(session.pairThroughputs.count == distinct.count)
    }

    /// The rate from a looked-up throughput is the one by names, to the bit, lamp warming or on, screen
    /// aligned or not.
    @Test func photonRateFromAThroughputIsTheRateByNames() throws {
        let screen = ATFlatScreen()
        for lamp in [ATFlatScreen.LampState.on, .warming(progress: 0.37), .off] {
            for azimuth in [3.0, 5.2, 181.0] {
                let byNames = try screen.photonsPerSecondPerPixel(filter: "SDSSz_65mm", grating: "SDSSy_65mm", lamp: lamp, trueDomeAzimuthDegrees: azimuth)
                let t = try screen.throughput(filter: "SDSSz_65mm", grating: "SDSSy_65mm")
                #expect(screen.photonsPerSecondPerPixel(throughput: t, lamp: lamp, trueDomeAzimuthDegrees: azimuth) == byNames)
            }
        }
    }

    /// The contingencies' `when` read once select the images the fields select, the first in the list
    /// winning, each with its own threshold.
    @Test func watcherIsTheFirstContingencyWhoseFieldsAllMatch() throws {
        var settings = LATISS.Settings.withoutBlocks(roiSize: 8)
        settings.contingencies = [
            Self.contingency("sdssr 6 s", ["image_type": .string("FLAT"), "filter": .string("SDSSr_65mm"), "exp_time": .number(6)], belowADU: 10_000),
            Self.contingency("sdssy", ["image_type": .string("FLAT"), "grating": .string("SDSSy_65mm")], belowADU: 2_000),
            Self.contingency("bias", ["image_type": .string("BIAS")], belowADU: -50),
        ]
        let sim = Simulation(seed: 7, trial: 0)
        defer { sim.shutDown() }
        let session = LATISSSession(settings: settings, context: Self.context(sim))
        let cases: [(LATISSSession.ImageType, Double, String, String, Int?)] = [
            (.flat, 6, "SDSSr_65mm", "empty_1", 0),
            (.flat, 5, "SDSSr_65mm", "empty_1", nil),      // exp_time differs
            (.flat, 6, "SDSSg_65mm", "empty_1", nil),      // filter differs
            (.dark, 6, "SDSSr_65mm", "empty_1", nil),      // image type differs
            (.flat, 6, "SDSSr_65mm", "SDSSy_65mm", 0),     // both select it: the first
            (.flat, 5, "SDSSr_65mm", "SDSSy_65mm", 1),
            (.flat, 30, "empty_1", "SDSSy_65mm", 1),
            (.bias, 0, "SDSSr_65mm", "SDSSy_65mm", 2),
            (.bias, 0, "empty_1", "empty_1", 2),
        ]
        for (type, seconds, filter, grating, expected) in cases {
            #expect(session.watcher(type, seconds: seconds, filter: filter, grating: grating) == expected, "\(type) \(seconds) s \(filter) \(grating)")
            // The configuration check (`LATISS.checkImages`) asks `watches` of each: the same answer.
            let first = settings.contingencies.firstIndex { $0.watches(type.rawValue, filter: filter, grating: grating, seconds: seconds) }
            #expect(first == expected)
        }
        #expect(session.imageWatches.map(\.belowADU) == [10_000, 2_000, -50])
    }

    /// A watched image below its contingency's threshold triggers that contingency, not another: a flat at
    /// timing fidelity with the lamp off reads about the bias level, under 2,000 and 10,000 ADU.
    @Test func aFailedCheckTriggersTheContingencyThatWatchedTheImage() throws {
        var settings = LATISS.Settings.withoutBlocks(roiSize: 8)
        settings.contingencies = [
            Self.contingency("sdssr 6 s", ["image_type": .string("FLAT"), "filter": .string("SDSSr_65mm"), "exp_time": .number(6)], belowADU: 10_000),
            Self.contingency("sdssy", ["image_type": .string("FLAT"), "grating": .string("SDSSy_65mm")], belowADU: 2_000),
        ]
        for (filter, grating, seconds, expected) in [("SDSSr_65mm", "empty_1", 6.0, "sdssr 6 s"), ("empty_1", "SDSSy_65mm", 30.0, "sdssy")] {
            let sim = Simulation(seed: 7, trial: 0)
            defer { sim.shutDown() }
            let session = LATISSSession(settings: settings, context: Self.context(sim))
            let error = try Self.run(session) { s in
                _ = try await s.takeImage(.flat, seconds: 5, filter: "SDSSg_65mm", grating: "empty_1")
                #expect(!s.stopped, "an image no contingency watches stopped the run")
                _ = try await s.takeImage(.flat, seconds: seconds, filter: filter, grating: grating)
            }
            #expect(error == nil)
            #expect(session.triggered?.name == expected)
            #expect(session.watchedLevels.count == 1 && session.watchedLevels[0] < 2_000)
        }
    }

    /// Every CSC of the LATISS group must be ENABLED for an image, ATSpectrograph for a wheel move and every
    /// one of the ATCS group for prepare_for_flatfield: each in turn DISABLED refuses, naming itself; a CSC
    /// outside the group (ATWhiteLight, OCPS:1 in STANDBY by default) does not.
    @Test func resolvedGroupsRefuseOnEachMember() throws {
        func session(disabling csc: String?) -> LATISSSession {
            var settings = LATISS.Settings.withoutBlocks(roiSize: 8)
            if let csc { settings.cscInitialStates = [csc: .disabled] }
            return LATISSSession(settings: settings, context: Self.context(Simulation(seed: 7, trial: 0)))
        }
        for csc in LATISSCSCs.latissGroup {
            let s = session(disabling: csc)
            defer { s.sim.shutDown() }
            let error = try Self.run(s) { _ = try await $0.takeImage(.bias, seconds: 0, filter: "empty_1", grating: "empty_1") }
            #expect(error as? CSCCommandRejected == CSCCommandRejected(csc: csc, command: "take_imgtype BIAS", state: .disabled), "\(csc)")
            #expect(s.imageNumber == 0)
        }
        for csc in LATISSCSCs.atcsGroup {
            let s = session(disabling: csc)
            defer { s.sim.shutDown() }
            #expect(throws: CSCCommandRejected(csc: csc, command: "prepare_for_flatfield", state: .disabled)) {
                try s.requireEnabled(s.atcsGroup, for: "prepare_for_flatfield")
            }
            // The ATCS group is not asked before an image.
            #expect(try Self.run(s) { _ = try await $0.takeImage(.bias, seconds: 0, filter: "empty_1", grating: "empty_1") } == nil)
        }
        let spectrograph = session(disabling: "ATSpectrograph")
        defer { spectrograph.sim.shutDown() }
        let moved = try Self.run(spectrograph) { try await $0.setInstrument(filter: "SDSSr_65mm", grating: "empty_1") }
        #expect(moved as? CSCCommandRejected == CSCCommandRejected(csc: "ATSpectrograph", command: "changeFilter/changeDisperser", state: .disabled))
        let nominal = session(disabling: nil)
        defer { nominal.sim.shutDown() }
        #expect(nominal.cscs["OCPS:1"]?.state == .standby)
        #expect(try Self.run(nominal) { s in
            try await s.setInstrument(filter: "SDSSr_65mm", grating: "empty_1")
            _ = try await s.takeImage(.dark, seconds: 1, filter: "SDSSr_65mm", grating: "empty_1")
            try s.requireEnabled(s.atcsGroup, for: "prepare_for_flatfield")
        } == nil)
        #expect(nominal.imageNumber == 1)
    }
}
