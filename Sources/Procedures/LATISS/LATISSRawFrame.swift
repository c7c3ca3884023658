import Foundation
import Observatory
import SimKernel

/// How the LATISS camera lays out one amplifier's raw segment (ITL STA3800 read by the Rubin camera
/// DAQ), from Rubin's obs_lsst: a 2024 LATISS raw header (`tests/headers/latiss-AT_O_20240624_000169_R00_S00.yaml`:
/// 576 × 2048 px per segment, DATASEC `[4:512,1:2000]`, DETSEC `[509:1,1:2000]`, DTV1 = 513, DTM1_1 = −1,
/// ZBITPIX = 32, DETSIZE `[1:4072,1:4000]`) and the ITL amplifier table of `policy/cameraHeader.yaml`
/// (C10…C17 in HDUs 1–8 along y = 1…2000 with x flipped; C07…C00 in HDUs 9–16 along y = 2001…4000
/// with x and y flipped; amplifier Cjk at column k).
public enum LATISSSegmentLayout {
    /// Serial prescan columns read before the data of each row.
    public static let prescanColumns = 3
    /// Serial overscan columns after the data of each row (576 − 3 − 509).
    public static let serialOverscanColumns = 64
    /// Parallel overscan rows after the data rows (2048 − 2000).
    public static let parallelOverscanRows = 48
}

extension Frame {
    /// A LATISS image as the camera writes it: a header-only primary HDU (INSTRUME, TELESCOP and the
    /// exposure's header in Rubin's keywords, with OBSID/DAYOBS/SEQNUM) and one 32-bit integer extension
    /// per amplifier, `Segment10` … `Segment17`, `Segment07` … `Segment00`.
    ///
    /// Each segment holds the simulated window of its amplifier (the region of interest,
    /// `instrument.detector.roi_size` square, or the whole 509 × 2000 at full-frame fidelity) as its data
    /// section, with the camera's true prescan (3), serial overscan (64) and parallel overscan (48)
    /// widths around it: a segment of (3 + w + 64) × (h + 48) px, not 576 × 2048 unless the window is the
    /// whole amplifier. DATASEC/BIASSEC locate the data and the serial overscan in the segment;
    /// DETSEC/DTV/DTM place the window where it lies on the 4072 × 4000 detector, so an assembler puts
    /// the windows at their true positions.
    ///
    /// Overscan and prescan pixels are the amplifier's bias plus its read noise (σ = RN/gain ADU),
    /// rounded and clipped by the ADC like the data: the bias of a data row's first pixel for the serial
    /// pre/overscan of that row, and the bias of the last data row for the parallel overscan rows (the
    /// plane's column trend continues under the data columns). Noise is drawn from `stream` alone, so
    /// writing frames changes no draw of the simulation. Returns nil unless the exposure has one window
    /// per amplifier inside it.
    public init?(latissRaw name: String, exposure: ExposureResult, model: DetectorModel, sequenceNumber: Int,
                 stream: RandomStream) {
        guard exposure.windows.count == model.amplifiers.count,
              let mode = try? model.mode(named: exposure.modeName) else { return nil }
        let layout = LATISSSegmentLayout.self
        var extensions: [Extension] = []
        for (a, amp) in model.amplifiers.enumerated() {
            let window = exposure.windows[a]
            let rect = window.rect
            guard amp.region.contains(rect), amp.name.count == 3, amp.name.hasPrefix("C"),
                  let row = amp.name.dropFirst().first?.wholeNumberValue,
                  let column = amp.name.last?.wholeNumberValue else { return nil }
            let w = rect.width, h = rect.height
            let width = layout.prescanColumns + w + layout.serialOverscanColumns
            let height = h + layout.parallelOverscanRows
            let sigma = mode.readNoiseElectrons[a] / mode.gainElectronsPerADU[a]
            let adcMax = mode.adcMaximumADU
            func read(_ bias: Double) -> Int32 {
                Int32(min(max((bias + stream.gaussian(sigma: sigma)).rounded(), 0), adcMax))
            }
            var pixels = [Int32](repeating: 0, count: width * height)
            for j in 0..<height {
                let dataRow = min(j, h - 1)
                let rowBias = amp.biasADU(x: rect.x0, y: rect.y0 + dataRow)
                for i in 0..<width {
                    let k = i - layout.prescanColumns
                    if j < h && k >= 0 && k < w {
                        pixels[j * width + i] = Int32(window.values[j * w + k].rounded())
                    } else if k >= 0 && k < w {
                        pixels[j * width + i] = read(amp.biasADU(x: rect.x0 + k, y: rect.y0 + dataRow))
                    } else {
                        pixels[j * width + i] = read(rowBias)
                    }
                }
            }
            // Detector pixel = DTV + DTM · segment pixel. Every ITL segment is read right to left
            // (DTM1_1 = −1); the C0k row also top to bottom (DTM2_2 = −1). A window offset (ox, oy) into
            // its amplifier shifts DTV by it.
            let ampWidth = amp.region.width, ampHeight = amp.region.height
            let ox = rect.x0 - amp.region.x0, oy = rect.y0 - amp.region.y0
            let dtm2 = row == 1 ? 1 : -1
            let dtv1 = ampWidth * (column + 1) + layout.prescanColumns + 1 - ox
            let dtv2 = row == 1 ? oy : 2 * ampHeight + 1 - oy
            let firstData = layout.prescanColumns + 1, lastData = layout.prescanColumns + w
            let header: [HeaderCard] = [
                HeaderCard("CHANNEL", .integer(a + 1), "readout channel (HDU - 1)"),
                HeaderCard("CCDSUM", .string("1 1"), "binning"),
                HeaderCard("DATASEC", .string("[\(firstData):\(lastData),1:\(h)]"), "data section"),
                HeaderCard("DETSEC", .string("[\(dtv1 - firstData):\(dtv1 - lastData),\(dtv2 + dtm2):\(dtv2 + dtm2 * h)]"),
                           "detector section of the data"),
                HeaderCard("DETSIZE", .string("[1:\(model.columns),1:\(model.rows)]"), "detector size"),
                HeaderCard("BIASSEC", .string("[\(lastData + 1):\(width),1:\(h)]"), "serial overscan section"),
                HeaderCard("DTV1", .integer(dtv1), "detector transformation vector"),
                HeaderCard("DTV2", .integer(dtv2), "detector transformation vector"),
                HeaderCard("DTM1_1", .double(-1), "detector transformation matrix"),
                HeaderCard("DTM2_2", .double(Double(dtm2)), "detector transformation matrix"),
                HeaderCard("DTM1_2", .double(0), "detector transformation matrix"),
                HeaderCard("DTM2_1", .double(0), "detector transformation matrix"),
                HeaderCard("BUNIT", .string("adu"), "pixel unit"),
            ]
            extensions.append(Extension(name: "Segment" + amp.name.dropFirst(), width: width, height: height,
                                        pixels: pixels, header: header))
        }
        self.init(name: name, header: Self.latissPrimaryCards(exposure.header, sequenceNumber: sequenceNumber),
                  extensions: extensions)
    }

