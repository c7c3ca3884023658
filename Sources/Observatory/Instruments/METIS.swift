import SimKernel

/// The SCAO wavefront sensor as the ChopperHome calibration uses it: it sees the K-band reference source
/// before the chopper. A measurement takes `integrationSeconds` and returns the source position (nominal
/// zero, the reference of the chopper home) with N(0, σ) noise per axis (stream "SCAO-WFS.centroid").
/// Both figures are [U] our choice: 10 s, 0.5 mas.
public final class SCAOWFS {
    public var integrationSeconds: Double
    public var centroidSigmaMas: Double
    public let name = "SCAO-WFS"
    public let lane = "SCAO"
    unowned let simulation: Simulation

    public init(_ simulation: Simulation, integrationSeconds: Double = 10, centroidSigmaMas: Double = 0.5) {
        self.simulation = simulation
        self.integrationSeconds = integrationSeconds
        self.centroidSigmaMas = centroidSigmaMas
    }

    /// Measures the K-band reference source position.
    public func measureReference() async throws -> SkyOffset {
        let sim = simulation
        return try await sim.step("SCAO WFS K-band reference", lane: lane, use: .exposure) {
            try await sim.timeout(integrationSeconds)
            let s = sim.stream("\(name).centroid")
            return SkyOffset(xMas: s.gaussian(sigma: centroidSigmaMas), yMas: s.gaussian(sigma: centroidSigmaMas))
        }
    }
}

/// Where the METIS mechanisms are: what a night leaves for the next one.
public struct METISState: Sendable, Equatable {
    /// Device name → position name.
    public var positions: [String: String]
    public var blackbodyKelvin: Double?

    public init(positions: [String: String] = [:], blackbodyKelvin: Double? = nil) {
        self.positions = positions
        self.blackbodyKelvin = blackbodyKelvin
    }
}

/// ELT/METIS: the WCU, the CFO, the LMS pickoff, the LM and N imagers, the chopper and the SCAO WFS, with
/// every position named exactly as in the InternalFlat parameter table (seed 000).
///
/// Device names follow the documents (`WCU-FP2.1`, `WCU-PP1`, `WCU-BB-aperture-mask`, `CFO-PP1`,
/// `CFO-FP2`); devices the documents name only in prose get a name in the same style (`WCU-periscope-arm`,
/// `CFO-PP1-ADC`, `LMS-pickoff`, `IMG-LM-mask`, `IMG-LM-filter`, `IMG-LM-ND`, `IMG-LM-pupil-lens`), and
/// the prose names and the table's labels are accepted as aliases ("LMS beamsplitter pickoff wheel",
/// "CFO FP2 mask/slit wheel", ...).
///
/// Spelling: the ChopperHome text says "Set WCU-PP1 to ELT mask"; the table spells the position
/// `ELT_mask`. The table's spelling is canonical; "ELT mask" (and "WCU mask", "AIV mask") are aliases.
public final class METIS {
    /// A device's definition: name, lane, geometry, positions (table order), aliases, timing.
    public struct DeviceSpec: Sendable, Equatable {
        public var name: String
        public var lane: String
        public var geometry: NamedPositionDevice.Geometry
        public var positions: [String]
        public var initial: String
        public var positionAliases: [String: String]
        public var deviceAliases: [String]
        public var timing: NamedPositionDevice.Parameters

        public init(name: String, lane: String, geometry: NamedPositionDevice.Geometry, positions: [String], initial: String,
                    positionAliases: [String: String] = [:], deviceAliases: [String] = [], timing: NamedPositionDevice.Parameters) {
            self.name = name
            self.lane = lane
            self.geometry = geometry
            self.positions = positions
            self.initial = initial
            self.positionAliases = positionAliases
            self.deviceAliases = deviceAliases
            self.timing = timing
        }
    }

    public struct Parameters: Sendable, Equatable {
        public var devices: [DeviceSpec]
        public var blackbody: Blackbody.Parameters
        public var chopper: Chopper.Parameters

        public init(devices: [DeviceSpec], blackbody: Blackbody.Parameters, chopper: Chopper.Parameters) {
            self.devices = devices
            self.blackbody = blackbody
            self.chopper = chopper
        }

