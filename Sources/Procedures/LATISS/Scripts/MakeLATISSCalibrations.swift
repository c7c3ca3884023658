import Analysis
import Observatory

/// `auxtel/make_latiss_calibrations.py` (ts_externalscripts, base_make_calibrations.py): biases, then
/// darks, then flats (by script_mode), each type preceded by `n_discard_*` images that are dropped, with
/// the operator's post-ISR checks on every image. Defaults are the script's (REFERENCES §3).
public struct MakeLATISSCalibrations: Action {
    public static let name = "auxtel/make_latiss_calibrations.py"
    public static let summary = "BIAS, DARK and FLAT sets through one filter/grating, script defaults where a key is absent."

    public static let scriptMode = Key<String>("script_mode", .choice(["BIAS", "BIAS_DARK", "BIAS_DARK_FLAT"]),
                                               .defaultValue(.string("BIAS_DARK_FLAT")), doc: "Image types taken, in this order.")
    public static let nBias = Key<Int>("n_bias", .integer, .defaultValue(.integer(20)), min: 1, max: 1000,
                                       doc: "Biases kept (script default 20).")
    public static let nDark = Key<Int>("n_dark", .integer, .defaultValue(.integer(22)), min: 1, max: 1000,
                                       doc: "Darks kept (script default 22).")
    /// The script's default dark list: one discarded dark plus 4 × 5 s, 2 × 15 s, 16 × 30 s.
    public static let defaultDarkTimes: [Double] = Array(repeating: 5, count: 5) + Array(repeating: 15, count: 2) + Array(repeating: 30, count: 16)
    public static let expTimesDark = Key<[Double]>("exp_times_dark", .quantityList(.time), .defaultValue(.numbers(defaultDarkTimes)),
                                                   min: 0, max: 401,
                                                   doc: "Dark exposure times (s): one value for every dark, or a list of n_dark (discards take the first) or n_dark + n_discard_dark values. Default 5×5 s, 2×15 s, 16×30 s incl. the discard; with another n_dark its first values, the last repeated.")
    public static let nFlat = Key<Int>("n_flat", .integer, .defaultValue(.integer(20)), min: 1, max: 1000,
                                       doc: "Flats kept (script default 20).")
    public static let expTimesFlat = Key<[Double]>("exp_times_flat", .quantityList(.time), .defaultValue(.numbers([5])), min: 0, max: 401,
                                                   doc: "Flat exposure times (s), as exp_times_dark (script default 5 s).")
    public static let nDiscardBias = Key<Int>("n_discard_bias", .integer, .defaultValue(.integer(1)), min: 0, max: 10,
                                              doc: "Biases taken and dropped first (script default 1).")
    public static let nDiscardDark = Key<Int>("n_discard_dark", .integer, .defaultValue(.integer(1)), min: 0, max: 10,
                                              doc: "Darks taken and dropped first (script default 1).")
    public static let nDiscardFlat = Key<Int>("n_discard_flat", .integer, .defaultValue(.integer(1)), min: 0, max: 10,
                                              doc: "Flats taken and dropped first (script default 1).")
    public static let filter = Key<String>("filter", .choice(LATISS.knownElements), .optional,
                                           doc: "Filter wheel element; absent: the wheel stays where it is. Must be installed (`instrument.filter_wheel`).")
    public static let grating = Key<String>("grating", .choice(LATISS.knownElements), .optional,
                                            doc: "Grating wheel element; absent: the wheel stays. Must be installed (`instrument.grating_wheel`).")
    public static let keys = [scriptMode.spec, nBias.spec, nDark.spec, expTimesDark.spec, nFlat.spec, expTimesFlat.spec,
                              nDiscardBias.spec, nDiscardDark.spec, nDiscardFlat.spec, filter.spec, grating.spec]
    public static let acceptedKeys = LATISS.pipelineKeys

    /// The set's name in step names: the non-empty element (the document's "Set configuration for
    /// SDSSy_65mm" has SDSSy in the grating wheel), `empty_1` for an empty beam, the mode without wheels.
    public let setName: String
    public let stepName: String
    public let filterName: String?
    public let gratingName: String?
    public let takesDarks: Bool
    public let takesFlats: Bool
    public let biasDiscards: Int
    public let biasCount: Int
    /// One time per image, discards first.
    public let darkTimes: [Double]
    public let darkDiscards: Int
    public let flatTimes: [Double]
    public let flatDiscards: Int

