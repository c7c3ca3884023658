import ArgumentParser
import CGSL
import Foundation
import Observatory
import SimKernel

struct BenchDetector: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "detector",
        abstract: "ROI-pixel simulation rate of the detector noise engine vs GSL's raw Gaussian draw rate.",
        discussion: """
        Simulates LATISS flats at a typical level (default 30,000 e⁻ per pixel: the merged shot + read noise \
        Gaussian path) in a --roi × --roi region per amplifier (16 amplifiers), and times \
        gsl_ran_gaussian_ziggurat on an mt19937 generator for the same number of draws. Goal: pixels/s at \
        least half of draws/s. Build with -c release for real figures.
        """
    )

    @Option(help: "Region of interest side per amplifier, pixels (1...509).") var roi: Int = 256
    @Option(help: "Flat level per pixel in electrons (> 0).") var electrons: Double = 30_000
    @Option(help: "Frames per run (>= 1).") var frames: Int = 10
    @Option(help: "Repeat the measurement this many times and report the median rates (>= 1).") var runs: Int = 1
    @Flag(help: "Print one JSON object per run.") var json = false

    func validate() throws {
        if roi < 1 || roi > 509 { throw ValidationError("--roi must be in 1...509 (an ITL amplifier is 509 columns wide), got \(roi)") }
        if !(electrons > 0) || !electrons.isFinite { throw ValidationError("--electrons must be a positive number, got \(electrons)") }
        if frames < 1 { throw ValidationError("--frames must be at least 1, got \(frames)") }
        if runs < 1 { throw ValidationError("--runs must be at least 1, got \(runs)") }
    }

    func run() throws {
        var model = DetectorModel.latissITL3800()
        model.roiWidth = roi
        model.roiHeight = roi
        let simulator = DetectorSimulator(model: model)
        let photonRate = electrons / model.quantumEfficiency          // 1 s DIT
        let request = ExposureRequest(ditSeconds: 1, illumination: Illumination(photonsPerSecondPerPixel: photonRate),
                                      fidelity: .roiPixels)
        let stream = RandomStream(key: [0xBE4C, 1])
        _ = try simulator.expose(request, stream: stream)              // PRNU field built once, outside the timing
        let pixelsPerFrame = model.amplifiers.indices.map { model.roi(amplifier: $0).pixelCount }.reduce(0, +)
        var pixelRates: [Double] = [], drawRates: [Double] = []
        var checksum = 0.0
        for _ in 0..<runs {
            let t0 = DispatchTime.now().uptimeNanoseconds
            for _ in 0..<frames {
                let r = try simulator.expose(request, stream: stream)
                checksum += r.amplifiers[0].measuredMeanADU
            }
            let t1 = DispatchTime.now().uptimeNanoseconds
            let pixels = Double(pixelsPerFrame * frames)
            let pixelRate = pixels / (Double(t1 - t0) * 1e-9)

            let draws = pixelsPerFrame * frames
            let rng = stream.rng
            var sink = 0.0
            let t2 = DispatchTime.now().uptimeNanoseconds
            for _ in 0..<draws { sink += gsl_ran_gaussian_ziggurat(rng, 1) }
            let t3 = DispatchTime.now().uptimeNanoseconds
            checksum += sink
            let drawRate = Double(draws) / (Double(t3 - t2) * 1e-9)
            pixelRates.append(pixelRate)
            drawRates.append(drawRate)
            if json {
                print(JSONLine([
                    ("roi", .int(roi)), ("amplifiers", .int(model.amplifiers.count)), ("frames", .int(frames)),
                    ("electrons", .double(electrons)), ("pixels_per_s", .double(pixelRate)),
                    ("gaussian_draws_per_s", .double(drawRate)), ("ratio", .double(pixelRate / drawRate)),
                ]).text)
            } else {
                print(String(format: "ROI pixels: %d × %d² px × %d frames at %.0f e⁻: %.3g px/s; GSL ziggurat: %.3g draws/s; ratio %.2f",
                             model.amplifiers.count, roi, frames, electrons, pixelRate, drawRate, pixelRate / drawRate))
            }
        }
        if runs > 1 {
            let mp = pixelRates.sorted()[runs / 2], md = drawRates.sorted()[runs / 2]
            if json {
                print(JSONLine([("median_pixels_per_s", .double(mp)), ("median_gaussian_draws_per_s", .double(md)),
                                ("median_ratio", .double(mp / md)), ("runs", .int(runs)),
                                ("checksum", .double(checksum))]).text)
            } else {
                print(String(format: "median of %d runs: %.4g px/s, %.4g draws/s, ratio %.2f", runs, mp, md, mp / md))
            }
        }
    }
}
