import Foundation
import Observatory

/// The type of one scenario value, as a procedure declares it.
public enum ParameterType: Sendable, Equatable {
    /// A number with a unit of `dimension`, e.g. `45 min`; stored in the dimension's canonical unit.
    case quantity(UnitDimension)
    /// A number with no unit (a probability, a fill fraction, a ratio).
    case number
    case integer
    /// One of the listed strings, exactly (`L'`, `CO(1-0)/ice`, `Br-alpha` are kept verbatim).
    case choice([String])
    case bool
    /// A YAML list of numbers each with a unit of `dimension`, e.g. `[1 s, 2 s, 5 s]`.
    case quantityList(UnitDimension)
    /// A UTC date `2026-03-01` (00:00 UTC) or instant `2026-03-01T23:15:00Z`; stored as Unix seconds.
    case date
    /// A list of rows of words, each row's i-th word one of `columns[i]` (set_summary_state's
    /// `data: [[ATWhiteLight, ENABLED]]`); stored row after row in one `.strings` list.
    case rows([[String]])
    /// Free text (a script's `reason`, `note`).
    case text
    /// A list of words, each one of the listed strings (the elements installed in a wheel).
    case choiceList([String])

    /// How the reference and the error messages name this type.
    public var description: String {
        switch self {
        case .quantity(let d): return "number with unit (\(d.symbols.joined(separator: ", ")))"
        case .number: return "number"
        case .integer: return "integer"
        case .choice(let values): return "one of " + values.map { "`\($0)`" }.joined(separator: ", ")
        case .bool: return "true or false"
        case .quantityList(let d): return "list of numbers with unit (\(d.symbols.joined(separator: ", ")))"
        case .date: return "UTC date YYYY-MM-DD or instant YYYY-MM-DDThh:mm:ssZ"
        case .text: return "text"
        case .choiceList(let values): return "list of " + values.map { "`\($0)`" }.joined(separator: ", ")
        case .rows(let columns):
            return "list of [" + columns.map { $0.map { "`\($0)`" }.joined(separator: " | ") }.joined(separator: ", ") + "] rows"
        }
    }

    /// True for the types whose values are single numbers, which a sweep may give as a range.
    public var isScalarNumeric: Bool {
        switch self {
        case .quantity, .number, .integer, .date: return true
        default: return false
        }
    }
}

/// A validated scenario value, in canonical units.
public enum ParameterValue: Sendable, Hashable {
    case number(Double)
    case integer(Int)
    case string(String)
    case bool(Bool)
    case numbers([Double])
    /// The words of a `.rows` value, row after row.
    case strings([String])

    /// The value as the reference and reports write it, with the canonical unit when `type` has one.
    public func text(as type: ParameterType) -> String {
        switch (self, type) {
        case (.number(let v), .quantity(let d)): return QuantityParser.format(v, d)
        case (.number(let v), .date): return UTCDate.format(v)
        case (.number(let v), _): return NumberText.shortest(v)
        case (.integer(let i), _): return String(i)
        case (.string(let s), _): return s
        case (.bool(let b), _): return b ? "true" : "false"
        case (.numbers(let vs), .quantityList(let d)): return "[" + vs.map { QuantityParser.format($0, d) }.joined(separator: ", ") + "]"
        case (.numbers(let vs), _): return "[" + vs.map(NumberText.shortest).joined(separator: ", ") + "]"
        case (.strings(let words), .rows(let columns)) where !columns.isEmpty:
            let width = columns.count
            return "[" + stride(from: 0, to: words.count, by: width).map { "[" + words[$0..<min(words.count, $0 + width)].joined(separator: ", ") + "]" }
                .joined(separator: ", ") + "]"
        case (.strings(let words), _): return "[" + words.joined(separator: ", ") + "]"
        }
    }

    /// The value as one number, for sweeps, CSV columns and figures (strings and lists have none).
    public var numericValue: Double? {
        switch self {
        case .number(let v): return v
        case .integer(let i): return Double(i)
        case .bool(let b): return b ? 1 : 0
        default: return nil
        }
    }
}

/// Whether a key must be given, and what it is when it is not.
public enum Requirement: Sendable, Equatable {
    case required
    case defaultValue(ParameterValue)
    /// May be left out; the procedure then sees no value (`ValueSet.optional...` returns nil).
    case optional
}

/// One declared key: `key` is the path under its section (`n_flat`, `dome.speed`,
/// `lamp_ignition_failure`); the scenario file writes it as `<section>.<key>`.
public struct ParameterSpec: Sendable {
    public let key: String
    public let type: ParameterType
    public let requirement: Requirement
    /// Allowed range in canonical units, inclusive (also applies to every element of a list).
    public let minimum: Double?
    public let maximum: Double?
    /// One line: what it is and where its default comes from.
    public let doc: String
    /// Set by the procedure itself (an ESO template's "hidden" parameter): declared so it is documented
    /// and carries its value, but a scenario that sets it is in error.
    public let hidden: Bool

