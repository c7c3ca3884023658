import Analysis
import Observatory

/// `auxtel/take_image_latiss.py` (ts_standardscripts): images of one type through one filter/grating, in
/// the order of `exp_times`. FLATs whose exposure times come in equal pairs are measured as a photon
/// transfer curve (the weekly/daily PTC of seed 003 and BLOCK-295), as cp_pipe's PTC task does.
public struct TakeImageLATISS: Action {
    public static let name = "auxtel/take_image_latiss.py"
    public static let summary = "Images of one type in the order of `exp_times`; FLAT pairs of equal time make a PTC."

    public static let imageType = Key<String>("image_type", .choice(["BIAS", "DARK", "FLAT"]), .required, doc: "Image type.")
    public static let expTimes = Key<[Double]>("exp_times", .quantityList(.time), .required, min: 0, max: 401,
                                               doc: "Exposure time of each image (s; max exptime 401 s, REFERENCES §3); one value repeats `nimages` times.")
    public static let nImages = Key<Int>("nimages", .integer, .optional, min: 1, max: 10_000,
                                         doc: "Images to take when `exp_times` is one value.")
    public static let filter = Key<String>("filter", .choice(LATISS.knownElements), .optional,
                                           doc: "Filter wheel element; absent: the wheel stays where it is.")
    public static let grating = Key<String>("grating", .choice(LATISS.knownElements), .optional,
                                            doc: "Grating wheel element; absent: the wheel stays where it is.")
    public static let reason = Key<String>("reason", .text, .optional, doc: "Observation reason (REASON header; names the step).")
    public static let keys = [imageType.spec, expTimes.spec, nImages.spec, filter.spec, grating.spec, reason.spec]
    public static let acceptedKeys = [AcceptedKey("program", "the observing program in the image headers; no simulated effect"),
                                      AcceptedKey("note", "a free note in the image headers; no simulated effect")]

    public let type: LATISSSession.ImageType
    public let times: [Double]
    public let filterName: String?
    public let gratingName: String?
    public let reasonText: String?
    public let stepName: String

    public init(configuration c: ActionConfiguration) throws {
        type = LATISSSession.ImageType(rawValue: c[Self.imageType])!
        let list = c[Self.expTimes]
        if list.isEmpty { throw ConfigurationError(path: c.path(Self.expTimes), "needs at least one exposure time, got an empty list") }
        if let n = c.optional(Self.nImages) {
            guard list.count == 1 || list.count == n else {
                throw ConfigurationError(path: c.path(Self.nImages), "is \(n) but exp_times has \(list.count) values; give one exposure time or \(n)")
            }
            times = list.count == 1 ? Array(repeating: list[0], count: n) : list
        } else {
            times = list
        }
        filterName = c.optional(Self.filter)
        gratingName = c.optional(Self.grating)
        reasonText = c.optional(Self.reason)
        stepName = "take_image_latiss " + (reasonText ?? type.rawValue)
    }

    public func run(in session: LATISSSession) async throws {
        try await session.sim.step(stepName, lane: "LATISS", use: .other) {
            let filter = filterName ?? session.auxTel.filterWheel.position
            let grating = gratingName ?? session.auxTel.gratingWheel.position
            if filterName != nil || gratingName != nil { try await session.setInstrument(filter: filter, grating: grating) }
            if type == .flat, !PhotonTransferCurve.pairIndices(exposureSeconds: times).isEmpty {
                try await photonTransferCurve(session, filter: filter, grating: grating)
            } else {
                for t in times {
                    _ = try await session.takeImage(type, seconds: t, filter: filter, grating: grating, reason: reasonText)
                    if session.stopped { return }
                }
            }
        }
    }

