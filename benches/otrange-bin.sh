# Sourced by the benchmark scripts, from the repository's root: sets `bin` to the otrange
# binary they run, $OTRANGE_BIN when set (another build, say the commit before a change),
# otherwise this tree's release build, built first.
bin=${OTRANGE_BIN:-}
if [[ -z "$bin" ]]; then
    cargo build --release --quiet --bin otrange
    bin=target/release/otrange
fi
