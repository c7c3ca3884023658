import SimKernel

/// The pinhole grids of the WCU FP1 mask wheel used by the distortion calibration, as hole positions in
/// arcsec on the sky (mask millimetres ÷ 3.319 mm/″, REFERENCES.md §5.3).
///
/// irdb's grid_lm (REFERENCES.md §5.3, "preliminary/illustrative"): a main grid to ±6.44″ at 2.15″ pitch
/// (7 × 7) and a 5 × 5 sub-grid at 0.1656″ pitch from the LMS mask in the centre. The outer points to
/// ±12.88″ fall outside both imagers and are left out. grid_n is [U]: the same layout with the
/// N-pinhole's Ø66 µm holes (irdb has no N grid).
public struct WCUPinholeGrid: Sendable, Equatable {
    public struct Hole: Sendable, Equatable {
        /// Design position (arcsec on the sky): what the pipeline's PINHOLE_TABLE lists.
        public var uArcsec: Double
        public var vArcsec: Double
    }

    public var name: String
    public var holes: [Hole]
    /// Main-grid pitch (arcsec), the spacing chopper offsets are fractions of.
    public var pitchArcsec: Double
    /// Hole diameter at the WCU focal plane (µm).
    public var holeDiameterMicrons: Double

    public init(name: String, holes: [Hole], pitchArcsec: Double, holeDiameterMicrons: Double) {
        self.name = name; self.holes = holes; self.pitchArcsec = pitchArcsec; self.holeDiameterMicrons = holeDiameterMicrons
    }

    /// `count` × `count` holes at `pitch`, centred on the axis.
    public static func square(count: Int, pitchArcsec: Double) -> [Hole] {
        let half = Double(count - 1) / 2
        var out: [Hole] = []
        for j in 0..<count { for i in 0..<count { out.append(Hole(uArcsec: (Double(i) - half) * pitchArcsec, vArcsec: (Double(j) - half) * pitchArcsec)) } }
        return out
    }

    /// irdb grid_lm: 7 × 7 at 2.147″ (±6.44″) plus the 5 × 5 LMS sub-grid at 0.1656″, Ø25 µm holes [U]
    /// (the pinhole_lm diameter; REFERENCES.md §5.3). The sub-grid's centre hole coincides with the main
    /// grid's and is kept once.
    public static let gridLM: WCUPinholeGrid = {
        let main = square(count: 7, pitchArcsec: 6.44 / 3)
        let sub = square(count: 5, pitchArcsec: 0.1656).filter { $0.uArcsec != 0 || $0.vArcsec != 0 }
        return WCUPinholeGrid(name: "grid_lm", holes: main + sub, pitchArcsec: 6.44 / 3, holeDiameterMicrons: 25)
    }()

    /// grid_n [U]: grid_lm's layout with Ø66 µm holes (pinhole_n, REFERENCES.md §5.3).
    public static let gridN: WCUPinholeGrid = {
        var g = gridLM
        g.name = "grid_n"
        g.holeDiameterMicrons = 66
        return g
    }()

    /// The LMS sub-grid alone (5 × 5 at 0.1656″): what the IFU's small field sees.
    public static let gridLMS = WCUPinholeGrid(name: "grid_lm (LMS sub-grid)", holes: square(count: 5, pitchArcsec: 0.1656),
                                               pitchArcsec: 0.1656, holeDiameterMicrons: 25)

    /// Each hole's manufacturing error (arcsec per axis), N(0, σ) from `stream`: fixed for one mask, so
    /// the caller keys the stream by the mask, not the trial, when the same mask is used in every trial.
    public func manufacturingErrors(sigmaMicrons: Double, focalPlaneMMPerArcsec: Double = 3.319,
                                    stream: RandomStream) -> [(du: Double, dv: Double)] {
        let sigma = sigmaMicrons / 1000 / focalPlaneMMPerArcsec
        return holes.map { _ in (stream.gaussian(sigma: sigma), stream.gaussian(sigma: sigma)) }
    }
}

