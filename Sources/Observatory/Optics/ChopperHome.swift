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