    /// The camera's primary-header identity (obs_lsst's LATISS header spec: INSTRUME 'LATISS',
    /// TELESCOP 'LSST AuxTelescope', FACILITY 'Vera C. Rubin Observatory'), the exposure's cards, and the
    /// image's identifiers: DAYOBS is the UTC−12 h date of DATE-OBS (Rubin's observing day), SEQNUM the
    /// image's number in the trial, OBSID `AT_O_<DAYOBS>_<SEQNUM, 6 digits>`.
    static func latissPrimaryCards(_ header: FrameHeader, sequenceNumber: Int) -> [HeaderCard] {
        var cards = [HeaderCard("INSTRUME", .string("LATISS"), "instrument"),
                     HeaderCard("TELESCOP", .string("LSST AuxTelescope"), "telescope"),
                     HeaderCard("FACILITY", .string("Vera C. Rubin Observatory"), "facility name"),
                     HeaderCard("CCD_MANU", .string("ITL"), "CCD manufacturer"),
                     HeaderCard("CCD_TYPE", .string("3800C"), "CCD model")]
        if let mjd = header.double("MJD-OBS") {
            var calendar = Calendar(identifier: .gregorian)
            calendar.timeZone = TimeZone(identifier: "UTC") ?? calendar.timeZone
            let date = Date(timeIntervalSince1970: (mjd - 40_587) * 86_400 - 12 * 3_600)
            let d = calendar.dateComponents([.year, .month, .day], from: date)
            let dayObs = String(format: "%04d%02d%02d", d.year ?? 0, d.month ?? 0, d.day ?? 0)
            cards.append(HeaderCard("OBSID", .string("AT_O_\(dayObs)_" + String(format: "%06d", sequenceNumber)), "observation id"))
            cards.append(HeaderCard("DAYOBS", .string(dayObs), "observing day (UTC - 12 h)"))
        }
        cards.append(HeaderCard("SEQNUM", .integer(sequenceNumber), "image number of the observing day"))
        return cards + Self.cards(header, convention: .rubin)
    }
}
