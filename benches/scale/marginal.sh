#!/usr/bin/env bash
# What a scan and a poll each cost as the plant grows: the scale plants of run.sh
# (benches/scale/gen.py) run with and without their SCADA HMI and historian (gen.py
# --no-pollers), each for a duration and for twice it. The difference between the two
# durations is the cost of the extra simulated time alone (start-up cancels out); without
# pollers it is the PLCs' scans and the physics, and what the pollers add is the frames' cost
# (the polls, their answers, the ticks they cause). Prints, per N, CPU seconds per simulated
# hour with and without frames, the cost of a scan (physics included) and of a poll (request
# and answer), then the exponents from the smallest size to the largest.
#
#   benches/scale/marginal.sh [N:DURATION ...]    # default 100:60m 1000:10m 10000:1m
#
# Each run is repeated REPS times (default 3) and the median taken; run it pinned to one
# core (taskset -c 1) on a quiet machine. OTRANGE_BIN=path times another build.
set -euo pipefail
cd "$(dirname "$0")/../.."
sizes=("$@")
[ ${#sizes[@]} -eq 0 ] && sizes=(100:60m 1000:10m 10000:1m)
reps=${REPS:-3}
source benches/otrange-bin.sh
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
# Twice a duration such as 10m or 90s, in the same unit.
double() { python3 -c 'import re,sys; m=re.fullmatch(r"(\d+)(\D+)", sys.argv[1]); print(f"{2*int(m[1])}{m[2]}")' "$1"; }
printf '%8s %18s %18s %12s %12s\n' PLCS "CPU_S/H(FRAMES)" "CPU_S/H(NONE)" SCAN_NS POLL_US
results=()
for spec in "${sizes[@]}"; do
    n=${spec%%:*}
    d=${spec#*:}
    d2=$(double "$d")
    for kind in frames none; do
        flag=()
        [[ $kind == none ]] && flag=(--no-pollers)
        for dur in "$d" "$d2"; do
            python3 benches/scale/gen.py "$dir/$n-$kind-$dur" "$n" "$dur" "${flag[@]}"
            for ((k = 0; k < reps; k++)); do
                /usr/bin/time -f "%U %S" -a -o "$dir/$n-$kind-$dur.time" \
                    "$bin" run "$dir/$n-$kind-$dur/exercise.toml" --out "$dir/out" --no-report >/dev/null
            done
        done
    done
    line=$(python3 - "$dir" "$n" "$d" "$d2" <<'PY'
import statistics, sys
dir, n, d, d2 = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
def cpu(kind, dur):
    runs = [sum(map(float, l.split())) for l in open(f"{dir}/{n}-{kind}-{dur}.time") if l.strip()]
    return statistics.median(runs)
def hours(dur):
    unit = dur.lstrip("0123456789")
    return int(dur[: len(dur) - len(unit)]) * {"s": 1 / 3600, "m": 1 / 60, "h": 1.0}[unit]
extra = hours(d2) - hours(d)
frames = (cpu("frames", d2) - cpu("frames", d)) / extra
none = (cpu("none", d2) - cpu("none", d)) / extra
scans = n * 36_000            # 100 ms scans: 36,000 an hour each
polls = n * (1_800 + 360)     # the HMI every 2 s, the historian every 10 s
print(f"{n:8d} {frames:18.2f} {none:18.2f} {none / scans * 1e9:12.1f} "
      f"{(frames - none) / polls * 1e6:12.2f} {frames} {none}")
PY
)
    read -r -a f <<<"$line"
    printf '%8s %18s %18s %12s %12s\n' "${f[@]:0:5}"
    results+=("$n ${f[5]} ${f[6]}")
done
python3 - "${results[@]}" <<'PY'
import math, sys
pts = [tuple(map(float, a.split())) for a in sys.argv[1:]]
def exponent(a, b, k):
    # A cost below the timer's resolution (10 ms) has no exponent: run that size longer.
    return f"{math.log(b / a) / k:.2f}" if a > 0 and b > 0 else "n/a (a run too short)"
if len(pts) > 1:
    (n0, f0, z0), (n1, f1, z1) = pts[0], pts[-1]
    k = math.log(n1 / n0)
    print(f"exponent {int(n0)} -> {int(n1)} PLCs: all {exponent(f0, f1, k)}, "
          f"scans and physics {exponent(z0, z1, k)}, frames {exponent(f0 - z0, f1 - z1, k)}")
PY
