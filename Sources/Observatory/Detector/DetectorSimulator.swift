import CGSL
import SimKernel

/// What falls on the detector during one DIT: a uniform photon rate plus an optional rendered scene
/// (point sources over a background), both in photons s⁻¹ px⁻¹ before QE and PRNU.
public struct Illumination: Sendable {
    public var photonsPerSecondPerPixel: Double
    public var scene: PointSourceScene?
    /// Overrides the detector's effective QE (e.g. per band); nil uses `DetectorModel.quantumEfficiency`.
    public var quantumEfficiency: Double?

    public init(photonsPerSecondPerPixel: Double = 0, scene: PointSourceScene? = nil, quantumEfficiency: Double? = nil) {
        self.photonsPerSecondPerPixel = photonsPerSecondPerPixel
        self.scene = scene
        self.quantumEfficiency = quantumEfficiency
    }

    /// No light: a bias (DIT 0) or a dark.
    public static let dark = Illumination()
}

/// How much of the detector to simulate.
public enum Fidelity: Sendable, Equatable {
    /// Per amplifier, the default region of interest's mean and variance from the noise model; no per-pixel
    /// draws (timing studies). The measured level is the ROI mean drawn as one Gaussian of the right variance.
    case roiStatistics
    /// Per-pixel draws in the default region of interest of every amplifier (PTC, master frames).
    case roiPixels
    /// Per-pixel draws in the given windows (detector coordinates; a window may span amplifiers).
    case windows([PixelRect])
    /// Every imaging pixel (only when asked for: 16 M pixels for LATISS).
    case fullFrame
}

public struct ExposureRequest: Sendable {
    public var ditSeconds: Double
    public var ndit: Int
    /// Readout mode; nil is the detector's default.
    public var modeName: String?
    public var illumination: Illumination
    public var fidelity: Fidelity
    /// The caller's keywords (DPR CATG/TYPE/TECH, IMGTYPE, FILTER, INS OPTIn NAME, ...), kept in order
    /// ahead of the detector's own.
    public var header: [HeaderCard]
    /// Simulated time (s since the scenario epoch) when the integration starts.
    public var startSeconds: Double
    /// MJD of the scenario epoch; when given, MJD-OBS and DATE-OBS are written.
    public var epochMJD: Double?

    public init(ditSeconds: Double, ndit: Int = 1, modeName: String? = nil, illumination: Illumination = .dark,
                fidelity: Fidelity = .roiStatistics, header: [HeaderCard] = [], startSeconds: Double = 0,
                epochMJD: Double? = nil) {
        self.ditSeconds = ditSeconds; self.ndit = ndit; self.modeName = modeName; self.illumination = illumination
        self.fidelity = fidelity; self.header = header; self.startSeconds = startSeconds; self.epochMJD = epochMJD
    }
}

/// One amplifier's part of a frame: the model's expectation and what was "measured".
public struct AmplifierStatistics: Sendable {
    public var amplifier: String
    public var amplifierIndex: Int
    /// The pixels these figures describe.
    public var region: PixelRect
    public var pixelCount: Int
    /// True mean bias over `region` (what a perfect ISR subtracts).
    public var biasADU: Double
    /// Expected raw mean (ADU), from the noise model.
    public var expectedMeanADU: Double
    /// Per-pixel temporal variance after NDIT averaging (ADU²): shot noise, read noise, quantisation.
    public var temporalVarianceADU2: Double
    /// Pixel-to-pixel variance of the noiseless frame (ADU²): PRNU and the bias plane.
    public var fixedPatternVarianceADU2: Double
    /// Measured raw mean: the pixels' mean (pixel fidelity) or one Gaussian draw of the ROI mean
    /// (statistics fidelity).
    public var measuredMeanADU: Double
    /// Measured pixel variance (ADU²); in statistics fidelity, the expected total variance.
    public var measuredVarianceADU2: Double
    /// Fraction of pixels at full well: measured (pixels) or expected (statistics).
    public var saturatedFraction: Double

    /// The bias-subtracted level an operator checks on a post-ISR image.
    public var postISRMeanADU: Double { measuredMeanADU - biasADU }
    public var expectedPostISRMeanADU: Double { expectedMeanADU - biasADU }
}

