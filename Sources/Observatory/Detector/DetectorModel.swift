/// A rectangle of pixels in the assembled detector's imaging-pixel coordinates: pixel (x, y) covers
/// [x, x+1) × [y, y+1), so its centre is at (x + 0.5, y + 0.5). Continuous positions (point sources,
/// centroids) use the same coordinates.
public struct PixelRect: Sendable, Hashable, CustomStringConvertible {
    public var x0: Int
    public var y0: Int
    public var width: Int
    public var height: Int

    public init(x0: Int, y0: Int, width: Int, height: Int) {
        self.x0 = x0; self.y0 = y0; self.width = max(0, width); self.height = max(0, height)
    }

    public var x1: Int { x0 + width }
    public var y1: Int { y0 + height }
    public var pixelCount: Int { width * height }
    public var isEmpty: Bool { width == 0 || height == 0 }
    public var description: String { "[\(x0):\(x1), \(y0):\(y1)]" }

    public func intersection(_ other: PixelRect) -> PixelRect {
        let ax = max(x0, other.x0), ay = max(y0, other.y0)
        return PixelRect(x0: ax, y0: ay, width: min(x1, other.x1) - ax, height: min(y1, other.y1) - ay)
    }

    public func contains(_ other: PixelRect) -> Bool {
        other.x0 >= x0 && other.y0 >= y0 && other.x1 <= x1 && other.y1 <= y1
    }

    /// A `width` × `height` rectangle centred in this one (clipped to it).
    public func centred(width w: Int, height h: Int) -> PixelRect {
        let cw = min(w, width), ch = min(h, height)
        return PixelRect(x0: x0 + (width - cw) / 2, y0: y0 + (height - ch) / 2, width: cw, height: ch)
    }
}

/// One readout amplifier (segment) and the imaging pixels it reads, with its bias structure.
/// Bias = `biasADU` + `biasColumnSlopeADU`·(x − x0) + `biasRowSlopeADU`·(y − y0), in the amplifier's own
/// pixel offsets: an offset plus a plane, the first-order structure an overscan/bias-frame fit removes.
public struct Amplifier: Sendable {
    public var name: String
    public var region: PixelRect
    public var biasADU: Double
    public var biasColumnSlopeADU: Double
    public var biasRowSlopeADU: Double

    public init(name: String, region: PixelRect, biasADU: Double,
                biasColumnSlopeADU: Double = 0, biasRowSlopeADU: Double = 0) {
        self.name = name; self.region = region; self.biasADU = biasADU
        self.biasColumnSlopeADU = biasColumnSlopeADU; self.biasRowSlopeADU = biasRowSlopeADU
    }

    /// The true bias (ADU) of the pixel at detector coordinates (x, y), which must lie in `region`.
    @inline(__always) public func biasADU(x: Int, y: Int) -> Double {
        biasADU + biasColumnSlopeADU * Double(x - region.x0) + biasRowSlopeADU * Double(y - region.y0)
    }

    /// Mean and spatial variance (ADU²) of the bias over `rect` (inside `region`): a plane's mean is its
    /// value at the centre; its variance is slope²·(n² − 1)/12 per axis (discrete uniform offsets).
    public func biasMoments(over rect: PixelRect) -> (mean: Double, variance: Double) {
        let cx = Double(rect.x0 - region.x0) + Double(rect.width - 1) / 2
        let cy = Double(rect.y0 - region.y0) + Double(rect.height - 1) / 2
        let mean = biasADU + biasColumnSlopeADU * cx + biasRowSlopeADU * cy
        let w = Double(rect.width), h = Double(rect.height)
        let variance = biasColumnSlopeADU * biasColumnSlopeADU * (w * w - 1) / 12
            + biasRowSlopeADU * biasRowSlopeADU * (h * h - 1) / 12
        return (mean, variance)
    }
}

/// The detector's response curve: collected electrons e → measured electrons f(e), applied before the
/// full-well clip (REFERENCES §8).
public enum Nonlinearity: Sendable, Equatable {
    /// f(e) = e (the HxRG and GeoSnap presets: "linear to full well then hard clip", REFERENCES §5.2).
    case linear
    /// f(e) = e − c·e²: a compression that loses the fraction c·e of the signal at level e.
    case quadratic(coefficientPerElectron: Double)

