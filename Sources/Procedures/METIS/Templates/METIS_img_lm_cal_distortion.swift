import Observatory

/// METIS_img_lm_cal_distortion (seed 001): the IMG-LM field through grid_lm, L' with ND3 at the SLOW
/// mode's minimum DIT 1.3 s [U] (the pinhole peak below full well).
struct LMDistortionTemplate: DistortionTemplate {
    static let name = "METIS_img_lm_cal_distortion"
    static let summary = "Distortion map of IMG-LM from the WCU pinhole grid (seed 001)."
    static var variant: METISDistortion.Variant {
        let d = DetectorModel.metisIMGLM()
        return METISDistortion.Variant(
            preset: "img-lm", templateID: name, technique: "IMAGE,LM", detector: d, lane: "IMG-LM", grid: .gridLM, fp1Position: "grid_lm",
            field: d.imagingArea, modeName: "SLOW", filter: "L'", nd: "ND3", dit: 1.3,
            setup: METISDistortion.commonSetup + [("LMS-pickoff", "OUT"), ("IMG-LM-mask", "open"), ("IMG-LM-pupil-lens", "OUT")],
            filterDevice: "IMG-LM-filter", ndDevice: "IMG-LM-ND", nBand: false)
    }
    let distortion: METISDistortion
}
