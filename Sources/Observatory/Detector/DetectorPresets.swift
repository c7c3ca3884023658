/// Built-in detectors, with the source of every number. [U] marks our own choice where no public
/// figure exists (REFERENCES.md conventions): a parameter to vary, never a test's truth.
extension DetectorModel {
    /// LATISS: one ITL STA3800 (ITL-3800C-068), 16 amplifiers in 2 rows of 8, each 509 × 2000 imaging
    /// pixels of 10 µm (REFERENCES §3, obs_lsst policy/latiss/RXX.yaml). Amplifier names follow the LSST
    /// convention: C10…C17 along the top row, C07…C00 along the bottom row.
    public static func latissITL3800() -> DetectorModel {
        // Per-amplifier gains and read noises: a fixed table spanning the documented lab ranges
        // (gain 1.047–1.105 e⁻/ADU, mean 1.080; read noise 8.0–10.3 e⁻; REFERENCES §3). Which amplifier
        // has which value is [U]: the real per-amp table was not read.
        let gains: [Double] = [1.062, 1.075, 1.083, 1.090, 1.097, 1.105, 1.071, 1.079,
                               1.047, 1.066, 1.088, 1.094, 1.078, 1.084, 1.069, 1.092]
        let readNoises: [Double] = [8.6, 9.1, 8.3, 9.8, 10.3, 8.9, 9.4, 8.0,
                                    9.2, 8.7, 9.9, 8.4, 9.6, 8.8, 10.1, 9.0]
        let ampWidth = 509, ampHeight = 2000
        var amps: [Amplifier] = []
        for i in 0..<16 {
            let top = i < 8
            let column = i % 8
            let name = top ? "C1\(column)" : "C0\(7 - column)"
            // Raw bias levels around 22,000 ADU with a per-amp spread and a faint plane: [U] (typical of
            // ITL raw frames; only the bias-subtracted levels are documented).
            amps.append(Amplifier(
                name: name,
                region: PixelRect(x0: column * ampWidth, y0: top ? ampHeight : 0, width: ampWidth, height: ampHeight),
                biasADU: 22_000 + 150 * Double((i * 7) % 11) - 750,
                biasColumnSlopeADU: 1e-3, biasRowSlopeADU: -5e-4))
        }
        // Full well 133,000 e⁻ = 123,000 ADU × the mean gain 1.08: the PTC turn-off the weekly-calibration
        // document reports (003 seed; REFERENCES §3 "saturation ~123 000 ADU at ~25 s") [U as an e⁻ figure].
        let fullWell = 133_000.0
        let mode = ReadoutMode(
            name: "NORMAL",
            minimumDITSeconds: 0,                 // a CCD: zero-second biases are legal
            readoutSeconds: 2.0,                  // REFERENCES §3 (base_camera.py read_out_time)
            fullWellElectrons: fullWell,
            gainElectronsPerADU: gains, readNoiseElectrons: readNoises,
            // "A mild non-linearity" [U]: 1 % compression at full well.
            nonlinearity: .quadratic(losing: 0.01, atElectrons: fullWell),
            adcMaximumADU: 262_143,               // 18-bit ADC [U]
            saturationADU: 120_000)               // ISR saturation, REFERENCES §3 (config/latiss/isr.py)
        return DetectorModel(
            name: "LATISS ITL STA3800", serial: "ITL-3800C-068",
            columns: 8 * ampWidth, rows: 2 * ampHeight, pixelSizeMicrons: 10,
            pixelScaleArcsec: 0.0957,             // 9.5695″/mm × 10 µm, REFERENCES §3
            amplifiers: amps, modes: [mode], defaultModeName: "NORMAL",
            darkCurrentElectronsPerSecond: 0.01,  // REFERENCES §3: typical ITL dark [U]
            quantumEfficiency: 0.90,              // effective QE in the SDSS bands [U]; the flat screen's
                                                  // per-filter throughputs absorb its band dependence
            prnuSigma: 0.005,                     // 0.5 % PRNU [U]
            shutterSeconds: 1.0,                  // shutter open + close, REFERENCES §3
            roiWidth: 256, roiHeight: 256)
    }

