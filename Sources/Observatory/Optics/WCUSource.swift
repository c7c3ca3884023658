/// A METIS filter: its measured transmission curve from the METIS IRDB (`FilterCurve`). The nominal centre
/// and width are the curve's half-maximum midpoint and width; they set the PSF width and the LM/N split only,
/// while the WCU's band integrals use the whole curve.
public struct PassbandFilter: Sendable, Equatable {
    public var name: String
    public var curve: FilterCurve
    public let centralMicrons: Double
    public let widthMicrons: Double

    public init(name: String, curve: FilterCurve) {
        self.name = name; self.curve = curve
        let hm = curve.halfMaximumMicrons
        centralMicrons = (hm.low + hm.high) / 2
        widthMicrons = hm.high - hm.low
    }
    public var lowMicrons: Double { centralMicrons - widthMicrons / 2 }
    public var highMicrons: Double { centralMicrons + widthMicrons / 2 }

    /// ∫ T(λ)·B_λ(T_K) dλ (photons s⁻¹ m⁻² sr⁻¹): a blackbody's photon radiance through the filter.
    public func blackbodyPhotonRadiance(kelvin: Double) -> Double {
        curve.integral { Planck.photonRadiance(wavelengthMicrons: $0, kelvin: kelvin) }
    }

    /// IMG-LM and IMG-N science filters (names as in the InternalFlat template's INS OPTI10 list), each with
    /// its IRDB curve (`AstarVienna/irdb@f0a5f30:METIS/filters/TC_filter_*.dat`, measured curves of
    /// E-LIS-MPIA-MET-1208_1-0, REFERENCES-physics.md §8). Half maxima (µm): L′ 3.539–4.106, M′ 4.496–5.022,
    /// shortL 3.077–3.500, Br-alpha 4.039–4.074, PAH3.3 3.271–3.348, N1 8.081–9.217, N2 10.016–12.423.
    public static let metis: [PassbandFilter] = [
        ("L'", "Lp"), ("M'", "Mp"), ("shortL", "short-L"), ("Br-alpha", "Br_alpha"), ("PAH3.3", "PAH_3.3"),
        ("N1", "N1"), ("N2", "N2"),
        // The other IMG-LM filters of the InternalFlat table (seed 000, INS OPTI10 NAME).
        ("H2Oice", "H2O-ice"), ("IB4.05", "IB_4.05"), ("PAH3.3ref", "PAH_3.3_ref"), ("Br-alpharef", "Br_alpha_ref"),
        ("CO(1-0)/ice", "CO_1-0_ice"), ("COref", "CO_ref"), ("HCIL-short", "HCI_L_short"), ("HCIL-long", "HCI_L_long"),
    ].map { PassbandFilter(name: $0.0, curve: .irdb("filters/TC_filter_\($0.1).dat")) }

    public static func metis(named name: String) throws -> PassbandFilter {
        guard let f = metis.first(where: { $0.name == name }) else {
            throw OpticsError.unknownName(kind: "METIS filter", name: name, allowed: metis.map(\.name))
        }
        return f
    }
}

public enum OpticsError: Error, Equatable, CustomStringConvertible {
    case unknownName(kind: String, name: String, allowed: [String])
    case outOfRange(parameter: String, value: Double, allowed: String)

    public var description: String {
        switch self {
        case .unknownName(let kind, let name, let allowed):
            return "unknown \(kind) '\(name)'; allowed: \(allowed.joined(separator: ", "))"
        case .outOfRange(let p, let v, let allowed):
            return "\(p) = \(v) is out of range; allowed: \(allowed)"
        }
    }
}

/// The IMG-LM / IMG-N neutral-density wheel (INS OPTI11: OPEN ND1 … ND5 DARK): ND n has optical density
/// n, transmission 10⁻ⁿ; DARK is opaque.
public enum NeutralDensity: String, Sendable, CaseIterable {
    case open = "OPEN", nd1 = "ND1", nd2 = "ND2", nd3 = "ND3", nd4 = "ND4", nd5 = "ND5", dark = "DARK"

    public var transmission: Double {
        switch self {
        case .open: return 1
        case .nd1: return 1e-1
        case .nd2: return 1e-2
        case .nd3: return 1e-3
        case .nd4: return 1e-4
        case .nd5: return 1e-5
        case .dark: return 0
        }
    }
}

