/// Scripts and templates are code; sequences are data. An `Action` is one observatory script (a Rubin SAL
/// script, an ESO template) that a block or OB file calls by name with its own configuration keys. Each
/// key is declared once as a typed `Key` (name, type, unit, default, range, doc), which is both the
/// documentation (`obsim scenario-reference`), the validation of a file and the accessor a script reads
/// its value through: `configuration[Self.nFlat]` is an `Int`, and a misspelt key does not compile.

/// A Swift type a key's value is read as.
public protocol ConfigurationValue: Sendable {
    static func decode(_ value: ParameterValue) -> Self?
}

extension Int: ConfigurationValue {
    public static func decode(_ value: ParameterValue) -> Int? {
        if case .integer(let i) = value { return i }
        return nil
    }
}

extension Double: ConfigurationValue {
    public static func decode(_ value: ParameterValue) -> Double? { value.numericValue }
}

extension Bool: ConfigurationValue {
    public static func decode(_ value: ParameterValue) -> Bool? {
        if case .bool(let b) = value { return b }
        return nil
    }
}

extension String: ConfigurationValue {
    public static func decode(_ value: ParameterValue) -> String? {
        if case .string(let s) = value { return s }
        return nil
    }
}

extension Array: ConfigurationValue where Element == Double {
    public static func decode(_ value: ParameterValue) -> [Double]? {
        if case .numbers(let vs) = value { return vs }
        return nil
    }
}

/// Rows of words (`.rows` keys), e.g. set_summary_state's `[[ATWhiteLight, ENABLED]]`.
public struct WordRows: ConfigurationValue, Equatable {
    public let rows: [[String]]
    public static func decode(_ value: ParameterValue) -> WordRows? { nil }
    init(_ rows: [[String]]) { self.rows = rows }
}

/// One configuration key of an action, typed: its `spec` is what files are validated against and what
/// the reference prints.
public struct Key<Value: ConfigurationValue>: Sendable {
    public let spec: ParameterSpec
    public var name: String { spec.key }

    public init(_ name: String, _ type: ParameterType, _ requirement: Requirement, min: Double? = nil, max: Double? = nil,
                hidden: Bool = false, doc: String) {
        spec = ParameterSpec(name, type, requirement, min: min, max: max, hidden: hidden, doc: doc)
    }

    /// A key whose declaration is generated (a template's parameter table row).
    public init(_ spec: ParameterSpec) { self.spec = spec }
}

/// The validated values of one action call, read back through its keys.
public struct ActionConfiguration: Sendable, Hashable {
    public var values: ValueSet
    /// Where the call sits (`BLOCK-295.scripts[1]`), for the paths of cross-key errors.
    public var path: String

    public init(values: ValueSet, path: String) {
        self.values = values
        self.path = path
    }

    /// The value of a key with a default or a required one (validation guarantees it).
    public subscript<V>(key: Key<V>) -> V {
        if V.self == WordRows.self, case .strings(let words)? = values[key.name], case .rows(let columns) = key.spec.type {
            let width = max(1, columns.count)
            let rows = stride(from: 0, to: words.count, by: width).map { Array(words[$0..<min(words.count, $0 + width)]) }
            return WordRows(rows) as! V
        }
        guard let v = values[key.name].flatMap(V.decode) else { preconditionFailure("\(path): key \(key.name) has no \(V.self) value") }
        return v
    }

    /// The value of an `.optional` key, nil when the file leaves it out.
    public func optional<V>(_ key: Key<V>) -> V? { values[key.name].flatMap(V.decode) }

    /// The full path of a key, for a `ConfigurationError`.
    public func path<V>(_ key: Key<V>) -> String { "\(path).parameters.\(key.name)" }
}

/// A key a file may carry that has no meaning in the simulation (Rubin's `program` inside a script's
/// parameters, a block's `constraints`); accepted, ignored, and documented with why.
public struct AcceptedKey: Sendable {
    public let name: String
    public let why: String
    public init(_ name: String, _ why: String) {
        self.name = name
        self.why = why
    }
}

/// One script or template. `Session` is what every action of an instrument shares (see `LATISSSession`).
public protocol Action<Session>: Sendable {
    associatedtype Session
    /// The name a file calls it by, spelt as the observatory does (`auxtel/make_latiss_calibrations.py`).
    static var name: String { get }
    /// One line for the reference.
    static var summary: String { get }
    /// Every configuration key, in the order the reference lists them.
    static var keys: [ParameterSpec] { get }
    /// Keys accepted without simulated meaning.
    static var acceptedKeys: [AcceptedKey] { get }
    /// Builds the action from validated values; a check across keys throws `ConfigurationError`.
    init(configuration: ActionConfiguration) throws
    func run(in session: Session) async throws
}

extension Action {
    public static var acceptedKeys: [AcceptedKey] { [] }
    /// The script's defaults, as a file that gives no keys gets them.
    public static var defaults: ValueSet {
        var v = ValueSet()
        for spec in keys { if case .defaultValue(let d) = spec.requirement { v[spec.key] = d } }
        return v
    }
}

/// The actions of one instrument, looked up by the names files use.
public struct ActionLibrary<Session>: Sendable {
    public let instrument: String
    public let actions: [any Action<Session>.Type]
    /// Other spellings of a name: Rubin block files write standard scripts both with and without `.py`
    /// (`set_summary_state.py`, `auxtel/stop_tracking.py`).
    public let aliases: [String: String]

