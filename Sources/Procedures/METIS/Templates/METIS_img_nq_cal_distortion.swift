import Observatory

/// METIS_img_nq_cal_distortion (seed 001): the IMG-N field through grid_n, N2 with ND1 at the
/// HIGH_CAPACITY minimum DIT 0.011 s (REFERENCES.md §5.2) [U].
struct NQDistortionTemplate: DistortionTemplate {
    static let name = "METIS_img_nq_cal_distortion"
    static let summary = "Distortion map of IMG-NQ from the WCU pinhole grid (seed 001)."
    static var variant: METISDistortion.Variant {
        let d = DetectorModel.metisIMGN()
        return METISDistortion.Variant(
            preset: "img-nq", templateID: name, technique: "IMAGE,N", detector: d, lane: "IMG-N", grid: .gridN, fp1Position: "grid_n",
            field: d.imagingArea, modeName: "HIGH_CAPACITY", filter: "N2", nd: "ND1", dit: 0.011,
            setup: METISDistortion.commonSetup + [("LMS-pickoff", "OUT"), ("IMG-N-mask", "open")],
            filterDevice: "IMG-N-filter", ndDevice: "IMG-N-ND", nBand: true)
    }
    let distortion: METISDistortion
}
