#!/usr/bin/env bash
# Trials per CPU-second of the LATISS weekly calibrations: Obsim (`obsim bench study`, one thread) against
# the SimPy model of the same procedure (tools/latiss_weekly_simpy.py), at detector fidelity `timing` and
# `roi-statistics`, in interleaved rounds (Obsim, SimPy, Obsim, SimPy, ...) so a background load falls on
# both alike. Prints per round and the medians; the ratio is of the medians.
#
# Two measurements of each run, both symmetric:
#   in-process:    getrusage user + system around the trials and their statistics; Obsim's scenario loading
#                  and the Python interpreter's start-up, imports and scenario loading both left out;
#   whole process: /usr/bin/time user + system of the command, start-up and loading both included.
#
#   OBSIM=/path/to/obsim ROUNDS=5 TRIALS=1000 tools/bench-latiss-vs-simpy.sh
#
# OBSIM defaults to .build/release/obsim (not built here); TRIALS defaults to `obsim bench study`'s own
# counts (2000 at timing, 1000 at roi-statistics); SIMPY_VENV to ~/.cache/obsim-simpy-venv, created with
# simpy 4.1.2, numpy, scipy and PyYAML when missing. FIDELITIES="timing roi-statistics" selects.
# SIMPY_ARGS=--lean times the SimPy model as a user tuning it would write it (one wait per image, no device
# resources; the same trials).
set -euo pipefail
# A relative OBSIM is the caller's, not the repository root's.
case ${OBSIM:-} in ""|/*) ;; *) OBSIM="$PWD/$OBSIM" ;; esac
cd "$(dirname "$0")/.."
OBSIM=${OBSIM:-.build/release/obsim}
ROUNDS=${ROUNDS:-5}
TRIALS=${TRIALS:-}
FIDELITIES=${FIDELITIES:-timing roi-statistics}
SIMPY_ARGS=${SIMPY_ARGS:-}
VENV=${SIMPY_VENV:-$HOME/.cache/obsim-simpy-venv}
if [ ! -x "$OBSIM" ]; then
    echo "bench-latiss-vs-simpy: no Obsim binary at '$OBSIM' (swift build -c release, or OBSIM=PATH)" >&2
    exit 2
fi
if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q simpy==4.1.2 numpy scipy PyYAML
fi
PY="$VENV/bin/python"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

field() { grep -o "\"$1\": [^,}]*" | head -1 | sed 's/.*: //; s/"//g'; }
median() { sort -g | awk '{v[NR]=$1} END {print (NR%2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2)}'; }

echo "obsim: $OBSIM ($("$OBSIM" --version 2>/dev/null || echo '?')); simpy $("$PY" -c 'import simpy; print(simpy.__version__)'), $("$PY" --version)${SIMPY_ARGS:+, model $SIMPY_ARGS}"
echo "load before: $(uptime | sed 's/.*load average/load average/')"
for fidelity in $FIDELITIES; do
    case $fidelity in
        timing) workload=latiss-timing; n=${TRIALS:-2000} ;;
        roi-statistics) workload=latiss-roi-statistics; n=${TRIALS:-1000} ;;
        *) echo "unknown fidelity $fidelity" >&2; exit 2 ;;
    esac
    : >"$tmp/o_in"; : >"$tmp/s_in"; : >"$tmp/o_whole"; : >"$tmp/s_whole"; : >"$tmp/loads"; : >"$tmp/pairs"
    echo "== $fidelity: $n trials per run, $ROUNDS interleaved rounds, one thread"
    for round in $(seq 1 "$ROUNDS"); do
        /usr/bin/time -f "%U %S" -o "$tmp/time" "$OBSIM" bench study --workload "$workload" --rounds 1 --trials "$n" --threads 1 --json >"$tmp/obsim.json"
        o_cpu=$(head -1 "$tmp/obsim.json" | field cpu_s)
        o_sum=$(head -1 "$tmp/obsim.json" | field checksum_hex)
        o_whole=$(awk '{print $1 + $2}' "$tmp/time")
        /usr/bin/time -f "%U %S" -o "$tmp/time" "$PY" tools/latiss_weekly_simpy.py --fidelity "$fidelity" --trials "$n" --bench $SIMPY_ARGS >"$tmp/simpy.json"
        s_cpu=$(field cpu_s <"$tmp/simpy.json")
        s_mean=$(field mean_duration_s <"$tmp/simpy.json")
        s_whole=$(awk '{print $1 + $2}' "$tmp/time")
        load=$(uptime | sed 's/.*load average: //; s/,.*//')
        echo "$load" >>"$tmp/loads"
        awk -v n="$n" -v o="$o_cpu" -v s="$s_cpu" -v ow="$o_whole" -v sw="$s_whole" 'BEGIN {print n/o >> "'"$tmp/o_in"'"; print n/s >> "'"$tmp/s_in"'"; print n/ow >> "'"$tmp/o_whole"'"; print n/sw >> "'"$tmp/s_whole"'"; print s/o >> "'"$tmp/pairs"'"}'
        printf '  round %d: obsim %.3f CPU-s in-process (%.3f whole), simpy %.3f (%.3f); load %s; mean duration obsim %s, simpy %.2f s\n' \
            "$round" "$o_cpu" "$o_whole" "$s_cpu" "$s_whole" "$load" "$("$PY" -c "print(round(float.fromhex('$o_sum'), 2))")" "$s_mean"
    done
    oi=$(median <"$tmp/o_in"); si=$(median <"$tmp/s_in"); ow=$(median <"$tmp/o_whole"); sw=$(median <"$tmp/s_whole")
    loads=$(sort -g "$tmp/loads" | awk 'NR==1 {lo=$1} {hi=$1} END {print lo "-" hi}')
    # Each round's own ratio as well: a load that changes between rounds moves both runs of a round alike.
    pairs=$(sort -g "$tmp/pairs" | awk 'NR==1 {lo=$1} {hi=$1} END {printf "%.2f-%.2f", lo, hi}')
    pm=$(median <"$tmp/pairs")
    awk -v f="$fidelity" -v oi="$oi" -v si="$si" -v ow="$ow" -v sw="$sw" -v l="$loads" -v pr="$pairs" -v pm="$pm" 'BEGIN {
        printf "%s in-process:    obsim %8.1f trials/CPU-s, simpy %7.1f trials/CPU-s, ratio %.2fx (medians; per-round ratios %s, median %.2f; 1-min load %s)\n", f, oi, si, oi / si, pr, pm, l
        printf "%s whole process: obsim %8.1f trials/CPU-s, simpy %7.1f trials/CPU-s, ratio %.2fx\n", f, ow, sw, ow / sw }'
done
echo "load after: $(uptime | sed 's/.*load average/load average/')"
