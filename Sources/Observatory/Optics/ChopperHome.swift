/// The chopper-home measurement's two views of the same WCU LM-pinhole (seed 000): the SCAO wavefront
/// sensor sees it in K band before the chopper, IMG-LM sees it in L band after the chopper. The chopper
/// home offset (an input here: the chopper itself is modelled in Motion) displaces only the L-band image.
/// Measured offset = (L-band position − IMG-LM reference)·scale_LM − (K-band position − WFS reference)·
/// scale_WFS, in arcsec on the sky; the simulation knows the true one.
public struct ChopperHomeViews: Sendable {
    /// The pinhole's position in the field (arcsec from the optical axis).
    public var sourceXArcsec = 0.0
    public var sourceYArcsec = 0.0
    /// True chopper home offset on the sky (arcsec): the simulation's ground truth.
    public var chopperOffsetXArcsec: Double
    public var chopperOffsetYArcsec: Double
    public var lmPixelScaleArcsec = 0.00547       // REFERENCES §5.2
    public var wfsPixelScaleArcsec = 0.005        // [U], as `DetectorModel.scaoWFSCamera`
    /// Pixel positions of the optical axis on each detector (array centres; IMG-LM 2048², WFS 256²).
    public var lmReferencePixel = (x: 1024.0, y: 1024.0)
    public var wfsReferencePixel = (x: 128.0, y: 128.0)
    public var kWavelengthMicrons = 2.2           // K band centre
    /// WFS photon rate from the pinhole in K (ph s⁻¹) [U]: bright enough for a 10⁻³-pixel centroid.
    public var wfsPhotonsPerSecond = 1e7

    public init(chopperOffsetXArcsec: Double, chopperOffsetYArcsec: Double) {
        self.chopperOffsetXArcsec = chopperOffsetXArcsec
        self.chopperOffsetYArcsec = chopperOffsetYArcsec
    }

    /// True image position on IMG-LM (pixels).
    public var trueLMPosition: (x: Double, y: Double) {
        (lmReferencePixel.x + (sourceXArcsec + chopperOffsetXArcsec) / lmPixelScaleArcsec,
         lmReferencePixel.y + (sourceYArcsec + chopperOffsetYArcsec) / lmPixelScaleArcsec)
    }

    /// True image position on the WFS (pixels).
    public var trueWFSPosition: (x: Double, y: Double) {
        (wfsReferencePixel.x + sourceXArcsec / wfsPixelScaleArcsec, wfsReferencePixel.y + sourceYArcsec / wfsPixelScaleArcsec)
    }

    /// The L-band scene on IMG-LM: the pinhole through the WCU chain, plus the mask's thermal background.
    public func lmScene(wcu: WCUSource, filter: PassbandFilter, nd: NeutralDensity) -> PointSourceScene {
        var w = wcu
        w.mask = .lmPinhole
        let p = trueLMPosition
        let sigma = DiffractionPSF.sigmaPixels(wavelengthMicrons: filter.centralMicrons, pixelScaleArcsec: lmPixelScaleArcsec)
        return PointSourceScene(
            sources: [PointSource(x: p.x, y: p.y, photonsPerSecond: w.pinholePhotonsPerSecond(filter: filter, nd: nd), sigmaPixels: sigma)],
            backgroundPhotonsPerSecondPerPixel: w.maskBackgroundPhotonsPerSecondPerPixel(filter: filter, nd: nd, pixelScaleArcsec: lmPixelScaleArcsec))
    }

    /// The K-band scene on the SCAO WFS.
    public func wfsScene() -> PointSourceScene {
        let p = trueWFSPosition
        let sigma = DiffractionPSF.sigmaPixels(wavelengthMicrons: kWavelengthMicrons, pixelScaleArcsec: wfsPixelScaleArcsec)
        return PointSourceScene(sources: [PointSource(x: p.x, y: p.y, photonsPerSecond: wfsPhotonsPerSecond, sigmaPixels: sigma)])
    }

    /// The offset (arcsec) a procedure derives from the two measured centroids.
    public func measuredOffsetArcsec(lmCentroid: (x: Double, y: Double), wfsCentroid: (x: Double, y: Double)) -> (x: Double, y: Double) {
        ((lmCentroid.x - lmReferencePixel.x) * lmPixelScaleArcsec - (wfsCentroid.x - wfsReferencePixel.x) * wfsPixelScaleArcsec,
         (lmCentroid.y - lmReferencePixel.y) * lmPixelScaleArcsec - (wfsCentroid.y - wfsReferencePixel.y) * wfsPixelScaleArcsec)
    }
}

/// The error budget of one measured chopper home offset, per axis (mas on the sky), term by term. The
/// truth is the home the chopper keeps after the template (true home + its thermal drift at the template's
/// end); the measurement sees, besides the two centroid errors, the repeatability error of this visit to
/// home and the drift between the exposure and the end. The terms are independent, so the total is their
/// quadrature sum.
public struct ChopperHomeErrorBudget: Sendable, Equatable {
    /// IMG-LM L-band centroid (photon and background noise, the fit's covariance).
    public var lmCentroidMas: Double
    /// SCAO WFS K-band centroid.
    public var wfsCentroidMas: Double
    /// Repeatability of reaching home (`Chopper.Parameters.relativeSigmaMas`).
    public var repeatabilityMas: Double
    /// Thermal drift between the exposure's midpoint and the template's end.
    public var driftMas: Double

    public init(lmCentroidMas: Double, wfsCentroidMas: Double, repeatabilityMas: Double, driftMas: Double) {
        self.lmCentroidMas = lmCentroidMas; self.wfsCentroidMas = wfsCentroidMas
        self.repeatabilityMas = repeatabilityMas; self.driftMas = driftMas
    }

    /// The budget of a measurement at `measuredAt` seconds after power-on, the template ending at `endAt`.
    public init(lmCentroidMas: Double, wfsCentroidMas: Double, chopper: Chopper.Parameters, measuredAt: Double, endAt: Double) {
        self.init(lmCentroidMas: lmCentroidMas, wfsCentroidMas: wfsCentroidMas, repeatabilityMas: chopper.relativeSigmaMas,
                  driftMas: chopper.driftSigmaMas(fromSeconds: measuredAt, toSeconds: endAt))
    }

    public var terms: [(name: String, mas: Double)] {
        [("lm_centroid", lmCentroidMas), ("wfs_centroid", wfsCentroidMas), ("repeatability", repeatabilityMas), ("drift", driftMas)]
    }

    public var totalMas: Double { terms.reduce(0) { $0 + $1.mas * $1.mas }.squareRoot() }
}