    public init(configuration c: ActionConfiguration) throws {
        filterName = c.optional(Self.filter)
        gratingName = c.optional(Self.grating)
        let mode = c[Self.scriptMode]
        takesDarks = mode != "BIAS"
        takesFlats = mode == "BIAS_DARK_FLAT"
        let empty = ATFlatScreen.emptyName
        if let f = filterName, f != empty { setName = f } else if let g = gratingName { setName = g } else if let f = filterName { setName = f } else { setName = mode }
        stepName = "make_latiss_calibrations " + setName
        biasDiscards = c[Self.nDiscardBias]
        biasCount = c[Self.nBias] + biasDiscards
        darkDiscards = c[Self.nDiscardDark]
        flatDiscards = c[Self.nDiscardFlat]
        darkTimes = try Self.times(c, Self.expTimesDark, count: c[Self.nDark], discards: darkDiscards, countKey: Self.nDark)
        flatTimes = try Self.times(c, Self.expTimesFlat, count: c[Self.nFlat], discards: flatDiscards, countKey: Self.nFlat)
    }

    /// The exposure list as taken, discards first: one value repeats; a list of `count` values gets its
    /// first value for the discards; a list of `count + discards` is taken as it is. The default list
    /// (which counts one discard) is cut or extended to a changed `count`.
    static func times(_ c: ActionConfiguration, _ key: Key<[Double]>, count: Int, discards: Int, countKey: Key<Int>) throws -> [Double] {
        let list = c[key]
        let total = count + discards
        if list.isEmpty { throw ConfigurationError(path: c.path(key), "needs at least one exposure time, got an empty list") }
        if list.count == 1 { return Array(repeating: list[0], count: total) }
        if case .defaultValue(.numbers(let d)) = key.spec.requirement, d == list {
            return (0..<total).map { list[min($0, list.count - 1)] }
        }
        if list.count == total { return list }
        if list.count == count { return Array(repeating: list[0], count: discards) + list }
        throw ConfigurationError(path: c.path(key), "has \(list.count) exposure times; \(countKey.name) is \(count): give one value, \(count), or \(total) (with the \(discards) discarded first)")
    }

    public func run(in session: LATISSSession) async throws {
        let sim = session.sim
        try await sim.step(stepName, lane: "LATISS", use: .other) {
            let filter = filterName ?? session.auxTel.filterWheel.position
            let grating = gratingName ?? session.auxTel.gratingWheel.position
            if filterName != nil || gratingName != nil { try await session.setInstrument(filter: filter, grating: grating) }
            var pixels = session.keepsPixels ? LATISSSetPixels(amplifiers: session.amplifierCount) : nil
            var verification = LATISSSession.VerificationJobs()
            try await sim.step("take_imgtype BIAS", lane: "LATISS", use: .other) {
                for k in 0..<biasCount {
                    guard let r = try await session.takeImage(.bias, seconds: 0, filter: filter, grating: grating, counts: k >= biasDiscards) else {
                        if session.stopped { return }
                        continue
                    }
                    if session.stopped { return }
                    session.checkBiasOrDark(r)
                    if k >= biasDiscards { pixels?.add(bias: r) }
                }
                try await session.waitForIngestion()
            }
            if session.stopped { return }
            try await session.verify("BIAS", &verification)
            if !takesDarks {
                try await session.waitForBackgroundTasks(verification)
                return
            }
            try await sim.step("take_imgtype DARK", lane: "LATISS", use: .other) {
                for (k, t) in darkTimes.enumerated() {
                    guard let r = try await session.takeImage(.dark, seconds: t, filter: filter, grating: grating, counts: k >= darkDiscards) else {
                        if session.stopped { return }
                        continue
                    }
                    if session.stopped { return }
                    session.checkBiasOrDark(r)
                    if k >= darkDiscards { pixels?.add(dark: r) }
                }
                try await session.waitForIngestion()
            }
            if session.stopped { return }
            try await session.verify("DARK", &verification)
            if !takesFlats {
                try await session.waitForBackgroundTasks(verification)
                return
            }
            try await sim.step("take_imgtype FLAT", lane: "LATISS", use: .other) {
                for (k, t) in flatTimes.enumerated() {
                    let counts = k >= flatDiscards || flatTimes.count <= flatDiscards
                    guard let r = try await session.takeImage(.flat, seconds: t, filter: filter, grating: grating, counts: counts) else {
                        if session.stopped { return }
                        continue
                    }
                    if session.stopped { return }
                    session.checkFlat(r)
                    if k >= flatDiscards { pixels?.add(flat: r) }
                }
                try await session.waitForIngestion()
            }
            if session.stopped { return }
            try await session.verify("FLAT", &verification)
            try await session.verify("GAIN", &verification)
            try await session.waitForBackgroundTasks(verification)
            if let p = pixels {
                // Every set's masters are built, as cpBias/cpDark/cpFlat do; the SDSSr_65mm set is scored.
                let error = try p.masterFlatErrorPercent(detector: session.detector)
                if setName == LATISS.scoredMasterFlatElement { session.masterFlatError = error }
            }
        }
    }
}
