import Analysis
import Foundation
import Observatory

/// What the twilight flats are for (seed 002: "improve accuracy of lamp flatfield in terms of
/// homogeneity"): the lamp flat's large-scale error alone, and after the illumination correction by the
/// twilight master flat, both against the truth, on a `grid` × `grid` cell map of the detector.
///
/// The lamp flat carries a random low-order pattern of RMS `lamp_illumination_rms` ([U]); the twilight
/// master carries the sky's own gradient across the field (`TwilightSkyModel.gradientPerDegree` at each
/// counted frame, turned onto the detector by a field angle drawn per trial, [U] uniform) combined by the
/// per-cell median the pipeline takes, and its photon noise averaged over a cell. Faint sources are left
/// out: a V = 20 star in a 49″ LATISS cell on an 18 mag arcsec⁻² sky is 7e-5 of the cell's light, below
/// every other term (docs/REFERENCES-physics.md §3).
extension TwilightRun {
    static let illuminationGrid = 8

    func illuminationErrors(_ counted: [TwilightFlatRecord], flatErrorPercent: Double?) throws -> (lamp: Double, corrected: Double, skyGradient: Double) {
        let n = Self.illuminationGrid
        let centres = IlluminationCorrection.cellCentres(grid: n)
        let lamp = IlluminationPattern.random(rms: p.lampIlluminationRMS, stream: sim.stream("lamp.illumination"))
        let fieldAngle = sim.stream("twilight.field_angle").uniform(0, 2 * .pi)
        let halfWidth = instrument.camera.pixelScaleArcsec * Double(instrument.detector.columns) / 2 / 3600
        var ramps: [IlluminationPattern] = []
        var gradientMax = 0.0
        for f in counted {
            let rates = try sky.rates(at: f.startSeconds + f.ditSeconds / 2, airmass: f.airmass)
            let g = try sky.model.gradientPerDegree(airmass: f.airmass, azimuthFromSunDegrees: 180, rates: rates)
            ramps.append(.ramp(gradientPerDegree: IlluminationPattern.rotated(g, by: fieldAngle), halfWidthDegrees: halfWidth))
            gradientMax = max(gradientMax, (g.altitude * g.altitude + g.azimuth * g.azimuth).squareRoot())
        }
        let pixelsPerCell = Double(instrument.detector.columns * instrument.detector.rows) / Double(n * n)
        let cellNoise = (flatErrorPercent ?? 0) / 100 / pixelsPerCell.squareRoot()
        let noise = sim.stream("twilight.cell_noise")
        let lampCells = centres.map { 1 + lamp.deviation(u: $0.u, v: $0.v) }
        let twilightCells = centres.map { c -> Double in
            let values = ramps.map { 1 + $0.deviation(u: c.u, v: c.v) }.sorted()
            let m = values.count
            let median = m % 2 == 1 ? values[m / 2] : 0.5 * (values[m / 2 - 1] + values[m / 2])
            return median * (1 + noise.gaussian(sigma: cellNoise))
        }
        let truth = [Double](repeating: 1, count: centres.count)
        let corrected = try IlluminationCorrection.corrected(lamp: lampCells, twilight: twilightCells, grid: n)
        return (IlluminationCorrection.largeScaleErrorPercent(flat: lampCells, truth: truth),
                IlluminationCorrection.largeScaleErrorPercent(flat: corrected, truth: truth),
                100 * gradientMax)
    }
}
