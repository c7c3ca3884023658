import Foundation

/// What turns a sky surface brightness into electrons per second per pixel: collecting area, pixel
/// solid angle, throughput and QE, plus the warm telescope's emissivity and temperature for the
/// thermal infrared.
public struct SkyCamera: Sendable, Hashable {
    public var name: String
    public var collectingAreaM2: Double
    public var pixelScaleArcsec: Double
    /// Telescope + instrument transmission excluding detector QE, per band. [U] unless stated.
    public var throughput: [Band: Double]
    /// Detector quantum efficiency per band.
    public var quantumEfficiency: [Band: Double]
    /// Effective emissivity of the warm telescope optics seen by the detector (thermal IR). [U]
    public var telescopeEmissivity: Double
    /// Temperature of the telescope optics and of the emitting sky, kelvin.
    public var ambientKelvin: Double
    /// Effective zenith emissivity of the sky per thermal band (scaled by airmass). [U]
    public var skyEmissivity: [Band: Double]

    public init(name: String, collectingAreaM2: Double, pixelScaleArcsec: Double, throughput: [Band: Double],
                quantumEfficiency: [Band: Double], telescopeEmissivity: Double = 0, ambientKelvin: Double = 280.15,
                skyEmissivity: [Band: Double] = [:]) {
        self.name = name
        self.collectingAreaM2 = collectingAreaM2
        self.pixelScaleArcsec = pixelScaleArcsec
        self.throughput = throughput
        self.quantumEfficiency = quantumEfficiency
        self.telescopeEmissivity = telescopeEmissivity
        self.ambientKelvin = ambientKelvin
        self.skyEmissivity = skyEmissivity
    }

    public var pixelSolidAngleArcsec2: Double { pixelScaleArcsec * pixelScaleArcsec }
    public var bands: [Band] { Band.allCases.filter { throughput[$0] != nil && quantumEfficiency[$0] != nil } }

    /// Rubin AuxTel + LATISS. Primary 1.2 m, secondary 241 mm (NOIRLab "Rubin AuxTel" facts page),
    /// taking M2 as the central obstruction (its baffle may be larger: [U]) ⇒ A = π/4·(1.2² − 0.241²) =
    /// 1.085 m². Pixel 10 µm at 9.5695″/mm (REFERENCES §3) ⇒ 0.095695″/px. Throughput: two Al mirrors
    /// (0.85 each), filter 0.9, window 0.95 ⇒ ≈0.62 [U]. ITL QE per band [U].
    public static let auxTelLATISS = SkyCamera(
        name: "AuxTel+LATISS",
        collectingAreaM2: Double.pi / 4 * (1.2 * 1.2 - 0.241 * 0.241),
        pixelScaleArcsec: 9.5695 * 0.010,
        throughput: Dictionary(uniqueKeysWithValues: [Band.U, .B, .V, .R, .I, .g, .r, .i, .z, .y].map { ($0, 0.62) }),
        quantumEfficiency: [.U: 0.45, .B: 0.80, .V: 0.88, .R: 0.92, .I: 0.85,
                            .g: 0.85, .r: 0.92, .i: 0.88, .z: 0.75, .y: 0.35])

    /// ELT + METIS IMG-LM (HAWAII-2RG). A = 975.2 m² (IRDB ELT pupil, REFERENCES §5.1); 5.47 mas/px and
    /// QE 0.88 at 3.5 µm, 0.72 at 4.75 µm (REFERENCES §5.2). Throughput ELT 5 mirrors × METIS ≈ 0.25 [U].
    /// Telescope emissivity 0.15 (five warm Al mirrors plus spiders and dust) [U]; sky emissivity L′ 0.05,
    /// M′ 0.10 [U], both below the telescope's as seed 002 states ("the thermal background of METIS will be
    /// dominated by the thermal emission from the telescope at almost all science wavelengths");
    /// ambient 7 °C = 280.15 K (Armazones, irdb, REFERENCES §7).
    public static let eltMETISImgLM = SkyCamera(
        name: "ELT+METIS IMG-LM",
        collectingAreaM2: 975.2, pixelScaleArcsec: 5.47e-3,
        throughput: [.lPrime: 0.25, .mPrime: 0.25],
        quantumEfficiency: [.lPrime: 0.88, .mPrime: 0.72],
        telescopeEmissivity: 0.15, ambientKelvin: 280.15,
        skyEmissivity: [.lPrime: 0.05, .mPrime: 0.10])

    /// ELT + METIS IMG-N (GeoSnap): 6.79 mas/px, QE 0.8 (REFERENCES §5.2); N-band sky emissivity 0.10 [U];
    /// other parameters as IMG-LM.
    public static let eltMETISImgN = SkyCamera(
        name: "ELT+METIS IMG-N",
        collectingAreaM2: 975.2, pixelScaleArcsec: 6.79e-3,
        throughput: [.n: 0.25],
        quantumEfficiency: [.n: 0.8],
        telescopeEmissivity: 0.15, ambientKelvin: 280.15,
        skyEmissivity: [.n: 0.10])

    public static let presets: [String: SkyCamera] = [
        "auxtel-latiss": auxTelLATISS, "metis-img-lm": eltMETISImgLM, "metis-img-n": eltMETISImgN,
    ]
}
