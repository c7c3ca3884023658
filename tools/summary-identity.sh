#!/usr/bin/env bash
# The performance work's invariant: every committed scenario gives a byte-identical summary.json (and
# trials.csv) with a reference binary and with this tree's release build, on one thread and on two.
#   tools/summary-identity.sh REFERENCE_BINARY [TRIALS]      (default 3 trials per sweep point, seed 1)
# Exits 1 and names the scenario when a file differs.
set -euo pipefail
cd "$(dirname "$0")/.."
REF=${1:?usage: tools/summary-identity.sh REFERENCE_BINARY [TRIALS]}
TRIALS=${2:-3}
NEW=${NEW:-.build/release/obsim}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
status=0
for f in Scenarios/*.yaml; do
    name=$(basename "$f" .yaml)
    if ! "$REF" run "$f" --trials "$TRIALS" --seed 1 --threads 1 --out "$WORK/$name.ref" >/dev/null 2>&1; then
        echo "skipped: $name (the reference binary cannot run it)"; continue
    fi
    same=1
    for threads in 1 2; do
        out="$WORK/$name.new$threads"
        "$NEW" run "$f" --trials "$TRIALS" --seed 1 --threads "$threads" --out "$out" >/dev/null 2>&1
        for file in summary.json trials.csv; do
            if ! cmp -s "$WORK/$name.ref/$file" "$out/$file"; then
                echo "DIFFERENT: $name $file (--threads $threads)"; status=1; same=0
            fi
        done
    done
    [ $same = 1 ] && echo "identical: $name" || true
done
exit $status
