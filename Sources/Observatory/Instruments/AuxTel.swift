import SimKernel

/// LATISS camera timing (REFERENCES.md §3: `base_camera.py`, ATGetStdFlatDataset): shutter open/close
/// 1.0 s, readout 2.0 s. A frame occupies exposure + readout: the shutter's travel falls inside the
/// exposure, which is what the document's PTC total implies (1132.5 s open + 60 × 2.0 s ≈ 1252 s).
public struct LATISSCameraTiming: Sendable, Equatable {
    public var shutterOpenCloseSeconds: Double
    public var readoutSeconds: Double

    public init(shutterOpenCloseSeconds: Double = 1.0, readoutSeconds: Double = 2.0) {
        self.shutterOpenCloseSeconds = shutterOpenCloseSeconds
        self.readoutSeconds = readoutSeconds
    }

    /// Time one frame occupies the camera; a bias is a zero-second exposure.
    public func frameSeconds(exposureSeconds: Double) -> Double { exposureSeconds + readoutSeconds }
}

/// Where the AuxTel mechanisms are: what a night leaves for the next one.
public struct AuxTelState: Sendable, Equatable {
    public var mountAzimuthDegrees: Double
    public var mountElevationDegrees: Double
    public var domeBelievedAzimuthDegrees: Double
    public var domeEncoderErrorDegrees: Double
    public var domeTravelSinceHomeDegrees: Double
    public var filter: String
    public var grating: String

    public init(mountAzimuthDegrees: Double, mountElevationDegrees: Double, domeBelievedAzimuthDegrees: Double,
                domeEncoderErrorDegrees: Double, domeTravelSinceHomeDegrees: Double, filter: String, grating: String) {
        self.mountAzimuthDegrees = mountAzimuthDegrees
        self.mountElevationDegrees = mountElevationDegrees
        self.domeBelievedAzimuthDegrees = domeBelievedAzimuthDegrees
        self.domeEncoderErrorDegrees = domeEncoderErrorDegrees
        self.domeTravelSinceHomeDegrees = domeTravelSinceHomeDegrees
        self.filter = filter
        self.grating = grating
    }

    /// Parked (atcs.py, REFERENCES.md §2.3): mount el 80°, az 0°; dome az 285°; freshly homed encoder;
    /// empty_1 in both wheels [U].
    public static let parked = AuxTelState(mountAzimuthDegrees: 0, mountElevationDegrees: 80, domeBelievedAzimuthDegrees: 285,
                                           domeEncoderErrorDegrees: 0, domeTravelSinceHomeDegrees: 0,
                                           filter: "empty_1", grating: "empty_1")
}

/// The AuxTel telescope with LATISS and its calibration system, addressed by the documents' names.
public final class AuxTel {
    public struct Parameters: Sendable, Equatable {
        public var mount: AltAzMount.Parameters
        public var dome: Dome.Parameters
        public var whiteLight: ATWhiteLight.Parameters
        public var calSys: ATCalSys.Parameters
        public var filters: [String]
        public var gratings: [String]
        public var wheel: NamedPositionDevice.Parameters
        public var camera: LATISSCameraTiming

        public init(mount: AltAzMount.Parameters, dome: Dome.Parameters, whiteLight: ATWhiteLight.Parameters,
                    calSys: ATCalSys.Parameters, filters: [String], gratings: [String],
                    wheel: NamedPositionDevice.Parameters, camera: LATISSCameraTiming) {
            self.mount = mount
            self.dome = dome
            self.whiteLight = whiteLight
            self.calSys = calSys
            self.filters = filters
            self.gratings = gratings
            self.wheel = wheel
            self.camera = camera
        }

        /// Installed elements as the LATISS weekly-calibration document uses them: SDSSr/g/z_65mm and
        /// empty_1 in the filter wheel; empty_1 and SDSSy_65mm in the GRATING wheel (the document installs
        /// SDSSy there), plus holo4_003 and blue300lpmm_qn1 [U: the installation changes; a parameter].
        /// Wheel timing 5 s per slot, settle 2 s, jams 1e-4 per move, recovery 60 s: [U] our choice.
        public static let standard = Parameters(
            mount: .atMount, dome: .atDome, whiteLight: .auxTel, calSys: .auxTel,
            filters: ["SDSSr_65mm", "SDSSg_65mm", "SDSSz_65mm", "empty_1"],
            gratings: ["empty_1", "SDSSy_65mm", "holo4_003", "blue300lpmm_qn1"],
            wheel: .init(secondsPerSlot: 5, settleSeconds: 2, jamProbabilityPerMove: 1e-4, recoverSeconds: 60),
            camera: LATISSCameraTiming())
    }

    /// The FLAT position (prepare_for/flat.py; LATISS document): mount az 188.7°, el 39.0°; dome az 3.0°.
    public static let flatMountAzimuthDegrees = 188.7
    public static let flatMountElevationDegrees = 39.0
    public static let flatDomeAzimuthDegrees = 3.0
    /// "The positioning tolerance for the calibration screen to be aligned with the lamp is 3.0° ± 1.5°."
    public static let screenAlignmentToleranceDegrees = 1.5

    public let parameters: Parameters
    public let atMount: AltAzMount
    public let atDome: Dome
    public let atWhiteLight: ATWhiteLight
    public let atCalSys: ATCalSys
    public let filterWheel: NamedPositionDevice
    public let gratingWheel: NamedPositionDevice
    public var camera: LATISSCameraTiming
    unowned let simulation: Simulation

