#!/usr/bin/env bash
# Two obsim binaries side by side on the `obsim bench study` workloads, through `obsim run` (so a binary
# from before `bench study` existed can be compared too): rounds interleave OLD and NEW, CPU time is the
# child's user + system time, and the figure is the ratio of the medians.
#   tools/compare-binaries.sh OLD NEW [ROUNDS] [WORKLOADS...]
#   env THREADS (default 1), CALLGRIND=1 (instruction counts instead: LOW/HIGH trials, see below)
# Workloads: latiss-timing latiss-roi-statistics twilight-sweep metis-pixels (default all).
set -euo pipefail
cd "$(dirname "$0")/.."
OLD=${1:?usage: tools/compare-binaries.sh OLD NEW [ROUNDS] [WORKLOADS...]}
NEW=${2:?usage: tools/compare-binaries.sh OLD NEW [ROUNDS] [WORKLOADS...]}
ROUNDS=${3:-3}
shift $(( $# >= 3 ? 3 : $# ))
WORKLOADS=("$@")
[ ${#WORKLOADS[@]} -gt 0 ] || WORKLOADS=(latiss-timing latiss-roi-statistics twilight-sweep metis-pixels)
THREADS=${THREADS:-1}
WORK=$(mktemp -d)
# The scenario copies sit beside the originals: scenarios name sequence files relative to themselves.
SC=Scenarios/.compare-$$
trap 'rm -rf "$WORK" "$SC".*.yaml' EXIT

# The same scenario, trial count and fidelity as `obsim bench study` uses for each workload.
setup() {
    case $1 in
        latiss-timing) sed 's/^  detector: .*/  detector: timing/' Scenarios/latiss-weekly.yaml >"$SC.$1.yaml"; echo 2000 ;;
        latiss-roi-statistics) sed 's/^  detector: .*/  detector: roi-statistics/' Scenarios/latiss-weekly.yaml >"$SC.$1.yaml"; echo 1000 ;;
        twilight-sweep) cp Scenarios/twilight-feasibility-year.yaml "$SC.$1.yaml"; echo 2 ;;
        metis-pixels) sed 's/^  detector: .*/  detector: roi-pixels/' Scenarios/metis-internal-flat.yaml >"$SC.$1.yaml"; echo 4 ;;
        *) echo "unknown workload $1" >&2; exit 2 ;;
    esac
}
cpu() {  # binary workload trials -> CPU seconds
    /usr/bin/time -f "%U %S" -o "$WORK/time" "$1" run "$SC.$2.yaml" --trials "$3" --seed 1 --threads "$THREADS" \
        --out "$WORK/out" >/dev/null 2>"$WORK/err" || { echo "$1 failed on $2:" >&2; cat "$WORK/err" >&2; exit 1; }
    awk '{print $1 + $2}' "$WORK/time"
}
irs() {  # binary workload trials -> instructions (callgrind on a debug-stripped copy)
    valgrind --tool=callgrind --callgrind-out-file="$WORK/cg" "$1" run "$SC.$2.yaml" --trials "$3" --seed 1 \
        --threads 1 --out "$WORK/out" >/dev/null 2>"$WORK/err" || { echo "$1 failed on $2:" >&2; tail -5 "$WORK/err" >&2; exit 1; }
    grep '^summary:' "$WORK/cg" | awk '{print $2}'
}
cp "$OLD" "$WORK/old"; cp "$NEW" "$WORK/new"
if [ "${CALLGRIND:-0}" = 1 ]; then strip -g "$WORK/old" "$WORK/new"; fi
for w in "${WORKLOADS[@]}"; do
    trials=$(setup "$w")
    if [ "${CALLGRIND:-0}" = 1 ]; then
        LOW=${LOW:-1}; HIGH=${HIGH:-3}
        o=$(( $(irs "$WORK/old" "$w" "$HIGH") - $(irs "$WORK/old" "$w" "$LOW") ))
        n=$(( $(irs "$WORK/new" "$w" "$HIGH") - $(irs "$WORK/new" "$w" "$LOW") ))
        python3 -c "import sys; o,n=map(int,sys.argv[1:]); print(f'$w: instructions for {$HIGH}-{$LOW} trials/point: old {o:,} new {n:,}, ratio {o/n:.2f}x')" "$o" "$n"
        continue
    fi
    old=(); new=()
    for _ in $(seq "$ROUNDS"); do
        old+=("$(cpu "$WORK/old" "$w" "$trials")")
        new+=("$(cpu "$WORK/new" "$w" "$trials")")
    done
    python3 - "$w" "$THREADS" "${old[*]}" "${new[*]}" <<'PY'
import statistics, sys
w, threads, old, new = sys.argv[1], sys.argv[2], list(map(float, sys.argv[3].split())), list(map(float, sys.argv[4].split()))
mo, mn = statistics.median(old), statistics.median(new)
print(f"{w}: CPU s old {mo:.2f} new {mn:.2f} (medians of {len(old)} interleaved rounds, {threads} thread(s)): {mo/mn:.2f}x")
PY
done
