#!/usr/bin/env bash
# Where the reference plant's simulated hour goes: the whole plant against the same plant
# without its filtration cell's two remote I/O modules (their four TSN streams, one frame
# each every 32 ms: 450,000 of the hour's 575,690 frames). Without them the cell's PLC
# reads nothing from the field, so the process drifts from the reference run: this is a
# measurement of cost, not a run to compare outputs with.
#
#   benches/scale/reference_split.sh [RUNS]     # default 5 alternating pairs
#
# Each run's own timing of its simulation loop (timing.json's wall_seconds), pinned to one
# core when taskset is there. Prints every pair, then the medians and the share of the
# hour the TSN cell takes. OTRANGE_BIN=path times another build.
set -euo pipefail
cd "$(dirname "$0")/../.."
runs=${1:-5}
source benches/otrange-bin.sh
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

# The plant without its [[remote_io]] entries; the exercise without the expectation on the
# streams' deadlines (there are no streams left to meet them).
cp -r scenarios/water-treatment "$dir/"
python3 - "$dir/water-treatment/plant.toml" <<'PY'
import re, sys
path = sys.argv[1]
text = open(path).read()
blocks = re.split(r"(?m)^(?=\[\[?[^\]]+\]\]?\s*$)", text)
kept = [b for b in blocks if not b.startswith("[[remote_io]]")]
if len(kept) == len(blocks):
    sys.exit("reference_split.sh: no [[remote_io]] in " + path)
open(path, "w").write("".join(kept))
PY
grep -v '^max_deadline_misses' scenarios/water-treatment.toml >"$dir/water-treatment.toml"

pin=()
command -v taskset >/dev/null && pin=(taskset -c 1)
loop() {
    rm -rf "$dir/out"
    "${pin[@]}" "$bin" run "$1" --duration 1h --no-report --out "$dir/out" >/dev/null || true
    python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["wall_seconds"])' "$dir/out/timing.json"
}
whole=()
rest=()
printf '%6s %12s %16s\n' PAIR WHOLE_S WITHOUT_TSN_S
for ((k = 1; k <= runs; k++)); do
    whole+=("$(loop scenarios/water-treatment.toml)")
    rest+=("$(loop "$dir/water-treatment.toml")")
    printf '%6d %12.4f %16.4f\n' "$k" "${whole[-1]}" "${rest[-1]}"
done
python3 - "${whole[*]}" "${rest[*]}" <<'PY'
import statistics, sys
whole = statistics.median(float(x) for x in sys.argv[1].split())
rest = statistics.median(float(x) for x in sys.argv[2].split())
print(f"median: whole {whole:.4f} s ({3600 / whole:,.0f}x real time), "
      f"without the TSN cell {rest:.4f} s ({3600 / rest:,.0f}x); "
      f"the TSN cell's share {(whole - rest) / whole:.0%}")
PY
