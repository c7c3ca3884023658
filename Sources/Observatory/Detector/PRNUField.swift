import SimKernel

/// The detector's fixed pixel response non-uniformity: a multiplicative field 1 + σ·N(0,1) per pixel.
///
/// It belongs to the detector, not to a trial: every trial of a study, and every seed, sees the same
/// field, so a master flat built in a simulation can be compared with it. Each amplifier row has its own
/// Mersenne Twister keyed (MT19937 `init_by_array`) by
/// `[0x554E5250 ("PRNU"), prnuSeed & 0xffffffff, prnuSeed >> 32, amplifier index, row offset in the
/// amplifier, byteCount(serial), utf8(serial) packed little-endian four bytes per word]`
/// and draws the row's `region.width` Gaussians (ziggurat) left to right; a pixel's value therefore does
/// not depend on which region of interest asked for it. The leading "PRNU" word keeps these keys apart
/// from the simulation's named streams, whose first word is the master seed.
public final class PRNUField {
    public let model: DetectorModel
    private var cache: [PixelRect: [Double]] = [:]

    public init(model: DetectorModel) { self.model = model }

    /// The stream key of one amplifier row (see the type's documentation).
    public static func key(serial: String, prnuSeed: UInt64, amplifier: Int, row: Int) -> [UInt32] {
        RandomStreams.key(prefix: [0x554E_5250, UInt32(truncatingIfNeeded: prnuSeed), UInt32(truncatingIfNeeded: prnuSeed >> 32),
                                   UInt32(amplifier), UInt32(row)], name: serial)
    }

    /// Response factors of `rect` (row-major), which must lie inside amplifier `amplifier`'s region.
    /// Cached: the same region of interest is asked for in every frame of a study.
    public func values(rect: PixelRect, amplifier: Int) -> [Double] {
        if let v = cache[rect] { return v }
        let amp = model.amplifiers[amplifier]
        precondition(amp.region.contains(rect), "PRNU rect \(rect) outside amplifier \(amp.name)")
        var out = [Double](repeating: 1, count: rect.pixelCount)
        let sigma = model.prnuSigma
        if sigma > 0 {
            var row = [Double](repeating: 0, count: amp.region.width)
            for j in 0..<rect.height {
                let y = rect.y0 + j - amp.region.y0
                let s = RandomStream(key: Self.key(serial: model.serial, prnuSeed: model.prnuSeed, amplifier: amplifier, row: y))
                for i in 0..<row.count { row[i] = s.gaussian(sigma: sigma) }
                let xOff = rect.x0 - amp.region.x0
                for i in 0..<rect.width { out[j * rect.width + i] = 1 + row[xOff + i] }
            }
        }
        cache[rect] = out
        return out
    }
}