/// Raw ADU values of one window, row-major: `values[(y − rect.y0)·rect.width + (x − rect.x0)]`.
public struct PixelWindow: Sendable {
    public var rect: PixelRect
    public var values: [Double]

    public init(rect: PixelRect, values: [Double]) {
        precondition(values.count == rect.width * rect.height, "a window needs width × height values")
        self.rect = rect
        self.values = values
    }

    public func value(x: Int, y: Int) -> Double { values[(y - rect.y0) * rect.width + (x - rect.x0)] }
}

public struct ExposureResult: Sendable {
    /// The frame's keywords: the caller's, then the detector's. Built when first read, since only a frame
    /// that is written needs them and a Monte Carlo trial writes none.
    public var header: FrameHeader {
        get { headerOverride ?? DetectorSimulator.header(for: headerRequest, detector: detector, serial: serial, modeName: modeName) }
        set { headerOverride = newValue }
    }
    fileprivate var headerOverride: FrameHeader?
    fileprivate let headerRequest: ExposureRequest
    /// The detector's serial number (DET CHIP ID).
    public let serial: String
    public var detector: String
    public var modeName: String
    public var ditSeconds: Double
    public var ndit: Int
    public var startSeconds: Double
    /// Wall-clock duration including shutter overhead and readout (`DetectorModel.exposureDurationSeconds`).
    public var durationSeconds: Double
    public var amplifiers: [AmplifierStatistics]
    public var windows: [PixelWindow]

    /// The median over amplifiers of the bias-subtracted level: the number an operator reads off a
    /// post-ISR image (RubinTV) and compares with the document's limits.
    public var medianPostISRADU: Double {
        let count = amplifiers.count
        guard count > 0 else { return .nan }
        // Checked on every frame of a trial: sorted in place on the stack, no array allocated.
        return withUnsafeTemporaryAllocation(of: Double.self, capacity: count) { v in
            for (i, a) in amplifiers.enumerated() { v.initializeElement(at: i, to: a.postISRMeanADU) }
            for i in 1..<max(1, count) {
                let x = v[i]
                var j = i
                while j > 0 && x < v[j - 1] { v[j] = v[j - 1]; j -= 1 }
                v[j] = x
            }
            return count % 2 == 1 ? v[count / 2] : 0.5 * (v[count / 2 - 1] + v[count / 2])
        }
    }
}

/// The detector noise engine (REFERENCES §8). Per pixel and DIT:
/// e = Poisson(QE·Φ·PRNU·t + D·t) → f(e) (non-linearity) → min(·, full well) → + N(0, RN²) → /gain
/// → + bias → ADC (rounded to an integer, clipped to [0, ADC max]); NDIT frames averaged.
///
/// Speed-up, with its error bound: when the expected count λ ≥ `gaussianThresholdElectrons` (10⁴) the
/// Poisson draw is replaced by a Gaussian of the same mean and variance. The Poisson skewness 1/√λ ≤ 1 %
/// there, which changes no mean or variance (both are matched exactly) and only third moments, far below
/// what a PTC fit of 10⁵ pixels resolves (its variance has a 0.5 % standard error). When, in addition, the
/// pixel is more than 8σ below full well (clip probability < 10⁻¹⁵), the shot noise and the read noise
/// are merged into one draw: f(λ + √λ·z₁) ≈ f(λ) + ½f″λ + f′√λ·z₁ (second-order delta method: exact mean
/// to O(f″²), variance error O(f″²λ²) ≈ 10⁻⁸ relative for the LATISS curve), plus RN·z₂, is one Gaussian
/// of variance f′²λ + RN². Below 10⁴ e⁻ the count is drawn from GSL's exact Poisson.
public final class DetectorSimulator {
    public let model: DetectorModel
    public let prnu: PRNUField
    public static let gaussianThresholdElectrons = 1e4

    public init(model: DetectorModel) {
        self.model = model
        self.prnu = PRNUField(model: model)
    }

