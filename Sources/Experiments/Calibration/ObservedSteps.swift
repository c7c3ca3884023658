import Foundation
import ScenarioKit

/// One executed step as an observatory log records it (an export of script start/end events from the
/// telemetry database or an ESO ops log): which night or run, the step's name as the procedure records it
/// (`obsim trace` shows them), when it started and ended, and — for an image step — how many images it took
/// and their total exposure time (the camera's startIntegration events carry both).
public struct ObservedStep: Sendable, Equatable {
    public var night: String
    public var step: String
    public var startSeconds: Double
    public var endSeconds: Double
    public var images: Int?
    public var exposureSeconds: Double?
    /// Line in the file, for messages.
    public var line: Int

    public init(night: String, step: String, startSeconds: Double, endSeconds: Double, images: Int? = nil,
                exposureSeconds: Double? = nil, line: Int = 0) {
        self.night = night
        self.step = step
        self.startSeconds = startSeconds
        self.endSeconds = endSeconds
        self.images = images
        self.exposureSeconds = exposureSeconds
        self.line = line
    }

    public var durationSeconds: Double { endSeconds - startSeconds }
}

/// Reads the observed-steps CSV (format in docs/calibrate.md). Every problem of a file is reported at
/// once with its file, line, column (the field's position) and field name, as a scenario's are.
public enum ObservedStepsReader {
    public static let requiredColumns = ["night", "step", "start", "end"]
    public static let optionalColumns = ["images", "exposure"]
    /// Steps whose duration the timing model predicts from their images; these need `images` and `exposure`.
    public static let imageStepPrefix = "take_imgtype "

