import Foundation

/// How the operator picks the next exposure time from the frames already taken.
public enum TwilightExposureRuleKind: String, Sendable, CaseIterable {
    /// The measured sky rate extrapolated to the next frame as an exponential in time (Tyson & Gal 1993;
    /// the GOTO/Dragonfly sequences, REFERENCES §1.2): counts ∝ ∫ r_m·10^(−κ(t − t_m)) dt over the next
    /// exposure, κ measured from the last two frames of the same pointing. It allows for the readout and
    /// overheads between frames, during which the sky keeps changing.
    case extrapolated
    /// Rubin's `base_take_twilight_flats.py` rule t_new = target·t_old/counts (REFERENCES §1.3): it aims
    /// at the sky of the previous frame, so a fading sky leaves every frame low by the change in between.
    case rubin
}

/// One measured twilight frame: what the rule needs from it.
public struct TwilightFrameMeasurement: Sendable, Equatable {
    /// Simulated seconds at the start of the integration.
    public var startSeconds: Double
    public var ditSeconds: Double
    /// Measured mean level, electrons per pixel (dark current included, bias removed).
    public var electrons: Double
    /// The detector's dark current, e⁻ s⁻¹ px⁻¹ (known to the operator).
    public var darkElectronsPerSecond: Double

    public init(startSeconds: Double, ditSeconds: Double, electrons: Double, darkElectronsPerSecond: Double) {
        self.startSeconds = startSeconds
        self.ditSeconds = ditSeconds
        self.electrons = electrons
        self.darkElectronsPerSecond = darkElectronsPerSecond
    }

    public var midSeconds: Double { startSeconds + ditSeconds / 2 }
    /// Sky electrons per second per pixel during the frame (dark removed), floored at a tiny positive value.
    public var skyRate: Double { max(1e-9, (electrons - darkElectronsPerSecond * ditSeconds) / ditSeconds) }

    /// The sky rate at mid-exposure on a sky fading at κ dex/s: the frame's mean rate is the mid rate times
    /// sinh(x)/x, x = κ·DIT·ln10/2 (a 30 s frame at 0.14 dex/min: 0.4 %).
    public func rateAtMid(fadingDexPerSecond kappa: Double) -> Double {
        let x = kappa * ditSeconds * M_LN10 / 2
        return abs(x) < 1e-6 ? skyRate : skyRate * x / sinh(x)
    }
}

/// The exposure-time rule of the twilight-flats agent: aim at `targetElectrons` (the document's "about 50 %
/// of the full-well capacity in a single DIT"), clamped to the minimum DIT and the maximum exposure.
public struct TwilightExposureRule: Sendable {
    public var kind: TwilightExposureRuleKind
    public var targetElectrons: Double
    public var minimumSeconds: Double
    public var maximumSeconds: Double

    public init(kind: TwilightExposureRuleKind, targetElectrons: Double, minimumSeconds: Double, maximumSeconds: Double) {
        self.kind = kind
        self.targetElectrons = targetElectrons
        self.minimumSeconds = minimumSeconds
        self.maximumSeconds = maximumSeconds
    }

    /// Fading rate κ (dex per second, positive when the sky fades) between two frames of one pointing, by
    /// the log-ratio of their sky rates over their mid-exposure separation; nil when they coincide.
    public static func fadingRate(from a: TwilightFrameMeasurement, to b: TwilightFrameMeasurement) -> Double? {
        let dt = b.midSeconds - a.midSeconds
        guard dt > 0 else { return nil }
        // Mean rates stand for mid-exposure rates only to first order; three fixed-point passes with the
        // sinh(x)/x correction make the estimate exact on an exponential sky to ~1e-9.
        var kappa = -(log10(b.skyRate) - log10(a.skyRate)) / dt
        for _ in 0..<3 {
            kappa = -(log10(b.rateAtMid(fadingDexPerSecond: kappa)) - log10(a.rateAtMid(fadingDexPerSecond: kappa))) / dt
        }
        return kappa
    }

    /// Sky electrons collected in [start, start + dit] when the rate is `rateAtStart` at `start` and
    /// fades at κ dex/s: ∫ r·10^(−κt) dt = r·(1 − 10^(−κ·dit))/(κ ln 10).
    public static func skyElectrons(rateAtStart r: Double, fadingDexPerSecond kappa: Double, ditSeconds dit: Double) -> Double {
        let x = kappa * dit * M_LN10
        if abs(x) < 1e-8 { return r * dit }
        return r * -expm1(-x) / (kappa * M_LN10)
    }

    /// The exposure time for a frame starting at `start`, unclamped (may be infinite when the fading sky
    /// can no longer give the target). `kappa` is the fading rate to extrapolate with (the extrapolated rule).
    public func unclampedExposure(startingAt start: Double, last: TwilightFrameMeasurement, fadingDexPerSecond kappa: Double) -> Double {
        switch kind {
        case .rubin:
            return targetElectrons * last.ditSeconds / max(last.electrons, 1e-9)
        case .extrapolated:
            let rateAtStart = last.rateAtMid(fadingDexPerSecond: kappa) * pow(10, -kappa * (start - last.midSeconds))
            let dark = last.darkElectronsPerSecond
            // The dark current fills the well too: two fixed-point passes on e = f(target − dark·e) converge
            // to far below a per-mille for any sky brighter than the dark current.
            var e = targetElectrons / (rateAtStart + dark)
            for _ in 0..<3 {
                let sky = targetElectrons - dark * e
                guard sky > 0 else { return .infinity }
                e = Self.exposureFor(skyElectrons: sky, rateAtStart: rateAtStart, kappa: kappa)
                if !e.isFinite { return e }
            }
            return e
        }
    }

    /// Inverts `skyElectrons`: 10^(−κe) = 1 − C·κ·ln10/r; infinite when a fading sky cannot give C.
    static func exposureFor(skyElectrons c: Double, rateAtStart r: Double, kappa: Double) -> Double {
        let u = c * kappa * M_LN10 / r
        if abs(u) < 1e-10 { return c / r }
        guard u < 1 else { return .infinity }
        return -log1p(-u) / (kappa * M_LN10)
    }

    public func clamp(_ seconds: Double) -> Double {
        seconds.isNaN ? maximumSeconds : min(maximumSeconds, max(minimumSeconds, seconds))
    }

    /// The electrons a frame of `dit` starting at `start` is expected to collect (dark included), by the
    /// same extrapolation: the stop tests ("too dark at the maximum exposure", "saturated at the minimum DIT").
    public func predictedElectrons(startingAt start: Double, ditSeconds dit: Double, last: TwilightFrameMeasurement,
                                   fadingDexPerSecond kappa: Double) -> Double {
        let rateAtStart = last.rateAtMid(fadingDexPerSecond: kappa) * pow(10, -kappa * (start - last.midSeconds))
        return Self.skyElectrons(rateAtStart: rateAtStart, fadingDexPerSecond: kappa, ditSeconds: dit)
            + last.darkElectronsPerSecond * dit
    }
}