    /// METIS IMG-LM: HAWAII-2RG, 2048 × 2048 × 18 µm, 32 readout channels of 64 columns
    /// (REFERENCES §5.2, irdb METIS_DET_IMG_LM.yaml). Modes "FAST" and "SLOW".
    public static func metisIMGLM() -> DetectorModel {
        let channels = 32, width = 64, height = 2048
        let amps = (0..<channels).map { i in
            Amplifier(name: "CH\(i + 1)", region: PixelRect(x0: i * width, y0: 0, width: width, height: height),
                      biasADU: 1_000)             // [U]
        }
        // Readout time "derived like min DIT": the minimum DIT is one read of the array (slow: 2048²/32 px
        // at 100 kHz ≈ 1.3 s; REFERENCES §5.2), so one extra read costs one minimum DIT.
        func mode(_ name: String, minDIT: Double, gain: Double, readNoise: Double) -> ReadoutMode {
            ReadoutMode(name: name, minimumDITSeconds: minDIT, readoutSeconds: minDIT,
                        fullWellElectrons: 1e5,
                        gainElectronsPerADU: Array(repeating: gain, count: channels),
                        readNoiseElectrons: Array(repeating: readNoise, count: channels),
                        nonlinearity: .linear,     // "linear to 1e5 then hard clip" (REFERENCES §5.2)
                        adcMaximumADU: 65_535,     // 16-bit [U]
                        saturationADU: 1e5 / gain)
        }
        return DetectorModel(
            name: "METIS IMG-LM HAWAII-2RG", serial: "IMG-LM-H2RG",
            columns: 2048, rows: 2048, pixelSizeMicrons: 18,
            pixelScaleArcsec: 0.00547,            // REFERENCES §5.2
            amplifiers: amps,
            modes: [mode("FAST", minDIT: 0.04, gain: 4.0, readNoise: 70),    // REFERENCES §5.2
                    mode("SLOW", minDIT: 1.3, gain: 2.5, readNoise: 15)],    // REFERENCES §5.2
            defaultModeName: "SLOW",
            darkCurrentElectronsPerSecond: 0.05,  // REFERENCES §5.2
            quantumEfficiency: 0.88,              // at 3.5 µm, REFERENCES §5.2
            prnuSigma: 0.01,                      // 1 % [U]
            shutterSeconds: 0,
            roiWidth: 64, roiHeight: 256)         // one channel is 64 columns wide
    }

    /// METIS IMG-N: Teledyne GeoSnap, 2048 × 2048 × 18 µm, 8 channels (REFERENCES §5.2, irdb
    /// METIS_DET_IMG_N_GeoSnap.yaml). Modes "HIGH_CAPACITY" and "LOW_CAPACITY".
    public static func metisIMGN() -> DetectorModel {
        let channels = 8, width = 256, height = 2048
        let amps = (0..<channels).map { i in
            Amplifier(name: "CH\(i + 1)", region: PixelRect(x0: i * width, y0: 0, width: width, height: height),
                      biasADU: 1_000)             // [U]
        }
        func mode(_ name: String, fullWell: Double, gain: Double, readNoise: Double) -> ReadoutMode {
            ReadoutMode(name: name, minimumDITSeconds: 0.011, readoutSeconds: 0.011, // REFERENCES §5.2
                        fullWellElectrons: fullWell,
                        gainElectronsPerADU: Array(repeating: gain, count: channels),
                        readNoiseElectrons: Array(repeating: readNoise, count: channels),
                        nonlinearity: .linear, adcMaximumADU: 65_535, saturationADU: fullWell / gain)
        }
        return DetectorModel(
            name: "METIS IMG-N GeoSnap", serial: "IMG-N-GEOSNAP",
            columns: 2048, rows: 2048, pixelSizeMicrons: 18,
            pixelScaleArcsec: 0.00679,            // REFERENCES §5.2
            amplifiers: amps,
            modes: [mode("HIGH_CAPACITY", fullWell: 2.8e6, gain: 201, readNoise: 300),  // REFERENCES §5.2
                    mode("LOW_CAPACITY", fullWell: 1.8e5, gain: 14, readNoise: 35)],    // REFERENCES §5.2
            defaultModeName: "HIGH_CAPACITY",
            darkCurrentElectronsPerSecond: 1e5,   // REFERENCES §5.2 (both modes)
            quantumEfficiency: 0.8,               // "0.8 flat 3–14 µm (estimate)", REFERENCES §5.2
            prnuSigma: 0.01,                      // [U]
            shutterSeconds: 0,
            roiWidth: 256, roiHeight: 256)
    }

    /// The SCAO wavefront sensor's K-band view of the WCU source, as a small imaging camera: every
    /// number is [U] (no public figure): 5 mas pixels (K-band core σ ≈ 1.1 px, so a first moment has no
    /// pixel-phase bias), 256 × 256, one amplifier, 1 e⁻/ADU, 3 e⁻ read noise. Used for the chopper-home
    /// measurement's K-band reference position.
    public static func scaoWFSCamera() -> DetectorModel {
        let amp = Amplifier(name: "WFS", region: PixelRect(x0: 0, y0: 0, width: 256, height: 256), biasADU: 100)
        let mode = ReadoutMode(name: "DEFAULT", minimumDITSeconds: 0.001, readoutSeconds: 0.001,
                               fullWellElectrons: 1e5, gainElectronsPerADU: [1], readNoiseElectrons: [3],
                               nonlinearity: .linear, adcMaximumADU: 65_535, saturationADU: 1e5)
        return DetectorModel(
            name: "METIS SCAO WFS (K band)", serial: "SCAO-WFS",
            columns: 256, rows: 256, pixelSizeMicrons: 24, pixelScaleArcsec: 0.005,
            amplifiers: [amp], modes: [mode], defaultModeName: "DEFAULT",
            darkCurrentElectronsPerSecond: 0.1, quantumEfficiency: 0.8, prnuSigma: 0.005,
            shutterSeconds: 0, roiWidth: 256, roiHeight: 256)
    }
}
