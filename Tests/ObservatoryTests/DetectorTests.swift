import CGSL
import SimKernel
import Testing
@testable import Observatory

/// Statistical tolerances: a sample variance v of N Gaussian pixels has Var(v) = 2v²/N (REFERENCES §4),
/// a sample mean has Var = v/N; every check below allows 4 standard errors (two-sided p ≈ 6e-5) at a
/// fixed seed, so a correct model passes and a wrong term of the size of the tolerance fails.
@Suite struct DetectorTests {
    static func latissLinear() -> DetectorModel {
        var m = DetectorModel.latissITL3800()
        m.modes[0].nonlinearity = .linear   // the classic PTC relation holds for a linear detector
        return m
    }

    @Test func flatPairVarianceAndGainFollowThePTC() throws {
        let model = Self.latissLinear()
        let sim = DetectorSimulator(model: model)
        let stream = RandomStream(key: [1, 2, 3])
        let a = 8                                     // C07, gain 1.047 e⁻/ADU, read noise 9.2 e⁻
        let g = model.modes[0].gainElectronsPerADU[a], rn = model.modes[0].readNoiseElectrons[a]
        let rect = model.amplifiers[a].region.centred(width: 500, height: 1000)
        // 0.8 s: 4,300 e⁻ (exact-Poisson path); 4 s: 21,500 e⁻ (merged-Gaussian path).
        for dit in [0.8, 4.0] {
            let req = ExposureRequest(ditSeconds: dit, illumination: Illumination(photonsPerSecondPerPixel: 5_971),
                                      fidelity: .windows([rect]))
            let i1 = try sim.expose(req, stream: stream).windows[0].values
            let i2 = try sim.expose(req, stream: stream).windows[0].values
            let n = i1.count
            var diff = [Double](repeating: 0, count: n), bias = 0.0, mean = 0.0
            for y in rect.y0..<rect.y1 {
                for x in rect.x0..<rect.x1 { bias += model.biasADU(x: x, y: y)! }
            }
            bias /= Double(n)
            for k in 0..<n { diff[k] = i1[k] - i2[k]; mean += (i1[k] + i2[k]) / 2 }
            let mu = mean / Double(n) - bias
            let v = 0.5 * diff.withUnsafeBufferPointer { gsl_stats_variance($0.baseAddress, 1, n) }
            // Classic PTC plus the ADC's quantisation variance 1/12 ADU².
            let expected = mu / g + rn * rn / (g * g) + 1.0 / 12
            let se = expected * (2.0 / Double(n)).squareRoot()
            #expect(abs(v - expected) < 4 * se, "DIT \(dit): var \(v) vs \(expected) ± \(se)")
            let gainEstimate = mu / (v - rn * rn / (g * g) - 1.0 / 12)
            #expect(abs(gainEstimate / g - 1) < 0.01, "gain \(gainEstimate) vs \(g)")
        }
    }

    @Test func darkCurrentIsTheSlopeOfAMeanVersusDITSeries() throws {
        let model = DetectorModel.latissITL3800()
        let sim = DetectorSimulator(model: model)
        let stream = RandomStream(key: [7])
        let dits = [0.0, 100, 200, 300, 400]
        var meansE: [Double] = []
        for dit in dits {
            let r = try sim.expose(ExposureRequest(ditSeconds: dit, fidelity: .roiPixels), stream: stream)
            // Post-ISR level in electrons, averaged over the 16 amplifiers.
            let e = r.amplifiers.map { $0.postISRMeanADU * model.modes[0].gainElectronsPerADU[$0.amplifierIndex] }
            meansE.append(e.reduce(0, +) / Double(e.count))
        }
        var c0 = 0.0, c1 = 0.0, cov00 = 0.0, cov01 = 0.0, cov11 = 0.0, sumsq = 0.0
        gsl_fit_linear(dits, 1, meansE, 1, dits.count, &c0, &c1, &cov00, &cov01, &cov11, &sumsq)
        // SE of each point: read noise ~9.1 e⁻ (+ the ADC's 1/12 ADU²) over 16 × 65,536 pixels;
        // SE of the slope = σ_point / √Σ(t − t̄)².
        // Per-pixel variance (e⁻²): RN² + g²/12 (quantisation) + the dark shot noise D·t (≤ 4 e⁻², taken
        // at its largest).
        let mode = model.modes[0]
        let perPixel = zip(mode.readNoiseElectrons, mode.gainElectronsPerADU).map { $0 * $0 + $1 * $1 / 12 + 4 }
            .reduce(0, +) / 16
        let sigmaPoint = (perPixel / (16.0 * 65_536)).squareRoot()
        let sxx = dits.map { ($0 - 200) * ($0 - 200) }.reduce(0, +)
        let se = sigmaPoint / sxx.squareRoot()
        #expect(abs(c1 - model.darkCurrentElectronsPerSecond) < 4 * se, "dark \(c1) e⁻/s ± \(se)")
    }

