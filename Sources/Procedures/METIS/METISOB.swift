import Observatory
import SimKernel

/// METIS running ESO observation blocks: the scenario's `run:` list of OB files, each an ordered list of
/// templates (`METIS_img_lm_cal_InternalFlat` with its table's keys, …), executed one after the other in
/// one trial. An OB adds no step of its own (the templates' steps are the timeline); the first template
/// that does not complete ends the trial with its outcome, as an aborted template ends an OB.
public struct METISOB: Procedure {
    public static let name = "metis"
    public static let summary = "METIS running ESO OBs (`run:`): the calibration templates of the documents, in order."

    public static let library = ActionLibrary<METISSession>(
        instrument: "METIS",
        actions: [ChopperHomeTemplate.self, InternalFlatTemplate.self, LMDistortionTemplate.self, NQDistortionTemplate.self,
                  IFUDistortionTemplate.self, TwilightFlatTemplate.self])

    static let wrapped: [ProcedureSchema] = [METISChopperHome.schema, METISInternalFlat.schema, METISDistortion.schema, TwilightFlats.schema]

    public static let schema = ProcedureSchema(
        instrumentPresets: ["metis"],
        faults: METISSupport.faultSpecs,
        metrics: wrapped.flatMap(\.metrics).reduce(into: [MetricSpec]()) { out, m in
            if !out.contains(where: { $0.name == m.name }) { out.append(m) }
        },
        sequences: SequenceSchema(format: .observationBlock, actions: library.declarations))

    public let run: [(file: SequenceFile, templates: [any Action<METISSession>])]
    public let faults: ValueSet

    public init(configuration c: ProcedureConfiguration) throws {
        if c.sequences.isEmpty { throw ConfigurationError(path: "run", "names no OB; give e.g. `run: [METIS_img_lm_cal_ChopperHome]`") }
        run = try c.sequences.map { ($0, try Self.library.instantiate($0)) }
        faults = c.faults
        // Each template's own cross-key checks, with the scenario's fault rates.
        for (file, templates) in run {
            for template in templates { _ = try (template as? any METISTemplate)?.procedure(faults: faults, path: file.id) as (any Procedure)? }
        }
    }

    public func runTrial(_ context: TrialContext) async throws -> TrialResult {
        let session = METISSession(context: context, faults: faults)
        for (_, templates) in run {
            for template in templates {
                try await template.run(in: session)
                if !session.outcome.isCompleted { return session.result }
            }
        }
        return session.result
    }
}

/// What the templates of one METIS trial share: the trial's context and fault rates, and what the
/// templates measured. Each template drives the METIS and WCU models through its own procedure code
/// (`METISChopperHome`, `METISInternalFlat`, `METISDistortion`, `TwilightFlats`), built from the OB's values.
public final class METISSession {
    public let context: TrialContext
    let faults: ValueSet
    var outcome = Outcome.completed
    /// A metric measured by two templates keeps the later value.
    var metrics: [String: Double] = [:]
    var frames: [Frame] = []
    var series: [TrialSeries] = []

    init(context: TrialContext, faults: ValueSet) {
        self.context = context
        self.faults = faults
    }

    var result: TrialResult { TrialResult(outcome: outcome, metrics: metrics, frames: frames, series: series) }

    func run(_ procedure: any Procedure) async throws {
        let r: TrialResult
        do {
            r = try await procedure.runTrial(context)
        } catch let abort as ProcedureAbort {
            throw ProcedureAbort(cause: abort.cause, metrics: metrics.merging(abort.metrics) { _, b in b })
        }
        outcome = r.outcome
        metrics.merge(r.metrics) { _, b in b }
        frames += r.frames
        series += r.series
    }
}

/// A METIS template backed by a procedure of this module: its keys are the procedure's parameters
/// (the InternalFlat's are its table's, `DET1 DIT`, …), its instrument preset is fixed by the template.
protocol METISTemplate: Action where Session == METISSession {
    associatedtype Wrapped: Procedure
    /// The instrument preset the template runs on.
    static var preset: String { get }
    /// The prefix of the wrapped procedure's keys that the OB leaves out (`template.` for the table).
    static var keyPrefix: String { get }
    var configuration: ActionConfiguration { get }
    func procedure(faults: ValueSet, path: String) throws -> Wrapped
}

extension METISTemplate {
    static var keyPrefix: String { "" }
    static var keys: [ParameterSpec] {
        Wrapped.schema.parameters.filter { $0.key.hasPrefix(keyPrefix) }.map { s in
            ParameterSpec(String(s.key.dropFirst(keyPrefix.count)), s.type, s.requirement, min: s.minimum, max: s.maximum,
                          hidden: s.hidden, doc: s.doc)
        } + Wrapped.schema.parameters.filter { !keyPrefix.isEmpty && !$0.key.hasPrefix(keyPrefix) }
    }

