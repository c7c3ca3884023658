/// The parameter table of METIS_img_lm_cal_InternalFlat (seed 000), row by row as the document writes it.
///
/// Each row keeps the document's text (`rangeText`, `label`) and its reading: hidden or not, the allowed
/// values or numeric range, the default or NODEFAULT. "TBD" entries get a value of ours, marked
/// `templateChoice` and documented: a table must be executable.
public struct METISTemplateParameter: Sendable, Equatable {
    public enum Allowed: Sendable, Equatable {
        /// One of these strings exactly (the document's space-separated list).
        case values([String])
        /// A number from `lower`; "TBD" upper limits are open.
        case range(lower: Double, upper: Double?)
    }

    public enum Kind: Sendable, Equatable { case text, integer, seconds }

    public let key: String
    public let hidden: Bool
    public let allowed: Allowed
    public let kind: Kind
    /// The document's default (the value in parentheses); nil when it says NODEFAULT or gives none.
    public let defaultValue: String?
    /// True when the document writes NODEFAULT: the user must give a value (unless hidden).
    public let noDefault: Bool
    /// Our value for a hidden or TBD entry the document leaves without a usable default ([U]).
    public let templateChoice: String?
    public let label: String
    /// The "Range (default)" cell as the document writes it.
    public let rangeText: String

    /// The value the template uses when the user gives none.
    public var effectiveDefault: String? { defaultValue ?? templateChoice }
}

/// Validation of a template invocation against the table: every problem at once.
public enum METISTemplateError: Error, Sendable, Equatable, CustomStringConvertible {
    case unknownParameter(key: String, suggestion: [String])
    case valueNotAllowed(key: String, value: String, allowed: [String])
    case missingNoDefault(key: String, label: String)
    case outOfRange(key: String, value: String, range: String)
    case notANumber(key: String, value: String, kind: String)
    case hiddenSetByUser(key: String, label: String)

    public var key: String {
        switch self {
        case .unknownParameter(let k, _), .valueNotAllowed(let k, _, _), .missingNoDefault(let k, _), .outOfRange(let k, _, _),
             .notANumber(let k, _, _), .hiddenSetByUser(let k, _):
            return k
        }
    }

    public var description: String {
        switch self {
        case .unknownParameter(let k, let s):
            return "`\(k)` is not a parameter of METIS_img_lm_cal_InternalFlat"
                + (s.isEmpty ? "" : " (did you mean " + s.map { "`\($0)`" }.joined(separator: " or ") + "?)")
        case .valueNotAllowed(let k, let v, let allowed):
            return "`\(k)`: `\(v)` is not allowed; allowed: " + allowed.map { "`\($0)`" }.joined(separator: ", ")
        case .missingNoDefault(let k, let label):
            return "`\(k)` (\(label)) has no default (NODEFAULT) and must be given"
        case .outOfRange(let k, let v, let r):
            return "`\(k)`: \(v) is out of range; allowed: \(r)"
        case .notANumber(let k, let v, let kind):
            return "`\(k)`: `\(v)` is not \(kind)"
        case .hiddenSetByUser(let k, let label):
            return "`\(k)` (\(label)) is hidden: the template sets it, a user may not"
        }
    }
}

public enum METISInternalFlatTemplate {
    public static let templateName = "METIS_img_lm_cal_InternalFlat"

