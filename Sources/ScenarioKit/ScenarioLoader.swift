import Foundation
import Observatory
import Procedures
import Yams

/// Reads and validates scenario files. Every problem of a file is collected and reported at once.
public enum ScenarioLoader {
    /// Reads `path`; throws `ScenarioErrors` (all problems) or, for an unreadable file, one diagnostic.
    public static func load(path: String) throws -> Scenario {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ScenarioErrors(diagnostics: [ScenarioDiagnostic(file: path, line: 1, column: 1, path: "", message: "cannot read the file")])
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ScenarioErrors(diagnostics: [ScenarioDiagnostic(file: path, line: 1, column: 1, path: "", message: "the file is not UTF-8 text")])
        }
        return try parse(text, file: path)
    }

    /// Validates YAML text; `file` names it in messages.
    public static func parse(_ text: String, file: String) throws -> Scenario {
        var v = Validator(file: file)
        let scenario = v.validate(text)
        if !v.diagnostics.isEmpty || scenario == nil {
            throw ScenarioErrors(diagnostics: v.diagnostics.sorted { ($0.line, $0.column, $0.path) < ($1.line, $1.column, $1.path) })
        }
        return scenario!
    }

    /// The scenario-level keys (besides each procedure's `parameters`, `instrument` and `faults` keys).
    public static let topLevelKeys = ["name", "description", "procedure", "site", "epoch", "nights", "instrument",
                                      "parameters", "faults", "study", "outputs", "run", "contingencies"]
    static let studyKeys = ["trials", "seed", "detector", "sweep", "deadline", "sensitivity"]
    static let sensitivityKeys = ["trials", "parameters"]
    static let sweepKeys = ["parameter", "values", "from", "to", "step"]
    static let outputKeys = ["directory", "detail_trial"]
    static let siteKeys = ["name", "latitude", "longitude", "elevation"]
    static let nightsKeys = ["from", "to", "every"]

    /// Defaults of the scenario-level keys ([U] our choices, documented in Scenarios/README.md).
    public static let defaultTrials = 100
    public static let defaultSeed: UInt64 = 1
    public static let defaultFidelity = DetectorFidelity.roiStatistics
    public static let defaultSite = "cerro-pachon"
    public static let defaultEpoch = "2026-01-01"
    /// A sweep point count beyond this is surely a typo in a range's step.
    public static let maximumSweepPoints = 10_000
    /// Trials × sweep points: about a year of one core at the fastest procedures.
    public static let maximumTrialRuns = 1e10
    public static let maximumNights = 36_600
}

/// Collects diagnostics while walking the YAML node tree.
struct Validator {
    /// The file being read: the scenario's, or a block/OB file while it is read.
    var file: String
    var diagnostics: [ScenarioDiagnostic] = []
    var marks: [String: Mark] = [:]
    /// The file each mark is in, for the marks of block and OB files.
    var markFiles: [String: String] = [:]
    /// True while reading an observatory's own file (block, OB, a contingency's scripts): a bare number
    /// is in the key's canonical unit, as the scripts' and templates' own schemas write them (seconds,
    /// degrees), and a list of times may be one value.
    var bareNumbers = false
    /// The sequences of `run:`, once read (sweeps address their keys).
    var sequences: [SequenceFile] = []
    var sequenceSchema: SequenceSchema?

    init(file: String) { self.file = file }

    mutating func error(_ node: Node?, _ path: String, _ message: String) {
        let mark = node?.mark
        diagnostics.append(ScenarioDiagnostic(file: file, line: mark?.line ?? 1, column: mark?.column ?? 1, path: path, message: message))
    }

    mutating func error(at mark: Mark?, _ path: String, _ message: String) {
        diagnostics.append(ScenarioDiagnostic(file: file, line: mark?.line ?? 1, column: mark?.column ?? 1, path: path, message: message))
    }

    static func show(_ node: Node) -> String {
        switch node {
        case .scalar(let s): return "`\(s.string)`"
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .alias: return "an alias"
        }
    }

    /// Key/value pairs of a mapping, reporting duplicate and non-scalar keys.
    mutating func entries(_ node: Node, _ path: String, allowed: [String]?) -> [(key: String, keyNode: Node, value: Node)] {
        guard case .mapping(let mapping) = node else {
            error(node, path, "expected a mapping of keys, got \(Self.show(node))")
            return []
        }
        var seen = Set<String>()
        var out: [(String, Node, Node)] = []
        for (k, value) in mapping {
            guard case .scalar(let ks) = k else { error(k, path, "a key must be plain text, got \(Self.show(k))"); continue }
            let key = ks.string
            let full = path.isEmpty ? key : "\(path).\(key)"
            if !seen.insert(key).inserted { error(k, full, "duplicate key"); continue }
            if let allowed, !allowed.contains(key) {
                error(k, full, "unknown key `\(key)`\(Suggestions.hint(key, allowed)); allowed here: \(allowed.joined(separator: ", "))")
                continue
            }
            out.append((key, k, value))
        }
        return out
    }

