#!/usr/bin/env bash
# Side-by-side kernel benchmark: Obsim (release build) and SimPy 4.1 on the same seeded workloads, in
# the same run, with the bit-for-bit cross-check. Optional: it needs an independent SimPy program of the
# two workloads (`simpy_bench.py`, kept outside this repository so the comparison stays independent),
# named by REF=PATH. SimPy itself is installed into a venv outside the repository.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-5}
REF=${REF:-}
VENV=${SIMPY_VENV:-$HOME/.cache/obsim-simpy-venv}
if [ -z "$REF" ] || [ ! -f "$REF" ]; then
    echo "bench-vs-simpy: give the SimPy reference program with REF=PATH/simpy_bench.py (got '${REF}'); it is not part of this repository" >&2
    exit 2
fi
if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q simpy==4.1.2
fi
swift build -c release -Xswiftc -enable-testing >/dev/null
OBSIM=.build/release/obsim
obsim_timeout=$($OBSIM bench kernel --workload timeout --runs "$RUNS" --json)
obsim_mmc=$($OBSIM bench kernel --workload mmc --runs 3 --json)
simpy=$("$VENV/bin/python" "$REF" all --runs "$RUNS")
field() { grep -o "\"$1\": [^,}]*" | head -1 | sed 's/.*: //; s/"//g'; }
o_sum=$(echo "$obsim_timeout" | head -1 | field checksum_hex)
s_sum=$(echo "$simpy" | grep '"workload": "timeout"' | head -1 | field checksum_hex)
o_wait=$(echo "$obsim_mmc" | head -1 | field sum_wait_hex)
s_wait=$(echo "$simpy" | grep '"workload": "mmc"' | head -1 | field sum_wait_hex)
o_rate=$(echo "$obsim_timeout" | tail -1 | field median_events_per_s)
s_rate=$(echo "$simpy" | grep median_events_per_s | field median_events_per_s)
o_mmc=$(echo "$obsim_mmc" | tail -1 | field median_customers_per_s)
s_mmc=$(echo "$simpy" | grep median_customers_per_s | field median_customers_per_s)
# Python's float.hex() and C's %a spell the same double differently; compare the values.
same() { python3 -c "import sys; print('identical' if float.fromhex(sys.argv[1]) == float.fromhex(sys.argv[2]) else 'DIFFERENT')" "$1" "$2"; }
echo "timeout checksum: obsim $o_sum, simpy $s_sum: $(same "$o_sum" "$s_sum")"
echo "mmc sum of waits: obsim $o_wait, simpy $s_wait: $(same "$o_wait" "$s_wait")"
python3 -c "import sys; o,s=float(sys.argv[1]),float(sys.argv[2]); print(f'timeout: obsim {o/1e6:.2f} M events/s, simpy {s/1e6:.2f} M events/s, ratio {o/s:.1f}x (median of $RUNS)')" "$o_rate" "$s_rate"
python3 -c "import sys; o,s=float(sys.argv[1]),float(sys.argv[2]); print(f'mmc: obsim {o/1e3:.0f} k customers/s, simpy {s/1e3:.0f} k customers/s, ratio {o/s:.1f}x')" "$o_mmc" "$s_mmc"