    /// A quadratic that loses `fraction` of the signal at `electrons` (e.g. 1 % at full well).
    public static func quadratic(losing fraction: Double, atElectrons electrons: Double) -> Nonlinearity {
        .quadratic(coefficientPerElectron: fraction / electrons)
    }

    @inline(__always) public func apply(_ e: Double) -> Double {
        switch self {
        case .linear: return e
        case .quadratic(let c): return e - c * e * e
        }
    }

    @inline(__always) public func derivative(_ e: Double) -> Double {
        switch self {
        case .linear: return 1
        case .quadratic(let c): return 1 - 2 * c * e
        }
    }

    @inline(__always) public var secondDerivative: Double {
        switch self {
        case .linear: return 0
        case .quadratic(let c): return -2 * c
        }
    }
}

/// A readout mode: what changes between e.g. HAWAII-2RG fast and slow, or GeoSnap high and low
/// capacity. Gains and read noises are per amplifier, in the order of `DetectorModel.amplifiers`.
public struct ReadoutMode: Sendable {
    public var name: String
    public var minimumDITSeconds: Double
    /// Time to read the array once after the last integration (the CCD readout, or the final read of
    /// an IR ramp); it is not overlapped with integration.
    public var readoutSeconds: Double
    public var fullWellElectrons: Double
    public var gainElectronsPerADU: [Double]
    public var readNoiseElectrons: [Double]
    public var nonlinearity: Nonlinearity
    /// Largest raw ADC output (the digital clip).
    public var adcMaximumADU: Double
    /// The bias-subtracted level above which the pipeline flags a pixel as saturated (ISR `SAT`).
    public var saturationADU: Double

    public init(name: String, minimumDITSeconds: Double, readoutSeconds: Double, fullWellElectrons: Double,
                gainElectronsPerADU: [Double], readNoiseElectrons: [Double], nonlinearity: Nonlinearity,
                adcMaximumADU: Double, saturationADU: Double) {
        self.name = name; self.minimumDITSeconds = minimumDITSeconds; self.readoutSeconds = readoutSeconds
        self.fullWellElectrons = fullWellElectrons; self.gainElectronsPerADU = gainElectronsPerADU
        self.readNoiseElectrons = readNoiseElectrons; self.nonlinearity = nonlinearity
        self.adcMaximumADU = adcMaximumADU; self.saturationADU = saturationADU
    }

    /// The mean gain over amplifiers (e⁻/ADU).
    public var meanGainElectronsPerADU: Double {
        gainElectronsPerADU.reduce(0, +) / Double(max(1, gainElectronsPerADU.count))
    }
}

public enum DetectorError: Error, Equatable, CustomStringConvertible {
    case unknownMode(detector: String, mode: String, allowed: [String])
    case ditBelowMinimum(detector: String, mode: String, ditSeconds: Double, minimumSeconds: Double)
    case invalidNDIT(Int)
    case windowOutsideDetector(PixelRect, detector: PixelRect)
    case invalidParameter(String)

    public var description: String {
        switch self {
        case .unknownMode(let d, let m, let allowed):
            return "\(d): unknown readout mode '\(m)'; allowed: \(allowed.joined(separator: ", "))"
        case .ditBelowMinimum(let d, let m, let dit, let min):
            return "\(d): DIT \(dit) s is below the minimum DIT \(min) s of mode '\(m)'"
        case .invalidNDIT(let n):
            return "NDIT must be at least 1, got \(n)"
        case .windowOutsideDetector(let w, let det):
            return "pixel window \(w) is not inside the detector's imaging area \(det)"
        case .invalidParameter(let s):
            return s
        }
    }
}

/// Everything that defines a detector's noise and timing: format and amplifiers, modes, dark current,
/// QE, pixel response non-uniformity, and the default region of interest per amplifier.
public struct DetectorModel: Sendable {
    public var name: String
    /// The detector's identity (serial number): with `prnuSeed` it keys the fixed PRNU field.
    public var serial: String
    public var columns: Int
    public var rows: Int
    public var pixelSizeMicrons: Double
    public var pixelScaleArcsec: Double
    public var amplifiers: [Amplifier]
    public var modes: [ReadoutMode]
    public var defaultModeName: String
    public var darkCurrentElectronsPerSecond: Double
    /// Effective QE used when an illumination gives photons and no QE of its own.
    public var quantumEfficiency: Double
    /// RMS of the multiplicative pixel response (0.01 = 1 %).
    public var prnuSigma: Double
    /// Which realisation of the PRNU field this unit has; independent of the simulation's seed and trial,
    /// so every trial of a study sees the same detector (see `PRNUField`).
    public var prnuSeed: UInt64
    /// Shutter open + close overhead per frame (CCD with a mechanical shutter; 0 for the IR arrays).
    public var shutterSeconds: Double
    /// Size of the default region of interest per amplifier (centred in the amplifier).
    public var roiWidth: Int
    public var roiHeight: Int