    @Test func fullWellClipsAtTheRightLevelAndTheMeanFlattens() throws {
        let model = DetectorModel.latissITL3800()
        let sim = DetectorSimulator(model: model)
        let stream = RandomStream(key: [11])
        let flat = Illumination(photonsPerSecondPerPixel: 5_971)
        let r40 = try sim.expose(ExposureRequest(ditSeconds: 40, illumination: flat, fidelity: .roiPixels), stream: stream)
        let r60 = try sim.expose(ExposureRequest(ditSeconds: 60, illumination: flat, fidelity: .roiPixels), stream: stream)
        let mode = model.modes[0]
        for (s40, s60) in zip(r40.amplifiers, r60.amplifiers) {
            let g = mode.gainElectronsPerADU[s40.amplifierIndex], rn = mode.readNoiseElectrons[s40.amplifierIndex]
            #expect(s40.saturatedFraction == 1 && s60.saturatedFraction == 1)
            // Saturated pixels read full well / gain (+ bias), with only read noise and quantisation left.
            let se = ((rn * rn / (g * g) + 1.0 / 12) / Double(s40.pixelCount)).squareRoot()
            #expect(abs(s40.postISRMeanADU - mode.fullWellElectrons / g) < 4 * se)
            #expect(abs(s60.postISRMeanADU - s40.postISRMeanADU) < 4 * se * 2.0.squareRoot())
            #expect(abs(s40.measuredVarianceADU2 / (rn * rn / (g * g) + 1.0 / 12 + s40.fixedPatternVarianceADU2) - 1)
                    < 4 * (2.0 / Double(s40.pixelCount)).squareRoot())
        }
    }

    @Test func nditAveragingDividesTheReadNoiseVarianceByNDIT() throws {
        let model = DetectorModel.metisIMGLM()
        let sim = DetectorSimulator(model: model)
        let stream = RandomStream(key: [13])
        let window = PixelRect(x0: 0, y0: 0, width: 512, height: 512)   // 8 channels of equal gain
        let mode = try model.mode(named: "SLOW")
        var variances: [Double] = []
        for ndit in [1, 16] {
            let r = try sim.expose(ExposureRequest(ditSeconds: 1.3, ndit: ndit, modeName: "SLOW", fidelity: .windows([window])),
                                   stream: stream)
            let px = r.windows[0].values
            let v = px.withUnsafeBufferPointer { gsl_stats_variance($0.baseAddress, 1, $0.count) }
            // Read noise, dark shot noise (0.065 e⁻) and quantisation per frame, averaged over NDIT frames.
            let g = mode.gainElectronsPerADU[0], rn = mode.readNoiseElectrons[0]
            let expected = ((rn * rn + 0.05 * 1.3) / (g * g) + 1.0 / 12) / Double(ndit)
            #expect(abs(v / expected - 1) < 4 * (2.0 / Double(px.count)).squareRoot(), "NDIT \(ndit): \(v) vs \(expected)")
            variances.append(v)
        }
        #expect(abs(variances[0] / variances[1] / 16 - 1) < 4 * (4.0 / 262_144).squareRoot())
    }

    @Test func roiStatisticsAgreeWithROIPixels() throws {
        let model = DetectorModel.latissITL3800()
        let sim = DetectorSimulator(model: model)
        let stream = RandomStream(key: [17])
        for dit in [0.5, 6.0] {    // Poisson path (2,700 e⁻) and merged-Gaussian path (32,000 e⁻)
            let base = ExposureRequest(ditSeconds: dit, illumination: Illumination(photonsPerSecondPerPixel: 5_971))
            var p = base; p.fidelity = .roiPixels
            let stats = try sim.expose(base, stream: stream).amplifiers
            let pixels = try sim.expose(p, stream: stream).amplifiers
            for (s, q) in zip(stats, pixels) {
                let n = Double(q.pixelCount)
                let total = s.temporalVarianceADU2 + s.fixedPatternVarianceADU2
                #expect(abs(s.expectedMeanADU - q.expectedMeanADU) < 1e-9)
                #expect(abs(q.measuredMeanADU - s.expectedMeanADU) < 4 * (total / n).squareRoot())
                #expect(abs(s.measuredMeanADU - s.expectedMeanADU) < 4 * (s.temporalVarianceADU2 / n).squareRoot())
                #expect(abs(q.measuredVarianceADU2 / total - 1) < 4 * (2 / n).squareRoot(), "\(q.amplifier) \(dit) s")
            }
        }
    }

    @Test func prnuFieldIsFixedPerDetectorAndHasItsSigma() {
        let model = DetectorModel.latissITL3800()
        let rect = model.roi(amplifier: 3)
        let a = PRNUField(model: model).values(rect: rect, amplifier: 3)
        let b = PRNUField(model: model).values(rect: rect, amplifier: 3)
        #expect(a == b)
        // A smaller window of the same amplifier sees the same pixels' values.
        let inner = PixelRect(x0: rect.x0 + 10, y0: rect.y0 + 20, width: 5, height: 5)
        let c = PRNUField(model: model).values(rect: inner, amplifier: 3)
        #expect(c[0] == a[20 * rect.width + 10])
        var other = model; other.serial = "ITL-3800C-999"
        #expect(PRNUField(model: other).values(rect: rect, amplifier: 3) != a)
        let n = a.count
        let sd = a.withUnsafeBufferPointer { gsl_stats_sd($0.baseAddress, 1, n) }
        // SE of a sample σ is σ/√(2N).
        #expect(abs(sd - model.prnuSigma) < 4 * model.prnuSigma / (2 * Double(n)).squareRoot())
    }

    @Test func latissFlatLevelsMatchTheWeeklyCalibrationDocument() throws {
        let model = DetectorModel.latissITL3800()
        let sim = DetectorSimulator(model: model)
        let screen = ATFlatScreen()
        let stream = RandomStream(key: [19])
        func flat(_ filter: String, _ grating: String, _ dit: Double, dome: Double = 3.0) throws -> ExposureResult {
            let rate = try screen.photonsPerSecondPerPixel(filter: filter, grating: grating, lamp: .on, trueDomeAzimuthDegrees: dome)
            return try sim.expose(ExposureRequest(ditSeconds: dit, illumination: Illumination(photonsPerSecondPerPixel: rate)),
                                  stream: stream)
        }
        // Seed 003: a 6 s SDSSr_65mm flat reads just under 30,000 ADU post-ISR ...
        let r6 = try flat("SDSSr_65mm", "empty_1", 6)
        #expect(r6.medianPostISRADU < 30_000 && r6.medianPostISRADU > 29_000, "\(r6.medianPostISRADU)")
        #expect(r6.medianPostISRADU > 10_000)
        // ... under 10,000 when the dome is 2.5° off the lamp ...
        #expect(try flat("SDSSr_65mm", "empty_1", 6, dome: 5.5).amplifiers.allSatisfy { $0.postISRMeanADU < 10_000 })
        #expect(try flat("SDSSr_65mm", "empty_1", 6, dome: 0.5).amplifiers.allSatisfy { $0.postISRMeanADU < 10_000 })
        // ... and with the dome half way round only the stray-light floor is left: 0.5 % of the aligned
        // flat, ~150 ADU, well under the 10,000 ADU threshold yet not zero.
        let opposite = try flat("SDSSr_65mm", "empty_1", 6, dome: 183)
        #expect(abs(opposite.medianPostISRADU / r6.medianPostISRADU - 0.005) < 0.0005)
        // ... and the PTC flats reach the ~123,000 ADU turn-off at about 25 s: not yet at 24.16 s, fully at 30.04 s.
        let fw = model.modes[0].fullWellElectrons
        let r24 = try flat("SDSSr_65mm", "empty_1", 24.16)
        let r25 = try flat("SDSSr_65mm", "empty_1", 25)
        let r30 = try flat("SDSSr_65mm", "empty_1", 30.04)
        for k in model.amplifiers.indices {
            let turnoff = fw / model.modes[0].gainElectronsPerADU[k]
            #expect(r24.amplifiers[k].postISRMeanADU < 0.975 * turnoff)
            #expect(r25.amplifiers[k].postISRMeanADU > 0.98 * turnoff)
            #expect(r30.amplifiers[k].saturatedFraction > 0.999)
        }
        #expect(abs(r25.medianPostISRADU - 123_000) < 0.02 * 123_000)
        // Every weekly flat of the document stays under ~30,000 ADU on every amplifier.
        for (f, g, dit) in [("SDSSg_65mm", "empty_1", 6.0), ("SDSSz_65mm", "empty_1", 3.0),
                            ("empty_1", "SDSSy_65mm", 30.0), ("empty_1", "empty_1", 1.0)] {
            #expect(try flat(f, g, dit).amplifiers.allSatisfy { $0.postISRMeanADU < 30_000 }, "\(f)/\(g) \(dit) s")
        }
    }

    @Test func flatScreenAlignmentProfile() {
        let s = ATFlatScreen()
        #expect(s.alignmentFactor(trueDomeAzimuthDegrees: 1.5) == 1 && s.alignmentFactor(trueDomeAzimuthDegrees: 4.5) == 1)
        #expect(abs(s.alignmentFactor(trueDomeAzimuthDegrees: 5.5) - (0.005 + 0.995 * gsl_sf_exp(-2))) < 1e-12)
        #expect(s.alignmentFactor(trueDomeAzimuthDegrees: 363.0) == 1)
        // The stray-light floor: far off the lamp the screen still sends 0.5 % of its light, never zero.
        #expect(abs(s.alignmentFactor(trueDomeAzimuthDegrees: 183) - 0.005) < 1e-15)
        #expect(abs(s.alignmentFactor(trueDomeAzimuthDegrees: 10) - 0.005) < 1e-12)
        #expect(s.lampFactor(.off) == 0 && s.lampFactor(.on) == 1 && s.lampFactor(.warming(progress: 0.5)) == 0.8)
        #expect(throws: OpticsError.self) { try s.throughput(filter: "SDSSq", grating: "empty_1") }
    }

    @Test func headerCarriesCallerAndDetectorKeywordsInOrder() throws {
        let model = DetectorModel.metisIMGLM()
        let sim = DetectorSimulator(model: model)
        let req = ExposureRequest(ditSeconds: 10, ndit: 1, modeName: "SLOW",
                                  header: [HeaderCard("DPR CATG", "CALIB"), HeaderCard("DPR TYPE", "CHOPHOME"),
                                           HeaderCard("INS OPTI10 NAME", "L'")],
                                  startSeconds: 43_200, epochMJD: 60_000)
        let r = try sim.expose(req, stream: RandomStream(key: [23]))
        #expect(r.header.cards.first?.key == "DPR CATG")
        #expect(r.header.double("DET1 DIT") == 10)
        #expect(r.header.string("DATE-OBS") == "2023-02-25T12:00:00.000")
        #expect(r.header.double("MJD-OBS") == 60_000.5)
        #expect(r.durationSeconds == 10 + 1.3)
        #expect(throws: DetectorError.self) { try sim.expose(ExposureRequest(ditSeconds: 0.5, modeName: "SLOW"), stream: RandomStream(key: [1])) }
        #expect(throws: DetectorError.self) { try sim.expose(ExposureRequest(ditSeconds: 1.3, modeName: "MEDIUM"), stream: RandomStream(key: [1])) }
    }
}