    mutating func scalarText(_ node: Node, _ path: String, expected: String) -> String? {
        guard case .scalar(let s) = node else {
            error(node, path, "expected \(expected), got \(Self.show(node))")
            return nil
        }
        return s.string
    }

    // MARK: Values by declared type

    mutating func value(_ node: Node, _ path: String, _ spec: ParameterSpec) -> ParameterValue? {
        marks[path] = node.mark
        markFiles[path] = file
        guard let v = typedValue(node, path, spec.type) else { return nil }
        return checkRange(v, node, path, spec) ? v : nil
    }

    mutating func typedValue(_ node: Node, _ path: String, _ type: ParameterType) -> ParameterValue? {
        switch type {
        case .quantityList(let d) where bareNumbers:
            if case .scalar = node, case .number(let x)? = typedValue(node, path, .quantity(d)) { return .numbers([x]) }
            if case .scalar = node { return nil }
            fallthrough
        case .quantityList(let d):
            guard case .sequence(let seq) = node else {
                error(node, path, "expected \(type.description), e.g. [1 \(d.canonicalUnit), 2 \(d.canonicalUnit)], got \(Self.show(node))")
                return nil
            }
            var out: [Double] = []
            var ok = true
            for (i, element) in seq.enumerated() {
                if case .number(let x)? = typedValue(element, "\(path)[\(i)]", .quantity(d)) { out.append(x) } else { ok = false }
            }
            return ok ? .numbers(out) : nil
        case .choiceList(let allowed):
            guard case .sequence(let seq) = node else {
                error(node, path, "expected \(type.description), e.g. [\(allowed.prefix(2).joined(separator: ", "))], got \(Self.show(node))")
                return nil
            }
            var out: [String] = []
            var ok = true
            for (i, element) in seq.enumerated() {
                if case .string(let w)? = typedValue(element, "\(path)[\(i)]", .choice(allowed)) { out.append(w) } else { ok = false }
            }
            return ok ? .strings(out) : nil
        case .rows(let columns):
            guard case .sequence(let seq) = node else {
                error(node, path, "expected \(type.description), got \(Self.show(node))")
                return nil
            }
            var out: [String] = []
            var ok = true
            for (i, row) in seq.enumerated() {
                guard case .sequence(let words) = row, words.count == columns.count else {
                    error(row, "\(path)[\(i)]", "expected a row of \(columns.count) words [\(columns.map { $0.first ?? "" }.joined(separator: ", "))], got \(Self.show(row))")
                    ok = false; continue
                }
                for (j, w) in words.enumerated() {
                    if case .string(let text)? = typedValue(w, "\(path)[\(i)][\(j)]", .choice(columns[j])) { out.append(text) } else { ok = false }
                }
            }
            return ok ? .strings(out) : nil
        default:
            guard let text = scalarText(node, path, expected: type.description) else { return nil }
            return scalar(text, node, path, type)
        }
    }

    mutating func scalar(_ text: String, _ node: Node, _ path: String, _ type: ParameterType) -> ParameterValue? {
        switch type {
        case .quantity(let d):
            if bareNumbers, let v = QuantityParser.plainNumber(text) { return .number(v) }
            switch QuantityParser.parse(text, d) {
            case .success(let v): return .number(v)
            case .failure(.missingUnit):
                error(node, path, "`\(text)` has no unit; write it with one of \(d.symbols.joined(separator: ", ")) (e.g. `\(text) \(d.canonicalUnit)`)")
            case .failure(.badNumber(let n)):
                error(node, path, "`\(n)` is not a number; expected \(type.description), e.g. `3 \(d.canonicalUnit)`")
            case .failure(.unknownUnit(let u)):
                error(node, path, "unit `\(u)` in `\(text)` is not a \(d.rawValue) unit; allowed: \(d.symbols.joined(separator: ", "))")
            }
            return nil
        case .number:
            if let v = QuantityParser.plainNumber(text) { return .number(v) }
            error(node, path, "expected a number, got `\(text)`")
        case .integer:
            if let i = Int(text) { return .integer(i) }
            error(node, path, "expected an integer, got `\(text)`")
        case .choice(let allowed):
            if allowed.contains(text) { return .string(text) }
            error(node, path, "`\(text)` is not allowed\(Suggestions.hint(text, allowed)); allowed: \(allowed.map { "`\($0)`" }.joined(separator: ", "))")
        case .bool:
            if text == "true" { return .bool(true) }
            if text == "false" { return .bool(false) }
            error(node, path, "expected true or false, got `\(text)`")
        case .date:
            if let v = UTCDate.parse(text) { return .number(v) }
            error(node, path, "expected a UTC date YYYY-MM-DD or instant YYYY-MM-DDThh:mm:ssZ, got `\(text)`")
        case .text:
            return .string(text)
        case .quantityList, .choiceList, .rows:
            error(node, path, "expected a list, got `\(text)`")
        }
        return nil
    }

