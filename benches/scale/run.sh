#!/usr/bin/env bash
# How the cost of a simulated frame grows with the plant: district-heating plants of N PLCs
# (benches/scale/gen.py: one SCADA HMI polling every PLC every 2 s, a historian every 10 s),
# each run with `otrange run --no-report` under /usr/bin/time. Prints, per N, CPU seconds
# per simulated hour, frames per CPU second, the real-time factor and peak memory, then the
# exponent of CPU time against N between successive sizes and from the smallest to the
# largest (1.0 is linear: a frame costs the same whatever the plant's size).
#
#   benches/scale/run.sh [N:DURATION ...]     # default 10:1h 100:1h 1000:10m 10000:2m
#
# The durations only keep each run short; every figure is scaled to one simulated hour.
# OTRANGE_BIN=path times another build (for example the commit before a change).
set -euo pipefail
cd "$(dirname "$0")/../.."
sizes=("$@")
[ ${#sizes[@]} -eq 0 ] && sizes=(10:1h 100:1h 1000:10m 10000:2m)
source benches/otrange-bin.sh
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
printf '%8s %10s %14s %16s %14s %10s %10s %10s\n' PLCS SIMULATED FRAMES "CPU_S/SIM_HOUR" FRAMES/CPU_S REALTIME PEAK_MB START_S
results=()
for spec in "${sizes[@]}"; do
    n=${spec%%:*}
    d=${spec#*:}
    python3 benches/scale/gen.py "$dir/$n" "$n" "$d"
    /usr/bin/time -f "%U %S %e %M" -o "$dir/$n.check" \
        "$bin" check "$dir/$n/exercise.toml" >/dev/null
    /usr/bin/time -f "%U %S %e %M" -o "$dir/$n.time" \
        "$bin" run "$dir/$n/exercise.toml" --out "$dir/$n/out" --no-report >/dev/null
    line=$(python3 - "$dir/$n" "$n" <<'PY'
import json, sys
d, n = sys.argv[1], int(sys.argv[2])
user, system, wall, kb = open(d + ".time").read().split()
cuser, csystem, cwall, _ = open(d + ".check").read().split()
start = float(cuser) + float(csystem)
cpu = max(float(user) + float(system) - start, 1e-9)
wall = max(float(wall) - float(cwall), 1e-9)
r = json.load(open(d + "/out/results.json"))
hours = r["duration_s"] / 3600.0
frames = r["network"]["sent"]
print(f'{n:8d} {hours * 60:8.1f}m {frames:14d} {cpu / hours:16.2f} {frames / max(cpu, 1e-9):14.0f} '
      f'{r["duration_s"] / wall:9.0f}x {int(kb) / 1024:10.1f} {start:10.2f} {cpu / hours}')
PY
)
    echo "${line% *}"
    results+=("$n ${line##* }")
done
python3 - "${results[@]}" <<'PY'
import math, sys
pts = [tuple(map(float, a.split())) for a in sys.argv[1:]]
for (n0, c0), (n1, c1) in zip(pts, pts[1:]):
    print(f"exponent {int(n0)} -> {int(n1)} PLCs: {math.log(c1 / c0) / math.log(n1 / n0):.2f}")
# Across the whole range too, from the second size when there are more than three (the
# smallest plant's run is too short for its CPU time to mean much).
if len(pts) >= 3:
    (n0, c0), (n1, c1) = pts[1 if len(pts) > 3 else 0], pts[-1]
    print(f"exponent {int(n0)} -> {int(n1)} PLCs: {math.log(c1 / c0) / math.log(n1 / n0):.2f}")
PY
