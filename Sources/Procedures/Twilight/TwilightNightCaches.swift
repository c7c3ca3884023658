import Observatory

/// Every input of `TwilightRun.computeWindow`: the sky the agent plans with (site, band, camera, epoch,
/// the Sun algorithm's ΔT and the sky model's parameters), the detector's range and the procedure's
/// limits. A window is the nominal sky model's, with no weather and no draw, so it is the same for every
/// trial and for every start offset of a sweep; a new input of the window must join this key.
struct TwilightWindowKey: Hashable, Sendable {
    let site: Site
    let band: Band
    let camera: SkyCamera
    let epochUnixSeconds: Double
    let deltaTSeconds: Double
    let skyModelParameters: [Double]
    let airmass: Double
    let reference: Double
    let minimumExposure: Double
    let maximumExposure: Double
    let fullWell: Double
    let darkCurrent: Double
    let fillMin: Double
    let sunAltitudeMin: Double
    let sunAltitudeMax: Double
    let morning: Bool

    init(_ run: TwilightRun, airmass: Double, reference: Double) {
        site = run.sky.site
        band = run.sky.band
        camera = run.sky.camera
        epochUnixSeconds = run.sky.epochUnixSeconds
        deltaTSeconds = run.sky.sun.deltaTSeconds
        let m = run.sky.model
        skyModelParameters = [m.infraredScatterSpectralIndex, m.infraredScatterScale, m.nullPointOffsetDegrees]
            + Band.allCases.flatMap { b in m.fit[b].map { [$0.a0, $0.a1, $0.a2] } ?? [] } + Band.allCases.compactMap { m.nightSky[$0] }
        self.airmass = airmass
        self.reference = reference
        minimumExposure = run.instrument.minimumExposureSeconds
        maximumExposure = run.p.maximumExposure
        fullWell = run.fullWell
        darkCurrent = run.darkCurrent
        fillMin = run.p.fillMin
        sunAltitudeMin = run.p.sunAltitudeMin
        sunAltitudeMax = run.p.sunAltitudeMax
        morning = run.morning
    }
}

enum TwilightNightCaches {
    /// Sky windows per night, airmass and limits: one per level for a whole study.
    static let windows = NightCache<TwilightWindowKey, TwilightWindow>()
}

typealias TwilightWindow = (open: Double?, close: Double)
