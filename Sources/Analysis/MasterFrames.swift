import CGSL

/// A rectangular image of doubles, row-major: what the pipeline steps work on. Independent of the
/// detector model, so the analyses can be tested on synthetic data with a known answer.
public struct Image: Sendable, Equatable {
    public let width: Int
    public let height: Int
    public var values: [Double]

    public init(width: Int, height: Int, values: [Double]) {
        precondition(width > 0 && height > 0 && values.count == width * height, "an image needs width × height values")
        self.width = width
        self.height = height
        self.values = values
    }

    public init(width: Int, height: Int, constant: Double) {
        self.init(width: width, height: height, values: Array(repeating: constant, count: width * height))
    }

    public subscript(x: Int, y: Int) -> Double { values[y * width + x] }

    public var mean: Double { values.withUnsafeBufferPointer { gsl_stats_mean($0.baseAddress, 1, $0.count) } }

    public var median: Double {
        var copy = values
        return copy.withUnsafeMutableBufferPointer { gsl_stats_median($0.baseAddress, 1, $0.count) }
    }

    /// Pixel-by-pixel `self − other`.
    public func subtracting(_ other: Image) -> Image {
        precondition(width == other.width && height == other.height, "images differ in size")
        return Image(width: width, height: height, values: zip(values, other.values).map { $0 - $1 })
    }

    /// Pixel-by-pixel `(self − offset) · scale`.
    public func applying(offset: Double = 0, scale: Double = 1) -> Image {
        Image(width: width, height: height, values: values.map { ($0 - offset) * scale })
    }

    /// The image divided by its own mean: a flat field's relative response.
    public func normalizedToMean() -> Image { applying(scale: 1 / mean) }
}

/// Master calibration frames as the pipelines build them: a pixel-by-pixel median of the frames taken
/// with the same settings (the twilight-flats document's "median of all frames with same DIT, detector
/// mode and camera"; cp_pipe's default combine for LATISS is a clipped mean, whose result differs only in
/// noise). The median resists cosmic rays and a stray saturated frame at the price of a noise variance
/// larger than a mean's by π/2 for large N.
public enum MasterFrames {
    public enum Failure: Error, Sendable, Equatable, CustomStringConvertible {
        case noFrames
        case sizeMismatch(expected: String, got: String)
        case nonPositiveExposure(Double)
        case nonPositiveFlatLevel(Double)

        public var description: String {
            switch self {
            case .noFrames: return "a master frame needs at least one frame"
            case .sizeMismatch(let e, let g): return "frames differ in size: expected \(e), got \(g)"
            case .nonPositiveExposure(let t): return "dark exposure time must be positive, got \(t) s"
            case .nonPositiveFlatLevel(let m): return "a flat's mean level must be positive after bias and dark, got \(m) ADU"
            }
        }
    }

    /// Pixel-by-pixel median of `frames` (for an even count, the mean of the two middle values).
    public static func median(_ frames: [Image]) throws(Failure) -> Image {
        guard let first = frames.first else { throw .noFrames }
        for f in frames where f.width != first.width || f.height != first.height {
            throw .sizeMismatch(expected: "\(first.width)×\(first.height)", got: "\(f.width)×\(f.height)")
        }
        let n = frames.count
        if n == 1 { return first }
        var out = [Double](repeating: 0, count: first.values.count)
        var stack = [Double](repeating: 0, count: n)
        stack.withUnsafeMutableBufferPointer { buf in
            for p in 0..<out.count {
                for k in 0..<n { buf[k] = frames[k].values[p] }
                out[p] = gsl_stats_median(buf.baseAddress, 1, n)
            }
        }
        return Image(width: first.width, height: first.height, values: out)
    }

    /// Master bias: the median of the bias frames.
    public static func bias(_ frames: [Image]) throws(Failure) -> Image { try median(frames) }

    /// Master dark as a dark-current rate per pixel (ADU/s): median of the bias-subtracted darks divided
    /// by their exposure time.
    public static func darkRate(_ frames: [Image], exposureSeconds: Double, masterBias: Image) throws(Failure) -> Image {
        guard exposureSeconds > 0 else { throw .nonPositiveExposure(exposureSeconds) }
        let m = try median(frames.map { $0.subtracting(masterBias) })
        return m.applying(scale: 1 / exposureSeconds)
    }

    /// Master flat: each flat bias- and dark-corrected and normalised to its own mean (so lamp drifts
    /// between frames cancel), then the median, normalised to mean 1.
    public static func flat(_ frames: [Image], exposureSeconds: Double, masterBias: Image, darkRate: Image? = nil) throws(Failure) -> Image {
        guard !frames.isEmpty else { throw .noFrames }
        var corrected: [Image] = []
        corrected.reserveCapacity(frames.count)
        for f in frames {
            var c = f.subtracting(masterBias)
            if let d = darkRate { c = c.subtracting(d.applying(scale: exposureSeconds)) }
            let level = c.mean
            guard level > 0 else { throw .nonPositiveFlatLevel(level) }
            corrected.append(c.applying(scale: 1 / level))
        }
        return try median(corrected).normalizedToMean()
    }

    /// RMS, in percent, of a master flat's relative error against the true pixel response, both
    /// normalised to mean 1 over the same pixels: what only a simulator can know.
    public static func flatErrorPercent(master: Image, truth: Image) throws(Failure) -> Double {
        guard master.width == truth.width && master.height == truth.height else {
            throw .sizeMismatch(expected: "\(truth.width)×\(truth.height)", got: "\(master.width)×\(master.height)")
        }
        let m = master.normalizedToMean(), t = truth.normalizedToMean()
        var sum = 0.0
        for (a, b) in zip(m.values, t.values) {
            let r = a / b - 1
            sum += r * r
        }
        return 100 * (sum / Double(m.values.count)).squareRoot()
    }
}
