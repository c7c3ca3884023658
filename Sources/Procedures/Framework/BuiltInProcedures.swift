/// The procedures `obsim` knows by name. A new procedure adds its type here (one line), and
/// regenerates `Scenarios/README.md` with `obsim scenario-reference > Scenarios/README.md`.
public enum BuiltInProcedures {
    public static let all: [any Procedure.Type] = [
        LATISS.self,
        METISOB.self,
        TwilightFlats.self,
    ]
}
