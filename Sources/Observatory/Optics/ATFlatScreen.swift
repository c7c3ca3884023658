/// The AuxTel white light (ATWhiteLight) and dome flat screen as seen by LATISS: photon rate per pixel
/// as a function of lamp state, the true dome azimuth and the filter/grating in the beam.
///
/// Calibration (seed 003, REFERENCES §3): the PTC flats reach the full-well turn-off (~123,000 ADU) at
/// about 25 s, and a 6 s SDSSr_65mm flat reads just under 30,000 ADU. With the LATISS preset (full well
/// 133,000 e⁻, 1 % quadratic compression at full well, mean gain 1.080 e⁻/ADU, QE 0.90) the compressed
/// signal reaches full well at e = 1.0102 × 133,000 = 134,357 e⁻; 134,357 e⁻ / 25 s = 5,374 e⁻ s⁻¹
/// = 5,971 ph s⁻¹ px⁻¹ at QE 0.90. A 6 s flat then collects 32,245 e⁻, compressed to 32,167 e⁻
/// = 29,784 ADU at the mean gain (per amplifier 29,110–30,720 ADU across the gain table): "just under
/// 30,000". One rate does both, since 30,000/6 s ≈ 123,000/25 s.
public struct ATFlatScreen: Sendable {
    public enum LampState: Sendable, Equatable {
        case off
        /// During the 15 min warm-up; `progress` runs from 0 (ignition) to 1 (warm).
        case warming(progress: Double)
        case on
    }

    /// SDSSr_65mm photon rate at the detector with the lamp on and the screen aligned (see above) [U].
    public var sdssrPhotonsPerSecondPerPixel = 5_971.0
    /// Dome azimuth at which the screen faces the lamp (REFERENCES §2.3: dome_flat_az 3.0°).
    public var lampAzimuthDegrees = 3.0
    /// Full illumination within ±1.5° of it (seed 003: "3.0° ± 1.5°").
    public var alignmentToleranceDegrees = 1.5
    /// Outside the tolerance the illumination falls as a Gaussian shoulder exp(−δ²/2w²), δ the excess
    /// beyond the tolerance, above the stray-light floor f: f + (1 − f)·exp(−δ²/2w²), w = 0.5° [U], so 1°
    /// beyond (dome 2.5° off) leaves 0.5 % + 99.5 % × e⁻² = 13.96 % (a 6 s SDSSr flat at ~4,200 ADU,
    /// "< 10,000" as the document says); continuous with zero slope at the edge.
    public var falloffWidthDegrees = 0.5
    /// Light the lamp scatters off the dome's inside into the telescope when the screen is not in the
    /// beam, as a fraction of the aligned illumination: [U] 0.5 % (no measurement published). A 6 s
    /// SDSSr flat then never reads less than ~150 ADU, however far the dome is off: far below the
    /// 10,000 ADU misalignment threshold (seed 003), which the floor therefore never hides.
    public var strayLightFraction = 0.005
    /// Output while warming relative to warm: 0.6 + 0.4·progress [U] (an arc lamp's output comes up
    /// within seconds of ignition and then drifts up while the bulb warms).
    public var warmingStartFraction = 0.6

    /// Throughput of each element relative to SDSSr_65mm [U], chosen so every weekly flat of seed 003
    /// stays under ~30,000 ADU on every amplifier: SDSSg 6 s → 23,800; SDSSz 3 s → 23,800; SDSSy 30 s
    /// → 22,400; empty/empty 1 s → 22,400 ADU (at the lowest gain 1.047). SDSSy_65mm is mounted in the
    /// grating wheel (seed 003); either wheel may carry any of them.
    public var relativeThroughput: [String: Double] = [
        "SDSSr_65mm": 1.0, "SDSSg_65mm": 0.8, "SDSSz_65mm": 1.6, "SDSSy_65mm": 0.15, "empty_1": 4.5,
        // The document's "usage of filters BG40, OG550" [U]: BG40 (blue-green glass, ~330-620 nm) passes
        // more of the lamp than SDSSr, OG550 (long-pass above 550 nm) most of the red: 4 s BG40 → 25,800 ADU,
        // 2 s OG550 → 21,800 ADU at the mean gain.
        "BG40_65mm": 1.3, "OG550_65mm": 2.2,
    ]
    public static let emptyName = "empty_1"

    public init() {}

    /// Fraction of the aligned illumination at a true dome azimuth.
    public func alignmentFactor(trueDomeAzimuthDegrees az: Double) -> Double {
        var d = (az - lampAzimuthDegrees).truncatingRemainder(dividingBy: 360)
        if d > 180 { d -= 360 } else if d < -180 { d += 360 }
        let excess = abs(d) - alignmentToleranceDegrees
        if excess <= 0 { return 1 }
        let shoulder = gslExp(-excess * excess / (2 * falloffWidthDegrees * falloffWidthDegrees))
        return strayLightFraction + (1 - strayLightFraction) * shoulder
    }

    public func lampFactor(_ state: LampState) -> Double {
        switch state {
        case .off: return 0
        case .warming(let p): return warmingStartFraction + (1 - warmingStartFraction) * min(1, max(0, p))
        case .on: return 1
        }
    }

    /// Throughput of the filter + grating pair relative to SDSSr_65mm: the empty/empty beam has the
    /// `empty_1` value; each non-empty element scales it by its own value over the empty one.
    public func throughput(filter: String, grating: String) throws -> Double {
        func element(_ name: String) throws -> Double {
            guard let t = relativeThroughput[name] else {
                throw OpticsError.unknownName(kind: "LATISS filter/grating", name: name,
                                              allowed: relativeThroughput.keys.sorted())
            }
            return t
        }
        let empty = try element(Self.emptyName)
        let f = try element(filter), g = try element(grating)
        return f * g / empty
    }

    /// Photon rate per pixel at the detector (ph s⁻¹ px⁻¹, before QE).
    public func photonsPerSecondPerPixel(filter: String, grating: String, lamp: LampState,
                                         trueDomeAzimuthDegrees: Double) throws -> Double {
        photonsPerSecondPerPixel(throughput: try throughput(filter: filter, grating: grating), lamp: lamp,
                                 trueDomeAzimuthDegrees: trueDomeAzimuthDegrees)
    }

    /// The same rate for a pair's `throughput(filter:grating:)` already looked up: a session asks at every
    /// flat, and the pair's element names need not be looked up again each time.
    public func photonsPerSecondPerPixel(throughput: Double, lamp: LampState, trueDomeAzimuthDegrees: Double) -> Double {
        sdssrPhotonsPerSecondPerPixel * throughput * lampFactor(lamp) * alignmentFactor(trueDomeAzimuthDegrees: trueDomeAzimuthDegrees)
    }
}

