import SimKernel

/// The pinhole grids of the WCU FP1 mask wheel used by the distortion calibration, as hole positions in
/// arcsec on the sky (mask millimetres ÷ 3.319 mm/″, REFERENCES.md §5.3).
///
/// grid_lm is the IRDB's mask file (`AstarVienna/irdb@f0a5f30:METIS/wcu/fp_mask_grid_lm.dat`, "WCU FP mask
/// #5", status FDR, from E-SPE-UZK-MET-1015_2-0 and E-REP-UZK-MET-1008_3-0 Table 10-8), 85 Ø25 µm holes:
/// a main grid at 2.15″ pitch to ±6.44″ without its central 3 × 3 and its (+6.44″, +6.44″) corner (an
/// orientation mark), a 3 × 3 ring at 1.36″ less its centre inside it, the
/// LMS fine grid (5 × 5 at 0.1656″ less one hole, centred on (+0.010″, −0.010″)), and outer points to
/// ±12.88″ that fall outside both imagers. grid_n is [U]: the same layout with the N-pinhole's Ø66 µm holes
/// (the IRDB has no N grid).
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

    /// The IRDB grid_lm file's holes (x, y, diameter in arcsec; blank lines separate groups).
    public static let gridLM: WCUPinholeGrid = {
        var holes: [Hole] = []
        for line in IRDBTables.files["wcu/fp_mask_grid_lm.dat"]!.split(separator: "\n") where !line.hasPrefix("#") {
            let cols = line.split(separator: " ", omittingEmptySubsequences: true)
            guard cols.count >= 3, let u = Double(cols[0]), let v = Double(cols[1]) else { continue }
            holes.append(Hole(uArcsec: u, vArcsec: v))
        }
        return WCUPinholeGrid(name: "grid_lm", holes: holes, pitchArcsec: 2.15, holeDiameterMicrons: 25)
    }()

    /// grid_n [U]: grid_lm's layout with Ø66 µm holes (pinhole_n, REFERENCES.md §5.3).
    public static let gridN: WCUPinholeGrid = {
        var g = gridLM
        g.name = "grid_n"
        g.holeDiameterMicrons = 66
        return g
    }()

    /// grid_lm's LMS fine grid (the holes within ±0.5″): what the IFU's small field sees.
    public static let gridLMS = WCUPinholeGrid(name: "grid_lm (LMS fine grid)",
                                               holes: gridLM.holes.filter { abs($0.uArcsec) < 0.5 && abs($0.vArcsec) < 0.5 },
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