    public static func read(path: String) throws -> [ObservedStep] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ScenarioErrors(diagnostics: [ScenarioDiagnostic(file: path, line: 1, column: 1, path: "", message: "cannot read the file")])
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ScenarioErrors(diagnostics: [ScenarioDiagnostic(file: path, line: 1, column: 1, path: "", message: "the file is not UTF-8 text")])
        }
        return try parse(text, file: path)
    }

    public static func parse(_ text: String, file: String) throws -> [ObservedStep] {
        var problems: [ScenarioDiagnostic] = []
        func problem(_ line: Int, _ column: Int, _ field: String, _ message: String) {
            problems.append(ScenarioDiagnostic(file: file, line: line, column: column, path: field, message: message))
        }
        let lines = text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).map(String.init)
        var header: [String]?
        var columnOf: [String: Int] = [:]
        var steps: [ObservedStep] = []
        for (index, raw) in lines.enumerated() {
            let lineNumber = index + 1
            let trimmed = raw.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            guard let fields = splitFields(raw) else {
                problem(lineNumber, 1, "", "unterminated quoted field")
                continue
            }
            guard let names = header else {
                let given = fields.map { $0.text.lowercased() }
                header = given
                for (i, name) in given.enumerated() {
                    if requiredColumns.contains(name) || optionalColumns.contains(name) {
                        if columnOf[name] != nil { problem(lineNumber, fields[i].column, name, "duplicate column `\(name)`") }
                        columnOf[name] = i
                    } else {
                        problem(lineNumber, fields[i].column, name,
                                "unknown column `\(fields[i].text)`; allowed: \((requiredColumns + optionalColumns).joined(separator: ", "))")
                    }
                }
                for name in requiredColumns where columnOf[name] == nil {
                    problem(lineNumber, 1, name, "missing column `\(name)`; the header needs \(requiredColumns.joined(separator: ", "))")
                }
                continue
            }
            if fields.count != names.count {
                problem(lineNumber, 1, "", "\(fields.count) fields, the header has \(names.count)")
                continue
            }
            guard requiredColumns.allSatisfy({ columnOf[$0] != nil }) else { continue }
            func field(_ name: String) -> (text: String, column: Int)? { columnOf[name].map { fields[$0] } }
            var ok = true
            let night = field("night")!, step = field("step")!
            if night.text.isEmpty { problem(lineNumber, night.column, "night", "empty; give the night or run id"); ok = false }
            if step.text.isEmpty { problem(lineNumber, step.column, "step", "empty; give the step name as `obsim trace` shows it"); ok = false }
            var times: [Double] = []
            for name in ["start", "end"] {
                let f = field(name)!
                if let t = time(f.text) { times.append(t) } else {
                    problem(lineNumber, f.column, name,
                            "`\(f.text)` is not a time; give seconds (e.g. 5213.5) or ISO UTC (e.g. 2026-01-05T14:02:03.5Z)")
                    ok = false
                }
            }
            if times.count == 2 && (Double(field("start")!.text) == nil) != (Double(field("end")!.text) == nil) {
                problem(lineNumber, field("end")!.column, "end", "`\(field("end")!.text)` and start `\(field("start")!.text)` mix seconds and ISO UTC; give both the same way")
                ok = false
            } else if times.count == 2 && times[1] < times[0] {
                problem(lineNumber, field("end")!.column, "end", "`\(field("end")!.text)` is before start `\(field("start")!.text)`")
                ok = false
            }
            var images: Int?
            if let f = field("images"), !f.text.isEmpty {
                if let n = Int(f.text), n >= 1 { images = n } else {
                    problem(lineNumber, f.column, "images", "`\(f.text)` is not an image count; allowed: an integer ≥ 1"); ok = false
                }
            }
            var exposure: Double?
            if let f = field("exposure"), !f.text.isEmpty {
                if let e = Double(f.text), e.isFinite, e >= 0 { exposure = e } else {
                    problem(lineNumber, f.column, "exposure", "`\(f.text)` is not a total exposure time; allowed: seconds ≥ 0"); ok = false
                }
            }
            if step.text.hasPrefix(imageStepPrefix) {
                if images == nil && field("images").map({ $0.text.isEmpty }) ?? true {
                    problem(lineNumber, field("images")?.column ?? 1, "images", "an image step (`\(step.text)`) needs its image count"); ok = false
                }
                if exposure == nil && field("exposure").map({ $0.text.isEmpty }) ?? true {
                    problem(lineNumber, field("exposure")?.column ?? 1, "exposure",
                            "an image step (`\(step.text)`) needs its total exposure time"); ok = false
                }
            }
            if ok {
                steps.append(ObservedStep(night: night.text, step: step.text, startSeconds: times[0], endSeconds: times[1],
                                          images: images, exposureSeconds: exposure, line: lineNumber))
            }
        }
        if header == nil { problem(1, 1, "", "no header line; the file needs \(requiredColumns.joined(separator: ","))[,images,exposure]") }
        else if steps.isEmpty && problems.isEmpty { problem(lines.count, 1, "", "no observed steps after the header") }
        if !problems.isEmpty { throw ScenarioErrors(diagnostics: problems) }
        return steps
    }

    /// Comma-separated fields with optional double quotes ("" inside quotes is a quote); each with the
    /// 1-based column where it starts. nil for an unterminated quote.
    static func splitFields(_ line: String) -> [(text: String, column: Int)]? {
        var out: [(String, Int)] = []
        var current = ""
        var start = 1, column = 0
        var quoted = false, wasQuoted = false
        var chars = Array(line)
        if chars.last == "\r" { chars.removeLast() }
        var i = 0
        while i < chars.count {
            let c = chars[i]
            column = i + 1
            if quoted {
                if c == "\"" {
                    if i + 1 < chars.count && chars[i + 1] == "\"" { current.append("\""); i += 1 } else { quoted = false }
                } else { current.append(c) }
            } else if c == "\"" && current.trimmingCharacters(in: .whitespaces).isEmpty {
                quoted = true; wasQuoted = true; current = ""
            } else if c == "," {
                out.append((wasQuoted ? current : current.trimmingCharacters(in: .whitespaces), start))
                current = ""; wasQuoted = false; start = column + 1
            } else { current.append(c) }
            i += 1
        }
        if quoted { return nil }
        out.append((wasQuoted ? current : current.trimmingCharacters(in: .whitespaces), start))
        return out
    }

    /// Seconds (any origin) or an ISO 8601 UTC instant (seconds since the Unix epoch).
    static func time(_ text: String) -> Double? {
        if let s = Double(text), s.isFinite { return s }
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let d = formatter.date(from: text) { return d.timeIntervalSince1970 }
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.date(from: text)?.timeIntervalSince1970
    }
}