    /// The table, in the document's order.
    public static let parameters: [METISTemplateParameter] = [
        row("DPR CATG", hidden: true, .values(["CALIB", "TEST"]), default: "CALIB", label: "Data product category",
            range: "CALIB TEST (CALIB)"),
        // Hidden and NODEFAULT at once: the template itself must set it; IMAGE is the LM imager's plain
        // technique ([U] our reading).
        row("DPR TECH", hidden: true, .values(["IMAGE", "IMAGE,APP", "IMAGE,RAVC", "IMAGE,CVC"]), noDefault: true, choice: "IMAGE",
            label: "Data product technique", range: "IMAGE IMAGE,APP IMAGE,RAVC IMAGE,CVC (NODEFAULT)"),
        row("DPR TYPE", hidden: true, .values(["FLAT,LAMP"]), default: "FLAT,LAMP", label: "Data product type", range: "FLAT,LAMP (FLAT,LAMP)"),
        row("DET1 DIT", hidden: false, .range(lower: 0, upper: nil), kind: .seconds, noDefault: true,
            label: "IMG-LM Detector integration time (DIT)", range: "0..TBD (NODEFAULT)"),
        row("DET1 NDIT", hidden: false, .range(lower: 0, upper: nil), kind: .integer, default: "1",
            label: "IMG-LM Number of Integrations (NDIT)", range: "0..TBD (1)"),
        // TBD: the HAWAII-2RG readout modes of the detector model (REFERENCES.md §5.2), SLOW by default [U].
        row("DET1 NCORRS NAME", hidden: false, .values(["SLOW", "FAST"]), choice: "SLOW", label: "IMG-LM Readout mode", range: "TBD"),
        row("SEQ TIME", hidden: false, .range(lower: 0, upper: nil), kind: .seconds, noDefault: true,
            label: "Total integration time (sec)", range: "0..TBD (NODEFAULT)"),
        row("SEQ NEXPO", hidden: false, .range(lower: 0, upper: nil), kind: .integer, default: "1", label: "Number of exposures",
            range: "0..TBD (1)"),
        // TEMP-L: a symbolic temperature "for specific filter"; the procedure's `temp_l` gives it in kelvin.
        row("SEQ WCU_BB_TEMP", hidden: true, .values(["TEMP-L"]), choice: "TEMP-L", label: "WCU BB temperature for specific filter",
            range: "TEMP-L"),
        // TBD: 3 off frames [U] (as many as a median needs to reject one outlier).
        row("SEQ WCU_OFF_NFRAMES", hidden: true, .range(lower: 0, upper: nil), kind: .integer, choice: "3",
            label: "Number of WCU off frames to take", range: "TBD"),
        row("INS OPTI1 NAME", hidden: true, .values(["PPS-CFO1", "RAP-LM"]), default: "PPS-CFO1", label: "CFO-PP1 mask wheel",
            range: "PPS-CFO1 RAP-LM (PPS-CFO1)"),
        row("INS OPTI2 NAME", hidden: true, .values(["OUT", "ADC-1", "ADC-2"]), default: "OUT", label: "CFO-PP1 ADC wheel",
            range: "OUT ADC-1 ADC-2 (OUT)"),
        row("INS OPTI3 NAME", hidden: true, .values(["FIELD-11", "FIELD-14", "FIELD-3", "VPM-L", "VPM-M", "PI-MASK", "PNH-1"]),
            default: "FIELD-11", label: "CFO FP2 mask/slit wheel", range: "FIELD-11 FIELD-14 FIELD-3 VPM-L VPM-M PI-MASK PNH-1 (FIELD-11)"),
        row("INS OPTI4 NAME", hidden: true, .values(["OUT", "IN"]), default: "OUT", label: "LMS beamsplitter pickoff wheel",
            range: "OUT IN (OUT)"),
        row("INS OPTI9 NAME", hidden: false, .values(["open", "PPS-LM", "RLS-LM", "CLS-LM", "APP-LM", "SPM-LM"]), default: "SPM-LM",
            label: "IMG-LM Mask/Grism name", range: "open PPS-LM RLS-LM CLS-LM APP-LM SPM-LM (SPM-LM)"),
        row("INS OPTI10 NAME", hidden: false,
            .values(["L'", "H2Oice", "shortL", "IB4.05", "PAH3.3", "PAH3.3ref", "Br-alpha", "Br-alpharef", "M'", "CO(1-0)/ice", "COref",
                     "HCIL-short", "HCIL-long"]), noDefault: true, label: "IMG-LM Filter name",
            range: "L' H2Oice shortL IB4.05 PAH3.3 PAH3.3ref Br-alpha Br-alpharef M' CO(1-0)/ice COref HCIL-short HCIL-long (NODEFAULT)"),
        row("INS OPTI11 NAME", hidden: false, .values(["OPEN", "ND1", "ND2", "ND3", "ND4", "ND5", "DARK"]), default: "OPEN",
            label: "IMG-LM Neutral density filter", range: "OPEN ND1 ND2 ND3 ND4 ND5 DARK (OPEN)"),
        row("INS OPTI15 NAME", hidden: true, .values(["OUT", "IN"]), default: "OUT", label: "IMG-LM pupil imaging lens", range: "OUT IN (OUT)"),
        row("INS OPTI17 NAME", hidden: true, .values(["IN"]), default: "IN", label: "WCU periscope arm", range: "IN (IN)"),
        row("INS OPTI18 NAME", hidden: true, .values(["WCU_mask", "AIV_mask", "ELT_mask"]), default: "ELT_mask", label: "WCU PP1 masks",
            range: "WCU_mask AIV_mask ELT_mask (ELT_mask)"),
        row("INS OPTI19 NAME", hidden: true, .values(["OPEN"]), default: "OPEN", label: "WCU BB exit aperture masks", range: "OPEN (OPEN)"),
        row("INS OPTI20 NAME", hidden: true, .values(["LM-pinhole"]), default: "LM-pinhole", label: "WCU FP2.1 mask wheel",
            range: "LM-pinhole (LM-pinhole)"),
    ]

