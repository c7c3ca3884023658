import Foundation
import Observatory
import SimKernel

/// The twilight sky as the agent's planning sees it (the nominal model, no weather) and as the detector
/// sees it (the same model times a slowly varying thin-cirrus transmission).
struct TwilightSkyView {
    let site: Site
    let band: Band
    let camera: SkyCamera
    let model = TwilightSkyModel()
    let sun = SolarPositionAlgorithm()
    /// UTC (Unix seconds) at simulated time 0.
    let epochUnixSeconds: Double
    let recentSunPositions = SunPositionMemo()

    func sunPosition(at t: Double) -> SunPosition {
        recentSunPositions.position(at: t) { sun.tabulatedPosition(site: site, utcSeconds: epochUnixSeconds + $0) }
    }

    /// Nominal sky electrons s⁻¹ px⁻¹ at simulated time `t` for a pointing at `airmass`.
    func rates(at t: Double, airmass: Double) throws -> SkyElectronRates {
        try model.electronsPerSecondPerPixel(band: band, sunAltitudeDegrees: sunPosition(at: t).altitudeDegrees,
                                             airmass: airmass, camera: camera)
    }

    func totalRate(at t: Double, airmass: Double) throws -> Double { try rates(at: t, airmass: airmass).total }

    /// The first time in [lo, hi] at which `predicate` becomes true, for a predicate that is false and then
    /// true over the interval (a twilight quantity is monotonic in time on one side of midnight): bisection
    /// to `tolerance` seconds. `lo` when it is already true, nil when it never becomes true.
    func firstTime(from lo: Double, to hi: Double, tolerance: Double = 0.5,
                   _ predicate: (Double) throws -> Bool) rethrows -> Double? {
        if try predicate(lo) { return lo }
        guard try predicate(hi) else { return nil }
        var a = lo, b = hi
        while b - a > tolerance {
            let m = 0.5 * (a + b)
            if try predicate(m) { b = m } else { a = m }
        }
        return b
    }
}

/// Thin cirrus: a multiplicative transmission exp(σ·X − σ²/2) of the atmospheric terms (scattered
/// sunlight, night sky, sky thermal emission), X an Ornstein–Uhlenbeck process of unit variance and
/// correlation time τ, sampled exactly at the times asked for (X(t+Δ) = X·e^(−Δ/τ) + √(1 − e^(−2Δ/τ))·N(0,1)).
/// The lognormal form keeps the mean transmission 1. [U]: no published twilight-cirrus statistics.
final class CirrusTransmission {
    let sigma: Double
    let timescaleSeconds: Double
    let stream: RandomStream
    private var x: Double
    private var lastTime: Double?

    init(sigma: Double, timescaleSeconds: Double, stream: RandomStream) {
        self.sigma = sigma
        self.timescaleSeconds = timescaleSeconds
        self.stream = stream
        self.x = sigma > 0 ? stream.gaussian(sigma: 1) : 0
    }

    /// Transmission at `t`; times must not decrease between calls.
    func transmission(at t: Double) -> Double {
        guard sigma > 0 else { return 1 }
        if let last = lastTime, t > last {
            let rho = exp(-(t - last) / timescaleSeconds)
            x = x * rho + (1 - rho * rho).squareRoot() * stream.gaussian(sigma: 1)
        }
        lastTime = max(lastTime ?? t, t)
        return exp(sigma * x - sigma * sigma / 2)
    }
}
