import Observatory
import SimKernel
import Synchronization

/// A documented calibration procedure that the Monte Carlo runner can run.
///
/// A procedure plugs in by conforming to this protocol and adding its type to
/// `BuiltInProcedures.all` (or calling `ProcedureRegistry.register` before a run). The runner validates
/// a scenario against `schema`, builds one instance per study point from the validated values, and calls
/// `runTrial` once per trial, each in its own `Simulation` on one thread. An instance is shared by the
/// threads of a study, so it holds only immutable configuration; per-trial state lives in `runTrial`.
public protocol Procedure: Sendable {
    /// The name scenarios use (`procedure: latiss`): lower case, words joined by `-`.
    static var name: String { get }
    /// One line for `obsim` listings and the scenario reference.
    static var summary: String { get }
    /// The scenario keys the procedure accepts and the metrics it reports.
    static var schema: ProcedureSchema { get }

    /// Builds the procedure from validated values; a check that spans several keys (e.g. "DIT × NDIT
    /// under 1 h") throws `ConfigurationError`, reported like a validation error.
    init(configuration: ProcedureConfiguration) throws

    /// Runs one trial inside `context.simulation`, from the current simulated time. Called from the
    /// trial's main process; `duration_s` is measured by the runner (the simulated time when this
    /// returns), so the result need not contain it. A documented abort may be returned as an outcome or
    /// thrown as `ProcedureAbort`; any other error stops the study as a defect.
    func runTrial(_ context: TrialContext) async throws -> TrialResult
}

/// The validated scenario values a procedure is built from (canonical units, defaults filled in).
public struct ProcedureConfiguration: Sendable, Hashable {
    public var parameters: ValueSet
    /// The chosen preset (one of `schema.instrumentPresets`, "" when the schema lists none).
    public var instrumentPreset: String
    public var instrument: ValueSet
    public var faults: ValueSet
    /// The block or OB files of the scenario's `run:`, in order (procedures with a `SequenceSchema`).
    public var sequences: [SequenceFile]
    /// The scenario's `contingencies:`.
    public var contingencies: [Contingency]
    /// The scenario's site name, for checks that depend on where the study runs (a site without a
    /// cloud climatology needs an explicit clear-sky probability); nil when built outside a scenario.
    public var siteName: String?

    public init(parameters: ValueSet = ValueSet(), instrumentPreset: String = "", instrument: ValueSet = ValueSet(),
                faults: ValueSet = ValueSet(), sequences: [SequenceFile] = [], contingencies: [Contingency] = []) {
        self.parameters = parameters
        self.instrumentPreset = instrumentPreset
        self.instrument = instrument
        self.faults = faults
        self.sequences = sequences
        self.contingencies = contingencies
    }

    /// The step an action-parameter path (`BLOCK-295.scripts[0].parameters.n_flat`) addresses, and the
    /// key under it; nil for any other path.
    public func sequenceAddress(_ path: String) -> (sequence: Int, step: Int, key: String)? {
        for (i, file) in sequences.enumerated() {
            let prefix = "\(file.id).\(file.stepsKey)["
            guard path.hasPrefix(prefix) else { continue }
            let rest = path.dropFirst(prefix.count)
            guard let close = rest.firstIndex(of: "]"), let k = Int(rest[..<close]), k >= 0, k < file.steps.count else { return nil }
            let tail = rest[rest.index(after: close)...]
            guard tail.hasPrefix(".parameters.") else { return nil }
            return (i, k, String(tail.dropFirst(".parameters.".count)))
        }
        return nil
    }

    /// The value at a full scenario path (`parameters.n_flat`, `instrument.dome.speed`, `faults.x`).
    public subscript(path path: String) -> ParameterValue? {
        get {
            if let a = sequenceAddress(path) { return sequences[a.sequence].steps[a.step].parameters[a.key] }
            let (section, key) = Self.split(path)
            switch section {
            case "parameters": return parameters[key]
            case "instrument": return instrument[key]
            case "faults": return faults[key]
            default: return nil
            }
        }
        set {
            if let a = sequenceAddress(path) { sequences[a.sequence].steps[a.step].parameters[a.key] = newValue; return }
            let (section, key) = Self.split(path)
            switch section {
            case "parameters": parameters[key] = newValue
            case "instrument": instrument[key] = newValue
            case "faults": faults[key] = newValue
            default: break
            }
        }
    }