        /// Mechanism timing, all [U] our choice (no public figure): wheels 2 s per slot + 1 s settle; the
        /// periscope arm a 30 s slide + 2 s settle; the BB aperture mask and the pickoff/pupil-lens slides
        /// 5 s + 1 s; jams 1e-4 per move; recovery 120 s.
        static let wheel = NamedPositionDevice.Parameters(secondsPerSlot: 2, settleSeconds: 1, jamProbabilityPerMove: 1e-4, recoverSeconds: 120)
        static let slide = NamedPositionDevice.Parameters(secondsPerSlot: 5, settleSeconds: 1, jamProbabilityPerMove: 1e-4, recoverSeconds: 120)
        static let arm = NamedPositionDevice.Parameters(secondsPerSlot: 30, settleSeconds: 2, jamProbabilityPerMove: 1e-4, recoverSeconds: 120)

        /// Positions from the InternalFlat parameter table (seed 000) exactly as spelled there, plus the
        /// positions the ChopperHome and distortion texts use (`OUT` of the periscope arm, `CLOSE` of the
        /// BB aperture mask). [U] marks positions no document lists: the WCU FP1 grid wheel (irdb mask
        /// names grid_lm, REFERENCES.md §5.3), the other WCU-FP2.1 slots, and every IMG-N position
        /// (mirroring IMG-LM, with the METIS N-band filter names).
        public static let standard = Parameters(
            devices: [
                DeviceSpec(name: "WCU-periscope-arm", lane: "WCU", geometry: .slide, positions: ["OUT", "IN"], initial: "OUT",
                           deviceAliases: ["WCU periscope arm", "periscopic arm"], timing: arm),
                DeviceSpec(name: "WCU-FP1", lane: "WCU", geometry: .wheel, positions: ["OPEN", "grid_lm", "grid_n"], initial: "OPEN",
                           deviceAliases: ["WCU FP1"], timing: wheel),
                DeviceSpec(name: "WCU-FP2.1", lane: "WCU", geometry: .wheel, positions: ["OPEN", "LM-pinhole", "N-pinhole"],
                           initial: "OPEN", deviceAliases: ["WCU FP2.1 mask wheel"], timing: wheel),
                DeviceSpec(name: "WCU-PP1", lane: "WCU", geometry: .wheel, positions: ["WCU_mask", "AIV_mask", "ELT_mask"],
                           initial: "ELT_mask",
                           positionAliases: ["ELT mask": "ELT_mask", "WCU mask": "WCU_mask", "AIV mask": "AIV_mask"],
                           deviceAliases: ["WCU PP1 masks"], timing: wheel),
                DeviceSpec(name: "WCU-BB-aperture-mask", lane: "WCU", geometry: .slide, positions: ["OPEN", "CLOSE"], initial: "CLOSE",
                           deviceAliases: ["WCU BB exit aperture masks"], timing: slide),
                DeviceSpec(name: "CFO-PP1", lane: "CFO", geometry: .wheel, positions: ["PPS-CFO1", "RAP-LM"], initial: "PPS-CFO1",
                           deviceAliases: ["CFO-PP1 mask wheel"], timing: wheel),
                DeviceSpec(name: "CFO-PP1-ADC", lane: "CFO", geometry: .wheel, positions: ["OUT", "ADC-1", "ADC-2"], initial: "OUT",
                           deviceAliases: ["CFO-PP1 ADC wheel"], timing: wheel),
                DeviceSpec(name: "CFO-FP2", lane: "CFO", geometry: .wheel,
                           positions: ["FIELD-11", "FIELD-14", "FIELD-3", "VPM-L", "VPM-M", "PI-MASK", "PNH-1"], initial: "FIELD-11",
                           deviceAliases: ["CFO FP2 mask/slit wheel"], timing: wheel),
                DeviceSpec(name: "LMS-pickoff", lane: "LMS", geometry: .slide, positions: ["OUT", "IN"], initial: "OUT",
                           deviceAliases: ["LMS beamsplitter pickoff wheel"], timing: slide),
                DeviceSpec(name: "IMG-LM-mask", lane: "IMG-LM", geometry: .wheel,
                           positions: ["open", "PPS-LM", "RLS-LM", "CLS-LM", "APP-LM", "SPM-LM"], initial: "SPM-LM",
                           deviceAliases: ["IMG-LM Mask/Grism name", "IMG-LM mask"], timing: wheel),
                DeviceSpec(name: "IMG-LM-filter", lane: "IMG-LM", geometry: .wheel,
                           positions: ["L'", "H2Oice", "shortL", "IB4.05", "PAH3.3", "PAH3.3ref", "Br-alpha", "Br-alpharef", "M'",
                                       "CO(1-0)/ice", "COref", "HCIL-short", "HCIL-long"], initial: "L'",
                           deviceAliases: ["IMG-LM Filter name", "IMG-LM science filter"], timing: wheel),
                DeviceSpec(name: "IMG-LM-ND", lane: "IMG-LM", geometry: .wheel,
                           positions: ["OPEN", "ND1", "ND2", "ND3", "ND4", "ND5", "DARK"], initial: "OPEN",
                           deviceAliases: ["IMG-LM Neutral density filter", "IMG-LM neutral density filter"], timing: wheel),
                DeviceSpec(name: "IMG-LM-pupil-lens", lane: "IMG-LM", geometry: .slide, positions: ["OUT", "IN"], initial: "OUT",
                           deviceAliases: ["IMG-LM pupil imaging lens"], timing: slide),
                DeviceSpec(name: "IMG-N-mask", lane: "IMG-N", geometry: .wheel,
                           positions: ["open", "PPS-N", "RLS-N", "CLS-N", "APP-N", "SPM-N"], initial: "open",
                           deviceAliases: ["IMG-N mask"], timing: wheel),
                DeviceSpec(name: "IMG-N-filter", lane: "IMG-N", geometry: .wheel,
                           positions: ["N1", "N2", "N3", "PAH8.6", "PAH8.6ref", "PAH11.25", "PAH11.25ref", "[NeII]", "[NeII]ref",
                                       "[SIV]", "[SIV]ref"], initial: "N2",
                           deviceAliases: ["IMG-N filter"], timing: wheel),
                DeviceSpec(name: "IMG-N-ND", lane: "IMG-N", geometry: .wheel,
                           positions: ["OPEN", "ND1", "ND2", "ND3", "ND4", "DARK"], initial: "OPEN",
                           deviceAliases: ["IMG-N neutral density filter"], timing: wheel),
                DeviceSpec(name: "IMG-N-pupil-lens", lane: "IMG-N", geometry: .slide, positions: ["OUT", "IN"], initial: "OUT",
                           deviceAliases: ["IMG-N pupil imaging lens"], timing: slide),
            ],
            blackbody: .metisWCU, chopper: .metis)
    }