    /// Builds the assembly in `state` (default: parked), e.g. the state the previous night left.
    public init(_ simulation: Simulation, parameters: Parameters = .standard, state: AuxTelState = .parked) {
        self.simulation = simulation
        self.parameters = parameters
        atMount = AltAzMount(simulation, name: "ATMount", lane: "mount", parameters: parameters.mount,
                             azimuthDegrees: state.mountAzimuthDegrees, elevationDegrees: state.mountElevationDegrees)
        atDome = Dome(simulation, name: "ATDome", lane: "dome", parameters: parameters.dome,
                      believedAzimuthDegrees: state.domeBelievedAzimuthDegrees, encoderErrorDegrees: state.domeEncoderErrorDegrees)
        atDome.restore(believedAzimuthDegrees: state.domeBelievedAzimuthDegrees, encoderErrorDegrees: state.domeEncoderErrorDegrees,
                       travelSinceHomeDegrees: state.domeTravelSinceHomeDegrees)
        atWhiteLight = ATWhiteLight(simulation, name: "ATWhiteLight", lane: "lamp", parameters: parameters.whiteLight)
        atCalSys = ATCalSys(simulation, whiteLight: atWhiteLight, lane: "lamp", parameters: parameters.calSys)
        filterWheel = NamedPositionDevice(simulation, name: "LATISS filter wheel", lane: "wheels", geometry: .wheel,
                                          positions: parameters.filters,
                                          initial: parameters.filters.contains(state.filter) ? state.filter : nil,
                                          parameters: parameters.wheel)
        gratingWheel = NamedPositionDevice(simulation, name: "LATISS grating wheel", lane: "wheels", geometry: .wheel,
                                           positions: parameters.gratings,
                                           initial: parameters.gratings.contains(state.grating) ? state.grating : nil,
                                           parameters: parameters.wheel)
        camera = parameters.camera
    }

    /// The state to start the next night from.
    public var state: AuxTelState {
        AuxTelState(mountAzimuthDegrees: atMount.azimuthDegrees, mountElevationDegrees: atMount.elevationDegrees,
                    domeBelievedAzimuthDegrees: atDome.believedAzimuthDegrees, domeEncoderErrorDegrees: atDome.encoderErrorDegrees,
                    domeTravelSinceHomeDegrees: atDome.travelSinceHomeDegrees,
                    filter: filterWheel.position, grating: gratingWheel.position)
    }

    /// The devices by the names procedures use.
    public var deviceNames: [String] { ["ATMount", "ATDome", "ATWhiteLight", "filter", "grating"] }

    /// A LATISS wheel by the name the scripts' configuration uses ("filter", "grating").
    public func wheel(_ name: String) throws -> NamedPositionDevice {
        switch name {
        case "filter", filterWheel.name: return filterWheel
        case "grating", gratingWheel.name: return gratingWheel
        default: throw MotionError.unknownDevice(name, known: ["filter", "grating"])
        }
    }

    /// The true dome azimuth's offset from the flat-screen azimuth (signed, shortest), degrees.
    public var flatScreenOffsetDegrees: Double {
        Azimuth.shortestDelta(from: Self.flatDomeAzimuthDegrees, to: atDome.trueAzimuthDegrees)
    }

    /// True when the dome really is within 3.0° ± 1.5° (the flat-screen illumination uses the true azimuth).
    public var isScreenAligned: Bool { abs(flatScreenOffsetDegrees) <= Self.screenAlignmentToleranceDegrees }

    /// tel_settle_time (ts_observatory_control base_tcs.py): the wait after an in-position event.
    public static let settleSeconds = 3.0

    /// prepare_for/flat.py → ATCS.prepare_for_flatfield (ts_observatory_control atcs.py), in its order:
    /// dome following off; home_dome only if not homed (the model's dome is homed: its encoder error is
    /// what a homing would clear, handled by the misalignment contingency); dome shutter closed and ATAOS
    /// corrections off/on around the M1 cover (already closed and open for daytime flats: no time);
    /// point_azel to the flat position *without waiting for the dome* — in position, `settleSeconds`, and
    /// a further `settleSeconds` — and only then the dome to 3.0°, in position plus `settleSeconds`. The
    /// dome is re-commanded (up to 4 times) only when it stops outside its in-position tolerance, which
    /// the model's dome never does (Dome.applyMove).
    public func prepareForFlat() async throws {
        let sim = simulation
        try await sim.step("prepare_for/flat", lane: "mount", use: .mechanism) {
            try await self.atMount.slew(azimuthDegrees: Self.flatMountAzimuthDegrees, elevationDegrees: Self.flatMountElevationDegrees)
            try await sim.timeout(2 * Self.settleSeconds)
            try await self.atDome.move(toAzimuth: Self.flatDomeAzimuthDegrees)
            try await sim.timeout(Self.settleSeconds)
        }
    }

    /// Sets the filter and grating wheels (in parallel), as make_latiss_calibrations' `filter`/`grating`.
    public func setInstrument(filter: String, grating: String) async throws {
        _ = try filterWheel.canonical(filter)
        _ = try gratingWheel.canonical(grating)
        try await simulation.inParallel("LATISS setup", [
            { try await self.filterWheel.move(to: filter) },
            { try await self.gratingWheel.move(to: grating) },
        ])
    }
}
