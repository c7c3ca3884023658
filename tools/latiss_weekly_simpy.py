#!/usr/bin/env python3
"""The LATISS weekly calibrations (Scenarios/latiss-weekly.yaml) as a SimPy 4.1.2 model, written the way a
user of SimPy would write it, to measure Obsim against "the same procedure in SimPy" (docs/performance.md,
"Against a SimPy model of the same procedure").

It is a cross-check, not part of the product: the block files, the contingency and the study settings are
read from the scenario and its Sequences/ files; the model constants (timing, lamp, dome, mount, wheels,
flat screen, detector) are Obsim's code defaults, each with the Swift file it comes from, because the
scenario does not restate them. Random numbers come from one numpy Generator per trial, seeded by
(seed, trial); Obsim keys its own named streams, so the two agree in distribution, not draw for draw.

With a Python that has simpy 4.1.2, numpy, scipy and PyYAML (tools/bench-latiss-vs-simpy.sh makes one in
~/.cache/obsim-simpy-venv):

    python tools/latiss_weekly_simpy.py --fidelity timing --trials 2000 --csv simpy-timing.csv
    python tools/latiss_weekly_simpy.py --fidelity timing --trials 2000 --check OBSIM_REPORT/trials.csv
    python tools/latiss_weekly_simpy.py --steps-check TRACE.txt       # an `obsim trace` output
    python tools/latiss_weekly_simpy.py --fidelity roi-statistics --trials 1000 --bench [--lean]
"""

import argparse
import contextlib
import json
import math
import os
import resource
import sys

import numpy as np
import simpy
import yaml

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# --- Obsim's model defaults ---------------------------------------------------------------------------
# Sources/Observatory/Instruments/LATISSControlTiming.swift (LATISSControlTiming.latiss) and
# LATISSTimingKeys.swift: the instrument.timing.* keys a scenario may override.
TIMING_DEFAULTS = {
    "timing.readout": 2.0, "timing.image_overhead": 2.0, "timing.image_overhead_sd": 0.5,
    "timing.oods_wait": 8.0, "timing.oods_wait_sd": 4.0, "timing.verification_job": 90.0,
    "timing.verification_job_sd": 30.0, "timing.background_verification": True,
    "timing.lamp_ignition": 8.0, "timing.lamp_ignition_sd": 4.0, "timing.chiller_time_constant": 60.0,
    "timing.lamp_shutter_move": 3.0,
}
OODS_TIMEOUT = 120.0
BACKGROUND_TASK_TIMEOUT = 30.0
# Sources/Observatory/Thermal/WhiteLight.swift (ATWhiteLight.Parameters.auxTel, ATCalSys.Parameters.auxTel).
LAMP = dict(transition=1.0, ambient=25.0, set_point=20.0, relative_tolerance=0.2, telemetry=7.0,
            max_lamp_on_delay=25.0, retry_sleep=60.0, max_attempts=3, warmup=900.0, cooldown=900.0,
            light_off=2.0, chiller_timeout=900.0, warmup_timeout=1200.0, shutter_timeout=180.0)
FAULT_DEFAULTS = {"lamp_ignition_failure": 0.1, "shutter_stuck": 0.001, "wheel_jam": 1e-4}
FLUX_SPREAD_DEFAULTS = {"lamp.bulb_flux_spread": 0.02, "lamp.warmup_flux_spread": 0.005}
# Sources/Observatory/Motion/Dome.swift (Dome.Parameters.atDome), AltAzMount.swift (atMount).
DOME = dict(v=6.0, a=3.0, settle=1.0, tolerance=0.5, stop_sigma=0.1, drift=0.02, home_az=10.0, home_speed=1.0,
            overshoot=1.0, switch_window=0.2, reverse_delay=4.0, home_sleep=5.0)
MOUNT = dict(v=5.0, a=3.0, az_limits=(-270.0, 270.0), el_limits=(5.0, 90.0), settle=3.0)
# Sources/Observatory/Instruments/AuxTel.swift: parked state, FLAT position, tel_settle_time, wheels.
PARKED = dict(mount_az=0.0, mount_el=80.0, dome_az=285.0, filter="empty_1", grating="empty_1")
FLAT_MOUNT_AZ, FLAT_MOUNT_EL, FLAT_DOME_AZ, TEL_SETTLE = 188.7, 39.0, 3.0, 3.0
WHEEL = dict(seconds_per_slot=5.0, settle=2.0, recover=60.0)
FILTER_WHEEL = ["SDSSr_65mm", "SDSSg_65mm", "SDSSz_65mm", "empty_1"]
GRATING_WHEEL = ["empty_1", "SDSSy_65mm", "holo4_003", "blue300lpmm_qn1", "BG40_65mm", "OG550_65mm"]
# Sources/Observatory/Optics/ATFlatScreen.swift.
SCREEN = dict(sdssr_rate=5971.0, lamp_az=3.0, tolerance=1.5, falloff=0.5, stray=0.005, warming_start=0.6)
THROUGHPUT = {"SDSSr_65mm": 1.0, "SDSSg_65mm": 0.8, "SDSSz_65mm": 1.6, "SDSSy_65mm": 0.15, "empty_1": 4.5,
              "BG40_65mm": 1.3, "OG550_65mm": 2.2}
# Sources/Observatory/Detector/DetectorPresets.swift (latissITL3800).
GAINS = np.array([1.062, 1.075, 1.083, 1.090, 1.097, 1.105, 1.071, 1.079,
                  1.047, 1.066, 1.088, 1.094, 1.078, 1.084, 1.069, 1.092])
READ_NOISE = np.array([8.6, 9.1, 8.3, 9.8, 10.3, 8.9, 9.4, 8.0, 9.2, 8.7, 9.9, 8.4, 9.6, 8.8, 10.1, 9.0])
FULL_WELL = 133_000.0
NONLINEARITY = 0.01 / FULL_WELL          # f(e) = e - c e^2: 1 % compression at full well
DARK_CURRENT, QE, PRNU_SIGMA = 0.01, 0.90, 0.005
AMP_W, AMP_H = 509, 2000
# Sources/Procedures/LATISS/LATISS.swift (the procedure's parameters).
PROCEDURE_DEFAULTS = {"bias_dark_limit": 10.0, "flat_limit": 30_000.0, "nights_since_home": 7,
                      "nightly_dome_travel": 720.0}
# CSCs (Sources/Procedures/LATISS/LATISSCSCs.swift): initial states and the groups asserted ENABLED.
ATCS_GROUP = ["ATMCS", "ATPtg", "ATAOS", "ATPneumatics", "ATHexapod", "ATDome", "ATDomeTrajectory"]
LATISS_GROUP = ["ATCamera", "ATSpectrograph", "ATHeaderService", "ATOODS"]
CSC_INITIAL = dict([(n, "STANDBY") for n in ["ATWhiteLight", "OCPS:1", "Electrometer:201", "FiberSpectrograph:3"]]
                   + [(n, "ENABLED") for n in ATCS_GROUP + LATISS_GROUP])
