import Foundation
import Observatory
import Procedures
import ScenarioKit
import Testing
@testable import Experiments
@testable import Reporting

/// One detail trial of the committed PTC scenario (64 × 64 ROI per amplifier), its frames written as FITS
/// and read back: computed once for the suite.
private let ptcFrames: Result<(dir: URL, files: [FITSFile]), any Error> = Result {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    let text = try String(contentsOf: root.appendingPathComponent("Scenarios/latiss-ptc.yaml"), encoding: .utf8)
    let s = try ScenarioLoader.parse(text, file: "latiss-ptc.yaml")
    let run = try StudyRunner.runTrial(StudyRunner.procedures(for: s)[0], scenario: s, point: s.sweepPoints[0], trial: 0, keepsDetail: true)
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("obsim-latiss-raw-\(getpid())")
    try? FileManager.default.removeItem(at: dir)
    let urls = try FrameFiles.write(run.result.frames, into: dir)
    let files = try urls.map { try FITSReader.read($0.path) }
    try? FileManager.default.removeItem(at: dir)
    return (dir, files)
}

/// `[a:b,c:d]` as (a, b, c, d).
private func section(_ value: FITSValue?) -> (Int, Int, Int, Int)? {
    guard case .string(let s)? = value else { return nil }
    let n = s.split(whereSeparator: { "[]:,".contains($0) }).compactMap { Int($0) }
    return n.count == 4 ? (n[0], n[1], n[2], n[3]) : nil
}

private func int32Pixels(_ image: FITSImage) -> [Int32] {
    if case .int32(let a)? = image.pixels { return a }
    return []
}

/// Mean of the pixels of `image` inside the 1-based inclusive section.
private func pixels(_ image: FITSImage, _ s: (Int, Int, Int, Int)) -> [Double] {
    let a = int32Pixels(image)
    var out: [Double] = []
    for y in min(s.2, s.3)...max(s.2, s.3) {
        for x in min(s.0, s.1)...max(s.0, s.1) { out.append(Double(a[(y - 1) * image.width + (x - 1)])) }
    }
    return out
}

private func mean(_ v: [Double]) -> Double { v.reduce(0, +) / Double(v.count) }
private func variance(_ v: [Double]) -> Double {
    let m = mean(v)
    return v.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(v.count - 1)
}

@Suite struct LATISSRawFrameTests {
    let model = DetectorModel.latissITL3800()

    /// Every frame: a header-only primary with the camera's identity and exposure keywords, 16 32-bit
    /// integer segments named as the camera names them, whose DATASEC/BIASSEC/DETSEC agree with the
    /// array size and the 3/64/48 px prescan/overscan widths; the serial overscan (of a flat) reads the
    /// amplifier's true bias within its standard error, and its scatter is the read noise.
    @Test func segmentsAsTheCameraWritesThem() throws {
        let files = try ptcFrames.get().files
        #expect(files.count > 10)
        let names = (0...7).map { "Segment1\($0)" } + (0...7).reversed().map { "Segment0\($0)" }
        let mode = try model.mode(named: nil)
        for (n, file) in files.enumerated() {
            #expect(file.primary.pixels == nil)
            #expect(file.primary["INSTRUME"] == .string("LATISS"))
            #expect(file.primary["TELESCOP"] == .string("LSST AuxTelescope"))
            for k in ["DATE-OBS", "MJD-OBS", "IMGTYPE", "EXPTIME", "FILTER", "GRATING", "OBSID", "DAYOBS", "SEQNUM"] {
                #expect(file.primary[k] != nil, "primary header lacks \(k)")
            }
            #expect(file.extensions.map(\.name) == names)
            var detectorPixels = Set<Int>()
            for (a, ext) in file.extensions.enumerated() {
                #expect(int32Pixels(ext).count == ext.width * ext.height, "\(ext.name ?? "") is not 32-bit integer")
                let data = try #require(section(ext["DATASEC"]))
                let bias = try #require(section(ext["BIASSEC"]))
                let det = try #require(section(ext["DETSEC"]))
                let w = data.1 - data.0 + 1, h = data.3 - data.2 + 1
                #expect(w == 64 && h == 64)
                #expect(data.0 == 4 && ext.width == 3 + w + 64 && ext.height == h + 48)
                #expect(bias == (data.1 + 1, ext.width, 1, h))
                #expect(abs(det.1 - det.0) + 1 == w && abs(det.3 - det.2) + 1 == h)
                // DETSEC is DTV + DTM · DATASEC.
                guard case .integer(let dtv1)? = ext["DTV1"], case .integer(let dtv2)? = ext["DTV2"],
                      case .double(let dtm1)? = ext["DTM1_1"], case .double(let dtm2)? = ext["DTM2_2"] else {
                    Issue.record("\(ext.name ?? "") lacks DTV/DTM"); continue
                }
                #expect(det == (dtv1 + Int(dtm1) * data.0, dtv1 + Int(dtm1) * data.1, dtv2 + Int(dtm2) * data.2, dtv2 + Int(dtm2) * data.3))
                // The segments tile distinct places of the 4072 × 4000 detector, row C1x below row C0x.
                #expect((a < 8) == (max(det.2, det.3) <= 2000))
                #expect(detectorPixels.insert(min(det.0, det.1) * 10_000 + min(det.2, det.3)).inserted)
                #expect(max(det.0, det.1) <= 4072 && max(det.2, det.3) <= 4000)
                // The ROI is centred in its amplifier (column k of 509 px, row 1…2000 or 2001…4000).
                let column = Double(try #require(ext.name?.last?.wholeNumberValue))
                #expect(abs(Double(det.0 + det.1) / 2 - (509 * column + 255)) <= 0.5, "\(ext.name ?? ""): DETSEC \(det)")
                #expect(abs(Double(det.2 + det.3) / 2 - (a < 8 ? 1000.5 : 3000.5)) <= 0.5, "\(ext.name ?? ""): DETSEC \(det)")

                // Statistics on the first frame only: 32 checks at 4σ, not a thousand.
                guard n == 0 else { continue }
                let overscan = pixels(ext, bias)
                let sigma = mode.readNoiseElectrons[a] / mode.gainElectronsPerADU[a]
                func se(_ n: Int) -> Double { (sigma * sigma + 1.0 / 12).squareRoot() / Double(n).squareRoot() }
                // The model's bias at the first data column, averaged over the ROI's rows; under the
                // parallel overscan, the last data row's bias averaged over the data columns.
                let amp = model.amplifiers[a], roi = model.roi(amplifier: a)
                let truth = amp.biasADU(x: roi.x0, y: roi.y0) + amp.biasRowSlopeADU * Double(roi.height - 1) / 2
                #expect(abs(mean(overscan) - truth) < 4 * se(overscan.count), "\(ext.name ?? ""): overscan \(mean(overscan)) vs bias \(truth)")
                let prescan = pixels(ext, (1, 3, 1, h))
                #expect(abs(mean(prescan) - truth) < 4 * se(prescan.count), "\(ext.name ?? ""): prescan \(mean(prescan)) vs bias \(truth)")
                let parallel = pixels(ext, (data.0, data.1, h + 1, ext.height))
                let parallelTruth = amp.biasADU(x: roi.x0, y: roi.y0 + h - 1) + amp.biasColumnSlopeADU * Double(w - 1) / 2
                #expect(abs(mean(parallel) - parallelTruth) < 4 * se(parallel.count),
                        "\(ext.name ?? ""): parallel overscan \(mean(parallel)) vs bias \(parallelTruth)")
                // Sample variance of N Gaussians: relative standard error √(2/(N−1)).
                let v = variance(overscan), expected = sigma * sigma + 1.0 / 12
                #expect(abs(v / expected - 1) < 4 * (2.0 / Double(overscan.count - 1)).squareRoot(), "\(ext.name ?? ""): var \(v) vs \(expected)")
            }
        }
    }

