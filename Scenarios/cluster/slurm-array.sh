#!/usr/bin/env bash
# A large study as a Slurm job array: SHARDS shards (64 by default), then one merge job after all of them.
# Run it from the repository's root, on a login node (it calls sbatch itself):
#   Scenarios/cluster/slurm-array.sh Scenarios/latiss-season.yaml [OUT_DIR]
# Shard i of array job A writes parts/NAME/A/i (NAME = the scenario file's name); the merge job writes
# OUT_DIR (default Reports/NAME); Slurm's logs go to parts/NAME/logs/. Every shard draws trial t from
# streams keyed by (seed, t), so the merged summary.json is byte-identical to a single run's.
# A shard that fails or is cancelled makes the merge job fail naming it (it never waits forever).
# Environment: SHARDS (64), OBSIM (.build/release/obsim), OBSIM_RUN_ARGS (extra `obsim run` options,
# e.g. "--trials 40"), SBATCH_ARGS (extra sbatch options for every job, e.g. "--partition=short").
# HTCondor: `queue 64` with arguments "run FILE --shard $(Process)/64 --out parts/NAME/$(Cluster)/$(Process)",
# then `obsim merge parts/NAME/CLUSTER/* --out DIR --scenario FILE`.
set -euo pipefail

SHARDS=${SHARDS:-64}
OBSIM=${OBSIM:-.build/release/obsim}
OBSIM_RUN_ARGS=${OBSIM_RUN_ARGS:-}
SBATCH_ARGS=${SBATCH_ARGS:-}

mode=submit
case "${1:-}" in
    --shard-task) mode=shard; shift ;;
    --merge-task) mode=merge; shift ;;
esac
SCENARIO=${1:?usage: slurm-array.sh SCENARIO.yaml [OUT_DIR]}
NAME=$(basename "$SCENARIO" .yaml)
OUT=${2:-Reports/$NAME}

case $mode in
submit)
    [ -f "$SCENARIO" ] || { echo "slurm-array.sh: no scenario file $SCENARIO" >&2; exit 2; }
    [ -x "$OBSIM" ] || { echo "slurm-array.sh: $OBSIM is not built (make release, or set OBSIM)" >&2; exit 2; }
    "$OBSIM" validate "$SCENARIO" >/dev/null
    # Slurm opens --output before the job's first line runs: the log folder must exist now.
    mkdir -p "parts/$NAME/logs"
    self=$(realpath "$0")
    # shellcheck disable=SC2086 # SBATCH_ARGS is a list of options
    array=$(sbatch --parsable $SBATCH_ARGS --job-name="obsim-$NAME" --array="0-$((SHARDS - 1))" \
        --cpus-per-task=2 --mem=1G --time=01:00:00 --output="parts/$NAME/logs/shard-%A_%a.log" \
        --export=ALL,SHARDS="$SHARDS",OBSIM="$OBSIM" "$self" --shard-task "$SCENARIO" "$OUT")
    array=${array%%;*}
    # afterany: the merge runs once every shard has ended, however it ended, and checks them itself, so a
    # cancelled or failed shard fails the merge instead of leaving it pending forever.
    # shellcheck disable=SC2086
    merge=$(sbatch --parsable $SBATCH_ARGS --job-name="obsim-$NAME-merge" --dependency="afterany:$array" \
        --kill-on-invalid-dep=yes --cpus-per-task=1 --mem=1G --time=00:30:00 \
        --output="parts/$NAME/logs/merge-%j.log" --export=ALL,SHARDS="$SHARDS",OBSIM="$OBSIM" \
        --wrap="bash $(printf %q "$self") --merge-task $(printf %q "$SCENARIO") $(printf %q "$OUT") $array")
    merge=${merge%%;*}
    echo "shards: job array $array ($SHARDS tasks) writing parts/$NAME/$array/"
    echo "merge job: $merge writing $OUT (logs in parts/$NAME/logs/)"
    ;;
shard)
    # shellcheck disable=SC2086 # OBSIM_RUN_ARGS is a list of options
    "$OBSIM" run "$SCENARIO" --shard "$SLURM_ARRAY_TASK_ID/$SHARDS" --threads "${SLURM_CPUS_PER_TASK:-1}" \
        --out "parts/$NAME/$SLURM_ARRAY_JOB_ID/$SLURM_ARRAY_TASK_ID" $OBSIM_RUN_ARGS
    ;;
merge)
    array=${3:?merge task needs the array job id}
    missing=()
    for i in $(seq 0 $((SHARDS - 1))); do
        state="parts/$NAME/$array/$i/state.json"
        if [ ! -f "$state" ] || grep -q '"partial": true' "$state"; then missing+=("$i"); fi
    done
    if [ ${#missing[@]} -gt 0 ]; then
        echo "slurm-array.sh: shard(s) ${missing[*]} of job array $array did not finish (failed, cancelled or" \
            "stopped; see parts/$NAME/logs/shard-${array}_<shard>.log): nothing merged, $OUT left as it was" >&2
        exit 1
    fi
    "$OBSIM" merge $(for i in $(seq 0 $((SHARDS - 1))); do echo "parts/$NAME/$array/$i"; done) \
        --out "$OUT" --scenario "$SCENARIO"
    ;;
esac