CSC_ORDER = ["OFFLINE", "STANDBY", "DISABLED", "ENABLED"]
STEP_SEPARATOR = " \u203a "              # Obsim's step-path separator in summary.json


def parse_quantity(v):
    """A scenario number, bare or with a unit ("300 s", "2 h", "10000 adu"), in seconds or ADU."""
    if isinstance(v, (int, float)):
        return float(v)
    number, _, unit = str(v).strip().partition(" ")
    scale = {"": 1, "s": 1, "min": 60, "h": 3600, "adu": 1, "deg": 1}[unit.strip().lower()]
    return float(number) * scale


def script_key(name):
    """Block files name scripts with `.py` and a folder (auxtel/make_latiss_calibrations.py)."""
    base = name[:-3] if name.endswith(".py") else name
    return base.rsplit("/", 1)[-1]


def exposure_list(params, key, default, count, discards):
    """make_latiss_calibrations' exposure times, discards first (MakeLATISSCalibrations.times)."""
    raw = params.get(key, default)
    times = [parse_quantity(t) for t in (raw if isinstance(raw, list) else [raw])]
    total = count + discards
    if len(times) == 1:
        return times * total
    if raw is default:
        return [times[min(k, len(times) - 1)] for k in range(total)]
    if len(times) == total:
        return times
    if len(times) == count:
        return [times[0]] * discards + times
    raise ValueError(f"{key}: {len(times)} exposure times for {count} images")


DEFAULT_DARK_TIMES = [5.0] * 5 + [15.0] * 2 + [30.0] * 16


def ptc_pairs(times, tolerance=5e-3):
    """Equal-time flat pairs, first come first paired (PhotonTransferCurve.pairIndices)."""
    used = [False] * len(times)
    pairs = []
    for i in range(len(times)):
        if used[i]:
            continue
        for j in range(i + 1, len(times)):
            if not used[j] and abs(times[j] - times[i]) <= tolerance:
                used[i] = used[j] = True
                pairs.append((i, j))
                break
    return pairs


def load_action(script):
    """One script of a block file as the dict the trial runs."""
    kind = script_key(script["name"])
    p = script.get("parameters", {}) or {}
    a = {"kind": kind}
    if kind == "set_summary_state":
        a["targets"] = [(row[0], row[1]) for row in p["data"]]
    elif kind == "make_latiss_calibrations":
        mode = p.get("script_mode", "BIAS_DARK_FLAT")
        f, g = p.get("filter"), p.get("grating")
        if f is not None and f != "empty_1":
            set_name = f
        elif g is not None:
            set_name = g
        elif f is not None:
            set_name = f
        else:
            set_name = mode
        nb, nd, nf = (int(p.get(k, 1)) for k in ("n_discard_bias", "n_discard_dark", "n_discard_flat"))
        a.update(step=f"make_latiss_calibrations {set_name}", filter=f, grating=g,
                 darks=mode != "BIAS", flats=mode == "BIAS_DARK_FLAT",
                 bias_discards=nb, bias_count=int(p.get("n_bias", 20)) + nb,
                 dark_discards=nd, dark_times=exposure_list(p, "exp_times_dark", DEFAULT_DARK_TIMES, int(p.get("n_dark", 22)), nd),
                 flat_discards=nf, flat_times=exposure_list(p, "exp_times_flat", [5.0], int(p.get("n_flat", 20)), nf))
    elif kind == "take_image_latiss":
        raw = p["exp_times"]
        times = [parse_quantity(t) for t in (raw if isinstance(raw, list) else [raw])]
        if "nimages" in p and len(times) == 1:
            times = times * int(p["nimages"])
        a.update(image_type=p["image_type"], times=times, filter=p.get("filter"), grating=p.get("grating"),
                 step="take_image_latiss " + p.get("reason", p["image_type"]))
        a["pairs"] = ptc_pairs(times) if p["image_type"] == "FLAT" else []
    elif kind not in ("power_on_atcalsys", "power_off_atcalsys", "flat", "home_dome", "stop_tracking"):
        raise ValueError(f"script {script['name']} is not in this model")
    return a


def find_sequence(scenario_dir, name):
    for folder in (scenario_dir, os.path.join(scenario_dir, "Sequences"), os.path.join(scenario_dir, "..", "Sequences")):
        for ext in (".json", ".yaml", ".yml"):
            path = os.path.join(folder, name + ext)
            if os.path.exists(path):
                return path
    raise FileNotFoundError(f"sequence {name} not found beside {scenario_dir}")


def load_scenario(path):
    """The scenario and its block files, as plain data the trials read."""
    with open(path) as fh:
        sc = yaml.safe_load(fh)
    folder = os.path.dirname(os.path.abspath(path))
    blocks = []
    for name in sc["run"]:
        with open(find_sequence(folder, name)) as fh:
            seq = yaml.safe_load(fh)      # JSON is YAML
        # A block is known by its `program` (BLOCK-295-today.json is BLOCK-295), as Obsim's SequenceFile.id.
        block_id = seq.get("program", name)
        blocks.append({"id": block_id, "step": f"{block_id} {seq['name']}", "actions": [load_action(s) for s in seq["scripts"]]})
    contingencies = []
    for c in sc.get("contingencies", []) or []:
        when = dict(c.get("when", {}) or {})
        if "exp_time" in when:
            when["exp_time"] = parse_quantity(when["exp_time"])
        report = c.get("report")
        contingencies.append({
            "name": c["name"], "when": when, "below": parse_quantity(c["below"]),
            "report_step": report["step"] if report else None,
            "report_seconds": parse_quantity(report.get("time", 0)) if report else 0.0,
            "actions": [load_action(s) for s in c.get("scripts", []) or []],
            "max_restarts": int(c.get("max_restarts", 2)), "on_restart_limit": list(c.get("on_restart_limit", []) or []),
        })
    # Scenario instrument keys nest (`detector: {roi_size: 64}`); Obsim names them by dotted path.
    instrument = {}
    def flatten(d, prefix=""):
        for k, v in d.items():
            if isinstance(v, dict):
                flatten(v, prefix + k + ".")
            else:
                instrument[prefix + k] = v
    flatten(sc.get("instrument", {}) or {})
    timing = {k: instrument.get(k, v) for k, v in TIMING_DEFAULTS.items()}
    timing = {k: (v if isinstance(v, bool) else parse_quantity(v)) for k, v in timing.items()}
    faults = dict(FAULT_DEFAULTS)
    for k, v in (sc.get("faults", {}) or {}).items():
        faults[k] = float(v["probability"] if isinstance(v, dict) else v)
    params = dict(PROCEDURE_DEFAULTS)
    for k, v in (sc.get("parameters", {}) or {}).items():
        if k not in PROCEDURE_DEFAULTS:
            raise ValueError(f"parameter {k} is not in this model (a one-week run: {', '.join(PROCEDURE_DEFAULTS)})")
        params[k] = int(v) if k == "nights_since_home" else parse_quantity(v)
    unmodelled = [k for k in instrument if k not in TIMING_DEFAULTS and k not in FLUX_SPREAD_DEFAULTS
                  and k not in ("preset", "detector.roi_size", "filter_wheel", "grating_wheel")]
    if unmodelled:
        raise ValueError(f"instrument keys not in this model: {', '.join(unmodelled)}")
    study = sc.get("study", {}) or {}
    return {
        "name": sc["name"], "blocks": blocks, "contingencies": contingencies, "timing": timing, "faults": faults,
        "flux": {k: float(instrument.get(k, v)) for k, v in FLUX_SPREAD_DEFAULTS.items()},
        "roi": int(instrument.get("detector.roi_size", 256)), "params": params,
        "filter_wheel": list(instrument.get("filter_wheel", FILTER_WHEEL)),
        "grating_wheel": list(instrument.get("grating_wheel", GRATING_WHEEL)),
        "trials": int(study.get("trials", 1000)), "seed": int(study.get("seed", 0)),
        "fidelity": study.get("detector", "timing"),
        "deadline": parse_quantity(study["deadline"]) if "deadline" in study else None,
    }