/// The METIS Warm Calibration Unit's blackbody, integrating sphere and focal-plane masks, as photon
/// rates at a METIS imager (REFERENCES §5.3; the chain follows ScopeSim's `WCUSource`).
///
/// Radiance at the sphere exit: L = ε·a·B̄(T_BB)·(d_in²/4)/d_IS²·M + ε_cav·B̄(T_IS), with B̄ the band
/// integral of the photon radiance, a the flux-control aperture fraction (0 when the BB aperture mask is
/// CLOSE), the flux πd_in²/4·πB entering the sphere spread over its wall area πd_IS², and the sphere
/// multiplication M = ρ/(1 − ρ(1 − f)), f the port fraction (Σ port areas / wall area). The sphere's
/// own emission uses the cavity emissivity ε_cav = (1 − ρ)/(1 − ρ(1 − f)) (an isothermal closed sphere
/// is a blackbody). At the detector: rate per pixel = τ · A_ELT · Ω_px · T_ND · ∫T_filter(λ)·L_λ dλ, the filter
/// the IRDB's measured curve (`PassbandFilter.curve`).
///
/// τ = 0.61 is the product of the IRDB surface lists at L′, weighted by T_L′(λ)·B_λ(1000 K): 7 WCU gold
/// mirrors, the CFO entrance window, 13 CFO gold mirrors, the SCAO dichroic in transmission, 8 IMG-LM gold
/// mirrors and the two IMG dichroic surfaces (`tools/irdb_lm_throughput.py`, REFERENCES-physics.md §8). It
/// excludes pupil masks, the BB→sphere tube and QE. With the L′ curve and ScopeSim's sphere factor M = 19
/// (`includePortsInMultiplication = false`: its `is_multiplication` ends up with f = 0), this chain gives
/// 7.2e8 ph s⁻¹ px⁻¹ at 1000 K, the WCU notebook's figure (REFERENCES §5.3); with the ports counted
/// (f = 0.0426, M = 10.5, the default here) 4.0e8. ScopeSim's own 5.9e8 differs by its TEL.area 1354.593 m²
/// (METIS_WCU.yaml: "TEST, needed to agree with RvB's calculation"), M = 19, the pupil-mask and tube
/// throughputs and QE (REFERENCES-physics.md §8).
public struct WCUSource: Sendable {
    public enum FocalPlaneMask: String, Sendable, CaseIterable {
        case open = "open"
        case lmPinhole = "LM-pinhole"
        case nPinhole = "N-pinhole"
        case gridLM = "grid_lm"

        /// Hole diameter in µm at the WCU focal plane (REFERENCES §5.3: pinhole_lm Ø25 µm, pinhole_n Ø66 µm;
        /// grid_lm holes taken as Ø25 µm [U]).
        public var holeDiameterMicrons: Double? {
            switch self {
            case .open: return nil
            case .lmPinhole, .gridLM: return 25
            case .nPinhole: return 66
            }
        }
    }

    public var blackbodyKelvin = 1000.0           // REFERENCES §5.3 default
    public var emissivity = 0.98                  // REFERENCES §5.3 (E-REP-MPIA-MET-1203)
    /// WCU-BB-aperture-mask: OPEN or CLOSE (the background measurement closes it).
    public var apertureMaskOpen = true
    /// Flux-control aperture, fraction of the BB flux entering the sphere (bb_aperture 0–1, REFERENCES §5.3).
    public var apertureFraction = 1.0
    public var sphereDiameterMM = 250.0           // REFERENCES §5.3
    public var entrancePortDiameterMM = 25.4      // REFERENCES §5.3
    public var exitPortDiameterMM = 100.0         // REFERENCES §5.3
    public var sphereReflectance = 0.95           // REFERENCES §5.3
    public var includePortsInMultiplication = true
    public var sphereKelvin = 300.0               // REFERENCES §5.3 (is_temp)
    public var wcuAmbientKelvin = 300.0           // REFERENCES §5.3 (wcu_temp): the opaque mask's emission
    /// WCU relay and METIS optics to the detector, excluding filter, ND, pupil masks and QE: the IRDB
    /// surface lists' product at L′ (see above) [V]; other filters use the same number (the gold mirrors
    /// are flat to 1 % over 3–5 µm; the dichroics are not: [U] there, 0.5–0.65).
    public var systemThroughput = 0.61
    public var telescopeAreaM2 = 975.234_789_98   // ELT pupil in IRDB, REFERENCES §5.1
    /// WCU focal-plane scale (REFERENCES §5.3: 3.319 mm per arcsec).
    public var focalPlaneMMPerArcsec = 3.319
    public var mask: FocalPlaneMask = .open

