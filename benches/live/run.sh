#!/usr/bin/env bash
# The live-mode benchmark of issue 3: `otrange live` PLCs at zero response time against a
# libmodbus server and a pymodbus server on the same machine, driven by the same load
# generator (`otrange-loadgen`, benches/live/loadgen.rs: tokio-modbus clients, each reading 10
# holding registers back to back), then the memory each server needs to hold 1,000 idle
# connections.
#
#   benches/live/run.sh            # from anywhere; prints a Markdown table
#
# Everything listens on its own 127.0.0.0/8 address and is killed on exit. Settings, from
# the environment:
#   DURATION=3s      counted time per measurement (after a 0.5 s warm-up)
#   ROUNDS=3         measurements per server and connection count, interleaved; the
#                    table shows the round with the median requests/s
#   CONNECTIONS="1 4 16"
#   IDLE=1000        idle connections for the memory measurement; HOLD=5s how long
#   THREADS=         client runtime threads (default: one per CPU)
#   CLIENT_BUSY_POLL="0s 50us"
#                    the load generator's --busy-poll settings; every server is measured
#                    with each, and credited with the one that serves it best (a client
#                    that spins shortens a fast server's round trips but takes CPU from a
#                    server that needs the whole machine)
#   PORT=5020        port for all three servers (the PLC takes 502 when it may)
#   CARGO_TARGET_DIR where cargo builds (default: target/)
#   KEEP=1           keep the work directory (logs, JSON of every run)
# It takes about four minutes with the defaults.

set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"

DURATION=${DURATION:-3s}
ROUNDS=${ROUNDS:-3}
CONNECTIONS=${CONNECTIONS:-"1 4 16"}
IDLE=${IDLE:-1000}
HOLD=${HOLD:-5s}
THREADS=${THREADS:-}
CLIENT_BUSY_POLL=${CLIENT_BUSY_POLL:-"0s 50us"}
PORT=${PORT:-5020}
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
SCENARIO=scenarios/bench/live-zero.toml
C_ADDR=127.77.1.20
PY_ADDR=127.77.2.20

WORK=$(mktemp -d "${TMPDIR:-/tmp}/otrange-bench.XXXXXX")
declare -A PID=()

log() { printf '[%s] %s\n' "$(date +%T)" "$*" >&2; }
die() {
    log "error: $*"
    exit 1
}

