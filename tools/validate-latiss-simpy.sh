#!/usr/bin/env bash
# Checks the SimPy model (tools/latiss_weekly_simpy.py) against Obsim on Scenarios/latiss-weekly.yaml:
#   1. step sequence: the lanes and names of the steps of an Obsim trial (`obsim trace`, its `# steps`
#      section) against a SimPy trial with the same outcome and number of contingencies, for the first
#      trial of each outcome in Obsim's trials.csv (completed, completed after the misalignment
#      contingency's restart, each abort's cause); every diff must be empty (exit status 1 otherwise);
#   2. per-trial durations at `timing` and at `roi-statistics`: two-sample KS test and means ± standard
#      errors of Obsim's trials.csv against the SimPy trials, TRIALS of each.
#
#   OBSIM=/path/to/obsim TRIALS=2000 tools/validate-latiss-simpy.sh
#
# The scenario is copied into a temporary folder with study.detector set to each fidelity and without
# study.sensitivity (which `obsim run` would run as well); the copies find the repository's Sequences/.
set -euo pipefail
# A relative OBSIM is the caller's, not the repository root's.
case ${OBSIM:-} in ""|/*) ;; *) OBSIM="$PWD/$OBSIM" ;; esac
cd "$(dirname "$0")/.."
OBSIM=${OBSIM:-.build/release/obsim}
TRIALS=${TRIALS:-2000}
VENV=${SIMPY_VENV:-$HOME/.cache/obsim-simpy-venv}
PY="$VENV/bin/python"
if [ ! -x "$OBSIM" ]; then echo "validate-latiss-simpy: no Obsim binary at '$OBSIM'" >&2; exit 2; fi
if [ ! -x "$PY" ]; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q simpy==4.1.2 numpy scipy PyYAML
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/Scenarios"
ln -s "$PWD/Sequences" "$tmp/Sequences"
scenario=Scenarios/latiss-weekly.yaml
grep -q '^  detector: ' "$scenario" || { echo "validate-latiss-simpy: $scenario has no study.detector line to set" >&2; exit 2; }
status=0
for fidelity in timing roi-statistics; do
    copy="$tmp/Scenarios/latiss-weekly-$fidelity.yaml"
    sed -e "s/^  detector: .*/  detector: $fidelity/" -e '/^  sensitivity:/d' "$scenario" >"$copy"
    "$OBSIM" run "$copy" --trials "$TRIALS" --threads 1 --out "$tmp/obsim-$fidelity" >/dev/null 2>&1
    if [ "$fidelity" = timing ]; then
        # The first trial of each outcome (completed, after a restart, each abort's cause).
        firsts=$(awk -F, 'NR > 1 && !seen[$3]++ {print $1}' "$tmp/obsim-timing/trials.csv")
        for trial in $firsts; do
            "$OBSIM" trace "$copy" --trial "$trial" >"$tmp/trace-$trial.txt"
            echo "== step sequence, Obsim trial $trial"
            "$PY" tools/latiss_weekly_simpy.py --scenario "$copy" --steps-check "$tmp/trace-$trial.txt" || status=1
        done
    fi
    echo "== per-trial duration, $fidelity, $TRIALS trials each"
    "$PY" tools/latiss_weekly_simpy.py --scenario "$copy" --fidelity "$fidelity" --trials "$TRIALS" --check "$tmp/obsim-$fidelity/trials.csv"
done
exit $status