    public init(_ key: String, _ type: ParameterType, _ requirement: Requirement, min minimum: Double? = nil,
                max maximum: Double? = nil, hidden: Bool = false, doc: String) {
        self.key = key
        self.type = type
        self.requirement = requirement
        self.minimum = minimum
        self.maximum = maximum
        self.hidden = hidden
        self.doc = doc
    }

    /// A fault rate: a probability per occurrence in [0, 1].
    public static func faultProbability(_ key: String, default value: Double, doc: String) -> ParameterSpec {
        ParameterSpec(key, .number, .defaultValue(.number(value)), min: 0, max: 1, doc: doc)
    }

    /// The allowed range as text, in the canonical unit.
    public var rangeText: String? {
        func f(_ v: Double) -> String {
            switch type {
            case .quantity(let d), .quantityList(let d): return QuantityParser.format(v, d)
            case .date: return UTCDate.format(v)
            default: return NumberText.shortest(v)
            }
        }
        switch (minimum, maximum) {
        case let (lo?, hi?): return "\(f(lo)) to \(f(hi))"
        case let (lo?, nil): return "at least \(f(lo))"
        case let (nil, hi?): return "at most \(f(hi))"
        default: return nil
        }
    }
}

/// A metric a procedure reports per trial, with its unit (`s`, `adu`, `%`, `mas`, `1` for counts).
public struct MetricSpec: Sendable, Equatable {
    public let name: String
    public let unit: String
    public let doc: String
    public init(_ name: String, unit: String, doc: String) {
        self.name = name
        self.unit = unit
        self.doc = doc
    }
}

/// Everything a procedure declares about its scenario keys and its results.
public struct ProcedureSchema: Sendable {
    /// Keys under `parameters:`.
    public var parameters: [ParameterSpec]
    /// Instrument presets the procedure can run on; the first is the default.
    public var instrumentPresets: [String]
    /// Keys under `instrument:` (besides `preset`), the overrides of the models' defaults.
    public var instrument: [ParameterSpec]
    /// Keys under `faults:`, usually probabilities per occurrence.
    public var faults: [ParameterSpec]
    /// Metrics besides `duration_s`, which every procedure reports (the runner measures it).
    public var metrics: [MetricSpec]
    /// True for a procedure that waits for its moment (a twilight window) and says when it could start
    /// (`TrialResult.startSeconds`): `duration_s` then counts from that start, and the wait before it is
    /// the metric `wait_before_start_s`.
    public var waitsForStart: Bool
    /// Set when the procedure runs block or OB files (`run:`): their format and the action library.
    public var sequences: SequenceSchema?
    /// The timing parameters with a documented range, which `study.sensitivity` moves to either end.
    public var sensitivity: [SensitivityRange]

    public init(parameters: [ParameterSpec] = [], instrumentPresets: [String] = [], instrument: [ParameterSpec] = [],
                faults: [ParameterSpec] = [], metrics: [MetricSpec] = [], sequences: SequenceSchema? = nil,
                waitsForStart: Bool = false, sensitivity: [SensitivityRange] = []) {
        self.sequences = sequences
        self.sensitivity = sensitivity
        self.parameters = parameters
        self.instrumentPresets = instrumentPresets
        self.instrument = instrument
        self.faults = faults
        self.metrics = metrics
        self.waitsForStart = waitsForStart
    }

    /// The total duration metric every trial has.
    public static let durationMetric = MetricSpec("duration_s", unit: "s", doc: "Total simulated duration of the trial.")

    /// The wait from the epoch to the procedure's start, for a procedure that `waitsForStart`.
    public static let startWaitMetric = MetricSpec("wait_before_start_s", unit: "s",
                                                   doc: "Simulated time from the epoch until the procedure could start (not part of duration_s).")

    /// `duration_s` (and `wait_before_start_s`) followed by the declared metrics, in declaration order (the
    /// order of CSV columns).
    public var allMetrics: [MetricSpec] {
        let measured = waitsForStart ? [Self.durationMetric, Self.startWaitMetric] : [Self.durationMetric]
        return measured + metrics.filter { m in !measured.contains { $0.name == m.name } }
    }

    /// Every declared key with its full scenario path, in section order.
    public var keyedSpecs: [(path: String, spec: ParameterSpec)] {
        parameters.map { ("parameters.\($0.key)", $0) } + instrument.map { ("instrument.\($0.key)", $0) }
            + faults.map { ("faults.\($0.key)", $0) }
    }
}

/// Validated values of one section, keyed by the spec's `key`, defaults filled in.
public struct ValueSet: Sendable, Hashable {
    public private(set) var values: [String: ParameterValue]

    public init(_ values: [String: ParameterValue] = [:]) { self.values = values }

    public subscript(key: String) -> ParameterValue? {
        get { values[key] }
        set { values[key] = newValue }
    }