/// The true geometric distortion between the WCU focal plane (arcsec on the sky) and an imager's detector
/// (pixels): what the distortion calibration measures and only the simulator knows.
///
/// Detector position = reference + (u + Δu, v + Δv)/scale, with a radial term to fifth order and a
/// Brown–Conrady decentering term (r = √(u² + v²) in arcsec):
/// Δu = (k3·r² + k5·r⁴)·u + p1·(r² + 2u²) + 2·p2·u·v, Δv = (k3·r² + k5·r⁴)·v + p2·(r² + 2v²) + 2·p1·u·v.
/// Coefficients are [U] our choice: ELT-induced distortions are 0.1–5 mas RMS over 1′ (REFERENCES.md §6,
/// Rodeghiero et al. 2018); an imager's own field of ~11″ gets k3 = 5.7e-5 ″⁻² (10 mas at r = 5.6″),
/// p1 = p2 = 3.2e-5 ″⁻¹ (3 mas there) and a k5 = 1e-7 ″⁻⁴ (0.55 mas at 5.6″, 3 mas at the LM corners,
/// r = 7.9″) that a third-order fit cannot follow.
public struct OpticalDistortion: Sendable, Equatable {
    public var pixelScaleArcsec: Double
    public var referencePixel: (x: Double, y: Double)
    public var k3PerArcsec2: Double
    public var k5PerArcsec4: Double
    public var p1PerArcsec: Double
    public var p2PerArcsec: Double

    public init(pixelScaleArcsec: Double, referencePixel: (x: Double, y: Double), k3PerArcsec2: Double = 5.7e-5,
                k5PerArcsec4: Double = 1e-7, p1PerArcsec: Double = 3.2e-5, p2PerArcsec: Double = 3.2e-5) {
        self.pixelScaleArcsec = pixelScaleArcsec; self.referencePixel = referencePixel
        self.k3PerArcsec2 = k3PerArcsec2; self.k5PerArcsec4 = k5PerArcsec4
        self.p1PerArcsec = p1PerArcsec; self.p2PerArcsec = p2PerArcsec
    }

    public static func == (a: OpticalDistortion, b: OpticalDistortion) -> Bool {
        a.pixelScaleArcsec == b.pixelScaleArcsec && a.referencePixel == b.referencePixel && a.k3PerArcsec2 == b.k3PerArcsec2
            && a.k5PerArcsec4 == b.k5PerArcsec4 && a.p1PerArcsec == b.p1PerArcsec && a.p2PerArcsec == b.p2PerArcsec
    }

    /// The displacement (arcsec) at sky position (u, v).
    public func displacementArcsec(u: Double, v: Double) -> (du: Double, dv: Double) {
        let r2 = u * u + v * v
        let radial = k3PerArcsec2 * r2 + k5PerArcsec4 * r2 * r2
        return (radial * u + p1PerArcsec * (r2 + 2 * u * u) + 2 * p2PerArcsec * u * v,
                radial * v + p2PerArcsec * (r2 + 2 * v * v) + 2 * p1PerArcsec * u * v)
    }

    /// Where a source at sky position (u, v) lands on the detector (pixels).
    public func detectorPosition(u: Double, v: Double) -> (x: Double, y: Double) {
        let d = displacementArcsec(u: u, v: v)
        return (referencePixel.x + (u + d.du) / pixelScaleArcsec, referencePixel.y + (v + d.dv) / pixelScaleArcsec)
    }

    /// The sky position (arcsec) imaged at detector (x, y): the forward map inverted by fixed-point
    /// iteration, which contracts because the displacement's gradient is ≪ 1 (< 10⁻² over the field);
    /// 30 iterations reach rounding.
    public func skyPosition(x: Double, y: Double) -> (u: Double, v: Double) {
        let tu = (x - referencePixel.x) * pixelScaleArcsec, tv = (y - referencePixel.y) * pixelScaleArcsec
        var u = tu, v = tv
        for _ in 0..<30 {
            let d = displacementArcsec(u: u, v: v)
            u = tu - d.du; v = tv - d.dv
        }
        return (u, v)
    }
}
