#!/usr/bin/env bash
# `portcheck who` against `ss -p` and `lsof`, side by side (issue 5).
#
# Builds portcheck in release mode (honours CARGO_TARGET_DIR), then, inside a
# private network namespace (unshare --net, gone when its last process
# exits), times on an idle namespace and on a fixture of 1,000 processes
# holding 6,000 sockets; see benches/README.md. Needs root. Takes about two
# minutes on 2 cores; prints medians, ratios against the issue's targets and
# portcheck's peak RSS; exits 1 when portcheck's answer is wrong.
#
# Options are passed to benches/measure.py (--rounds N, --budget SECONDS,
# --processes N, --sockets N, --baseline PATH-TO-ANOTHER-PORTCHECK).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

if [[ "${PORTCHECK_BENCH_IN_NETNS:-}" != 1 ]]; then
    if [[ "$(id -u)" != 0 ]]; then
        echo "who.sh: needs root (a network namespace, every process's /proc/PID/fd)" >&2
        exit 2
    fi
    missing=()
    command -v lsof >/dev/null 2>&1 || missing+=(lsof)
    [[ -x /usr/bin/time ]] || missing+=(time)
    command -v ss >/dev/null 2>&1 || missing+=(iproute2)
    command -v unshare >/dev/null 2>&1 || missing+=(util-linux)
    command -v python3 >/dev/null 2>&1 || missing+=(python3)
    if ((${#missing[@]})); then
        apt-get update -qq && apt-get install -y -qq "${missing[@]}" >/dev/null
    fi

    cd "$here/.."
    echo "building portcheck (release)..."
    cargo build --release --quiet
    target_dir="${CARGO_TARGET_DIR:-$here/../target}"
    portcheck="$(cd "$target_dir/release" && pwd)/portcheck"

    echo "machine: $(nproc) cores, $(uname -sr), $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)"
    echo "versions: $("$portcheck" --version), $(ss -V 2>&1 | head -1), lsof $(lsof -v 2>&1 | awk '/revision/ {print $2; exit}')"
    PORTCHECK_BENCH_IN_NETNS=1 PORTCHECK_BENCH_BIN="$portcheck" \
        exec unshare --net -- "$BASH" "${BASH_SOURCE[0]}" "$@"
fi

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
