import Observatory
import SimKernel

/// METIS running ESO observation blocks: the scenario's `run:` list of OB files, each an ordered list of
/// templates (`METIS_img_lm_cal_InternalFlat` with its table's keys, …), executed one after the other in
/// one trial. An OB adds no step of its own (the templates' steps are the timeline); the first template
/// that does not complete ends the trial with its outcome, as an aborted template ends an OB. The
/// templates of one trial share one `METISSession`: what one leaves (mechanisms, the blackbody's
/// temperature) the next starts from.
public struct METISOB: Procedure {
    public static let name = "metis"
    public static let summary = "METIS running ESO OBs (`run:`): the calibration templates of the documents, in order."

    public static let library = ActionLibrary<METISSession>(
        instrument: "METIS",
        actions: templates)

    /// One file per template in `Templates/`.
    static let templates: [any Action<METISSession>.Type] = [
        ChopperHomeTemplate.self, InternalFlatTemplate.self, LMDistortionTemplate.self, NQDistortionTemplate.self,
        IFUDistortionTemplate.self, TwilightFlatTemplate.self,
    ]

    public static let schema = ProcedureSchema(
        instrumentPresets: ["metis"],
        faults: METISSession.faultSpecs,
        metrics: templates.flatMap { ($0 as? any METISTemplate.Type)?.metrics ?? [] }.reduce(into: [MetricSpec]()) { out, m in
            if !out.contains(where: { $0.name == m.name }) { out.append(m) }
        },
        sequences: SequenceSchema(format: .observationBlock, actions: library.declarations))

    public let run: [(file: SequenceFile, templates: [any Action<METISSession>])]
    public let faults: ValueSet

    public init(configuration c: ProcedureConfiguration) throws {
        if c.sequences.isEmpty { throw ConfigurationError(path: "run", "names no OB; give e.g. `run: [METIS_img_lm_cal_ChopperHome]`") }
        run = try c.sequences.map { ($0, try Self.library.instantiate($0)) }
        faults = c.faults
    }

    public func runTrial(_ context: TrialContext) async throws -> TrialResult {
        let session = try METISSession(context: context, faults: faults)
        for (_, templates) in run {
            for template in templates {
                try await session.run(template)
                if !session.outcome.isCompleted { return session.result }
            }
        }
        return session.result
    }
}

/// A METIS template: an ESO template an OB calls by name, run in the OB's `METISSession`.
protocol METISTemplate: Action where Session == METISSession {
    /// What the template measures.
    static var metrics: [MetricSpec] { get }
}
