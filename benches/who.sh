#!/usr/bin/env bash
# `portcheck who` against `ss -p` and `lsof`, side by side (issue 5).
#
# Builds portcheck in release mode (honours CARGO_TARGET_DIR), then, inside a
# private network namespace (unshare --net, gone when its last process
# exits), times on an idle namespace and on a fixture of 1,000 processes
# holding 6,000 sockets; see benches/README.md. Needs root. Takes about two
# minutes on 2 cores; prints medians, ratios against the issue's targets and
# portcheck's peak RSS; exits 1 when portcheck's answer is wrong, 3 (no
# verdict) when the machine was not idle.
#
# Options are passed to benches/measure.py (--rounds N, --budget SECONDS,
# --processes N, --sockets N, --baseline PATH-TO-ANOTHER-PORTCHECK).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

bench_name=who.sh
# shellcheck source=benches/prepare.sh
source "$here/prepare.sh"

# Inside the namespace: loopback up, then measure. measure.py kills its
# fixtures itself; the trap kills measure.py (by pid) if this shell is
# interrupted, and removes the scratch directory.
ip link set lo up
workdir="$(mktemp -d /tmp/portcheck-bench.XXXXXX)"
measure_pid=""
cleanup() {
    if [[ -n "$measure_pid" ]] && kill -0 "$measure_pid" 2>/dev/null; then
        kill -TERM "$measure_pid" 2>/dev/null || true
        wait "$measure_pid" 2>/dev/null || true
    fi
    # Anything the fixtures listed that is somehow still alive (their
    # children also die with the fixture, PR_SET_PDEATHSIG). A listed pid is
    # killed only while it is in this private namespace, so a pid the
    # system has since given to another process is never touched.
    local ours pid
    ours="$(readlink /proc/self/ns/net)"
    for list in "$workdir"/idle.json "$workdir"/fixture.json; do
        [[ -f "$list" ]] || continue
        for pid in $(python3 -c 'import json,sys; print(*json.load(open(sys.argv[1]))["pids"])' "$list"); do
            if [[ "$(readlink "/proc/$pid/ns/net" 2>/dev/null)" == "$ours" ]]; then
                kill -KILL "$pid" 2>/dev/null || true
            fi
        done
    done
    rm -rf "$workdir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

python3 "$here/measure.py" --portcheck "$PORTCHECK_BENCH_BIN" --workdir "$workdir" "$@" &
measure_pid=$!
set +e
wait "$measure_pid"
status=$?
set -e
measure_pid=""
exit "$status"
