#!/usr/bin/env bash
# Byte-for-byte guard for restructurings: runs every shipped exercise at its own duration and
# seed with every output switched on (--pcap --log-frames), and `otrange detect` on every
# bundled real capture, and a generated 200-PLC plant, and hashes what they wrote.
#
#   benches/golden/run.sh           compare with benches/golden/hashes.txt (exit 1 on a change)
#   benches/golden/run.sh --record  rewrite hashes.txt (say in the commit why outputs changed)
#
# Takes about four minutes on a 2-core machine (the two 24 h exercises dominate).
set -euo pipefail
cd "$(dirname "$0")/../.."
record=0
[[ "${1:-}" == "--record" ]] && record=1

# OTRANGE_BIN: a binary built elsewhere (for example from the commit before a change).
source benches/otrange-bin.sh
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
now="$out/hashes.txt"
# hash_outputs NAME FILE...: one line per file of $out/NAME, "absent" where it was not written.
hash_outputs() {
    local name=$1 f h
    shift
    for f in "$@"; do
        if [[ -f "$out/$name/$f" ]]; then
            h=$(sha256sum "$out/$name/$f" | cut -d' ' -f1)
        else
            h=absent
        fi
        echo "$name/$f $h" >>"$now"
    done
}
for ex in scenarios/*.toml; do
    # scenarios/benchmark.toml is a sweep, not an exercise.
    grep -q '^\[exercise\]' "$ex" || continue
    name=$(basename "$ex" .toml)
    rc=0
    "$bin" run "$ex" --pcap --log-frames --out "$out/$name" >/dev/null || rc=$?
    # 0: every expectation held, 1: one failed; both are outcomes worth guarding.
    ((rc <= 1)) || { echo "otrange run $ex failed with exit code $rc" >&2; exit 1; }
    echo "$name/exit-code $rc" >>"$now"
    hash_outputs "$name" results.json events.jsonl alerts.eve.json capture.pcap capture-labels.csv process.csv
done
# A generated plant much larger than the shipped ones (benches/scale/gen.py: 200 PLCs, one
# SCADA HMI and a historian polling all of them), for the indexes that only matter at scale.
python3 benches/scale/gen.py "$out/scale-200-plant" 200 10m >/dev/null
rc=0
"$bin" run "$out/scale-200-plant/exercise.toml" --log-frames --out "$out/scale-200" >/dev/null || rc=$?
echo "scale-200/exit-code $rc" >>"$now"
hash_outputs scale-200 results.json events.jsonl process.csv
# Real captures through `otrange detect` (reassembly, framing, the rules and allow-list).
for cap in tests/data/pcaps/*.pcap; do
    name=detect-$(basename "$cap" .pcap)
    rc=0
    "$bin" detect --pcap "$cap" --out "$out/$name" >/dev/null || rc=$?
    echo "$name/exit-code $rc" >>"$now"
    hash_outputs "$name" detect.json alerts.eve.json
done
if ((record)); then
    cp "$now" benches/golden/hashes.txt
    echo "recorded $(wc -l <"$now") hashes in benches/golden/hashes.txt"
elif diff -u benches/golden/hashes.txt "$now"; then
    echo "all $(wc -l <"$now") outputs byte-identical"
else
    echo "outputs changed (diff above)" >&2
    exit 1
fi
