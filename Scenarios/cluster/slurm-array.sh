#!/usr/bin/env bash
# A large study as a Slurm job array: 64 shards, then one merge job that waits for all of them.
#   sbatch Scenarios/cluster/slurm-array.sh Scenarios/latiss-season.yaml
# Every shard draws trial t from streams keyed by (seed, t), so the merged report is byte-identical to a
# single run (see Reports/README.md). HTCondor: `queue 64` with arguments "--shard $(Process)/64 ...".
#SBATCH --job-name=obsim-shard
#SBATCH --array=0-63
#SBATCH --cpus-per-task=2
#SBATCH --mem=1G
#SBATCH --time=01:00:00
#SBATCH --output=parts/slurm-%A_%a.log
set -euo pipefail

SCENARIO=${1:?usage: sbatch slurm-array.sh SCENARIO.yaml [OUT_DIR]}
NAME=$(basename "$SCENARIO" .yaml)
OUT=${2:-Reports/$NAME}
OBSIM=${OBSIM:-.build/release/obsim}
SHARDS=64

mkdir -p parts
"$OBSIM" run "$SCENARIO" --shard "$SLURM_ARRAY_TASK_ID/$SHARDS" --threads "${SLURM_CPUS_PER_TASK:-1}" \
    --out "parts/$NAME/$SLURM_ARRAY_TASK_ID"

# The last shard to start submits the merge, to run after every shard of this array has ended.
if [ "$SLURM_ARRAY_TASK_ID" -eq $((SHARDS - 1)) ]; then
    sbatch --dependency="afterok:$SLURM_ARRAY_JOB_ID" --job-name=obsim-merge --output="parts/slurm-merge-%j.log" \
        --wrap="$OBSIM merge parts/$NAME/* --out $OUT"
fi