    /// Simulates one exposure, drawing from `stream` only (the caller names it, e.g. "LATISS.detector").
    public func expose(_ request: ExposureRequest, stream: RandomStream) throws -> ExposureResult {
        let mode = try model.mode(named: request.modeName)
        try model.validate(ditSeconds: request.ditSeconds, ndit: request.ndit, mode: mode)
        let qe = request.illumination.quantumEfficiency ?? model.quantumEfficiency
        if !(qe >= 0 && qe <= 1) { throw DetectorError.invalidParameter("quantum efficiency must be in [0, 1], got \(qe)") }
        if !(request.illumination.photonsPerSecondPerPixel >= 0) {
            throw DetectorError.invalidParameter("photon rate must be >= 0, got \(request.illumination.photonsPerSecondPerPixel)")
        }

        var amps: [AmplifierStatistics] = []
        var windows: [PixelWindow] = []
        switch request.fidelity {
        case .roiStatistics:
            var moments = ClippedMomentsOfExposure()
            let amplifiers = model.amplifiers
            amps.reserveCapacity(amplifiers.count)
            for a in amplifiers.indices {
                let rect = model.roi(amplifier: a)
                amps.append(statistics(amplifier: a, amp: amplifiers[a], rect: rect, mode: mode, qe: qe,
                                       request: request, stream: stream, moments: &moments))
            }
        case .roiPixels, .fullFrame, .windows:
            let rects: [PixelRect]
            switch request.fidelity {
            case .roiPixels: rects = model.amplifiers.indices.map { model.roi(amplifier: $0) }
            case .fullFrame: rects = model.amplifiers.map(\.region)
            case .windows(let w): rects = w
            default: rects = []
            }
            for rect in rects {
                guard model.imagingArea.contains(rect), !rect.isEmpty else {
                    throw DetectorError.windowOutsideDetector(rect, detector: model.imagingArea)
                }
                var values: [Double] = []
                for a in model.amplifiers.indices {
                    let sub = rect.intersection(model.amplifiers[a].region)
                    if sub.isEmpty { continue }
                    let (pixels, stats) = simulatePixels(amplifier: a, rect: sub, mode: mode, qe: qe,
                                                         request: request, stream: stream)
                    amps.append(stats)
                    if sub == rect { values = pixels; continue }   // the usual ROI: no copy
                    if values.isEmpty { values = [Double](repeating: 0, count: rect.pixelCount) }
                    for j in 0..<sub.height {
                        let dst = (sub.y0 - rect.y0 + j) * rect.width + (sub.x0 - rect.x0)
                        for i in 0..<sub.width { values[dst + i] = pixels[j * sub.width + i] }
                    }
                }
                windows.append(PixelWindow(rect: rect, values: values))
            }
        }

        return ExposureResult(headerRequest: request, serial: model.serial, detector: model.name, modeName: mode.name,
                              ditSeconds: request.ditSeconds, ndit: request.ndit, startSeconds: request.startSeconds,
                              durationSeconds: model.exposureDurationSeconds(ditSeconds: request.ditSeconds,
                                                                            ndit: request.ndit, mode: mode),
                              amplifiers: amps, windows: windows)
    }

    // MARK: - Analytic moments

    /// Mean and variance (e⁻, e⁻²) of min(f(e), FW) for e with mean and variance λ, and the clipped
    /// fraction: f by the second-order delta method, the clip by the moments of a Gaussian censored at FW
    /// (E[min(X,c)] = μΦ(z) − σφ(z) + cQ(z), E[min(X,c)²] = (μ²+σ²)Φ(z) − σ(μ+c)φ(z) + c²Q(z),
    /// z = (c − μ)/σ).
    /// |z| past which `gsl_ran_ugaussian_pdf`, `gsl_cdf_ugaussian_P` and `_Q` return exactly 0, 1 (or 0)
    /// and 0 (or 1): exp(−z²/2) is below the smallest subnormal from z ≈ 38.58 on.
    static let gaussianUnderflowZ = 40.0