# --- geometry and kinematics (AxisKinematics.swift, infinite jerk) ------------------------------------

def move_seconds(distance, v, a):
    d = abs(distance)
    if d == 0:
        return 0.0
    if d < v * v / a:
        return 2 * math.sqrt(d / a)
    return 2 * v / a + (d - v * v / a) / v


def normalized(deg):
    r = math.fmod(deg, 360.0)
    return r + 360.0 if r < 0 else r


def shortest_delta(frm, to):
    d = normalized(to - frm)
    return d - 360.0 if d > 180 else d


class Abort(Exception):
    """Ends the trial with outcome aborted_<cause>, as Obsim's ProcedureAbort does."""

    def __init__(self, cause):
        super().__init__(cause)
        self.cause = cause


class WheelJam(Exception):
    pass


class Model:
    """What every trial shares: the scenario's settings and the detector constants derived from them."""

    def __init__(self, sc, fidelity, lean=False):
        self.sc = sc
        self.fidelity = fidelity
        self.lean = lean
        t = sc["timing"]
        self.readout = t["timing.readout"]
        self.overhead = self.gamma_params(t["timing.image_overhead"], t["timing.image_overhead_sd"])
        self.oods = self.gamma_params(t["timing.oods_wait"], t["timing.oods_wait_sd"])
        self.job = self.gamma_params(t["timing.verification_job"], t["timing.verification_job_sd"])
        self.ignition = self.gamma_params(t["timing.lamp_ignition"], t["timing.lamp_ignition_sd"])
        self.background = bool(t["timing.background_verification"])
        self.chiller_tau = t["timing.chiller_time_constant"]
        self.shutter_move = t["timing.lamp_shutter_move"]
        # The bias the ISR subtracts: the amplifier's bias plane averaged over its ROI (Amplifier.biasMoments).
        roi = sc["roi"]
        cx = (AMP_W - roi) // 2 + (roi - 1) / 2
        cy = (AMP_H - roi) // 2 + (roi - 1) / 2
        self.bias_mean = np.array([22_000 + 150 * ((i * 7) % 11) - 750 + 1e-3 * cx - 5e-4 * cy for i in range(16)])
        self.bias_var = (1e-3 ** 2 + 5e-4 ** 2) * (roi * roi - 1) / 12
        self.npix = roi * roi
        self.g2 = GAINS * GAINS
        self.rn2 = READ_NOISE * READ_NOISE

    @staticmethod
    def gamma_params(mean, sd):
        """Obsim's DurationDistribution: Gamma of the given mean and sd; a constant when sd or mean is 0."""
        if sd <= 0 or mean <= 0:
            return (None, max(0.0, mean))
        return (mean * mean / (sd * sd), sd * sd / mean)


def draw(rng, dist):
    shape, scale = dist
    return scale if shape is None else rng.gamma(shape, scale)


def clipped_moments(lam):
    """Mean, variance and clipped fraction (e-) of min(f(e), FW) for Poisson-like e of mean lam
    (DetectorSimulator.clippedMoments: delta method for f, a Gaussian censored at full well)."""
    c = NONLINEARITY
    mu = lam - c * lam * lam - c * lam
    sigma = abs(1 - 2 * c * lam) * math.sqrt(lam)
    if sigma == 0:
        return min(mu, FULL_WELL), 0.0, 1.0 if mu >= FULL_WELL else 0.0
    z = (FULL_WELL - mu) / sigma
    phi = math.exp(-0.5 * z * z) / math.sqrt(2 * math.pi)
    cdf = 0.5 * math.erfc(-z / math.sqrt(2))
    q = 0.5 * math.erfc(z / math.sqrt(2))
    m1 = mu * cdf - sigma * phi + FULL_WELL * q
    m2 = (mu * mu + sigma * sigma) * cdf - sigma * (mu + FULL_WELL) * phi + FULL_WELL * FULL_WELL * q
    return m1, max(0.0, m2 - m1 * m1), q


