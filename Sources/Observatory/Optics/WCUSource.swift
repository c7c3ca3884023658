/// A filter as a top-hat passband. The METIS filter edges are approximations of the IRDB curves
/// (`AstarVienna/irdb` METIS filters; not read): [U], documented per filter.
public struct PassbandFilter: Sendable, Equatable {
    public var name: String
    public var centralMicrons: Double
    public var widthMicrons: Double
    public var peakTransmission: Double

    public init(name: String, centralMicrons: Double, widthMicrons: Double, peakTransmission: Double = 1) {
        self.name = name; self.centralMicrons = centralMicrons; self.widthMicrons = widthMicrons
        self.peakTransmission = peakTransmission
    }
    public var lowMicrons: Double { centralMicrons - widthMicrons / 2 }
    public var highMicrons: Double { centralMicrons + widthMicrons / 2 }

    /// IMG-LM and IMG-N science filters (names as in the InternalFlat template's INS OPTI10 list).
    /// Central wavelengths and widths [U]: L′ 3.50–4.10 µm, M′ 4.50–5.10 µm, shortL 2.95–3.35 µm,
    /// Br-alpha 4.03–4.08 µm, PAH3.3 3.27–3.32 µm, N1 8.1–9.3 µm, N2 10.1–12.3 µm (the N band).
    public static let metis: [PassbandFilter] = [
        PassbandFilter(name: "L'", centralMicrons: 3.80, widthMicrons: 0.60),
        PassbandFilter(name: "M'", centralMicrons: 4.80, widthMicrons: 0.60),
        PassbandFilter(name: "shortL", centralMicrons: 3.15, widthMicrons: 0.40),
        PassbandFilter(name: "Br-alpha", centralMicrons: 4.055, widthMicrons: 0.05),
        PassbandFilter(name: "PAH3.3", centralMicrons: 3.295, widthMicrons: 0.05),
        PassbandFilter(name: "N1", centralMicrons: 8.70, widthMicrons: 1.20),
        PassbandFilter(name: "N2", centralMicrons: 11.20, widthMicrons: 2.20),
        // The other IMG-LM filters of the InternalFlat table (seed 000, INS OPTI10 NAME). All [U]
        // approximations of the METIS filter list (the IRDB curves were not read).
        PassbandFilter(name: "H2Oice", centralMicrons: 3.05, widthMicrons: 0.20),
        PassbandFilter(name: "IB4.05", centralMicrons: 4.05, widthMicrons: 0.06),
        PassbandFilter(name: "PAH3.3ref", centralMicrons: 3.225, widthMicrons: 0.05),
        PassbandFilter(name: "Br-alpharef", centralMicrons: 4.005, widthMicrons: 0.05),
        PassbandFilter(name: "CO(1-0)/ice", centralMicrons: 4.66, widthMicrons: 0.10),
        PassbandFilter(name: "COref", centralMicrons: 4.565, widthMicrons: 0.05),
        PassbandFilter(name: "HCIL-short", centralMicrons: 3.60, widthMicrons: 0.20),
        PassbandFilter(name: "HCIL-long", centralMicrons: 3.90, widthMicrons: 0.20),
    ]

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
/// is a blackbody). At the detector: rate per pixel = L · A_ELT · Ω_px · τ · T_filter · T_ND.
///
/// The notebook figure "1000 K BB, open mask → ≈ 7.2e8 ph s⁻¹ px⁻¹ on LM" (REFERENCES §5.3): ScopeSim's
/// `is_multiplication` ends up with f = 0 (its port-fraction branch only runs for nport = 0), M = ρ/(1−ρ)
/// = 19. With `includePortsInMultiplication = false` this model uses the same M = 19 and gives
/// 7.2e8 in L′ with the default τ = 0.55 [U, chosen for that agreement]; with the ports counted
/// (f = 0.0426 for the 25.4 and 100 mm ports, M = 10.5, the default here) the same chain gives 4.0e8:
/// the difference is only the sphere multiplication.
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
    /// BB→sphere tube, WCU relay and METIS optics to the detector, excluding filter and ND: [U] (see above).
    public var systemThroughput = 0.55
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
        let bb = Planck.bandPhotonRadiance(fromMicrons: filter.lowMicrons, toMicrons: filter.highMicrons, kelvin: blackbodyKelvin)
        let geometry = entrancePortDiameterMM * entrancePortDiameterMM / 4 / (sphereDiameterMM * sphereDiameterMM)
        let lamp = apertureMaskOpen ? emissivity * apertureFraction * bb * geometry * sphereMultiplication : 0
        let cavity = (1 - sphereReflectance) / (1 - sphereReflectance * (1 - f))
        let wall = cavity * Planck.bandPhotonRadiance(fromMicrons: filter.lowMicrons, toMicrons: filter.highMicrons, kelvin: sphereKelvin)
        return lamp + wall
    }

    /// Solid angle on the sky of one pixel (sr).
    static func steradians(squareArcsec: Double) -> Double { squareArcsec / (arcsecPerRadian * arcsecPerRadian) }

    func toDetector(_ radiance: Double, filter: PassbandFilter, nd: NeutralDensity, steradians: Double) -> Double {
        radiance * telescopeAreaM2 * steradians * systemThroughput * filter.peakTransmission * nd.transmission
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
        let b = Planck.bandPhotonRadiance(fromMicrons: filter.lowMicrons, toMicrons: filter.highMicrons, kelvin: wcuAmbientKelvin)
        return toDetector(b, filter: filter, nd: nd, steradians: Self.steradians(squareArcsec: pixelScaleArcsec * pixelScaleArcsec))
    }
}
