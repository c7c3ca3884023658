import Foundation
import Procedures
import Testing
@testable import ScenarioKit

/// Declares keys of every type; its trials are never run here.
struct SchemaOnly: Procedure {
    static let name = "schema-only"
    static let summary = "A schema exercising every parameter type."
    static let schema = ProcedureSchema(
        parameters: [
            ParameterSpec("n_flat", .integer, .defaultValue(.integer(20)), min: 1, max: 100, doc: "Flats."),
            ParameterSpec("warmup", .quantity(.time), .required, min: 0, doc: "Warm-up."),
            ParameterSpec("filter", .choice(["L'", "M'", "CO(1-0)/ice", "Br-alpha", "open"]), .defaultValue(.string("open")), doc: "Filter."),
            ParameterSpec("temperature", .quantity(.temperature), .defaultValue(.number(900)), min: 250, max: 1400, doc: "Blackbody."),
            ParameterSpec("exposures", .quantityList(.time), .defaultValue(.numbers([1, 2])), min: 0, doc: "DITs."),
            ParameterSpec("chop", .bool, .defaultValue(.bool(false)), doc: "Chop."),
        ],
        instrumentPresets: ["auxtel"],
        instrument: [ParameterSpec("dome.speed", .quantity(.angularSpeed), .defaultValue(.number(1.5)), min: 0.1, max: 10, doc: "Dome.")],
        faults: [.faultProbability("lamp_ignition_failure", default: 0.05, doc: "Ignition.")]
    )
    init(configuration: ProcedureConfiguration) throws {}
    func runTrial(_ context: TrialContext) async throws -> TrialResult { TrialResult(outcome: .completed) }
}

func parse(_ text: String) throws -> Scenario {
    ProcedureRegistry.register(SchemaOnly.self)
    return try ScenarioLoader.parse(text, file: "s.yaml")
}

func diagnostics(_ text: String) -> [ScenarioDiagnostic] {
    ProcedureRegistry.register(SchemaOnly.self)
    do {
        _ = try ScenarioLoader.parse(text, file: "s.yaml")
        return []
    } catch let e as ScenarioErrors {
        return e.diagnostics
    } catch {
        return [ScenarioDiagnostic(file: "", line: 0, column: 0, path: "", message: "\(error)")]
    }
}

let valid = """
name: metis-flat
procedure: schema-only
site: armazones
epoch: 2026-03-01T23:15:00Z
instrument:
  preset: auxtel
  dome:
    speed: 4 deg/s
parameters:
  warmup: 45 min
  filter: CO(1-0)/ice
  temperature: 20 degC
  exposures: [1 s, 500 ms, 0.5 min]
faults:
  lamp_ignition_failure: 0.1
study:
  trials: 50
  seed: 3
  detector: timing
  sweep:
    - parameter: parameters.n_flat
      from: 10
      to: 30
      step: 10
    - parameter: parameters.filter
      values: [L', Br-alpha]
"""

@Suite struct ScenarioValidationTests {
    @Test func validScenarioParsesWithUnitsAndVerbatimStrings() throws {
        let s = try parse(valid)
        #expect(s.configuration.parameters.double("warmup") == 2700)
        #expect(s.configuration.parameters.string("filter") == "CO(1-0)/ice")
        #expect(s.configuration.parameters.double("temperature") == 293.15)
        #expect(s.configuration.parameters.doubles("exposures") == [1, 0.5, 30])
        #expect(s.configuration.instrument.double("dome.speed") == 4)
        #expect(s.configuration.faults.double("lamp_ignition_failure") == 0.1)
        #expect(s.configuration.parameters.int("n_flat") == 20)
        #expect(s.site.name == "cerro-armazones")  // the alias `armazones` resolves to the canonical site
        #expect(s.site.latitudeDegrees == -24.5893)
        // 2026-03-01 is day 20513 since 1970-01-01.
        let expected: Double = 20_513 * 86_400 + 23 * 3600 + 15 * 60
        #expect(s.epochUnixSeconds == expected)
        #expect(s.sweepPoints.count == 6)
        #expect(s.sweepPoints[1].values == [.integer(10), .string("Br-alpha")])
        #expect(s.point(s.sweepPoints[5]).configuration.parameters.int("n_flat") == 30)
        #expect(s.point(s.sweepPoints[4]).configuration.parameters.string("filter") == "L'")
    }

