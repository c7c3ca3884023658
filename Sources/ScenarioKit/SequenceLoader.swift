import Foundation
import Procedures
import Yams

/// Block files (Rubin) and OB files (ESO) that a scenario's `run:` names, and its `contingencies:`.
public enum SequenceFiles {
    /// Where `run: [BLOCK-295]` looks for `BLOCK-295.json`, `.yaml` or `.yml`, in order: beside the
    /// scenario, in a `Sequences/` folder beside it, and in `Sequences/` one folder up (the repository's
    /// `Sequences/` for the shipped `Scenarios/`). An entry with a `/` or an extension is a path relative to
    /// the scenario.
    public static func candidates(for entry: String, scenarioFile: String) -> [String] {
        let dir = (scenarioFile as NSString).deletingLastPathComponent
        let base = dir.isEmpty ? "." : dir
        if entry.contains("/") || entry.hasSuffix(".json") || entry.hasSuffix(".yaml") || entry.hasSuffix(".yml") {
            return [entry.hasPrefix("/") ? entry : base + "/" + entry]
        }
        let folders = [base, base + "/Sequences", base + "/../Sequences"]
        return folders.flatMap { f in ["json", "yaml", "yml"].map { "\(f)/\(entry).\($0)" } }
    }

    /// Top-level keys of a block file; `constraints` is accepted and ignored (the scheduler's, not the
    /// simulation's).
    public static let blockKeys = ["name", "program", "constraints", "scripts"]
    public static let blockScriptKeys = ["name", "standard", "parameters"]
    public static let obKeys = ["name", "templates"]
    public static let obTemplateKeys = ["id", "parameters"]
    public static let contingencyKeys = ["name", "when", "below", "note", "report", "scripts", "templates", "max_restarts", "on_restart_limit"]
    public static let reportKeys = ["step", "time"]
}

extension Validator {
    /// `run:`: the sequences, each read and validated from its file (all its problems reported).
    mutating func runValue(_ entry: (key: Node, value: Node)?, schema: ProcedureSchema) -> [SequenceFile] {
        guard let sequenceSchema = schema.sequences else {
            if let entry { error(entry.key, "run", "this procedure runs no block or OB files; remove `run`") }
            return []
        }
        guard let entry else {
            error(at: nil, "run", "missing required key `run`: the \(sequenceSchema.format == .block ? "block" : "OB") files to run, in order (e.g. `run: [BLOCK-309, BLOCK-295, BLOCK-310]`)")
            return []
        }
        guard case .sequence(let items) = entry.value, !items.isEmpty else {
            error(entry.value, "run", "expected a non-empty list of block or OB names, got \(Self.show(entry.value))")
            return []
        }
        var out: [SequenceFile] = []
        for (i, item) in items.enumerated() {
            guard let name = scalarText(item, "run[\(i)]", expected: "a block or OB name") else { continue }
            let candidates = SequenceFiles.candidates(for: name, scenarioFile: file)
            guard let path = candidates.first(where: { FileManager.default.fileExists(atPath: $0) }) else {
                error(item, "run[\(i)]", "no file for `\(name)`; looked for \(candidates.joined(separator: ", "))")
                continue
            }
            if let seq = sequenceFile(path, sequenceSchema, stepsKey: sequenceSchema.format == .block ? "scripts" : "templates") {
                if out.contains(where: { $0.id == seq.id }) {
                    error(item, "run[\(i)]", "`\(seq.id)` is run twice; a sequence appears once in `run` (its id addresses its keys)")
                    continue
                }
                out.append(seq)
            }
        }
        return out
    }

