#!/usr/bin/env bash
# Instructions per trial of an `obsim bench study` workload, counted by callgrind (this machine has no
# hardware counters for `perf stat`). Valgrind cannot read Swift's DWARF, so it runs a copy of the release
# binary with the debug info stripped (`strip -g`). The count is the difference between a run of
# HIGH and one of LOW trials per sweep point, divided by the extra trials: start-up, scenario loading and
# the first-use caches cancel out.
#   tools/instructions-per-trial.sh [BINARY] [WORKLOAD] [LOW] [HIGH]
#   e.g. tools/instructions-per-trial.sh .build/release/obsim latiss-roi-statistics 5 25
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${1:-.build/release/obsim}
WORKLOAD=${2:-latiss-timing}
LOW=${3:-5}
HIGH=${4:-25}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
cp "$BIN" "$WORK/obsim"
strip -g "$WORK/obsim"
count() {
    valgrind --tool=callgrind --callgrind-out-file="$WORK/cg.$1" "$WORK/obsim" bench study --workload "$WORKLOAD" \
        --rounds 1 --trials "$1" --json >"$WORK/out.$1" 2>/dev/null
    grep '^summary:' "$WORK/cg.$1" | awk '{print $2}'
}
lo=$(count "$LOW"); hi=$(count "$HIGH")
trials_lo=$(grep -o '"trials": [0-9]*' "$WORK/out.$LOW" | head -1 | awk '{print $2}')
trials_hi=$(grep -o '"trials": [0-9]*' "$WORK/out.$HIGH" | head -1 | awk '{print $2}')
python3 -c "import sys; lo,hi,a,b=map(int,sys.argv[1:]); print(f'$WORKLOAD: {(hi-lo)/(b-a):,.0f} instructions per trial (callgrind, {a} vs {b} trials)')" \
    "$lo" "$hi" "$trials_lo" "$trials_hi"