    /// InternalFlat template keys → devices (seed 000's table). OPTI12–14 and OPTI16 are [U]: the table
    /// skips them; we give them to the IMG-N wheels that mirror OPTI9–11 and OPTI15. OPTI5–8 are not
    /// assigned (no document names what they drive).
    public static let templateKeys: [(key: String, device: String)] = [
        ("INS OPTI1 NAME", "CFO-PP1"), ("INS OPTI2 NAME", "CFO-PP1-ADC"), ("INS OPTI3 NAME", "CFO-FP2"),
        ("INS OPTI4 NAME", "LMS-pickoff"), ("INS OPTI9 NAME", "IMG-LM-mask"), ("INS OPTI10 NAME", "IMG-LM-filter"),
        ("INS OPTI11 NAME", "IMG-LM-ND"), ("INS OPTI12 NAME", "IMG-N-mask"), ("INS OPTI13 NAME", "IMG-N-filter"),
        ("INS OPTI14 NAME", "IMG-N-ND"), ("INS OPTI15 NAME", "IMG-LM-pupil-lens"), ("INS OPTI16 NAME", "IMG-N-pupil-lens"),
        ("INS OPTI17 NAME", "WCU-periscope-arm"), ("INS OPTI18 NAME", "WCU-PP1"), ("INS OPTI19 NAME", "WCU-BB-aperture-mask"),
        ("INS OPTI20 NAME", "WCU-FP2.1"),
    ]

    /// The WCU: periscopic arm, blackbody, BB aperture mask, FP1 grid, FP2.1 mask wheel, PP1 mask.
    public struct WCU {
        public let periscopeArm: NamedPositionDevice
        public let blackbody: Blackbody
        public let bbApertureMask: NamedPositionDevice
        public let fp1: NamedPositionDevice
        public let fp21: NamedPositionDevice
        public let pp1: NamedPositionDevice

        /// The power readout: the blackbody's power through the aperture mask (nothing when CLOSE).
        public var powerReadoutWatts: Double { bbApertureMask.position == "OPEN" ? blackbody.radiatedPowerWatts : 0 }
        public var isPowerDetectable: Bool { powerReadoutWatts > blackbody.parameters.detectableWatts }
    }

    public struct CFO {
        public let pp1MaskWheel: NamedPositionDevice
        public let pp1ADCWheel: NamedPositionDevice
        public let fp2: NamedPositionDevice
    }

