import CGSL
import SimKernel

/// A positive duration known by its mean and spread: Gamma-distributed with shape k = m²/s² and scale
/// s²/m (the maximum-entropy law of a positive quantity of given mean and log-mean, and the law a sum of
/// independent waits tends to), the constant m when s = 0. Its moments, also those of min(X, cap) — what a
/// script with a timeout waits — are closed form (regularised incomplete gamma functions, GSL).
public struct DurationDistribution: Sendable, Equatable {
    public var meanSeconds: Double
    public var sdSeconds: Double

    public init(meanSeconds: Double, sdSeconds: Double) {
        self.meanSeconds = meanSeconds
        self.sdSeconds = sdSeconds
    }

    public static func constant(_ seconds: Double) -> DurationDistribution {
        DurationDistribution(meanSeconds: seconds, sdSeconds: 0)
    }

    var isConstant: Bool { sdSeconds <= 0 || meanSeconds <= 0 }
    var shape: Double { meanSeconds * meanSeconds / (sdSeconds * sdSeconds) }
    var scale: Double { sdSeconds * sdSeconds / meanSeconds }

    public func sample(_ stream: RandomStream) -> Double {
        isConstant ? max(0, meanSeconds) : stream.gamma(shape: shape, scale: scale)
    }

    /// Mean and variance of min(X, cap): E[X; X < c] = kθ·P(k+1, c/θ), E[X²; X < c] = k(k+1)θ²·P(k+2, c/θ),
    /// plus c (resp. c²) times Q(k, c/θ).
    public func cappedMoments(cap: Double) -> (mean: Double, variance: Double) {
        if isConstant {
            let v = min(max(0, meanSeconds), cap)
            return (v, 0)
        }
        let k = shape, theta = scale, x = cap / theta
        guard cap.isFinite else { return (meanSeconds, sdSeconds * sdSeconds) }
        let q = gsl_sf_gamma_inc_Q(k, x)
        let m1 = k * theta * gsl_sf_gamma_inc_P(k + 1, x) + cap * q
        let m2 = k * (k + 1) * theta * theta * gsl_sf_gamma_inc_P(k + 2, x) + cap * cap * q
        return (m1, max(0, m2 - m1 * m1))
    }
}

/// Where the LATISS control software spends time around the images (ts_externalscripts
/// `base_make_calibrations.py`, ts_observatory_control `base_camera.py`):
///
/// - per image: exposure + `read_out_time` (2.0 s, base_camera.py) + the overhead of one `take_imgtype`
///   call (command, acknowledgements, shutter open and close — the script estimates 2 × `shutter_time` =
///   2 × 1.0 s — and `wait_between_exposures`, default 0), drawn per image from `imageOverhead` [U];
/// - after each image type: the wait until the archive (OODS) has ingested every image of the type
///   (`image_in_oods` events), at most `oods_timeout` = 120 s; on the timeout the script logs an error and
///   goes on, so the wait is min(W, 120 s);
/// - verification (OCPS, cp_verify): since ts_externalscripts 71b9071 (2024-11) each type's job runs in
///   the background and the script waits for all of them at its end, at most `background_task_timeout`
///   (30 s) × the number of tasks, then cancels them and ends; before that version the script blocked on
///   each job after its image type. `backgroundVerification` chooses; the job duration is `verificationJob` [U].
public struct LATISSControlTiming: Sendable, Equatable {
    /// Exposure + readout on the camera (the one readout of the model, also what twilight flats use).
    public var camera: LATISSCameraTiming
    public var imageOverhead: DurationDistribution
    public var ingestionWait: DurationDistribution
    public var oodsTimeoutSeconds: Double
    public var backgroundVerification: Bool
    public var verificationJob: DurationDistribution
    public var backgroundTaskTimeoutSeconds: Double

    public var readoutSeconds: Double {
        get { camera.readoutSeconds }
        set { camera.readoutSeconds = newValue }
    }

    public init(camera: LATISSCameraTiming, imageOverhead: DurationDistribution, ingestionWait: DurationDistribution,
                oodsTimeoutSeconds: Double, backgroundVerification: Bool, verificationJob: DurationDistribution,
                backgroundTaskTimeoutSeconds: Double) {
        self.camera = camera
        self.imageOverhead = imageOverhead
        self.ingestionWait = ingestionWait
        self.oodsTimeoutSeconds = oodsTimeoutSeconds
        self.backgroundVerification = backgroundVerification
        self.verificationJob = verificationJob
        self.backgroundTaskTimeoutSeconds = backgroundTaskTimeoutSeconds
    }

    /// Defaults: readout 2.0 s, OODS timeout 120 s, background verification with a 30 s per-task timeout
    /// (the scripts' values, above); [U] our choices, each a parameter with a documented range
    /// (`ranges`): per-image overhead mean 2.0 s (the scripts' shutter estimate) sd 0.5 s; ingestion wait
    /// mean 8 s sd 4 s; verification job mean 90 s sd 30 s.
    public static let latiss = LATISSControlTiming(
        camera: LATISSCameraTiming(),
        imageOverhead: DurationDistribution(meanSeconds: 2.0, sdSeconds: 0.5),
        ingestionWait: DurationDistribution(meanSeconds: 8, sdSeconds: 4),
        oodsTimeoutSeconds: 120, backgroundVerification: true,
        verificationJob: DurationDistribution(meanSeconds: 90, sdSeconds: 30),
        backgroundTaskTimeoutSeconds: 30)

    /// One image on the camera: exposure + readout + this call's overhead.
    public func imageSeconds(exposureSeconds: Double, stream: RandomStream) -> Double {
        camera.frameSeconds(exposureSeconds: exposureSeconds) + imageOverhead.sample(stream)
    }

    /// The same image's overhead (one draw, as `imageSeconds`) and its whole time, exactly what
    /// `imageSeconds` gives for that draw: the caller cuts it into overhead, exposure and readout.
    public func imageParts(exposureSeconds: Double, stream: RandomStream) -> (overheadSeconds: Double, totalSeconds: Double) {
        let overhead = imageOverhead.sample(stream)
        return (overhead, camera.frameSeconds(exposureSeconds: exposureSeconds) + overhead)
    }

    /// The wait for the OODS after the last image of a type (capped at the script's timeout).
    public func ingestionWaitSeconds(stream: RandomStream) -> Double {
        min(ingestionWait.sample(stream), oodsTimeoutSeconds)
    }

    /// Mean and variance of one image type's step (`take_imgtype X`): `images` images of total exposure
    /// `exposureSeconds`, then the OODS wait. Images and wait are independent, so moments add.
    public func imageTypeStepMoments(images: Int, exposureSeconds: Double) -> (mean: Double, variance: Double) {
        let n = Double(images)
        let w = ingestionWait.cappedMoments(cap: oodsTimeoutSeconds)
        let overheadVariance = imageOverhead.isConstant ? 0 : imageOverhead.sdSeconds * imageOverhead.sdSeconds
        return (exposureSeconds + n * (readoutSeconds + max(0, imageOverhead.meanSeconds)) + w.mean,
                n * overheadVariance + w.variance)
    }
}