cleanup() {
    local status=$?
    trap - EXIT INT TERM
    for name in "${!PID[@]}"; do
        kill -TERM "${PID[$name]}" 2>/dev/null || true
    done
    for name in "${!PID[@]}"; do
        # Up to 2 s each to write its outputs, then no more waiting.
        for _ in $(seq 20); do
            kill -0 "${PID[$name]}" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "${PID[$name]}" 2>/dev/null || true
        wait "${PID[$name]}" 2>/dev/null || true
    done
    if [[ ${KEEP:-0} == 1 || $status != 0 ]]; then
        log "logs and results kept in $WORK"
    else
        rm -rf "$WORK"
    fi
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- build ---------------------------------------------------------------------------
command -v gcc >/dev/null || die "gcc not found"
pkg-config --exists libmodbus 2>/dev/null || die "libmodbus not found (apt-get install libmodbus-dev)"
python3 -c 'import pymodbus' 2>/dev/null || die "pymodbus not found (pip install pymodbus)"
# The interpreter itself, not a wrapper (pyenv's shim) whose pid would not be the server's.
PYTHON=$(python3 -c 'import sys; print(sys.executable)')
log "building otrange and otrange-loadgen (release) into $TARGET_DIR"
CARGO_TARGET_DIR=$TARGET_DIR cargo build --release --quiet -p otrange
OTRANGE=$TARGET_DIR/release/otrange
LOADGEN=$TARGET_DIR/release/otrange-loadgen
log "building the libmodbus server"
# shellcheck disable=SC2046 # pkg-config prints several words on purpose
gcc -O2 -Wall -Wextra -o "$WORK/modbus_server" benches/live/modbus_server.c \
    $(pkg-config --cflags --libs libmodbus)
"$OTRANGE" check "$SCENARIO" >/dev/null || die "$SCENARIO does not check"

# Each server and the load generator need a descriptor per connection.
want_fds=$((IDLE + 512))
if (($(ulimit -n) < want_fds)); then
    ulimit -n "$want_fds" 2>/dev/null || die "cannot raise the open files limit to $want_fds (ulimit -n)"
fi

# --- servers -------------------------------------------------------------------------
# wait_listening NAME ADDR PORT READY: until the server has logged READY (it has bound its
# socket: a stranger on the same address and port cannot pass for it), ADDR:PORT accepts a
# connection and the server is still running; or fail with its log.
wait_listening() {
    local name=$1 addr=$2 port=$3 ready=$4
    for _ in $(seq 100); do
        kill -0 "${PID[$name]}" 2>/dev/null || {
            cat "$WORK/$name.log" >&2
            die "$name exited before listening (log above)"
        }
        if grep -q "$ready" "$WORK/$name.log" && (exec 3<>"/dev/tcp/$addr/$port") 2>/dev/null; then
            sleep 0.1
            kill -0 "${PID[$name]}" 2>/dev/null && return 0
        fi
        sleep 0.1
    done
    cat "$WORK/$name.log" >&2
    die "$name does not accept connections on $addr:$port after 10 s (log above)"
}

log "starting otrange live $SCENARIO"
"$OTRANGE" live "$SCENARIO" --port "$PORT" --manifest "$WORK/manifest.json" \
    --out "$WORK/live-out" >"$WORK/otrange.log" 2>&1 &
PID[otrange]=$!
for _ in $(seq 100); do
    [[ -s $WORK/manifest.json ]] && break
    kill -0 "${PID[otrange]}" 2>/dev/null || {
        cat "$WORK/otrange.log" >&2
        die "otrange live exited (log above)"
    }
    sleep 0.1
done
[[ -s $WORK/manifest.json ]] || die "otrange live wrote no manifest within 10 s"
sleep 0.2 # the manifest is written as it is serialised
PLC=$(python3 -c '
import json, sys
plcs = [e for e in json.load(open(sys.argv[1])) if e["role"] == "plc" and e["port"]]
print("%s:%d" % (plcs[0]["address"], plcs[0]["port"]))' "$WORK/manifest.json") ||
    die "no PLC in the manifest $WORK/manifest.json"
wait_listening otrange "${PLC%:*}" "${PLC#*:}" '^live: '

log "starting the libmodbus server on $C_ADDR:$PORT"
"$WORK/modbus_server" "$C_ADDR" "$PORT" >"$WORK/libmodbus.log" 2>&1 &
PID[libmodbus]=$!
wait_listening libmodbus "$C_ADDR" "$PORT" 'listening on'

log "starting the pymodbus server on $PY_ADDR:$PORT"
"$PYTHON" benches/live/pymodbus_server.py "$PY_ADDR" "$PORT" >"$WORK/pymodbus.log" 2>&1 &
PID[pymodbus]=$!
wait_listening pymodbus "$PY_ADDR" "$PORT" 'listening on'

declare -A TARGET=([otrange]=$PLC [libmodbus]=$C_ADDR:$PORT [pymodbus]=$PY_ADDR:$PORT)
SERVERS=(otrange libmodbus pymodbus)
threads_arg=()
[[ -n $THREADS ]] && threads_arg=(--threads "$THREADS")

alive() {
    kill -0 "${PID[$1]}" 2>/dev/null || {
        tail -20 "$WORK/$1.log" >&2
        die "the $1 server died (log above)"
    }
}

# --- throughput ------------------------------------------------------------------------
# CPU time of a process and all its threads so far, in clock ticks (utime + stime).
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
HZ=$(getconf CLK_TCK)
log "throughput: ${ROUNDS} rounds x connections {${CONNECTIONS}} x ${SERVERS[*]} x client busy poll {${CLIENT_BUSY_POLL}}, ${DURATION} each"
for round in $(seq "$ROUNDS"); do
    for c in $CONNECTIONS; do
        for s in "${SERVERS[@]}"; do
            for bp in $CLIENT_BUSY_POLL; do
                out=$WORK/load-$s-$c-$bp-$round.json
                alive "$s"
                t0=$(ticks "${PID[$s]}")
                timeout 120 "$LOADGEN" --target "${TARGET[$s]}" --connections "$c" \
                    --duration "$DURATION" --busy-poll "$bp" "${threads_arg[@]}" --json >"$out" 2>"$WORK/loadgen.err" || {
                    cat "$WORK/loadgen.err" "$out" >&2
                    die "loadgen against $s with $c connections failed (above)"
                }
                alive "$s"
                echo "$(($(ticks "${PID[$s]}") - t0))" >"$WORK/cpu-$s-$c-$bp-$round.ticks"
            done
        done
    done
    log "round $round done"
done

# --- memory --------------------------------------------------------------------------
kib() { awk -v k="$2" '$1 == k":" { print $2 }' "/proc/$1/status"; }
for s in "${SERVERS[@]}"; do
    pid=${PID[$s]}
    before=$(kib "$pid" VmRSS)
    err=$WORK/idle-$s.err
    : >"$err"
    timeout 120 "$LOADGEN" --target "${TARGET[$s]}" --idle "$IDLE" --duration "$HOLD" --json \
        >"$WORK/idle-$s.json" 2>"$err" &
    gen=$!
    held=
    for _ in $(seq 300); do
        if grep -q holding "$err"; then
            held=1
            break
        fi
        kill -0 "$gen" 2>/dev/null || break
        sleep 0.1
    done
    [[ -n $held ]] || {
        wait "$gen" || true
        cat "$err" "$WORK/idle-$s.json" >&2
        die "could not open $IDLE idle connections to $s (above)"
    }
    sleep 1.5 # let the server settle with every connection accepted
    during=$(kib "$pid" VmRSS)
    wait "$gen" || {
        cat "$err" "$WORK/idle-$s.json" >&2
        die "the $IDLE idle connections to $s did not all survive the hold (above)"
    }
    alive "$s"
    hwm=$(kib "$pid" VmHWM)
    ((hwm >= during)) || hwm=$during # the kernel updates the mark lazily
    echo "$s $before $during $hwm" >>"$WORK/memory.txt"
    log "memory: $s ${before} KiB before, ${during} KiB holding $IDLE connections, peak ${hwm} KiB"
done

# --- report --------------------------------------------------------------------------
python3 - "$WORK" "$ROUNDS" "$CONNECTIONS" "$IDLE" "$DURATION" "$HZ" "$CLIENT_BUSY_POLL" <<'EOF'
import json, sys
work, rounds, conns, idle, duration = sys.argv[1], int(sys.argv[2]), sys.argv[3].split(), int(sys.argv[4]), sys.argv[5]
hz = int(sys.argv[6])
modes = sys.argv[7].split()
servers = ["otrange", "libmodbus", "pymodbus"]
label = {"otrange": "otrange live (zero response time)", "libmodbus": "libmodbus 3.1.6 (C, select loop)",
         "pymodbus": "pymodbus 3.11 (asyncio)"}
med = {}
print("| server | connections | client busy poll | requests/s | p50 ms | p99 ms | server CPU µs/request | exceptions + errors |")
print("|---|---:|---:|---:|---:|---:|---:|---:|")
others = []
for s in servers:
    for c in conns:
        best = None
        for bp in modes:
            runs = []
            for r in range(1, rounds + 1):
                run = json.load(open(f"{work}/load-{s}-{c}-{bp}-{r}.json"))
                cpu_s = int(open(f"{work}/cpu-{s}-{c}-{bp}-{r}.ticks").read()) / hz
                run["cpu_us"] = cpu_s * 1e6 / max(run["answered_total"], 1)
                runs.append(run)
            runs.sort(key=lambda r: r["requests_per_s"])
            cpu = sorted(r["cpu_us"] for r in runs)[len(runs) // 2]
            m = runs[len(runs) // 2]
            spread = f" ({runs[0]['requests_per_s']:,.0f}–{runs[-1]['requests_per_s']:,.0f})" if rounds > 1 else ""
            row = (m["requests_per_s"], f"| {label[s]} | {c} | {bp} | {m['requests_per_s']:,.0f}{spread} | {m['p50_ms']:.3f} "
                   f"| {m['p99_ms']:.3f} | {cpu:.1f} | {m['exceptions'] + m['errors']} |")
            if best is None or row[0] > best[0]:
                if best is not None:
                    others.append(best[1])
                best = row
            else:
                others.append(row[1])
        med[s, c] = best[0]
        print(best[1])
if others:
    print()
    print("The other client setting, for comparison:")
    print()
    print("| server | connections | client busy poll | requests/s | p50 ms | p99 ms | server CPU µs/request | exceptions + errors |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for row in others:
        print(row)
print()
print("| connections | otrange ÷ libmodbus (goal ≥ 1) | otrange ÷ pymodbus (goal ≥ 5) |")
print("|---:|---:|---:|")
for c in conns:
    a = med["otrange", c] / med["libmodbus", c]
    b = med["otrange", c] / med["pymodbus", c]
    print(f"| {c} | {a:.2f} {'ok' if a >= 1 else 'MISSED'} | {b:.1f} {'ok' if b >= 5 else 'MISSED'} |")
print()
mem = {l.split()[0]: list(map(int, l.split()[1:])) for l in open(f"{work}/memory.txt")}
for s in servers:
    before, during, hwm = mem[s]
    extra = (f", goal < 200 MB {'ok' if during < 200 * 1024 else 'MISSED'}" if s == "otrange" else "")
    print(f"- {label[s]}: {idle} idle connections held in {during / 1024:.1f} MiB RSS "
          f"({before / 1024:.1f} MiB before, {(during - before) / idle:.1f} KiB per connection; "
          f"peak over the run {hwm / 1024:.1f} MiB){extra}")
print()
print(f"Requests/s: median of {rounds} interleaved {duration} runs (range in brackets); p50/p99 of that run; "
      "each server with the client busy-poll setting that served it best (the first table). "
      "Server CPU: user + system time of the server process over a run (warm-up included) per answer, "
      "median of the rounds.")
EOF
