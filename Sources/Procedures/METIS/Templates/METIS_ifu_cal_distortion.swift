import Observatory

/// METIS_ifu_cal_distortion (seed 001), simpler than the instrument [U]: the LMS modelled as an imager on
/// a HAWAII-2RG with 8.2 mas pixels and a 0.9″ × 0.9″ field (no slicing, no spectral dimension, no cube
/// reconstruction), seeing the 5 × 5 LMS sub-grid of grid_lm at 0.1656″ pitch; its filter and ND wheels
/// are IMG-LM's, before the pickoff.
struct IFUDistortionTemplate: DistortionTemplate {
    static let name = "METIS_ifu_cal_distortion"
    static let summary = "Distortion map of the IFU (LMS as an imager) from the WCU pinhole grid (seed 001)."
    static var variant: METISDistortion.Variant {
        var d = DetectorModel.metisIMGLM()
        d.name = "METIS LMS HAWAII-2RG (IFU as an imager)"
        d.pixelScaleArcsec = 0.0082          // [U] LMS spaxel scale along the slices
        let side = Int((0.9 / d.pixelScaleArcsec).rounded())   // [U] 0.9″ field
        return METISDistortion.Variant(
            preset: "ifu", templateID: name, technique: "IFU", detector: d, lane: "LMS", grid: .gridLMS, fp1Position: "grid_lm",
            field: d.imagingArea.centred(width: side, height: side), modeName: "SLOW", filter: "L'", nd: "ND3", dit: 1.3,
            setup: METISDistortion.commonSetup + [("LMS-pickoff", "IN")],
            filterDevice: "IMG-LM-filter", ndDevice: "IMG-LM-ND", nBand: false)
    }
    let distortion: METISDistortion
}