class Trial:
    """One trial: the operator running the blocks (one SimPy process), the two wheels moving in parallel
    processes, the devices as SimPy resources, steps recorded as (name, lane, start, end, parent)."""

    def __init__(self, model, rng):
        self.m = model
        sc = model.sc
        self.rng = rng
        self.env = env = simpy.Environment()
        self.steps = []
        self.csc = dict(CSC_INITIAL)
        # Devices that Obsim guards with a Resource: one move at a time each.
        self.mount_res, self.dome_res, self.lamp_res = simpy.Resource(env, 1), simpy.Resource(env, 1), simpy.Resource(env, 1)
        self.wheels = {
            "filter": {"name": "LATISS filter wheel", "slots": sc["filter_wheel"], "pos": PARKED["filter"], "jammed": False,
                       "res": simpy.Resource(env, 1)},
            "grating": {"name": "LATISS grating wheel", "slots": sc["grating_wheel"], "pos": PARKED["grating"], "jammed": False,
                        "res": simpy.Resource(env, 1)},
        }
        self.mount_az, self.mount_el = PARKED["mount_az"], PARKED["mount_el"]
        # A week of dome use since the last homing, in closed form (LATISSRun.nightsOfDomeUse).
        travel = sc["params"]["nights_since_home"] * sc["params"]["nightly_dome_travel"]
        self.dome_believed = PARKED["dome_az"]
        self.dome_error = rng.normal(0.0, DOME["drift"] * math.sqrt(travel)) if travel > 0 else 0.0
        # The lamp: chiller, shutter, lamp state; this bulb's flux factor.
        self.chiller_start = self.chiller_target = LAMP["ambient"]
        self.chiller_since = 0.0
        self.chiller_running = False
        self.shutter_open = False
        self.lamp_on_since = None
        self.lamp_cooling_since = None
        self.bulb = self.unit_lognormal(sc["flux"]["lamp.bulb_flux_spread"])
        self.warmup_flux = 1.0
        # The operator's watch and what the trial measures.
        self.triggered = None
        self.pending, self.watched = [], []
        self.restarts = self.contingencies = 0
        self.contingency_seconds = 0.0
        self.flat_limit_reports = 0
        self.ptc = {}
        self.any_aborted = False
        self.aborted_steps = set()

    def hold(self, resource):
        """A device's resource request; with --lean none: only one process ever uses each device, so the
        request never waits and a user who knows that may leave the resources out."""
        return contextlib.nullcontext() if self.m.lean else resource.request()

    # steps --------------------------------------------------------------------------------------------
    def begin(self, name, lane, parent):
        # The end stays None while the step runs: an abort closes the open ones.
        self.steps.append([name, lane, self.env.now, None, parent])
        return len(self.steps) - 1

    def end(self, i):
        self.steps[i][3] = self.env.now

    def unit_lognormal(self, spread):
        if spread <= 0:
            return 1.0
        s2 = math.log1p(spread * spread)
        return self.rng.lognormal(-s2 / 2, math.sqrt(s2))

    # CSCs ---------------------------------------------------------------------------------------------
    def require_enabled(self, names):
        for n in names:
            if self.csc[n] != "ENABLED":
                raise Abort("csc_state")

    def set_summary_state(self, csc, target, parent):
        lane = "lamp" if csc == "ATWhiteLight" else csc.split(":")[0]
        i = self.begin(f"set_summary_state {csc} {target}", lane, parent)
        cur = self.csc[csc]
        if cur == "OFFLINE":
            raise Abort("csc_state")
        a, b = CSC_ORDER.index(cur), CSC_ORDER.index(target)
        for k in (range(a + 1, b + 1) if a < b else range(a - 1, b - 1, -1)):
            yield self.env.timeout(LAMP["transition"])
            self.csc[csc] = CSC_ORDER[k]
        self.end(i)

    # ATWhiteLight and ATCalSys ------------------------------------------------------------------------
    def chiller_celsius(self):
        step = self.chiller_target - self.chiller_start
        elapsed = self.env.now - self.chiller_since
        if step == 0 or elapsed <= 0:
            return self.chiller_target if elapsed > 0 else self.chiller_start
        return self.chiller_target - step * math.exp(-elapsed / self.m.chiller_tau)

    def lamp_state(self):
        if self.lamp_on_since is not None:
            return "on"
        if self.lamp_cooling_since is not None and self.env.now < self.lamp_cooling_since + LAMP["cooldown"]:
            return "cooling"
        return "off"

    def lamp_enabled(self):
        if self.csc["ATWhiteLight"] != "ENABLED":
            raise Abort("csc_state")

    def move_shutter(self, is_open, parent):
        env = self.env
        i = self.begin(f"ATWhiteLight shutter {'open' if is_open else 'close'}", "lamp", parent)
        self.lamp_enabled()
        if self.shutter_open != is_open:
            if self.rng.random() < self.m.sc["faults"]["shutter_stuck"]:
                yield env.timeout(LAMP["shutter_timeout"])
                raise Abort("shutter_stuck")
            if self.m.shutter_move > LAMP["shutter_timeout"]:
                yield env.timeout(LAMP["shutter_timeout"])
                raise Abort("shutter_stuck")
            yield env.timeout(self.m.shutter_move)
            self.shutter_open = is_open
        self.end(i)

    def power_on(self, parent):
        env = self.env
        top = self.begin("power_on_atcalsys", "lamp", parent)
        self.lamp_enabled()
        self.chiller_start, self.chiller_target, self.chiller_since = self.chiller_celsius(), LAMP["set_point"], env.now
        self.chiller_running = True
        i = self.begin("ATWhiteLight chiller to set point", "lamp", top)
        tolerance = max(LAMP["relative_tolerance"] * abs(self.chiller_target), 1e-9)
        step = abs(self.chiller_target - self.chiller_start)
        ready = self.m.chiller_tau * math.log(step / tolerance) if step > tolerance else 0.0
        ready_at = self.chiller_since + math.ceil(ready / LAMP["telemetry"]) * LAMP["telemetry"]
        deadline = env.now + LAMP["chiller_timeout"]
        if ready_at > deadline:
            yield env.timeout(LAMP["chiller_timeout"])
            raise Abort("atcalsys")
        if ready_at > env.now:
            yield env.timeout(ready_at - env.now)
        self.end(i)
        yield from self.move_shutter(True, top)
        commanded = env.now
        yield from self.lamp_ignition(top)
        i = self.begin("ATWhiteLight lamp warm-up", "lamp", top)
        if self.lamp_state() != "on":
            raise Abort("atcalsys")
        warm = self.lamp_on_since + LAMP["warmup"]
        limit = max(0.0, LAMP["warmup_timeout"] - (env.now - commanded))
        if warm > env.now + limit:
            yield env.timeout(limit)
            raise Abort("atcalsys")
        if warm > env.now:
            yield env.timeout(warm - env.now)
        self.end(i)
        self.end(top)

    def lamp_ignition(self, parent):
        env, rng = self.env, self.rng
        i = self.begin("ATWhiteLight lamp ignition", "lamp", parent)
        with self.hold(self.lamp_res) as req:
            if req is not None:
                yield req
            self.lamp_enabled()
            state = self.lamp_state()
            if state == "on":
                self.end(i)
                return
            if state == "cooling" or not self.chiller_running:
                raise Abort("atcalsys")
            p_fail = self.m.sc["faults"]["lamp_ignition_failure"]
            for attempt in range(1, LAMP["max_attempts"] + 1):
                commanded = env.now
                if not rng.random() < p_fail:
                    yield env.timeout(min(draw(rng, self.m.ignition), LAMP["max_lamp_on_delay"]))
                    self.lamp_on_since, self.lamp_cooling_since = commanded, None
                    self.warmup_flux = self.unit_lognormal(self.m.sc["flux"]["lamp.warmup_flux_spread"])
                    self.end(i)
                    return
                yield env.timeout(LAMP["max_lamp_on_delay"])
                if attempt < LAMP["max_attempts"]:
                    yield env.timeout(LAMP["retry_sleep"])
            raise Abort("lamp_ignition")

    def power_off(self, parent):
        env = self.env
        top = self.begin("power_off_atcalsys", "lamp", parent)
        i = self.begin("ATWhiteLight lamp off", "lamp", top)
        with self.hold(self.lamp_res) as req:
            if req is not None:
                yield req
            self.lamp_enabled()
            if self.lamp_state() == "on":
                if env.now < self.lamp_on_since + LAMP["warmup"]:
                    raise Abort("atcalsys")
                commanded = env.now
                yield env.timeout(LAMP["light_off"])
                self.lamp_on_since, self.lamp_cooling_since = None, commanded
        self.end(i)
        yield from self.move_shutter(False, top)
        i = self.begin("ATWhiteLight lamp cool-down", "lamp", top)
        if self.lamp_state() == "cooling":
            yield env.timeout(self.lamp_cooling_since + LAMP["cooldown"] - env.now)
        self.end(i)
        self.lamp_enabled()
        self.chiller_start, self.chiller_target, self.chiller_since = self.chiller_celsius(), LAMP["ambient"], env.now
        self.chiller_running = False
        self.end(top)

    # mount and dome -----------------------------------------------------------------------------------
    def prepare_for_flat(self, parent):
        env = self.env
        self.require_enabled(ATCS_GROUP)
        top = self.begin("prepare_for/flat", "mount", parent)
        i = self.begin(f"ATMount slew to az {FLAT_MOUNT_AZ!r} el {FLAT_MOUNT_EL!r}", "mount", top)
        with self.hold(self.mount_res) as req:
            if req is not None:
                yield req
            lo, hi = MOUNT["az_limits"]
            base = normalized(FLAT_MOUNT_AZ)
            best = None
            for k in (-2, -1, 0, 1, 2):
                c = base + 360 * k
                if lo <= c <= hi and (best is None or abs(c - self.mount_az) < abs(best - self.mount_az)):
                    best = c
            t = max(move_seconds(best - self.mount_az, MOUNT["v"], MOUNT["a"]),
                    move_seconds(FLAT_MOUNT_EL - self.mount_el, MOUNT["v"], MOUNT["a"]))
            if t > 0:
                yield env.timeout(t + MOUNT["settle"])
            self.mount_az, self.mount_el = best, FLAT_MOUNT_EL
        self.end(i)
        yield env.timeout(2 * TEL_SETTLE)
        yield from self.dome_move(FLAT_DOME_AZ, top)
        yield env.timeout(TEL_SETTLE)
        self.end(top)

    def dome_move(self, target, parent):
        env, rng = self.env, self.rng
        i = self.begin(f"ATDome to az {target!r}", "dome", parent)
        with self.hold(self.dome_res) as req:
            if req is not None:
                yield req
            delta = shortest_delta(self.dome_believed, target)
            t = move_seconds(delta, DOME["v"], DOME["a"])
            if t > 0:
                yield env.timeout(t + DOME["settle"])
                d = abs(delta)
                self.dome_error += rng.normal(0.0, DOME["drift"] * math.sqrt(d))
                residual = rng.normal(0.0, DOME["stop_sigma"])
                while abs(residual) > DOME["tolerance"]:
                    residual = rng.normal(0.0, DOME["stop_sigma"])
                self.dome_believed = normalized(target + residual)
        self.end(i)

    def home_dome(self, parent):
        env = self.env
        self.require_enabled(["ATDome"])
        i = self.begin("home_dome", "dome", parent)
        with self.hold(self.dome_res) as req:
            if req is not None:
                yield req
            approach = DOME["home_az"] - DOME["overshoot"]
            fast = move_seconds(shortest_delta(self.dome_believed, approach), DOME["v"], DOME["a"])
            fast = fast + DOME["settle"] if fast > 0 else 0.0
            creep = DOME["overshoot"] - self.dome_error
            seconds = fast + (DOME["reverse_delay"] if creep < 0 else 0.0) + abs(creep) / DOME["home_speed"]
            yield env.timeout(max(DOME["home_sleep"], seconds))
            w = DOME["switch_window"]
            residual = self.rng.uniform(-w / 2, w / 2)
            self.dome_error = residual
            self.dome_believed = normalized(DOME["home_az"] - residual)
        self.end(i)

    # wheels -------------------------------------------------------------------------------------------
    def wheel_move(self, wheel, goal, parent):
        """One wheel's move, run as its own process; returns the jam instead of raising it, so the
        caller can wait for both wheels before handling it (Simulation.inParallel)."""
        env = self.env
        i = self.begin(f"{wheel['name']} to {goal}", "wheels", parent)
        with self.hold(wheel["res"]) as req:
            if req is not None:
                yield req
            if wheel["jammed"]:
                self.end(i)
                return WheelJam()
            slots = wheel["slots"]
            a, b = slots.index(wheel["pos"]), slots.index(goal)
            n = min(abs(a - b), len(slots) - abs(a - b))
            if n > 0:
                seconds = n * WHEEL["seconds_per_slot"] + WHEEL["settle"]
                if self.rng.random() < self.m.sc["faults"]["wheel_jam"]:
                    yield env.timeout(seconds * self.rng.random())
                    wheel["jammed"] = True
                    self.end(i)
                    return WheelJam()
                yield env.timeout(seconds)
                wheel["pos"] = goal
        self.end(i)
        return None

    def set_instrument(self, f, g, parent):
        env = self.env
        self.require_enabled(["ATSpectrograph"])
        attempt = 0
        while True:
            moves = [env.process(self.wheel_move(self.wheels["filter"], f, parent)),
                     env.process(self.wheel_move(self.wheels["grating"], g, parent))]
            jams = []
            for p in moves:
                r = yield p
                if r is not None:
                    jams.append(r)
            if not jams:
                return
            attempt += 1
            if attempt > 2:
                raise Abort("wheel_jam")
            for w in (self.wheels["filter"], self.wheels["grating"]):
                i = self.begin(f"{w['name']} recover", "wheels", parent)
                with self.hold(w["res"]) as req:
                    if req is not None:
                        yield req
                    if w["jammed"]:
                        yield env.timeout(WHEEL["recover"])
                        w["jammed"] = False
                self.end(i)

    # images -------------------------------------------------------------------------------------------
    def photon_rate(self, f, g):
        """Flat-screen photons per second per pixel (ATFlatScreen, LATISSSession.photonRate)."""
        if not self.shutter_open or self.lamp_on_since is None:
            return 0.0
        progress = (self.env.now - self.lamp_on_since) / LAMP["warmup"]
        lamp = 1.0 if progress >= 1 else SCREEN["warming_start"] + (1 - SCREEN["warming_start"]) * max(0.0, progress)
        d = math.fmod(normalized(self.dome_believed + self.dome_error) - SCREEN["lamp_az"], 360.0)
        if d > 180:
            d -= 360
        elif d < -180:
            d += 360
        excess = abs(d) - SCREEN["tolerance"]
        align = 1.0 if excess <= 0 else (
            SCREEN["stray"] + (1 - SCREEN["stray"]) * math.exp(-excess * excess / (2 * SCREEN["falloff"] ** 2)))
        throughput = THROUGHPUT[f] * THROUGHPUT[g] / THROUGHPUT["empty_1"]
        return SCREEN["sdssr_rate"] * throughput * lamp * align * self.bulb * self.warmup_flux

    def expose(self, seconds, rate):
        """ROI statistics of the 16 amplifiers (DetectorSimulator, roiStatistics): the analytic mean and
        variance of each ROI, and the measured ROI mean drawn as one Gaussian; post-ISR levels."""
        m = self.m
        lam_photon = rate * QE * seconds
        lam = lam_photon + DARK_CURRENT * seconds
        mean_e, var_e, clipped = clipped_moments(lam)
        temporal = (var_e + m.rn2) / m.g2 + 1.0 / 12
        prnu_e = (1 - 2 * NONLINEARITY * lam) * lam_photon * PRNU_SIGMA * (1 - clipped)
        pattern = prnu_e * prnu_e / m.g2 + m.bias_var
        expected = mean_e / GAINS + m.bias_mean
        measured = expected + self.rng.standard_normal(16) * np.sqrt(temporal / m.npix)
        post_isr = measured - m.bias_mean
        # The median over amplifiers, from a sort: np.median's generality costs ten times the sort on
        # 16 values, and this is the line every frame runs.
        s = np.sort(post_isr)
        half = s.size // 2
        level = float(s[half]) if s.size % 2 else 0.5 * float(s[half - 1] + s[half])
        return {"post_isr": post_isr, "variance": temporal + pattern, "saturated": clipped, "level": level}

    def take_image(self, kind, seconds, f, g, counts, parent):
        env, m = self.env, self.m
        self.require_enabled(LATISS_GROUP)
        start = env.now
        rate = self.photon_rate(f, g) if kind == "FLAT" else 0.0
        watcher = None
        for k, c in enumerate(m.sc["contingencies"]):
            w = c["when"]
            if (w.get("image_type", kind) == kind and w.get("filter", f) == f and w.get("grating", g) == g
                    and w.get("exp_time", seconds) == seconds):
                watcher = k
                break
        overhead = draw(self.rng, m.overhead)
        if not m.lean:
            i = self.begin("image overhead", "LATISS", parent)
            if overhead > 0:
                yield env.timeout(overhead)
            self.end(i)
            if seconds > 0:
                i = self.begin("exposure", "LATISS", parent)
                yield env.timeout(seconds)
                self.end(i)
            i = self.begin("readout", "LATISS", parent)
            yield env.timeout(start + seconds + m.readout + overhead - env.now)
            self.end(i)
        else:
            # The camera's three steps from one wait: their boundaries are known when the image starts.
            t1 = start + max(0.0, overhead)
            self.steps.append(["image overhead", "LATISS", start, t1, parent])
            if seconds > 0:
                self.steps.append(["exposure", "LATISS", t1, t1 + seconds, parent])
                t1 += seconds
            end = start + seconds + m.readout + overhead
            self.steps.append(["readout", "LATISS", t1, end, parent])
            yield env.timeout(end - start)
        if watcher is None and m.fidelity == "timing":
            return None
        r = self.expose(seconds, rate)
        if watcher is not None:
            level = r["level"]
            if counts:
                self.pending.append(level)
            if level < m.sc["contingencies"][watcher]["below"]:
                self.watched, self.pending = [level], []
                self.triggered = watcher
        return r

    def wait_for_ingestion(self, parent):
        seconds = min(draw(self.rng, self.m.oods), OODS_TIMEOUT)
        if seconds > 0:
            i = self.begin("wait image_in_oods", "OODS", parent)
            yield self.env.timeout(seconds)
            self.end(i)

    def verify(self, kind, jobs, parent):
        seconds = draw(self.rng, self.m.job)
        if self.m.background:
            jobs.append(self.env.now + seconds)
        else:
            i = self.begin(f"cp_verify {kind}", "OCPS", parent)
            yield self.env.timeout(seconds)
            self.end(i)

    def wait_for_background_tasks(self, jobs, parent):
        if not self.m.background or not jobs:
            return
        seconds = min(max(0.0, max(jobs) - self.env.now), BACKGROUND_TASK_TIMEOUT * len(jobs))
        if seconds > 0:
            i = self.begin("wait_for_background_tasks", "OCPS", parent)
            yield self.env.timeout(seconds)
            self.end(i)

    def image_type(self, a, kind, times, discards, top):
        """One take_imgtype block of make_latiss_calibrations: its images, the operator's checks, the
        OODS wait. Returns False when a check stopped the run."""
        limits = self.m.sc["params"]
        i = self.begin(f"take_imgtype {kind}", "LATISS", top)
        for k, t in enumerate(times):
            counts = k >= discards or (kind == "FLAT" and len(times) <= discards)
            r = yield from self.take_image(kind, t, a["f"], a["g"], counts, i)
            if self.triggered is not None:
                self.end(i)
                return False
            # The operator's post-ISR check; a BIAS or DARK over its limit is only a note in Obsim's trace.
            if r is not None and kind == "FLAT" and r["level"] > limits["flat_limit"]:
                self.flat_limit_reports += 1
        yield from self.wait_for_ingestion(i)
        self.end(i)
        return True

    def make_latiss_calibrations(self, a, parent):
        top = self.begin(a["step"], "LATISS", parent)
        f = a["filter"] if a["filter"] is not None else self.wheels["filter"]["pos"]
        g = a["grating"] if a["grating"] is not None else self.wheels["grating"]["pos"]
        if a["filter"] is not None or a["grating"] is not None:
            yield from self.set_instrument(f, g, top)
        a = dict(a, f=f, g=g)
        jobs = []
        plan = [("BIAS", [0.0] * a["bias_count"], a["bias_discards"])]
        if a["darks"]:
            plan.append(("DARK", a["dark_times"], a["dark_discards"]))
        if a["flats"]:
            plan.append(("FLAT", a["flat_times"], a["flat_discards"]))
        for kind, times, discards in plan:
            ok = yield from self.image_type(a, kind, times, discards, top)
            if not ok:
                self.end(top)
                return
            yield from self.verify(kind, jobs, top)
        if a["flats"]:
            yield from self.verify("GAIN", jobs, top)
        yield from self.wait_for_background_tasks(jobs, top)
        self.end(top)

    def take_image_latiss(self, a, parent):
        top = self.begin(a["step"], "LATISS", parent)
        f = a["filter"] if a["filter"] is not None else self.wheels["filter"]["pos"]
        g = a["grating"] if a["grating"] is not None else self.wheels["grating"]["pos"]
        if a["filter"] is not None or a["grating"] is not None:
            yield from self.set_instrument(f, g, top)
        times = a["times"]
        if not a["pairs"]:
            for t in times:
                yield from self.take_image(a["image_type"], t, f, g, True, top)
                if self.triggered is not None:
                    break
            self.end(top)
            return
        # A PTC: the pair means of each amplifier, and the turn-off where the signal stops growing.
        partner = [-1] * len(times)
        for p, q in a["pairs"]:
            partner[q], partner[p] = p, -2
        first_means = {}
        pair_times, pair_means = [], []
        for k, t in enumerate(times):
            r = yield from self.take_image("FLAT", t, f, g, True, top)
            if self.triggered is not None:
                self.end(top)
                return
            if r is None:
                continue
            if partner[k] == -2:
                first_means[k] = r["post_isr"]
            elif partner[k] >= 0 and partner[k] in first_means:
                pair_times.append(t)
                pair_means.append(0.5 * (first_means.pop(partner[k]) + r["post_isr"]))
        if pair_means:
            self.ptc = ptc_turnoff(pair_times, np.array(pair_means))
        self.end(top)

    # scripts, blocks, the run -------------------------------------------------------------------------
    def run_action(self, a, parent):
        kind = a["kind"]
        if kind == "set_summary_state":
            for csc, state in a["targets"]:
                yield from self.set_summary_state(csc, state, parent)
        elif kind == "power_on_atcalsys":
            yield from self.power_on(parent)
        elif kind == "power_off_atcalsys":
            yield from self.power_off(parent)
        elif kind == "flat":
            yield from self.prepare_for_flat(parent)
        elif kind == "make_latiss_calibrations":
            yield from self.make_latiss_calibrations(a, parent)
        elif kind == "take_image_latiss":
            yield from self.take_image_latiss(a, parent)
        elif kind == "home_dome":
            yield from self.home_dome(parent)
        # stop_tracking: the mount does not track during calibrations; no time, no step (DomeScripts.swift)

    def run_block(self, block):
        i = self.begin(block["step"], "ATQueue", None)
        for a in block["actions"]:
            yield from self.run_action(a, i)
            if self.triggered is not None:
                break
            if self.pending:
                self.watched = self.pending
            self.pending = []
        self.end(i)

    def procedure(self):
        """The operator: the run list, restarted from its first block after a failed check (LATISSRun)."""
        env, sc = self.env, self.m.sc
        self.outcome = "completed"
        try:
            restarts_of = [0] * len(sc["contingencies"])
            while True:
                attempt_start = env.now
                for block in sc["blocks"]:
                    yield from self.run_block(block)
                    if self.triggered is not None:
                        break
                if self.triggered is None:
                    break
                k, self.triggered = self.triggered, None
                c = sc["contingencies"][k]
                self.contingencies += 1
                i = self.begin(c["name"], "operator", None)
                if c["report_step"] is not None:
                    j = self.begin(c["report_step"], "operator", i)
                    yield env.timeout(c["report_seconds"])
                    self.end(j)
                for a in c["actions"]:
                    yield from self.run_action(a, i)
                self.end(i)
                self.triggered = None
                self.contingency_seconds += env.now - attempt_start
                if restarts_of[k] >= c["max_restarts"]:
                    self.any_aborted = True
                    for bid in c["on_restart_limit"]:
                        block = next(b for b in sc["blocks"] if b["id"] == bid)
                        yield from self.run_block(block)
                    break
                restarts_of[k] += 1
                self.restarts += 1
            self.outcome = ("aborted_restart_limit" if self.any_aborted
                            else "completed_after_restart" if self.restarts > 0 else "completed")
        except Abort as e:
            self.outcome = "aborted_" + e.cause
            # Obsim ends every step a throw unwinds at the throw's time.
            for k, s in enumerate(self.steps):
                if s[3] is None:
                    s[3] = env.now
                    self.aborted_steps.add(k)
        self.end_time = env.now

    def run(self):
        self.env.process(self.procedure())
        self.env.run()
        return self.end_time

    def metrics(self):
        m = {"restarts": float(self.restarts), "contingencies": float(self.contingencies),
             "contingency_time_s": self.contingency_seconds, "flat_limit_reports": float(self.flat_limit_reports)}
        if self.watched:
            m["flat_sdssr_6s_adu"] = float(np.median(self.watched))
        m.update(self.ptc)
        return m


