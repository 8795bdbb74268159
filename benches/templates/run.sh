#!/usr/bin/env bash
# How long a plant of N templated cells takes to load: the pumping-station fixture of
# tests/fixtures/templates instantiated N times (default 1000), then `otrange check`
# (expand the templates, parse, build the world) timed with /usr/bin/time.
#
#   benches/templates/run.sh [N]
set -euo pipefail
cd "$(dirname "$0")/../.."
n=${1:-1000}
cargo build --release --quiet --bin otrange
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cp -r tests/fixtures/templates/. "$dir"
sed -i "s/range = { n = \[1, 50\] }/range = { n = [1, $n] }/; s/ps-50-plc/ps-$n-plc/" "$dir/stations.toml"
lines=$(( $(wc -l < "$dir/stations.toml") ))
echo "$n cells from a $(wc -l < "$dir/cells/pumping-station.toml")-line template and a $lines-line plant file"
for i in 1 2 3; do
    /usr/bin/time -f "check: %e s wall, %M KB peak" target/release/otrange check "$dir/stations-exercise.toml" >/dev/null
done