    static func clippedMoments(lambda: Double, mode: ReadoutMode) -> (mean: Double, variance: Double, clipped: Double) {
        let nl = mode.nonlinearity
        let fw = mode.fullWellElectrons
        let mu = nl.apply(lambda) + 0.5 * nl.secondDerivative * lambda
        let d = nl.derivative(lambda)
        let sigma = abs(d) * lambda.squareRoot()
        if sigma == 0 { return (min(mu, fw), 0, mu >= fw ? 1 : 0) }
        let z = (fw - mu) / sigma
        // Beyond |z| = 38.6 GSL's pdf and tails are exactly 0 and 1 (exp(−z²/2) underflows), and reaching
        // that on libm's underflow path is what made this the most expensive line of a flat at
        // z ≈ 560; the constants give the same bits without the calls.
        let phi: Double, cdf: Double, q: Double
        if z > Self.gaussianUnderflowZ {
            (phi, cdf, q) = (0, 1, 0)
        } else if z < -Self.gaussianUnderflowZ {
            (phi, cdf, q) = (0, 0, 1)
        } else {
            (phi, cdf, q) = (gsl_ran_ugaussian_pdf(z), gsl_cdf_ugaussian_P(z), gsl_cdf_ugaussian_Q(z))
        }
        let m1 = mu * cdf - sigma * phi + fw * q
        let m2 = (mu * mu + sigma * sigma) * cdf - sigma * (mu + fw) * phi + fw * fw * q
        return (m1, max(0, m2 - m1 * m1), q)
    }

    /// Expected figures of amplifier `a` over `rect`, for a mean photon rate `photonRate` (ph s⁻¹ px⁻¹).
    func expected(amplifier a: Int, amp: Amplifier, rect: PixelRect, mode: ReadoutMode, qe: Double, photonRate: Double,
                  request: ExposureRequest, moments: inout ClippedMomentsOfExposure) -> (bias: Double, mean: Double, temporal: Double, pattern: Double, clipped: Double) {
        let g = mode.gainElectronsPerADU[a], rn = mode.readNoiseElectrons[a]
        let lambdaPhoton = photonRate * qe * request.ditSeconds
        let lambda = lambdaPhoton + model.darkCurrentElectronsPerSecond * request.ditSeconds
        let (m, v, clipped) = moments.of(lambda: lambda, mode: mode)
        let bias = amp.biasMoments(over: rect)
        let n = Double(request.ndit)
        // Quantisation of each frame to integer ADU adds 1/12 ADU² before averaging.
        let temporal = ((v + rn * rn) / (g * g) + 1.0 / 12) / n
        let prnuE = mode.nonlinearity.derivative(lambda) * lambdaPhoton * model.prnuSigma * (1 - clipped)
        let pattern = prnuE * prnuE / (g * g) + bias.variance
        return (bias.mean, m / g + bias.mean, temporal, pattern, clipped)
    }

    func statistics(amplifier a: Int, amp: Amplifier, rect: PixelRect, mode: ReadoutMode, qe: Double, request: ExposureRequest,
                    stream: RandomStream, moments: inout ClippedMomentsOfExposure) -> AmplifierStatistics {
        let rate = request.illumination.photonsPerSecondPerPixel
            + (request.illumination.scene?.meanPhotonRate(over: rect) ?? 0)
        let e = expected(amplifier: a, amp: amp, rect: rect, mode: mode, qe: qe, photonRate: rate, request: request, moments: &moments)
        let n = Double(rect.pixelCount)
        // The ROI mean of N pixels: temporal noise averages down as 1/N; the PRNU field's own ROI mean
        // differs from 1 by σ_PRNU/√N (~2e-5 for 256²), which this level neglects.
        let measured = e.mean + stream.gaussian(sigma: (e.temporal / n).squareRoot())
        return AmplifierStatistics(amplifier: amp.name, amplifierIndex: a, region: rect,
                                   pixelCount: rect.pixelCount, biasADU: e.bias, expectedMeanADU: e.mean,
                                   temporalVarianceADU2: e.temporal, fixedPatternVarianceADU2: e.pattern,
                                   measuredMeanADU: measured, measuredVarianceADU2: e.temporal + e.pattern,
                                   saturatedFraction: e.clipped)
    }

    // MARK: - Pixels