def ptc_turnoff(pair_times, pair_means):
    """Per amplifier, the last pair mean that still grows at least half as fast as proportionality
    (PhotonTransferCurve.turnoffFromMeans); the medians over amplifiers."""
    t = np.asarray(pair_times)
    order = [k for k in np.argsort(t, kind="stable") if t[k] > 0]
    adus, secs = [], []
    for amp in range(pair_means.shape[1]):
        mu = pair_means[:, amp]
        last = order[0]
        for k in order[1:]:
            if mu[k] - mu[last] < 0.5 * mu[last] * (t[k] / t[last] - 1):
                break
            last = k
        adus.append(mu[last])
        secs.append(t[last])
    return {"ptc_turnoff_adu": float(np.median(adus)), "ptc_turnoff_exptime_s": float(np.median(secs))}


class Study:
    """What Obsim's summary keeps per trial: the duration, the outcome, the metrics, and per step path
    the trial's total time in it (summary.json `steps`)."""

    def __init__(self):
        self.durations, self.outcomes, self.metrics = [], [], []
        self.step_totals = {}

    def add(self, trial, duration):
        self.durations.append(duration)
        self.outcomes.append(trial.outcome)
        self.metrics.append(trial.metrics())
        paths = []
        totals = {}
        for name, lane, start, end, parent in trial.steps:
            path = name if parent is None else paths[parent] + STEP_SEPARATOR + name
            paths.append(path)
            totals[path] = totals.get(path, 0.0) + (end - start)
        for path, total in totals.items():
            self.step_totals.setdefault(path, []).append(total)

    @staticmethod
    def describe(values):
        v = np.asarray(values, dtype=float)
        if v.size == 0:
            return {"count": 0}
        p05, p50, p95 = np.percentile(v, [5, 50, 95])
        return {"count": int(v.size), "mean": float(v.mean()), "sd": float(v.std(ddof=1)) if v.size > 1 else 0.0,
                "min": float(v.min()), "max": float(v.max()), "p05": float(p05), "p50": float(p50), "p95": float(p95)}

    def summary(self, deadline=None):
        names = sorted({k for m in self.metrics for k in m})
        out = {"trials": len(self.durations), "duration_s": self.describe(self.durations),
               "outcomes": {o: self.outcomes.count(o) for o in sorted(set(self.outcomes))},
               "metrics": {n: self.describe([m[n] for m in self.metrics if n in m]) for n in names},
               "steps": {p: self.describe(v) for p, v in self.step_totals.items()}}
        if deadline is not None:
            out["finish_probability"] = float(np.mean([d <= deadline and o.startswith("completed")
                                                       for d, o in zip(self.durations, self.outcomes)]))
        return out