    /// The wrapped procedure for these values; its cross-key errors are re-addressed to the OB's keys.
    func procedure(faults: ValueSet, path: String) throws -> Wrapped {
        var parameters = ValueSet()
        let own = Set(Wrapped.schema.parameters.map(\.key))
        for (key, value) in configuration.values.values {
            parameters[own.contains(Self.keyPrefix + key) ? Self.keyPrefix + key : key] = value
        }
        var instrument = ValueSet()
        for spec in Wrapped.schema.instrument { if case .defaultValue(let d) = spec.requirement { instrument[spec.key] = d } }
        var f = ValueSet()
        for spec in Wrapped.schema.faults {
            if let v = faults[spec.key] { f[spec.key] = v } else if case .defaultValue(let d) = spec.requirement { f[spec.key] = d }
        }
        do {
            return try Wrapped(configuration: ProcedureConfiguration(parameters: parameters, instrumentPreset: Self.preset,
                                                                     instrument: instrument, faults: f))
        } catch let e as ConfigurationError {
            var key = e.path.hasPrefix("parameters.") ? String(e.path.dropFirst("parameters.".count)) : e.path
            if key.hasPrefix(Self.keyPrefix) { key = String(key.dropFirst(Self.keyPrefix.count)) }
            throw ConfigurationError(path: "\(configuration.path).parameters.\(key)", e.message)
        }
    }

    func run(in session: METISSession) async throws {
        try await session.run(try procedure(faults: session.faults, path: configuration.path))
    }
}

/// METIS_img_lm_cal_ChopperHome (seed 000): WCU warm-up, CFO setup, IMG-LM and SCAO WFS centroids.
struct ChopperHomeTemplate: METISTemplate {
    typealias Wrapped = METISChopperHome
    static let name = "METIS_img_lm_cal_ChopperHome"
    static let summary = "Chopper home offset from the LM-pinhole on IMG-LM and the SCAO WFS (seed 000)."
    static let preset = "metis"
    let configuration: ActionConfiguration
    init(configuration: ActionConfiguration) throws { self.configuration = configuration }
}

/// METIS_img_lm_cal_InternalFlat (seed 000): its parameter table, hidden parameters enforced.
struct InternalFlatTemplate: METISTemplate {
    typealias Wrapped = METISInternalFlat
    static let name = METISInternalFlatTemplate.templateName
    static let summary = "The InternalFlat template table (`DET1 DIT`, `SEQ NEXPO`, `INS OPTI10 NAME`, …) executed; master flat accuracy."
    static let preset = "metis"
    static let keyPrefix = "template."
    let configuration: ActionConfiguration
    init(configuration: ActionConfiguration) throws { self.configuration = configuration }
}

/// METIS_img_lm_cal_distortion (seed 001) on IMG-LM.
struct LMDistortionTemplate: METISTemplate {
    typealias Wrapped = METISDistortion
    static let name = "METIS_img_lm_cal_distortion"
    static let summary = "Distortion map of IMG-LM from the WCU pinhole grid (seed 001)."
    static let preset = "img-lm"
    let configuration: ActionConfiguration
    init(configuration: ActionConfiguration) throws { self.configuration = configuration }
}

/// METIS_img_nq_cal_distortion (seed 001) on IMG-NQ.
struct NQDistortionTemplate: METISTemplate {
    typealias Wrapped = METISDistortion
    static let name = "METIS_img_nq_cal_distortion"
    static let summary = "Distortion map of IMG-NQ from the WCU pinhole grid (seed 001)."
    static let preset = "img-nq"
    let configuration: ActionConfiguration
    init(configuration: ActionConfiguration) throws { self.configuration = configuration }
}

/// METIS_ifu_cal_distortion (seed 001) on the LMS used as an imager.
struct IFUDistortionTemplate: METISTemplate {
    typealias Wrapped = METISDistortion
    static let name = "METIS_ifu_cal_distortion"
    static let summary = "Distortion map of the IFU (LMS as an imager) from the WCU pinhole grid (seed 001)."
    static let preset = "ifu"
    let configuration: ActionConfiguration
    init(configuration: ActionConfiguration) throws { self.configuration = configuration }
}

/// METIS_all_cal_TwilightFlat (seed 002): the twilight exposure-time rule, on IMG-LM or IMG-N.
struct TwilightFlatTemplate: METISTemplate {
    typealias Wrapped = TwilightFlats
    static let name = "METIS_all_cal_TwilightFlat"
    static let summary = "Twilight flats with the exposure-time rule chasing the sky (seed 002); `imager` picks IMG-LM or IMG-N."
    static var preset: String { "metis-img-lm" }
    static let imager = Key<String>("imager", .choice(["metis-img-lm", "metis-img-n"]), .defaultValue(.string("metis-img-lm")),
                                    doc: "The imager the flats are taken with.")
    static var keys: [ParameterSpec] { [imager.spec] + Wrapped.schema.parameters }
    let configuration: ActionConfiguration
    init(configuration: ActionConfiguration) throws { self.configuration = configuration }

    func procedure(faults: ValueSet, path: String) throws -> TwilightFlats {
        var parameters = configuration.values
        parameters["imager"] = nil
        do {
            return try TwilightFlats(configuration: ProcedureConfiguration(parameters: parameters, instrumentPreset: configuration[Self.imager]))
        } catch let e as ConfigurationError {
            let key = e.path.hasPrefix("parameters.") ? String(e.path.dropFirst("parameters.".count)) : e.path
            throw ConfigurationError(path: "\(configuration.path).parameters.\(key)", e.message)
        }
    }

    func run(in session: METISSession) async throws {
        try await session.run(try procedure(faults: session.faults, path: configuration.path))
    }
}