    /// Largest λ for which f(λ) + 8·f′(λ)·√λ stays below full well (the merged-draw condition), by
    /// bisection once per exposure so the pixel loop compares λ with a number instead of taking a root.
    static func mergedDrawLimit(mode: ReadoutMode) -> Double {
        let nl = mode.nonlinearity, fw = mode.fullWellElectrons
        func safe(_ l: Double) -> Bool { nl.derivative(l) > 0 && nl.apply(l) + 8 * nl.derivative(l) * l.squareRoot() < fw }
        var lo = 0.0, hi = fw
        if safe(hi) { return hi }
        for _ in 0..<60 {
            let mid = 0.5 * (lo + hi)
            if safe(mid) { lo = mid } else { hi = mid }
        }
        return lo
    }

    func simulatePixels(amplifier a: Int, rect: PixelRect, mode: ReadoutMode, qe: Double, request: ExposureRequest,
                        stream: RandomStream) -> ([Double], AmplifierStatistics) {
        var moments = ClippedMomentsOfExposure()
        let amp = model.amplifiers[a]
        let count = rect.pixelCount
        let response = prnu.values(rect: rect, amplifier: a)
        let dit = request.ditSeconds
        let darkE = model.darkCurrentElectronsPerSecond * dit
        let uniformE = request.illumination.photonsPerSecondPerPixel * qe * dit

        // Photon part of the expected electrons per pixel and DIT, when a scene adds structure.
        var sceneE: [Double] = []
        if let scene = request.illumination.scene {
            sceneE = [Double](repeating: 0, count: count)
            sceneE.withUnsafeMutableBufferPointer { scene.addPhotonRates(into: $0, rect: rect) }
            for k in 0..<count { sceneE[k] *= qe * dit }
        }
        let hasScene = !sceneE.isEmpty

        let g = mode.gainElectronsPerADU[a], rn = mode.readNoiseElectrons[a]
        let invGain = 1 / g
        let fw = mode.fullWellElectrons
        let nl = mode.nonlinearity
        // f(e) = e − c·e² covers both curves (c = 0 when linear); no switch inside the loop.
        let c: Double
        switch nl { case .linear: c = 0; case .quadratic(let k): c = k }
        let halfF2 = -c
        let threshold = Self.gaussianThresholdElectrons
        let mergedLimit = Self.mergedDrawLimit(mode: mode)
        let adcMax = mode.adcMaximumADU
        let rn2 = rn * rn
        let rng = stream.rng
        let ndit = request.ndit
        let colSlope = amp.biasColumnSlopeADU
        let e = expected(amplifier: a, amp: amp, rect: rect, mode: mode, qe: qe,
                         photonRate: request.illumination.photonsPerSecondPerPixel
                            + (request.illumination.scene?.meanPhotonRate(over: rect) ?? 0),
                         request: request, moments: &moments)
        // Sums around the expected mean keep the one-pass variance free of cancellation.
        let shift = e.mean
        var sum = 0.0, sumSquares = 0.0
        var out = [Double](repeating: 0, count: count)
        var clippedCount = 0

        response.withUnsafeBufferPointer { resp in
            sceneE.withUnsafeBufferPointer { scn in
                out.withUnsafeMutableBufferPointer { dst in
                    for frame in 0..<ndit {
                        let last = frame == ndit - 1
                        let scale = last && ndit > 1 ? 1 / Double(ndit) : 1
                        for j in 0..<rect.height {
                            let rowBias = amp.biasADU(x: rect.x0, y: rect.y0 + j)
                            let base = j * rect.width
                            for i in 0..<rect.width {
                                let k = base + i
                                let l = (uniformE + (hasScene ? scn[k] : 0)) * resp[k] + darkE
                                var v: Double
                                if l >= threshold && l < mergedLimit {
                                    let d = 1 - 2 * c * l
                                    v = l - c * l * l + halfF2 * l + (d * d * l + rn2).squareRoot() * gsl_ran_gaussian_ziggurat(rng, 1)
                                } else {
                                    let ne = l >= threshold ? l + l.squareRoot() * gsl_ran_gaussian_ziggurat(rng, 1)
                                                            : Double(gsl_ran_poisson(rng, l))
                                    var m = nl.apply(ne)
                                    if m >= fw || nl.derivative(ne) <= 0 { m = fw; if frame == 0 { clippedCount += 1 } }
                                    v = m + rn * gsl_ran_gaussian_ziggurat(rng, 1)
                                }
                                var adu = v * invGain + rowBias + colSlope * Double(i)
                                adu = adu < 0 ? 0 : (adu > adcMax ? adcMax : adu)
                                var value = Double(Int(adu + 0.5))
                                if frame > 0 { value += dst[k] }
                                if last {
                                    value *= scale
                                    let dv = value - shift
                                    sum += dv; sumSquares += dv * dv
                                }
                                dst[k] = value
                            }
                        }
                    }
                }
            }
        }

        let n = Double(count)
        let meanDev = sum / n
        let variance = count > 1 ? (sumSquares - n * meanDev * meanDev) / (n - 1) : 0
        let stats = AmplifierStatistics(amplifier: amp.name, amplifierIndex: a, region: rect, pixelCount: count,
                                        biasADU: e.bias, expectedMeanADU: e.mean, temporalVarianceADU2: e.temporal,
                                        fixedPatternVarianceADU2: e.pattern, measuredMeanADU: shift + meanDev,
                                        measuredVarianceADU2: variance,
                                        saturatedFraction: Double(clippedCount) / n)
        return (out, stats)
    }

