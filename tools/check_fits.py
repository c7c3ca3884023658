#!/usr/bin/env python3
"""Opens the METIS-style test frame written by Obsim's FITS writer with astropy (and fitsverify when it is
installed) and checks headers and pixels against what the Swift test wrote (`metisFrame()` in
Tests/ReportingTests/FITSTests.swift). Not run by the Swift tests; run it by hand after a change to the
FITS writer:

    python3 -m venv /tmp/astro && /tmp/astro/bin/pip install astropy
    OBSIM_FITS_SAMPLE=/tmp/obsim-sample.fits swift test --skip-build --filter FITSTests
    /tmp/astro/bin/python tools/check_fits.py /tmp/obsim-sample.fits
"""
import shutil
import subprocess
import sys
import warnings

import numpy as np
from astropy.io import fits

path = sys.argv[1] if len(sys.argv) > 1 else "/tmp/obsim-sample.fits"
failures = []


def check(condition, what):
    print(("ok   " if condition else "FAIL ") + what)
    if not condition:
        failures.append(what)


with warnings.catch_warnings():
    # astropy warns (VerifyWarning) about any non-standard card: turn that into a failure.
    warnings.simplefilter("error")
    with fits.open(path) as hdul:
        hdul.verify("exception")
        h = hdul[0].header
        check(h["HIERARCH ESO DPR CATG"] == "CALIB", "HIERARCH ESO DPR CATG == 'CALIB'")
        check(h["ESO DPR CATG"] == "CALIB", "ESO DPR CATG (short form) == 'CALIB'")
        check(h["ESO DPR TYPE"] == "FLAT,LAMP", "ESO DPR TYPE == 'FLAT,LAMP'")
        check(h["ESO DPR TECH"] == "IMAGE,LM", "ESO DPR TECH == 'IMAGE,LM'")
        check(h["ESO DET DIT"] == 0.1, "ESO DET DIT == 0.1")
        check(h["ESO DET NDIT"] == 12 and isinstance(h["ESO DET NDIT"], int), "ESO DET NDIT == 12 (int)")
        check(h["ESO INS OPT1 NAME"] == "L'", "ESO INS OPT1 NAME == \"L'\"")
        check(h["ESO INS OPT2 NAME"] == "CO(1-0)/ice", "ESO INS OPT2 NAME == 'CO(1-0)/ice'")
        check(h["OBJECT"] == "it's a 'quoted' flat", "OBJECT with embedded quotes")
        check(h["EXPTIME"] == 1.2000000000000002, "EXPTIME round-trips to the last bit")
        check(h["SIMULATD"] is True and h["SATURATD"] is False, "logical keywords")
        check(h["TEMPK"] == -273.15, "TEMPK == -273.15")
        check(h["BIGINT"] == 9007199254740993, "BIGINT == 2**53 + 1")
        check(h.comments["ESO DET DIT"] == "[s] detector integration time", "comment of ESO DET DIT")

        width, height = 7, 5
        n = width * height
        k = np.arange(n)
        ramp = (k * 1.5 - 3.25).astype(np.float32).reshape(height, width)
        check(np.array_equal(hdul[0].data, ramp), "primary float32 pixels (row-major from pixel 1,1)")
        expected = {
            "C10": (65535 - k * 97).astype(np.uint16),
            "C11": (k * 31 - 500).astype(np.int16),
            "C12": (k * 1_000_003 - 7).astype(np.int32),
            "C13": (4_294_967_295 - k).astype(np.uint32),
        }
        for name, values in expected.items():
            data = hdul[name].data
            check(data.dtype.kind == values.dtype.kind and data.dtype.itemsize == values.dtype.itemsize,
                  f"{name} dtype {data.dtype} (BZERO applied)")
            check(np.array_equal(data, values.reshape(height, width)), f"{name} pixels")
        check(hdul["C10"].header["GAIN"] == 1.1, "C10 GAIN == 1.1")

# The LATISS-style file: header-only primary HDU (Rubin keywords) and one UInt16 amplifier extension.
latiss = path.replace(".fits", "-latiss.fits")
with warnings.catch_warnings():
    warnings.simplefilter("error")
    with fits.open(latiss) as hdul:
        hdul.verify("exception")
        h = hdul[0].header
        check(hdul[0].data is None, "LATISS primary HDU has no data")
        check(h["IMGTYPE"] == "FLAT" and h["FILTER"] == "SDSSr_65mm", "IMGTYPE, FILTER")
        check(h["EXPTIME"] == 6.0 and h["DATE-OBS"] == "2025-03-04T23:12:09.250", "EXPTIME, DATE-OBS")
        check(hdul["C00"].data.dtype == np.uint16
              and np.array_equal(hdul["C00"].data, np.array([[0, 1, 2], [29999, 65534, 65535]], dtype=np.uint16)),
              "C00 uint16 pixels")

fitsverify = shutil.which("fitsverify")
if fitsverify:
    for f in (path, latiss):
        result = subprocess.run([fitsverify, "-e", f], capture_output=True, text=True)
        print(result.stdout.strip().splitlines()[-1] if result.stdout.strip() else result.stderr)
        check(result.returncode == 0, f"fitsverify reports no errors in {f}")
else:
    print("fitsverify not installed: skipped")

print("FAILED: " + "; ".join(failures) if failures else "all checks passed")
sys.exit(1 if failures else 0)