    /// Counts and durations a key documents no maximum for still get one: far beyond anything an
    /// observatory does, and small enough that event counts, `Int` conversions and report axes stay exact.
    public static let implicitCountMaximum = 1e9
    public static let implicitDurationMaximum = 1e9  // s, about 32 years

    mutating func checkRange(_ value: ParameterValue, _ node: Node, _ path: String, _ spec: ParameterSpec) -> Bool {
        var maximum = spec.maximum, minimum = spec.minimum, implicit = false
        switch spec.type {
        case .integer:
            if maximum == nil { maximum = Self.implicitCountMaximum; implicit = true }
            if minimum == nil { minimum = -Self.implicitCountMaximum; implicit = true }
        case .quantity(.time), .quantityList(.time):
            if maximum == nil { maximum = Self.implicitDurationMaximum; implicit = true }
            if minimum == nil { minimum = -Self.implicitDurationMaximum; implicit = true }
        default: break
        }
        guard minimum != nil || maximum != nil else { return true }
        let numbers: [Double]
        switch value {
        case .numbers(let vs): numbers = vs
        default: numbers = value.numericValue.map { [$0] } ?? []
        }
        for x in numbers where (minimum.map { x < $0 } ?? false) || (maximum.map { x > $0 } ?? false) {
            let shown: String
            if case .integer(let i) = value { shown = String(i) } else { shown = ParameterValue.number(x).text(as: elementType(spec.type)) }
            let bounded = ParameterSpec(spec.key, spec.type, spec.requirement, min: minimum, max: maximum, doc: "")
            error(node, path, "\(shown) is out of range; allowed: \(bounded.rangeText ?? "")\(implicit ? " (Obsim's bound on counts and durations)" : "")")
            return false
        }
        return true
    }

    func elementType(_ t: ParameterType) -> ParameterType {
        if case .quantityList(let d) = t { return .quantity(d) }
        return t
    }

    /// Validates a section (`parameters`, `instrument`, `faults`) against its specs; nested mappings are
    /// flattened into dotted keys (`dome: {speed: 4 deg/s}` is `dome.speed`).
    mutating func section(_ node: Node?, _ name: String, _ specs: [ParameterSpec], skip: Set<String> = []) -> ValueSet {
        var given: [String: ParameterValue] = [:]
        var present = Set<String>()
        if let node {
            flatten(node, prefix: "", section: name, specs: specs, skip: skip, given: &given, present: &present)
        }
        var values = ValueSet()
        for spec in specs {
            if let v = given[spec.key] { values[spec.key] = v; continue }
            if present.contains(spec.key) { continue }
            switch spec.requirement {
            case .defaultValue(let d): values[spec.key] = d
            case .optional: break
            case .required:
                error(node, "\(name).\(spec.key)", "missing required key `\(spec.key)` (\(spec.type.description)\(spec.rangeText.map { ", " + $0 } ?? "")): \(spec.doc)")
            }
        }
        return values
    }

    mutating func flatten(_ node: Node, prefix: String, section: String, specs: [ParameterSpec], skip: Set<String>,
                          given: inout [String: ParameterValue], present: inout Set<String>) {
        let sectionPath = prefix.isEmpty ? section : "\(section).\(prefix)"
        for (key, keyNode, value) in entries(node, sectionPath, allowed: nil) {
            let local = prefix.isEmpty ? key : "\(prefix).\(key)"
            if skip.contains(local) { continue }
            let full = "\(section).\(local)"
            if let spec = specs.first(where: { $0.key == local }) {
                present.insert(local)
                if spec.hidden {
                    let value: String
                    switch spec.requirement {
                    case .defaultValue(let d): value = " (it is `\(d.text(as: spec.type))`)"
                    default: value = ""
                    }
                    error(keyNode, full, "`\(local)` is hidden: the procedure sets it\(value), a scenario may not")
                    continue
                }
                if let v = self.value(value, full, spec) { given[local] = v }
            } else if case .mapping = value, specs.contains(where: { $0.key.hasPrefix(local + ".") }) {
                flatten(value, prefix: local, section: section, specs: specs, skip: skip, given: &given, present: &present)
            } else {
                let known = specs.map(\.key) + skip.sorted()
                error(keyNode, full, "unknown key `\(local)`\(Suggestions.hint(local, known)); "
                      + (known.isEmpty ? "this procedure declares no \(section) keys" : "allowed: \(known.joined(separator: ", "))"))
            }
        }
    }

    // MARK: The document

    mutating func validate(_ text: String) -> Scenario? {
        let root: Node
        do {
            guard let r = try Yams.compose(yaml: text) else {
                error(at: nil, "", "the file is empty; a scenario needs at least `name` and `procedure`")
                return nil
            }
            root = r
        } catch let e as YamlError {
            reportSyntax(e)
            return nil
        } catch {
            self.error(at: nil, "", "YAML error: \(error)")
            return nil
        }
        var nodes: [String: (key: Node, value: Node)] = [:]
        for (key, keyNode, value) in entries(root, "", allowed: ScenarioLoader.topLevelKeys) { nodes[key] = (keyNode, value) }
        if case .mapping = root {} else { return nil }

        let name: String? = {
            guard let n = nodes["name"]?.value else { error(root, "name", "missing required key `name` (the report folder's name: lower case letters, digits and -)"); return nil }
            guard let s = scalarText(n, "name", expected: "a name") else { return nil }
            if s.isEmpty || !s.allSatisfy({ ($0.isASCII && ($0.isLowercase || $0.isNumber)) || $0 == "-" || $0 == "_" }) {
                error(n, "name", "`\(s)` is not allowed; a name uses lower case letters, digits, - and _")
                return nil
            }
            return s
        }()
        let description = nodes["description"].flatMap { scalarText($0.value, "description", expected: "text") } ?? ""

        var procedureType: (any Procedure.Type)?
        if let n = nodes["procedure"]?.value {
            if let s = scalarText(n, "procedure", expected: "a procedure name") {
                procedureType = ProcedureRegistry.lookup(s)
                if procedureType == nil {
                    let known = ProcedureRegistry.names
                    error(n, "procedure", "unknown procedure `\(s)`\(Suggestions.hint(s, known)); known: \(known.isEmpty ? "(none registered)" : known.joined(separator: ", "))")
                }
            }
        } else {
            error(root, "procedure", "missing required key `procedure`; known: \(ProcedureRegistry.names.joined(separator: ", "))")
        }

        let site = siteValue(nodes["site"]?.value)
        let epoch: Double? = {
            guard let n = nodes["epoch"]?.value else { return nil }
            if case .number(let v)? = value(n, "epoch", ParameterSpec("epoch", .date, .optional, doc: "")) { return v }
            return nil
        }()
        let nights = nightsValue(nodes["nights"]?.value)
        if nodes["epoch"] != nil, nodes["nights"] != nil {
            error(nodes["nights"]!.key, "nights", "give either `epoch` or `nights`, not both (with nights, the epoch is the first night)")
        }

        var configuration = ProcedureConfiguration()
        let schema = procedureType?.schema
        if let schema {
            configuration.parameters = section(nodes["parameters"]?.value, "parameters", schema.parameters)
            configuration.faults = section(nodes["faults"]?.value, "faults", schema.faults)
            let instrumentNode = nodes["instrument"]?.value
            configuration.instrument = section(instrumentNode, "instrument", schema.instrument, skip: ["preset"])
            configuration.instrumentPreset = schema.instrumentPresets.first ?? ""
            if let instrumentNode, case .mapping(let m) = instrumentNode, let p = m["preset"] {
                let presets = schema.instrumentPresets
                if presets.isEmpty {
                    error(p, "instrument.preset", "this procedure has no instrument presets")
                } else if case .string(let s)? = value(p, "instrument.preset", ParameterSpec("preset", .choice(presets), .optional, doc: "")) {
                    configuration.instrumentPreset = s
                }
            }
        }

        if let schema {
            sequenceSchema = schema.sequences
            configuration.sequences = runValue(nodes["run"], schema: schema)
            sequences = configuration.sequences
            configuration.contingencies = contingenciesValue(nodes["contingencies"]?.value, schema: schema)
        }
        let study = studyValue(nodes["study"]?.value, schema: schema)
        var outputs = Outputs(directory: name.map { "Reports/\($0)" } ?? "Reports", detailTrial: 0)
        if let n = nodes["outputs"]?.value {
            for (key, _, value) in entries(n, "outputs", allowed: ScenarioLoader.outputKeys) {
                switch key {
                case "directory":
                    if let s = scalarText(value, "outputs.directory", expected: "a folder path") { outputs.directory = s }
                default:
                    if case .integer(let i)? = self.value(value, "outputs.detail_trial",
                                                          ParameterSpec("detail_trial", .integer, .optional, min: 0, doc: "")) {
                        outputs.detailTrial = i
                        if let study, i >= study.trials {
                            error(value, "outputs.detail_trial", "\(i) is out of range; allowed: 0 to \(study.trials - 1) (the study's trials)")
                        }
                    }
                }
            }
        }

        guard let name, let procedureType, let site, let study, diagnostics.isEmpty else { return nil }
        let epochSeconds = epoch ?? nights?.first ?? UTCDate.parse(ScenarioLoader.defaultEpoch)!
        configuration.siteName = site.name
        var scenario = Scenario(name: name, description: description, file: file, procedureName: procedureType.name,
                                procedureType: procedureType, site: site, epochUnixSeconds: epochSeconds,
                                nightsUnixSeconds: nights ?? [], configuration: configuration, study: study,
                                outputs: outputs, contentDigest: "")
        // A deadline event must happen after every point's epoch (not in a polar day).
        for point in scenario.sweepPoints {
            do { _ = try scenario.deadlineLimit(epochUnixSeconds: scenario.point(point).epochUnixSeconds) } catch {
                self.error(at: marks["study.deadline"], "study.deadline", (error as? ConfigurationError)?.message ?? "\(error)"); break
            }
        }
        // Cross-key checks of the procedure itself, at every sweep point (a sweep may reach a bad combination).
        for point in scenario.sweepPoints {
            do {
                _ = try procedureType.init(configuration: scenario.point(point).configuration)
            } catch let e as ConfigurationError {
                let where_ = point.values.isEmpty ? "" : " (at sweep point " + zip(study.sweep, point.values).map { "\($0.path) = \($1.text(as: $0.type))" }.joined(separator: ", ") + ")"
                let saved = file
                file = markFiles[e.path] ?? saved
                error(at: marks[e.path] ?? (file == saved ? root.mark : nil), e.path, e.message + where_)
                file = saved
                break
            } catch {
                self.error(at: root.mark, "", "the procedure rejected this configuration: \(error)")
                break
            }
        }
        // Every end of every sensitivity range must be a configuration the procedure accepts.
        if diagnostics.isEmpty, let sensitivity = study.sensitivity {
            outer: for r in sensitivity.ranges {
                for v in [r.lower, r.upper] {
                    var c = scenario.configuration
                    c[path: r.path] = .number(v)
                    do { _ = try procedureType.init(configuration: c) } catch {
                        self.error(at: marks["study.sensitivity"], "study.sensitivity",
                                   "\(r.path) = \(NumberText.shortest(v)) (an end of its documented range) is rejected: \((error as? ConfigurationError)?.message ?? "\(error)")")
                        break outer
                    }
                }
            }
        }
        guard diagnostics.isEmpty else { return nil }
        scenario.siteLine = nodes["site"]?.key.mark?.line
        scenario.contentDigest = ScenarioDigest.of(scenario)
        return scenario
    }

    mutating func reportSyntax(_ e: YamlError) {
        switch e {
        case let .scanner(context, problem, mark, _), let .parser(context, problem, mark, _), let .composer(context, problem, mark, _):
            error(at: mark, "", "YAML syntax error: \(problem)\(context.map { " (\($0.text) at line \($0.mark.line), column \($0.mark.column))" } ?? "")")
        case let .duplicatedKeysInMapping(duplicates, context):
            error(at: context.mark, "", "duplicate key(s) \(duplicates.sorted().joined(separator: ", "))")
        case let .reader(problem, offset, _, _):
            error(at: nil, "", "cannot read the YAML: \(problem)\(offset.map { " at byte \($0)" } ?? "")")
        default:
            error(at: nil, "", "YAML error: \(e)")
        }
    }

    mutating func siteValue(_ node: Node?) -> SiteLocation? {
        guard let node else { return BuiltInSites.named(ScenarioLoader.defaultSite) }
        let names = BuiltInSites.all.map(\.name) + BuiltInSites.aliases.keys.sorted()
        if case .scalar(let s) = node {
            if let site = BuiltInSites.named(s.string) { return site }
            error(node, "site", "unknown site `\(s.string)`\(Suggestions.hint(s.string, names)); built-in: \(names.joined(separator: ", ")), or give {name, latitude, longitude, elevation}")
            return nil
        }
        var name = "custom"
        var lat: Double?, lon: Double?, elev: Double?
        var ok = true
        for (key, _, value) in entries(node, "site", allowed: ScenarioLoader.siteKeys) {
            let path = "site.\(key)"
            switch key {
            case "name": name = scalarText(value, path, expected: "a name") ?? name
            case "latitude":
                if case .number(let v)? = self.value(value, path, ParameterSpec(key, .quantity(.angle), .required, min: -90, max: 90, doc: "")) { lat = v } else { ok = false }
            case "longitude":
                if case .number(let v)? = self.value(value, path, ParameterSpec(key, .quantity(.angle), .required, min: -180, max: 180, doc: "")) { lon = v } else { ok = false }
            default:
                if case .number(let v)? = self.value(value, path, ParameterSpec(key, .quantity(.length), .required, min: -500, max: 9000, doc: "")) { elev = v } else { ok = false }
            }
        }
        if case .mapping = node {
            for (k, v) in [("latitude", lat), ("longitude", lon), ("elevation", elev)] where v == nil && ok {
                error(node, "site.\(k)", "missing required key `\(k)` (\(k == "elevation" ? "a length, e.g. 2650 m" : "an angle, e.g. -30.24 deg"))")
            }
        }
        guard let lat, let lon, let elev else { return nil }
        return SiteLocation(name: name, latitudeDegrees: lat, longitudeDegrees: lon, elevationMetres: elev)
    }

    mutating func nightsValue(_ node: Node?) -> [Double]? {
        guard let node else { return nil }
        let dateSpec = ParameterSpec("night", .date, .required, doc: "")
        switch node {
        case .sequence(let seq):
            var out: [Double] = []
            for (i, element) in seq.enumerated() {
                if case .number(let v)? = value(element, "nights[\(i)]", dateSpec) { out.append(v) }
            }
            if seq.isEmpty { error(node, "nights", "the list of nights is empty") }
            return out
        case .mapping:
            var from: Double?, to: Double?, every = 86_400.0
            for (key, _, value) in entries(node, "nights", allowed: ScenarioLoader.nightsKeys) {
                let path = "nights.\(key)"
                if key == "every" {
                    if case .number(let v)? = self.value(value, path, ParameterSpec(key, .quantity(.time), .required, min: 86_400, doc: "")) { every = v }
                } else if case .number(let v)? = self.value(value, path, dateSpec) {
                    if key == "from" { from = v } else { to = v }
                }
            }
            guard let from, let to else {
                error(node, "nights", "a range of nights needs `from` and `to` dates (and optionally `every`, e.g. 7 d)")
                return nil
            }
            if to < from { error(node, "nights.to", "\(UTCDate.format(to)) is before `from` \(UTCDate.format(from))"); return nil }
            guard (to - from) / every < Double(ScenarioLoader.maximumNights) else {
                error(node, "nights", "gives more than \(ScenarioLoader.maximumNights) nights; at most \(ScenarioLoader.maximumNights) are allowed"); return nil
            }
            return stride(from: from, through: to, by: every).map { $0 }
        default:
            error(node, "nights", "expected a list of dates or {from, to, every}, got \(Self.show(node))")
            return nil
        }
    }

    mutating func studyValue(_ node: Node?, schema: ProcedureSchema?) -> Study? {
        var study = Study(trials: ScenarioLoader.defaultTrials, seed: ScenarioLoader.defaultSeed,
                          fidelity: ScenarioLoader.defaultFidelity, sweep: [])
        guard let node else { return study }
        var ok = true
        for (key, _, value) in entries(node, "study", allowed: ScenarioLoader.studyKeys) {
            let path = "study.\(key)"
            switch key {
            case "trials":
                if case .integer(let i)? = self.value(value, path, ParameterSpec(key, .integer, .required, min: 1, max: 1e12, doc: "")) { study.trials = i } else { ok = false }
            case "seed":
                if case .integer(let i)? = self.value(value, path, ParameterSpec(key, .integer, .required, min: 0, max: 9.2e18, doc: "")) { study.seed = UInt64(i) } else { ok = false }
            case "detector":
                if case .string(let s)? = self.value(value, path, ParameterSpec(key, .choice(DetectorFidelity.allCases.map(\.rawValue)), .required, doc: "")) {
                    study.fidelity = DetectorFidelity(rawValue: s)!
                } else { ok = false }
            case "deadline":
                if let d = deadline(value) { study.deadline = d } else { ok = false }
            case "sensitivity":
                if let v = sensitivity(value, schema: schema) { study.sensitivity = v } else { ok = false }
            default:
                if let axes = sweep(value, schema: schema) { study.sweep = axes } else { ok = false }
            }
        }
        if study.sensitivity != nil, !study.sweep.isEmpty {
            error(at: marks["study.sensitivity"], "study.sensitivity", "is measured on one point; it does not combine with study.sweep (run the sensitivity on each point's scenario)")
            ok = false
        }
        // The product is bounded before any point is built: two axes of 10,000 would be 10^8 points.
        let points = study.sweep.reduce(1.0) { $0 * Double($1.values.count) }
        if points > Double(ScenarioLoader.maximumSweepPoints) {
            error(node, "study.sweep", "gives \(NumberText.shortest(points)) sweep points in all; at most \(ScenarioLoader.maximumSweepPoints) are allowed")
            ok = false
        } else if Double(study.trials) * points > ScenarioLoader.maximumTrialRuns {
            error(node, "study.trials", "\(study.trials) trials × \(Int(points)) sweep points is more than \(NumberText.shortest(ScenarioLoader.maximumTrialRuns)) trial runs, Obsim's bound on a study")
            ok = false
        }
        return ok ? study : nil
    }

    /// `{trials: N, parameters: [path, ...]}`; without `parameters`, every range the procedure documents.
    mutating func sensitivity(_ node: Node, schema: ProcedureSchema?) -> SensitivitySettings? {
        let documented = schema?.sensitivity ?? []
        marks["study.sensitivity"] = node.mark
        guard case .mapping = node else {
            error(node, "study.sensitivity", "expected {trials: N} or {trials: N, parameters: [...]}, got \(Self.show(node))")
            return nil
        }
        var trials: Int?
        var ranges = documented
        var ok = true
        for (key, _, value) in entries(node, "study.sensitivity", allowed: ScenarioLoader.sensitivityKeys) {
            let path = "study.sensitivity.\(key)"
            if key == "trials" {
                if case .integer(let i)? = self.value(value, path, ParameterSpec(key, .integer, .required, min: 2, max: 1e6, doc: "")) { trials = i } else { ok = false }
                continue
            }
            guard case .sequence(let items) = value, !items.isEmpty else {
                error(value, path, "expected a non-empty list of parameter paths, got \(Self.show(value))"); ok = false; continue
            }
            ranges = []
            for (i, item) in items.enumerated() {
                guard case .scalar(let sc) = item, let r = documented.first(where: { $0.path == sc.string }) else {
                    let allowed = documented.isEmpty ? "this procedure documents no timing ranges" : "allowed: " + documented.map(\.path).joined(separator: ", ")
                    error(item, "\(path)[\(i)]", "\(Self.show(item)) has no documented range; \(allowed)"); ok = false; continue
                }
                if ranges.contains(r) { error(item, "\(path)[\(i)]", "\(sc.string) is listed twice"); ok = false; continue }
                ranges.append(r)
            }
        }
        guard let trials else {
            if ok { error(node, "study.sensitivity", "needs `trials` (the trials per range end, e.g. 200)") }
            return nil
        }
        if ranges.isEmpty {
            error(node, "study.sensitivity", "the procedure has no timing parameter with a documented range to move"); return nil
        }
        return ok ? SensitivitySettings(trials: trials, ranges: ranges) : nil
    }

    /// A duration (`2 h`) or an evening event's name.
    mutating func deadline(_ node: Node) -> StudyDeadline? {
        let names = StudyDeadline.events.map(\.rawValue)
        marks["study.deadline"] = node.mark
        markFiles["study.deadline"] = file
        if case .scalar(let sc) = node, let e = TwilightEvent(rawValue: sc.string), StudyDeadline.events.contains(e) { return .event(e) }
        if case .scalar(let sc) = node, sc.string.first.map({ !$0.isNumber && $0 != "-" && $0 != "+" && $0 != "." }) ?? true {
            error(node, "study.deadline", "expected a duration (e.g. 2 h) or one of \(names.joined(separator: ", ")), got \(Self.show(node))")
            return nil
        }
        guard case .number(let s)? = value(node, "study.deadline", ParameterSpec("deadline", .quantity(.time), .required, min: 1, max: 1e9, doc: "")) else { return nil }
        return .duration(s)
    }

    mutating func sweep(_ node: Node, schema: ProcedureSchema?) -> [SweepAxis]? {
        guard case .sequence(let seq) = node else {
            error(node, "study.sweep", "expected a list of one or two axes ({parameter, values} or {parameter, from, to, step}), got \(Self.show(node))")
            return nil
        }
        if seq.isEmpty || seq.count > 2 {
            error(node, "study.sweep", "a sweep has one or two axes, got \(seq.count)")
            return nil
        }
        var axes: [SweepAxis] = []
        var ok = true
        for (i, axisNode) in seq.enumerated() {
            let base = "study.sweep[\(i)]"
            var fields: [String: Node] = [:]
            for (key, _, value) in entries(axisNode, base, allowed: ScenarioLoader.sweepKeys) { fields[key] = value }
            guard case .mapping = axisNode else { ok = false; continue }
            guard let pNode = fields["parameter"] else { error(axisNode, "\(base).parameter", "missing required key `parameter` (a path such as parameters.n_flat, or epoch)"); ok = false; continue }
            guard let path = scalarText(pNode, "\(base).parameter", expected: "a key path") else { ok = false; continue }
            guard let schema else { ok = false; continue }
            let sequencePaths = sequenceKeyPaths()
            let sweepable = ["epoch"] + schema.keyedSpecs.map(\.path) + sequencePaths.map(\.path)
            let spec: ParameterSpec? = path == "epoch" ? ParameterSpec("epoch", .date, .required, doc: "")
                : schema.keyedSpecs.first { $0.path == path }?.spec ?? sequencePaths.first { $0.path == path }?.spec
            guard let spec else {
                error(pNode, "\(base).parameter", "`\(path)` is not a key of this scenario\(Suggestions.hint(path, sweepable)); sweepable: \(sweepable.joined(separator: ", "))")
                ok = false; continue
            }
            if axes.contains(where: { $0.path == path }) { error(pNode, "\(base).parameter", "`\(path)` is swept twice"); ok = false; continue }
            var values: [ParameterValue] = []
            if let list = fields["values"] {
                if fields["from"] != nil || fields["to"] != nil || fields["step"] != nil {
                    error(list, base, "give either `values` or `from`/`to`/`step`, not both"); ok = false; continue
                }
                guard case .sequence(let items) = list, !items.isEmpty else { error(list, "\(base).values", "expected a non-empty list of values"); ok = false; continue }
                for (j, item) in items.enumerated() {
                    if let v = value(item, "\(base).values[\(j)]", spec) { values.append(v) } else { ok = false }
                }
            } else {
                guard spec.type.isScalarNumeric else {
                    error(axisNode, "\(base).values", "`\(path)` is \(spec.type.description): give its values as a list under `values`"); ok = false; continue
                }
                guard let fromNode = fields["from"], let toNode = fields["to"], let stepNode = fields["step"] else {
                    error(axisNode, base, "a sweep axis needs `values: [...]` or all of `from`, `to`, `step`"); ok = false; continue
                }
                let stepType: ParameterType = spec.type == .date ? .quantity(.time) : spec.type
                guard let from = value(fromNode, "\(base).from", spec)?.numericValue, let to = value(toNode, "\(base).to", spec)?.numericValue,
                      let step = typedValue(stepNode, "\(base).step", stepType)?.numericValue else { ok = false; continue }
                guard step > 0 else { error(stepNode, "\(base).step", "the step must be positive"); ok = false; continue }
                guard to >= from else { error(toNode, "\(base).to", "`to` is below `from`"); ok = false; continue }
                // Counted as a Double first: a tiny step over a wide span is more points than an Int holds.
                let span = ((to - from) / step * (1 + 1e-12)).rounded(.down) + 1
                guard span.isFinite, span <= Double(ScenarioLoader.maximumSweepPoints) else {
                    error(stepNode, "\(base).step", "gives \(String(format: "%.3g", span)) points; at most \(ScenarioLoader.maximumSweepPoints) are allowed"); ok = false; continue
                }
                let count = Int(span)
                // from + k·step, not repeated addition, so the values are exact multiples wherever possible.
                for k in 0..<count {
                    let x = from + Double(k) * step
                    values.append(spec.type == .integer ? .integer(Int(x.rounded())) : .number(x))
                }
            }
            axes.append(SweepAxis(path: path, type: spec.type, values: values))
        }
        return ok ? axes : nil
    }
}

/// A digest of a scenario's validated content (FNV-1a 64 over a canonical text).
public enum ScenarioDigest {
    public static func of(_ s: Scenario) -> String {
        var lines = ["procedure=\(s.procedureName)", "site=\(s.site.name) \(s.site.latitudeDegrees) \(s.site.longitudeDegrees) \(s.site.elevationMetres)",
                     "epoch=\(s.epochUnixSeconds)", "nights=\(s.nightsUnixSeconds.map { "\($0)" }.joined(separator: ","))",
                     "preset=\(s.configuration.instrumentPreset)", "detector=\(s.study.fidelity.rawValue)"]
        for (section, set) in [("parameters", s.configuration.parameters), ("instrument", s.configuration.instrument), ("faults", s.configuration.faults)] {
            for key in set.values.keys.sorted() { lines.append("\(section).\(key)=\(set.values[key]!)") }
        }
        for seq in s.configuration.sequences {
            lines.append("sequence \(seq.id) \(seq.name) \(seq.format.rawValue)")
            for (i, step) in seq.steps.enumerated() {
                for key in step.parameters.values.keys.sorted() { lines.append("\(seq.id)[\(i)] \(step.action).\(key)=\(step.parameters.values[key]!)") }
            }
        }
        for c in s.configuration.contingencies {
            lines.append("contingency \(c.name) below=\(c.belowADU) note=\(c.note) report=\(c.reportStep ?? "") \(c.reportSeconds) max=\(c.maxRestarts) limit=\(c.onRestartLimit)")
            for key in c.when.values.keys.sorted() { lines.append("when \(key)=\(c.when.values[key]!)") }
            for step in c.response.steps { lines.append("response \(step.action) \(step.parameters.values.keys.sorted().map { "\($0)=\(step.parameters.values[$0]!)" })") }
        }
        if let d = s.study.deadline { lines.append("deadline=\(d)") }
        if let v = s.study.sensitivity { lines.append("sensitivity trials=\(v.trials) " + v.ranges.map { "\($0.path)=\($0.lower)...\($0.upper)" }.joined(separator: ",")) }
        for axis in s.study.sweep { lines.append("sweep \(axis.path)=\(axis.values.map { "\($0)" }.joined(separator: ","))") }
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in lines.joined(separator: "\n").utf8 { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01B3 }
        return String(h, radix: 16)
    }
}
