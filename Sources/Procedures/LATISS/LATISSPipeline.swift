import Analysis
import Observatory

/// The region-of-interest pixels of one configuration set, per amplifier, discards left out: what
/// cp_pipe's cpBias/cpDark/cpFlat combine into the set's master frames.
struct LATISSSetPixels {
    var biases: [[Image]]
    var darks: [[(image: Image, seconds: Double)]]
    var flats: [[Image]]
    var flatSeconds = 0.0

    init(amplifiers: Int) {
        biases = Array(repeating: [], count: amplifiers)
        darks = Array(repeating: [], count: amplifiers)
        flats = Array(repeating: [], count: amplifiers)
    }

    static func images(_ result: ExposureResult) -> [Image] {
        result.windows.map { Image(width: $0.rect.width, height: $0.rect.height, values: $0.values) }
    }

    mutating func add(bias result: ExposureResult) {
        for (a, image) in Self.images(result).enumerated() { biases[a].append(image) }
    }

    mutating func add(dark result: ExposureResult) {
        for (a, image) in Self.images(result).enumerated() { darks[a].append((image, result.ditSeconds)) }
    }

    mutating func add(flat result: ExposureResult) {
        flatSeconds = result.ditSeconds
        for (a, image) in Self.images(result).enumerated() { flats[a].append(image) }
    }

    /// The master flat's RMS error (percent) against the detector's true pixel response, over every
    /// amplifier's region of interest. The dark list mixes exposure times (5, 15, 30 s by default), so
    /// each dark is scaled to a rate before the median, which is MasterFrames.darkRate per frame.
    func masterFlatErrorPercent(detector: DetectorSimulator) throws -> Double? {
        var sumSquares = 0.0
        var count = 0
        for a in flats.indices where !flats[a].isEmpty && !biases[a].isEmpty {
            let masterBias = try MasterFrames.bias(biases[a])
            var rate: Image?
            if !darks[a].isEmpty {
                rate = try MasterFrames.median(darks[a].map { $0.image.subtracting(masterBias).applying(scale: 1 / $0.seconds) })
            }
            let master = try MasterFrames.flat(flats[a], exposureSeconds: flatSeconds, masterBias: masterBias, darkRate: rate)
            let rect = detector.model.roi(amplifier: a)
            let truth = Image(width: rect.width, height: rect.height, values: detector.prnu.values(rect: rect, amplifier: a))
            let e = try MasterFrames.flatErrorPercent(master: master, truth: truth)
            sumSquares += e * e
            count += 1
        }
        return count > 0 ? (sumSquares / Double(count)).squareRoot() : nil
    }
}
