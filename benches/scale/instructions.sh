#!/usr/bin/env bash
# How the *work* of a simulated hour grows with the plant, apart from how fast the machine
# does it: the same district-heating plants as run.sh, each run under valgrind's cachegrind,
# which counts the instructions executed and simulates the first-level data cache (D1) and
# a second level (CG_LL below). The counts are the same from one run to the next whatever
# else the machine is doing, so two builds compare exactly.
#
#   benches/scale/instructions.sh [N:DURATION ...]   # default 100:10m 1000:1m 10000:15s
#
# Each size runs twice, for DURATION and for twice it, and the difference is scaled to one
# simulated hour: loading the plant and starting the run cancel out. Prints, per N, the
# instructions, D1 misses and second-level misses per simulated hour, then the exponent of
# each against N between successive sizes and from the smallest to the largest.
# Instructions growing as N (exponent 1.0) while CPU time (run.sh) grows faster means the
# extra time is the memory hierarchy: a larger plant's state no longer fits in the caches.
# Under cachegrind a run is about 50 times slower: the default took about 10 minutes here.
# OTRANGE_BIN=path counts another build (two builds' counts compare exactly).
#
# cachegrind models two levels: D1 as it finds it on the machine, and as the last level
# CG_LL ("size,associativity,line size"), by default 1 MiB, 8-way, 64-byte lines, the
# second-level cache of each core of the machine most of docs/src/performance.md was
# measured on (AMD EPYC: 32 KiB D1, 1 MiB L2 a core, 32 MiB L3 shared); its section on a
# larger server used CG_LL=2097152,16,64 (a Xeon's 2 MiB L2). The second level is where a
# growing plant's state first spills; its misses go to the L3 or to memory. (Left to
# itself, cachegrind 3.19 took that machine's last level for 256 MiB, direct-mapped.)
set -euo pipefail
cd "$(dirname "$0")/../.."
command -v valgrind >/dev/null || { echo "instructions.sh needs valgrind (apt-get install valgrind)" >&2; exit 2; }
sizes=("$@")
[ ${#sizes[@]} -eq 0 ] && sizes=(100:10m 1000:1m 10000:15s)
source benches/otrange-bin.sh
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

# Prints "instructions d1_misses ll_misses" of one run.
counts() {
    valgrind --tool=cachegrind --cache-sim=yes --LL="${CG_LL:-1048576,8,64}" --cachegrind-out-file=/dev/null \
        "$bin" run "$1/exercise.toml" --out "$1/out" --no-report 2>&1 >/dev/null |
        python3 -c '
import re, sys
got = {}
for line in sys.stdin:
    m = re.search(r"(I|D1|LL) +(refs|misses):\s+([\d,]+)", line)
    if m and (m.group(1), m.group(2)) in (("I", "refs"), ("D1", "misses"), ("LL", "misses")):
        got[m.group(1)] = int(m.group(3).replace(",", ""))
print(got["I"], got["D1"], got["LL"])'
}

printf '%8s %10s %18s %16s %16s\n' PLCS SIMULATED INSTR/SIM_HOUR D1_MISS/SIM_HOUR L2_MISS/SIM_HOUR
results=()
for spec in "${sizes[@]}"; do
    n=${spec%%:*}
    d=${spec#*:}
    python3 benches/scale/gen.py "$dir/$n-a" "$n" "$d"
    a=$(counts "$dir/$n-a")
    hours=$(python3 -c "import json; print(json.load(open('$dir/$n-a/out/results.json'))['duration_s'] / 3600)")
    # The second run lasts twice as long: write its duration in seconds.
    python3 benches/scale/gen.py "$dir/$n-b" "$n" "$(python3 -c "print(f'{round($hours * 3600 * 2)}s')")"
    b=$(counts "$dir/$n-b")
    line=$(python3 - "$n" "$d" "$hours" $a $b <<'PY'
import sys
n, d, hours = int(sys.argv[1]), sys.argv[2], float(sys.argv[3])
a = list(map(int, sys.argv[4:7]))
b = list(map(int, sys.argv[7:10]))
# A count that start-up's noise makes negative (no L2 misses after loading) shows as 0.
per_hour = [max(0.0, (y - x) / hours) for x, y in zip(a, b)]
print(f"{n:8d} {d:>10} {per_hour[0]:18.4g} {per_hour[1]:16.4g} {per_hour[2]:16.4g}|"
      + " ".join(str(v) for v in per_hour))
PY
)
    echo "${line%%|*}"
    results+=("$n ${line#*|}")
done
python3 - "${results[@]}" <<'PY'
import math, sys
pts = [tuple(map(float, a.split())) for a in sys.argv[1:]]
names = ("instructions", "D1 misses", "L2 (CG_LL) misses")
def exponent(p0, p1, k):
    if p0[k] <= 0 or p1[k] <= 0:
        return "n/a (none)"
    return f"{math.log(p1[k] / p0[k]) / math.log(p1[0] / p0[0]):.2f}"
pairs = list(zip(pts, pts[1:]))
if len(pts) > 2:
    pairs.append((pts[0], pts[-1]))
for p0, p1 in pairs:
    print(f"exponent {int(p0[0])} -> {int(p1[0])} PLCs: "
          + ", ".join(f"{name} {exponent(p0, p1, k + 1)}" for k, name in enumerate(names)))
PY
