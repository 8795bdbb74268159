#!/usr/bin/env bash
# Does watching slow the plant? Runs the reference exercise live for a fixed wall time with
# the console on, first with no viewer, then with N event-stream viewers (curl -N on
# /api/stream, as a browser's EventSource reads it), and prints, for each: the speed achieved,
# the HMIs' p99 poll latency and timeouts (from results.json), and the CPU the otrange
# process used (user + system, from /proc).
#
#   bash benches/console/run.sh [VIEWERS] [SPEED] [SECONDS]      # default 50 20 30
#
# Needs a release build (cargo build --release) and curl. Binds the plant's loopback
# addresses and 127.0.0.1:18090; run it alone.
set -euo pipefail
cd "$(dirname "$0")/../.."
VIEWERS=${1:-50}
SPEED=${2:-20}
SECS=${3:-30}
BIN=target/release/otrange
DUR=$(python3 -c "print(f'{$SPEED * $SECS}s')")
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT

run() {
  local viewers=$1 dir="$OUT/v$1"
  "$BIN" live scenarios/water-treatment.toml --speed "$SPEED" --duration "$DUR" \
    --console 127.0.0.1:18090 --out "$dir" > "$OUT/log$viewers" 2>&1 &
  local pid=$!
  for _ in $(seq 50); do
    grep -q "instructor token" "$OUT/log$viewers" 2>/dev/null && break
    sleep 0.1
  done
  local curls=()
  for _ in $(seq "$viewers"); do
    curl -s -N http://127.0.0.1:18090/api/stream > /dev/null &
    curls+=($!)
  done
  # CPU of the otrange process just before it exits: utime + stime, in clock ticks.
  local ticks=0
  while kill -0 "$pid" 2>/dev/null; do
    ticks=$(awk '{print $14 + $15}' "/proc/$pid/stat" 2>/dev/null || echo "$ticks")
    sleep 0.2
  done
  wait "$pid" || true
  for c in "${curls[@]}"; do kill "$c" 2>/dev/null || true; done
  wait 2>/dev/null || true
  python3 - "$dir/results.json" "$viewers" "$ticks" "$(getconf CLK_TCK)" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
viewers, ticks, hz = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
live = r["live"]
p99 = max(h["latency"]["p99_ms"] for h in r["hmis"])
timeouts = sum(h["timeouts"] for h in r["hmis"])
print(f"{viewers:3d} viewers: achieved {live['achieved_speed']:.2f}x of {live['requested_speed']:g}x, "
      f"max lag {live['max_lag_wall_s'] * 1e3:.1f} ms, HMI p99 {p99:.1f} ms, {timeouts} timeouts, "
      f"CPU {ticks / hz:.2f} s over {live['wall_s']:.1f} s")
PY
}

run 0
run "$VIEWERS"