    public init(name: String, serial: String, columns: Int, rows: Int, pixelSizeMicrons: Double,
                pixelScaleArcsec: Double, amplifiers: [Amplifier], modes: [ReadoutMode], defaultModeName: String,
                darkCurrentElectronsPerSecond: Double, quantumEfficiency: Double, prnuSigma: Double,
                prnuSeed: UInt64 = 0, shutterSeconds: Double, roiWidth: Int = 256, roiHeight: Int = 256) {
        self.name = name; self.serial = serial; self.columns = columns; self.rows = rows
        self.pixelSizeMicrons = pixelSizeMicrons; self.pixelScaleArcsec = pixelScaleArcsec
        self.amplifiers = amplifiers; self.modes = modes; self.defaultModeName = defaultModeName
        self.darkCurrentElectronsPerSecond = darkCurrentElectronsPerSecond
        self.quantumEfficiency = quantumEfficiency; self.prnuSigma = prnuSigma; self.prnuSeed = prnuSeed
        self.shutterSeconds = shutterSeconds; self.roiWidth = roiWidth; self.roiHeight = roiHeight
    }

    public var imagingArea: PixelRect { PixelRect(x0: 0, y0: 0, width: columns, height: rows) }

    public func mode(named name: String? = nil) throws -> ReadoutMode {
        let wanted = name ?? defaultModeName
        guard let m = modes.first(where: { $0.name == wanted }) else {
            throw DetectorError.unknownMode(detector: self.name, mode: wanted, allowed: modes.map(\.name))
        }
        return m
    }

    /// Index of the amplifier reading pixel (x, y), or nil outside the imaging area.
    public func amplifierIndex(x: Int, y: Int) -> Int? {
        amplifiers.firstIndex { x >= $0.region.x0 && x < $0.region.x1 && y >= $0.region.y0 && y < $0.region.y1 }
    }

    /// The true bias (ADU) of pixel (x, y): what a perfect ISR subtracts to give "post-ISR" levels.
    public func biasADU(x: Int, y: Int) -> Double? {
        amplifierIndex(x: x, y: y).map { amplifiers[$0].biasADU(x: x, y: y) }
    }

    /// The default region of interest of amplifier `index`: `roiWidth` × `roiHeight` centred in it.
    public func roi(amplifier index: Int) -> PixelRect {
        amplifiers[index].region.centred(width: roiWidth, height: roiHeight)
    }

    /// Wall-clock duration of one exposure of NDIT × DIT: per frame the shutter overhead, then the
    /// integrations, then one readout. For a CCD NDIT is 1; for the IR arrays each DIT is at least the
    /// mode's minimum DIT (the array is read non-destructively while it integrates) and the ramps follow
    /// one another with no gap, so only the last read adds time.
    public func exposureDurationSeconds(ditSeconds: Double, ndit: Int, mode: ReadoutMode) -> Double {
        shutterSeconds + Double(ndit) * max(ditSeconds, mode.minimumDITSeconds) + mode.readoutSeconds
    }

    /// Throws unless DIT and NDIT are acceptable in `mode`. A zero DIT is a bias frame, allowed only
    /// when the mode's minimum DIT is zero (a CCD).
    public func validate(ditSeconds: Double, ndit: Int, mode: ReadoutMode) throws {
        if ndit < 1 { throw DetectorError.invalidNDIT(ndit) }
        if !(ditSeconds >= 0) || !ditSeconds.isFinite {
            throw DetectorError.invalidParameter("\(name): DIT must be a non-negative number of seconds, got \(ditSeconds)")
        }
        if ditSeconds < mode.minimumDITSeconds {
            throw DetectorError.ditBelowMinimum(detector: name, mode: mode.name, ditSeconds: ditSeconds,
                                                minimumSeconds: mode.minimumDITSeconds)
        }
    }
}