    // MARK: - Header

    static func header(for request: ExposureRequest, detector: String, serial: String, modeName: String) -> FrameHeader {
        var h = FrameHeader(request.header)
        h.set("DET NAME", .string(detector), "detector")
        h.set("DET CHIP ID", .string(serial), "detector serial")
        h.set("DET1 NCORRS NAME", .string(modeName), "readout mode")
        h.set("DET1 DIT", .double(request.ditSeconds), "[s] detector integration time")
        h.set("DET1 NDIT", .int(request.ndit), "number of averaged integrations")
        h.set("EXPTIME", .double(request.ditSeconds * Double(request.ndit)), "[s] total integration time")
        h.set("SIMTIME", .double(request.startSeconds), "[s] simulated time at start of integration")
        if let epoch = request.epochMJD {
            let mjd = epoch + request.startSeconds / 86_400
            h.set("MJD-OBS", .double(mjd), "[d] start of integration")
            h.set("DATE-OBS", .string(Self.isoDate(mjd: mjd)), "start of integration (UTC)")
        }
        return h
    }

    /// ISO 8601 UTC text of an MJD, to the millisecond (Fliegel & Van Flandern 1968 day → calendar).
    static func isoDate(mjd: Double) -> String {
        var day = Int((mjd).rounded(.down))
        var msOfDay = Int(((mjd - Double(day)) * 86_400_000).rounded())
        if msOfDay >= 86_400_000 { msOfDay -= 86_400_000; day += 1 }
        let jdn = day + 2_400_001
        let l0 = jdn + 68_569
        let n = 4 * l0 / 146_097
        let l1 = l0 - (146_097 * n + 3) / 4
        let i = 4000 * (l1 + 1) / 1_461_001
        let l2 = l1 - 1461 * i / 4 + 31
        let j = 80 * l2 / 2447
        let dd = l2 - 2447 * j / 80
        let l3 = j / 11
        let mm = j + 2 - 12 * l3
        let yy = 100 * (n - 49) + i + l3
        func pad(_ v: Int, _ w: Int) -> String { let s = String(v); return String(repeating: "0", count: max(0, w - s.count)) + s }
        let hh = msOfDay / 3_600_000, mi = msOfDay / 60_000 % 60, ss = msOfDay / 1000 % 60, ms = msOfDay % 1000
        return "\(pad(yy, 4))-\(pad(mm, 2))-\(pad(dd, 2))T\(pad(hh, 2)):\(pad(mi, 2)):\(pad(ss, 2)).\(pad(ms, 3))"
    }
}

/// The clipped moments of one exposure: they depend on λ and the readout mode only, and every amplifier
/// of a uniformly lit frame has the same λ, so a frame computes them once instead of once per amplifier.
/// Exact: an equal λ returns the value the same computation returned.
struct ClippedMomentsOfExposure {
    private var lambda = Double.nan
    private var value = (mean: 0.0, variance: 0.0, clipped: 0.0)

    mutating func of(lambda l: Double, mode: ReadoutMode) -> (mean: Double, variance: Double, clipped: Double) {
        if l == lambda { return value }
        value = DetectorSimulator.clippedMoments(lambda: l, mode: mode)
        lambda = l
        return value
    }
}