def run_study(sc, fidelity, trials, seed, first=0, lean=False):
    model = Model(sc, fidelity, lean)
    study = Study()
    for t in range(first, first + trials):
        trial = Trial(model, np.random.default_rng([seed, t]))
        study.add(trial, trial.run())
    return study


def cpu_seconds():
    u = resource.getrusage(resource.RUSAGE_SELF)
    return u.ru_utime + u.ru_stime


# --- checks against Obsim -----------------------------------------------------------------------------

def read_obsim_trials(path):
    import csv
    with open(path) as fh:
        rows = list(csv.DictReader(fh))
    return rows


def check_durations(study, obsim_csv):
    from scipy import stats
    rows = read_obsim_trials(obsim_csv)
    o = np.array([float(r["duration_s"]) for r in rows])
    s = np.array(study.durations)
    ks = stats.ks_2samp(o, s)
    def line(label, v):
        return f"{label:6s} n={v.size:5d} mean {v.mean():9.2f} ± {v.std(ddof=1) / math.sqrt(v.size):5.2f} s (sd {v.std(ddof=1):6.2f})"
    print(line("obsim", o))
    print(line("simpy", s))
    print(f"mean difference {s.mean() - o.mean():+.2f} s ± {math.hypot(s.std(ddof=1) / math.sqrt(s.size), o.std(ddof=1) / math.sqrt(o.size)):.2f} s")
    print(f"two-sample KS: D = {ks.statistic:.4f}, p = {ks.pvalue:.3g}")
    from collections import Counter
    oc = Counter(r["outcome"] for r in rows)
    sc_ = Counter(study.outcomes)
    print("outcomes obsim:", dict(sorted(oc.items())), " simpy:", dict(sorted(sc_.items())))
    # Counts are compared by their means; a KS test is only meaningful for the continuous levels.
    for name, continuous in (("contingencies", False), ("flat_limit_reports", False), ("flat_sdssr_6s_adu", True),
                             ("ptc_turnoff_adu", True)):
        ov = np.array([float(r[name]) for r in rows if r.get(name)])
        sv = np.array([m[name] for m in study.metrics if name in m])
        if ov.size > 1 and sv.size > 1:
            ks_text = f", KS p = {stats.ks_2samp(ov, sv).pvalue:.3g}" if continuous else ""
            print(f"  {name:20s} obsim {ov.mean():11.3f} ± {ov.std(ddof=1) / math.sqrt(ov.size):8.3f} (n={ov.size}),"
                  f" simpy {sv.mean():11.3f} ± {sv.std(ddof=1) / math.sqrt(sv.size):8.3f} (n={sv.size}){ks_text}")
    return ks.pvalue