    static func split(_ path: String) -> (String, String) {
        guard let dot = path.firstIndex(of: ".") else { return (path, "") }
        return (String(path[..<dot]), String(path[path.index(after: dot)...]))
    }
}

/// A check across several keys failed when the procedure was built.
public struct ConfigurationError: Error, Sendable, CustomStringConvertible {
    /// The scenario path the problem is best attached to (`parameters.n_flat`).
    public let path: String
    public let message: String
    public init(path: String, _ message: String) {
        self.path = path
        self.message = message
    }
    public var description: String { "\(path): \(message)" }
}

/// How much of the detector a trial simulates, from cheapest to most faithful.
public enum DetectorFidelity: String, Sendable, CaseIterable, Hashable {
    /// Timing only: no pixel values.
    case timing
    /// Statistics of a region of interest (mean, variance) drawn from their distributions.
    case roiStatistics = "roi-statistics"
    /// Simulated pixels of a region of interest.
    case roiPixels = "roi-pixels"
    /// Every pixel of every frame.
    case fullFrame = "full-frame"
}

/// Where the observatory is, for the Sun, the sky and the night's dates.
public struct SiteLocation: Sendable, Hashable {
    public let name: String
    public let latitudeDegrees: Double
    public let longitudeDegrees: Double
    public let elevationMetres: Double
    public init(name: String, latitudeDegrees: Double, longitudeDegrees: Double, elevationMetres: Double) {
        self.name = name
        self.latitudeDegrees = latitudeDegrees
        self.longitudeDegrees = longitudeDegrees
        self.elevationMetres = elevationMetres
    }
}

/// Everything a trial needs besides the procedure's configuration.
public struct TrialContext {
    /// This trial's simulation (streams keyed by (seed, trial)); a trial runs on one thread.
    public let simulation: Simulation
    public let seed: UInt64
    public let trial: UInt64
    public let site: SiteLocation
    /// UTC instant (Unix seconds) at simulated time 0: the scenario's `epoch`, or its first night.
    public let epochUnixSeconds: Double
    /// The scenario's `nights` (Unix seconds of each date at 00:00 UTC), in order; `[]` when it names
    /// only an epoch. A season study runs over all of them in one trial.
    public let nightsUnixSeconds: [Double]
    public let fidelity: DetectorFidelity
    /// True for the one trial whose frames, series and other detail a report shows (`--frames`, the
    /// median trial of a figure): the procedure then fills `TrialResult.frames` and `.series`.
    public let keepsDetail: Bool
    /// MJD of `epochUnixSeconds` (MJD 40587 is the Unix epoch): frames' MJD-OBS and DATE-OBS count from it.
    public var epochMJD: Double { epochUnixSeconds / 86_400 + 40_587 }

    public init(simulation: Simulation, seed: UInt64, trial: UInt64, site: SiteLocation, epochUnixSeconds: Double,
                nightsUnixSeconds: [Double], fidelity: DetectorFidelity, keepsDetail: Bool) {
        self.simulation = simulation
        self.seed = seed
        self.trial = trial
        self.site = site
        self.epochUnixSeconds = epochUnixSeconds
        self.nightsUnixSeconds = nightsUnixSeconds
        self.fidelity = fidelity
        self.keepsDetail = keepsDetail
    }
}