    /// Reads one block or OB file with this validator (its own file name in every message).
    mutating func sequenceFile(_ path: String, _ schema: SequenceSchema, stepsKey: String) -> SequenceFile? {
        let saved = (file, bareNumbers)
        defer { (file, bareNumbers) = saved }
        file = path
        bareNumbers = true
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            error(at: nil, "", "cannot read the file as UTF-8 text")
            return nil
        }
        let root: Node
        do {
            guard let r = try Yams.compose(yaml: text) else { error(at: nil, "", "the file is empty"); return nil }
            root = r
        } catch let e as YamlError {
            reportSyntax(e)
            return nil
        } catch {
            self.error(at: nil, "", "YAML/JSON error: \(error)")
            return nil
        }
        let isBlock = schema.format == .block
        var fields: [String: (key: Node, value: Node)] = [:]
        for (key, keyNode, value) in entries(root, "", allowed: isBlock ? SequenceFiles.blockKeys : SequenceFiles.obKeys) {
            fields[key] = (keyNode, value)
        }
        guard case .mapping = root else { return nil }
        func field(_ v: inout Validator, _ key: String, what: String) -> String? {
            guard let n = fields[key]?.value else {
                v.error(root, key, "missing required key `\(key)` (\(what))")
                return nil
            }
            return v.scalarText(n, key, expected: what)
        }
        let name = field(&self, "name", what: isBlock ? "the block's name, e.g. latiss_weekly_calibrations" : "the OB's name")
        let id = isBlock ? field(&self, "program", what: "the block id, e.g. BLOCK-295") : name
        guard let name, let id else { return nil }
        guard let stepsNode = fields[stepsKey]?.value else {
            error(root, stepsKey, "missing required key `\(stepsKey)`: the \(isBlock ? "scripts" : "templates"), in order")
            return nil
        }
        let steps = self.steps(stepsNode, id: id, stepsKey: stepsKey, schema: schema)
        return steps.map { SequenceFile(id: id, name: name, file: path, format: schema.format, steps: $0) }
    }

    /// The scripts (`{name, standard, parameters}`) or templates (`{id, parameters}`) of a sequence.
    mutating func steps(_ node: Node, id: String, stepsKey: String, schema: SequenceSchema) -> [SequenceStep]? {
        guard case .sequence(let items) = node else {
            error(node, "\(id).\(stepsKey)", "expected a list of \(stepsKey), got \(Self.show(node))")
            return nil
        }
        let isBlock = stepsKey == "scripts"
        let nameKey = isBlock ? "name" : "id"
        var out: [SequenceStep] = []
        var ok = true
        for (i, item) in items.enumerated() {
            let base = "\(id).\(stepsKey)[\(i)]"
            var fields: [String: (key: Node, value: Node)] = [:]
            for (key, keyNode, value) in entries(item, base, allowed: isBlock ? SequenceFiles.blockScriptKeys : SequenceFiles.obTemplateKeys) {
                fields[key] = (keyNode, value)
            }
            guard case .mapping = item else { ok = false; continue }
            guard let n = fields[nameKey]?.value else {
                error(item, "\(base).\(nameKey)", "missing required key `\(nameKey)`: the \(isBlock ? "script" : "template") to run")
                ok = false; continue
            }
            guard let actionName = scalarText(n, "\(base).\(nameKey)", expected: "a name") else { ok = false; continue }
            marks["\(base).\(nameKey)"] = n.mark
            markFiles["\(base).\(nameKey)"] = file
            guard let declaration = schema.declaration(actionName) else {
                let known = schema.actions.map(\.name)
                error(n, "\(base).\(nameKey)", "unknown \(isBlock ? "script" : "template") `\(actionName)`\(Suggestions.hint(actionName, known + schema.aliases.keys.sorted())); known: \(known.joined(separator: ", "))")
                ok = false; continue
            }
            if let standard = fields["standard"]?.value {
                _ = value(standard, "\(base).standard", ParameterSpec("standard", .bool, .optional, doc: ""))
            }
            let parameters = section(fields["parameters"]?.value, "\(base).parameters", declaration.keys,
                                     skip: Set(declaration.acceptedKeys.map(\.name)))
            out.append(SequenceStep(action: declaration.name, parameters: parameters))
        }
        return ok ? out : nil
    }

    /// `contingencies:`: the operator's checks and their responses.
    mutating func contingenciesValue(_ node: Node?, schema: ProcedureSchema) -> [Contingency] {
        guard let node else { return [] }
        guard let sequenceSchema = schema.sequences else {
            error(node, "contingencies", "this procedure runs no block or OB files, so it has no contingencies")
            return []
        }
        guard case .sequence(let items) = node else {
            error(node, "contingencies", "expected a list of contingencies, got \(Self.show(node))")
            return []
        }
        var out: [Contingency] = []
        for (k, item) in items.enumerated() {
            let base = "contingencies[\(k)]"
            var fields: [String: Node] = [:]
            for (key, _, value) in entries(item, base, allowed: SequenceFiles.contingencyKeys) { fields[key] = value }
            guard case .mapping = item else { continue }
            var ok = true
            for (key, what) in [("name", "the step the response runs under"), ("when", "the image fields that select the watched images"),
                                ("below", "the level that fails the check, e.g. 10000 adu")] where fields[key] == nil {
                error(item, "\(base).\(key)", "missing required key `\(key)` (\(what))")
                ok = false
            }
            let name = fields["name"].flatMap { scalarText($0, "\(base).name", expected: "a step name") }
            let when = section(fields["when"], "\(base).when", sequenceSchema.imageFields)
            var below: Double?
            if let n = fields["below"],
               case .number(let v)? = value(n, "\(base).below", ParameterSpec("below", .quantity(.adu), .required, min: 0, doc: "")) {
                below = v
            } else { ok = false }
            let note = fields["note"].flatMap { scalarText($0, "\(base).note", expected: "text") } ?? "check failed"
            var reportStep: String?, reportSeconds = 0.0
            if let r = fields["report"] {
                for (key, _, value) in entries(r, "\(base).report", allowed: SequenceFiles.reportKeys) {
                    if key == "step" {
                        reportStep = scalarText(value, "\(base).report.step", expected: "a step name")
                    } else if case .number(let v)? = self.value(value, "\(base).report.time",
                                                                 ParameterSpec("time", .quantity(.time), .required, min: 0, max: 86_400, doc: "")) {
                        reportSeconds = v
                    } else { ok = false }
                }
                if reportStep == nil { error(r, "\(base).report.step", "missing required key `step` (the report's step name)"); ok = false }
            }
            let stepsKey = sequenceSchema.format == .block ? "scripts" : "templates"
            var response: [SequenceStep] = []
            if let s = fields[stepsKey] {
                let saved = bareNumbers
                bareNumbers = true
                if let steps = steps(s, id: base, stepsKey: stepsKey, schema: sequenceSchema) { response = steps } else { ok = false }
                bareNumbers = saved
            }
            var maxRestarts = 2
            if let n = fields["max_restarts"] {
                if case .integer(let i)? = value(n, "\(base).max_restarts", ParameterSpec("max_restarts", .integer, .required, min: 0, max: 20, doc: "")) {
                    maxRestarts = i
                } else { ok = false }
            }
            var limit: [String] = []
            if let n = fields["on_restart_limit"] {
                if case .sequence(let ids) = n {
                    for (j, idNode) in ids.enumerated() {
                        if let id = scalarText(idNode, "\(base).on_restart_limit[\(j)]", expected: "a sequence id from `run`") { limit.append(id) }
                    }
                    marks["\(base).on_restart_limit"] = n.mark
                    markFiles["\(base).on_restart_limit"] = file
                } else {
                    error(n, "\(base).on_restart_limit", "expected a list of sequence ids from `run`, got \(Self.show(n))"); ok = false
                }
            }
            marks["\(base).when"] = fields["when"]?.mark
            markFiles["\(base).when"] = file
            guard ok, let name, let below else { continue }
            out.append(Contingency(name: name, when: when, belowADU: below, note: note, reportStep: reportStep, reportSeconds: reportSeconds,
                                   response: SequenceFile(id: base, name: name, file: file, format: sequenceSchema.format, steps: response),
                                   maxRestarts: maxRestarts, onRestartLimit: limit))
        }
        return out
    }

    /// Every sweepable key of the loaded sequences: `<id>.scripts[i].parameters.<key>`.
    func sequenceKeyPaths() -> [(path: String, spec: ParameterSpec)] {
        guard let schema = sequenceSchema else { return [] }
        var out: [(String, ParameterSpec)] = []
        for seq in sequences {
            for (i, step) in seq.steps.enumerated() {
                guard let d = schema.declaration(step.action) else { continue }
                for spec in d.keys where !spec.hidden { out.append(("\(seq.id).\(seq.stepsKey)[\(i)].parameters.\(spec.key)", spec)) }
            }
        }
        return out
    }
}
