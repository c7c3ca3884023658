import Foundation

/// How the detector's response biases the centroid of a pinhole image, for the distortion budget.
///
/// Two parts, both deterministic for a given pinhole (they do not average down over a series):
/// - a large-scale response gradient left after flat-fielding (the master flat's own error; the raw PRNU
///   is divided out by the pipeline's flat): a response 1 + g·x across a Gaussian of width σ weights the
///   image towards the brighter side, moving its first moment by g σ² (∫x G(x)(1 + g x) dx = g σ²);
/// - the intra-pixel response of the H2RG / GeoSnap pixels, modelled as 1 + a cos(2π u) with u the
///   position from the pixel centre (mean response 1, edges a below the centre): an undersampled PSF
///   loses or gains light at the pixel edges depending on its sub-pixel phase, so its centroid moves
///   by a periodic function of that phase, zero at phase 0 and ½ by symmetry.
/// The centroid is the first moment of the window (the Gaussian fit's weights are flat near the core,
/// so its bias is the moment's to first order); the bias is taken against the same moment on uniform
/// pixels, so the window's own pixelisation (common to both fidelities and to the flat pipeline) is not
/// counted here.
public enum PixelResponseCentroidBias {
    /// Shift (pixels) of a Gaussian centroid by a linear response gradient `g` (fraction per pixel).
    public static func gradientShiftPixels(gradientPerPixel g: Double, sigmaPixels s: Double) -> Double { g * s * s }

    /// One pixel's signal: the Gaussian of width `s` centred at `centre`, times the response, over
    /// [k − ½, k + ½], by the midpoint rule on `subsamples` sub-pixels (the sub-pixel integration the
    /// intra-pixel response needs; the PSF is smooth on a sub-pixel, so 64 sub-pixels are exact to 10⁻⁸).
    static func pixelSignal(k: Int, centre: Double, sigmaPixels s: Double, amplitude a: Double, subsamples n: Int) -> Double {
        var sum = 0.0
        for i in 0..<n {
            let u = (Double(i) + 0.5) / Double(n) - 0.5
            let d = (Double(k) + u - centre) / s
            sum += exp(-0.5 * d * d) * (1 + a * cos(2 * Double.pi * u))
        }
        return sum / Double(n)
    }

    /// First-moment centroid (1-D, pixels) of a Gaussian at sub-pixel `phase` from pixel 0's centre over
    /// the window ±`halfWidth` pixels with intra-pixel amplitude `a`.
    static func momentCentroid(phase: Double, sigmaPixels s: Double, amplitude a: Double, halfWidth: Int, subsamples: Int) -> Double {
        var w = 0.0, m = 0.0
        for k in -halfWidth...halfWidth {
            let f = pixelSignal(k: k, centre: phase, sigmaPixels: s, amplitude: a, subsamples: subsamples)
            w += f
            m += Double(k) * f
        }
        return m / w
    }

    /// Centroid bias (pixels, one axis) of the intra-pixel response at sub-pixel `phase` (−½…½ from the
    /// pixel centre): the moment with response `a` minus the moment on uniform pixels.
    public static func intraPixelBiasPixels(phase: Double, sigmaPixels s: Double, amplitude a: Double, halfWidth: Int,
                                            subsamples: Int = 64) -> Double {
        guard a != 0 else { return 0 }
        return momentCentroid(phase: phase, sigmaPixels: s, amplitude: a, halfWidth: halfWidth, subsamples: subsamples)
            - momentCentroid(phase: phase, sigmaPixels: s, amplitude: 0, halfWidth: halfWidth, subsamples: subsamples)
    }

    /// Both parts at a detector position (pixels, one axis): the gradient's shift plus the intra-pixel
    /// bias at the position's sub-pixel phase (pixel i spans [i, i + 1), as the scenes render it, so its
    /// centre is at i + ½).
    public static func biasPixels(position x: Double, sigmaPixels s: Double, gradientPerPixel g: Double, amplitude a: Double,
                                  halfWidth: Int) -> Double {
        let phase = x - x.rounded(.down) - 0.5
        return gradientShiftPixels(gradientPerPixel: g, sigmaPixels: s) + intraPixelBiasPixels(phase: phase, sigmaPixels: s, amplitude: a, halfWidth: halfWidth)
    }
}