    static func row(_ key: String, hidden: Bool, _ allowed: METISTemplateParameter.Allowed, kind: METISTemplateParameter.Kind = .text,
                    default d: String? = nil, noDefault: Bool = false, choice: String? = nil, label: String, range: String) -> METISTemplateParameter {
        METISTemplateParameter(key: key, hidden: hidden, allowed: allowed, kind: kind, defaultValue: d, noDefault: noDefault,
                               templateChoice: choice, label: label, rangeText: range)
    }

    public static func parameter(_ key: String) -> METISTemplateParameter? { parameters.first { $0.key == key } }

    /// Validates an invocation (key → value as written) and returns every value the template runs with
    /// (the user's, then the defaults and the template's own choices), or every problem at once, in
    /// table order (unknown keys last).
    public static func resolve(_ invocation: [String: String]) -> Result<[String: String], METISTemplateErrors> {
        var errors: [METISTemplateError] = []
        var out: [String: String] = [:]
        for p in parameters {
            guard let raw = invocation[p.key] else {
                if p.noDefault && !p.hidden { errors.append(.missingNoDefault(key: p.key, label: p.label)) }
                if let d = p.effectiveDefault { out[p.key] = d }
                continue
            }
            if p.hidden { errors.append(.hiddenSetByUser(key: p.key, label: p.label)) }
            if let e = check(p, raw) { errors.append(e) } else { out[p.key] = raw }
        }
        for key in invocation.keys.sorted() where parameter(key) == nil {
            errors.append(.unknownParameter(key: key, suggestion: Suggestions.closest(to: key, in: parameters.map(\.key))))
        }
        return errors.isEmpty ? .success(out) : .failure(METISTemplateErrors(errors: errors))
    }

    /// The problem with one value, or nil. Times may carry a time unit (`1 s`, `500 ms`); bare numbers
    /// are seconds, as ESO templates write them.
    static func check(_ p: METISTemplateParameter, _ raw: String) -> METISTemplateError? {
        switch p.allowed {
        case .values(let allowed):
            return allowed.contains(raw) ? nil : .valueNotAllowed(key: p.key, value: raw, allowed: allowed)
        case .range(let lower, let upper):
            let number: Double?
            switch p.kind {
            case .integer: number = Int(raw).map(Double.init)
            case .seconds:
                if case .success(let v) = QuantityParser.parse(raw, .time) { number = v } else { number = QuantityParser.plainNumber(raw) }
            case .text: number = nil
            }
            guard let x = number else {
                return .notANumber(key: p.key, value: raw, kind: p.kind == .integer ? "an integer" : "a time (e.g. `1 s`)")
            }
            if x < lower || (upper.map { x > $0 } ?? false) {
                return .outOfRange(key: p.key, value: raw, range: "\(NumberText.shortest(lower))..\(upper.map(NumberText.shortest) ?? "TBD")")
            }
            return nil
        }
    }

    /// The template's rows as the OB's keys so the OB loader checks unknown keys, allowed lists, ranges
    /// and NODEFAULT with file and line. Hidden rows are optional keys: the template rejects them when
    /// set (`InternalFlatTemplate`), with their line, when the OB is built.
    static let keySpecs: [ParameterSpec] = {
        parameters.map { p in
            let type: ParameterType
            var minimum: Double?
            switch (p.allowed, p.kind) {
            case (.values(let v), _): type = .choice(v)
            case (.range(let lo, _), .seconds): type = .quantity(.time); minimum = lo
            case (.range(let lo, _), _): type = .integer; minimum = lo
            }
            let requirement: Requirement
            if p.hidden {
                requirement = .optional
            } else if p.noDefault {
                requirement = .required
            } else if let d = p.effectiveDefault {
                requirement = .defaultValue(p.kind == .integer ? .integer(Int(d)!) : .string(d))
            } else {
                requirement = .optional
            }
            let doc = "\(p.label). Table: `\(p.rangeText)`\(p.hidden ? "; hidden: set by the template, not by a user" : "")"
                + (p.templateChoice.map { "; TBD/NODEFAULT, the template uses `\($0)` [U]" } ?? "") + " (seed 000)."
            return ParameterSpec(p.key, type, requirement, min: minimum, hidden: p.hidden, doc: doc)
        }
    }()

    /// A row's key, typed.
    static func key<V>(_ name: String) -> Key<V> {
        guard let spec = keySpecs.first(where: { $0.key == name }) else { preconditionFailure("no row \(name) in the InternalFlat table") }
        return Key(spec)
    }
}

/// Every problem of one invocation.
public struct METISTemplateErrors: Error, Sendable, Equatable, CustomStringConvertible {
    public let errors: [METISTemplateError]
    public var description: String { errors.map(\.description).joined(separator: "\n") }
}