    @Test func unknownKeySuggestsTheClosest() {
        let d = diagnostics(valid.replacingOccurrences(of: "  warmup: 45 min", with: "  warmup: 45 min\n  n_falt: 3"))
        #expect(d.count == 1)
        #expect(d[0].path == "parameters.n_falt")
        #expect(d[0].message.contains("did you mean `n_flat`?"))
        #expect(d[0].line == 11 && d[0].column == 3)
    }

    @Test func wrongType() {
        let d = diagnostics(valid.replacingOccurrences(of: "  trials: 50", with: "  trials: many"))
        #expect(d.map(\.path) == ["study.trials"])
        #expect(d[0].message.contains("expected an integer, got `many`"))
        #expect(d[0].line == 17 && d[0].column == 11)
    }

    @Test func missingRequiredKey() {
        let d = diagnostics(valid.replacingOccurrences(of: "  warmup: 45 min\n", with: ""))
        #expect(d.map(\.path) == ["parameters.warmup"])
        #expect(d[0].message.contains("missing required key `warmup`"))
    }

    @Test func outOfRange() {
        let d = diagnostics(valid.replacingOccurrences(of: "temperature: 20 degC", with: "temperature: 2000 K"))
        #expect(d.map(\.path) == ["parameters.temperature"])
        #expect(d[0].message.contains("2000 K is out of range; allowed: 250 K to 1400 K"))
    }

    @Test func notInAllowedList() {
        let d = diagnostics(valid.replacingOccurrences(of: "filter: CO(1-0)/ice", with: "filter: L"))
        #expect(d.map(\.path) == ["parameters.filter"])
        #expect(d[0].message.contains("`L` is not allowed"))
        #expect(d[0].message.contains("`L'`, `M'`, `CO(1-0)/ice`, `Br-alpha`, `open`"))
    }

    @Test func badOrMissingUnit() {
        let bare = diagnostics(valid.replacingOccurrences(of: "warmup: 45 min", with: "warmup: 45"))
        #expect(bare.map(\.path) == ["parameters.warmup"])
        #expect(bare[0].message.contains("has no unit"))
        #expect(bare[0].message.contains("s, ms, min, h, d"))
        let wrong = diagnostics(valid.replacingOccurrences(of: "speed: 4 deg/s", with: "speed: 4 m/s"))
        #expect(wrong.map(\.path) == ["instrument.dome.speed"])
        #expect(wrong[0].message.contains("unit `m/s`"))
        #expect(wrong[0].line == 8 && wrong[0].column == 12)
    }

    @Test func yamlSyntaxErrorHasLineAndColumn() {
        let d = diagnostics("name: x\nprocedure: schema-only\nparameters:\n  warmup: [1 s\n")
        #expect(d.count == 1)
        #expect(d[0].message.hasPrefix("YAML syntax error"))
        #expect(d[0].line >= 4)
    }

    @Test func everyErrorOfAFileAtOnce() {
        let text = valid
            .replacingOccurrences(of: "site: armazones", with: "site: armazone")
            .replacingOccurrences(of: "chop", with: "x")
            .replacingOccurrences(of: "  trials: 50", with: "  trials: 0")
            .replacingOccurrences(of: "lamp_ignition_failure: 0.1", with: "lamp_ignition_failure: 1.5")
            .replacingOccurrences(of: "values: [L', Br-alpha]", with: "values: [L', Br-beta]")
        let d = diagnostics(text)
        #expect(d.map(\.path) == ["site", "faults.lamp_ignition_failure", "study.trials", "study.sweep[1].values[1]"])
        #expect(d[0].message.contains("did you mean `armazones`?"))
        #expect(d.allSatisfy { $0.description.hasPrefix("s.yaml:\($0.line):\($0.column): ") })
    }