    /// An independent PTC from the written files alone: per amplifier the overscan-subtracted mean and
    /// var(A − B)/2 of each pair of equal-exposure flats, a weighted least-squares line
    /// variance = mean/g + RN²/g², and the amplifier's true gain within 4 standard errors of the fit.
    @Test func ptcOnWrittenFramesRecoversTheGain() throws {
        let files = try ptcFrames.get().files
        let flats = files.filter { $0.primary["IMGTYPE"] == .string("FLAT") }
        var pairs: [(FITSFile, FITSFile)] = []
        var k = 0
        while k + 1 < flats.count {
            if flats[k].primary["EXPTIME"] == flats[k + 1].primary["EXPTIME"] { pairs.append((flats[k], flats[k + 1])); k += 2 } else { k += 1 }
        }
        #expect(pairs.count >= 10)
        let mode = try model.mode(named: nil)
        // The quadratic non-linearity (1 % at full well) bends the PTC: only levels where it moves the
        // variance by < 0.5 % (2cλ < 0.25 %) enter the fit.
        let maxElectrons = 0.0025 / 2 / (0.01 / mode.fullWellElectrons)
        for a in model.amplifiers.indices {
            var xs: [Double] = [], ys: [Double] = [], ws: [Double] = []
            for (p, q) in pairs {
                let ea = p.extensions[a], eb = q.extensions[a]
                let data = try #require(section(ea["DATASEC"])), bias = try #require(section(ea["BIASSEC"]))
                let da = pixels(ea, data), db = pixels(eb, data)
                let level = 0.5 * (mean(da) - mean(pixels(ea, bias)) + mean(db) - mean(pixels(eb, bias)))
                guard level * mode.gainElectronsPerADU[a] < maxElectrons else { continue }
                let v = 0.5 * variance(zip(da, db).map { $0 - $1 })
                xs.append(level); ys.append(v)
                ws.append(Double(da.count - 1) / (2 * v * v))   // 1 / Var(sample variance)
            }
            #expect(xs.count >= 5, "amp \(a): \(xs.count) usable pairs")
            // Weighted least squares y = c0 + c1·x.
            let sw = ws.reduce(0, +)
            let sx = zip(ws, xs).map { $0 * $1 }.reduce(0, +), sy = zip(ws, ys).map { $0 * $1 }.reduce(0, +)
            let sxx = zip(ws, xs).map { $0 * $1 * $1 }.reduce(0, +)
            let sxy = (0..<xs.count).map { ws[$0] * xs[$0] * ys[$0] }.reduce(0, +)
            let det = sw * sxx - sx * sx
            let slope = (sw * sxy - sx * sy) / det
            let slopeSE = (sw / det).squareRoot()
            let gain = 1 / slope, gainSE = slopeSE / (slope * slope)
            let truth = mode.gainElectronsPerADU[a]
            #expect(abs(gain - truth) < 4 * gainSE, "amp \(a): PTC gain \(gain) ± \(gainSE) vs \(truth)")
            if ProcessInfo.processInfo.environment["OBSIM_PTC_PRINT"] != nil {
                print(String(format: "amp %2d: PTC gain %.4f ± %.4f (truth %.3f), %d pairs", a, gain, gainSE, truth, xs.count))
            }
            #expect(gainSE < 0.02 * truth, "amp \(a): the fit cannot resolve the gain (± \(gainSE))")
        }
    }
}
