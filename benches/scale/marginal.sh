#!/usr/bin/env bash
# What a scan and a poll each cost as the plant grows: the scale plants of run.sh
# (benches/scale/gen.py) run with and without their SCADA HMI and historian (gen.py
# --no-pollers). Each run's own timing of its simulation loop (timing.json's wall_seconds:
# from the first tick to the last, with the events written as they come, but not the parsing
# and building of the plant) is the cost of the simulated time; without pollers
# it is the PLCs' scans and the physics, and what the pollers add is the frames' cost (the
# polls, their answers, the ticks they cause). Prints, per N, seconds per simulated hour with
# and without frames, the cost of a scan (physics included) and of a poll (request and
# answer), then the exponents from the smallest size to the largest.
#
#   benches/scale/marginal.sh [N:DURATION ...]    # default 100:60m 1000:10m 10000:1m
#
# The loop runs on one thread: pinned to one core (taskset -c 1) on a quiet machine its wall
# time is its CPU time. (Until 2026-12-06 the script subtracted the CPU time of whole runs
# of a duration and of twice it; the kernel's time to give a process huge pages at start-up
# varies from run to run by more than the changes it was measuring.) Each run is repeated
# REPS times (default 3) and the median taken. OTRANGE_BIN=path times another build.
set -euo pipefail
cd "$(dirname "$0")/../.."
sizes=("$@")
[ ${#sizes[@]} -eq 0 ] && sizes=(100:60m 1000:10m 10000:1m)
reps=${REPS:-3}
source benches/otrange-bin.sh
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
printf '%8s %18s %18s %12s %12s\n' PLCS "LOOP_S/H(FRAMES)" "LOOP_S/H(NONE)" SCAN_NS POLL_US
results=()
for spec in "${sizes[@]}"; do
    n=${spec%%:*}
    d=${spec#*:}
    for kind in frames none; do
        flag=()
        [[ $kind == none ]] && flag=(--no-pollers)
        python3 benches/scale/gen.py "$dir/$n-$kind" "$n" "$d" "${flag[@]}"
        for ((k = 0; k < reps; k++)); do
            "$bin" run "$dir/$n-$kind/exercise.toml" --out "$dir/out" --no-report >/dev/null
            python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["wall_seconds"])' \
                "$dir/out/timing.json" >>"$dir/$n-$kind.loop"
        done
    done
    line=$(python3 - "$dir" "$n" "$d" <<'PY'
import statistics, sys
dir, n, d = sys.argv[1], int(sys.argv[2]), sys.argv[3]
def loop(kind):
    return statistics.median(float(l) for l in open(f"{dir}/{n}-{kind}.loop") if l.strip())
unit = d.lstrip("0123456789")
hours = int(d[: len(d) - len(unit)]) * {"s": 1 / 3600, "m": 1 / 60, "h": 1.0}[unit]
frames = loop("frames") / hours
none = loop("none") / hours
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
    # Frames cost nothing only if a plant's pollers were left out: no exponent then.
    return f"{math.log(b / a) / k:.2f}" if a > 0 and b > 0 else "n/a"
if len(pts) > 1:
    (n0, f0, z0), (n1, f1, z1) = pts[0], pts[-1]
    k = math.log(n1 / n0)
    print(f"exponent {int(n0)} -> {int(n1)} PLCs: all {exponent(f0, f1, k)}, "
          f"scans and physics {exponent(z0, z1, k)}, frames {exponent(f0 - z0, f1 - z1, k)}")
PY
