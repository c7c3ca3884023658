import Observatory

/// The chopper's [U] error parameters as keys of the templates that power it on (ChopperHome, the
/// distortion templates), with the ranges of `Chopper.Parameters.metis` (REFERENCES-physics.md §9). Angles
/// in degrees, as every angle quantity. The template sets them on the session's chopper before powering it
/// on, so they hold from that power-on.
enum METISChopperKeys {
    static let repeatability = Key<Double>("chopper_repeatability", .quantity(.angle), .defaultValue(.number(0.1 / 3_600_000)), min: 0,
                                           max: 2 / 3_600_000,
                                           doc: "Chopper repeatability per axis (1σ), home included; 0.1 mas [U], range 0.05–1.2 mas (REFERENCES-physics.md §9).")
    static let drift = Key<Double>("chopper_drift", .quantity(.angle), .defaultValue(.number(0.3 / 3_600_000)), min: 0, max: 5 / 3_600_000,
                                   doc: "Chopper thermal drift after power-on, settled amplitude per axis (1σ); 0.3 mas [U], range 0–1.2 mas.")
    static let driftTimeConstant = Key<Double>("chopper_drift_time_constant", .quantity(.time), .defaultValue(.number(1200)), min: 1, max: 86_400,
                                               doc: "Time constant of the chopper's drift after power-on; 1200 s [U], range 300–3600 s.")
    static let specs = [repeatability.spec, drift.spec, driftTimeConstant.spec]

    /// `Chopper.Parameters.metis` with the keys' values.
    static func parameters(_ c: ActionConfiguration) -> Chopper.Parameters {
        var p = Chopper.Parameters.metis
        p.relativeSigmaMas = c[repeatability] * 3_600_000
        p.driftSigmaMas = c[drift] * 3_600_000
        p.driftTimeConstantSeconds = c[driftTimeConstant]
        return p
    }
}