/// How a trial ended. Kinds are lower-case words joined by `_`: `completed`, `completed_after_restart`,
/// `aborted_<cause>` (`aborted_no_power_readout`, `aborted_restart_limit`, `aborted_sky_too_dark`).
public struct Outcome: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let kind: String
    public init(kind: String) { self.kind = kind }
    public static let completed = Outcome(kind: "completed")
    public static let completedAfterRestart = Outcome(kind: "completed_after_restart")
    public static func aborted(_ cause: String) -> Outcome { Outcome(kind: "aborted_" + cause) }
    public var isCompleted: Bool { kind.hasPrefix("completed") }
    public var description: String { kind }
    public static func < (a: Outcome, b: Outcome) -> Bool { a.kind < b.kind }
}

/// Thrown by a procedure to end its trial with an `aborted_<cause>` outcome; the metrics measured so far
/// are kept.
public struct ProcedureAbort: Error, Sendable {
    public let cause: String
    public let metrics: [String: Double]
    public init(cause: String, metrics: [String: Double] = [:]) {
        self.cause = cause
        self.metrics = metrics
    }
}

/// One simulated image with its header, in the order the keywords are written (FITS writers keep it).
public struct Frame: Sendable {
    public enum HeaderValue: Sendable, Equatable {
        case string(String), integer(Int), double(Double), bool(Bool)
    }
    public struct HeaderCard: Sendable, Equatable {
        /// Keyword as the instrument writes it (`EXPTIME`, `HIERARCH ESO DET DIT`).
        public let keyword: String
        public let value: HeaderValue
        public let comment: String
        public init(_ keyword: String, _ value: HeaderValue, _ comment: String = "") {
            self.keyword = keyword
            self.value = value
            self.comment = comment
        }
    }
    /// One image extension of a multi-extension frame: an amplifier's raw segment as the camera reads
    /// it out (prescan, data, overscan), in integer ADU.
    public struct Extension: Sendable {
        /// EXTNAME (`Segment10`).
        public let name: String
        public let width: Int
        public let height: Int
        /// Row-major raw pixel values (ADU), `width × height` of them, from FITS pixel (1,1).
        public let pixels: [Int32]
        public let header: [HeaderCard]
        public init(name: String, width: Int, height: Int, pixels: [Int32], header: [HeaderCard]) {
            precondition(pixels.count == width * height, "an extension needs width × height pixels")
            self.name = name
            self.width = width
            self.height = height
            self.pixels = pixels
            self.header = header
        }
    }
    /// A file-name stem, unique in the trial (`0001_FLAT_SDSSr`).
    public let name: String
    /// Size of the primary image; 0 × 0 when the primary HDU is a header only (multi-extension frames).
    public let width: Int
    public let height: Int
    /// Row-major pixel values (ADU) of the primary image, `width × height` of them.
    public let pixels: [Float]
    /// The primary header.
    public let header: [HeaderCard]
    /// Image extensions after the primary HDU (LATISS: one per amplifier); empty for a single-HDU frame.
    public let extensions: [Extension]
    public init(name: String, width: Int, height: Int, pixels: [Float], header: [HeaderCard]) {
        precondition(pixels.count == width * height, "a frame needs width × height pixels")
        self.name = name
        self.width = width
        self.height = height
        self.pixels = pixels
        self.header = header
        self.extensions = []
    }
    /// A multi-extension frame: a primary header without data, then `extensions`.
    public init(name: String, header: [HeaderCard], extensions: [Extension]) {
        self.name = name
        width = 0
        height = 0
        pixels = []
        self.header = header
        self.extensions = extensions
    }
}

/// A quantity recorded against time in one trial (sky level, chosen DIT, blackbody temperature), for a
/// report figure of the detailed trial.
public struct TrialSeries: Sendable, Equatable {
    public let name: String
    public let unit: String
    /// Which subset of the quantity these points are, e.g. an image type (`BIAS`, `DARK`, `FLAT`); empty if
    /// none. Series with the same name and unit share one panel of the report, told apart by this.
    public let kind: String
    /// (simulated seconds, value) pairs in time order.
    public var points: [(time: Double, value: Double)]
    public init(name: String, unit: String, kind: String = "", points: [(time: Double, value: Double)] = []) {
        self.name = name
        self.unit = unit
        self.kind = kind
        self.points = points
    }
    public static func == (a: TrialSeries, b: TrialSeries) -> Bool {
        a.name == b.name && a.unit == b.unit && a.kind == b.kind && a.points.count == b.points.count
            && zip(a.points, b.points).allSatisfy { $0.time == $1.time && $0.value == $1.value }
    }
}

