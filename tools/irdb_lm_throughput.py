#!/usr/bin/env python3
"""The METIS IMG-LM optical chain's throughput at L' from the IRDB surface lists (WCUSource.systemThroughput).

Usage: tools/irdb_lm_throughput.py PATH_TO_IRDB_CLONE_AT_f0a5f30
Surfaces: LIST_METIS_mirrors_wcu.dat (7 gold), LIST_METIS_mirrors_cfo.dat (entrance window, 13 gold, SCAO
dichroic in transmission), LIST_METIS_mirrors_img_lm.dat (8 gold, IMG dichroic twice), weighted by the L'
curve times a 1000 K blackbody's photon radiance. Prints the weighted product and the WCU L' rates.
"""
import sys
import numpy as np

root = sys.argv[1] + "/METIS/"

def load(name, col=1):
    rows = []
    for line in open(root + name):
        s = line.split()
        if line.startswith("#") or len(s) <= col:
            continue
        try:
            rows.append((float(s[0]), float(s[col])))
        except ValueError:
            pass
    a = np.array(rows)
    return a[:, 0], a[:, 1]

w, t = load("filters/TC_filter_Lp.dat")
on = lambda name: np.interp(w, *load(name))
gold, window, scao, img = on("TER_mirror_gold.dat"), on("TER_entrance_window.dat"), on("TER_sca_dichroic.dat"), on("TER_img_dichroic.dat")
chain = gold**7 * window * gold**13 * scao * gold**8 * img**2
c2 = 14387.768775  # µm K
b = 2 * 299792458 * 1e18 / w**4 / np.expm1(c2 / (w * 1000))
weight = t * b
tau = np.trapezoid(chain * weight, w) / np.trapezoid(weight, w)
print(f"tau(L', 1000 K) = {tau:.4f}")
omega = (0.00547 / 206264.806247) ** 2
base = 0.98 * np.trapezoid(weight, w) * 25.4**2 / 4 / 250**2 * omega
for label, area, m in [("ELT 975.23 m2, M = 19", 975.234789, 19), ("ScopeSim TEL.area 1354.593 m2, M = 19", 1354.593, 19)]:
    print(f"{label}: {base * area * m * tau:.3e} ph/s/px")
