#!/usr/bin/env bash
# `otrange detect --pcap` against tshark on the same capture, one core each.
#
# The capture is the reference plant simulated for two hours with `otrange run --pcap`
# (real Ethernet/IPv4/TCP with Modbus TCP, plus the plant's IT flows). The detectors are the
# plant's Modbus rules (scenarios/detectors/rules/plant-modbus.rules, with the plant's
# clients given as addresses, since a capture's hosts are named by address) and an
# allow-list learning the first hour. tshark dissects the same file with a Modbus display
# filter, which is the least it must do to find what the rules look at. Both run on the
# capture and on its Modbus traffic alone, and `cat` of each file shows what reading it
# costs by itself (the floor under any tool on this machine).
#
#   benches/detect/run.sh              # from anywhere; prints a Markdown table
#
# Settings, from the environment:
#   OTRANGE_BIN      the otrange binary (default: target/release/otrange; build it with
#                    `cargo build --release`)
#   DURATION=2h      simulated time captured
#   ROUNDS=3         timed runs of otrange detect and of cat (the fastest counts); tshark
#                    runs once
#   CPU=0            the core both run on (taskset)
#   KEEP=1           keep the work directory (capture, outputs)

set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"

BIN=${OTRANGE_BIN:-$ROOT/target/release/otrange}
DURATION=${DURATION:-2h}
ROUNDS=${ROUNDS:-3}
CPU=${CPU:-0}

for tool in "$BIN" tshark taskset python3; do
    command -v "$tool" >/dev/null || { echo "error: $tool not found" >&2; exit 2; }
done

WORK=$(mktemp -d "${TMPDIR:-/tmp}/otrange-detect-bench.XXXXXX")
if [[ -z "${KEEP:-}" ]]; then
    trap 'rm -rf "$WORK"' EXIT
else
    echo "work directory: $WORK" >&2
fi

echo "simulating $DURATION of the reference plant with --pcap ..." >&2
"$BIN" run scenarios/water-treatment.toml --duration "$DURATION" --pcap --out "$WORK/run" >"$WORK/run.log" || {
    # Exit 1 means an expectation of the 24 h exercise failed on a shorter run: the
    # capture is still written.
    [[ -f "$WORK/run/capture.pcap" ]] || { cat "$WORK/run.log" >&2; exit 1; }
}
PCAP=$WORK/run/capture.pcap

cat >"$WORK/detectors.toml" <<TOML
[[detector]]
kind = "rules"
name = "plant rules"
rules = "$ROOT/scenarios/detectors/rules/plant-modbus.rules"
vars = { MODBUS_CLIENT = "[10.20.1.11, 10.20.1.12, 10.30.1.10]", ENGINEERING = "10.20.1.20", HMI = "[10.20.1.11, 10.20.1.12]", DOSING = "10.10.1.22", REMOTE_ACCESS = "10.35.1.20" }

[[detector]]
kind = "allow-list"
name = "allow-list"
learn = "1h"
TOML

# Wall-clock seconds of a command on one core; its stdout goes to the file $1, its stderr
# to $1.err.
timed() {
    local out=$1 t0 t1
    shift
    t0=$(date +%s.%N)
    if ! taskset -c "$CPU" "$@" >"$out" 2>"$out.err"; then
        echo "error: $* failed:" >&2
        cat "$out.err" >&2
        return 1
    fi
    t1=$(date +%s.%N)
    python3 -c "print(f'{$t1 - $t0:.3f}')"
}

# The fastest of ROUNDS runs of otrange detect on the capture $1 (report in $2).
detect_best() {
    local pcap=$1 out=$2 best="" s i
    for i in $(seq "$ROUNDS"); do
        s=$(timed "$WORK/detect.log" "$BIN" detect --pcap "$pcap" --detectors "$WORK/detectors.toml" --out "$out")
        echo "otrange detect $(basename "$pcap") round $i: $s s" >&2
        if [[ -z "$best" ]] || python3 -c "import sys; sys.exit(0 if $s < $best else 1)"; then best=$s; fi
    done
    echo "$best"
}

# The same capture with its Modbus traffic only (what the detectors are for): the plant's
# IT flows make up three quarters of the bytes.
MODBUS=$WORK/modbus.pcap
tshark -n -r "$PCAP" -Y "tcp.port==502" -F pcap -w "$MODBUS" 2>/dev/null

rows=()
for pcap in "$PCAP" "$MODBUS"; do
    ours=$(detect_best "$pcap" "$WORK/detect-$(basename "$pcap" .pcap)")
    echo "tshark -Y mbtcp $(basename "$pcap") ..." >&2
    theirs=$(timed /dev/null tshark -n -r "$pcap" -Y mbtcp)
    # The least any tool must do: read the file once (the fastest of ROUNDS).
    floor=""
    for i in $(seq "$ROUNDS"); do
        f=$(timed /dev/null cat "$pcap")
        if [[ -z "$floor" ]] || python3 -c "import sys; sys.exit(0 if $f < $floor else 1)"; then floor=$f; fi
    done
    rows+=("$pcap" "$WORK/detect-$(basename "$pcap" .pcap)/detect.json" "$ours" "$theirs" "$floor")
done

python3 - "$DURATION" "${rows[@]}" <<'PY'
import json, os, sys
duration, rows = sys.argv[1], sys.argv[2:]
print(f"capture: {duration} of the reference plant (otrange run --pcap), and its Modbus traffic alone")
print()
print("| capture | frames | MB | otrange detect --pcap s | tshark -Y mbtcp s | cat F > /dev/null s | otrange / tshark | 100x tshark needs |")
print("|---|---:|---:|---:|---:|---:|---:|---:|")
for i in range(0, len(rows), 5):
    pcap, report, ours, theirs, floor = rows[i], rows[i + 1], *map(float, rows[i + 2:i + 5])
    d = json.load(open(report))
    frames = d["capture"]["stats"]["packets"]
    size = os.path.getsize(pcap) / 1e6
    print(f"| {os.path.basename(pcap)} | {frames:,} | {size:.1f} | {ours:.3f} | {theirs:.3f} | {floor:.3f} "
          f"| {theirs / ours:.0f}x | {theirs / 100:.3f} s |")
PY