    public init() {}

    public static let arcsecPerRadian = 206_264.806_247

    public var portFraction: Double {
        let wall = sphereDiameterMM * sphereDiameterMM      // π d² with the π cancelling below
        return (entrancePortDiameterMM * entrancePortDiameterMM + exitPortDiameterMM * exitPortDiameterMM) / 4 / wall
    }

    public var sphereMultiplication: Double {
        let f = includePortsInMultiplication ? portFraction : 0
        return sphereReflectance / (1 - sphereReflectance * (1 - f))
    }

    /// Band radiance (photons s⁻¹ m⁻² sr⁻¹) at the sphere exit: blackbody light plus sphere emission.
    public func exitRadiance(_ filter: PassbandFilter) -> Double {
        let f = includePortsInMultiplication ? portFraction : 0
        let bb = filter.blackbodyPhotonRadiance(kelvin: blackbodyKelvin)
        let geometry = entrancePortDiameterMM * entrancePortDiameterMM / 4 / (sphereDiameterMM * sphereDiameterMM)
        let lamp = apertureMaskOpen ? emissivity * apertureFraction * bb * geometry * sphereMultiplication : 0
        let cavity = (1 - sphereReflectance) / (1 - sphereReflectance * (1 - f))
        let wall = cavity * filter.blackbodyPhotonRadiance(kelvin: sphereKelvin)
        return lamp + wall
    }

    /// Solid angle on the sky of one pixel (sr).
    static func steradians(squareArcsec: Double) -> Double { squareArcsec / (arcsecPerRadian * arcsecPerRadian) }

    func toDetector(_ radiance: Double, filter: PassbandFilter, nd: NeutralDensity, steradians: Double) -> Double {
        radiance * telescopeAreaM2 * steradians * systemThroughput * nd.transmission
    }

    /// Photon rate per pixel (ph s⁻¹ px⁻¹, before QE) of the flat field seen through the open mask.
    public func flatPhotonsPerSecondPerPixel(filter: PassbandFilter, nd: NeutralDensity, pixelScaleArcsec: Double) -> Double {
        toDetector(exitRadiance(filter), filter: filter, nd: nd,
                   steradians: Self.steradians(squareArcsec: pixelScaleArcsec * pixelScaleArcsec))
    }

    /// Hole diameter on the sky (arcsec) of the current mask.
    public var holeDiameterArcsec: Double? { mask.holeDiameterMicrons.map { $0 / 1000 / focalPlaneMMPerArcsec } }

    /// Total photon rate (ph s⁻¹, before QE) through one hole of the current mask: the hole (Ø25 µm =
    /// 7.5 mas for LM-pinhole) is unresolved at λ/D ≈ 21 mas, so it acts as a point source of flux
    /// L·A·Ω_hole. Zero for the open mask.
    public func pinholePhotonsPerSecond(filter: PassbandFilter, nd: NeutralDensity) -> Double {
        guard let d = holeDiameterArcsec else { return 0 }
        return toDetector(exitRadiance(filter), filter: filter, nd: nd,
                          steradians: Self.steradians(squareArcsec: Double.pi * d * d / 4))
    }

    /// Per-pixel background (ph s⁻¹ px⁻¹) around the holes: the opaque mask's own emission at the WCU
    /// ambient temperature, taken as a blackbody (ScopeSim's "maximum mask emission" assumption).
    public func maskBackgroundPhotonsPerSecondPerPixel(filter: PassbandFilter, nd: NeutralDensity, pixelScaleArcsec: Double) -> Double {
        guard mask != .open else { return 0 }
        let b = filter.blackbodyPhotonRadiance(kelvin: wcuAmbientKelvin)
        return toDetector(b, filter: filter, nd: nd, steradians: Self.steradians(squareArcsec: pixelScaleArcsec * pixelScaleArcsec))
    }
}