    public struct Imager {
        public let mask: NamedPositionDevice
        public let filter: NamedPositionDevice
        public let neutralDensity: NamedPositionDevice
        public let pupilLens: NamedPositionDevice
    }

    public let parameters: Parameters
    public let wcu: WCU
    public let cfo: CFO
    public let lmsPickoff: NamedPositionDevice
    public let imgLM: Imager
    public let imgN: Imager
    public let chopper: Chopper
    public let scaoWFS: SCAOWFS
    /// Device names in definition order.
    public let deviceNames: [String]
    private var devices: [String: NamedPositionDevice] = [:]
    private var aliases: [String: String] = [:]
    unowned let simulation: Simulation

    /// Builds METIS in `state` (default: every device at its table default), e.g. the previous night's.
    public init(_ simulation: Simulation, parameters: Parameters = .standard, state: METISState = METISState()) throws {
        self.simulation = simulation
        self.parameters = parameters
        var built: [String: NamedPositionDevice] = [:]
        var names: [String] = []
        for spec in parameters.devices {
            let d = NamedPositionDevice(simulation, name: spec.name, lane: spec.lane, geometry: spec.geometry,
                                        positions: spec.positions, aliases: spec.positionAliases, initial: spec.initial,
                                        parameters: spec.timing)
            if let p = state.positions[spec.name] { try d.restore(position: p) }
            built[spec.name] = d
            names.append(spec.name)
            for a in spec.deviceAliases { aliases[a] = spec.name }
        }
        for name in state.positions.keys where built[name] == nil {
            throw MotionError.unknownDevice(name, known: names)
        }
        func get(_ name: String) -> NamedPositionDevice {
            guard let d = built[name] else { preconditionFailure("METIS parameters lack device \(name)") }
            return d
        }
        devices = built
        deviceNames = names
        wcu = WCU(periscopeArm: get("WCU-periscope-arm"),
                  blackbody: Blackbody(simulation, name: "WCU-BB", lane: "WCU", parameters: parameters.blackbody, kelvin: state.blackbodyKelvin),
                  bbApertureMask: get("WCU-BB-aperture-mask"), fp1: get("WCU-FP1"), fp21: get("WCU-FP2.1"), pp1: get("WCU-PP1"))
        cfo = CFO(pp1MaskWheel: get("CFO-PP1"), pp1ADCWheel: get("CFO-PP1-ADC"), fp2: get("CFO-FP2"))
        lmsPickoff = get("LMS-pickoff")
        imgLM = Imager(mask: get("IMG-LM-mask"), filter: get("IMG-LM-filter"), neutralDensity: get("IMG-LM-ND"), pupilLens: get("IMG-LM-pupil-lens"))
        imgN = Imager(mask: get("IMG-N-mask"), filter: get("IMG-N-filter"), neutralDensity: get("IMG-N-ND"), pupilLens: get("IMG-N-pupil-lens"))
        chopper = Chopper(simulation, name: "chopper", lane: "chopper", parameters: parameters.chopper)
        scaoWFS = SCAOWFS(simulation)
    }

    /// A device by its name or a documented alias; an unknown name is an error listing the devices.
    public func device(_ name: String) throws -> NamedPositionDevice {
        if let d = devices[name] { return d }
        if let canonical = aliases[name], let d = devices[canonical] { return d }
        throw MotionError.unknownDevice(name, known: deviceNames)
    }

    /// The device an InternalFlat template key (`INS OPTIn NAME`) sets.
    public func device(forTemplateKey key: String) throws -> NamedPositionDevice {
        guard let entry = Self.templateKeys.first(where: { $0.key == key }) else {
            throw MotionError.unknownTemplateKey(key, known: Self.templateKeys.map(\.key))
        }
        return try device(entry.device)
    }

    /// Sets positions by template key (e.g. `["INS OPTI3 NAME": "FIELD-11"]`); every key and value is
    /// checked before anything moves, then the devices move in parallel.
    public func apply(templatePositions: [String: String]) async throws {
        let moves = try templatePositions.sorted { $0.key < $1.key }.map { key, value -> (NamedPositionDevice, String) in
            let d = try device(forTemplateKey: key)
            return (d, try d.canonical(value))
        }
        try await simulation.inParallel("template setup", moves.map { d, p in { try await d.move(to: p) } })
    }

    /// The state to start the next night from.
    public var state: METISState {
        METISState(positions: Dictionary(uniqueKeysWithValues: deviceNames.map { ($0, devices[$0]!.position) }),
                   blackbodyKelvin: wcu.blackbody.temperatureKelvin)
    }
}