    public init(instrument: String, actions: [any Action<Session>.Type], aliases: [String: String] = [:]) {
        self.instrument = instrument
        self.actions = actions
        self.aliases = aliases
    }

    public var names: [String] { actions.map { $0.name } }

    public func lookup(_ name: String) -> (any Action<Session>.Type)? {
        let canonical = aliases[name] ?? name
        return actions.first { $0.name == canonical }
    }

    /// Builds every step of a sequence; the first cross-key error is thrown.
    public func instantiate(_ sequence: SequenceFile) throws -> [any Action<Session>] {
        try sequence.steps.enumerated().map { i, step in
            guard let type = lookup(step.action) else {
                throw ConfigurationError(path: "\(sequence.id).\(sequence.stepsKey)[\(i)].name", "unknown \(instrument) action `\(step.action)`")
            }
            return try type.init(configuration: ActionConfiguration(values: step.parameters, path: "\(sequence.id).\(sequence.stepsKey)[\(i)]"))
        }
    }

    /// The schema-side view ScenarioKit validates files against.
    public var declarations: [ActionDeclaration] {
        actions.map { ActionDeclaration(name: $0.name, summary: $0.summary, keys: $0.keys, acceptedKeys: $0.acceptedKeys) }
    }
}

/// What a file loader needs to know of an action: its name and keys.
public struct ActionDeclaration: Sendable {
    public let name: String
    public let summary: String
    public let keys: [ParameterSpec]
    public let acceptedKeys: [AcceptedKey]
}

/// The sequence files a procedure runs and how they look.
public struct SequenceSchema: Sendable {
    public enum Format: String, Sendable {
        /// A Rubin BLOCK: `name`, `program`, `constraints`, `scripts: [{name, standard, parameters}]`.
        case block
        /// An ESO OB: `name`, `templates: [{id, parameters}]`.
        case observationBlock = "ob"
    }
    public let format: Format
    public let actions: [ActionDeclaration]
    public let aliases: [String: String]
    /// Image fields a contingency's `when` may test, with their types.
    public let imageFields: [ParameterSpec]

    public init(format: Format, actions: [ActionDeclaration], aliases: [String: String] = [:], imageFields: [ParameterSpec] = []) {
        self.format = format
        self.actions = actions
        self.aliases = aliases
        self.imageFields = imageFields
    }

    public func declaration(_ name: String) -> ActionDeclaration? {
        let canonical = aliases[name] ?? name
        return actions.first { $0.name == canonical }
    }
}

/// One call of an action in a sequence file, validated (defaults filled in).
public struct SequenceStep: Sendable, Hashable {
    /// The action's canonical name.
    public var action: String
    public var parameters: ValueSet
    public init(action: String, parameters: ValueSet) {
        self.action = action
        self.parameters = parameters
    }
}

/// A block or OB file, validated.
public struct SequenceFile: Sendable, Hashable {
    /// What a scenario's `run:` names it by: a block's `program` (`BLOCK-295`), an OB's `name`.
    public var id: String
    /// A block's `name` (`latiss_weekly_calibrations`); an OB's name.
    public var name: String
    public var file: String
    public var format: SequenceSchema.Format
    public var steps: [SequenceStep]

    public init(id: String, name: String, file: String, format: SequenceSchema.Format, steps: [SequenceStep]) {
        self.id = id
        self.name = name
        self.file = file
        self.format = format
        self.steps = steps
    }

    /// `scripts` in a block, `templates` in an OB.
    public var stepsKey: String { format == .block ? "scripts" : "templates" }

    /// The step name the whole sequence runs under (`BLOCK-309 setup_latiss_calibrations`).
    public var stepName: String { format == .block ? "\(id) \(name)" : name }
}

/// The operator's check on the images a sequence takes, and what is done when it fails (seed 003's
/// misalignment: "a 6 s SDSSr_65mm flat under 10,000 counts → report the incident, home_dome, restart
/// from the beginning").
public struct Contingency: Sendable, Hashable {
    /// The step the response runs under (`ATDome and ATWhiteLight Misalignment Troubleshooting`).
    public var name: String
    /// Image fields that select the watched images (`image_type`, `filter`, `grating`, `exp_time`).
    public var when: ValueSet
    /// The watched image's median post-ISR level below this (ADU) fails the check.
    public var belowADU: Double
    /// The operator's note in the trace when the check fails.
    public var note: String
    /// The incident report: its step name and time, nil when none.
    public var reportStep: String?
    public var reportSeconds: Double
    /// The actions of the response, in order, as a sequence (its id is the contingency's path).
    public var response: SequenceFile
    /// Restarts of the run from its first sequence before the run gives up.
    public var maxRestarts: Int
    /// Sequences (ids from `run`) run after giving up, e.g. the shutdown block.
    public var onRestartLimit: [String]

    public init(name: String, when: ValueSet, belowADU: Double, note: String, reportStep: String?, reportSeconds: Double,
                response: SequenceFile, maxRestarts: Int, onRestartLimit: [String]) {
        self.name = name
        self.when = when
        self.belowADU = belowADU
        self.note = note
        self.reportStep = reportStep
        self.reportSeconds = reportSeconds
        self.response = response
        self.maxRestarts = maxRestarts
        self.onRestartLimit = onRestartLimit
    }
}