    @Test func unknownProcedureListsKnownOnes() {
        let d = diagnostics("name: x\nprocedure: schema-onyl\n")
        #expect(d.map(\.path) == ["procedure"])
        #expect(d[0].message.contains("did you mean `schema-only`?"))
    }

    @Test func quantityParserIsStrict() throws {
        #expect(try QuantityParser.parse("3.0 deg", .angle).get() == 3)
        #expect(try QuantityParser.parse("90 arcmin", .angle).get() == 1.5)
        // Glued units read as a user means them; the exponent's `e` is not mistaken for a unit.
        #expect(QuantityParser.parse("45min", .time) == .success(2700))
        #expect(QuantityParser.parse("1e-3s", .time) == .success(1e-3))
        #expect(QuantityParser.parse("5ke-", .electrons) == .success(5000))
        #expect(QuantityParser.parse("-5deg", .angle) == .success(-5))
        #expect(QuantityParser.parse("45mn", .time) == .failure(.unknownUnit("mn")))
        #expect(QuantityParser.parse("inf s", .time) == .failure(.badNumber("inf")))
        #expect(QuantityParser.parse("6", .time) == .failure(.missingUnit))
    }

    @Test func datesRoundTrip() {
        for text in ["1970-01-01", "2000-02-29", "2026-12-31T23:59:59Z", "2024-06-21T05:30:00.250Z"] {
            #expect(UTCDate.format(UTCDate.parse(text)!) == text)
        }
        #expect(UTCDate.parse("2026-02-29") == nil)
        #expect(UTCDate.parse("2026-03-01T25:00:00Z") == nil)
    }
}

@Suite struct ScenarioReferenceTests {
    /// Scenarios/README.md must be what `obsim scenario-reference` prints for the built-in procedures.
    @Test func committedReferenceIsCurrent() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let committed = try String(contentsOf: root.appendingPathComponent("Scenarios/README.md"), encoding: .utf8)
        #expect(committed == ScenarioReference.markdown(procedures: BuiltInProcedures.all),
                "regenerate with: swift run obsim scenario-reference > Scenarios/README.md")
    }

    @Test func referenceListsEveryDeclaredKey() {
        let text = ScenarioReference.markdown(procedures: [SchemaOnly.self])
        for (path, _) in SchemaOnly.schema.keyedSpecs { #expect(text.contains("`\(path)`")) }
        #expect(text.contains("| `parameters.temperature` | number with unit (K, degC) | `900 K` | 250 K to 1400 K |"))
    }
}

@Suite struct TemplateValidationInOnePassTests {
    /// Seed 000's InternalFlat table: a hidden parameter set by a user is reported with the other
    /// problems of the file, at its own line, not after they are fixed.
    @Test func hiddenTemplateKeyIsReportedWithEveryOtherError() throws {
        let ob = """
        name: hid
        templates:
          - id: METIS_img_lm_cal_InternalFlat
            parameters:
              DPR CATG: TEST
              DET1 NDIT: -2
              INS OPTI10 NAME: Lp
        """
        let (d, dir) = try sequenceProblems(scenario: "name: s\nprocedure: metis\nrun: [hid]\n", files: ["hid.yaml": ob])
        let byPath = Dictionary(grouping: d, by: \.path)
        let base = "hid.templates[0].parameters."
        #expect(byPath[base + "DPR CATG"]?.first?.line == 5)
        #expect(byPath[base + "DPR CATG"]?.first?.message.contains("hidden") == true)
        #expect(byPath[base + "DET1 NDIT"]?.first?.line == 6)
        #expect(byPath[base + "INS OPTI10 NAME"]?.first?.message.contains("L'") == true)
        #expect(byPath[base + "DET1 DIT"] != nil)  // NODEFAULT, missing
        #expect(byPath[base + "SEQ TIME"] != nil)
        #expect(d.allSatisfy { $0.file == dir + "/Sequences/hid.yaml" })
    }
}
