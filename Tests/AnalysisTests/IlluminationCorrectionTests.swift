import Foundation
import Testing
@testable import Analysis

@Suite("Illumination correction of a lamp flat by a twilight flat")
struct IlluminationCorrectionTests {
    let n = 8
    var centres: [(u: Double, v: Double)] { IlluminationCorrection.cellCentres(grid: n) }

    /// A lamp error δ of degree ≤ 2 under a perfectly flat twilight flat: the fit to twilight / lamp =
    /// 1/(1 + δ) misses only its second-order part, so the corrected error is O(δ²) — below 2·δ_rms² and
    /// quartering when δ halves (to 10 %) — while the lamp's own error is δ's RMS over the cells.
    @Test func lowOrderLampErrorIsRemovedToSecondOrder() throws {
        func errors(_ scale: Double) throws -> (lamp: Double, corrected: Double) {
            let lamp = centres.map { 1 + scale * (0.02 * $0.u - 0.01 * $0.u * $0.v + 0.015 * ($0.v * $0.v - 1.0 / 3)) }
            let truth = [Double](repeating: 1, count: lamp.count)
            let corrected = try IlluminationCorrection.corrected(lamp: lamp, twilight: truth, grid: n)
            return (IlluminationCorrection.largeScaleErrorPercent(flat: lamp, truth: truth),
                    IlluminationCorrection.largeScaleErrorPercent(flat: corrected, truth: truth))
        }
        let full = try errors(1), half = try errors(0.5)
        #expect(full.lamp > 1)
        #expect(full.corrected < 2 * pow(full.lamp / 100, 2) * 100)
        #expect(abs(full.corrected / half.corrected - 4) < 0.4)
    }

    /// A twilight flat with a ramp 1 + a·u passes it on: RMS over the cell centres a·√((n² − 1)/(3n²)),
    /// normalised by the mean 1 (the centres' u are symmetric).
    @Test func skyRampPassesThrough() throws {
        let a = 0.003
        let lamp = centres.map { 1 + 0.01 * $0.v * $0.v }
        let twilight = centres.map { 1 + a * $0.u }
        let truth = [Double](repeating: 1, count: lamp.count)
        let corrected = try IlluminationCorrection.corrected(lamp: lamp, twilight: twilight, grid: n)
        let expected = 100 * a * ((Double(n * n) - 1) / (3 * Double(n * n))).squareRoot()
        // Second order: the fit of (1 + a·u)/(1 + ε·v²) misses terms of order a·ε.
        #expect(abs(IlluminationCorrection.largeScaleErrorPercent(flat: corrected, truth: truth) - expected) < 100 * a * 0.01 * 2)
    }

    /// The error is against the truth's shape: a flat twice the truth is perfect.
    @Test func errorIgnoresTheScale() {
        let truth = centres.map { 1 + 0.1 * $0.u }
        #expect(IlluminationCorrection.largeScaleErrorPercent(flat: truth.map { 2 * $0 }, truth: truth) < 1e-12)
    }
}
