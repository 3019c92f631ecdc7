#!/bin/sh
# Runs every fuzz target for a bounded time: fuzz/run.sh [SECONDS] [TARGET...]
# (default 30 s each, every target). Installs cargo-fuzz from crates.io
# when it is missing; libFuzzer needs nightly flags, which RUSTC_BOOTSTRAP=1
# allows on a stable toolchain. The committed seeds in corpus/TARGET are
# read only; what libFuzzer adds goes to target/corpus/TARGET. A crash
# stops the run and leaves its input in artifacts/TARGET.
set -eu
cd "$(dirname "$0")"
cargo fuzz --version >/dev/null 2>&1 || cargo install --locked cargo-fuzz
seconds=${1:-30}
[ $# -gt 0 ] && shift
targets=${*:-$(cargo fuzz list)}
export RUSTC_BOOTSTRAP=${RUSTC_BOOTSTRAP:-1}
cargo fuzz build
status=0
for target in $targets; do
    mkdir -p "target/corpus/$target"
    echo "== $target: ${seconds}s"
    if ! cargo fuzz run "$target" "target/corpus/$target" "corpus/$target" -- \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1; then
        echo "== $target: FAILED (input in fuzz/artifacts/$target)"
        status=1
    fi
done
exit $status
