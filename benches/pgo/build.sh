#!/usr/bin/env bash
# A profile-guided build of otrange: the release binary rebuilt with what a training run
# counted (which branches are taken, which calls are hot), so that the compiler lays the
# hot paths out straight and inlines where it pays. The simulation's outputs do not change
# (the same code, laid out differently: benches/golden/run.sh checks it), only its speed:
# see docs/src/performance.md, "A profile-guided build".
#
#   benches/pgo/build.sh          # writes target/pgo/otrange
#
# Needs the compiler's own llvm-profdata (`rustup component add llvm-tools`); another LLVM's
# cannot read the profiles. Training runs every shipped exercise (scenarios/*.toml) and a
# generated 300-building scale plant (benches/scale/gen.py) with the instrumented build,
# 7-15 minutes on two cores; the benchmarks' own sizes (1,000 and 10,000 PLCs) are not
# among them. Time the result with OTRANGE_BIN=target/pgo/otrange and any benchmark script.
set -euo pipefail
cd "$(dirname "$0")/../.."

host=$(rustc -vV | sed -n 's/^host: //p')
profdata="$(rustc --print sysroot)/lib/rustlib/$host/bin/llvm-profdata"
if [[ ! -x "$profdata" ]]; then
    echo "benches/pgo/build.sh: $profdata not found; install it with" >&2
    echo "    rustup component add llvm-tools" >&2
    exit 2
fi

work="$PWD/target/pgo"
profiles="$work/profiles"
rm -rf "$profiles"
mkdir -p "$profiles"
train=$(mktemp -d)
trap 'rm -rf "$train"' EXIT

# Link-time optimisation over the whole program, for the instrumented build as for the
# final one, so that the profile's counts fall on the code they are used for (a profile
# from a build without it made the final build slower): 0.96x the reference hour's time,
# the same at 1,000 and 10,000 PLCs (docs/src/performance.md, "A profile-guided build").
# Here only: the test binaries of `cargo test --release` would take much longer to link.
export CARGO_PROFILE_RELEASE_LTO=fat CARGO_PROFILE_RELEASE_CODEGEN_UNITS=1

# With --target, RUSTFLAGS reach only the binary's crates, not build scripts or procedural
# macros, so the profiles are the simulator's alone.
echo "1/4 instrumented build"
RUSTFLAGS="-Cprofile-generate=$profiles" CARGO_TARGET_DIR="$work/instrumented" \
    cargo build --release --quiet --bin otrange --target "$host"
instrumented="$work/instrumented/$host/release/otrange"

echo "2/4 training runs"
python3 benches/scale/gen.py "$train/scale" 300 3m >/dev/null
exercises=("$train/scale/exercise.toml")
for ex in scenarios/*.toml; do
    # scenarios/benchmark.toml is a sweep, not an exercise.
    grep -q '^\[exercise\]' "$ex" || continue
    exercises+=("$ex")
done
n=0
for ex in "${exercises[@]}"; do
    n=$((n + 1))
    rc=0
    "$instrumented" run "$ex" --no-report --out "$train/out-$n" >/dev/null || rc=$?
    # 0: every expectation held, 1: one failed; both are runs worth counting.
    if ((rc > 1)); then
        echo "benches/pgo/build.sh: training run of $ex failed with exit code $rc" >&2
        exit 1
    fi
done

echo "3/4 merging the profiles of ${#exercises[@]} runs"
"$profdata" merge -o "$work/otrange.profdata" "$profiles"

echo "4/4 optimised build"
RUSTFLAGS="-Cprofile-use=$work/otrange.profdata" CARGO_TARGET_DIR="$work/optimised" \
    cargo build --release --quiet --bin otrange --target "$host"
cp "$work/optimised/$host/release/otrange" "$work/otrange"
echo "built target/pgo/otrange"