def obsim_trace_steps(path):
    """The `# steps` section of an `obsim trace` output: each step's lane and name in record order, and
    the trial's outcome."""
    names, outcome, inside = [], None, False
    with open(path) as fh:
        for line in fh:
            if line.startswith("# ") and " trial " in line and outcome is None:
                outcome = line.split(": ", 1)[1].split(",")[0]
            if line.startswith("# steps"):
                inside = True
                continue
            if inside:
                if line.startswith("#"):
                    break
                parts = line.split(None, 3)
                if len(parts) == 4:
                    names.append((parts[2], parts[3].rstrip()))
    return names, outcome


def steps_check(sc, trace_path, seed, lean=False):
    """Diffs the steps (lane and name) of an Obsim trace trial against a SimPy trial with the same outcome and the
    same number of contingencies (the draws differ, so the same trial index need not take the same path)."""
    import difflib
    steps, outcome = obsim_trace_steps(trace_path)
    names = [f"{lane:9s} {name}" for lane, name in steps]
    responses = {c["name"] for c in sc["contingencies"]}
    target_contingencies = sum(1 for lane, name in steps if lane == "operator" and name in responses)
    # An abort's place (a shutter stuck opening or closing) shows in the trial's length: among trials with
    # the same outcome and contingencies, the first of the same length, else the first of any length.
    model = Model(sc, "timing", lean)
    fallback = None
    for t in range(20_000):
        trial = Trial(model, np.random.default_rng([seed, t]))
        trial.run()
        if trial.outcome != outcome or trial.contingencies != target_contingencies:
            continue
        # `obsim trace` marks the steps an abort unwound.
        mine = [f"{s[1]:9s} {s[0]}" + (" (aborted)" if k in trial.aborted_steps else "") for k, s in enumerate(trial.steps)]
        if len(mine) == len(names) or fallback is None:
            fallback = (t, trial, mine)
        if len(mine) == len(names):
            break
    if fallback is not None:
        t, trial, mine = fallback
        diff = list(difflib.unified_diff(names, mine, "obsim", "simpy", lineterm="", n=1))
        print(f"obsim trace: {len(names)} steps, outcome {outcome}, {target_contingencies} contingencies;"
              f" simpy trial {t}: {len(mine)} steps, outcome {trial.outcome}")
        print("step (lane, name) diff: " + ("empty (identical sequences)" if not diff else f"{len(diff)} lines"))
        for line in diff[:80]:
            print(line)
        return not diff
    print(f"no SimPy trial with outcome {outcome} and {target_contingencies} contingencies")
    return False


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scenario", default=os.path.join(REPO, "Scenarios", "latiss-weekly.yaml"))
    ap.add_argument("--fidelity", choices=["timing", "roi-statistics"], help="default: the scenario's study.detector")
    ap.add_argument("--trials", type=int, help="default: the scenario's study.trials")
    ap.add_argument("--seed", type=int, help="default: the scenario's study.seed")
    ap.add_argument("--csv", help="write trial,outcome,duration_s per trial")
    ap.add_argument("--summary", help="write the study summary (durations, outcomes, metrics, step paths) as JSON")
    ap.add_argument("--check", metavar="OBSIM_TRIALS_CSV", help="compare the durations with an Obsim trials.csv")
    ap.add_argument("--steps-check", metavar="OBSIM_TRACE", help="diff one trial's step names with an `obsim trace` output")
    ap.add_argument("--print-steps", type=int, metavar="TRIAL", help="print the steps of one trial")
    ap.add_argument("--lean", action="store_true",
                    help="one wait per image (its three steps recorded from known times) and no device resources: "
                         "what a user tuning the SimPy model would write; the same draws in the same order")
    ap.add_argument("--bench", action="store_true",
                    help="print one JSON line: CPU seconds (getrusage) of the trials and their statistics, "
                         "scenario loading and interpreter start-up excluded")
    args = ap.parse_args()

    sc = load_scenario(args.scenario)
    fidelity = args.fidelity or sc["fidelity"]
    if fidelity not in ("timing", "roi-statistics"):
        sys.exit(f"fidelity {fidelity} is not modelled (timing, roi-statistics)")
    trials = args.trials or sc["trials"]
    seed = sc["seed"] if args.seed is None else args.seed

    if args.steps_check:
        sys.exit(0 if steps_check(sc, args.steps_check, seed, args.lean) else 1)
    if args.print_steps is not None:
        trial = Trial(Model(sc, fidelity, args.lean), np.random.default_rng([seed, args.print_steps]))
        trial.run()
        print(f"# simpy trial {args.print_steps}: {trial.outcome}, {trial.end_time} s")
        for name, lane, start, end, parent in trial.steps:
            print(f"{start:12.3f} {end:12.3f}  {lane:16s} {name}")
        return

    cpu0 = cpu_seconds()
    study = run_study(sc, fidelity, trials, seed, lean=args.lean)
    summary = study.summary(sc["deadline"])
    cpu = cpu_seconds() - cpu0
    if args.bench:
        print(json.dumps({"model": "simpy-lean" if args.lean else "simpy", "fidelity": fidelity, "trials": trials, "cpu_s": cpu,
                          "trials_per_cpu_s": trials / cpu, "mean_duration_s": summary["duration_s"]["mean"]}))
    if args.csv:
        with open(args.csv, "w") as fh:
            fh.write("trial,outcome,duration_s\n")
            for t, (o, d) in enumerate(zip(study.outcomes, study.durations)):
                fh.write(f"{t},{o},{d!r}\n")
    if args.summary:
        with open(args.summary, "w") as fh:
            json.dump(summary, fh, indent=1, sort_keys=True)
    if args.check:
        check_durations(study, args.check)
    if not (args.bench or args.csv or args.summary or args.check):
        d = summary["duration_s"]
        print(f"{trials} trials at {fidelity}: duration mean {d['mean']:.2f} s, sd {d['sd']:.2f} s; "
              f"outcomes {summary['outcomes']}; {cpu:.2f} CPU-s ({trials / cpu:.1f} trials/CPU-s)")


if __name__ == "__main__":
    main()
