#!/usr/bin/env bash
# What TSN costs the simulation. Two measurements, each on one core (taskset -c 0), best of
# ROUNDS runs:
#
#  1. The TSN benchmark plant (benches/tsn/gen.py): SWITCHES TSN switches in a line, STREAMS
#     streams of 1 ms crossing two switches' gate logic each (1,000 streams: a million frames
#     per simulated second). One simulated second, and the same plant run for 1 ms to tell
#     start-up (building the plant, its routes) from the frames.
#  2. The reference exercise for one simulated hour as shipped (the filtration cell's four
#     remote I/O streams at 32 ms), and with the cell's I/O cycle stretched to an hour (the
#     same plant with next to no TSN traffic): the difference is what the cell costs.
#
#   bash benches/tsn/run.sh [SWITCHES] [STREAMS] [ROUNDS]      # default 100 1000 3
#
# Needs a release build (cargo build --release), python3 and GNU time.
set -euo pipefail
cd "$(dirname "$0")/../.."
SWITCHES=${1:-100}
STREAMS=${2:-1000}
ROUNDS=${3:-3}
BIN=$PWD/target/release/otrange
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT

# best LABEL ARGS...: the fastest of ROUNDS runs of otrange ARGS, as "seconds KB".
best() {
    local label=$1 t best_t="" best_kb=""
    shift
    for _ in $(seq "$ROUNDS"); do
        taskset -c 0 /usr/bin/time -f "%e %M" -o "$OUT/time" "$BIN" "$@" --no-report --out "$OUT/run" >/dev/null
        read -r t kb <"$OUT/time"
        if [[ -z "$best_t" ]] || awk -v a="$t" -v b="$best_t" 'BEGIN { exit !(a < b) }'; then
            best_t=$t best_kb=$kb
        fi
    done
    printf '%-58s %7.2f s %8d KB\n' "$label" "$best_t" "$best_kb"
}

python3 benches/tsn/gen.py "$OUT/bench" "$SWITCHES" "$STREAMS"
echo "TSN benchmark: $SWITCHES switches, $STREAMS streams of 1 ms"
best "  start-up only (1 ms simulated)" run "$OUT/bench/exercise.toml" --duration 1ms
best "  1 simulated second" run "$OUT/bench/exercise.toml"
python3 - "$OUT/run/results.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
misses = sum(s["deadline_misses"] for s in r["tsn"]["streams"])
print(f"  {r['network']['delivered']:,} frames delivered, {misses} deadline misses")
PY

cp -r scenarios "$OUT/sc"
sed -i 's/^cycle = "32ms"/cycle = "1h"/; s/^watchdog = "96ms"/watchdog = "3h"/' "$OUT/sc/water-treatment/plant.toml"
echo "Reference exercise, 1 simulated hour"
best "  as shipped (4 remote I/O streams of 32 ms)" run scenarios/water-treatment.toml --duration 1h
best "  the cell's I/O cycle stretched to 1 h (no TSN traffic)" run "$OUT/sc/water-treatment.toml" --duration 1h
