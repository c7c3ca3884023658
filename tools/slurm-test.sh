#!/usr/bin/env bash
# The cluster path on a real Slurm: starts munged, slurmctld and slurmd on this host (one node, state in a
# temporary folder, stopped by PID on exit), submits Scenarios/cluster/slurm-array.sh exactly as README.md
# says, and checks that
#   1. the merged summary.json is byte-identical to a single run's, and
#   2. a cancelled shard makes the merge job fail with a message naming it, in bounded time.
# Installs Debian's slurm-wlm and munge with apt-get when missing. Needs root (the daemons run as root)
# and the release build (.build/release/obsim). Small on purpose: 4 shards of a 40-trial study.
set -euo pipefail
cd "$(dirname "$0")/.."

SCENARIO=Scenarios/latiss-weekly.yaml
TRIALS=40
SHARDS=4
WAIT_S=${WAIT_S:-300}
OBSIM=${OBSIM:-.build/release/obsim}
export OBSIM

fail() { echo "slurm-test: FAIL: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || fail "needs root: it starts slurmctld, slurmd and munged"
[ -x "$OBSIM" ] || fail "$OBSIM is not built (make release)"
if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
    echo "slurm-test: installing slurm-wlm and munge with apt-get"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends slurm-wlm munge >/dev/null
fi

T=$(mktemp -d /tmp/obsim-slurm.XXXXXX)
pids=()
stop() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do
        for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$p" 2>/dev/null || true
    done
    # The test's own report folders, under parts/ (its scenario name is the only one it uses there).
    rm -rf "parts/$NAME_IN_PARTS"
    rmdir parts 2>/dev/null || true
    rm -rf "$T"
}
NAME_IN_PARTS=slurm-test-$$
trap stop EXIT

# munge: its own key, socket and state, not the system's.
dd if=/dev/urandom of="$T/munge.key" bs=1024 count=1 status=none
chmod 600 "$T/munge.key"
mkdir -m 700 "$T/munge"
chmod 711 "$T/munge"
munged --force --key-file="$T/munge.key" --socket="$T/munge/socket" --pid-file="$T/munge/pid" \
    --log-file="$T/munge/log" --seed-file="$T/munge/seed" --foreground >"$T/munged.out" 2>&1 &
pids+=($!)

host=$(hostname -s)
port=$((20000 + RANDOM % 20000))
memory=$(awk '/MemTotal/ { print int($2 / 1024 / 2) }' /proc/meminfo)
mkdir -p "$T/state" "$T/spool"
cat > "$T/slurm.conf" <<EOF
ClusterName=obsimci
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$port
SlurmdPort=$((port + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$T/munge/socket
CredType=cred/munge
StateSaveLocation=$T/state
SlurmdSpoolDir=$T/spool
SlurmctldPidFile=$T/slurmctld.pid
SlurmdPidFile=$T/slurmd.pid
SlurmctldLogFile=$T/slurmctld.log
SlurmdLogFile=$T/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
MpiDefault=none
ReturnToService=2
MinJobAge=600
NodeName=$host NodeAddr=127.0.0.1 CPUs=2 RealMemory=$memory State=UNKNOWN
PartitionName=ci Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
export SLURM_CONF=$T/slurm.conf
slurmctld -D -i -f "$SLURM_CONF" >"$T/slurmctld.out" 2>&1 &
pids+=($!)
slurmd -D -f "$SLURM_CONF" >"$T/slurmd.out" 2>&1 &
pids+=($!)

# Bounded waits: a condition checked every second for at most WAIT_S seconds.
wait_for() {
    local what=$1; shift
    for _ in $(seq "$WAIT_S"); do "$@" && return 0; sleep 1; done
    squeue >&2 || true
    tail -n 20 "$T/slurmctld.log" "$T/slurmd.log" "$T/munged.out" >&2 || true
    fail "timed out after $WAIT_S s waiting for $what"
}
node_idle() { sinfo -h -o %T 2>/dev/null | grep -qx idle; }
job_gone() { [ -z "$(squeue -h -j "$1" 2>/dev/null)" ]; }
job_state() { scontrol show job "$1" | sed -n 's/.*JobState=\([A-Z_]*\).*/\1/p'; }
wait_for "the node to come up" node_idle

# The scenario under a name of its own, so the test's parts/ never mixes with a user's.
# Its block files come along: a scenario finds them in Sequences/ beside it.
cp "$SCENARIO" "$T/$NAME_IN_PARTS.yaml"
cp -r Sequences "$T/Sequences"
study=$T/$NAME_IN_PARTS.yaml
"$OBSIM" run "$study" --trials "$TRIALS" --out "$T/single" >"$T/single.log" 2>&1 || { cat "$T/single.log" >&2; fail "the single run failed"; }

echo "slurm-test: 1. $SHARDS shards, merged, against a single run"
started=$(date +%s)
out=$(SHARDS=$SHARDS OBSIM_RUN_ARGS="--trials $TRIALS" Scenarios/cluster/slurm-array.sh "$study" "$T/merged")
echo "$out"
merge=$(echo "$out" | sed -n 's/^merge job: \([0-9]*\).*/\1/p')
[ -n "$merge" ] || fail "no merge job id in the script's output"
wait_for "merge job $merge" job_gone "$merge"
[ "$(job_state "$merge")" = COMPLETED ] || { cat "parts/$NAME_IN_PARTS"/logs/merge-"$merge".log >&2; fail "merge job $merge ended $(job_state "$merge")"; }
cmp "$T/single/summary.json" "$T/merged/summary.json" || fail "merged summary.json differs from the single run's"
echo "slurm-test: merged summary.json is byte-identical to the single run's ($(( $(date +%s) - started )) s)"

echo "slurm-test: 2. a cancelled shard"
started=$(date +%s)
out=$(SHARDS=$SHARDS OBSIM_RUN_ARGS="--trials $TRIALS" Scenarios/cluster/slurm-array.sh "$study" "$T/cancelled")
array=$(echo "$out" | sed -n 's/^shards: job array \([0-9]*\).*/\1/p')
merge=$(echo "$out" | sed -n 's/^merge job: \([0-9]*\).*/\1/p')
scancel "${array}_$((SHARDS - 1))"
wait_for "merge job $merge after a cancelled shard" job_gone "$merge"
state=$(job_state "$merge")
log="parts/$NAME_IN_PARTS/logs/merge-$merge.log"
[ "$state" = FAILED ] || fail "merge job $merge ended $state, not FAILED"
grep -q "shard(s) $((SHARDS - 1)) of job array $array did not finish" "$log" || { cat "$log" >&2; fail "the merge log does not name the cancelled shard"; }
[ ! -e "$T/cancelled" ] || fail "a report was written although a shard was cancelled"
echo "slurm-test: merge job failed naming shard $((SHARDS - 1)) ($(( $(date +%s) - started )) s): $(cat "$log")"
echo "slurm-test: passed"