    /// A number in its canonical unit (see `UnitDimension.canonicalUnit`). The key must be declared with a
    /// default or be required: validation guarantees a value, so a missing one is a programming error.
    public func double(_ key: String) -> Double {
        guard let v = values[key]?.numericValue else { preconditionFailure("parameter \(key) is not a declared number") }
        return v
    }

    public func int(_ key: String) -> Int {
        guard case .integer(let i)? = values[key] else { preconditionFailure("parameter \(key) is not a declared integer") }
        return i
    }

    public func string(_ key: String) -> String {
        guard case .string(let s)? = values[key] else { preconditionFailure("parameter \(key) is not a declared string") }
        return s
    }

    public func bool(_ key: String) -> Bool {
        guard case .bool(let b)? = values[key] else { preconditionFailure("parameter \(key) is not a declared bool") }
        return b
    }

    public func doubles(_ key: String) -> [Double] {
        guard case .numbers(let vs)? = values[key] else { preconditionFailure("parameter \(key) is not a declared list") }
        return vs
    }

    public func strings(_ key: String) -> [String] {
        guard case .strings(let words)? = values[key] else { preconditionFailure("parameter \(key) is not a declared word list") }
        return words
    }

    /// For keys declared `.optional`.
    public func optionalDouble(_ key: String) -> Double? { values[key]?.numericValue }
    public func optionalString(_ key: String) -> String? {
        if case .string(let s)? = values[key] { return s }
        return nil
    }
}

/// UTC calendar arithmetic on Unix seconds (proleptic Gregorian; Howard Hinnant's days_from_civil), kept
/// free of Foundation's time zones so parsing never depends on the host.
public enum UTCDate {
    /// `YYYY-MM-DD` or `YYYY-MM-DDThh:mm:ss[.fff]Z` (a space may stand for `T`).
    public static func parse(_ text: String) -> Double? {
        let chars = Array(text.trimmingCharacters(in: .whitespaces))
        func int(_ r: Range<Int>) -> Int? {
            guard r.upperBound <= chars.count, r.allSatisfy({ chars[$0].isASCII && chars[$0].isNumber }) else { return nil }
            return Int(String(chars[r]))
        }
        guard chars.count >= 10, chars[4] == "-", chars[7] == "-", let y = int(0..<4), let mo = int(5..<7), let d = int(8..<10),
              (1...12).contains(mo), d >= 1, d <= daysIn(month: mo, year: y) else { return nil }
        var seconds = Double(UTCTime.daysFromCivil(year: y, month: mo, day: d)) * 86_400
        if chars.count == 10 { return seconds }
        guard chars.count >= 20, chars[10] == "T" || chars[10] == " ", chars[13] == ":", chars[16] == ":", chars.last == "Z",
              let h = int(11..<13), let mi = int(14..<16), let s = int(17..<19), h < 24, mi < 60, s < 60 else { return nil }
        // The fraction is `.` and 1 to 9 digits by the grammar, nothing else (`Double()` would also take
        // exponents: `.9e9` is not 0.9 s).
        var fraction = 0.0
        if chars.count > 20 {
            let digits = 20..<(chars.count - 1)
            guard chars[19] == ".", (1...9).contains(digits.count), let f = int(digits) else { return nil }
            fraction = Double(f) / pow(10, Double(digits.count))
        }
        seconds += Double(h * 3600 + mi * 60 + s) + fraction
        return seconds
    }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    public static func format(_ unixSeconds: Double) -> String {
        // Years 0000–9999 only: anything beyond is printed as seconds rather than trapping on Int(…).
        guard unixSeconds.isFinite, abs(unixSeconds) < 2.5e11 else { return "\(unixSeconds) s after 1970-01-01" }
        let dayNumber = Int((unixSeconds / 86_400).rounded(.down))
        let (y, m, d) = UTCTime.civilFromDays(dayNumber)
        let rest = unixSeconds - Double(dayNumber) * 86_400
        let date = String(format: "%04d-%02d-%02d", y, m, d)
        if rest == 0 { return date }
        let whole = Int(rest.rounded(.down))
        let frac = rest - Double(whole)
        let time = String(format: "%02d:%02d:%02d", whole / 3600, whole / 60 % 60, whole % 60)
        return date + "T" + time + (frac > 0 ? String(String(format: "%.3f", frac).dropFirst()) : "") + "Z"
    }
}

/// A parameter's documented range (a [U] number's plausible span, or a published tolerance), as a full
/// scenario path (`instrument.timing.readout`): what a sensitivity study moves it over.
public struct SensitivityRange: Sendable, Equatable {
    public let path: String
    public let lower: Double
    public let upper: Double
    public let doc: String
    public init(path: String, lower: Double, upper: Double, doc: String) {
        self.path = path
        self.lower = lower
        self.upper = upper
        self.doc = doc
    }
}