/// What one trial produced. Step timing is not here: the runner reads `simulation.steps`.
public struct TrialResult: Sendable {
    public var outcome: Outcome
    /// Values of declared metrics by name, in the metric's unit; a metric left out was not measured in
    /// this trial (e.g. an aborted run has no PTC gain) and is not counted in its statistics.
    public var metrics: [String: Double]
    /// Filled only when `TrialContext.keepsDetail`.
    public var frames: [Frame]
    public var series: [TrialSeries]
    /// For a procedure whose schema `waitsForStart`: the simulated time (seconds since the epoch) from
    /// which it could do its work (the twilight window's start). The runner measures `duration_s` from
    /// here and reports the time before it as `wait_before_start_s`; nil means the epoch.
    public var startSeconds: Double?

    public init(outcome: Outcome, metrics: [String: Double] = [:], frames: [Frame] = [], series: [TrialSeries] = [],
                startSeconds: Double? = nil) {
        self.outcome = outcome
        self.metrics = metrics
        self.frames = frames
        self.series = series
        self.startSeconds = startSeconds
    }
}

/// Maps scenario names to procedure types.
public enum ProcedureRegistry {
    private static let table = Mutex<[String: any Procedure.Type]>(
        Dictionary(BuiltInProcedures.all.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first }))

    /// Adds a procedure (a test's own, or one outside `BuiltInProcedures`); a later one replaces an
    /// earlier one of the same name.
    public static func register(_ type: any Procedure.Type) {
        table.withLock { $0[type.name] = type }
    }

    /// Every registered name, sorted.
    public static var names: [String] { table.withLock { $0.keys.sorted() } }

    public static var all: [any Procedure.Type] { table.withLock { t in t.keys.sorted().map { t[$0]! } } }

    public static func lookup(_ name: String) -> (any Procedure.Type)? { table.withLock { $0[name] } }
}

/// Closest candidates to a misspelt name, for "did you mean" (Levenshtein distance at most a third of
/// the name's length, at least 2).
public enum Suggestions {
    public static func closest(to word: String, in candidates: [String]) -> [String] {
        let limit = max(2, word.count / 3)
        let scored = candidates.map { ($0, distance(word.lowercased(), $0.lowercased())) }.filter { $0.1 <= limit }
        guard let best = scored.map(\.1).min() else { return [] }
        return scored.filter { $0.1 == best }.map(\.0).sorted()
    }

    public static func distance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var previous = Array(0...b.count)
        var current = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            swap(&previous, &current)
        }
        return previous[b.count]
    }

    /// ` (did you mean `x`?)` or "".
    public static func hint(_ word: String, _ candidates: [String]) -> String {
        let c = closest(to: word, in: candidates)
        return c.isEmpty ? "" : " (did you mean " + c.map { "`\($0)`" }.joined(separator: " or ") + "?)"
    }
}

extension DetectorFidelity {
    /// What the detector simulates for a trial at this fidelity: nil at `timing` (no image is drawn);
    /// at `roi-pixels` the given windows, or every amplifier's region of interest when none are given.
    /// The one mapping from the study's fidelity to the detector's.
    public func detector(windows: [PixelRect]? = nil) -> Fidelity? {
        switch self {
        case .timing: return nil
        case .roiStatistics: return .roiStatistics
        case .roiPixels: return windows.map { .windows($0) } ?? .roiPixels
        case .fullFrame: return .fullFrame
        }
    }

    /// True when frames have pixels (PTC pairs, master frames can be built).
    public var hasPixels: Bool { self == .roiPixels || self == .fullFrame }
}
