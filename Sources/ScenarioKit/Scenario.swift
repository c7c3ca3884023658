import Observatory
import Procedures

/// A validated scenario: everything `obsim run` needs, in canonical units.
public struct Scenario: Sendable {
    public var name: String
    public var description: String
    /// The file it was read from, for messages.
    public var file: String
    public var procedureName: String
    public var procedureType: any Procedure.Type
    public var site: SiteLocation
    /// The line of `site:` in the file (nil for the default site), for messages about the site.
    public var siteLine: Int? = nil
    /// UTC instant (Unix seconds) at simulated time 0.
    public var epochUnixSeconds: Double
    public var nightsUnixSeconds: [Double]
    /// Values before any sweep is applied.
    public var configuration: ProcedureConfiguration
    public var study: Study
    public var outputs: Outputs
    /// A digest of the validated content (not of the file's text), so shards of one study are recognised
    /// as such even if comments differ; trials and output paths are left out, as the command line may
    /// change them.
    public var contentDigest: String

    /// The configuration and epoch of one sweep point.
    public func point(_ point: SweepPoint) -> (configuration: ProcedureConfiguration, epochUnixSeconds: Double) {
        var configuration = self.configuration
        var epoch = epochUnixSeconds
        for (axis, value) in zip(study.sweep, point.values) {
            if axis.path == "epoch", let v = value.numericValue { epoch = v } else { configuration[path: axis.path] = value }
        }
        return (configuration, epoch)
    }

    /// Every sweep point, the first axis varying slowest; one point with no values when not sweeping.
    public var sweepPoints: [SweepPoint] {
        var points: [[ParameterValue]] = [[]]
        for axis in study.sweep {
            points = points.flatMap { prefix in axis.values.map { prefix + [$0] } }
        }
        return points.enumerated().map { SweepPoint(index: $0.offset, values: $0.element) }
    }
}

public struct Study: Sendable {
    public var trials: Int
    public var seed: UInt64
    public var fidelity: DetectorFidelity
    public var sweep: [SweepAxis]
    public var deadline: StudyDeadline? = nil
    public var sensitivity: SensitivitySettings? = nil
}

/// `study.sensitivity`: each documented timing range (`ProcedureSchema.sensitivity`, or the listed ones)
/// moved to its lower and upper end on the trials 0..<trials of the study's seed, the same trials the
/// nominal run draws (common random numbers).
public struct SensitivitySettings: Sendable, Equatable {
    public var trials: Int
    public var ranges: [SensitivityRange]
    public init(trials: Int, ranges: [SensitivityRange]) {
        self.trials = trials
        self.ranges = ranges
    }
}

/// `study.deadline`: when a planner needs the work done, for P(completed before it).
public enum StudyDeadline: Sendable, Equatable {
    /// Seconds after the procedure's start (its `duration_s`).
    case duration(Double)
    /// The first such evening event after the epoch at the scenario's site: the trial must end (its start
    /// plus its duration, counted from the epoch) before it.
    case event(TwilightEvent)

    /// The events a deadline may name: the evening ones, since the epoch is the start of a night's work.
    public static let events: [TwilightEvent] = [.sunset, .civilDusk, .nauticalDusk, .astronomicalDusk]

    public var label: String {
        switch self {
        case .duration(let s): return NumberText.shortest(s) + " s"
        case .event(let e): return e.rawValue
        }
    }
}

extension Scenario {
    /// The deadline of a sweep point as seconds and what they count from: after the procedure's start for a
    /// duration, after the epoch for an event. Nil without a deadline; an error when the event does not
    /// happen within a day of the epoch (polar day).
    public func deadlineLimit(epochUnixSeconds epoch: Double) throws -> (seconds: Double, fromEpoch: Bool)? {
        switch study.deadline {
        case nil: return nil
        case .duration(let s)?: return (s, false)
        case .event(let e)?:
            let sky = try Site(name: site.name, latitudeDegrees: site.latitudeDegrees, longitudeDegrees: site.longitudeDegrees,
                               heightMetres: site.elevationMetres)
            guard let t = try SunCrossingFinder().crossing(site: sky, altitudeDegrees: e.altitudeDegrees, direction: e.direction, after: epoch) else {
                throw ConfigurationError(path: "study.deadline", "\(e.rawValue) does not happen within 24 h after the epoch at site \(site.name)")
            }
            return (t - epoch, true)
        }
    }
}

/// One swept key and its values, in the order the scenario gives them.
public struct SweepAxis: Sendable {
    public let path: String
    public let type: ParameterType
    public let values: [ParameterValue]
}

public struct SweepPoint: Sendable, Hashable {
    public let index: Int
    public let values: [ParameterValue]
}

public struct Outputs: Sendable {
    /// Report folder; `Reports/<name>` unless the scenario or `--out` says otherwise.
    public var directory: String
    /// The trial whose detail (frames, series, Gantt timeline) a report shows.
    public var detailTrial: Int
}

/// One problem in a scenario file, with where it is.
public struct ScenarioDiagnostic: Error, Sendable, Equatable, CustomStringConvertible {
    public let file: String
    public let line: Int
    public let column: Int
    /// The key path (`parameters.n_flat`, `study.sweep[0].values[2]`), "" for the whole document.
    public let path: String
    public let message: String

    public var description: String {
        "\(file):\(line):\(column): \(path.isEmpty ? "" : path + ": ")\(message)"
    }

    /// Other validated inputs (the observed-steps CSV of `obsim calibrate`) report the same way.
    public init(file: String, line: Int, column: Int, path: String, message: String) {
        self.file = file
        self.line = line
        self.column = column
        self.path = path
        self.message = message
    }
}

/// All the problems of one file.
public struct ScenarioErrors: Error, Sendable, CustomStringConvertible {
    public let diagnostics: [ScenarioDiagnostic]
    public var description: String { diagnostics.map(\.description).joined(separator: "\n") }
    public init(diagnostics: [ScenarioDiagnostic]) { self.diagnostics = diagnostics }
}

/// The sites a scenario may name; anything else is given as coordinates.
/// The scenario's site names: Observatory's built-in `Site`s (one list of coordinates for the whole
/// program), plus aliases by telescope so a scenario can say where it runs the way its authors speak.
public enum BuiltInSites {
    public static let aliases: [String: String] = [
        "auxtel": "cerro-pachon", "rubin": "cerro-pachon", "armazones": "cerro-armazones", "elt": "cerro-armazones",
    ]

    public static let all: [SiteLocation] = Site.builtInNames.map { location(Site.builtIn[$0]!) }

    public static func named(_ name: String) -> SiteLocation? {
        let key = aliases[name.lowercased()] ?? name.lowercased()
        return Site.builtIn[key].map(location)
    }

    static func location(_ s: Site) -> SiteLocation {
        SiteLocation(name: s.name, latitudeDegrees: s.latitudeDegrees, longitudeDegrees: s.longitudeDegrees, elevationMetres: s.heightMetres)
    }
}
