import Observatory
import Testing
@testable import Procedures

@Suite struct FrameHeaderTests {
    let window = PixelWindow(rect: PixelRect(x0: 0, y0: 0, width: 2, height: 1), values: [1, 2])
    let header = FrameHeader([
        HeaderCard("DPR CATG", "CALIB"), HeaderCard("INS OPTI10 NAME", "L'"), HeaderCard("IMGTYPE", "FLAT"),
        HeaderCard("DET NAME", "LATISS ITL STA3800"), HeaderCard("DET CHIP ID", "ITL-3800C-068"),
        HeaderCard("DET1 DIT", 6.0), HeaderCard("DET1 NDIT", .int(1)), HeaderCard("EXPTIME", 6.0),
    ])

    /// ESO: hierarchical keys are written HIERARCH ESO …, and the detector's DIT/NDIT are the FITS
    /// keywords DET DIT / DET NDIT (the list for METIS).
    @Test func esoConvention() {
        let f = Frame(name: "f", window: window, header: header, convention: .eso)
        let keys = f.header.map { $0.keyword }
        #expect(keys.contains("HIERARCH ESO DPR CATG"))
        #expect(keys.contains("HIERARCH ESO INS OPTI10 NAME"))
        #expect(keys.contains("HIERARCH ESO DET DIT") && keys.contains("HIERARCH ESO DET NDIT"))
        #expect(!keys.contains { $0.contains("DET1") })
        #expect(keys.contains("EXPTIME"))
        #expect(f.header.first { $0.keyword == "HIERARCH ESO INS OPTI10 NAME" }?.value == .string("L'"))
        #expect(f.pixels == [1, 2])
    }

    /// Rubin: flat keywords only; DETNAME/DETSER for the detector, EXPTIME for the integration.
    @Test func rubinConvention() {
        let f = Frame(name: "f", window: window, header: header, convention: .rubin)
        let keys = f.header.map { $0.keyword }
        #expect(keys.contains("IMGTYPE") && keys.contains("EXPTIME"))
        #expect(keys.contains("DETNAME") && keys.contains("DETSER"))
        #expect(!keys.contains { $0.hasPrefix("DET1") || $0.hasPrefix("HIERARCH ESO") })
    }
}