    /// The flats in order; each pair's means (and, with pixels, its difference variance) make a PTC point.
    func photonTransferCurve(_ session: LATISSSession, filter: String, grating: String) async throws {
        let amplifierCount = session.amplifierCount
        let keepsPixels = session.keepsPixels
        let pairs = PhotonTransferCurve.pairIndices(exposureSeconds: times)
        var partner = [Int](repeating: -1, count: times.count)
        for p in pairs { partner[p.second] = p.first; partner[p.first] = -2 }
        var pending: [Int: [[Double]]] = [:]
        var pendingMeans: [Int: [Double]] = [:]
        var points = [[PTCPoint]](repeating: [], count: amplifierCount)
        var pairTimes: [Double] = []
        var pairMeans = [[Double]](repeating: [], count: amplifierCount)
        for (i, t) in times.enumerated() {
            let image = try await session.takeImage(.flat, seconds: t, filter: filter, grating: grating, reason: reasonText)
            if session.stopped { return }
            guard let r = image else { continue }
            if partner[i] == -2 {
                pendingMeans[i] = r.amplifiers.map(\.postISRMeanADU)
                if keepsPixels { pending[i] = Self.postISRWindows(r) }
            } else if partner[i] >= 0, let firstMeans = pendingMeans.removeValue(forKey: partner[i]) {
                pairTimes.append(t)
                for a in 0..<min(amplifierCount, r.amplifiers.count) {
                    pairMeans[a].append(0.5 * (firstMeans[a] + r.amplifiers[a].postISRMeanADU))
                }
                if keepsPixels, let first = pending.removeValue(forKey: partner[i]) {
                    let second = Self.postISRWindows(r)
                    for a in 0..<min(first.count, second.count) {
                        points[a].append(try PhotonTransferCurve.measurePair(first[a], second[a], exposureSeconds: t))
                    }
                }
            }
        }
        session.ptcMetrics = Self.solve(session, points: points, pairTimes: pairTimes, pairMeans: pairMeans)
    }

    /// The bias-subtracted pixels of each amplifier's window (a perfect overscan correction: the
    /// amplifier's true mean bias; the bias plane left over is common to both flats of a pair).
    static func postISRWindows(_ r: ExposureResult) -> [[Double]] {
        zip(r.windows, r.amplifiers).map { w, a in
            let bias = a.biasADU
            return w.values.map { $0 - bias }
        }
    }

    static func solve(_ session: LATISSSession, points: [[PTCPoint]], pairTimes: [Double], pairMeans: [[Double]]) -> [String: Double] {
        var turnoffs: [Double] = [], turnoffTimes: [Double] = []
        var gainErrors: [Double] = [], noiseErrors: [Double] = []
        let mode = try? session.detector.model.mode()
        for a in 0..<session.amplifierCount {
            if session.keepsPixels, let mode, points[a].count >= 4, let fit = try? PhotonTransferCurve.solve(points[a]) {
                turnoffs.append(fit.turnoffADU)
                turnoffTimes.append(fit.turnoffExposureSeconds)
                gainErrors.append(100 * (fit.gainElectronsPerADU / mode.gainElectronsPerADU[a] - 1))
                noiseErrors.append(100 * (fit.noiseElectrons / mode.readNoiseElectrons[a] - 1))
            } else if !session.keepsPixels, !pairMeans[a].isEmpty,
                      let t = PhotonTransferCurve.turnoffFromMeans(exposureSeconds: pairTimes, meansADU: pairMeans[a]) {
                turnoffs.append(t.adu)
                turnoffTimes.append(t.seconds)
            }
        }
        var metrics: [String: Double] = [:]
        if !turnoffs.isEmpty {
            metrics["ptc_turnoff_adu"] = LATISSSession.median(turnoffs)
            metrics["ptc_turnoff_exptime_s"] = LATISSSession.median(turnoffTimes)
        }
        if !gainErrors.isEmpty {
            metrics["ptc_gain_error_pct"] = gainErrors.reduce(0, +) / Double(gainErrors.count)
            metrics["ptc_noise_error_pct"] = noiseErrors.reduce(0, +) / Double(noiseErrors.count)
        }
        return metrics
    }
}
